"""A4 page layout shared by the forms: national header, title, code with QR, wrapped text."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from io import BytesIO

from fpdf import FPDF

from .fonts import font_files
from .qr import lookup_url, qr_png

FAMILY = "DejaVuSerif"
BODY_PT = 12
LINE_MM = 6.2
# Margins after Nghị định 30/2020/NĐ-CP Phụ lục I (top/bottom 20–25 mm, left 30–35 mm,
# right 15–20 mm), tightened a little so one dossier's receipt fits on one page.
MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT, MARGIN_BOTTOM = 25.0, 15.0, 15.0, 18.0
QR_MM = 26.0
SIGNATURE_MM = 48.0  # title, hint, room to sign, printed name
CELL_PAD = 1.4  # mm inside table cells
CELL_LINE = 0.5  # table line height in mm per pt of type

NATIONAL_NAME = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
NATIONAL_MOTTO = "Độc lập - Tự do - Hạnh phúc"

Run = tuple[str, str]  # (font style "", "B" or "I"; text)
_Piece = tuple[str, str, float]  # (style, text, width in mm) placed on one line
_WORD = re.compile(r"(\s*)(\S+)")
# Width of a word at 1 pt, per style: fpdf2 measures glyph by glyph in Python, and the same
# words recur on every form. Bounded by clearing: a cache, not a store.
_UNIT_WIDTHS: dict[tuple[str, str], float] = {}
_UNIT_WIDTHS_MAX = 20_000


def nfc(text: str) -> str:
    """NFC text: fpdf2 does no shaping, so combining accents must be precomposed to print."""
    return unicodedata.normalize("NFC", text)


def _skip_bbox_recalc(pdf: FPDF) -> None:
    # On output fpdf2 subsets each face with fontTools and saves it; fontTools then decodes
    # and re-encodes every glyph only to recompute bounding boxes (~60% of a form's time).
    # Subsetting does not move outlines, so the stored boxes are right: turn that off.
    # Reaches into fpdf2's TTFFont.ttfont; if a release renames it, PDFs are only slower.
    for font in pdf.fonts.values():
        ttfont = getattr(font, "ttfont", None)
        if ttfont is not None and hasattr(ttfont, "recalcBBoxes"):
            ttfont.recalcBBoxes = False


class FormPdf(FPDF):
    """One A4 form; the footer repeats the dossier code and page number on every page."""

    def __init__(self, code: str) -> None:
        super().__init__(orientation="P", unit="mm", format="A4")
        self.code = nfc(code)
        for style, path in font_files().items():
            self.add_font(FAMILY, style, str(path))
        _skip_bbox_recalc(self)
        self.set_margins(MARGIN_LEFT, MARGIN_TOP, MARGIN_RIGHT)
        self.set_auto_page_break(True, margin=MARGIN_BOTTOM)
        self.set_font(FAMILY, "", BODY_PT)
        self.add_page()

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FAMILY, "I", 8)
        self.cell(0, 4, f"Mã hồ sơ {self.code} - Trang {self.page_no()}/{{nb}}", align="R")

    # -- text ---------------------------------------------------------------------------

    def write_runs(
        self,
        runs: Sequence[Run],
        *,
        size: float = BODY_PT,
        x: float | None = None,
        width: float | None = None,
        first: float = 0.0,
        rest: float = 0.0,
        align: str = "L",
        line: float = LINE_MM,
        keep: bool = False,
    ) -> None:
        """Wrap styled runs into lines (first/rest = indents), breaking pages between lines.

        ``keep`` moves the whole block to the next page rather than split it (a list item).
        """
        x0 = self.l_margin if x is None else x
        width = self.epw - (x0 - self.l_margin) if width is None else width
        lines = self._wrap(runs, size, width - first, width - rest)
        block = len(lines) * line
        if keep and self.will_page_break(block) and block < self.eph / 2:
            self.add_page()
        for i, pieces in enumerate(lines):
            if self.will_page_break(line):
                self.add_page()
            indent = first if i == 0 else rest
            y = self.get_y()
            self._place(pieces, x0 + indent, y, width - indent, align, size, line)
            self.set_xy(self.l_margin, y + line)

    def _place(
        self,
        pieces: list[_Piece],
        x: float,
        y: float,
        width: float,
        align: str,
        size: float,
        line: float,
    ) -> None:
        """Print one wrapped line at (x, y), left-aligned or centred in ``width``."""
        used = sum(w for _, _, w in pieces)
        left = x + ((width - used) / 2 if align == "C" else 0.0)
        for style, text, w in pieces:
            self.set_font(FAMILY, style, size)
            self.set_xy(left, y)
            self.cell(w, line, text)
            left += w

    def _wrap(self, runs: Sequence[Run], size: float, first_w: float, rest_w: float) -> list[list[_Piece]]:
        # Greedy word wrap measured once per word: fpdf2's multi_cell re-measures the whole
        # line for each character, which made a form cost ~30 ms of line breaking alone.
        lines: list[list[_Piece]] = [[]]
        used, avail = 0.0, first_w
        pending_space = False
        for style, raw in runs:
            text = nfc(raw)
            self.set_font(FAMILY, style, size)
            space_w = self._width(" ", style, size)
            for n, (gap, word) in enumerate(_WORD.findall(text)):
                if "\n" in gap and lines[-1]:
                    lines.append([])
                    used, avail = 0.0, rest_w
                spaced = bool(gap) or (n == 0 and pending_space)
                for chunk in self._split_long(word, style, size, rest_w):
                    w = self._width(chunk, style, size)
                    lead = space_w if spaced and lines[-1] else 0.0
                    if lines[-1] and used + lead + w > avail:
                        lines.append([])
                        used, avail, lead = 0.0, rest_w, 0.0
                    piece = (" " if lead else "") + chunk
                    line = lines[-1]
                    if line and line[-1][0] == style:
                        line[-1] = (style, line[-1][1] + piece, line[-1][2] + lead + w)
                    else:
                        line.append((style, piece, lead + w))
                    used += lead + w
                    spaced = False
            if text:
                pending_space = text[-1].isspace()
        return [line for line in lines if line] or [[]]

    def _width(self, word: str, style: str, size: float) -> float:
        """Width in mm of ``word`` in ``style`` at ``size`` pt (the font must be set)."""
        key = (style, word)
        unit = _UNIT_WIDTHS.get(key)
        if unit is None:
            if len(_UNIT_WIDTHS) >= _UNIT_WIDTHS_MAX:
                _UNIT_WIDTHS.clear()
            unit = _UNIT_WIDTHS[key] = self.get_string_width(word) / size
        return unit * size

    def _split_long(self, word: str, style: str, size: float, width: float) -> list[str]:
        """A word wider than the line (a URL, a long code) is cut where it must be."""
        if self._width(word, style, size) <= width:
            return [word]
        chunks, current = [], ""
        for char in word:
            if current and self.get_string_width(current + char) > width:
                chunks.append(current)
                current = ""
            current += char
        return [*chunks, current]

    def gap(self, mm: float) -> None:
        """Vertical space; at the page foot it simply ends the page."""
        if self.will_page_break(mm):
            self.add_page()
        else:
            self.set_y(self.get_y() + mm)

    # -- blocks of the Circular's forms ---------------------------------------------------

    def national_header(self, parent: str, agency: str, place: str, issued: str) -> None:
        """Agency on the left, quốc hiệu and tiêu ngữ on the right, place and date below."""
        top, left_w = self.get_y(), 72.0
        right_x, right_w = self.l_margin + left_w + 4, self.epw - left_w - 4

        self.set_y(top)
        parent = nfc(parent).strip().upper()
        if parent:  # a provincial agency may have no parent line to print
            # Shrink a little rather than leave one word of the parent agency on a line alone.
            parent_pt = max(9.5, self._fit(parent, "", 11, left_w))
            self.write_runs([("", parent)], size=parent_pt, width=left_w, align="C", line=5.4)
        self.write_runs([("B", nfc(agency).upper())], size=11, width=left_w, align="C", line=5.4)
        self._rule(self.l_margin + left_w / 2, self.get_y() + 0.8, 28)
        left_bottom = self.get_y() + 2

        self.set_y(top)
        name_pt = self._fit(NATIONAL_NAME, "B", 11.5, right_w)
        self.write_runs([("B", NATIONAL_NAME)], size=name_pt, x=right_x, width=right_w, align="C", line=5.4)
        self.write_runs([("B", NATIONAL_MOTTO)], size=12, x=right_x, width=right_w, align="C", line=5.4)
        self.set_font(FAMILY, "B", 12)
        self._rule(right_x + right_w / 2, self.get_y() + 0.8, self.get_string_width(NATIONAL_MOTTO))
        self.set_y(self.get_y() + 3)
        self.write_runs(
            [("I", f"{nfc(place)}, {issued}")],
            size=11,
            x=right_x,
            width=right_w,
            align="C",
            line=5.4,
        )
        self.set_y(max(self.get_y(), left_bottom) + 5)

    def form_title(self, text: str, subtitle: str = "") -> None:
        """The form's name (tên biểu mẫu), bold capitals, centred."""
        self.write_runs([("B", text)], size=14, align="C", line=7)
        if subtitle:
            self.write_runs([("I", subtitle)], size=11, align="C", line=5.6)
        self.gap(2)

    def code_block(self, code: str, base_url: str) -> None:
        """The dossier code beside its QR code, which opens the public status lookup."""
        url = lookup_url(base_url, code)
        top = self.get_y()
        if self.will_page_break(QR_MM):
            self.add_page()
            top = self.get_y()
        self.image(
            BytesIO(qr_png(url)),
            x=self.l_margin + self.epw - QR_MM,
            y=top,
            w=QR_MM,
            h=QR_MM,
            alt_text=f"Mã QR tra cứu hồ sơ {code}",
        )
        text_w = self.epw - QR_MM - 4
        self.set_y(top + 4)
        self.write_runs([("", "Mã hồ sơ: "), ("B", code)], size=13, width=text_w, line=7)
        self.write_runs(
            [
                (
                    "I",
                    "Quét mã QR bên cạnh hoặc truy cập địa chỉ dưới đây để tra cứu tình trạng giải quyết hồ sơ:",
                )
            ],
            size=9.5,
            width=text_w,
            line=4.6,
        )
        self.write_runs([("", url)], size=9.5, width=text_w, line=4.6)
        self.set_y(max(self.get_y(), top + QR_MM) + 3)

    def field(self, label: str, value: str) -> None:
        """'Label: value' with the value in bold; continuation lines indented."""
        self.write_runs([("", f"{label}: "), ("B", value)], rest=8)

    def paragraph(self, text: str | Sequence[Run], *, indent: float = 0.0) -> None:
        """Body text; the first line indented as administrative prose is."""
        runs = [("", text)] if isinstance(text, str) else text
        self.write_runs(runs, first=indent, rest=0.0)

    def numbered(self, items: Sequence[str], *, indent: float = 6.0) -> None:
        """A numbered list with hanging indent, flowing onto further pages as needed."""
        self.set_font(FAMILY, "", BODY_PT)
        hang = indent + self.get_string_width(f"{len(items)}. ")
        for n, item in enumerate(items, start=1):
            # Numbers right-aligned, so item texts start in one column past "9." and "10.".
            first = hang - self.get_string_width(f"{n}. ")
            self.write_runs([("", f"{n}. "), ("", item)], first=first, rest=hang, keep=True)
            self.set_font(FAMILY, "", BODY_PT)

    def signatures(self, left: tuple[str, str, str] | None, right: tuple[str, str, str] | None) -> None:
        """Signature blocks (title, hint, printed name), kept together on one page."""
        if self.will_page_break(SIGNATURE_MM + 4):
            self.add_page()
        top = self.get_y() + 4
        col_w = self.epw / 2
        for i, block in enumerate((left, right)):
            if block is None:
                continue
            title, hint, name = block
            x = self.l_margin + i * col_w
            self.set_y(top)
            self.write_runs([("B", title)], x=x, width=col_w, align="C")
            self.write_runs([("I", hint)], size=10.5, x=x, width=col_w, align="C", line=5)
            if name:
                self.set_y(top + SIGNATURE_MM - LINE_MM * 2)
                self.write_runs([("B", name)], x=x, width=col_w, align="C")
        self.set_y(top + SIGNATURE_MM)

    def grid(
        self,
        headings: Sequence[str],
        rows: Sequence[Sequence[str]],
        col_widths: Sequence[float],
        aligns: str,
        *,
        size: float = 10,
        min_lines: int = 1,
    ) -> None:
        """A bordered table; a row never splits, the heading row repeats on each page."""
        # Drawn by hand rather than with fpdf2's table(), which lays every cell out twice
        # with multi_cell and cost a third of the process sheet's time.
        scale = self.epw / sum(col_widths)
        widths = [w * scale for w in col_widths]
        head = self._grid_row(headings, widths, "B", size)
        self._grid_draw(head, widths, "C" * len(widths), size, middle=True)
        for values in rows:
            laid = self._grid_row(values, widths, "", size, min_lines)
            if self.will_page_break(laid[0]):
                self.add_page()
                self._grid_draw(head, widths, "C" * len(widths), size, middle=True)
            self._grid_draw(laid, widths, aligns, size)
        self.set_font(FAMILY, "", BODY_PT)

    def _grid_row(
        self,
        values: Sequence[str],
        widths: Sequence[float],
        style: str,
        size: float,
        min_lines: int = 1,
    ) -> tuple[float, list[list[list[_Piece]]]]:
        cells = [
            self._wrap([(style, v)], size, w - 2 * CELL_PAD, w - 2 * CELL_PAD) if v.strip() else []
            for v, w in zip(values, widths, strict=True)
        ]
        lines = max(min_lines, *(len(c) for c in cells))
        return lines * size * CELL_LINE + 2 * CELL_PAD, cells

    def _grid_draw(
        self,
        laid: tuple[float, list[list[list[_Piece]]]],
        widths: Sequence[float],
        aligns: str,
        size: float,
        middle: bool = False,
    ) -> None:
        height, cells = laid
        line = size * CELL_LINE
        x, y = self.l_margin, self.get_y()
        self.set_line_width(0.2)
        for cell, width, align in zip(cells, widths, aligns, strict=True):
            self.rect(x, y, width, height)
            top = y + CELL_PAD + ((height - 2 * CELL_PAD - len(cell) * line) / 2 if middle else 0)
            for n, pieces in enumerate(cell):
                self._place(pieces, x + CELL_PAD, top + n * line, width - 2 * CELL_PAD, align, size, line)
            x += width
        self.set_xy(self.l_margin, y + height)

    def _rule(self, centre_x: float, y: float, length: float) -> None:
        self.set_line_width(0.3)
        self.line(centre_x - length / 2, y, centre_x + length / 2, y)

    def _fit(self, text: str, style: str, size: float, width: float) -> float:
        """The largest size ≤ ``size`` at which ``text`` fits on one line of ``width``."""
        self.set_font(FAMILY, style, size)
        while size > 8 and self.get_string_width(text) > width:
            size -= 0.25
            self.set_font(FAMILY, style, size)
        return size

    def render(self) -> bytes:
        """The finished PDF file; releases the font files."""
        try:
            return bytes(self.output())
        finally:
            self.close_fonts()

    def close_fonts(self) -> None:
        """Close the font files fontTools keeps open (it reads glyphs lazily)."""
        for font in self.fonts.values():
            ttfont = getattr(font, "ttfont", None)
            if ttfont is not None:
                ttfont.close()

    def __enter__(self) -> FormPdf:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close_fonts()


def new_form(code: str, parent: str, agency: str, place: str, issued_date: str) -> FormPdf:
    """A form with the national header already drawn."""
    pdf = FormPdf(code)
    try:
        pdf.national_header(parent, agency, place, issued_date)
    except BaseException:
        pdf.close_fonts()
        raise
    return pdf
