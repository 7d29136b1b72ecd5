"""What the CLI writes out of the vault, from the TUI: the PDF summary, the emergency card and
its QR code, the calendar (.ics) and the backup.

Each is a form asking for a new file; the writing runs in a worker thread on its own
connection to the vault (SQLite connections stay in their thread), through the same core call
as the CLI command: `profile.summary.save_pdf`/`save_qr`, `agenda.ics.export_ics`,
`backup.create`. Every file is new, 0600 and recorded in the history, as from the CLI.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, ProgressBar, Static

from msante.api import Vault
from msante.errors import MsanteError
from msante.i18n import _, ngettext
from msante.people import Person
from msante.tui.paths import PathSuggester, in_words, system_error
from msante.tui.screens.path_form import PathForm
from msante.tui.widgets import Plain
from msante.vault.keys import Keys

Run = Callable[[Vault, Path, bool], str]
"""Write the file at this path (the option ticked or not); what to say once written."""


@dataclass(frozen=True)
class Export:
    """One kind of file to write: the form's words and the core call that writes it."""

    title: str
    intro: str
    default: str
    run: Run
    option: str = ""
    """A check box's label (the calendar: everyone's), none when empty."""


class ExportForm(PathForm[str | None]):
    """Ask for a new file, write it in a worker thread; dismissed with what was said."""

    DEFAULT_CSS = """
    ExportForm { align: center middle; background: $background 60%; }
    ExportForm > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%; padding: 0 1;
        border: thick $primary; background: $surface;
    }
    ExportForm #intro { margin-bottom: 1; }
    ExportForm #progress { display: none; margin-top: 1; }
    ExportForm #progress.running { display: block; }
    ExportForm #message { height: auto; margin-top: 1; }
    ExportForm #message.error { color: $error; text-style: bold; }
    ExportForm .buttons { height: auto; align-horizontal: right; }
    ExportForm Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", _("Close"))]

    def __init__(self, export: Export, base: Path, keys: Keys, folder: Path) -> None:
        super().__init__()
        self.export, self.base, self.keys = export, base, keys
        self.path = folder / export.default
        self.running = False
        self.said: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(self.export.title)
            yield Plain(self.export.intro, id="intro")
            yield Input(str(self.path), id="path", suggester=PathSuggester(),
                        placeholder=_("A new file (Tab completes a folder's name)"))
            if self.export.option:
                yield Checkbox(self.export.option, id="option")
            yield ProgressBar(id="progress", total=None, show_eta=False,
                              show_percentage=False)
            yield Plain("", id="message")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(_("Write"), id="go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#path", Input).focus()

    def _start(self) -> None:
        if self.running:
            return
        if self.said is not None:  # written: the button now closes
            self.dismiss(self.said)
            return
        text = self.query_one("#path", Input).value.strip()
        if not text:
            self._say(_("Give the new file's name."), error=True)
            return
        option = self.query(Checkbox)
        self.running = True
        self.query_one("#progress", ProgressBar).add_class("running")
        self.query_one("#go", Button).disabled = True
        self._say(_("Writing…"))
        self._write(Path(text).expanduser(), bool(option and option.first().value))

    @work(thread=True, exclusive=True, group="export")
    def _write(self, path: Path, option: bool) -> None:
        try:
            with Vault.open(self.base, self.keys) as vault:
                said = self.export.run(vault, path, option)
        except MsanteError as exc:
            self.app.call_from_thread(self._failed, in_words(exc.message))
        except OSError as exc:
            self.app.call_from_thread(self._failed, system_error(path, exc))
        else:
            self.app.call_from_thread(self._done, said)

    def _failed(self, message: str) -> None:
        self.running = False
        self.query_one("#progress", ProgressBar).remove_class("running")
        self.query_one("#go", Button).disabled = False
        self._say(message, error=True)
        self.query_one("#path", Input).focus()

    def _done(self, said: str) -> None:
        self.running = False
        self.said = said
        self.query_one("#progress", ProgressBar).remove_class("running")
        self._say(said)
        go = self.query_one("#go", Button)
        go.label, go.disabled = _("Close"), False
        go.focus()
        self.query_one("#cancel", Button).display = False

    def action_close(self) -> None:
        """Close (a write under way finishes first: it is one transaction)."""
        if not self.running:
            self.dismiss(self.said)


# -- the four exports --------------------------------------------------------------------------


def pdf_summary(person: Person) -> Export:
    """The printable summary of the person's profile (`msante summary --pdf`)."""
    def run(vault: Vault, path: Path, _option: bool) -> str:
        from msante.profile.summary import build_summary, save_pdf

        pages = save_pdf(vault, build_summary(vault, vault.people.get(person.id)), path)
        return ngettext("Summary written to {path} ({pages} page).",
                        "Summary written to {path} ({pages} pages).", pages).format(
            path=path, pages=pages)

    return Export(_("PDF summary of {name}").format(name=person.name), _(
        "A printable A4 summary of the medical profile. The file holds health data in "
        "clear: it is written 0600 and recorded in the history."),
        _("summary-{name}.pdf").format(name=_file_part(person.name)), run)


