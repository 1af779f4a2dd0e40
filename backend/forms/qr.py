"""The QR code (mã QR) on every form: it opens the public status lookup for the dossier."""

from __future__ import annotations

from functools import lru_cache
from io import BytesIO
from urllib.parse import quote

import qrcode  # type: ignore[import-untyped]
from qrcode.constants import ERROR_CORRECT_M  # type: ignore[import-untyped]


def lookup_url(base_url: str, code: str) -> str:
    """Public lookup address (tra cứu hồ sơ) for a dossier code."""
    return f"{base_url.rstrip('/')}/tra-cuu?ma={quote(code, safe='')}"


# The forms of one dossier share one URL; choosing the best mask costs ~6 ms per code.
@lru_cache(maxsize=256)
def qr_png(url: str) -> bytes:
    """A black-on-white PNG QR code of ``url``, with the quiet zone scanners need."""
    # Level M survives a crease or a stamp across the code on a printed form; the 4-module
    # border is the quiet zone ISO/IEC 18004 requires for reliable scanning.
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=8, border=4)
    qr.add_data(url)
    qr.make(fit=True)
    out = BytesIO()
    qr.make_image().save(out, format="PNG")
    return out.getvalue()
