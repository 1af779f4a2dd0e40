"""Document type (loại giấy tờ) from the OCR text: id_card, birth_certificate, death_notice
or unknown, by fuzzy keywords that survive lost diacritics."""

from __future__ import annotations

from rapidfuzz import fuzz

from .vocab import fold

DOC_TYPES = ("id_card", "birth_certificate", "death_notice")

# (folded keyword, weight): titles weigh most
KEYWORDS: dict[str, tuple[tuple[str, float], ...]] = {
    "id_card": (("can cuoc cong dan", 4), ("citizen identity card", 4), ("can cuoc", 2),
                ("identity card", 3), ("full name", 1), ("date of birth", 1),
                ("place of origin", 1.5), ("place of residence", 1.5), ("que quan", 1),
                ("co gia tri den", 1.5), ("date of expiry", 1.5), ("nationality", 1),
                ("noi thuong tru", 0.5)),
    "birth_certificate": (("giay chung sinh", 4), ("sinh con vao luc", 2), ("dat ten con", 2),
                          ("so con trong lan sinh", 2), ("nguoi nuoi duong", 1.5),
                          ("can nang", 1), ("nguoi do de", 1.5), ("ten cua me", 1.5),
                          ("ho va ten me", 1.5), ("gioi tinh cua con", 1.5)),
    "death_notice": (("giay bao tu", 4), ("da chet vao luc", 2), ("noi chet", 2),
                     ("nguyen nhan chet", 2), ("bao tu", 1), ("nguoi chet", 1.5),
                     ("chet vao luc", 1)),
}
THRESHOLD = 3.0


def scores(text: str) -> dict[str, float]:
    """Keyword score per type on the folded text."""
    t = fold(text)
    out: dict[str, float] = {}
    for kind, kws in KEYWORDS.items():
        s = 0.0
        for kw, w in kws:
            r = fuzz.partial_ratio(kw, t) if len(t) >= len(kw) else 0.0
            if r >= 85:
                s += w * (r / 100)
        out[kind] = s
    return out


def classify(text: str, *, card_qr: bool = False) -> tuple[str, float]:
    """Best type and a confidence; an ID card QR settles it."""
    if card_qr:
        return "id_card", 0.99
    sc = scores(text)
    kind = max(sc, key=lambda k: sc[k])
    best = sc[kind]
    if best < THRESHOLD:
        return "unknown", round(1 - best / THRESHOLD * 0.5, 3)
    second = max(v for k, v in sc.items() if k != kind)
    return kind, round(min(0.99, 0.6 + 0.4 * (best - second) / best), 3)
