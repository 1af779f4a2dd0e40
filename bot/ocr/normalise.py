"""Normalise and validate field values (chuẩn hoá): dates to ISO, names in NFC title case,
sex to Nam/Nữ, numbers, ID numbers, addresses snapped to the administrative-unit lists.

Each function takes raw OCR text and returns (value, score) with score 0..1, or None."""

from __future__ import annotations

import datetime as dt
import re

from . import vocab
from .vocab import fold, nfc

Scored = tuple[object, float]

_DIGIT_LIKE = str.maketrans({"O": "0", "o": "0", "Q": "0", "D": "0", "U": "0", "I": "1",
                             "l": "1", "|": "1", "i": "1", "!": "1", "í": "1", "ì": "1",
                             "Z": "2", "z": "2", "S": "5", "s": "5", "$": "5", "G": "6",
                             "b": "6", "T": "7", "B": "8", "g": "9", "q": "9", "A": "4"})


_DIGIT_LIKE_WEIGHT = str.maketrans({"o": "0", "i": "1", "l": "1", "|": "1"})


def digits(text: str) -> str:
    """Only the digits of `text`, after mapping letters OCR confuses with digits."""
    return re.sub(r"\D", "", text.translate(_DIGIT_LIKE))


def _digit_groups(text: str) -> list[str]:
    """Runs of digits (after letter→digit mapping inside digit-ish tokens)."""
    out: list[str] = []
    for tok in re.findall(r"[0-9OoQDIl|iZzSsGbTBgqA$!íì]+", text):
        if sum(c.isdigit() for c in tok) >= max(1, len(tok) // 2):
            out.append(tok.translate(_DIGIT_LIKE))
    return [re.sub(r"\D", "", g) for g in out if re.sub(r"\D", "", g)]


def parse_date(text: str, *, lo: int = 1900, hi: int = 2100) -> Scored | None:
    """dd/mm/yyyy (or ddmmyyyy, or 'ngày d tháng m năm y') → 'YYYY-MM-DD' if a real date."""
    cands: list[tuple[int, int, int]] = []
    squeezed = re.sub(r"(?<=[\dOoIl])\s+(?=[\dOoIl/.-])|(?<=[/.-])\s+", "", text)
    m = re.search(r"([\dOoIlQ]{1,2})\s*[/.-]\s*([\dOoIlQ]{1,2})\s*[/.-]\s*([\dOoIlQ]{4})",
                  squeezed)
    if m:
        d, mo, y = (g.translate(_DIGIT_LIKE) for g in m.groups())
        cands.append((int(y), int(mo), int(d)))
    groups = _digit_groups(text)
    if len(groups) >= 3:
        for i in range(len(groups) - 2):
            gd, gm, gy = groups[i], groups[i + 1], groups[i + 2]
            if len(gy) == 4 and 1 <= len(gd) <= 2 and 1 <= len(gm) <= 2:
                cands.append((int(gy), int(gm), int(gd)))
    joined = "".join(groups)
    if len(joined) == 8:
        cands.append((int(joined[4:]), int(joined[2:4]), int(joined[:2])))
    for cy, cm, cd in cands:
        try:
            day = dt.date(cy, cm, cd)
        except ValueError:
            continue
        if lo <= cy <= hi:
            return day.isoformat(), 1.0 if len(groups) == 3 else 0.8
    return None


def parse_datetime(text: str) -> Scored | None:
    """'HH giờ MM phút, ngày d tháng m năm y' → 'YYYY-MM-DDTHH:MM'."""
    groups = _digit_groups(text)
    if len(groups) < 5:
        return None
    for i in range(len(groups) - 4):
        h, mi, d, m, y = (int(g) for g in groups[i:i + 5])
        if len(groups[i + 4]) != 4 or h > 23 or mi > 59:
            continue
        try:
            day = dt.date(y, m, d)
        except ValueError:
            continue
        return f"{day.isoformat()}T{h:02d}:{mi:02d}", 1.0 if len(groups) == 5 else 0.8
    return None


def parse_year(text: str, *, lo: int = 1900, hi: int = 2100) -> Scored | None:
    """A four-digit year in range."""
    for g in _digit_groups(text):
        if len(g) == 4 and lo <= int(g) <= hi:
            return int(g), 1.0
    return None


def parse_int(text: str, *, lo: int = 0, hi: int = 10**9) -> Scored | None:
    """First integer in range."""
    for g in _digit_groups(text):
        if lo <= int(g) <= hi:
            return int(g), 1.0
    return None


def parse_weight(text: str) -> Scored | None:
    """'3.200 gam', '3200 gram', '3,2 kg' → grams as an integer."""
    t = fold(text).translate(_DIGIT_LIKE_WEIGHT)
    m = re.search(r"(\d+)[.,](\d{1,2})\s*k", t)
    if m:
        return round(float(f"{m.group(1)}.{m.group(2)}") * 1000), 0.9
    m = re.search(r"(\d[\d.,\s]*\d|\d)", t)
    if m is None:
        return None
    d = re.sub(r"\D", "", m.group(1))
    if d and 300 <= int(d) <= 7000:
        return int(d), 1.0 if re.search(r"\bg", t[m.end():m.end() + 3]) else 0.8
    return None


def parse_sex(text: str) -> Scored | None:
    """Giới tính → 'Nam' / 'Nữ' (also Male/Female, and unaccented 'Nu')."""
    t = fold(text).strip(" .,:;")
    words = re.findall(r"[a-z]+", t)
    for w in words[:3]:
        if w in ("nam", "male", "m"):
            return "Nam", 1.0 if w == "nam" else 0.9
        if w in ("nu", "female", "f", "nir", "nii", "ni"):
            return "Nữ", 1.0 if w == "nu" else 0.8
    if words:
        from rapidfuzz.distance import Levenshtein as L

        w = words[0]
        if L.distance(w, "nam") <= 1 and len(w) >= 2:
            return "Nam", 0.6
        if L.distance(w, "nu") <= 1 and len(w) >= 2:
            return "Nữ", 0.6
    return None


def parse_id_number(text: str, *, born_year: int | None = None, sex: str | None = None
                    ) -> Scored | None:
    """12-digit personal ID (số định danh): province code 0xx, century+sex digit, year."""
    groups = _digit_groups(text)
    joined = "".join(groups)
    cands = [g for g in groups if len(g) == 12] or ([joined] if len(joined) == 12 else [])
    if not cands and len(joined) > 12:
        cands = [joined[i:i + 12] for i in range(len(joined) - 11)]
    if not cands and len(joined) == 11 and joined[0] != "0":
        # the leading 0 merged into 'Số:' or was dropped: put it back if the rest checks out
        fixed = "0" + joined
        score = id_plausibility(fixed, born_year=born_year, sex=sex)
        if score >= 0.8:
            return fixed, score * 0.8
    best: Scored | None = None
    for c in cands:
        score = id_plausibility(c, born_year=born_year, sex=sex)
        if best is None or score > best[1]:
            best = (c, score)
    if best is None and 9 <= len(joined) <= 13:
        return joined, 0.2
    return best


def repair_id(idn: str, *, born_year: int | None, sex: str | None) -> tuple[str, bool]:
    """The ID repeats the holder's century+sex and birth year (digits 4–6): when exactly one
    of those digits disagrees with a birth year and sex read elsewhere, it is the misread."""
    if born_year is None or sex not in ("Nam", "Nữ") or not re.fullmatch(r"\d{12}", idn):
        return idn, False
    want = f"{(born_year // 100 - 19) * 2 + (0 if sex == 'Nam' else 1)}{born_year % 100:02d}"
    if len(want) != 3 or idn[3:6] == want:
        return idn, False
    if sum(a != b for a, b in zip(idn[3:6], want, strict=True)) == 1:
        return idn[:3] + want + idn[6:], True
    return idn, False


def id_plausibility(idn: str, *, born_year: int | None = None, sex: str | None = None) -> float:
    """How much a 12-digit ID looks real: known province, century code, birth year agree."""
    if not re.fullmatch(r"\d{12}", idn):
        return 0.0
    score = 1.0
    if idn[0] != "0" or idn[1:3] not in vocab.admin_units().province_codes:
        score -= 0.4
    g = int(idn[3])
    if g > 9:
        score -= 0.4
    century = 1900 + 100 * (g // 2)
    if born_year is not None:
        if century + int(idn[4:6]) != born_year:
            score -= 0.3
    if sex is not None and g % 2 != (0 if sex == "Nam" else 1):
        score -= 0.2
    return max(0.05, score)


def parse_name(text: str) -> Scored | None:
    """Họ và tên → NFC title case, each word checked against name syllables."""
    t = nfc(text)
    t = re.sub(r"[^\w\s]", " ", t)
    t = re.sub(r"\d", " ", t)
    words = [p for w in t.split() if w.isalpha() for p in _unglue(w)]
    # stray one-letter noise at the ends
    while words and len(words[-1]) == 1 and words[-1].lower() not in ("y",):
        words.pop()
    while words and len(words[0]) == 1:
        words.pop(0)
    # stray tokens (leader remnants) at the ends: not near any name syllable
    while len(words) > 2 and vocab.fix_syllable(words[0], allowed=vocab.SURNAME_SET)[1] < 0.5 \
            and vocab.fix_syllable(words[1], allowed=vocab.SURNAME_SET)[1] >= 0.8:
        words.pop(0)
    while len(words) > 2 and vocab.fix_syllable(words[-1], allowed=vocab.NAME_SET)[1] < 0.5:
        words.pop()
    if not 2 <= len(words) <= 6:
        return None
    out: list[str] = []
    scores: list[float] = []
    for i, w in enumerate(words):
        fixed, s = vocab.fix_syllable(w, allowed=vocab.SURNAME_SET if i == 0 else vocab.GIVEN_SET)
        if s < 0.5:
            fixed, s = w, 0.5   # an unusual name: keep what was read
        out.append(title(fixed))
        scores.append(s)
    return " ".join(out), min(scores)


def _unglue(word: str) -> list[str]:
    """'Lỷngọc' → ['Lỷ', 'ngọc']: two name syllables that OCR glued together."""
    low = word.lower()
    if len(word) < 4 or low in vocab.NAME_SET or vocab.fix_syllable(
            word, allowed=vocab.NAME_SET)[1] >= 0.8:
        return [word]
    best: tuple[float, int] | None = None
    for i in range(1, len(word)):
        a = vocab.fix_syllable(word[:i], allowed=vocab.NAME_SET)[1]
        b = vocab.fix_syllable(word[i:], allowed=vocab.NAME_SET)[1]
        score = min(a, b)
        if score >= 0.8 and (best is None or score > best[0]):
            best = (score, i)
    return [word] if best is None else [word[:best[1]], word[best[1]:]]


def title(word: str) -> str:
    """Vietnamese capitalisation of one word: Nguyễn, Đức."""
    return word[:1].upper() + word[1:].lower()


def parse_choice(text: str, choices: tuple[str, ...], *, cutoff: float = 70.0) -> Scored | None:
    """Snap to a closed list (dân tộc, quốc tịch, nguyên nhân chết…); short words must be
    close ('Hoa' is one letter from 'Hòa' but three from 'Mạ')."""
    t = re.sub(r"[^\w\s]", " ", nfc(text)).strip()
    if len(t) <= 4:
        from rapidfuzz.distance import Levenshtein as L

        near = [c for c in choices if L.distance(fold(t), fold(c)) <= 1]
        if not near:
            return None
        choices = tuple(near)
    hit = vocab.snap(t, choices, cutoff=cutoff)
    if hit is None:
        # OCR glued a trailing word: try prefixes
        words = t.split()
        for k in range(len(words) - 1, 0, -1):
            hit = vocab.snap(" ".join(words[:k]), choices, cutoff=cutoff + 10)
            if hit:
                return hit[0], hit[1] * 0.9
        return None
    return hit


def parse_nationality(text: str) -> Scored | None:
    """Quốc tịch: 'Việt Nam' in practice."""
    return parse_choice(text, ("Việt Nam",), cutoff=60)


# ----------------------------------------------------------------- addresses

_COMMUNE = ("xa", "phuong", "thi tran")
_DISTRICT = ("huyen", "thi xa", "thanh pho", "quan")
_PROVINCE = ("tinh", "thanh pho")
_UNIT_START = ("xa", "phuong", "thi tran", "huyen", "thi xa", "quan", "tinh", "thanh pho")


def _split_units(part: str) -> list[str]:
    """'Xã A Huyện B' → ['Xã A', 'Huyện B'] when OCR lost the comma ('Thị xã' stays whole)."""
    words = part.split()
    out: list[list[str]] = [[]]
    lexicon = vocab.syllable_lexicon()
    for i, w in enumerate(words):
        f = fold(w)
        two = fold(" ".join(words[i:i + 2]))
        exact = nfc(w).lower() in ("xã", "phường", "huyện", "quận", "tỉnh")
        # 'Tịnh' in 'Phường An Tịnh' folds like 'Tỉnh': a known other syllable is no keyword
        starts = exact or (f in ("xa", "phuong", "huyen", "quan", "tinh")
                           and nfc(w) not in lexicon) or two in ("thi tran", "thi xa",
                                                                  "thanh pho")
        prev = fold(words[i - 1]) if i else ""
        if starts and out[-1] and not (prev == "thi" and f in ("xa", "tran")):
            out.append([])
        out[-1].append(w)
    return [" ".join(p) for p in out if p]


def _parts(text: str) -> list[str]:
    t = nfc(text)
    t = re.sub(r"[;:|_]+", ",", t)
    t = re.sub(r"[^\w\s,/-]", " ", t)
    parts = [_trim(p) for p in t.split(",")]
    out: list[str] = []
    for p in parts:
        out.extend(x.strip() for x in _split_units(p) if x.strip())
    merged: list[str] = []
    for p in out:    # 'Tỉnh,' / 'Tây Ninh' split by a wrap: a bare unit word joins the next
        if merged and fold(merged[-1]) in ("tinh", "huyen", "xa", "phuong", "quan",
                                           "thi xa", "thi tran", "thanh pho"):
            merged[-1] = f"{merged[-1]} {p}"
        else:
            merged.append(p)
    out = merged
    return [re.sub(r"\s+", " ", p) for p in out if p]


def _trim(part: str) -> str:
    """Strip anything but letters and digits at both ends ('- Khu phố 5.' → 'Khu phố 5')."""
    i, j = 0, len(part)
    while i < j and not part[i].isalnum():
        i += 1
    while j > i and not part[j - 1].isalnum():
        j -= 1
    return part[i:j]


def _kind(part: str) -> str:
    f = fold(part)
    if f.startswith(("ap ", "khu pho", "so ", "to ", "thon ", "xom ")):
        return "local"
    if f.startswith("tinh "):
        return "province"
    if f.startswith(("huyen ", "quan ", "thi xa ")):
        return "district"
    if f.startswith(("xa ", "phuong ", "thi tran ")):
        return "commune"
    if f.startswith("thanh pho "):
        return "city"
    return "?"


def parse_address(text: str) -> Scored | None:
    """Snap an address (địa chỉ) to the old or the 2025 unit lists; free words before it fixed
    syllable by syllable. Returns 'Ấp …, Xã …, [Huyện …,] Tỉnh …'."""
    parts = _parts(text)
    if not parts:
        return None
    units = vocab.admin_units()
    scores: list[float] = []
    # province: the last part that snaps to a province name
    prov = None
    while parts:
        if _kind(parts[-1]) in ("commune", "district", "local"):
            break              # 'Xã Hưng Điền' is no 'Tỉnh Hưng Yên'
        hit = vocab.snap(parts[-1], units.provinces, cutoff=75)
        if hit is None and not fold(parts[-1]).startswith(("tinh", "thanh pho")):
            hit = vocab.snap("Tỉnh " + parts[-1], units.provinces, cutoff=80)
        if hit is not None:
            prov = hit[0]
            scores.append(hit[1])
            parts.pop()
            break
        if len(parts[-1]) <= 3:       # trailing noise
            parts.pop()
            continue
        break
    if prov is None:
        return None
    out_tail = [prov]
    district = None
    districts = units.districts.get(prov, ())
    if parts and _kind(parts[-1]) in ("district", "city", "?") and districts:
        hit = vocab.snap(parts[-1], districts, cutoff=80)
        if hit is not None and hit[1] < 0.95 and len(parts) >= 2:
            hit = _district_by_commune(parts[-1], parts[-2], prov, districts) or hit
        if hit is not None and not (_kind(parts[-1]) == "?" and len(parts) == 1):
            district = hit[0]
            scores.append(hit[1])
            parts.pop()
            out_tail.insert(0, district)
    if parts:
        if district is not None:
            pool = units.communes_old.get((prov, district), ())
        else:
            pool = units.communes_new.get(prov, ()) + tuple(
                w for (p, _), ws in units.communes_old.items() if p == prov for w in ws)
        hit = vocab.snap(parts[-1], pool, cutoff=78) if _kind(parts[-1]) != "local" else None
        if hit is not None:
            scores.append(hit[1])
            parts.pop()
            out_tail.insert(0, hit[0])
    if parts:   # label leftovers before 'Ấp …' / 'Khu phố …': drop them
        words = parts[0].split()
        for k in (1, 2):
            if len(words) > k and fold(words[k]) in ("ap", "khu", "so", "to", "thon") and \
                    all(not any(c.isdigit() for c in w) for w in words[:k]):
                parts[0] = " ".join(words[k:])
                break
    head = [fix_free_text(p) for p in parts]
    for _, s in head:
        scores.append(s)
    value = ", ".join([h for h, _ in head] + out_tail)
    return value, min(scores)


def _district_by_commune(district: str, commune: str, prov: str, districts: tuple[str, ...]
                         ) -> tuple[str, float] | None:
    """An unsure district ('Huyện Châu' lost 'Thành'): the one whose commune list also fits
    the commune read before it best."""
    from rapidfuzz import fuzz

    units = vocab.admin_units()
    best: tuple[float, str, float] | None = None
    for d in districts:
        sd = fuzz.ratio(fold(district), fold(d))
        if sd < 60:
            continue
        hit = vocab.snap(commune, units.communes_old.get((prov, d), ()), cutoff=80)
        if hit is None:
            continue
        total = sd / 100 + hit[1]
        if best is None or total > best[0]:
            best = (total, d, sd / 100)
    return None if best is None else (best[1], best[2])


_LOCAL_WORDS = {"ap": "Ấp", "khu": "Khu", "pho": "phố", "so": "Số", "duong": "đường",
                "to": "Tổ", "thon": "Thôn", "tai": "Tại", "nha": "nhà"}


def fix_free_text(part: str) -> tuple[str, float]:
    """Hamlet, street, 'Tại nhà': fix words one by one against the syllable lexicon."""
    words = part.split()
    out: list[str] = []
    scores: list[float] = [1.0]
    for i, w in enumerate(words):
        f = fold(w)
        if i == 0 and 2 <= len(w) <= 3 and f.endswith("p") and w[0].isupper() and \
                len(words) > 1 and words[1][:1].isupper() and f not in ("top",):
            out.append("Ấp")       # 'Ñp', 'Âp', 'Cáp': the capital's marks are often misread
            continue
        after_number = i > 0 and any(c.isdigit() for c in words[i - 1])
        if f in _LOCAL_WORDS and (i == 0 or f in ("pho", "nha") or
                                  (f == "duong" and after_number)):
            out.append(_LOCAL_WORDS[f])
            continue
        if any(c.isdigit() for c in w):
            d = digits(w)
            out.append(d or w)
            scores.append(0.9)
            continue
        fixed, s = vocab.fix_syllable(w)
        if s >= 1.0:
            fixed, s = vocab.common_spelling(fixed)
        out.append(title(fixed) if w[:1].isupper() or i > 0 else fixed)
        scores.append(s)
    return " ".join(out), min(scores)


def parse_place(text: str) -> Scored | None:
    """Nơi sinh / nơi chết: a health facility, 'Tại nhà, <address>', or an address."""
    t = re.sub(r"\s+", " ", nfc(text)).strip(" ,.;:")
    f = fold(t)
    if f.startswith(("tai nha", "tai gia")):
        rest = t.split(",", 1)[1] if "," in t else t[7:]
        addr = parse_address(rest)
        if addr is not None:
            return f"Tại nhà, {addr[0]}", addr[1]
        return None
    if any(k in f[:30] for k in ("benh vien", "trung tam", "tram y te", "y te", "phong kham",
                                   "nha ho sinh")):
        hit = vocab.snap(t, vocab.health_facilities(), cutoff=85)
        if hit is not None:
            return hit
        fixed = " ".join(fix_free_text(p)[0] for p in t.split(","))
        return fixed, 0.4
    addr = parse_address(t)
    if addr is not None:
        return addr
    return fix_free_text(t)[0], 0.3
