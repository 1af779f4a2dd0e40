"""The Circular 01/2018 forms: what a citizen reads on them, and the QR that opens the lookup."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image
from pypdf import PdfReader

from backend.forms import (
    FORMS,
    FontsMissing,
    FormData,
    FormStep,
    apology_pdf,
    lookup_url,
    process_control_sheet_pdf,
    qr_png,
    receipt_pdf,
    refusal_pdf,
    supplement_request_pdf,
)
from backend.forms import fonts as form_fonts
from backend.forms.dates import vn_date, vn_datetime

VN = ZoneInfo("Asia/Ho_Chi_Minh")
CODE = "000.00.21.H57-261123-0001"
URL = f"http://motcua.example/tra-cuu?ma={CODE}"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=VN)


STEPS = (
    FormStep(
        at(2026, 11, 23, 9, 30),
        "Trần Văn Hưởng",
        "Bộ phận Một cửa",
        "Tiếp nhận hồ sơ, chuyển phòng chuyên môn",
    ),
    FormStep(
        at(2026, 11, 23, 10, 5),
        "Lê Thị Hồng",
        "Lãnh đạo phòng Tư pháp",
        "Phân công chuyên viên thụ lý",
        "Đúng hạn",
    ),
    FormStep(
        at(2026, 11, 24, 14, 40),
        "Phạm Quốc Bảo",
        "Chuyên viên thụ lý",
        "Thẩm định, dự thảo kết quả",
        "Trước hạn",
    ),
)

DATA = FormData(
    code=CODE,
    agency_name="UBND xã Hòa Thành",
    agency_parent="UBND TỈNH TÂY NINH",
    procedure_name="Đăng ký khai sinh",
    submitter_name="Nguyễn Thị Ánh Tuyết",
    submitter_address="Số 12, đường Nguyễn Văn Linh, ấp Long Trung, xã Hòa Thành, tỉnh Tây Ninh",
    submitter_phone="0912 345 678",
    officer_name="Trần Văn Hưởng",
    received_at=at(2026, 11, 23, 9, 30),
    appointment_at=at(2026, 11, 24, 16, 0),
    new_appointment_at=at(2026, 11, 27, 10, 15),
    documents=(
        ("Giấy chứng sinh (bản chính)", 1),
        ("Thẻ căn cước của người đi khai sinh", 1),
        ("Giấy chứng nhận kết hôn của cha, mẹ (bản sao)", 2),
    ),
    missing_items=(
        "Giấy chứng sinh bản chính do cơ sở y tế cấp",
        "Ảnh mặt sau thẻ căn cước của người đi khai sinh, chụp rõ nét, đủ bốn góc",
    ),
    reason="Hồ sơ thuộc thẩm quyền của Ủy ban nhân dân xã nơi cư trú của người mẹ theo "
    "Điều 13 Luật Hộ tịch năm 2014; đề nghị ông/bà nộp hồ sơ tại UBND xã Long Hoa.",
    steps=STEPS,
    issued_at=at(2026, 11, 23, 9, 31),
    lookup_base_url="http://motcua.example/",
)

RECEIVED = "09 giờ 30 phút, ngày 23 tháng 11 năm 2026"
APPOINTMENT = "16 giờ 00 phút, ngày 24 tháng 11 năm 2026"
NEW_APPOINTMENT = "10 giờ 15 phút, ngày 27 tháng 11 năm 2026"
ISSUED = "Tây Ninh, ngày 23 tháng 11 năm 2026"

TITLES = {
    "receipt": "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
    "supplement_request": "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
    "refusal": "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ",
    "apology": "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
    "process_control": "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ",
}


def norm(text: str) -> str:
    """NFC with whitespace collapsed, so a phrase wrapped over two lines still matches."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFC", text)).strip()


def text_of(pdf: bytes) -> str:
    return norm(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages))


