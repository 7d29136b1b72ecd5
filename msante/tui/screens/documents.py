"""Documents: a table fed by SQL with a limit, filtered as you type, and a preview pane.

The table never holds more than LIMIT rows: a listing or a search with a limit is a few
milliseconds whatever the vault holds, where a 10,000-row DataTable takes seconds to settle.
Reading a document's text is audited by the service, so the text is loaded only on Enter;
moving through the table shows the metadata only.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Select, Static

from msante.documents.model import Document
from msante.documents.service import export_name
from msante.documents.viewing import QUICK_S, remove_copy, viewer_command
from msante.errors import MsanteError
from msante.i18n import _, ngettext
from msante.tui.footer import MsanteFooter
from msante.tui.paths import in_words, system_error
from msante.tui.screens.base import MainScreen
from msante.tui.screens.dialogs import ConfirmScreen, DoneScreen, PathScreen
from msante.tui.screens.doc_edit import EditDocumentScreen
from msante.tui.screens.doc_import import ImportScreen, Outcome
from msante.tui.screens.doc_parts import (
    as_you_type,
    highlighted,
    marks,
    metadata,
    period_bounds,
    period_options,
    type_options,
    within,
)
from msante.tui.screens.home import day
from msante.tui.screens.nav import NavBar
from msante.tui.widgets import MUTED, Plain, PlainTable

LIMIT = 200
DEBOUNCE_S = 0.15
TEXT_CHARS = 20_000
TITLE_MIN, TYPE_WIDTH, MARKS_WIDTH = 16, 16, 6
NARROW = 60  # under this table width, the type column gives way to the title


class DocumentTable(PlainTable[str]):
    """The documents table: Enter reads the highlighted document's text."""

    BINDINGS = [Binding("enter", "select_cursor", _("Read"))]

    def on_resize(self, event: events.Resize) -> None:
        if isinstance(self.screen, DocumentsScreen):
            self.screen.fit(event.size.width)


