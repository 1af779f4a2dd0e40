"""QR codes (mã QR) with zxing-cpp: the chip ID card's payload, and any QR (receipts).
At chat-app resolution the card's QR is small: crop and upscale before giving up."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np
import zxingcpp


@dataclass(frozen=True)
class CardQr:
    """Fields of the ID card QR: id|old id|name|ddmmyyyy|sex|address|issue ddmmyyyy."""

    id_number: str
    old_id: str | None
    full_name: str
    date_of_birth: str | None
    sex: str | None
    address: str | None
    issue_date: str | None


def _ddmmyyyy(s: str) -> str | None:
    if not re.fullmatch(r"\d{8}", s):
        return None
    try:
        return dt.date(int(s[4:]), int(s[2:4]), int(s[:2])).isoformat()
    except ValueError:
        return None


def parse_card_qr(payload: str | None) -> CardQr | None:
    """The CCCD payload, or None when the QR is something else."""
    if not payload:
        return None
    parts = payload.strip().split("|")
    if len(parts) < 5 or not re.fullmatch(r"\d{12}", parts[0]):
        return None
    parts += [""] * (7 - len(parts))
    sex = {"nam": "Nam", "nữ": "Nữ", "nu": "Nữ"}.get(parts[4].strip().lower())
    return CardQr(parts[0], parts[1] or None, " ".join(parts[2].split()), _ddmmyyyy(parts[3]),
                  sex, " ".join(parts[5].split()) or None, _ddmmyyyy(parts[6]))


def _decode(gray: np.ndarray) -> str | None:
    try:
        res = zxingcpp.read_barcodes(gray, formats=zxingcpp.BarcodeFormat.QRCode,  # type: ignore[arg-type]
                                     try_rotate=True, try_downscale=True)
    except (ValueError, RuntimeError):
        return None
    for r in res:
        if r.valid and r.bytes:
            try:
                return bytes(r.bytes).decode("utf-8")
            except UnicodeDecodeError:
                return r.text or None
    return None


def _variants(gray: np.ndarray, hint: tuple[int, int, int, int] | None) -> Iterator[np.ndarray]:
    """The image, then crops (hinted region first, then overlapping tiles) upscaled ×2–×3."""
    yield gray
    h, w = gray.shape
    boxes: list[tuple[int, int, int, int]] = []
    if hint is not None:
        boxes.append(hint)
    for fx, fy in ((0.5, 0.0), (0.0, 0.0), (0.5, 0.5), (0.0, 0.5), (0.25, 0.25)):
        boxes.append((int(fx * w), int(fy * h), int((fx + 0.5) * w), int((fy + 0.5) * h)))
    for x0, y0, x1, y1 in boxes:
        crop = gray[max(0, y0):min(h, y1), max(0, x0):min(w, x1)]
        if crop.size == 0:
            continue
        for s in (2.0, 3.0):
            big = cv2.resize(crop, None, fx=s, fy=s, interpolation=cv2.INTER_CUBIC)
            yield big
            if s == 3.0:
                blur = cv2.GaussianBlur(big, (0, 0), 2)
                yield cv2.addWeighted(big, 1.8, blur, -0.8, 0)   # unsharp mask
        if hint is not None and (x0, y0, x1, y1) == hint:
            _, bw = cv2.threshold(cv2.resize(crop, None, fx=3, fy=3,
                                             interpolation=cv2.INTER_CUBIC), 0, 255,
                                  cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            yield bw


def decode_qr_array(rgb_or_gray: np.ndarray,
                    hint: tuple[int, int, int, int] | None = None, *,
                    thorough: bool = True) -> str | None:
    """First QR payload found in the image (UTF-8 text), trying crop+upscale variants unless
    not `thorough` (then only the whole image, a few ms)."""
    gray = rgb_or_gray if rgb_or_gray.ndim == 2 else cv2.cvtColor(rgb_or_gray,
                                                                 cv2.COLOR_RGB2GRAY)
    variants = _variants(gray, hint) if thorough else iter([gray])
    for v in variants:
        text = _decode(v)
        if text:
            return text
    return None


def decode_qr_sync(data: bytes) -> str | None:
    """Any QR code in a photo (ảnh có mã QR), e.g. a receipt: the payload or None."""
    from .image import load_rgb

    return decode_qr_array(load_rgb(data))
