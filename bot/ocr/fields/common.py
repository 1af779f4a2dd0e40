"""Label-anchored reading of fields (đọc theo nhãn): find printed labels in OCR lines, with or
without diacritics, and take the text after them, on the next line, or over several lines."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz

from ..engine import Line
from ..vocab import fold

Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class Label:
    """A printed label of a field; patterns are folded (no diacritics, lower case)."""

    field: str
    patterns: tuple[str, ...]
    below: bool = False        # the value may sit on the next line (ID card)
    multiline: bool = False    # the value may wrap onto following lines (addresses)
    at_start: bool = False     # short label: only at the start of a line


@dataclass(frozen=True)
class Raw:
    """Raw text read for a field, with the OCR confidence of its words."""

    text: str
    conf: float
    line: int


@dataclass(frozen=True)
class _Hit:
    label: Label
    start: int
    end: int
    score: float


STOP_WORDS = ("tay ninh, ngay", "nguoi do de", "nguoi lap", "thu truong", "(ky", "ky, ghi",
              "xac nhan", "ngay thang nam")


def _find(label: Label, text: str) -> _Hit | None:
    best: _Hit | None = None
    pats = label.patterns + tuple(p.replace(" ", "") for p in label.patterns
                                  if " " in p and "/" not in p)   # 'Họvàtên': spaces lost
    for pat in pats:
        if len(text) < 2:
            continue
        if len(pat) > len(text) + 2:
            continue
        al = fuzz.partial_ratio_alignment(pat, text, score_cutoff=0)
        if al is None:
            continue
        need = 90 if len(pat) <= 6 else 84
        if al.score < need:
            continue
        if label.at_start and al.dest_start > 4:
            continue
        hit = _Hit(label, al.dest_start, al.dest_end, al.score * len(pat) / 100)
        if best is None or hit.score > best.score:
            best = hit
    return best


def _hits(text: str, labels: tuple[Label, ...]) -> list[_Hit]:
    cands = [h for lab in labels if (h := _find(lab, text)) is not None]
    cands.sort(key=lambda h: -h.score)
    chosen: list[_Hit] = []
    for h in cands:
        if all(h.end <= c.start or h.start >= c.end for c in chosen) and \
                all(c.label.field != h.label.field for c in chosen):
            chosen.append(h)
    return sorted(chosen, key=lambda h: h.start)




def _is_text(c: str) -> bool:
    return c.isalnum() and unicodedata.category(c) != "Lm"   # 'ˆ' is a modifier letter


def clean(value: str) -> str:
    """Strip leader dots and punctuation around a value."""
    v = re.sub(r"\.{2,}|…+|(?:\s\.){2,}", " ", value)
    i, j = 0, len(v)
    while i < j and not _is_text(v[i]):
        i += 1
    while j > i and not _is_text(v[j - 1]):
        j -= 1
    return re.sub(r"\s+", " ", v[i:j]).strip()


def _span_conf(line: Line, start: int, end: int) -> float:
    pos, confs = 0, []
    for w in line.words:
        ws, we = pos, pos + len(w.text)
        if we > start and ws < end:
            confs.append(w.conf)
        pos = we + 1
    return sum(confs) / len(confs) if confs else 0.0


def read_labelled(lines: list[Line], labels: tuple[Label, ...]) -> dict[str, Raw]:
    """Map each field to the raw text after its label (first occurrence wins)."""
    folded = [fold(ln.text) for ln in lines]
    hits = [_hits(t, labels) for t in folded]
    out: dict[str, Raw] = {}
    for i, (line, line_hits) in enumerate(zip(lines, hits, strict=True)):
        for j, h in enumerate(line_hits):
            if h.label.field in out:
                continue
            end = line_hits[j + 1].start if j + 1 < len(line_hits) else len(line.text)
            start = h.end
            colon = line.text.find(":", start, min(end, start + 4))
            if colon >= 0:        # the label's tail OCR'd differently: cut at its colon
                start = colon + 1
            raw_value = line.text[start:end]
            value = clean(raw_value)
            conf = _span_conf(line, start, end)
            used = i
            if j + 1 == len(line_hits):
                # the rest of the row: after erased leaders, or cut at a wide space
                for k in _row_rest(lines, i, hits):
                    raw_value = lines[k].text
                    value = f"{value} {clean(raw_value)}".strip()
                    conf = min(conf, lines[k].conf) if conf else lines[k].conf
                    used = k
            if (h.label.below and len(value) < 3) or h.label.multiline:
                anchor = line.box[0]
                ref = _union(line.box, lines[used].box)
                for _ in range(3 if h.label.multiline else 1):
                    nxt = below(lines, ref, anchor)
                    if nxt is None or hits[nxt] or any(s in folded[nxt] for s in STOP_WORDS):
                        break
                    k = nxt
                    extra = clean(lines[k].text)
                    for r in _row_rest(lines, k, hits):   # the row may be cut in segments
                        extra = f"{extra} {clean(lines[r].text)}".strip()
                    if extra:
                        sep = ", " if raw_value.rstrip(" .-_'`").endswith(",") else " "
                        value = f"{value}{sep}{extra}" if value else extra
                        raw_value = lines[k].text
                        conf = min(conf, lines[k].conf) if conf else lines[k].conf
                        used = k
                    ref = lines[k].box
            out[h.label.field] = Raw(value, conf, used)
    return out


def signed_date(lines: list[Line]) -> tuple[str, float] | None:
    """The date the paper was signed ('Tây Ninh, ngày 05 tháng 06 năm 2025'), ISO, and the
    OCR confidence of its year."""
    from ..normalise import parse_date

    for ln in reversed(lines):
        f = fold(ln.text)
        if "thang" in f and "ngay" in f and "gio" not in f and "phut" not in f:
            got = parse_date(ln.text[f.find("ngay"):], lo=1990, hi=2100)
            if got is not None:
                year = [w.conf for w in ln.words if str(got[0])[:4] in w.text]
                return str(got[0]), (year[0] if year else ln.conf)
    return None


def agree_with_signature(event: str, signed: str | None) -> tuple[str, bool]:
    """A birth or death is recorded on the day or within the year after: when the event falls
    outside that window and its year differs from the signing year by one misread digit,
    take the signing year. The signing date must itself be checked first (not_in_future)."""
    if signed is None or event[:4] == signed[:4]:
        return event, False
    year_before = f"{int(signed[:4]) - 1}{signed[4:10]}"
    if year_before <= event[:10] <= signed:
        return event, False
    candidate = signed[:4] + event[4:]
    diff = sum(a != b for a, b in zip(event[:4], signed[:4], strict=True))
    if diff == 1 and year_before <= candidate[:10] <= signed:
        return candidate, True
    return event, False


def event_date(event: str, conf: float, lines: list[Line], today: dt.date
               ) -> tuple[str, bool]:
    """Check an event's date-time (read with confidence `conf`) against today and against
    the paper's signing date when that was read more surely."""
    when, fixed = not_in_future(event, today)
    if fixed:
        return when, fixed
    signed = signed_date(lines)
    if signed is None or signed[0] > today.isoformat() or signed[1] <= conf:
        return when, False
    return agree_with_signature(when, signed[0])


