"""Dossier codes (mã hồ sơ), 002 Điều 20: ``<agency identifier>-<YYMMDD>-<NNNN>``.

The agency identifier has the shape V1V2V3.Z1Z2.Y1Y2.MX1X2 (e.g. ``000.00.21.H57``); the
sequence counts within one agency and day. Issuing the sequence is the storage's job (it
must be unique under concurrent submissions); this module formats and parses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

AGENCY_ID_RE = re.compile(r"^\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}$")
CODE_RE = re.compile(r"^(\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2})-(\d{6})-(\d{4})$")
# What a citizen may type: spaces, lower case, other dashes.
_LOOSE_RE = re.compile(r"(\d{3}\.\d{2}\.\d{2}\.[A-Za-z]\d{2})\s*[-–—_ ]\s*(\d{6})\s*[-–—_ ]\s*(\d{4})")


class CodeError(ValueError):
    """Not a dossier code."""


@dataclass(frozen=True)
class DossierCode:
    agency_id: str
    day: date
    sequence: int

    def __str__(self) -> str:
        return f"{self.agency_id}-{self.day:%y%m%d}-{self.sequence:04d}"


def validate_agency_id(agency_id: str) -> str:
    if not AGENCY_ID_RE.match(agency_id):
        raise CodeError(f"Mã cơ quan «{agency_id}» không đúng dạng V1V2V3.Z1Z2.Y1Y2.MX1X2")
    return agency_id


def format_code(agency_id: str, day: date, sequence: int) -> str:
    validate_agency_id(agency_id)
    if not 1 <= sequence <= 9999:
        raise CodeError("số thứ tự hồ sơ trong ngày vượt quá 9999")
    return str(DossierCode(agency_id, day, sequence))


def parse_code(text: str) -> DossierCode:
    m = CODE_RE.match(text.strip())
    if not m:
        raise CodeError(f"«{text}» không phải mã hồ sơ")
    agency, ymd, seq = m.groups()
    try:
        day = date(2000 + int(ymd[:2]), int(ymd[2:4]), int(ymd[4:]))
    except ValueError as exc:
        raise CodeError(f"«{text}» có ngày không hợp lệ") from exc
    return DossierCode(agency, day, int(seq))


def find_code(text: str) -> str | None:
    """The first dossier code in free text (typed or from a QR payload), normalised."""
    m = _LOOSE_RE.search(text or "")
    if not m:
        return None
    candidate = f"{m.group(1).upper()}-{m.group(2)}-{m.group(3)}"
    try:
        parse_code(candidate)
    except CodeError:
        return None
    return candidate
