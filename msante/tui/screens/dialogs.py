"""Small modal dialogs: a yes/no confirmation, a message to close, a path to write to."""

from __future__ import annotations

from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input

from msante.i18n import _
from msante.tui.paths import PathSuggester
from msante.tui.widgets import Plain

DIALOG_CSS = """
{name} {{ align: center middle; background: $background 60%; }}
{name} > Vertical, {name} > VerticalScroll {{
    width: 64; max-width: 100%; height: auto; padding: 1 2;
    border: thick $primary; background: $surface;
}}
{name} .buttons {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} Button {{ margin-left: 2; }}
"""


class ConfirmScreen(ModalScreen[bool]):
    """Ask a yes/no question; True for yes."""

    DEFAULT_CSS = DIALOG_CSS.format(name="ConfirmScreen")
    BINDINGS = [Binding("y", "answer(True)", _("Yes")),
                Binding("n,escape", "answer(False)", _("No"))]

    def __init__(self, question: str, yes: str) -> None:
        super().__init__()
        self.question, self.yes = question, yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self.question)
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="no")
                yield Button(self.yes, id="yes", variant="error")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        """Answer the question."""
        self.dismiss(yes)


class DoneScreen(ModalScreen[bool]):
    """Say something and wait until the person closes it (Enter or Escape)."""

    DEFAULT_CSS = DIALOG_CSS.format(name="DoneScreen")
    BINDINGS = [Binding("escape", "close", _("Close"))]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self.text)
            with Horizontal(classes="buttons"):
                yield Button(_("Done"), id="done", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#done", Button).focus()

    @on(Button.Pressed)
    def _pressed(self) -> None:
        self.dismiss(True)

    def action_close(self) -> None:
        """Close."""
        self.dismiss(True)


class PathScreen(ModalScreen[Path | None]):
    """Ask where to write a file; None when cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PathScreen")
    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, prompt: str, default: Path) -> None:
        super().__init__()
        self.prompt, self.default = prompt, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self.prompt)
            yield Input(str(self.default), id="path", suggester=PathSuggester())
            yield Plain(_("Enter to write, Escape to cancel."), classes="hint")

    @on(Input.Submitted, "#path")
    def _submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        """Close without writing."""
        self.dismiss(None)
