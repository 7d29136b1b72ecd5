"""Small widgets shared by the screens.

Text from the vault or from an imported file reaches the screen through these widgets (and
the app's `notify`): each takes the control characters out first (ESC, CSI, OSC, DCS, C1…),
so a received file cannot clear the screen, move the cursor, set the title or plant a link.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, overload

from rich.text import Text
from textual.content import Content
from textual.visual import VisualType
from textual.widgets import DataTable, Static
from textual.widgets.data_table import CellType, ColumnKey, RowKey

from msante.i18n import _, ngettext
from msante.text import TERMINAL_CONTROLS, clean, for_terminal
from msante.tui.cells import fitted

MUTED = "$foreground-muted"
"""The style of labels and secondary text."""


def _drop_controls(styled: Any) -> Any:
    """Rich Text or Textual Content without its control characters, styles kept in place."""
    found: list[int] = [m.start() for m in TERMINAL_CONTROLS.finditer(styled.plain)]
    if not found:
        return styled
    cuts: list[int] = sorted({*found, *(i + 1 for i in found)})
    pieces = styled.divide(cuts)
    kept = [p for start, p in zip([0, *cuts], pieces, strict=False) if start not in found]
    return styled.__class__("").join(kept)


@overload
def safe(content: str) -> str: ...
@overload
def safe(content: Content) -> Content: ...
@overload
def safe(content: Text) -> Text: ...
@overload
def safe(content: Any) -> Any: ...
def safe(content: Any) -> Any:
    """Content as it may reach the terminal: no control character but tabs and line breaks
    (a string, rich Text or Textual Content; other renderables as they are)."""
    if isinstance(content, str):
        return for_terminal(content)
    if isinstance(content, Text | Content):
        return _drop_controls(content)
    return content


def one_line(text: str) -> str:
    """A stored text as an input field shows it for editing: one line, no control
    character (saving the form stores it so)."""
    return clean(text)


def notice(message: str) -> str:
    """A notification's text: one paragraph without control characters."""
    return clean(message, lines=True)


def plain(cell: Any) -> Any:
    """A table cell as it is: DataTable reads a `str` cell as markup ("[/x]" raises); no
    control character, a line break or tab becomes a space."""
    return Text(clean(cell), no_wrap=True, end="") if isinstance(cell, str) else safe(cell)


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
        super().__init__(safe(content), **kwargs)

    def update(self, content: VisualType = "", *, layout: bool = True) -> None:
        """Show new content (without its control characters)."""
        super().update(safe(content), layout=layout)


def labelled(label: str, value: str | Content) -> Content:
    """`Label: value` with the label muted, as the language writes it (`Libellé : valeur`)."""
    head, _sep, tail = _("{label}: {value}").partition("{value}")
    return Content.assemble((head.format(label=label[:1].upper() + label[1:]), MUTED),
                            safe(value), tail)


def more_line(n: int) -> Content:
    """The last line of a panel that could not show `n` of its items ("+ 2 de plus")."""
    return Content.styled(ngettext("+ {n} more", "+ {n} more", n).format(n=n), MUTED)


def fit_lines(items: Sequence[Content], total: int, width: int, height: int) -> Content:
    """As many whole items as fit `width` × `height` once wrapped, then "+ N more" for the
    `total` less those shown: an item is never cut below a panel's border."""
    if width <= 0 or height <= 0:
        return Content("\n").join(items)
    for kept in range(len(items), -1, -1):
        shown = [*items[:kept], *([more_line(total - kept)] if total > kept else [])]
        if sum(len(line.wrap(width)) for line in shown) <= height:
            return Content("\n").join(shown)
    return more_line(total)


class FittedLines(Plain):
    """A panel of one item per line that shows whole items only and says how many more."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._items: list[Content] = []
        self._total = 0

    def show(self, items: Sequence[Content], total: int | None = None) -> None:
        """Show `items` (the first of `total`, all of them when None)."""
        self._items = [safe(item) for item in items]
        self._total = len(items) if total is None else max(total, len(items))
        self.refresh(layout=True)

    def render(self) -> Content:
        """The items that fit the panel's size now (computed again when it changes)."""
        return fit_lines(self._items, self._total, *self.content_size)

