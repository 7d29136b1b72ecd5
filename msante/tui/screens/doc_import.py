"""Importing documents from the TUI: pick files or a folder, watch the progress, read the report.

The import runs in a worker thread on its own connection to the vault (SQLite connections stay
in their thread), through the same `Importer` as `msante doc import`: the same typing, dating,
duplicate check, flags and audit. Each batch commits as it goes, so stopping keeps what was
imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Button, Checkbox, DirectoryTree, Input, ProgressBar, RichLog
from textual.worker import get_current_worker

from msante.api import Vault
from msante.documents.importer import Importer, Options, Result, Summary, walk
from msante.errors import MsanteError
from msante.i18n import _
from msante.people import Person
from msante.tui.paths import PathSuggester, in_words
from msante.tui.screens.path_form import PathForm
from msante.tui.widgets import Plain
from msante.vault.keys import Keys

MAX_LINES = 500  # lines of the report kept on screen (the counts are always whole)


class PrivateTree(DirectoryTree):
    """A directory tree without hidden files (the CLI skips them too)."""

    def filter_paths(self, paths: Iterable[Path]) -> Iterable[Path]:
        return [p for p in paths if not p.name.startswith(".")]


@dataclass
class Outcome:
    """What an import did, for the documents screen."""

    summary: Summary = field(default_factory=Summary)
    lines: list[str] = field(default_factory=list)
    stopped: bool = False
    folder: Path | None = None
    """The folder imported from (the next picker starts there)."""


class ImportScreen(PathForm[Outcome | None]):
    """Choose files or a folder and import them into the person's documents."""

    DEFAULT_CSS = """
    ImportScreen { align: center middle; background: $background 60%; }
    ImportScreen > Vertical {
        width: 90; max-width: 100%; height: 90%; padding: 0 1;
        border: thick $primary; background: $surface;
    }
    ImportScreen PrivateTree { height: 1fr; min-height: 4; }
    ImportScreen #path { margin-top: 1; }
    ImportScreen #options { height: auto; }
    ImportScreen #progress { display: none; margin-top: 1; }
    ImportScreen #progress.running { display: block; }
    ImportScreen RichLog { display: none; height: 1fr; min-height: 4; }
    ImportScreen RichLog.shown { display: block; }
    ImportScreen #message { height: auto; }
    ImportScreen #message.error { color: $error; text-style: bold; }
    ImportScreen .buttons { height: auto; align-horizontal: right; }
    ImportScreen Button { margin-left: 2; }
    """
    BINDINGS = [Binding("escape", "close", _("Close"))]

    def __init__(self, base: Path, keys: Keys, person: Person, start: Path) -> None:
        super().__init__()
        self.base, self.keys, self.person, self.start = base, keys, person, start
        self.outcome: Outcome | None = None
        self.running = False

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = Content(  # a name may hold brackets: not markup
                _("Import into {name}'s documents").format(name=self.person.name))
            yield PrivateTree(self.start, id="tree")
            yield Input(str(self.start) + "/", id="path", suggester=PathSuggester(),
                        placeholder=_("A file or a folder (Enter to import)"))
            with Horizontal(id="options"):
                yield Checkbox(_("Include sub-folders"), id="recursive")
            yield ProgressBar(id="progress", show_eta=False)
            yield RichLog(id="report", wrap=True, markup=False, max_lines=MAX_LINES)
            yield Plain(_("Pick a file or a folder in the tree, or type its path (→ completes "
                           "a name). PDFs are read and indexed; any other file is stored as it "
                           "is."),
                         id="message")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(_("Import"), id="go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#tree", DirectoryTree).focus()

    # -- choosing --------------------------------------------------------------------------

    @on(DirectoryTree.FileSelected)
    @on(DirectoryTree.DirectorySelected)
    def _picked(self, event: DirectoryTree.FileSelected | DirectoryTree.DirectorySelected) -> None:
        self.query_one("#path", Input).value = str(event.path)

    # -- importing -------------------------------------------------------------------------

    def _start(self) -> None:
        if self.running:
            return
        if self.outcome is not None:  # the report is shown: the button now closes
            self.dismiss(self.outcome)
            return
        text = self.query_one("#path", Input).value.strip()
        path = Path(text).expanduser() if text else None
        if path is None or not path.exists():
            self._say(_("No such file or folder: {path}").format(path=text or "—"), error=True)
            return
        self.running = True
        for name in ("#tree", "#path", "#options"):  # the report takes their room
            self.query_one(name).display = False
        self.query_one("#report", RichLog).add_class("shown")
        self.query_one("#progress", ProgressBar).add_class("running")
        self.query_one("#go", Button).disabled = True
        self.query_one("#cancel", Button).label = _("Stop")
        self._say(_("Listing the files…"))
        self._import(path, self.query_one("#recursive", Checkbox).value)

    @work(thread=True, exclusive=True, group="import")
    def _import(self, path: Path, recursive: bool) -> None:
        outcome = Outcome(folder=path if path.is_dir() else path.parent)
        worker = get_current_worker()
        try:
            walked = list(walk([path], recursive))
            self._tell(self._begin, len(walked))
            with Vault.open(self.base, self.keys) as vault:
                options = Options(vault.people.get(self.person.id), recursive=recursive)
                for result in Importer(vault.documents, options).run_walked(walked):
                    outcome.summary.add(result)
                    # stop after this file (its batch is committed) when asked, or when the
                    # app is gone (ctrl+q during an import)
                    if not self._tell(self._one, result) or worker.is_cancelled:
                        outcome.stopped = True
                        break
        except MsanteError as exc:
            self._tell(self._say, in_words(exc.message), error=True)
        self._tell(self._finish, outcome)

    def _tell(self, callback: Callable[..., object], *args: object, **kwargs: object) -> bool:
        """Run `callback` on the app's thread; False when the app has stopped running."""
        try:
            self.app.call_from_thread(callback, *args, **kwargs)
        except RuntimeError:
            return False
        return True

    def _begin(self, total: int) -> None:
        self.query_one("#progress", ProgressBar).update(total=total, progress=0)
        self._say(_("Importing {n} files…").format(n=total) if total != 1
                  else _("Importing 1 file…"))

    def _one(self, result: Result) -> None:
        self.query_one("#progress", ProgressBar).advance(1)
        self.query_one("#report", RichLog).write(in_words(result.describe()))

    def _finish(self, outcome: Outcome) -> None:
        self.running = False
        self.outcome = outcome
        done = outcome.summary.describe()
        if outcome.stopped:
            done = _("Stopped: what was imported is kept.") + " " + done
        error = self.query_one("#message").has_class("error")
        if not error:
            self._say(done, error=outcome.summary.partial)
        go = self.query_one("#go", Button)
        go.label, go.disabled = _("Close"), False
        go.focus()
        self.query_one("#cancel", Button).display = False

    def action_close(self) -> None:
        """Stop a running import (after the current file), or close."""
        if self.running:
            self.workers.cancel_group(self, "import")
            self._say(_("Stopping after the current file…"))
            return
        self.dismiss(self.outcome)
