"""The unlock screen: the running agent or the passphrase file first, else a passphrase.

Argon2id takes about a second by design, so it runs in a worker thread; the vault itself is
opened on the UI thread (its SQLite connection belongs to the thread that made it).
"""

from __future__ import annotations

from concurrent.futures import Future
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.screen import Screen
from textual.widgets import Input, Static
from textual.worker import get_current_worker

from msante.api import Vault
from msante.errors import MsanteError, WrongKeyError
from msante.i18n import _
from msante.tui.footer import MsanteFooter
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.state import Session, Via
from msante.tui.widgets import Plain
from msante.unlock import Sources, keys_from_agent, passphrase
from msante.vault import store
from msante.vault.keys import Keys
from msante.vault.passphrase import normalize


class UnlockScreen(Screen[Session]):
    """Ask for the passphrase (no echo) unless the agent or the passphrase file has the key."""

    DEFAULT_CSS = """
    UnlockScreen { align: center middle; }
    UnlockScreen #box {
        width: 64; max-width: 100%; height: auto; padding: 1 2;
        border: round $primary; border-title-align: center;
    }
    UnlockScreen #intro { margin-bottom: 1; }
    UnlockScreen #message { height: auto; min-height: 1; margin-top: 1; }
    UnlockScreen #message.error { color: $error; text-style: bold; }
    """

    def __init__(self, home: Path, *, silent: bool = True) -> None:
        super().__init__()
        self.home = home
        self.silent = silent

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="box"):
            yield Plain(_("Your health record is locked. Type its passphrase to open it."),
                         id="intro")
            yield Input(password=True, placeholder=_("Passphrase"), id="passphrase")
            yield Plain("", id="message")
        yield MsanteFooter()

    def on_mount(self) -> None:
        self.query_one("#box").border_title = "msante"
        if self.silent:
            self._say(_("Looking for an unlocked session…"))
            self.query_one(Input).disabled = True
            self._try_silent()
        else:
            self._ask()

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.update(text)
        message.set_class(error, "error")

    def _ask(self, text: str = "", *, error: bool = False) -> None:
        box = self.query_one(Input)
        box.disabled = False
        box.value = ""
        box.focus()
        self._say(text, error=error)

    @work(thread=True, exclusive=True, group="unlock")
    def _try_silent(self) -> None:
        """The passphrase file, else the running agent (DESIGN.md: Unlocking)."""
        warnings: list[str] = []
        try:
            given = passphrase(Sources(warn=warnings.append))
            if given is not None:
                self._unlocked(store.unlock_with_passphrase(self.home, given, self._consent),
                               "file", warnings)
                return
            keys = keys_from_agent(self.home, warn=warnings.append)
        except MsanteError as exc:
            self.app.call_from_thread(self._ask, exc.message, error=True)
            return
        if keys is not None:
            self._unlocked(keys, "agent", warnings)
        else:
            self.app.call_from_thread(self._ask, "\n".join(warnings))

    @on(Input.Submitted, "#passphrase")
    def _submitted(self, event: Input.Submitted) -> None:
        if not event.value.strip():
            self._say(_("Type the passphrase, then Enter."), error=True)
            return
        event.input.disabled = True
        self._say(_("Unlocking…"))
        self._derive(normalize(event.value))

    @work(thread=True, exclusive=True, group="unlock")
    def _derive(self, text: str) -> None:
        try:
            keys = store.unlock_with_passphrase(self.home, text, self._consent)
        except WrongKeyError:
            self.app.call_from_thread(
                self._ask, _("Wrong passphrase. Check it and try again."), error=True)
            return
        except MsanteError as exc:
            self.app.call_from_thread(self._ask, exc.message, error=True)
            return
        self._unlocked(keys, "passphrase", [])

    def _consent(self, question: str) -> bool:
        """Ask before a costly KDF (from the unlock worker): a dialog, waited for here."""
        answer: Future[bool] = Future()
        self.app.call_from_thread(self.app.push_screen, ConfirmScreen(question, _("Unlock")),
                                  lambda yes: answer.set_result(bool(yes)))
        while not get_current_worker().is_cancelled:
            try:
                return answer.result(timeout=0.2)
            except TimeoutError:
                continue
        return False

    def _unlocked(self, keys: Keys, via: Via, warnings: list[str]) -> None:
        self.app.call_from_thread(self._open, keys, via, warnings)

    def _open(self, keys: Keys, via: Via, warnings: list[str]) -> None:
        try:
            vault = Vault.open(self.home, keys)
        except MsanteError as exc:
            self._ask(exc.message, error=True)
            return
        self.dismiss(Session(vault, via, warnings))
