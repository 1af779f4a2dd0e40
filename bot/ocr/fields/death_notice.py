"""Death notice (giấy báo tử) of a hospital or a commune."""

from __future__ import annotations

import datetime as dt

from .. import normalise as N
from .. import vocab
from ..engine import Line
from . import Extracted
from .common import Label, event_date, read_labelled

FIELDS = ("full_name", "sex", "date_of_birth", "ethnicity", "nationality", "id_number",
          "place_of_residence", "death_datetime", "death_place", "cause_of_death")

LABELS = (
    Label("full_name", ("ho, chu dem, ten", "ho va ten nguoi chet", "ho va ten", "ho ten")),
    Label("sex", ("gioi tinh",)),
    Label("date_of_birth", ("ngay, thang, nam sinh", "ngay thang nam sinh", "ngay sinh")),
    Label("ethnicity", ("dan toc",)),
    Label("nationality", ("quoc tich",)),
    Label("id_number", ("so dinh danh ca nhan", "so cmnd/cccd", "so cccd", "so cmnd")),
    Label("place_of_residence", ("noi cu tru", "noi thuong tru/tam tru", "noi thuong tru"),
          multiline=True),
    Label("death_datetime", ("da chet vao luc", "chet vao luc", "thoi gian chet")),
    Label("death_place", ("noi chet",), multiline=True),
    Label("cause_of_death", ("nguyen nhan chet", "nguyen nhan tu vong")),
)


def _conf(ocr: float, norm: float) -> float:
    return 0.35 + 0.35 * ocr + 0.3 * norm if norm > 0 else 0.0


def extract(lines: list[Line], *, today: dt.date | None = None) -> Extracted:
    """Read the notice's fields; birth must come before death."""
    raw = read_labelled(lines, LABELS)
    out = Extracted()
    if (r := raw.get("full_name")) and (v := N.parse_name(r.text)):
        out.put("full_name", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("sex")) and (v := N.parse_sex(r.text)):
        out.put("sex", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("date_of_birth")) and (v := N.parse_date(r.text, lo=1900, hi=2030)):
        out.put("date_of_birth", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("ethnicity")) and (v := N.parse_choice(r.text, vocab.ETHNIC_GROUPS)):
        out.put("ethnicity", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("nationality")) and (v := N.parse_nationality(r.text)):
        out.put("nationality", v[0], _conf(r.conf, v[1]))
    dob = out.fields.get("date_of_birth")
    sex = out.fields.get("sex")
    born = int(str(dob)[:4]) if dob else None
    who = sex if isinstance(sex, str) else None
    if (r := raw.get("id_number")) and (v := N.parse_id_number(r.text, born_year=born,
                                                                sex=who)):
        idn, fixed = N.repair_id(str(v[0]), born_year=born, sex=who)
        out.put("id_number", idn, _conf(r.conf, float(v[1])) * (0.9 if fixed else 1.0))
    if (r := raw.get("place_of_residence")) and (v := N.parse_address(r.text)):
        out.put("place_of_residence", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("death_datetime")) and (v := N.parse_datetime(r.text)):
        when, fixed = event_date(str(v[0]), r.conf, lines, today or dt.date.today())
        out.put("death_datetime", when, _conf(r.conf, v[1]) * (0.85 if fixed else 1.0))
    if (r := raw.get("death_place")) and (v := N.parse_place(r.text)):
        out.put("death_place", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("cause_of_death")) and (v := N.parse_choice(
            r.text, vocab.CAUSES_OF_DEATH, cutoff=75)):
        out.put("cause_of_death", v[0], _conf(r.conf, v[1]))
    elif r is not None and r.text:
        out.put("cause_of_death", N.fix_free_text(r.text)[0], _conf(r.conf, 0.4))
    if "death_datetime" in out.fields and "date_of_birth" in out.fields and \
            str(out.fields["date_of_birth"]) > str(out.fields["death_datetime"])[:10]:
        out.confidence["date_of_birth"] = min(out.confidence["date_of_birth"], 0.2)
        out.confidence["death_datetime"] = min(out.confidence["death_datetime"], 0.2)
    return out
