"""Small widgets shared by the screens."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.content import Content
from textual.visual import VisualType
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellType, ColumnKey, RowKey

from msante.i18n import _
from msante.tui.cells import fitted

MUTED = "$foreground-muted"
"""The style of labels and secondary text."""


def plain(cell: Any) -> Any:
    """A table cell as it is: DataTable reads a `str` cell as markup ("[/x]" raises)."""
    return Text(cell, no_wrap=True, end="") if isinstance(cell, str) else cell


class PlainTable(DataTable[CellType]):
    """A DataTable whose string cells are shown as they are, never parsed as markup.

    Every table of the TUI shows text from the vault (titles, names, notes).
    """

    def add_row(self, *cells: CellType, height: int | None = 1, key: str | None = None,
                label: Any = None) -> RowKey:
        cells = fitted(cells, [0 if c.auto_width else c.width for c in self.ordered_columns])
        return super().add_row(*(plain(c) for c in cells), height=height, key=key,
                               label=label)

    def update_cell(self, row_key: RowKey | str, column_key: ColumnKey | str, value: CellType,
                    *, update_width: bool = False) -> None:
        super().update_cell(row_key, column_key, plain(value), update_width=update_width)


class Plain(Static):
    """A Static whose strings are shown as they are: text from the vault may hold brackets
    ("[/x]" would raise MarkupError, "[link=…]" would become a link)."""

    def __init__(self, content: VisualType = "", **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        super().__init__(content, **kwargs)


def labelled(label: str, value: str | Content) -> Content:
    """`Label: value` with the label muted, as the language writes it (`Libellé : valeur`)."""
    head, _sep, tail = _("{label}: {value}").partition("{value}")
    return Content.assemble((head.format(label=label[:1].upper() + label[1:]), MUTED), value,
                            tail)