def calendar(person: Person) -> Export:
    """Appointments and due prevention as iCalendar (`msante agenda export --ics`)."""
    def run(vault: Vault, path: Path, everyone: bool) -> str:
        from msante.agenda.ics import export_ics

        who = None if everyone else vault.people.get(person.id)
        done = export_ics(vault, path, person=who)
        left = len(done.get("skipped", []))
        events, todos = int(done["events"]), int(done["todos"])
        said = _("Written to {path}: {events}, {todos}.").format(
            path=path,
            events=ngettext("{n} appointment", "{n} appointments", events).format(n=events),
            todos=ngettext("{n} prevention item", "{n} prevention items", todos).format(n=todos))
        if left:
            said += " " + ngettext("{n} left out (see msante agenda export).",
                                   "{n} left out (see msante agenda export).", left).format(n=left)
        return said

    return Export(_("Export the calendar (.ics)"), _(
        "{name}'s appointments and due prevention items as an iCalendar file, for a calendar "
        "application. Written 0600 and recorded in the history.").format(name=person.name),
        "agenda.ics", run, option=_("Everyone's, not only {name}'s").format(name=person.name))


def backup_export() -> Export:
    """An encrypted archive of the whole vault (`msante backup create`)."""
    def run(vault: Vault, path: Path, _option: bool) -> str:
        from msante import backup

        done = backup.create(vault.store, path)
        return _("Backup written to {path}.").format(path=path) + " " + ngettext(
            "{n} document file.", "{n} document files.", int(done["blobs"])).format(
            n=done["blobs"])

    return Export(_("Back up the vault"), _(
        "An encrypted archive of the whole vault, everyone's records. It opens with the "
        "passphrase or the recovery key (msante backup restore)."),
        "msante-backup.msb", run)


def _file_part(name: str) -> str:
    """A person's name as a file name part: letters and digits, dashes between words."""
    return "-".join("".join(c for c in word if c.isalnum()) for word in name.split()) or "x"


# -- the emergency card ------------------------------------------------------------------------


class CardScreen(ModalScreen[None]):
    """The emergency card on screen, and its QR code written to a PNG file on request."""

    DEFAULT_CSS = """
    CardScreen { align: center middle; background: $background 60%; }
    CardScreen > Vertical {
        width: 72; max-width: 100%; height: auto; max-height: 100%; padding: 0 1;
        border: thick $error; background: $surface;
    }
    CardScreen VerticalScroll { height: auto; max-height: 12; }
    CardScreen #path { margin-top: 1; }
    CardScreen #message { height: auto; }
    CardScreen #message.error { color: $error; text-style: bold; }
    CardScreen .buttons { height: auto; align-horizontal: right; }
    CardScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", _("Close"))]

    def __init__(self, title: str, body: str, write: Callable[[Path], str],
                 folder: Path, person: Person) -> None:
        super().__init__()
        self.title_text, self.body, self.write = title, body, write
        self.path = folder / _("emergency-{name}.png").format(name=_file_part(person.name))

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(self.title_text)
            with VerticalScroll(id="card"):
                yield Plain(self.body)
            yield Input(str(self.path), id="path", suggester=PathSuggester(),
                        placeholder=_("The QR code's PNG file (new)"))
            yield Plain(_("The QR code holds the card's text, in clear (0600, recorded in the "
                          "history)."), id="message")
            with Horizontal(classes="buttons"):
                yield Button(_("Close"), id="cancel")
                yield Button(_("Write the QR code"), id="go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#go", Button).focus()

    @on(Input.Submitted, "#path")
    @on(Button.Pressed, "#go")
    def _go(self) -> None:
        text = self.query_one("#path", Input).value.strip()
        message = self.query_one("#message", Static)
        if not text:
            message.update(_("Give the new file's name."))
            message.add_class("error")
            return
        path = Path(text).expanduser()
        try:
            said = self.write(path)
        except MsanteError as exc:
            said, error = in_words(exc.message), True
        except OSError as exc:
            said, error = system_error(path, exc), True
        else:
            error = False
            self.query_one("#go", Button).disabled = True
        message.update(said)
        message.set_class(error, "error")

    @on(Button.Pressed, "#cancel")
    def action_close(self) -> None:
        """Close."""
        self.dismiss(None)


def card_screen(vault: Vault, person: Person, folder: Path) -> CardScreen:
    """The person's emergency card (`msante summary --emergency [--qr FILE]`)."""
    from msante.profile.summary import QR_MAX_BYTES, describe, emergency_card, save_qr

    card = emergency_card(vault, person)
    lines = card.text().splitlines()

    def write(path: Path) -> str:
        fitted = save_qr(vault, person, card, path)
        said = _("QR code written to {path} ({n} bytes of text).").format(
            path=path, n=fitted.size)
        if fitted.dropped:
            said += " " + _("Left out of the QR code to fit in {n} bytes: {items}.").format(
                n=QR_MAX_BYTES, items=", ".join(describe(d) for d in fitted.dropped))
        return said

    return CardScreen(lines[0] if lines else "", "\n".join(lines[1:]), write, folder, person)
