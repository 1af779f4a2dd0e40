"""Domain vocabularies (từ điển) for correcting OCR: administrative units (old 63-province and
2025 34-province lists, from `vietnamadminunits`), ethnic groups, name syllables, form words."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein
from vietnamadminunits.database import query

# đ, and letters of other scripts that Tesseract's vie model emits for blurred Vietnamese ones
_FOLD = str.maketrans({"đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ð": "d", "Ð": "d", "ı": "i",
                       "ł": "l", "æ": "a", "œ": "o", "ß": "b", "þ": "p"})


def nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


@lru_cache(maxsize=8192)
def _fold_char(c: str) -> str:
    base = unicodedata.normalize("NFD", c)[0].translate(_FOLD).lower()
    return base if len(base) == 1 else c


def fold(s: str) -> str:
    """Lower case without diacritics, one character per character of NFC `s` (keeps offsets)."""
    return "".join(_fold_char(c) for c in nfc(s))


# The 54 ethnic groups (dân tộc) as written on Vietnamese papers.
ETHNIC_GROUPS = (
    "Kinh", "Tày", "Thái", "Mường", "Khmer", "Hoa", "Nùng", "Mông", "Dao", "Gia Rai", "Ê Đê",
    "Ba Na", "Sán Chay", "Chăm", "Cơ Ho", "Xơ Đăng", "Sán Dìu", "Hrê", "Ra Glai", "Mnông",
    "Thổ", "Xtiêng", "Khơ Mú", "Bru Vân Kiều", "Cơ Tu", "Giáy", "Tà Ôi", "Mạ", "Giẻ Triêng",
    "Co", "Chơ Ro", "Xinh Mun", "Hà Nhì", "Chu Ru", "Lào", "La Chí", "Kháng", "Phù Lá",
    "La Hủ", "La Ha", "Pà Thẻn", "Lự", "Ngái", "Chứt", "Lô Lô", "Mảng", "Cơ Lao", "Bố Y",
    "Cống", "Si La", "Pu Péo", "Rơ Măm", "Brâu", "Ơ Đu",
)

# Family names (họ), most frequent first: a strong prior when OCR blurs a tone mark.
SURNAMES = tuple(nfc(s) for s in """
Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Trương Đinh Lâm Mai
Tạ Châu Đoàn Cao Lương Trịnh Quách Tô Hà Thái Kiều Lục La Lưu Văn Phùng Từ Triệu Trương
""".split())

# Syllables of Vietnamese personal names (họ, tên đệm, tên), the common ones.
NAME_SYLLABLES = tuple(nfc(s) for s in """
Nguyễn Trần Lê Phạm Huỳnh Hoàng Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Trương Đinh Lâm Mai
Tạ Châu Đoàn Cao Lương Trịnh Quách Tô Hà Thái Kiều Lục Văn Hữu Đức Minh Quốc Thành Công Thanh
Gia Tấn Trọng Phước Ngọc Thị Thu Kim Mỹ Phương Hồng Bích Diễm Thúy Xuân Bảo Anh An Bình
Cường Dũng Đạt Hải Hùng Huy Khang Khoa Long Lộc Nam Nghĩa Phúc Quân Sơn Tài Thắng Thịnh
Toàn Trí Tuấn Vinh Hiếu Kiệt Nhân Tín Châu Diệp Dung Giang Hằng Hạnh Hoa Hương Lan Liên Linh
Loan My Ngân Nhung Oanh Phượng Quyên Thảo Trang Trinh Tuyết Uyên Vân Vy Yến Hiền Hòa Hiệp
Khánh Lực Luân Nhật Phát Quang Sang Tâm Tân Thiện Thông Tiến Trung Tú Tùng Việt Vương Yên
Đông Hạ Hào Hậu Hưng Kha Khải Lợi Mạnh Nguyên Nhi Như Quý Quỳnh Sương Thùy Trâm Trúc Tường
Ánh Ân Duy Đăng Điệp Hân Hiển Hoài Khôi Lam Lễ Liễu Mến Nga Ngà Nhàn Nhã Phụng Phong Quế
Sen Thơ Thư Thủy Tiên Trà Trang Tươi Vi Ý Đào Lan Thoa Cúc Huệ Lài Lệ Chi Cẩm Huyền Diệu
""".split())

CAUSES_OF_DEATH = (
    "Bệnh già", "Già yếu", "Suy tim", "Nhồi máu cơ tim", "Tai biến mạch máu não", "Đột quỵ",
    "Ung thư phổi", "Ung thư gan", "Ung thư dạ dày", "Tai nạn giao thông", "Viêm phổi",
    "Suy hô hấp", "Xơ gan", "Suy thận mạn", "Suy đa tạng", "Đuối nước", "Tăng huyết áp",
    "Đái tháo đường", "Sốt xuất huyết", "Bệnh phổi tắc nghẽn mạn tính",
)

# Words of the forms and of health facilities (tên cơ sở y tế), for syllable correction.
FORM_WORDS = nfc("""
Bệnh viện Đa khoa tỉnh huyện xã phường thị trấn thị xã thành phố Trung tâm Y tế Trạm
Phòng khám Nhà hộ sinh Sản Nhi Quốc tế Xuyên Á Tại nhà nơi cư trú Ấp Khu phố Số đường Tổ
Quận Việt Nam giờ phút ngày tháng năm gam gram
""").split()

# Common street names (tên đường): national heroes, dates; their words are valid syllables.
STREET_WORDS = nfc("""
Cách Mạng Tháng Tám Trần Hưng Đạo Nguyễn Trãi Lê Lợi Hùng Vương Nguyễn Chí Thanh Điện Biên
Phủ Võ Thị Sáu Lý Thường Kiệt Quang Trung Nguyễn Huệ Hai Bà Trưng Lê Duẩn Phạm Văn Đồng
Nguyễn Văn Linh Tôn Đức Thắng Nguyễn Du Ngô Quyền Lạc Long Quân Âu Cơ Bạch Đằng Độc Lập
Thống Nhất Hòa Bình Tự Do Hạnh Phúc Nguyễn Thái Học Phan Bội Châu Phan Chu Trinh Trưng Nữ
Vương Lê Văn Tám Nguyễn Đình Chiểu Tháng Tư
""").split()


# Hospitals of Tây Ninh (after the 2025 merger with Long An), beyond the generated names.
HOSPITALS = (
    "Bệnh viện Đa khoa tỉnh Tây Ninh", "Bệnh viện Đa khoa Xuyên Á Tây Ninh",
    "Bệnh viện Lao và Bệnh phổi Tây Ninh", "Bệnh viện Y dược cổ truyền Tây Ninh",
    "Bệnh viện Đa khoa Long An", "Bệnh viện Sản Nhi Long An", "Bệnh viện Đa khoa Hồng Hưng",
    "Bệnh viện Chợ Rẫy", "Bệnh viện Từ Dũ", "Bệnh viện Hùng Vương",
)


@dataclass(frozen=True)
class Commune:
    """A commune (xã, phường, thị trấn) in the old or the 2025 list."""

    name: str                 # full name, e.g. "Xã Phước Thạnh"
    district: str | None      # old list only, e.g. "Huyện Gò Dầu"
    province: str             # e.g. "Tỉnh Tây Ninh"


@dataclass(frozen=True)
class AdminUnits:
    """Both unit lists, indexed for snapping addresses."""

    provinces: tuple[str, ...]                      # full names, old and 2025
    province_codes: frozenset[str]                  # old 2-digit codes (CCCD prefix 0xx)
    districts: dict[str, tuple[str, ...]]           # province → its old districts
    communes_old: dict[tuple[str, str], tuple[str, ...]]   # (province, district) → communes
    communes_new: dict[str, tuple[str, ...]]        # province (2025) → communes
    syllables: Counter[str]                          # syllable frequencies in all names


@lru_cache(maxsize=1)
def admin_units() -> AdminUnits:
    """Load both lists from the package's SQLite file (once per process)."""
    old = query("select province, district, ward, provinceCode from admin_units_legacy"
                " where ward is not null and district is not null")
    new = query("select province, ward from admin_units where ward is not null")
    provinces = sorted({nfc(r["province"]) for r in old} | {nfc(r["province"]) for r in new})
    codes = frozenset(str(r["provinceCode"]).zfill(2) for r in old)
    districts: dict[str, set[str]] = {}
    communes_old: dict[tuple[str, str], list[str]] = {}
    communes_new: dict[str, list[str]] = {}
    syl: Counter[str] = Counter()
    for r in old:
        p, d, w = nfc(r["province"]), nfc(r["district"]), nfc(r["ward"])
        districts.setdefault(p, set()).add(d)
        communes_old.setdefault((p, d), []).append(w)
        syl.update((p + " " + d + " " + w).split())
    for r in new:
        p, w = nfc(r["province"]), nfc(r["ward"])
        communes_new.setdefault(p, []).append(w)
        syl.update((p + " " + w).split())
    return AdminUnits(
        tuple(provinces), codes, {k: tuple(sorted(v)) for k, v in districts.items()},
        {k: tuple(v) for k, v in communes_old.items()},
        {k: tuple(v) for k, v in communes_new.items()}, syl)


