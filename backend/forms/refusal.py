"""Mẫu số 03, Thông tư 01/2018/TT-VPCP: Phiếu từ chối tiếp nhận giải quyết hồ sơ."""

from __future__ import annotations

from .common import SIGN_HINT, start, submitter
from .data import FormData

TITLE = "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ"


def refusal_pdf(d: FormData) -> bytes:
    """Refusal (phiếu từ chối tiếp nhận giải quyết hồ sơ), stating the reason."""
    with start(d, TITLE) as pdf:
        pdf.field("Bộ phận tiếp nhận và trả kết quả", d.agency_name)
        submitter(pdf, d, "Tiếp nhận hồ sơ của")
        pdf.field("Nội dung yêu cầu giải quyết", d.procedure_name)
        pdf.gap(1)
        pdf.paragraph(
            f"Qua xem xét, {d.agency_name} thông báo không tiếp nhận, giải quyết hồ sơ này với lý do cụ thể như sau:",
            indent=8,
        )
        pdf.write_runs([("B", d.reason or "...")], first=8, rest=8)
        pdf.gap(1)
        pdf.paragraph("Xin thông báo để ông/bà được biết và thực hiện./.", indent=8)
        pdf.signatures(None, ("NGƯỜI TIẾP NHẬN HỒ SƠ", SIGN_HINT, d.officer_name))
        return pdf.render()
