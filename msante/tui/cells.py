"""Text in a cell of fixed width: whole when it fits, else cut between two words with "…"
(never in the middle of a word, never without saying that something is left out)."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text

ELLIPSIS = "…"


def shorten(text: str, width: int) -> str:
    """`text` within `width` cells: whole, or cut after a word and ended with "…"."""
    if width <= 0 or cell_len(text) <= width:
        return text
    room = set_cell_size(text, width - 1)  # what fits beside the "…"
    cut = room.rstrip()
    if len(room) < len(text) and not text[len(room)].isspace():  # inside a word
        before = cut.rsplit(" ", 1)[0] if " " in cut else cut
        cut = before.rstrip(" ,;:–—-") if before else cut
    return cut.rstrip() + ELLIPSIS


def fitted(cells: tuple[Any, ...], widths: list[int]) -> tuple[Any, ...]:
    """A row's cells, each string or plain Text shortened to its column's fixed width
    (0: the column sizes itself to its cells)."""
    out = []
    for cell, width in zip(cells, widths + [0] * (len(cells) - len(widths)), strict=False):
        if width and isinstance(cell, str):
            cell = shorten(cell, width)
        elif width and isinstance(cell, Text) and cell_len(cell.plain) > width:
            short = shorten(cell.plain, width)
            cell = cell[:len(short) - 1] + Text(ELLIPSIS, style=cell.style)
        out.append(cell)
    return tuple(out)
