"""Birth certificate (giấy chứng sinh), old form and the form of Circular 22/2025/TT-BYT."""

from __future__ import annotations

import datetime as dt

from .. import normalise as N
from .. import vocab
from ..engine import Line
from . import Extracted
from .common import Label, event_date, read_labelled, text_after_keyword

FIELDS = ("mother_name", "mother_birth_year", "mother_id_number", "mother_residence",
          "ethnicity", "child_birth_datetime", "birth_place", "child_count", "child_sex",
          "child_weight_grams", "child_intended_name")

LABELS = (
    Label("mother_name", ("ho va ten me/nguoi nuoi duong", "ho va ten me", "ho ten me",
                          "ho, chu dem, ten cua me", "ho, chu dem va ten cua me")),
    Label("mother_birth_year", ("nam sinh",)),
    Label("mother_id_number", ("so cmnd/cccd/ho chieu", "so dinh danh ca nhan", "so cccd",
                               "so cmnd/cccd", "so giay to tuy than")),
    Label("mother_residence", ("noi dang ky thuong tru/tam tru", "noi cu tru",
                               "noi thuong tru", "noi dang ky thuong tru"), multiline=True),
    Label("ethnicity", ("dan toc",)),
    Label("child_birth_datetime", ("da sinh con vao luc", "sinh con vao luc", "sinh luc")),
    Label("birth_place", ("tai", "noi sinh"), at_start=True, multiline=True),
    Label("child_count", ("so con trong lan sinh", "so con sinh ra")),
    Label("child_sex", ("gioi tinh cua con", "gioi tinh")),
    Label("child_weight_grams", ("can nang", "trong luong")),
    Label("child_intended_name", ("du dinh dat ten con la", "du kien dat ten con",
                                  "du dinh dat ten con", "ten du kien")),
)


def _conf(ocr: float, norm: float) -> float:
    return 0.35 + 0.35 * ocr + 0.3 * norm if norm > 0 else 0.0


def extract(lines: list[Line], *, today: dt.date | None = None) -> Extracted:
    """Read the form's fields from OCR lines."""
    raw = read_labelled(lines, LABELS)
    if "birth_place" not in raw:     # 'Tại:' is short and easily lost: find the facility
        used = {r.line for r in raw.values()}
        hit = text_after_keyword(lines, ("benh vien", "trung tam y te", "tram y te",
                                         "nha ho sinh", "phong kham"),
                                 after="giay chung sinh", exclude=used)
        if hit is not None:
            raw["birth_place"] = hit
    out = Extracted()
    if (r := raw.get("mother_name")) and (v := N.parse_name(r.text)):
        out.put("mother_name", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("mother_birth_year")) and (v := N.parse_year(r.text, lo=1940, hi=2015)):
        out.put("mother_birth_year", v[0], _conf(r.conf, v[1]))
    born = out.fields.get("mother_birth_year")
    year = born if isinstance(born, int) else None
    if (r := raw.get("mother_id_number")) and (v := N.parse_id_number(r.text, born_year=year,
                                                                       sex="Nữ")):
        idn, fixed = N.repair_id(str(v[0]), born_year=year, sex="Nữ")
        out.put("mother_id_number", idn, _conf(r.conf, float(v[1])) * (0.9 if fixed else 1.0))
    if (r := raw.get("mother_residence")) and (v := N.parse_address(r.text)):
        out.put("mother_residence", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("ethnicity")) and (v := N.parse_choice(r.text, vocab.ETHNIC_GROUPS)):
        out.put("ethnicity", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("child_birth_datetime")) and (v := N.parse_datetime(r.text)):
        when, fixed = event_date(str(v[0]), r.conf, lines, today or dt.date.today())
        out.put("child_birth_datetime", when, _conf(r.conf, v[1]) * (0.85 if fixed else 1.0))
    if (r := raw.get("birth_place")) and (v := N.parse_place(r.text)):
        out.put("birth_place", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("child_count")) and (v := N.parse_int(r.text, lo=1, hi=9)):
        out.put("child_count", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("child_sex")) and (v := N.parse_sex(r.text)):
        out.put("child_sex", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("child_weight_grams")) and (v := N.parse_weight(r.text)):
        out.put("child_weight_grams", v[0], _conf(r.conf, v[1]))
    if (r := raw.get("child_intended_name")) and (v := N.parse_name(r.text)):
        out.put("child_intended_name", v[0], _conf(r.conf, v[1]))
    return out
