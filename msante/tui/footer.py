"""The footer: the screen's keys that fit in the window's width, never one cut in the middle.

Textual's footer scrolls sideways when the keys do not fit, and at 80 columns the last key ran
under the palette's key ("…t Corbeille ▏^p palette?"). This one shows the keys in order while
they fit whole beside the help's and the palette's keys; the others stay in the help (`?`) and
the palette.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the footer's own key widget


def key_width(key: FooterKey) -> int:
    """The cells a compact footer key takes: key, space, description, and its margin."""
    text = key.key_display + (f" {key.description}" if key.description else "")
    return cell_len(text) + 1


def palette_width(key: FooterKey) -> int:
    """The cells the palette's key takes at the right: its border, key and description."""
    return cell_len(f"{key.key_display} {key.description}") + 1


def _kept_last(widget: Widget) -> bool:
    """Whether the key always shows, at the right: the help's (how to find the rest)."""
    return isinstance(widget, FooterKey) and widget.action in ("help", "app.help")


def fitting(widgets: Iterable[Widget], width: int) -> list[Widget]:
    """The keys that fit whole in `width` cells, in order, then the help's and the palette's."""
    items = list(widgets)
    palette = [w for w in items if w.has_class("-command-palette")]
    last = [w for w in items if _kept_last(w)]
    room = width - sum(palette_width(w) for w in palette if isinstance(w, FooterKey))
    room -= sum(key_width(w) for w in last if isinstance(w, FooterKey))
    kept: list[Widget] = []
    for widget in items:
        if widget in palette or widget in last:
            continue
        need = key_width(widget) if isinstance(widget, FooterKey) else room + 1
        if need > room:
            break
        kept.append(widget)
        room -= need
    return kept + last + palette


class MsanteFooter(Footer):
    """A compact footer holding only the keys that fit in the window's width."""

    def __init__(self) -> None:
        super().__init__(compact=True)
        self._width = 0

    def compose(self) -> ComposeResult:
        self._width = self.app.size.width
        yield from fitting(super().compose(), self._width)

    def on_resize(self, _event: events.Resize) -> None:
        if self.app.size.width != self._width:
            self.call_after_refresh(self.recompose)
