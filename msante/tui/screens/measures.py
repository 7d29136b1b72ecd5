"""Measurements: trend charts per kind, and adding a measurement."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer, Header, Static

from msante.i18n import _
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar


class MeasuresScreen(MainScreen):
    """Measurements of the selected person (being built)."""

    NAME = "measures"
    SUB_TITLE = _("Measurements")

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Static(_("Coming soon."))
        yield Footer()
