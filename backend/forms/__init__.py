"""The paper forms of Circular 01/2018/TT-VPCP (biểu mẫu Một cửa) as A4 PDFs.

Pure: input is a ``FormData``, output the PDF bytes; no database, web or channel.
"""

from __future__ import annotations

from collections.abc import Callable

from .apology import apology_pdf
from .data import FormData, FormStep
from .fonts import FontsMissing, warm_up
from .process_control import process_control_sheet_pdf
from .qr import lookup_url, qr_png
from .receipt import receipt_pdf
from .refusal import refusal_pdf
from .supplement import supplement_request_pdf

FORMS: dict[str, Callable[[FormData], bytes]] = {
    "receipt": receipt_pdf,  # Mẫu 01
    "supplement_request": supplement_request_pdf,  # Mẫu 02
    "refusal": refusal_pdf,  # Mẫu 03
    "apology": apology_pdf,  # Mẫu 04
    "process_control": process_control_sheet_pdf,  # Mẫu 05
}

__all__ = [
    "FORMS",
    "FontsMissing",
    "FormData",
    "FormStep",
    "apology_pdf",
    "lookup_url",
    "process_control_sheet_pdf",
    "qr_png",
    "receipt_pdf",
    "refusal_pdf",
    "supplement_request_pdf",
    "warm_up",
]
