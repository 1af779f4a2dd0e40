"""Document type from OCR text, with and without diacritics."""

import pytest

from bot.ocr.classify import classify


@pytest.mark.parametrize(("text", "want"), [
    ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nCĂN CƯỚC CÔNG DÂN\nCitizen Identity Card\n"
     "Họ và tên / Full name:", "id_card"),
    ("CAN CUOC CONG DAN\nHo va ten: NGUYEN VAN A\nQue quan: Tay Ninh\nCo gia tri den:",
     "id_card"),
    ("GIẤY CHỨNG SINH\nHọ và tên mẹ: Lê Thị Lan\nĐã sinh con vào lúc: 08 giờ", "birth_certificate"),
    ("GIAY CHUNG SINH\nDu dinh dat ten con la: An", "birth_certificate"),
    ("GIẤY BÁO TỬ\nĐã chết vào lúc: 10 giờ\nNguyên nhân chết: Bệnh già", "death_notice"),
    ("Hóa đơn bán lẻ\nCà phê sữa 25.000\nCảm ơn quý khách", "unknown"),
    ("", "unknown"),
])
def test_classify(text: str, want: str) -> None:
    assert classify(text)[0] == want


def test_card_qr_settles_it() -> None:
    assert classify("", card_qr=True) == ("id_card", 0.99)
