"""QR payloads: the ID card's pipe-separated fields, and decoding from images."""

import io

import numpy as np
import qrcode
from PIL import Image

from bot.ocr import decode_qr_sync
from bot.ocr.qr import decode_qr_array, parse_card_qr

PAYLOAD = ("072090001234|290123456|Nguyễn Văn Bình|01021990|Nam|"
           "Ấp Bình Hòa, Xã Phước Thạnh, Huyện Gò Dầu, Tỉnh Tây Ninh|15032021")


def test_card_payload_fields() -> None:
    qr = parse_card_qr(PAYLOAD)
    assert qr is not None
    assert (qr.id_number, qr.old_id, qr.full_name, qr.date_of_birth, qr.sex, qr.issue_date) == (
        "072090001234", "290123456", "Nguyễn Văn Bình", "1990-02-01", "Nam", "2021-03-15")
    assert qr.address == "Ấp Bình Hòa, Xã Phước Thạnh, Huyện Gò Dầu, Tỉnh Tây Ninh"


def test_other_payloads_are_not_cards() -> None:
    assert parse_card_qr("000.00.21.H57-251123-0001") is None
    assert parse_card_qr("") is None


def _png(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return buf.getvalue()


def test_small_qr_in_a_big_photo_is_found_by_crop_and_upscale() -> None:
    q = qrcode.QRCode(border=1, box_size=2)
    q.add_data(PAYLOAD.encode("utf-8"))
    code = q.make_image().convert("L")
    photo = Image.new("L", (1280, 960), 180)
    photo.paste(code.resize((code.width * 3 // 4, code.height * 3 // 4)), (900, 80))
    assert decode_qr_array(np.asarray(photo)) == PAYLOAD
    assert decode_qr_sync(_png(photo.convert("RGB"))) == PAYLOAD


def test_no_qr() -> None:
    assert decode_qr_sync(_png(Image.new("RGB", (300, 200), (250, 250, 250)))) is None
