"""Receiving a photo: refuse what is not one, check size before downloading, check the
image, read it by OCR when OCR runs. Shared by submission, supplement and QR lookup."""

from __future__ import annotations

import io
import logging
import time
from dataclasses import dataclass
from typing import Any

from backend.domain.messages import Attachment, DeliveryError
from backend.services.metrics import observe_ocr
from bot import texts
from bot.handlers.base import ChatError, Services, human_size

log = logging.getLogger(__name__)

_IMAGE_EXT = (".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif")
_MIME_OF_FORMAT = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png",
                   "WEBP": "image/webp", "HEIF": "image/heic"}


@dataclass(frozen=True)
class Photo:
    data: bytes
    mime_type: str
    filename: str


def _looks_like_image(att: Attachment) -> bool:
    if att.kind == "image":
        return True
    if att.mime_type:
        return att.mime_type.lower().startswith("image/")
    return (att.filename or "").lower().endswith(_IMAGE_EXT)


async def receive(att: Attachment, svc: Services) -> Photo:
    """Download and check one photo; ``ChatError`` with the citizen's answer when bad."""
    if not _looks_like_image(att):
        raise ChatError(texts.NOT_A_PHOTO.format(name=att.filename or "tệp"))
    limit = svc.max_file_bytes
    if att.size is not None and att.size > limit:  # from the channel's metadata: not downloaded
        raise ChatError(texts.TOO_LARGE.format(size=human_size(att.size), limit=human_size(limit)))
    try:
        data = await svc.fetch(att)
    except ChatError:
        raise
    except (DeliveryError, OSError) as exc:
        log.warning("download failed on %s: %s", svc.channel, exc)
        raise ChatError(texts.FETCH_FAILED) from exc
    if len(data) > limit:
        raise ChatError(texts.TOO_LARGE.format(size=human_size(len(data)), limit=human_size(limit)))
    fmt = check_image(data)
    mime = _MIME_OF_FORMAT.get(fmt, att.mime_type or "image/jpeg")
    return Photo(data, mime, att.filename or f"photo{_ext(mime)}")


def _ext(mime: str) -> str:
    return {"image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}.get(mime, ".jpg")


def check_image(data: bytes) -> str:
    """The image format, or ``ChatError`` for an empty, corrupt or unsupported file."""
    try:
        from bot.ocr import ImageRejected
        from bot.ocr import check_image as ocr_check
    except ImportError:  # OCR not installed: Pillow's own check
        ImageRejected, ocr_check = None, None  # noqa: N806
    if ocr_check is not None:
        try:
            ocr_check(data)
        except ImageRejected as exc:  # type: ignore[misc]
            raise ChatError(texts.IMAGE_REJECTED.get(exc.reason, texts.IMAGE_REJECTED["corrupt"])) from exc
    return _pillow_format(data)


def _pillow_format(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    if not data:
        raise ChatError(texts.IMAGE_REJECTED["empty"])
    try:
        with Image.open(io.BytesIO(data)) as im:
            fmt = im.format or ""
            im.load()  # a truncated JPEG fails here, not later in the officer's viewer
    except UnidentifiedImageError as exc:
        raise ChatError(texts.IMAGE_REJECTED["not_image"]) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise ChatError(texts.IMAGE_REJECTED["corrupt"]) from exc
    if fmt not in _MIME_OF_FORMAT:
        raise ChatError(texts.IMAGE_REJECTED["unsupported"])
    return fmt


async def read(photo: Photo, svc: Services) -> dict[str, Any] | None:
    """What OCR reads (doc_type, fields, confidence, qr), or None without OCR or on failure."""
    if svc.ocr is None:
        return None
    started = time.monotonic()
    try:
        result = await svc.ocr.read(photo.data)
    except Exception as exc:  # OcrFailed, a crashed worker: keep the photo as a plain attachment
        if type(exc).__name__ == "ImageRejected":
            reason = getattr(exc, "reason", "corrupt")
            raise ChatError(texts.IMAGE_REJECTED.get(reason, texts.IMAGE_REJECTED["corrupt"])) from exc
        log.warning("ocr failed: %s", type(exc).__name__)
        return None
    finally:
        observe_ocr("read", time.monotonic() - started)
    if hasattr(result, "to_json"):
        return dict(result.to_json())
    return dict(result)


async def decode_qr(photo: Photo, svc: Services) -> str | None:
    """The QR payload in a photo (None: there is none); ``ChatError`` when no reader is
    available or it failed."""
    if svc.ocr is None:
        raise ChatError(texts.QR_UNAVAILABLE)
    started = time.monotonic()
    try:
        payload: str | None = await svc.ocr.decode_qr(photo.data)
        return payload
    except Exception as exc:  # the reader failed (timed out, crashed): not "no QR", ask again
        log.warning("qr decode failed: %s", type(exc).__name__)
        raise ChatError(texts.QR_RETRY) from exc
    finally:
        observe_ocr("qr", time.monotonic() - started)
