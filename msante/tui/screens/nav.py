"""The line under the header naming every main screen with its key; the current one stands out.

The footer keeps to the screen's own keys; this line is how a person finds the other screens
(and a click on a name goes there).
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static


class NavBar(Static):
    """`1 Home  2 Documents  3 Profile …`, the current screen highlighted."""

    DEFAULT_CSS = """
    NavBar { height: 1; background: $panel; color: $text-muted; }
    """

    def __init__(self, current: str) -> None:
        super().__init__()
        self.current = current

    def on_mount(self) -> None:
        from msante.tui.app import main_screens

        parts = []
        for key, (name, screen) in enumerate(main_screens().items(), start=1):
            label = f" {key} {screen.SUB_TITLE} "
            style = "bold reverse $accent " if name == self.current else ""
            parts.append(Content.styled(label, f"{style}@click=app.go('{name}')"))
        self.update(Content("").join(parts))  # 80 columns hold the seven names
