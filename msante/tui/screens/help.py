"""The help screen (`?`): the keys of the screen it was opened from."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen

from msante.i18n import _
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import Plain, PlainTable


class HelpScreen(ModalScreen[None]):
    """A table of (key, what it does); any of Escape, q, ? closes it."""

    DEFAULT_CSS = DIALOG_CSS.format(name="HelpScreen") + """
    HelpScreen > VerticalScroll { width: 64; max-height: 90%; padding: 0 1; }
    HelpScreen DataTable { height: auto; }
    HelpScreen .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,q,question_mark,f1", "close", _("Close"))]

    def __init__(self, title: str, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text, self.keys = title, keys

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = self.title_text
            table: PlainTable[str] = PlainTable(cursor_type="none", zebra_stripes=True)
            table.add_columns(_("Key"), _("Action"))
            table.add_rows(self.keys)
            yield table
            yield Plain(_("ctrl+p opens the command palette: every screen and action by "
                           "name. Escape closes this help."), classes="hint")

    def action_close(self) -> None:
        """Close the help."""
        self.dismiss(None)
