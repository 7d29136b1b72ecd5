"""The rich Console every command prints through: no control character from the data.

Stored text (a PDF's title, its extracted text, an event's summary, a CSV note, a name) may
carry terminal controls: ESC and C1 sequences that clear the screen, move the cursor, set the
window title or plant OSC 8 links. Rendering turns text into segments; this console removes
every C0/C1 control from the text segments, after layout (controls take no cell, so the layout
does not change), while the control segments rich makes itself (cursor moves of a progress
bar) and the styles it adds when writing to a terminal are kept.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rich.console import Console, ConsoleOptions, RenderableType
from rich.segment import Segment

from msante.text import TERMINAL_CONTROLS, without_controls


class SafeConsole(Console):
    """A Console whose rendered text holds no control character but tabs and line breaks."""

    def render(self, renderable: RenderableType,
               options: ConsoleOptions | None = None) -> Iterable[Segment]:
        """Render as rich does, then take the control characters out of the text."""
        for segment in super().render(renderable, options):
            if segment.control or not TERMINAL_CONTROLS.search(segment.text):
                yield segment
            else:
                yield Segment(without_controls(segment.text), segment.style)


def make(**kwargs: Any) -> SafeConsole:
    """A safe console (the keyword arguments are rich's)."""
    return SafeConsole(**kwargs)