def not_in_future(event: str, today: dt.date) -> tuple[str, bool]:
    """A birth or death on a paper in hand has happened: a year in the future is a misread
    digit; fix it when exactly one one-digit change lands in the last five years."""
    if event[:10] <= today.isoformat():
        return event, False
    year = event[:4]
    options = {f"{year[:i]}{d}{year[i + 1:]}" for i in range(4) for d in "0123456789"}
    options = {y for y in options
               if str(today.year - 5) <= y and f"{y}{event[4:10]}" <= today.isoformat()}
    if len(options) == 1:
        return options.pop() + event[4:], True
    return event, False


def text_after_keyword(lines: list[Line], keywords: tuple[str, ...], *, after: str,
                       exclude: set[int] | None = None) -> Raw | None:
    """Fallback when a label was lost: the first line below the title `after` that contains
    one of `keywords` (folded), from that keyword on."""
    start = 0
    for i, ln in enumerate(lines):
        if fuzz.partial_ratio(after, fold(ln.text)) >= 85:
            start = i + 1
            break
    for i in range(start, len(lines)):
        if exclude and i in exclude:
            continue
        f = fold(lines[i].text)
        for kw in keywords:
            pos = f.find(kw)
            if pos >= 0:
                return Raw(clean(lines[i].text[pos:]), lines[i].conf, i)
    return None


def right_of(lines: list[Line], i: int) -> int | None:
    """The next segment on the same row (leaders erased leave a gap before the value)."""
    x0, y0, x1, y1 = lines[i].box
    height = max(1, y1 - y0)
    best: tuple[int, int] | None = None
    for k, ln in enumerate(lines):
        a0, b0, a1, b1 = ln.box
        overlap = min(y1, b1) - max(y0, b0)
        if k == i or a0 < x1 - height or a0 > x1 + 5 * height or \
                overlap < 0.5 * min(height, b1 - b0):
            continue
        if best is None or a0 < best[0]:
            best = (a0, k)
    return None if best is None else best[1]


def _row_rest(lines: list[Line], k: int, hits: list[list[_Hit]]) -> list[int]:
    """Segments right of line k on its row, up to the next label."""
    out: list[int] = []
    cur = k
    while (r := right_of(lines, cur)) is not None and not hits[r] and r not in out:
        out.append(r)
        cur = r
    return out


def _union(a: Box, b: Box) -> Box:
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def below(lines: list[Line], ref: Box, anchor: int | None = None) -> int | None:
    """The line just under `ref` that overlaps it horizontally (the value's next row) and,
    given the label's left edge `anchor`, starts near it (a wrapped value, not the value of
    the next row's label)."""
    x0, y0, x1, y1 = ref
    height = max(1, min(ln.box[3] - ln.box[1] for ln in lines) if lines else 1)
    height = max(height, min(y1 - y0, 60))
    best: tuple[int, int] | None = None
    for k, ln in enumerate(lines):
        a0, b0, a1, b1 = ln.box
        if b0 <= y1 - 0.5 * height or b0 > y1 + 1.5 * height:
            continue
        if a1 < x0 or a0 > x1:
            continue
        if anchor is not None and abs(a0 - anchor) > 3 * height:
            continue
        if best is None or b0 < best[0]:
            best = (b0, k)
    return None if best is None else best[1]


def find_pattern(lines: list[Line], pattern: re.Pattern[str]) -> list[tuple[str, float, int]]:
    """Every match of a regex over the lines, with the line's confidence."""
    return [(m.group(0), ln.conf, i) for i, ln in enumerate(lines)
            for m in pattern.finditer(ln.text)]
