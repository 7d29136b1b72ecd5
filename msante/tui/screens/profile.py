"""Profile: the medical profile, section by section."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from msante.i18n import _
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar


class ProfileScreen(MainScreen):
    """Profile of the selected person (being built)."""

    NAME = "profile"
    SUB_TITLE = _("Profile")

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Static(_("Coming soon."))
        yield Footer()