@lru_cache(maxsize=1)
def syllable_lexicon() -> Counter[str]:
    """Every known syllable with a frequency: place names, person names, form words."""
    c = Counter(admin_units().syllables)
    for s in NAME_SYLLABLES:
        c[s] += 50
    for i, s in enumerate(SURNAMES):
        c[s] += 2000 - 40 * i
    for w in FORM_WORDS + STREET_WORDS + [w for g in ETHNIC_GROUPS + CAUSES_OF_DEATH for w in g.split()]:
        c[w] += 20
    return c


@lru_cache(maxsize=1)
def _lexicon_by_fold() -> dict[str, list[tuple[str, int]]]:
    out: dict[str, list[tuple[str, int]]] = {}
    for s, n in syllable_lexicon().items():
        out.setdefault(fold(s), []).append((s, n))
    return out


@lru_cache(maxsize=1)
def _lower_lexicon() -> tuple[str, ...]:
    return tuple(sorted({s.lower() for s in syllable_lexicon()}))


def fix_syllable(tok: str, *, allowed: frozenset[str] | None = None) -> tuple[str, float]:
    """Closest known syllable (âm tiết) to an OCR token, keeping its case; score 0..1.

    `allowed` (lower case) restricts the choice, e.g. to family names for a name's first word.
    """
    if not tok or not tok.isalpha():
        return tok, 0.5
    low = nfc(tok).lower()
    known = allowed if allowed is not None else _lower_set()
    if low in known:
        return tok, 1.0
    # same letters, other diacritics: the nearest marks, then the most frequent spelling
    cands = [(s, n) for s, n in _lexicon_by_fold().get(fold(low), [])
             if allowed is None or s.lower() in allowed]
    if cands:
        best = max(cands, key=lambda sn: (-_marks_distance(sn[0].lower(), low), sn[1]))
        return _same_case(best[0], tok), 0.8
    pool = tuple(sorted(allowed)) if allowed is not None else _lower_lexicon()
    hit = process.extractOne(low, pool, scorer=Levenshtein.distance,
                             score_cutoff=1 if len(low) <= 4 else 2)
    if hit is not None:
        return _same_case(hit[0], tok), 0.6
    return tok, 0.3


