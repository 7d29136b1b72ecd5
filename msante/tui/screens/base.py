"""What the main screens share: the app's vault, selected person and clock."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, cast

from textual import events
from textual.geometry import Size
from textual.screen import Screen

from msante.api import Vault
from msante.i18n import _
from msante.people import Person
from msante.tui.state import Clock
from msante.tui.widgets import one_line

if TYPE_CHECKING:
    from msante.tui.app import MsanteApp


class MainScreen(Screen[None]):
    """A screen shown once the vault is open; `reload()` runs on mount and on person change."""

    NAME: ClassVar[str] = ""
    """The screen's name in the app (`app.go(NAME)`); its label is SUB_TITLE."""

    loaded = False
    """Whether the screen has shown its data once (tests wait on it)."""

    _sized_for = Size(0, 0)
    """The terminal size of the screen's last Resize."""

    @property
    def msante(self) -> MsanteApp:
        """The app, typed."""
        return cast("MsanteApp", self.app)

    @property
    def vault(self) -> Vault:
        """The open vault (a main screen only exists while one is open)."""
        return self.msante.vault

    @property
    def person(self) -> Person:
        """The person the app shows."""
        return self.msante.current_person

    @property
    def clock(self) -> Clock:
        """The app's clock."""
        return self.msante.clock

    def on_mount(self) -> None:
        self.call_after_refresh(self._first_load)  # once the children are mounted

    def on_resize(self, event: events.Resize) -> None:
        self._sized_for = event.size

    def on_screen_resume(self) -> None:
        """Back in front: take the terminal's size, then read again what may have changed.

        Textual resizes only the screen in front, so one that was hidden while the terminal
        changed size gets its Resize now (its narrow layout). `resumed()` runs after the
        refresh that lays the screen out at that size: a table rebuilt before it kept the
        widths of the old layout ("2026" for a date and time)."""
        if self._sized_for != self.app.size:
            self.post_message(events.Resize(self.app.size, self.app.size))
        if self.loaded:
            self.call_after_refresh(self.resumed)

    def resumed(self) -> None:
        """Read again what another screen, the CLI or an import may have changed meanwhile."""
        self.reload()

    def _first_load(self) -> None:
        self.name_the_person()
        self.reload()
        self.loaded = True

    def label(self) -> str:
        """What the header calls the screen (its SUB_TITLE unless it shows a part of itself)."""
        return self.SUB_TITLE or self.NAME

    def name_the_person(self) -> None:
        """Say in the header whose record the screen shows: `msante — Documents · Léo`."""
        self.sub_title = self.msante.with_sync_state(_("{screen} · {name}").format(
            screen=self.label(), name=one_line(self.person.name)))

    def person_changed(self) -> None:
        """The app shows another person (the app calls this on its screens of this session;
        a watcher on the app would outlive the screen when the vault is locked)."""
        if self.loaded:
            self.name_the_person()
            self.reload()

    def reload(self) -> None:
        """Read again what the screen shows."""
