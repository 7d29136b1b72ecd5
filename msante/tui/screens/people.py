"""People: the people of the vault, adding a child, majority dates."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from msante.i18n import _
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar


class PeopleScreen(MainScreen):
    """People of the selected person (being built)."""

    NAME = "people"
    SUB_TITLE = _("People")

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Static(_("Coming soon."))
        yield Footer()