def common_spelling(tok: str) -> tuple[str, float]:
    """A rare place syllable next to a far more frequent one with other tone marks is
    usually a misread mark (Câu → Cầu, Bầu → Bàu) — for hamlet and street words only."""
    low = nfc(tok).lower()
    freq = max((n for s, n in _lexicon_by_fold().get(fold(low), []) if s.lower() == low),
               default=0)
    best = max(((s, n) for s, n in _lexicon_by_fold().get(fold(low), [])
                if s.lower() != low and _marks_distance(s.lower(), low) <= 2),
               key=lambda sn: sn[1], default=None)
    if best is not None and freq <= 3 and best[1] >= 10 * freq + 10:
        return _same_case(best[0], tok), 0.7
    return tok, 1.0


@lru_cache(maxsize=1)
def _lower_set() -> frozenset[str]:
    return frozenset(_lower_lexicon())


NAME_SET = frozenset(s.lower() for s in NAME_SYLLABLES + SURNAMES)
# middle and given names: family names like Trịnh or Nguyễn rarely come after the first word
_SURNAME_ONLY = frozenset(nfc(s).lower() for s in """
Nguyễn Trần Phạm Huỳnh Phan Võ Đặng Bùi Đỗ Hồ Ngô Lý Trương Đinh Trịnh Đoàn Lương Quách Tạ
""".split())
GIVEN_SET = frozenset(s.lower() for s in NAME_SYLLABLES) - _SURNAME_ONLY
SURNAME_SET = frozenset(s.lower() for s in SURNAMES)


