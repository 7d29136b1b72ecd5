"""A printable A4 PDF from a neutral document model, drawn with fpdf2 and the DejaVu fonts.

The model knows nothing of health records: a title, a subtitle, sections made of tables and
paragraphs, a running header (every page after the first) and a footer (a line such as the
date of issue, and the page number as "x/y"). Every string arrives already translated.

Text is drawn with the DejaVu Unicode fonts shipped in `msante/data/fonts` (the PDF core fonts
cannot draw « œ », « ≥ » or « – »). fpdf2 cannot split a table row across pages, so no row
may be taller than a page: the line breaks of a cell are drawn as " / ", and a cell longer than
`CELL_MAX` characters is then cut and its whole text (line breaks kept) follows the table as a
numbered note. A character the fonts lack is drawn as "?" rather than silently dropped.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, NamedTuple

from fpdf import FPDF
from fpdf.enums import TableBordersLayout, XPos, YPos
from fpdf.fonts import FontFace, TTFFont

FONT = "DejaVu"
FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
CELL_MAX = 300  # longer cells are cut, the full text follows the table as a note
CELL_KEEP = 240
MARGIN = 15.0  # mm
GREY, RULE, ACCENT, HEADING_FILL = 110, 200, (31, 78, 121), (234, 239, 244)
PAGES_ALIAS = "¤¤"  # room for two digits; a longer count runs a little into the margin
SIZES = {"title": 18.0, "subtitle": 10.5, "section": 12.5, "caption": 9.5, "body": 9.0,
         "note": 8.0, "running": 8.0}


@dataclass(frozen=True)
class Table:
    """Rows under column headings (`columns` empty: no heading row); `widths` are relative."""

    columns: tuple[str, ...]
    rows: Sequence[Sequence[str]]
    widths: tuple[float, ...] | None = None
    caption: str | None = None


@dataclass(frozen=True)
class Section:
    """A titled part of the document: tables and paragraphs, in order."""

    title: str
    parts: Sequence[Table | str]


@dataclass(frozen=True)
class Document:
    """What to print; `page_label` is a template with {page} and {pages}."""

    title: str
    subtitle: str
    sections: Sequence[Section]
    header: str = ""
    footer: str = ""
    page_label: str = "{page}/{pages}"
    author: str = "msante"
    language: str = "en"
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


class Rendered(NamedTuple):
    """The PDF's bytes and its number of pages."""

    data: bytes
    pages: int


def render(doc: Document) -> Rendered:
    """The document as PDF bytes."""
    pdf = _Pdf(doc)
    with _quiet_fonts():
        _title(pdf, doc)
        for section in doc.sections:
            _section(pdf, section)
        data = bytes(pdf.output())
    return Rendered(data, pdf.pages_count)


@cache
def _font_path(style: str) -> str:
    """A font file's path (a real file: the package is installed, not zipped)."""
    return str(resources.files("msante") / "data" / "fonts" / FONT_FILES[style])


@contextmanager
def _quiet_fonts() -> Iterator[None]:
    """fpdf2 logs every font subset it embeds; keep that out of the user's terminal."""
    logger = logging.getLogger("fpdf")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


