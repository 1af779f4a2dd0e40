"""The e-form's answers: what to ask next, the buttons offered, checking typed values.

Pure functions over the catalogue's ``FormField`` and the form data; the submit steps use
them. Values are stored as the OCR contract writes them: dates ``YYYY-MM-DD``, date-times
``YYYY-MM-DDTHH:MM``, numbers as integers.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import Any

from backend.domain import validation
from backend.domain.catalogue import FormField, Procedure
from backend.domain.text import clean_text
from bot import texts
from bot.handlers.base import ChatError

SUGGESTIONS = {"nationality": ("Việt Nam",), "ethnicity": ("Kinh",)}  # by key suffix
UNSURE_BELOW = 0.75  # OCR confidence under which the citizen is asked to confirm


def fold(s: str) -> str:
    """Lower case without diacritics, for matching what people type."""
    s = unicodedata.normalize("NFD", s.casefold()).replace("đ", "d")
    return " ".join("".join(c for c in s if unicodedata.category(c) != "Mn").split())


def is_needed(f: FormField, data: dict[str, Any]) -> bool:
    return f.required or (f.required_if is not None
                          and all(data.get(k) == v for k, v in f.required_if.items()))


def _group_off(f: FormField, proc: Procedure, data: dict[str, Any]) -> bool:
    """An optional field of a group whose conditional fields are not needed (e.g. the
    father's residence when the parents are not married): not worth asking."""
    prefix = f.key.split("_", 1)[0] + "_"
    conditional = [g for g in proc.form if g.key.startswith(prefix) and g.required_if]
    return bool(conditional) and not any(is_needed(g, data) for g in conditional)


def next_field(proc: Procedure, state: dict[str, Any]) -> FormField | None:
    """The next question: a missing required field, an uncertain OCR reading, then the
    optional fields OCR cannot fill, each asked once."""
    form, unsure, skipped = state.get("form", {}), state.get("unsure", []), state.get("skipped", [])
    for f in proc.form:
        value = form.get(f.key)
        if value in (None, ""):
            if f.key in skipped:
                continue
            if is_needed(f, form):
                return f
            if not f.source and f.question and not _group_off(f, proc, form):
                return f
        elif f.key in unsure:
            return f
    return None


def options(f: FormField, form: dict[str, Any]) -> list[str]:
    """The fixed answers offered as buttons for a field."""
    if f.type == "choice":
        return list(f.choices)
    if f.type == "text":
        suffix = f.key.rsplit("_", 1)[-1]
        if suffix in SUGGESTIONS:
            return list(SUGGESTIONS[suffix])
        if suffix == "residence":  # the same address as another person in the form
            seen = [str(v) for k, v in form.items() if k.endswith("_residence") and k != f.key and v]
            return list(dict.fromkeys(seen))[:2]
    return []


def parse(f: FormField, raw: str, today: date) -> Any:
    """Check a typed answer and return the stored value; ``ChatError`` says what is wrong."""
    raw = unicodedata.normalize("NFC", raw.strip())
    if not raw or (len(raw) > 200 and kind_of(f) not in ("name", "address")):  # those say their own limit
        raise ChatError(texts.BAD_TEXT)
    if f.type == "date":
        d = _date(raw)
        if d is None:
            raise ChatError(texts.BAD_DATE)
        if d > today:
            raise ChatError(texts.FUTURE_DATE)
        return d.isoformat()
    if f.type == "datetime":
        dt = _datetime(raw)
        if dt is None:
            raise ChatError(texts.BAD_DATETIME)
        if dt.date() > today:
            raise ChatError(texts.FUTURE_DATE)
        return dt.strftime("%Y-%m-%dT%H:%M")
    if f.type == "number":
        digits = raw.replace(".", "").replace(" ", "")
        if not digits.isdigit():
            raise ChatError(texts.BAD_NUMBER)
        n = int(digits)
        if f.key.endswith("_year") and not 1900 <= n <= today.year:
            raise ChatError(texts.BAD_YEAR)
        return n
    if f.type in ("id_number", "phone") or kind_of(f) in ("name", "address"):
        try:
            return _CHECKS[kind_of(f)](raw)
        except validation.InvalidValue as exc:
            raise ChatError(_why(f, exc.reason)) from None
    if f.type == "choice":
        for i, choice in enumerate(f.choices, 1):
            if fold(raw) in (fold(choice), str(i)):
                return choice
        raise ChatError(texts.BAD_CHOICE)
    if f.type == "bool":
        if fold(raw) in ("co", "dung", "yes"):
            return True
        if fold(raw) in ("khong", "no"):
            return False
        raise ChatError(texts.BAD_CHOICE)
    return " ".join(raw.split())


_DATE_RE = re.compile(r"(\d{1,2})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{4})")
_ISO_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_TIME_RE = re.compile(r"(\d{1,2})\s*(?::|h|giờ|g)\s*(\d{1,2})?")


def _date(raw: str) -> date | None:
    m = _DATE_RE.search(raw)
    try:
        if m:
            return date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
        m = _ISO_RE.search(raw)
        if m:
            return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None
    return None


def _datetime(raw: str) -> datetime | None:
    d = _date(raw)
    if d is None:
        return None
    rest = _DATE_RE.sub(" ", raw) if _DATE_RE.search(raw) else _ISO_RE.sub(" ", raw)
    m = _TIME_RE.search(rest)
    if not m:
        return None
    hour, minute = int(m.group(1)), int(m.group(2) or 0)
    if hour > 23 or minute > 59:
        return None
    return datetime(d.year, d.month, d.day, hour, minute)


# A text field's key says what it holds: a person's name, an address or a place.
_ADDRESS_SUFFIXES = ("residence", "address", "place", "hometown")
_CHECKS = {"id_number": validation.id_number, "phone": validation.phone,
           "name": validation.person_name, "address": validation.address}


def kind_of(f: FormField) -> str:
    """What a field holds: its type, or for text "name", "address" or "text"."""
    if f.type != "text":
        return f.type
    suffix = f.key.rsplit("_", 1)[-1]
    if suffix == "name" and not f.key.startswith("business_"):  # a business's name is not a person's
        return "name"
    return "address" if suffix in _ADDRESS_SUFFIXES else "text"


def _why(f: FormField, reason: str) -> str:
    if reason == "id_number":
        return texts.BAD_ID
    if reason == "phone":
        return texts.BAD_PHONE
    table = texts.BAD_NAME if kind_of(f) == "name" else texts.BAD_ADDRESS
    return table.get(reason, table["symbols"])


def valid(f: FormField, value: Any) -> bool:
    """Whether a value (from OCR, say) passes the field's check."""
    if kind_of(f) not in _CHECKS:
        return True
    try:
        _CHECKS[kind_of(f)](str(value))
    except validation.InvalidValue:
        return False
    return True


def shown(f: FormField, value: Any) -> str:
    """A stored value as a citizen reads it."""
    if value in (None, ""):
        return "(chưa có)"
    s = str(value)
    try:
        if f.type == "date":
            return date.fromisoformat(s).strftime("%d/%m/%Y")
        if f.type == "datetime":
            return datetime.fromisoformat(s).strftime("%H:%M %d/%m/%Y")
    except ValueError:
        return s
    return s


def from_ocr(f: FormField, value: Any) -> Any:
    """An OCR value in the form's type (OCR writes numbers as integers already); None when
    it fails the field's check, so the citizen is asked instead of it being filed."""
    if isinstance(value, str):
        value = clean_text(value, multiline=False, limit=300).strip()
        if kind_of(f) in _CHECKS:
            try:
                return _CHECKS[kind_of(f)](value)
            except validation.InvalidValue:
                return None
    if f.type == "number" and isinstance(value, str) and value.isdigit():
        return int(value)
    if f.type == "choice" and isinstance(value, str):
        for c in f.choices:
            if fold(c) == fold(value):
                return c
    return value
