"""Flattening pieces on small synthetic images: leaders erased, tone marks kept, skew found."""

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from bot.ocr.flatten import remove_leaders, skew_angle, x_height

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _line(text: str, dots_from: int | None = None) -> np.ndarray:
    im = Image.new("L", (1400, 120), 255)
    d = ImageDraw.Draw(im)
    d.text((20, 30), text, font=ImageFont.truetype(FONT, 40), fill=0)
    if dots_from is not None:
        for x in range(dots_from, 1380, 13):
            d.ellipse((x - 2, 76 - 2, x + 2, 76 + 2), fill=60)
    return np.asarray(im).copy()


def test_dotted_leader_is_erased_and_tone_marks_stay() -> None:
    text = "Họ và tên mẹ: Nguyễn Thị Ấu Lộc"
    end = 20 + int(ImageFont.truetype(FONT, 40).getlength(text))
    plain = _line(text)
    dotted = _line(text, dots_from=end + 20)
    out = remove_leaders(dotted)
    assert (dotted[:, end + 10:] < 128).sum() > 0
    assert (out[:, end + 10:] < 128).sum() == 0             # the leader is gone
    assert np.array_equal(out[:, :end] < 128, plain[:, :end] < 128)   # marks untouched


def test_skew_angle_of_tilted_rows() -> None:
    im = Image.new("L", (1200, 900), 255)
    d = ImageDraw.Draw(im)
    for i in range(8):
        d.text((60, 80 + 90 * i), "Nơi cư trú: Ấp Bình Hòa, Xã Phước Thạnh, Tỉnh Tây Ninh",
               font=ImageFont.truetype(FONT, 34), fill=0)
    gray = np.asarray(im)
    m = cv2.getRotationMatrix2D((600, 450), 4.0, 1.0)
    tilted = cv2.warpAffine(gray, m, (1200, 900), borderValue=255)
    xh = x_height(tilted)
    assert abs(skew_angle(gray, x_height(gray))) < 0.5
    assert abs(abs(skew_angle(tilted, xh)) - 4.0) < 0.7
