"""Random but plausible values for generated documents (giá trị mẫu), fixed by a seed."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from functools import lru_cache

from vietnamadminunits.database import query

SURNAMES = ("Nguyễn", "Trần", "Lê", "Phạm", "Huỳnh", "Hoàng", "Phan", "Vũ", "Võ", "Đặng",
            "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý", "Trương", "Đinh", "Lâm", "Mai", "Tạ", "Châu")
MIDDLE_MALE = ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Thanh", "Hoàng", "Gia",
               "Tấn", "Trọng", "Phước", "Ngọc")
MIDDLE_FEMALE = ("Thị", "Ngọc", "Thanh", "Thu", "Kim", "Mỹ", "Phương", "Hồng", "Bích", "Diễm",
                 "Thúy", "Minh")
GIVEN_MALE = ("An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Hùng", "Huy", "Khang", "Khoa",
              "Long", "Lộc", "Nam", "Nghĩa", "Phúc", "Quân", "Sơn", "Tài", "Thắng", "Thịnh",
              "Toàn", "Trí", "Tuấn", "Vinh", "Vũ", "Bảo", "Hiếu", "Kiệt", "Nhân", "Tín")
GIVEN_FEMALE = ("Anh", "Châu", "Diệp", "Dung", "Giang", "Hà", "Hằng", "Hạnh", "Hoa", "Hương",
                "Lan", "Liên", "Linh", "Loan", "Mai", "My", "Ngân", "Nhung", "Oanh", "Phượng",
                "Quyên", "Thảo", "Trang", "Trinh", "Tuyết", "Uyên", "Vân", "Vy", "Yến", "Xuân")
ETHNICITIES = ("Kinh",) * 12 + ("Khmer", "Hoa", "Chăm", "Tày", "Mường", "Xtiêng")
HAMLET_WORDS = ("Bình", "Hòa", "Phú", "Thạnh", "Lộc", "Tân", "Long", "Trường", "An", "Thới",
                "Đông", "Tây", "Trung", "Mỹ", "Lợi", "Hiệp", "Phước", "Thuận", "Cầu", "Bàu")
STREETS = ("Cách Mạng Tháng Tám", "Trần Hưng Đạo", "Nguyễn Trãi", "Lê Lợi", "Hùng Vương",
           "Nguyễn Chí Thanh", "Điện Biên Phủ", "Võ Thị Sáu", "Lý Thường Kiệt", "30 Tháng 4")
CAUSES = ("Bệnh già", "Suy tim", "Nhồi máu cơ tim", "Tai biến mạch máu não", "Ung thư phổi",
          "Ung thư gan", "Tai nạn giao thông", "Viêm phổi", "Suy hô hấp", "Xơ gan",
          "Đột quỵ", "Suy thận mạn")


@dataclass(frozen=True)
class Unit:
    """One commune with its district (old list) or only its province (2025 list)."""

    commune: str
    district: str | None
    province: str


@lru_cache(maxsize=1)
def tay_ninh_units() -> tuple[tuple[Unit, ...], tuple[Unit, ...]]:
    """Tây Ninh communes: old (with districts) and 2025 (province level only)."""
    old = query("select distinct ward, district, province from admin_units_legacy"
                " where provinceShort='Tây Ninh'")
    new = query("select distinct ward, province from admin_units where provinceShort='Tây Ninh'")
    return (tuple(Unit(r["ward"], r["district"], r["province"]) for r in old),
            tuple(Unit(r["ward"], None, r["province"]) for r in new))


@lru_cache(maxsize=1)
def legacy_provinces() -> tuple[tuple[str, str], ...]:
    """(full province name, 2-digit code) of the 63 old provinces."""
    rows = query("select distinct province, provinceCode from admin_units_legacy")
    return tuple((r["province"], r["provinceCode"]) for r in rows)


@lru_cache(maxsize=1)
def all_legacy_units() -> tuple[Unit, ...]:
    """Every old commune in the country (for places of origin)."""
    rows = query("select distinct ward, district, province from admin_units_legacy")
    return tuple(Unit(r["ward"], r["district"], r["province"]) for r in rows)


def person_name(rng: random.Random, sex: str) -> str:
    """A full name (họ và tên) in title case."""
    middle = MIDDLE_MALE if sex == "Nam" else MIDDLE_FEMALE
    given = GIVEN_MALE if sex == "Nam" else GIVEN_FEMALE
    parts = [rng.choice(SURNAMES), rng.choice(middle)]
    if rng.random() < 0.3:
        parts.append(rng.choice(middle))
    parts.append(rng.choice(given))
    out: list[str] = []
    for p in parts:  # no repeated syllable, as in real names
        if p not in out:
            out.append(p)
    return " ".join(out)


def hamlet(rng: random.Random) -> str:
    """An ấp / khu phố with a plausible name."""
    if rng.random() < 0.3:
        return f"Khu phố {rng.randint(1, 9)}"
    a, b = rng.sample(HAMLET_WORDS, 2)
    return f"Ấp {a} {b}"


def address(rng: random.Random, *, new: bool | None = None) -> str:
    """A Tây Ninh address, old (with district) or 2025 (commune + province) style."""
    old_units, new_units = tay_ninh_units()
    if new is None:
        new = rng.random() < 0.5
    unit = rng.choice(new_units if new else old_units)
    first = hamlet(rng)
    if unit.commune.startswith("Phường") and rng.random() < 0.6:
        first = f"Số {rng.randint(1, 299)} đường {rng.choice(STREETS)}"
    parts = [first, unit.commune] + ([unit.district] if unit.district else []) + [unit.province]
    return ", ".join(parts)


def origin(rng: random.Random) -> str:
    """A place of origin (quê quán): old commune, district, province anywhere."""
    if rng.random() < 0.5:
        unit = rng.choice(tay_ninh_units()[0])
    else:
        unit = rng.choice(all_legacy_units())
    return ", ".join([unit.commune, unit.district or "", unit.province])


def birth_date(rng: random.Random, lo: int, hi: int) -> dt.date:
    """A real date between 1 Jan lo and 31 Dec hi."""
    start, end = dt.date(lo, 1, 1), dt.date(hi, 12, 31)
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def id_number(rng: random.Random, born: dt.date, sex: str) -> str:
    """12-digit personal ID: province code, century+sex digit, year, 6 random digits."""
    code = rng.choice(legacy_provinces())[1] if rng.random() < 0.4 else "72"
    century = 0 if born.year < 2000 else 2
    sex_digit = century + (0 if sex == "Nam" else 1)
    return f"0{code}{sex_digit}{born.year % 100:02d}{rng.randint(0, 999999):06d}"


def old_id_number(rng: random.Random) -> str:
    """Old 9-digit CMND number."""
    return f"29{rng.randint(0, 9999999):07d}"


def card_expiry(born: dt.date, issued: dt.date) -> dt.date | None:
    """Expiry of a chip card: at 25, 40 or 60; issued within 2 years of a milestone: the next."""
    for age in (25, 40, 60):
        milestone = _birthday(born, age)
        if issued < milestone - dt.timedelta(days=730):
            return milestone
    return None


def _birthday(born: dt.date, age: int) -> dt.date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:  # 29 February
        return born.replace(year=born.year + age, day=28)