class DocumentsScreen(MainScreen):
    """The selected person's documents."""

    NAME = "documents"
    SUB_TITLE = _("Documents")

    DEFAULT_CSS = """
    DocumentsScreen #filters { height: 3; }
    DocumentsScreen #filter { width: 1fr; }
    DocumentsScreen #type { width: 24; }
    DocumentsScreen #period { width: 22; }
    DocumentsScreen #body { height: 1fr; }
    DocumentsScreen DocumentTable { width: 1fr; height: 1fr; }
    DocumentsScreen #preview {
        width: 36%; height: 1fr; border: round $primary-darken-1; padding: 0 1;
    }
    DocumentsScreen #text { margin-top: 1; }
    DocumentsScreen #count { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("slash", "focus_filter", _("Search")),
        Binding("escape,down", "focus_table", _("To the table"), show=False),
        Binding("i", "import", _("Import")),
        Binding("o", "open", _("Open"), show=False),
        Binding("e", "edit", _("Edit")),
        Binding("h", "hide", _("Hide"), show=False),
        Binding("x", "export", _("Export"), show=False),
        Binding("delete", "trash", _("Delete")),
        Binding("r", "restore", _("Restore")),
        Binding("t", "toggle_trash", _("Trash")),
    ]
    IN_TRASH = ("restore",)
    OUT_OF_TRASH = ("import", "edit", "hide")

    def __init__(self) -> None:
        super().__init__()
        self.docs: dict[str, Document] = {}
        self.snippets: dict[str, str] = {}
        """The search's snippet of each document found, by id."""
        self._with_type = True
        self._chosen: dict[str, object] = {}
        self.shown = 0  # how many times the table was filled (tests and the bench wait on it)
        self._debounce: Timer | None = None
        self.in_trash = False
        self.copies: set[Path] = set()  # decrypted copies open in a viewer, removed on unmount

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        with Horizontal(id="filters"):
            yield Input(placeholder=_("Search: words, \"a phrase\", prefix*  (/)"), id="filter")
            yield Select[str](type_options(), prompt=_("All types"), id="type")
            yield Select[str](period_options(), prompt=_("Any date"), id="period")
        with Horizontal(id="body"):
            yield DocumentTable(cursor_type="row", zebra_stripes=True, id="table")
            with VerticalScroll(id="preview"):
                yield Plain(id="meta")
                yield Plain(id="text")
        yield Plain(id="count")
        yield MsanteFooter()

    def on_mount(self) -> None:
        self._columns(TITLE_MIN)
        self.query_one("#preview").border_title = _("Preview")
        super().on_mount()
        self.query_one(DocumentTable).focus()

    def _columns(self, title_width: int, type_width: int = TYPE_WIDTH) -> None:
        table = self.query_one(DocumentTable)
        table.clear(columns=True)
        table.add_column(_("Date"), width=10, key="date")
        table.add_column(_("Title"), width=title_width, key="title")
        if self._with_type:
            table.add_column(_("Type"), width=type_width, key="type")
        table.add_column("", width=MARKS_WIDTH, key="marks")

    def _widths(self, table_width: int, docs: list[Document]) -> tuple[int, int]:
        """The title's and the type's widths: the type as long as its longest label when the
        title keeps as much room (a DataTable has no `1fr`), the title what is left."""
        # each column has one cell of padding on both sides; 2 more for the scroll bar
        fixed = 10 + MARKS_WIDTH + 3 * 2 + 2
        if not self._with_type:
            return max(TITLE_MIN, table_width - fixed), 0
        need = max([TYPE_WIDTH, *(cell_len(d.type_label) for d in docs)])
        type_width = min(need, max(TYPE_WIDTH, (table_width - fixed - 2) // 2))
        return max(TITLE_MIN, table_width - fixed - type_width - 2), type_width

    def fit(self, table_width: int, docs: list[Document] | None = None) -> None:
        """Share the table's width between the title and the type; refill the table when the
        columns change, unless `docs` are being put in it."""
        table = self.query_one(DocumentTable)
        with_type = table_width >= NARROW
        changed = with_type != self._with_type or not table.columns
        self._with_type = with_type
        shown = list(self.docs.values()) if docs is None else docs
        title, kind = self._widths(table_width, shown)
        wanted = [10, title, *([kind] if with_type else []), MARKS_WIDTH]
        if changed or [c.width for c in table.ordered_columns] != wanted:
            self._columns(title, kind)
            if docs is None:
                self._fill(shown)

    # -- the table -------------------------------------------------------------------------

    @on(Input.Changed, "#filter")
    def _typed(self) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self.reload)

    @on(Input.Submitted, "#filter")
    def _submitted(self) -> None:
        self.reload()
        self.action_focus_table()

    @on(Select.Changed, "#type, #period")
    def _select_changed(self, event: Select.Changed) -> None:
        key = event.select.id or ""
        if event.value != self._chosen.get(key, Select.NULL):  # not the Changed of its mount
            self._chosen[key] = event.value
            self.reload()

    def _query(self) -> list[Document]:
        text = self.query_one("#filter", Input).value.strip()
        chosen = self.query_one("#type", Select).value
        type_code = chosen if isinstance(chosen, str) else None
        period = self.query_one("#period", Select).value
        since, until = period_bounds(period if isinstance(period, str) else None,
                                     self.clock.today())
        self.snippets = {}
        if not text or self.in_trash:  # the trash is short: no search there
            return self.vault.documents.list(person=self.person, type_code=type_code,
                                             since=since, until=until, trashed=self.in_trash,
                                             limit=LIMIT)
        hits = self.vault.documents.search(as_you_type(text), person=self.person, limit=LIMIT)
        self.snippets = {d.id: snippet for d, snippet in hits}
        found = [d for d, _snippet in hits]
        return [d for d in found if (type_code is None or d.type_code == type_code)
                and within(d.date, since, until)]

    def resumed(self) -> None:
        """Nothing read again on return: the table, its filters and a text being read stay."""

    def reload(self) -> None:
        try:
            docs = self._query()
        except MsanteError as exc:
            self.query_one("#count", Static).update(exc.message)
            return
        self._fill(docs)
        self.shown += 1

    def _fill(self, docs: list[Document]) -> None:
        table = self.query_one(DocumentTable)
        keep = self.current.id if self.current else None
        if table.size.width:
            self.fit(table.size.width, docs)  # the type column as wide as its labels
        table.clear()
        self.docs = {d.id: d for d in docs}
        for d in docs:
            cells = (day(d.date), d.title, d.type_label, marks(d))
            table.add_row(*(cells if self._with_type else cells[:2] + cells[3:]), key=d.id)
        if keep in self.docs:
            table.move_cursor(row=table.get_row_index(keep))
        self._count(len(docs))
        self._show_meta()

    def _count(self, n: int) -> None:
        if self.in_trash:
            text = (_("The trash is empty.") if n == 0 else
                    ngettext("Trash: {n} document — Delete erases it for good",
                             "Trash: {n} documents — Delete erases one for good", n).format(n=n))
        elif n >= LIMIT:
            text = _("The first {n} documents: type more to narrow the search.").format(n=n)
        elif n == 0:
            text = _("No document matches.") if self._filtering() else _("No document yet.")
        else:
            text = _("{n} documents").format(n=n) if n > 1 else _("1 document")
        self.query_one("#count", Static).update(text)

    def _filtering(self) -> bool:
        return bool(self.query_one("#filter", Input).value.strip()) or any(
            isinstance(self.query_one(f"#{name}", Select).value, str)
            for name in ("type", "period"))

    @property
    def current(self) -> Document | None:
        """The highlighted document, if any."""
        table = self.query_one(DocumentTable)
        if not self.docs or table.cursor_row < 0 or table.cursor_row >= table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.docs.get(key) if key is not None else None

    # -- the preview -----------------------------------------------------------------------

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_meta()

    def _show_meta(self) -> None:
        doc = self.current
        self.query_one("#meta", Static).update(metadata(doc) if doc else "")
        hint = Content.styled(_(
            "Enter: read the text (the reading is recorded in the activity log)."), MUTED)
        found = self.snippets.get(doc.id) if doc else None
        if found:  # the words of the search, where they are in the text
            hint = Content("\n").join([highlighted(found), hint])
        self.query_one("#text", Static).update(hint if doc else "")

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        doc = self.current
        if doc is None:
            return
        try:
            text = self.vault.documents.text(doc)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        shown = text[:TEXT_CHARS] or _("(no text could be extracted from this file)")
        self.query_one("#text", Static).update(Content(shown))

    # -- actions ---------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        """Put the cursor in the search box."""
        self.query_one("#filter", Input).focus()

    def action_focus_table(self) -> None:
        """Go back to the table."""
        self.query_one(DocumentTable).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in self.IN_TRASH:
            return self.in_trash
        if action in self.OUT_OF_TRASH:
            return not self.in_trash
        return True

    def label(self) -> str:
        return _("Documents — trash") if self.in_trash else _("Documents")

    def action_toggle_trash(self) -> None:
        """Show the trash (to restore or erase), or the documents again."""
        self.in_trash = not self.in_trash
        self.name_the_person()
        self.query_one("#filter", Input).disabled = self.in_trash
        self.refresh_bindings()
        self.reload()
        self.action_focus_table()

    def action_import(self) -> None:
        """Import files or a folder into the person's documents."""
        screen = ImportScreen(self.vault.path, self.vault.store.keys, self.person,
                              self.msante.folder())
        self.app.push_screen(screen, self._imported)

    def _imported(self, outcome: Outcome | None) -> None:
        if outcome is not None and outcome.folder is not None:
            self.msante.imported_from(outcome.folder)
        if outcome is not None:
            self.notify(outcome.summary.describe(),
                        severity="warning" if outcome.summary.partial else "information")
        self.reload()

    def action_edit(self) -> None:
        """Fix the title, type or date, add tags or a note."""
        doc = self.current
        if doc is not None:
            self.app.push_screen(EditDocumentScreen(self.vault, doc), self._edited)

    def _edited(self, doc: Document | None) -> None:
        if doc is not None:
            self.notify(_("Document {id} updated.").format(id=doc.id[:8]))
            self.reload()

    def action_open(self) -> None:
        """Open the original file in the system's viewer (a private decrypted copy)."""
        doc = self.current
        if doc is None:
            return
        try:
            command = viewer_command()
            path = self.vault.documents.open_copy(doc)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.copies.add(path)
        self._view(command, path)

    @work(thread=True, group="viewer")
    def _view(self, command: list[str], path: Path) -> None:
        started = time.monotonic()
        try:  # quiet: a launcher's messages would scribble over the screen
            subprocess.run([*command, str(path)], check=False, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except OSError as exc:
            self.app.call_from_thread(self.notify, _("Cannot run the viewer: {error}").format(
                error=in_words(exc.strerror or str(exc))), severity="error")
        if time.monotonic() - started > QUICK_S:  # the viewer ran until it was closed
            self.app.call_from_thread(self._forget, path)
        else:  # a launcher (xdg-open) returned at once: the copy is still being read
            self.app.call_from_thread(self._ask_when_done, path)

    def _ask_when_done(self, path: Path) -> None:
        question = _("The document is open in another window. When you have finished reading "
                     "it, close this: the decrypted copy is then deleted.")
        self.app.push_screen(DoneScreen(question), lambda _done: self._forget(path))

    def _forget(self, path: Path) -> None:
        remove_copy(path)
        self.copies.discard(path)

    def on_unmount(self) -> None:
        for path in list(self.copies):  # the app quits or locks: no copy stays behind
            self._forget(path)

    def action_restore(self) -> None:
        """Take the document out of the trash."""
        doc = self.current
        if doc is None:
            return
        try:
            self.vault.documents.restore(doc)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Restored: {title}").format(title=doc.title))
        self.reload()

    def action_hide(self) -> None:
        """Hide the document from professionals, or show it again."""
        doc = self.current
        if doc is None:
            return
        try:
            changed = self.vault.documents.set_hidden(doc, not doc.hidden)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Hidden from professionals.") if changed.hidden
                    else _("Visible to professionals again."))
        self.reload()

    def action_trash(self) -> None:
        """Move the document to the trash (in the trash: erase it for good), after asking."""
        doc = self.current
        if doc is None:
            return
        if self.in_trash:
            question = _("Erase “{title}” for good? Its file and its text are destroyed; this "
                         "cannot be undone.").format(title=doc.title)
            self.app.push_screen(ConfirmScreen(question, _("Erase for good")),
                                 lambda yes: self._purge(doc) if yes else None)
            return
        question = _("Move “{title}” to the trash? It can be restored until the trash is "
                     "emptied.").format(title=doc.title)
        self.app.push_screen(ConfirmScreen(question, _("Move to trash")),
                             lambda yes: self._trash(doc) if yes else None)

    def _trash(self, doc: Document) -> None:
        try:
            self.vault.documents.trash(doc)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Moved to the trash: {title}").format(title=doc.title))
        self.reload()

    def _purge(self, doc: Document) -> None:
        try:
            self.vault.documents.purge(doc)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Erased for good: {title}").format(title=doc.title))
        self.reload()

    def action_export(self) -> None:
        """Write a copy of the original file where the person says."""
        doc = self.current
        if doc is None:
            return
        prompt = _("Write a decrypted copy of “{title}” to:").format(title=doc.title)
        self.app.push_screen(PathScreen(prompt, self.msante.folder() / export_name(doc)),
                             lambda path: self._export(doc, path) if path else None)

    def _export(self, doc: Document, path: Path) -> None:
        try:
            written = self.vault.documents.export(doc, path)
        except MsanteError as exc:
            self.notify(in_words(exc.message), severity="error")
            return
        except OSError as exc:
            self.notify(system_error(path, exc), severity="error")
            return
        self.msante.last_folder = path.parent
        self.notify(_("Exported to {path}").format(path=written))
