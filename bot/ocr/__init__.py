"""Reading citizens' photos (đọc ảnh giấy tờ): ID cards, birth certificates and death notices
into the e-form fields of DOMAIN.md "OCR output contract"."""

from __future__ import annotations

from .image import ImageRejected, check_image
from .pool import OcrFailed, OcrReader
from .qr import decode_qr_sync
from .reader import FIELDS_BY_TYPE, OcrResult, read_document_sync

__all__ = ["FIELDS_BY_TYPE", "ImageRejected", "OcrFailed", "OcrReader", "OcrResult",
           "check_image", "decode_qr_sync", "read_document_sync"]
