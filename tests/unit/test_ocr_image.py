"""Input checks: real images only, limits, EXIF orientation."""

import io

import numpy as np
import pytest
from PIL import Image

from bot.ocr import ImageRejected, check_image
from bot.ocr.image import load_rgb
from tests.ocr_docs.bad import pixel_bomb, truncated


def _jpeg(w: int = 200, h: int = 100, **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (200, 10, 10)).save(buf, "JPEG", **kw)
    return buf.getvalue()


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"%PDF-1.7 not an image at all", "not_image"),
    (b"\x89PNG\r\n\x1a\n" + b"\0" * 40, "not_image"),
])
def test_garbage_is_refused(data: bytes, reason: str) -> None:
    with pytest.raises(ImageRejected) as e:
        check_image(data)
    assert e.value.reason == reason


def test_size_limit() -> None:
    with pytest.raises(ImageRejected) as e:
        check_image(_jpeg(), max_bytes=100)
    assert e.value.reason == "too_large"


def test_decompression_bomb_is_refused_before_decoding() -> None:
    with pytest.raises(ImageRejected) as e:
        check_image(pixel_bomb())
    assert e.value.reason == "too_many_pixels"


def test_unsupported_format() -> None:
    buf = io.BytesIO()
    Image.new("RGB", (100, 100)).save(buf, "GIF")
    with pytest.raises(ImageRejected) as e:
        check_image(buf.getvalue())
    assert e.value.reason == "unsupported"


def test_truncated_jpeg_is_corrupt() -> None:
    rng = np.random.default_rng(1)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (400, 400, 3), dtype=np.uint8)).save(buf, "JPEG")
    with pytest.raises(ImageRejected) as e:
        load_rgb(truncated(buf.getvalue(), 0.5))
    assert e.value.reason == "corrupt"


def test_exif_orientation_is_applied() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6          # rotate 90° clockwise to display
    data = _jpeg(200, 100, exif=exif.tobytes())
    assert load_rgb(data).shape == (200, 100, 3)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "JPEG"])
def test_accepted_formats(fmt: str) -> None:
    buf = io.BytesIO()
    Image.new("RGBA" if fmt != "JPEG" else "RGB", (120, 90)).save(buf, fmt)
    check_image(buf.getvalue())
    assert load_rgb(buf.getvalue()).shape == (90, 120, 3)


def test_heic_when_pillow_heif_can_write_it() -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    buf = io.BytesIO()
    try:
        pillow_heif.from_pillow(Image.new("RGB", (128, 96), (0, 90, 0))).save(buf, quality=80)
    except (RuntimeError, ValueError, OSError) as e:  # no HEVC encoder in this build
        pytest.skip(f"no HEIC encoder: {e}")
    check_image(buf.getvalue())
    assert load_rgb(buf.getvalue()).shape == (96, 128, 3)
