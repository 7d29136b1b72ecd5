"""The msante TUI: `MsanteApp` and `main()`, which `msante tui` runs.

State lives here and nowhere else: the open vault (`session`), the person every screen shows
(`person`, watched by the screens) and the clock. Screens talk to the core API only.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.notifications import SeverityLevel
from textual.reactive import var
from textual.screen import ModalScreen, Screen
from textual.timer import Timer

from msante.api import Vault
from msante.errors import BusyError, IntegrityError, MsanteError
from msante.i18n import _
from msante.people import Person
from msante.tui.commands import MsanteCommands
from msante.tui.keys import offered
from msante.tui.paths import start_folder
from msante.tui.screens import sync_view
from msante.tui.screens.activity import ActivityScreen
from msante.tui.screens.agenda import AgendaScreen
from msante.tui.screens.base import MainScreen
from msante.tui.screens.conflicts import ConflictsScreen
from msante.tui.screens.documents import DocumentsScreen
from msante.tui.screens.exports import (
    Export,
    ExportForm,
    backup_export,
    calendar,
    card_screen,
    pdf_summary,
)
from msante.tui.screens.help import HelpScreen
from msante.tui.screens.home import HomeScreen
from msante.tui.screens.measures import MeasuresScreen
from msante.tui.screens.people import PeopleScreen
from msante.tui.screens.profile import ProfileScreen
from msante.tui.screens.unlock import UnlockScreen
from msante.tui.state import Clock, Session, Via
from msante.tui.widgets import notice
from msante.unlock import keys_from_agent
from msante.vault import agent
from msante.vault.preferences import LAST_IMPORT_FOLDER

AGENT_POLL_S = 3.0
DARK, LIGHT = "textual-dark", "textual-light"
NEEDS_VAULT = ("go", "next_person", "lock", "summary_pdf", "emergency_card", "export_calendar",
               "backup", "sync_now", "sync_conflicts")
SYNC_POLL_S = 30.0
"""How often the header and Home read the sync state again (a background sync, the CLI)."""
MAIN_SCREENS: tuple[type[MainScreen], ...] = (
    HomeScreen, DocumentsScreen, ProfileScreen, MeasuresScreen, AgendaScreen, ActivityScreen,
    PeopleScreen)
"""The main screens, in the order of their keys 1, 2, 3…"""


def main_screens() -> dict[str, type[MainScreen]]:
    """The main screens by name, in the order of their keys."""
    return {screen.NAME: screen for screen in MAIN_SCREENS}


class MsanteApp(App[None]):
    """The whole record, keyboard-first."""

    TITLE = "msante"
    COMMANDS = App.COMMANDS | {MsanteCommands}
    BINDINGS = [
        Binding("ctrl+q", "quit", _("Quit"), priority=True),
        Binding("question_mark,f1", "help", _("Help")),
        *(Binding(str(key), f"go('{screen.NAME}')", screen.SUB_TITLE or screen.NAME,
                  show=False)
          for key, screen in enumerate(MAIN_SCREENS, start=1)),
        Binding("p", "next_person", _("Person")),
        Binding("ctrl+t", "toggle_theme", _("Light/dark"), show=False),
        Binding("ctrl+l", "lock", _("Lock"), show=False),
        Binding("S", "summary_pdf", _("PDF summary"), show=False),
        Binding("E", "emergency_card", _("Emergency card and QR code"), show=False),
        Binding("C", "export_calendar", _("Export the calendar (.ics)"), show=False),
        Binding("B", "backup", _("Back up the vault"), show=False),
        Binding("Y", "sync_now", _("Sync now"), show=False),
        Binding("K", "sync_conflicts", _("Sync conflicts"), show=False),
    ]

    person: var[Person | None] = var(None)
    """The person every screen shows (the owner after unlocking)."""

    def __init__(self, home: Path, vault: Vault | None = None, *, clock: Clock | None = None,
                 via: Via = "given", agent_poll_s: float = AGENT_POLL_S) -> None:
        super().__init__()
        self.home = home
        self.clock = clock or Clock()
        self.session = Session(vault, via) if vault is not None else None
        self.agent_poll_s = agent_poll_s
        self._agent_timer: Timer | None = None
        self._sync_timer: Timer | None = None
        self._active = False
        self._locking = False
        self._main: dict[str, MainScreen] = {}  # this session's main screens
        self.sync_state: dict[str, Any] | None = None
        """The last `Vault.sync_status()` read (None while locked, or unreadable)."""
        self.syncing: str | None = None
        """While "Sync now" runs: what it is doing (Home's panel shows it)."""
        self.last_folder: Path | None = None
        """The folder of the last file imported or written (where the next picker starts)."""
        self.theme = DARK

    # -- state -----------------------------------------------------------------------------

    @property
    def vault(self) -> Vault:
        """The open vault (only the main screens ask, and they exist only while it is open)."""
        assert self.session is not None, "no vault is open"
        return self.session.vault

    @property
    def current_person(self) -> Person:
        """The person every screen shows."""
        assert self.person is not None, "no vault is open"
        return self.person

    def watch_person(self, _old: Person | None, new: Person | None) -> None:
        if new is not None:  # None: the vault was just locked
            for screen in self._main.values():
                screen.person_changed()

    def choose_person(self, person_id: str) -> None:
        """Make the person with this id the one every screen shows."""
        self.person = self.vault.people.get(person_id)

    def open_screens(self) -> dict[str, MainScreen]:
        """This session's main screens by name (none while the vault is locked)."""
        return dict(self._main)

    def screen_names(self) -> dict[str, str]:
        """The main screens by name, with their label."""
        return {name: screen.SUB_TITLE or name for name, screen in main_screens().items()}

    def unlocked_text(self) -> str:
        """How the vault was unlocked, for the status line."""
        via = self.session.via if self.session else None
        if via == "agent":
            return _("unlocked by the agent")
        return _("unlocked") if via else _("locked")

    # -- opening and locking ---------------------------------------------------------------

    def on_mount(self) -> None:
        if self.session is not None:
            self._start(self.session)
        else:
            self.push_screen(UnlockScreen(self.home), self._unlocked)

    def _unlocked(self, session: Session | None) -> None:
        if session is not None:
            self._start(session)

    def _start(self, session: Session) -> None:
        self.session = session
        for warning in session.warnings:
            self.notify(warning, severity="warning")
        self.person = session.vault.people.owner()
        self._main = {name: screen() for name, screen in main_screens().items()}
        for name, main_screen in self._main.items():
            self.install_screen(main_screen, name)
        self.refresh_sync()
        self.push_screen("home")
        if session.via == "agent":
            self._agent_timer = self.set_interval(self.agent_poll_s, self._check_agent)
        self._sync_timer = self.set_interval(SYNC_POLL_S, self.refresh_sync)

    @work(thread=True, exclusive=True, group="agent")
    def _check_agent(self) -> None:
        """Lock when the agent that gave the key is gone (`msante lock`, its idle timeout)."""
        touch, self._active = self._active, False  # the person's activity keeps it alive
        try:
            keys = keys_from_agent(self.home, touch=touch)
        except MsanteError:
            keys = None
        if keys is None:
            self.call_from_thread(self.call_later, self.lock, _(
                "The vault was locked (msante lock, or the agent's idle timeout)."))

    async def lock(self, message: str = "") -> None:
        """Close the vault and go back to the unlock screen.

        Two calls may overlap (the agent watcher fires again while the screens close): the
        second one does nothing.
        """
        if self.session is None or self._locking:
            return
        self._locking = True
        try:
            await self._lock(self.session, message)
        finally:
            self._locking = False

    async def _lock(self, session: Session, message: str) -> None:
        for timer in (self._agent_timer, self._sync_timer):
            if timer is not None:
                timer.stop()
        self._agent_timer = self._sync_timer = None
        self.sync_state = None
        while len(self.screen_stack) > 1:
            await self.pop_screen()
        for name in self._main:
            self.uninstall_screen(name)
        self._main = {}
        self.session, self.person = None, None
        if session.via != "given":
            session.vault.close()
        unlock = UnlockScreen(self.home, silent=False)
        await self.push_screen(unlock, self._unlocked)
        if message:
            unlock.call_after_refresh(unlock.notify, message, severity="warning", timeout=10)

    def notify(self, message: str, *, title: str = "", severity: SeverityLevel = "information",
               timeout: float | None = None, markup: bool = True) -> None:
        """Notify, never reading the message as markup: it often quotes a title or a name
        from the vault ("[/x]" would raise, "[link=…]" would become a link)."""
        super().notify(notice(message), title=notice(title), severity=severity,
                       timeout=timeout, markup=False)

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key):
            self._active = True
        await super().on_event(event)

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in NEEDS_VAULT:
            return self.session is not None
        return True

    async def action_go(self, name: str) -> None:
        """Show one of the main screens."""
        await self.go(name)

    async def go(self, name: str) -> None:
        """Show the main screen `name`, closing any dialog first."""
        if self.session is None:
            return
        while isinstance(self.screen, ModalScreen) and len(self.screen_stack) > 2:
            await self.pop_screen()
        if self.screen is not self.get_screen(name):
            await self.switch_screen(name)

    def action_next_person(self) -> None:
        """Show the next person of the vault."""
        people = self.vault.people.list()
        ids = [p.id for p in people]
        here = ids.index(self.current_person.id) if self.current_person.id in ids else -1
        self.person = people[(here + 1) % len(people)]
        self.notify(_("Showing {name}").format(name=self.person.name), timeout=2)

    # -- writing out of the vault (as the CLI's summary, agenda export, backup) ------------

    def folder(self) -> Path:
        """Where a file picker starts (tui/paths.py): this session's last folder, else the
        folder of the last import, kept in the vault from an earlier session."""
        kept = self.vault.preferences.get(LAST_IMPORT_FOLDER)
        return start_folder(self.last_folder or (Path(kept) if kept else None))

    def imported_from(self, folder: Path) -> None:
        """Remember the folder of an import, for this session and the next ones."""
        self.last_folder = folder
        try:
            self.vault.preferences.set(LAST_IMPORT_FOLDER, str(folder))
        except (BusyError, IntegrityError):
            pass  # a preference is not worth an error: this session still starts there

    def _export(self, export: Export) -> None:
        keys = self.vault.store.keys
        self.push_screen(ExportForm(export, self.vault.path, keys, self.folder()),
                         self._exported)

    def _exported(self, said: str | None) -> None:
        if said:
            self.notify(said)

    def action_summary_pdf(self) -> None:
        """Write the PDF summary of the person shown."""
        self._export(pdf_summary(self.current_person))

    def action_export_calendar(self) -> None:
        """Write the calendar (.ics) of the person shown, or everyone's."""
        self._export(calendar(self.current_person))

    def action_backup(self) -> None:
        """Write an encrypted backup of the whole vault."""
        self._export(backup_export())

    def action_emergency_card(self) -> None:
        """Show the emergency card of the person shown, and write its QR code on request."""
        try:
            screen = card_screen(self.vault, self.current_person, self.folder())
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.push_screen(screen)

    # -- sync (the screens' parts: tui/screens/sync_view.py, conflicts.py) ------------------

    def refresh_sync(self) -> None:
        """Read the sync state again; show it in every header and in Home's panel."""
        if self.session is None:
            return
        try:
            self.sync_state = self.vault.sync_status()
        except MsanteError:
            self.sync_state = None
        self._show_sync()

    def _show_sync(self) -> None:
        screens = [*self._main.values(), *(s for s in self.screen_stack
                                           if isinstance(s, ConflictsScreen))]
        for screen in screens:
            if screen.loaded:
                screen.name_the_person()
        home = self._main.get("home")
        if isinstance(home, HomeScreen) and home.loaded:
            home.show_sync()

    def with_sync_state(self, text: str) -> str:
        """A header's text with the sync's few words after it, when this vault syncs."""
        words = sync_view.short(self.sync_state, self.syncing is not None)
        return _("{screen} · {sync}").format(screen=text, sync=words) if words else text

    def action_sync_now(self) -> None:
        """Sync with the server now, in a worker; say what it did."""
        if self.syncing is not None:
            self.notify(_("A sync is already running."))
            return
        if not (self.sync_state or {}).get("configured"):
            self.notify(_("This vault is not set up for sync: msante sync setup SERVER_URL."),
                        severity="warning")
            return
        self.syncing = _("Syncing…")
        self._show_sync()
        self._sync_worker()

    @work(thread=True, exclusive=True, group="sync")
    def _sync_worker(self) -> None:
        """The sync itself, on a vault opened in this thread (`Vault.sync_apart`)."""
        def progress(blob: str, done: int, total: int) -> None:
            self.call_from_thread(self._sync_progress, sync_view.progress_text(blob, done, total))

        vault = self.vault
        try:
            result = vault.sync_apart(progress)
        except MsanteError as exc:
            self.call_from_thread(self._synced, None, exc.message)
        except Exception as exc:  # never a traceback in the TUI: the runner kept the kind
            self.call_from_thread(self._synced, None, _("unexpected error ({kind})").format(
                kind=type(exc).__name__))
        else:
            self.call_from_thread(self._synced, result, None)

    def _sync_progress(self, text: str) -> None:
        if self.syncing is not None:
            self.syncing = text
            self._show_sync()

    def _synced(self, result: dict[str, Any] | None, error: str | None) -> None:
        self.syncing = None
        if self.session is None:
            return  # locked meanwhile
        if result is not None:
            self.notify(sync_view.result_text(result))
        else:
            self.notify(_("Sync failed: {error}").format(error=error), severity="error",
                        timeout=10)
        if isinstance(self.screen, MainScreen) and self.screen.loaded:
            self.screen.reload()  # what the sync brought
        self.refresh_sync()

    def action_sync_conflicts(self) -> None:
        """Show the sync conflicts (records changed on two devices)."""
        if not isinstance(self.screen, ConflictsScreen):
            self.push_screen(ConflictsScreen())

    def action_toggle_theme(self) -> None:
        """Switch between the light and the dark theme."""
        self.theme = LIGHT if self.current_theme.dark else DARK

    async def action_lock(self) -> None:
        """Lock now (stopping the agent when the key came from it)."""
        if self.session is not None and self.session.via == "agent":
            agent.stop_agent(self.home)
        await self.lock(_("Locked."))

    def action_help(self) -> None:
        """Show the keys of the current screen."""
        if isinstance(self.screen, HelpScreen):
            return
        self.push_screen(HelpScreen(self._help_title(self.screen), self.keys_of(self.screen)))

    def _help_title(self, screen: Screen[Any]) -> str:
        label = _("Unlock") if isinstance(screen, UnlockScreen) else (
            screen.label() if isinstance(screen, MainScreen) else screen.sub_title)
        return _("Keys: {screen}").format(screen=label or screen.__class__.__name__)

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Textual's own palette entries, in the user's language, without "Screenshot".

        A screenshot is an SVG of the screen written in the clear to the current directory:
        health data on disk outside the vault, so it is not offered (the keys panel is `?`).
        """
        yield SystemCommand(_("Theme"), _("Choose the colours"), self.action_change_theme)
        if screen.maximized is not None:
            yield SystemCommand(_("Restore"), _("Give the maximised part its place back"),
                                screen.action_minimize)
        elif screen.focused is not None and screen.focused.allow_maximize:
            yield SystemCommand(_("Maximise"), _("Give the focused part the whole window"),
                                screen.action_maximize)

    def keys_of(self, screen: Screen[Any]) -> list[tuple[str, str]]:
        """(key, description) of the keys `screen` offers, its own first (tui/keys.py)."""
        return [(self.get_key_display(active.binding), description)
                for active, description in offered(screen)]

def main(home: Path | None = None) -> None:
    """Run the TUI on the vault at `home` (default: MSANTE_HOME or the user's data dir)."""
    from msante import paths
    from msante.vault import header
    from msante.vault.hardening import protect_process

    base = home or paths.home()
    header.load(base)  # NotFoundError with the usual message when there is no vault
    protect_process()
    app = MsanteApp(base)
    try:
        app.run()
    finally:
        if app.session is not None:
            app.session.vault.close()
