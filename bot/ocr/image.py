"""Input checks (kiểm tra ảnh) and decoding: real image, size and pixel limits, EXIF rotation."""

from __future__ import annotations

import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_BYTES = 20_000_000
MAX_PIXELS = 40_000_000          # a 48 MP phone photo is refused before decoding
MIN_SIDE = 64
FORMATS = frozenset({"JPEG", "PNG", "WEBP", "HEIF", "MPO"})

try:  # HEIC from iPhones, when pillow-heif is installed
    from pillow_heif import register_heif_opener

    register_heif_opener()
except ImportError:  # pragma: no cover - optional
    pass


class ImageRejected(Exception):
    """Bad input (ảnh không hợp lệ); `reason` is a short code for the reply text."""

    def __init__(self, reason: str, message: str = "") -> None:
        super().__init__(message or reason)
        self.reason = reason


def check_image(data: bytes, *, max_bytes: int = MAX_BYTES) -> None:
    """Refuse what is not a supported, sane image; cheap: reads the header and verifies."""
    if not data:
        raise ImageRejected("empty", "no bytes")
    if len(data) > max_bytes:
        raise ImageRejected("too_large", f"{len(data)} bytes > {max_bytes}")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or ""
                w, h = im.size
                if w * h > MAX_PIXELS:
                    raise ImageRejected("too_many_pixels", f"{w}x{h}")
                if fmt not in FORMATS:
                    raise ImageRejected("unsupported", fmt or "unknown format")
                if min(w, h) < MIN_SIDE:
                    raise ImageRejected("corrupt", f"too small: {w}x{h}")
                im.verify()
    except ImageRejected:
        raise
    except UnidentifiedImageError as e:
        raise ImageRejected("not_image", "not an image") from e
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageRejected("too_many_pixels", "decompression bomb") from e
    except (OSError, SyntaxError, ValueError, EOFError) as e:
        raise ImageRejected("corrupt", str(e)[:80]) from e


def load_rgb(data: bytes) -> np.ndarray:
    """Decode fully, apply EXIF orientation, return RGB uint8 (H, W, 3)."""
    check_image(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as f:
                f.load()
                im: Image.Image = ImageOps.exif_transpose(f) or f
                if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                    rgba = im.convert("RGBA")
                    bg = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
                    im = Image.alpha_composite(bg, rgba)
                return np.asarray(im.convert("RGB")).copy()
    except (OSError, SyntaxError, ValueError, EOFError) as e:  # truncated after the header
        raise ImageRejected("corrupt", str(e)[:80]) from e
