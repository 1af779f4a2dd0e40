"""Mẫu số 04, Thông tư 01/2018/TT-VPCP: Phiếu xin lỗi và hẹn lại ngày trả kết quả."""

from __future__ import annotations

from .common import start
from .data import FormData
from .dates import vn_datetime

TITLE = "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ"


def apology_pdf(d: FormData) -> bytes:
    """Apology and new appointment (phiếu xin lỗi), sent with an extension (004 Điều 12.8)."""
    with start(d, TITLE) as pdf:
        whom = f"{d.submitter_name} ({d.organisation})" if d.organisation else d.submitter_name
        pdf.write_runs([("", "Kính gửi: "), ("B", whom)], align="C")
        pdf.gap(2)
        pdf.paragraph(
            [
                ("", f"{d.agency_name} đã tiếp nhận giải quyết hồ sơ của ông/bà/tổ chức: "),
                ("B", whom),
            ],
            indent=8,
        )
        pdf.field("Nội dung yêu cầu giải quyết", d.procedure_name)
        pdf.field("Thời gian tiếp nhận hồ sơ", vn_datetime(d.received_at))
        pdf.field("Thời hạn trả kết quả đã hẹn", vn_datetime(d.appointment_at))
        pdf.gap(1)
        pdf.paragraph(
            f"Tuy nhiên đến nay, {d.agency_name} chưa trả kết quả giải quyết hồ sơ của ông/bà/tổ chức.",
            indent=8,
        )
        pdf.write_runs([("", "Lý do: "), ("B", d.reason or "...")], first=8)
        pdf.paragraph(
            [
                (
                    "",
                    f"Sự chậm trễ này đã gây phiền hà cho ông/bà/tổ chức. {d.agency_name} xin "
                    "lỗi ông/bà/tổ chức và sẽ trả kết quả giải quyết hồ sơ cho ông/bà/tổ chức vào ",
                ),
                ("B", vn_datetime(d.new_appointment_at)),
                ("", "."),
            ],
            indent=8,
        )
        pdf.paragraph("Xin trân trọng cảm ơn./.", indent=8)
        # Mẫu 04 is signed for the agency (thủ trưởng cơ quan) and stamped; the caller puts
        # the signer's name in officer_name.
        pdf.signatures(None, ("THỦ TRƯỞNG CƠ QUAN", "(Ký, ghi rõ họ tên và đóng dấu)", d.officer_name))
        return pdf.render()
