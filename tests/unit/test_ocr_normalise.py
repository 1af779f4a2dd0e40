"""Normalising and validating OCR values: pure functions, no images."""

import pytest

from bot.ocr import normalise as N
from bot.ocr.vocab import SURNAME_SET, fix_syllable, fold


@pytest.mark.parametrize(("text", "want"), [
    ("26/07/1996", "1996-07-26"),
    ("Q9/11/1999", "1999-11-09"),          # Q read for 0
    ("09/1 2/1993", "1993-12-09"),         # a space inside the month
    ("ngày 02 tháng 06 năm 2025", "2025-06-02"),
    ("26071996", "1996-07-26"),
])
def test_dates_become_iso(text: str, want: str) -> None:
    got = N.parse_date(text)
    assert got is not None and got[0] == want


@pytest.mark.parametrize("text", ["31/02/1990", "12/13/1990", "hello"])
def test_impossible_dates_are_refused(text: str) -> None:
    assert N.parse_date(text) is None


def test_datetime_of_birth_or_death() -> None:
    got = N.parse_datetime("12 giờ 50 phút, ngày 18 tháng 11 năm 2025")
    assert got == ("2025-11-18T12:50", 1.0)
    assert N.parse_datetime("25 giờ 50 phút, ngày 18 tháng 11 năm 2025") is None


@pytest.mark.parametrize(("text", "want"), [
    ("Nam", "Nam"), ("NỮ", "Nữ"), ("Nu", "Nữ"), ("Male", "Nam"), (": Nữ.", "Nữ"),
])
def test_sex(text: str, want: str) -> None:
    got = N.parse_sex(text)
    assert got is not None and got[0] == want


@pytest.mark.parametrize(("text", "want"), [
    ("3.200 gam", 3200), ("3100 gram", 3100), ("3,2 kg", 3200), ("...2450 gram", 2450),
])
def test_weight_in_grams(text: str, want: int) -> None:
    got = N.parse_weight(text)
    assert got is not None and got[0] == want


def test_names_are_title_case_nfc_with_fixed_tone_marks() -> None:
    assert N.parse_name("TRẦN THÚY THU HẰNG")[0] == "Trần Thúy Thu Hằng"  # type: ignore[index]
    # OCR dropped a tone mark on the family name and swapped one in the given name
    assert N.parse_name("NGUYẺN VĂN CƯỚNG")[0] == "Nguyễn Văn Cường"  # type: ignore[index]


def test_surname_prior() -> None:
    assert fix_syllable("Nguyẻn", allowed=SURNAME_SET)[0] == "Nguyễn"


def test_id_number_plausibility() -> None:
    # 072 Tây Ninh, 0 = man born 19xx, 90 = 1990
    assert N.id_plausibility("072090001234", born_year=1990, sex="Nam") == 1.0
    assert N.id_plausibility("072090001234", born_year=1991, sex="Nam") < 1.0
    assert N.id_plausibility("072090001234", born_year=1990, sex="Nữ") < 1.0
    assert N.id_plausibility("099090001234") < 1.0          # no province 99
    assert N.parse_id_number("Số: O72O9OOO1234")[0] == "072090001234"  # type: ignore[index]


@pytest.mark.parametrize(("text", "want"), [
    ("Ấp Bàu Thới, Xã Tân. Thạnh, Tỉnh Tây Ninh,", "Ấp Bàu Thới, Xã Tân Thạnh, Tỉnh Tây Ninh"),
    ("Ấp Hòa Long, Thị trần Tân Châu, Huyện Tân Châu, Tính Tây Ninh",
     "Ấp Hòa Long, Thị trấn Tân Châu, Huyện Tân Châu, Tỉnh Tây Ninh"),
    ("Số 179 đường Võ Thị Sáu, Phường An Tịnh, Thị xã Trảng Bàng, Tỉnh Tây Ninh",
     "Số 179 đường Võ Thị Sáu, Phường An Tịnh, Thị xã Trảng Bàng, Tỉnh Tây Ninh"),
    ("Ấp Hòa Phước, Xã Bàu Năng Huyện Dương Minh Châu Tỉnh Tây Ninh",   # commas lost
     "Ấp Hòa Phước, Xã Bàu Năng, Huyện Dương Minh Châu, Tỉnh Tây Ninh"),
    ("Phường An Cựu, Quận Thuận Hóa, Thành phố Huế",
     "Phường An Cựu, Quận Thuận Hóa, Thành phố Huế"),
])
def test_addresses_snap_to_old_and_new_units(text: str, want: str) -> None:
    got = N.parse_address(text)
    assert got is not None and got[0] == want


def test_places() -> None:
    assert N.parse_place("Tại:. Bệnh viện Đa khoa tinh Tây Nính")[0] == \
        "Bệnh viện Đa khoa tỉnh Tây Ninh"  # type: ignore[index]
    got = N.parse_place("Tại nhà, Ấp Long An, Xã Phước Thạnh, Tỉnh Tây Ninh")
    assert got is not None and got[0] == "Tại nhà, Ấp Long An, Xã Phước Thạnh, Tỉnh Tây Ninh"


def test_fold_keeps_offsets() -> None:
    s = "Họ và tên / Full name: ĐỖ"
    assert len(fold(s)) == len(s)
    assert fold(s) == "ho va ten / full name: do"
