"""Mẫu số 05, Thông tư 01/2018/TT-VPCP: Phiếu kiểm soát quá trình giải quyết hồ sơ."""

from __future__ import annotations

from .common import start
from .data import FormData, FormStep
from .dates import vn_datetime

TITLE = "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ"
SUBTITLE = "(Kèm theo Giấy tiếp nhận hồ sơ và hẹn trả kết quả)"
HEADINGS = (
    "TT",
    "BÊN GIAO / BÊN NHẬN HỒ SƠ",
    "THỜI GIAN GIAO, NHẬN HỒ SƠ",
    "KẾT QUẢ GIẢI QUYẾT HỒ SƠ",
    "GHI CHÚ",
)
WIDTHS = (9, 42, 46, 45, 28)
BLANK_ROWS = [("", "", "", "", "")] * 4


def _row(n: int, step: FormStep) -> tuple[str, ...]:
    return (str(n), f"{step.role}\n{step.actor}", vn_datetime(step.at), step.action, step.note)


def process_control_sheet_pdf(d: FormData) -> bytes:
    """Process control sheet (phiếu kiểm soát): who handed the dossier to whom, when."""
    with start(d, TITLE, SUBTITLE) as pdf:
        pdf.field("Cơ quan giải quyết hồ sơ", d.agency_name)
        pdf.field("Người nộp hồ sơ", d.submitter_name)
        if d.organisation:
            pdf.field("Tổ chức", d.organisation)
        pdf.field("Nội dung yêu cầu giải quyết", d.procedure_name)
        pdf.field("Thời gian nhận hồ sơ", vn_datetime(d.received_at))
        pdf.field("Thời gian hẹn trả kết quả", vn_datetime(d.appointment_at))
        pdf.gap(3)
        rows = [_row(n, s) for n, s in enumerate(d.steps, start=1)]
        # No steps yet: tall empty rows to fill in by hand, as on the paper form.
        pdf.grid(HEADINGS, rows or BLANK_ROWS, WIDTHS, "CLLLL", min_lines=1 if rows else 4)
        return pdf.render()
