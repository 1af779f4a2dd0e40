"""What a paper form (biểu mẫu, Thông tư 01/2018/TT-VPCP) prints: plain data, no storage."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FormStep:
    """One row of the process control sheet (phiếu kiểm soát quá trình giải quyết hồ sơ)."""

    at: datetime
    actor: str
    role: str
    action: str
    note: str = ""


@dataclass(frozen=True)
class FormData:
    """Everything any of the five forms may print about one dossier (hồ sơ)."""

    code: str  # mã hồ sơ, e.g. "000.00.21.H57-261123-0001"
    agency_name: str  # e.g. "UBND xã Hòa Thành"
    agency_parent: str  # e.g. "UBND TỈNH TÂY NINH"
    procedure_name: str  # e.g. "Đăng ký khai sinh"
    submitter_name: str
    submitter_address: str = ""
    submitter_phone: str = ""
    organisation: str = ""
    officer_name: str = ""  # the one-stop officer signing the form
    received_at: datetime | None = None
    appointment_at: datetime | None = None
    new_appointment_at: datetime | None = None  # apology form
    documents: tuple[tuple[str, int], ...] = ()  # (document component, copies) on the receipt
    missing_items: tuple[str, ...] = ()  # supplement request: everything missing, one list
    reason: str = ""  # refusal reason / apology reason / supplement note
    steps: tuple[FormStep, ...] = ()  # process control sheet
    place: str = "Tây Ninh"
    issued_at: datetime | None = None
    lookup_base_url: str = "http://127.0.0.1:8080"
