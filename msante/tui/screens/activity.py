"""Activity: the audit log, its filters and its verification."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from msante.i18n import _
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar


class ActivityScreen(MainScreen):
    """Activity of the selected person (being built)."""

    NAME = "activity"
    SUB_TITLE = _("Activity")

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Static(_("Coming soon."))
        yield Footer()
