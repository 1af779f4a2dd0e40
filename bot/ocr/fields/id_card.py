"""ID card front (CCCD gắn chip 2021, CCCD 2016, căn cước 2024): labels in Vietnamese and
English; exact values from the QR code when it could be read."""

from __future__ import annotations

import datetime as dt
import re

from .. import normalise as N
from ..engine import Line
from ..qr import CardQr
from . import Extracted
from .common import Label, read_labelled

FIELDS = ("id_number", "full_name", "date_of_birth", "sex", "nationality", "place_of_origin",
          "place_of_residence", "date_of_expiry")

LABELS = (
    Label("id_number", ("so / no", "so/no", "so dinh danh ca nhan",
                        "personal identification number"), at_start=False),
    Label("full_name", ("ho va ten / full name", "ho va ten", "full name",
                        "ho, chu dem va ten khai sinh"), below=True),
    Label("date_of_birth", ("ngay sinh / date of birth", "ngay, thang, nam sinh",
                            "date of birth", "ngay sinh")),
    Label("sex", ("gioi tinh / sex", "gioi tinh")),
    Label("nationality", ("quoc tich / nationality", "quoc tich", "nationality")),
    Label("place_of_origin", ("que quan / place of origin", "que quan", "place of origin"),
          below=True),
    Label("place_of_residence", ("noi thuong tru / place of residence", "noi thuong tru",
                                 "noi cu tru / place of residence", "place of residence"),
          multiline=True),
    Label("date_of_expiry", ("co gia tri den", "date of expiry", "ngay, thang, nam het han"),
          below=True),
)

_ID_RE = re.compile(r"(?<![\dA-Za-z])[0-9OoQDIlSZB][0-9OoQDIlSZB\s]{9,16}[0-9OoQDIlSZB]")
_DATE_RE = re.compile(r"[0-9OoQIl]{1,2}\s*[/.-]\s*[0-9OoQIl]{1,2}\s*[/.-]\s*[0-9OoQIl]{4}")


def _conf(ocr: float, norm: float) -> float:
    return 0.35 + 0.35 * ocr + 0.3 * norm if norm > 0 else 0.0


def extract(lines: list[Line], qr: CardQr | None) -> Extracted:
    """Read the card's fields from OCR lines, preferring the QR's exact values."""
    raw = read_labelled(lines, LABELS)
    out = Extracted()
    # date of birth first: the ID number and the expiry are checked against it
    if (r := raw.get("date_of_birth")) and (v := N.parse_date(r.text, lo=1900, hi=2030)):
        out.put("date_of_birth", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("sex")) and (v := N.parse_sex(r.text)):
        out.put("sex", v[0], _conf(r.conf, v[1]))
    born = int(str(out.fields["date_of_birth"])[:4]) if "date_of_birth" in out.fields else None
    sex = out.fields.get("sex")
    _id_number(lines, raw, out, born, sex if isinstance(sex, str) else None)
    if (r := raw.get("full_name")) and (v := N.parse_name(r.text)):
        out.put("full_name", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("nationality")) and (v := N.parse_nationality(r.text)):
        out.put("nationality", v[0], _conf(r.conf, v[1]))
    for name in ("place_of_origin", "place_of_residence"):
        if (r := raw.get(name)) and (v := N.parse_address(r.text)):
            out.put(name, v[0], _conf(r.conf, v[1]))
    _expiry(lines, raw, out)
    if qr is not None:
        _apply_qr(out, qr)
    return out


def _id_number(lines: list[Line], raw: dict, out: Extracted, born: int | None,
               sex: str | None) -> None:
    cands: list[tuple[str, float]] = []
    if (r := raw.get("id_number")) is not None:
        cands.append((r.text, r.conf))
    for ln in lines:
        for m in _ID_RE.finditer(ln.text):
            cands.append((m.group(0), ln.conf))
    best = None
    for text, conf in cands:
        v = N.parse_id_number(text, born_year=born, sex=sex)
        if v is not None and (best is None or v[1] + 0.1 * conf > best[1] + 0.1 * best[2]):
            best = (v[0], v[1], conf)
    if best is not None:
        idn, fixed = N.repair_id(str(best[0]), born_year=born, sex=sex)
        out.put("id_number", idn, _conf(best[2], float(best[1])) * (0.9 if fixed else 1.0))


def _expiry(lines: list[Line], raw: dict, out: Extracted) -> None:
    """Có giá trị đến: a date on the label line or just below; checked against the rule that
    a card expires on the holder's 25th, 40th or 60th birthday."""
    r = raw.get("date_of_expiry")
    cands: list[tuple[str, float]] = []
    if r is not None:
        cands.append((r.text, r.conf))
        for ln in lines[r.line:r.line + 4]:
            cands.extend((m.group(0), ln.conf) for m in _DATE_RE.finditer(ln.text))
    value: tuple[str, float, float] | None = None
    for text, conf in cands:
        v = N.parse_date(text, lo=2015, hi=2100)
        if v is not None:
            value = (str(v[0]), v[1], conf)
            break
    dob = out.fields.get("date_of_birth")
    if isinstance(dob, str):
        born = dt.date.fromisoformat(dob)
        options = [_birthday(born, a) for a in (25, 40, 60)]
        if value is not None:
            got = dt.date.fromisoformat(value[0])
            if got in options:
                out.put("date_of_expiry", value[0], _conf(value[2], 1.0))
                return
            near = [o for o in options if _digit_diff(o.isoformat(), value[0]) <= 1]
            if near:
                # one digit disagrees: in the year, trust the rule; in day or month, trust
                # whichever of the two dates was read more surely
                exp_conf = _conf(value[2], value[1])
                if near[0].year == got.year and exp_conf > out.confidence["date_of_birth"]:
                    try:
                        fixed = born.replace(month=got.month, day=got.day)
                    except ValueError:
                        fixed = None
                    if fixed is not None:
                        out.put("date_of_birth", fixed.isoformat(),
                                min(exp_conf, out.confidence["date_of_birth"] + 0.1))
                        out.put("date_of_expiry", value[0], exp_conf)
                        return
                out.put("date_of_expiry", near[0].isoformat(), _conf(value[2], 0.7))
                return
    if value is not None:
        out.put("date_of_expiry", value[0], _conf(value[2], value[1]) * 0.8)


def _digit_diff(a: str, b: str) -> int:
    return sum(x != y for x, y in zip(a, b, strict=False)) + abs(len(a) - len(b))


def _birthday(born: dt.date, age: int) -> dt.date:
    try:
        return born.replace(year=born.year + age)
    except ValueError:
        return born.replace(year=born.year + age, day=28)


def _apply_qr(out: Extracted, qr: CardQr) -> None:
    """The QR holds the exact values (mã QR): they win over OCR."""
    out.put("id_number", qr.id_number, 0.99)
    if qr.full_name:
        out.put("full_name", " ".join(N.title(w) for w in qr.full_name.split()), 0.99)
    if qr.date_of_birth:
        out.put("date_of_birth", qr.date_of_birth, 0.99)
    if qr.sex:
        out.put("sex", qr.sex, 0.99)
    if qr.address:
        out.put("place_of_residence", qr.address, 0.99)
    if qr.issue_date and qr.date_of_birth:
        born = dt.date.fromisoformat(qr.date_of_birth)
        issued = dt.date.fromisoformat(qr.issue_date)
        for age in (25, 40, 60):
            b = _birthday(born, age)
            if issued < b - dt.timedelta(days=730):
                cur = out.fields.get("date_of_expiry")
                if cur != b.isoformat():
                    out.put("date_of_expiry", b.isoformat(), 0.85)
                break