def _marks_distance(a: str, b: str) -> int:
    """Edit distance over decomposed letters: a wrong tone mark costs 1, a wrong vowel more."""
    return int(Levenshtein.distance(unicodedata.normalize("NFD", a),
                                    unicodedata.normalize("NFD", b)))


def _same_case(word: str, like: str) -> str:
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:].lower()
    return word.lower()


def snap(text: str, choices: tuple[str, ...] | list[str], *, cutoff: float = 70.0
         ) -> tuple[str, float] | None:
    """Best choice for `text`: compared without diacritics first, then with (ties such as
    Tân Thạnh / Tân Thành are common); score 0..1."""
    if not text or not choices:
        return None
    folded = _folded(tuple(choices))
    hits = process.extract(fold(text), folded, scorer=fuzz.ratio, score_cutoff=cutoff, limit=8)
    if not hits:
        return None
    low = nfc(text).lower()
    best = max(hits, key=lambda h: (h[1] + 0.5 * fuzz.ratio(low, choices[h[2]].lower()),
                                    -h[2]))
    _, score, idx = best
    exact = fuzz.ratio(low, choices[idx].lower())
    return choices[idx], min(1.0, (score + exact) / 200)


@lru_cache(maxsize=4096)
def _folded(choices: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(fold(c) for c in choices)


def _lower_unit(name: str) -> str:
    for t in ("Thành phố", "Thị xã", "Thị trấn", "Huyện", "Quận", "Phường", "Xã"):
        if name.startswith(t + " "):
            return t.lower() + name[len(t):]
    return name


@lru_cache(maxsize=1)
def health_facilities() -> tuple[str, ...]:
    """Hospitals, district health centres and commune health stations (cơ sở y tế)."""
    u = admin_units()
    out = list(HOSPITALS)
    for p in u.provinces:
        short = p.removeprefix("Tỉnh ").removeprefix("Thành phố ")
        out.append(f"Bệnh viện Đa khoa {_lower_unit(p) if p.startswith('Tỉnh') else short}")
    tn = "Tỉnh Tây Ninh"
    for d in u.districts.get(tn, ()) + u.districts.get("Tỉnh Long An", ()):
        out.append("Trung tâm Y tế " + _lower_unit(d))
    communes = list(u.communes_new.get(tn, ()))
    communes += [w for (p, _), ws in u.communes_old.items() if p in (tn, "Tỉnh Long An")
                 for w in ws]
    out += ["Trạm Y tế " + _lower_unit(c) for c in communes]
    return tuple(dict.fromkeys(nfc(x) for x in out))
