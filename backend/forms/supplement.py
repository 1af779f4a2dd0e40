"""Mẫu số 02, Thông tư 01/2018/TT-VPCP: Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ."""

from __future__ import annotations

from .common import SIGN_HINT, start, submitter
from .data import FormData
from .dates import vn_datetime

TITLE = "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ"


def supplement_request_pdf(d: FormData) -> bytes:
    """Supplement request (phiếu yêu cầu bổ sung): everything missing, in one list."""
    with start(d, TITLE) as pdf:
        submitter(pdf, d, "Hồ sơ của")
        pdf.field("Nội dung yêu cầu giải quyết", d.procedure_name)
        if d.received_at is not None:
            pdf.field("Thời gian nộp hồ sơ", vn_datetime(d.received_at))
        pdf.gap(1)
        pdf.paragraph("Yêu cầu hoàn thiện hồ sơ gồm những nội dung sau:")
        pdf.numbered(d.missing_items)
        if d.reason:
            pdf.field("Lý do", d.reason)
        pdf.gap(1)
        # 004 Điều 12: the citizen is guided fully, once; the form names whom to ask.
        contact = d.officer_name or "Bộ phận tiếp nhận và trả kết quả"
        pdf.paragraph(
            f"Trong quá trình hoàn thiện hồ sơ nếu có vướng mắc, ông/bà liên hệ với {contact}, "
            f"{d.agency_name} để được hướng dẫn./.",
            indent=8,
        )
        pdf.signatures(None, ("NGƯỜI HƯỚNG DẪN", SIGN_HINT, d.officer_name))
        return pdf.render()
