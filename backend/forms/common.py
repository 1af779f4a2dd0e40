"""Lines several forms share: the submitter's particulars and the signature hints."""

from __future__ import annotations

from .data import FormData
from .dates import vn_date
from .layout import FormPdf, new_form

SIGN_HINT = "(Ký và ghi rõ họ tên)"


def start(d: FormData, title: str, subtitle: str = "") -> FormPdf:
    """National header, the form's title, then the dossier code with its QR."""
    pdf = new_form(d.code, d.agency_parent, d.agency_name, d.place, vn_date(d.issued_at))
    try:
        # Document properties: viewers show the title; a fixed date keeps output reproducible.
        pdf.set_title(f"{title.capitalize()} - {d.code}")
        pdf.set_author(d.agency_name)
        pdf.set_lang("vi")
        if d.issued_at is not None:
            pdf.set_creation_date(d.issued_at)
        pdf.form_title(title, subtitle)
        pdf.code_block(d.code, d.lookup_base_url)
    except BaseException:
        pdf.close_fonts()
        raise
    return pdf


def submitter(pdf: FormPdf, d: FormData, label: str) -> None:
    """Who submitted (người nộp hồ sơ), then only the particulars that are known."""
    pdf.field(label, d.submitter_name)
    for name, value in (
        ("Tổ chức", d.organisation),
        ("Địa chỉ", d.submitter_address),
        ("Số điện thoại", d.submitter_phone),
    ):
        if value:
            pdf.field(name, value)