class _Pdf(FPDF):
    """An A4 page with the document's running header and footer."""

    def __init__(self, doc: Document) -> None:
        super().__init__(format="A4", unit="mm")
        self.doc = doc
        for style in FONT_FILES:
            self.add_font(FONT, style, _font_path(style))
        self.set_margins(MARGIN, MARGIN + 4, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + 6)
        font = self.fonts[FONT.lower()]
        self.known = frozenset(font.cmap if isinstance(font, TTFFont) else ())
        self._metadata(doc)
        self.add_page()

    def _metadata(self, doc: Document) -> None:
        self.set_title(doc.title)
        self.set_author(doc.author)
        self.set_creator("msante")
        self.set_creation_date(doc.created)
        self.set_lang(doc.language)

    def clean(self, text: str) -> str:
        """`text` with the characters the fonts cannot draw replaced by "?"."""
        return "".join(c if ord(c) in self.known or c == "\n" else "?" for c in text)

    def header(self) -> None:
        """The running header, from the second page on."""
        self.alias_nb_pages("")  # only footers hold the page count (left on for output)
        if self.page_no() == 1 or not self.doc.header:
            return
        self._small(SIZES["running"])
        self.set_y(MARGIN - 5)
        self.cell(0, 5, self.clean(self.doc.header), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        self._rule(self.get_y() + 0.5)
        self.set_y(MARGIN + 4)

    def footer(self) -> None:
        """The footer line, and the page number as x/y."""
        self.set_y(-(MARGIN + 1))
        self._rule(self.get_y())
        self._small(SIZES["running"])
        self.cell(0, 6, self.clean(self.doc.footer))
        self.alias_nb_pages(PAGES_ALIAS, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 6, self.doc.page_label.format(page=self.page_no(), pages=PAGES_ALIAS),
                  align="R")

    def _small(self, size: float) -> None:
        self.set_font(FONT, "", size)
        self.set_text_color(GREY)

    def _rule(self, y: float) -> None:
        self.set_draw_color(RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, y, self.w - self.r_margin, y)

    def body(self, size: float = SIZES["body"], style: str = "") -> None:
        """Back to the body text's font and colour."""
        self.set_font(FONT, style, size)
        self.set_text_color(0)


def _title(pdf: _Pdf, doc: Document) -> None:
    pdf.set_font(FONT, "B", SIZES["title"])
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 9, pdf.clean(doc.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    if doc.subtitle:
        pdf.body(SIZES["subtitle"])
        pdf.multi_cell(0, 5.5, pdf.clean(doc.subtitle), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(3)


def _section(pdf: _Pdf, section: Section) -> None:
    if pdf.will_page_break(28):  # keep a heading with the start of its content
        pdf.add_page()
    pdf.ln(2)
    pdf.set_font(FONT, "B", SIZES["section"])
    pdf.set_text_color(*ACCENT)
    pdf.multi_cell(0, 7, pdf.clean(section.title), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_draw_color(*ACCENT)
    pdf.set_line_width(0.4)
    pdf.line(pdf.l_margin, pdf.get_y(), pdf.w - pdf.r_margin, pdf.get_y())
    pdf.ln(2)
    for part in section.parts:
        if isinstance(part, Table):
            _table(pdf, part)
        else:
            _paragraph(pdf, part)


def _paragraph(pdf: _Pdf, text: str, size: float = SIZES["body"]) -> None:
    pdf.body(size)
    pdf.multi_cell(0, size * 0.5, pdf.clean(text), align="L", new_x=XPos.LMARGIN,
                   new_y=YPos.NEXT)
    pdf.ln(1.5)


def _table(pdf: _Pdf, table: Table) -> None:
    if table.caption:
        pdf.body(SIZES["caption"], "B")
        pdf.multi_cell(0, 5, pdf.clean(table.caption), new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    rows, notes = cut_long_cells(table.rows)
    if rows:
        _draw_rows(pdf, table, rows)
    for number, text in notes:
        _paragraph(pdf, f"[{number}] {text}", SIZES["note"])
    pdf.ln(2)


def _draw_rows(pdf: _Pdf, table: Table, rows: list[list[str]]) -> None:
    pdf.body()
    pdf.set_draw_color(RULE)
    pdf.set_line_width(0.2)
    headings = [list(table.columns)] if table.columns else []
    with pdf.table(**_table_style(table)) as grid:
        for row in headings + rows:
            cells = grid.row()
            for text in row:
                cells.cell(pdf.clean(text))


def _table_style(table: Table) -> dict[str, Any]:
    return {
        "col_widths": table.widths, "first_row_as_headings": bool(table.columns),
        "headings_style": FontFace(emphasis="BOLD", fill_color=HEADING_FILL),
        "borders_layout": TableBordersLayout.HORIZONTAL_LINES, "text_align": "LEFT",
        "line_height": SIZES["body"] * 0.5, "padding": (1.2, 1.5), "v_align": "TOP",
    }


def cut_long_cells(rows: Sequence[Sequence[str]]) -> tuple[list[list[str]], list[
        tuple[int, str]]]:
    """Rows on one line per cell, overlong cells cut with a note mark; the notes' full texts."""
    notes: list[tuple[int, str]] = []
    out = []
    for row in rows:
        cells = []
        for text in row:
            flat = one_line(text)
            if len(flat) > CELL_MAX:
                notes.append((len(notes) + 1, text))
                flat = f"{flat[:CELL_KEEP].rstrip()}… [{len(notes)}]"
            cells.append(flat)
        out.append(cells)
    return out, notes


def one_line(text: str) -> str:
    """`text` with its line breaks drawn as " / " (blank lines dropped)."""
    return " / ".join(line.strip() for line in text.splitlines() if line.strip())
