"""Agenda: appointments, the month view and due prevention items."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from msante.i18n import _
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar


class AgendaScreen(MainScreen):
    """Agenda of the selected person (being built)."""

    NAME = "agenda"
    SUB_TITLE = _("Agenda")

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Static(_("Coming soon."))
        yield Footer()
