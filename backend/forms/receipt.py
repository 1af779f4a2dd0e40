"""Mẫu số 01, Thông tư 01/2018/TT-VPCP: Giấy tiếp nhận hồ sơ và hẹn trả kết quả."""

from __future__ import annotations

from .common import SIGN_HINT, start, submitter
from .data import FormData
from .dates import vn_datetime

TITLE = "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ"


def receipt_pdf(d: FormData) -> bytes:
    """Receipt and appointment (giấy tiếp nhận hồ sơ và hẹn trả kết quả)."""
    with start(d, TITLE) as pdf:
        pdf.field("Bộ phận tiếp nhận và trả kết quả", d.agency_name)
        submitter(pdf, d, "Tiếp nhận hồ sơ của")
        pdf.field("Nội dung yêu cầu giải quyết", d.procedure_name)
        pdf.paragraph("1. Thành phần hồ sơ nộp gồm:")
        if d.documents:
            pdf.gap(1)
            pdf.grid(
                ("TT", "Tên giấy tờ", "Số lượng"),
                [(str(n), name, f"{copies:02d} bản") for n, (name, copies) in enumerate(d.documents, start=1)],
                (10, 128, 32),
                "CLC",
                size=11,
            )
            pdf.gap(1)
        else:
            pdf.paragraph("(theo hồ sơ điện tử đã nộp)", indent=6)
        pdf.field("2. Số lượng hồ sơ", "01 (bộ)")
        pdf.field("3. Thời gian nhận hồ sơ", vn_datetime(d.received_at))
        pdf.field("4. Thời gian trả kết quả giải quyết hồ sơ", vn_datetime(d.appointment_at))
        pdf.signatures(
            ("NGƯỜI NỘP HỒ SƠ", SIGN_HINT, d.submitter_name),
            ("NGƯỜI TIẾP NHẬN HỒ SƠ", SIGN_HINT, d.officer_name),
        )
        return pdf.render()