def pages_of(pdf: bytes) -> list[str]:
    return [norm(page.extract_text()) for page in PdfReader(BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return {name: build(DATA) for name, build in FORMS.items()}


def test_the_five_forms_are_registered() -> None:
    assert FORMS == {
        "receipt": receipt_pdf,
        "supplement_request": supplement_request_pdf,
        "refusal": refusal_pdf,
        "apology": apology_pdf,
        "process_control": process_control_sheet_pdf,
    }


@pytest.mark.parametrize("name", list(FORMS))
def test_each_form_is_an_a4_pdf_with_header_title_code_and_names(rendered: dict[str, bytes], name: str) -> None:
    pdf = rendered[name]
    assert pdf.startswith(b"%PDF-")
    assert len(PdfReader(BytesIO(pdf)).pages) == 1  # one dossier's form fits one sheet
    page = PdfReader(BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)
    text = text_of(pdf)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "UBND TỈNH TÂY NINH",
        "UBND XÃ HÒA THÀNH",
        ISSUED,
        TITLES[name],
        f"Mã hồ sơ: {CODE}",
        URL,
        "Nguyễn Thị Ánh Tuyết",
        "Đăng ký khai sinh",
        RECEIVED if name != "refusal" else "UBND xã Hòa Thành",
    ):
        assert expected in text, (name, expected)


@pytest.mark.parametrize("name", list(FORMS))
def test_each_form_embeds_the_qr_image(rendered: dict[str, bytes], name: str) -> None:
    images = PdfReader(BytesIO(rendered[name])).pages[0].images
    assert len(images) == 1
    zxingcpp = _zxingcpp()
    if zxingcpp is not None:
        image = images[0].image
        assert image is not None
        decoded = zxingcpp.read_barcodes(image.convert("L"))
        assert [b.text for b in decoded] == [URL]


def test_qr_png_is_a_png_that_decodes_to_the_url() -> None:
    png = qr_png(URL)
    image = Image.open(BytesIO(png))
    assert image.format == "PNG"
    zxingcpp = _zxingcpp()
    if zxingcpp is None:
        pytest.skip("zxingcpp not installed: PNG checked, decoding skipped")
    assert [b.text for b in zxingcpp.read_barcodes(image.convert("L"))] == [URL]


def _zxingcpp():  # type: ignore[no-untyped-def]
    try:
        import zxingcpp
    except ImportError:
        return None
    return zxingcpp


def test_lookup_url_joins_base_and_code() -> None:
    assert lookup_url("http://127.0.0.1:8080/", CODE) == ("http://127.0.0.1:8080/tra-cuu?ma=000.00.21.H57-261123-0001")


def test_receipt_lists_documents_dates_and_both_signatories(rendered: dict[str, bytes]) -> None:
    text = text_of(rendered["receipt"])
    for name, _ in DATA.documents:
        assert name in text
    assert "02 bản" in text
    assert f"Thời gian nhận hồ sơ: {RECEIVED}" in text
    assert f"Thời gian trả kết quả giải quyết hồ sơ: {APPOINTMENT}" in text
    assert "NGƯỜI NỘP HỒ SƠ" in text and "NGƯỜI TIẾP NHẬN HỒ SƠ" in text
    assert "Trần Văn Hưởng" in text
    assert DATA.submitter_address in text and "0912 345 678" in text


def test_supplement_request_lists_every_missing_item_and_the_note(
    rendered: dict[str, bytes],
) -> None:
    text = text_of(rendered["supplement_request"])
    for n, item in enumerate(DATA.missing_items, start=1):
        assert f"{n}. {item}" in text
    assert f"Lý do: {DATA.reason}" in text
    assert "NGƯỜI HƯỚNG DẪN" in text and "Trần Văn Hưởng" in text


def test_supplement_list_of_forty_flows_onto_a_second_page_losing_nothing() -> None:
    items = tuple(
        f"Giấy tờ thứ {n:02d}: bản sao giấy khai sinh của người mẹ"
        + (", có chứng thực, ghi rõ họ tên, ngày sinh và nơi cư trú hiện nay" if n % 8 == 0 else "")
        for n in range(1, 41)
    )
    pages = pages_of(supplement_request_pdf(replace(DATA, missing_items=items)))
    assert len(pages) == 2
    text = " ".join(pages)
    for n, item in enumerate(items, start=1):
        assert f"{n}. {item}" in text
    assert "Giấy tờ thứ 40" in pages[-1]
    assert f"Mã hồ sơ {CODE} - Trang 2/{len(pages)}" in pages[1]  # the footer carries the code


def test_refusal_states_the_reason(rendered: dict[str, bytes]) -> None:
    text = text_of(rendered["refusal"])
    assert "thông báo không tiếp nhận, giải quyết hồ sơ này" in text
    assert DATA.reason in text


def test_apology_gives_reason_and_new_appointment(rendered: dict[str, bytes]) -> None:
    text = text_of(rendered["apology"])
    assert "Kính gửi: Nguyễn Thị Ánh Tuyết" in text
    assert f"Lý do: {DATA.reason}" in text
    assert APPOINTMENT in text
    assert f"trả kết quả giải quyết hồ sơ cho ông/bà/tổ chức vào {NEW_APPOINTMENT}" in text


def test_process_control_sheet_has_a_row_per_step(rendered: dict[str, bytes]) -> None:
    text = text_of(rendered["process_control"])
    assert "THỜI GIAN GIAO, NHẬN HỒ SƠ" in text
    for step in STEPS:
        assert f"{step.role} {step.actor}" in text
        assert vn_datetime(step.at) in text
        assert step.action in text
        assert step.note in text
    assert "14 giờ 40 phút, ngày 24 tháng 11 năm 2026" in text


def test_process_control_sheet_of_many_steps_repeats_its_heading() -> None:
    steps = tuple(replace(STEPS[0], action=f"Bước xử lý số {n:02d}") for n in range(1, 41))
    pages = pages_of(process_control_sheet_pdf(replace(DATA, steps=steps)))
    assert len(pages) >= 2
    assert all("KẾT QUẢ GIẢI QUYẾT HỒ SƠ" in page for page in pages)
    text = " ".join(pages)
    assert all(f"Bước xử lý số {n:02d}" in text for n in range(1, 41))


def test_long_text_wraps_without_losing_words() -> None:
    reason = " ".join(f"lý-do-{n:03d}" for n in range(150)) + " " + "X" * 120
    text = text_of(refusal_pdf(replace(DATA, reason=reason)))
    assert all(f"lý-do-{n:03d}" in text for n in range(150))
    assert text.replace(" ", "").count("X" * 120) == 1  # an unbreakable word is cut, kept


def test_decomposed_input_prints_as_precomposed_letters() -> None:
    name = unicodedata.normalize("NFD", "Nguyễn Thị Ánh Tuyết")
    text = text_of(receipt_pdf(replace(DATA, submitter_name=name)))
    assert "Nguyễn Thị Ánh Tuyết" in text


def test_unknown_dates_print_as_blanks_to_fill_in() -> None:
    text = text_of(receipt_pdf(replace(DATA, received_at=None, issued_at=None)))
    assert "Thời gian nhận hồ sơ: ..... giờ ..... phút, ngày ..... tháng ..... năm" in text
    assert "Tây Ninh, ngày ..... tháng" in text


def test_dates_are_printed_in_vietnam_time_the_vietnamese_way() -> None:
    assert vn_datetime(datetime(2026, 11, 23, 2, 30, tzinfo=UTC)) == RECEIVED
    # Nghị định 30/2020: a leading zero for days below 10 and for months 1 and 2 only.
    assert vn_date(at(2026, 2, 5)) == "ngày 05 tháng 02 năm 2026"
    assert vn_date(at(2026, 3, 5)) == "ngày 05 tháng 3 năm 2026"
    with pytest.raises(ValueError, match="múi giờ"):
        vn_datetime(datetime(2026, 11, 23, 9, 30))


def test_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError):
        receipt_pdf(replace(DATA, received_at=datetime(2026, 11, 23, 9, 30)))


def test_missing_fonts_name_the_debian_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(form_fonts, "FONT_DIRS", (tmp_path,))
    monkeypatch.setattr(form_fonts, "_files", None)
    with pytest.raises(FontsMissing, match="fonts-dejavu-core"):
        receipt_pdf(DATA)


def test_same_data_gives_the_same_bytes_and_a_titled_document() -> None:
    pdf = refusal_pdf(DATA)
    assert pdf == refusal_pdf(DATA)
    metadata = PdfReader(BytesIO(pdf)).metadata
    assert metadata is not None
    assert metadata.title == f"Phiếu từ chối tiếp nhận giải quyết hồ sơ - {CODE}"


def test_an_agency_without_parent_still_heads_the_form() -> None:
    text = text_of(receipt_pdf(replace(DATA, agency_parent="")))
    assert text.startswith("UBND XÃ HÒA THÀNH CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM")
