"""Profile: the medical profile section by section, each entry editable in a form.

The sections, their fields and their rules are data (`msante.profile.sections`); this screen
and its form (profile_form.py) are built from them, so a new section or field needs no TUI
change. Every change goes through the same service calls as `msante profile`: a clinical fact
removed is marked "entered in error" and stays in its history; a trusted person or a habit is
deleted. A child who came of age is read only: the screen says so instead of opening a form.
"""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Header, OptionList, Static
from textual.widgets.option_list import Option

from msante.errors import MsanteError
from msante.i18n import _, ngettext
from msante.profile import sections
from msante.profile.sections import Section
from msante.profile.service import NONE_SECTIONS, STATUS_LABELS, Entry
from msante.tui.footer import MsanteFooter
from msante.tui.screens.base import MainScreen
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import day
from msante.tui.screens.nav import NavBar
from msante.tui.screens.profile_form import EntryForm
from msante.tui.screens.profile_view import (
    cell,
    detail,
    details,
    entry_title,
    none_text,
    row_style,
    section_prompt,
    status_label,
)
from msante.tui.widgets import MUTED, Plain, PlainTable

LIMIT = 200
DATE_WIDTH, ENTRY_MIN, DETAILS_MIN = 10, 12, 10
NARROW = 60  # under this table width, the details column gives way (the pane shows them)


class SectionList(OptionList):
    """The sections with their counts, right-aligned to the list's width."""

    def on_resize(self) -> None:
        if isinstance(self.screen, ProfileScreen) and self.screen.loaded:
            self.screen.show_sections()


class EntryTable(PlainTable[Any]):
    """The entries of the chosen section; Enter edits the highlighted one."""

    def on_resize(self, event: events.Resize) -> None:
        if isinstance(self.screen, ProfileScreen):
            self.screen.fit(event.size.width)


class ProfileScreen(MainScreen):
    """The selected person's medical profile."""

    NAME = "profile"
    SUB_TITLE = _("Profile")

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (96, "-wide")]
    DEFAULT_CSS = """
    ProfileScreen #body { height: 1fr; }
    ProfileScreen #sections {
        width: 36; height: 1fr; border: round $primary-darken-1; padding: 0;
        background: transparent;
        & > .option-list--option { padding: 0 1; }
    }
    ProfileScreen.-narrow #sections { width: 34; }
    ProfileScreen #sections:focus, ProfileScreen EntryTable:focus { border: round $accent; }
    ProfileScreen EntryTable {
        height: auto; min-height: 5; max-height: 50%; border: round $primary-darken-1;
    }
    ProfileScreen #detail { height: 1fr; border: round $primary-darken-1; padding: 0 1; }
    ProfileScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    ProfileScreen #status.-read-only { color: $text-warning; text-style: bold; }
    """
    BINDINGS = [
        Binding("a", "add", _("Add")),
        Binding("e", "edit", _("Edit")),
        Binding("delete", "remove", _("Remove")),
        Binding("n", "none_known", _("None known")),
        Binding("r", "toggle_removed", _("Removed entries"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.section: Section = sections.SECTIONS[0]
        self.entries: dict[str, Entry] = {}
        self.show_removed = False
        self._width = 0
        self._select: str | None = None  # the entry to put the cursor on at the next fill
        self._counts: dict[str, int] = {}
        self._stated: set[str] = set()

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        with Horizontal(id="body"):
            yield SectionList(*(Option(_(s.label), id=s.name) for s in sections.SECTIONS),
                              id="sections")
            with Vertical(id="main"):
                yield EntryTable(cursor_type="row", zebra_stripes=True, id="entries")
                with VerticalScroll(id="detail"):
                    yield Plain(id="entry")
        yield Plain(id="status")
        yield MsanteFooter()

    def on_mount(self) -> None:
        self.query_one("#sections").border_title = _("Sections")
        self.query_one("#detail").border_title = _("Detail and history")
        self._columns()
        super().on_mount()
        self.query_one(SectionList).focus()

    # -- what is shown ---------------------------------------------------------------------

    def reload(self) -> None:
        try:
            self._counts = self.vault.profile.counts(self.person)
            self._stated = self.vault.profile.none_stated(self.person)
        except MsanteError as exc:
            self._status(exc.message)
            return
        self.show_sections()
        self._fill()

    def show_sections(self) -> None:
        """Write each section's count (or "none") at the right of its label."""
        listing = self.query_one(SectionList)
        width = listing.scrollable_content_region.width - 2  # the options' padding
        for spec in sections.SECTIONS:
            listing.replace_option_prompt(spec.name, section_prompt(
                spec, self._counts.get(spec.name, 0), spec.name in self._stated, width))
        if listing.highlighted is None:
            listing.highlighted = 0

    def _fill(self) -> None:
        table = self.query_one(EntryTable)
        keep = self._select or (self.current.id if self.current else None)
        self._select = None
        try:
            entries = self.vault.profile.list(self.person, self.section.name,
                                              everything=self.show_removed)
        except MsanteError as exc:
            entries = []
            self.notify(exc.message, severity="error")
        table.clear()
        self.entries = {e.id: e for e in entries[:LIMIT]}
        with_details, with_date, with_status = self._layout()
        titles = self._titles()
        for e in self.entries.values():
            style = row_style(e.status)
            cells = [cell(entry_title(e, titles), style)]
            cells += [cell(details(e, titles), style)] if with_details else []
            cells += [cell(e.sort_date or "", style)] if with_date else []
            cells += [cell(status_label(e.status))] if with_status else []
            table.add_row(*cells, key=e.id)
        if keep in self.entries:
            table.move_cursor(row=table.get_row_index(keep))
        table.border_title = _(self.section.label)
        self._show_detail()
        self._status(more=len(entries) > LIMIT)

    def _layout(self) -> tuple[bool, bool, bool]:
        """Which of the details, date and status columns the table has now (narrow: the
        details give way, then the date to the status; the pane shows everything)."""
        wide = self._width >= NARROW
        dated = self.section.date_field is not None and (wide or not self.show_removed)
        return wide, dated, self.show_removed

    def _columns(self) -> None:
        """Share the table's width: the entry and its details take what the others leave."""
        table = self.query_one(EntryTable)
        table.clear(columns=True)
        with_details, with_date, with_status = self._layout()
        status = max(len(status_label(s)) for s in STATUS_LABELS)
        fixed = (DATE_WIDTH + 2 if with_date else 0) + (status + 2 if with_status else 0)
        # 2 for the border, 2 for the scroll bar, 2 of padding per column
        free = max(0, self._width - 4 - 2 * (1 + with_details) - fixed)
        entry = max(ENTRY_MIN, free * 2 // 5 if with_details else free)
        table.add_column(_("Entry"), width=entry, key="entry")
        if with_details:
            table.add_column(_("Details"), width=max(DETAILS_MIN, free - entry), key="details")
        if with_date:
            table.add_column(_("Date"), width=DATE_WIDTH, key="date")
        if with_status:
            table.add_column(_("Status"), width=status, key="status")

    def fit(self, width: int) -> None:
        """Share the table's width between the entry and its details (no `1fr` in a table)."""
        if width == self._width:
            return
        self._width = width
        self._columns()
        if self.loaded:
            self._fill()

    @property
    def current(self) -> Entry | None:
        """The highlighted entry, if any."""
        table = self.query_one(EntryTable)
        if not self.entries or not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.entries.get(key) if key is not None else None

    def _show_detail(self) -> None:
        entry = self.current
        pane = self.query_one("#entry", Static)
        if entry is None:
            pane.update(self._empty_hint())
            return
        try:
            pane.update(detail(entry, self.vault.profile.history(entry), self._titles()))
        except MsanteError as exc:
            pane.update(exc.message)

    def _empty_hint(self) -> Content:
        lines = [_("Nothing recorded in {section}.").format(section=_(self.section.label))]
        if self.person.read_only(self.clock.today()):
            return Content.styled(lines[0], MUTED)
        lines.append(_("a: add an entry"))
        if self.section.name in NONE_SECTIONS:
            lines.append(_("n: state “{text}”").format(text=none_text(self.section.name)))
        return Content.styled("\n".join(lines), MUTED)

    def _status(self, message: str = "", *, more: bool = False) -> None:
        line = self.query_one("#status", Static)
        read_only = self.person.read_only(self.clock.today())
        line.set_class(read_only, "-read-only")
        if read_only:
            text = _("{name} is of age: read only").format(name=self.person.name)
        else:
            n = len(self.entries)
            text = message or self.person.name + " · " + (
                _("the first {n} entries").format(n=LIMIT) if more
                else ngettext("{n} entry", "{n} entries", n).format(n=n))
        if self.show_removed and not message:
            text += " · " + _("removed ones shown (r)")
        line.update(text)

    # -- moving around ---------------------------------------------------------------------

    @on(OptionList.OptionHighlighted, "#sections")
    def _section_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option_id and event.option_id != self.section.name:
            self.section = sections.get(event.option_id)
            self.refresh_bindings()
            self._columns()
            self._fill()

    @on(OptionList.OptionSelected, "#sections")
    def _to_table(self) -> None:
        self.query_one(EntryTable).focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show_detail()

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_edit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "none_known":
            return self.section.name in NONE_SECTIONS
        return True

    # -- changes ---------------------------------------------------------------------------

    def _writable(self, entry: Entry | None = None) -> bool:
        """Whether the person's profile (and `entry`) may change; says why not otherwise."""
        try:
            self.vault.people.check_writable(self.person, self.clock.today())
        except MsanteError as exc:
            self.notify(exc.message, severity="warning", timeout=8)
            return False
        if entry is not None and entry.status != "current":
            self.notify(_("This entry is {status}: it can no longer change.").format(
                status=_(STATUS_LABELS.get(entry.status, entry.status))), severity="warning")
            return False
        return True

    def action_add(self) -> None:
        """Add an entry to the chosen section, in a form."""
        if not self._writable():
            return
        spec, person = self.section, self.person
        form = EntryForm(spec, lambda values: self.vault.profile.add(person, spec.name, values),
                         documents=self._documents(spec), note=self._replaces(spec))
        self.app.push_screen(form, lambda entry: self._saved(entry, _("Added {text} ({id}).")))

    def action_edit(self) -> None:
        """Change the highlighted entry, in a form."""
        entry = self.current
        if entry is None or not self._writable(entry):
            return
        if entry.is_none_statement:
            self.notify(_("A \"no known …\" statement has no fields to change: add the entry "
                          "itself, it replaces the statement."), severity="warning")
            return
        spec = sections.get(entry.section)
        form = EntryForm(spec, lambda values: self.vault.profile.edit(
                             entry.id, values, revision=entry.revision),
                         entry=entry, documents=self._documents(spec))
        self.app.push_screen(form, lambda e: self._saved(e, _("Changed {text} ({id}).")))

    def _saved(self, entry: Entry | None, message: str) -> None:
        if entry is not None:
            self.notify(message.format(text=entry_title(entry, self._titles()),
                                       id=entry.id[:8]))
            self._select = entry.id
            self.reload()

    def _documents(self, spec: Section) -> list[tuple[str, str]]:
        """The person's documents, for a field that names one (advance directives)."""
        if not any(f.kind == "doc" for f in spec.fields):
            return []
        docs = self.vault.documents.list(person=self.person, limit=LIMIT)
        return [(f"{day(d.date)} {d.title}", d.id) for d in docs]

    def _titles(self) -> dict[str, str]:
        """Document id → its date and title, when the section names documents."""
        return {doc_id: label for label, doc_id in self._documents(self.section)}

    def _replaces(self, spec: Section) -> str:
        """What a new entry will supersede: the blood group, or "no known allergy"."""
        if spec.single:
            old = self.vault.profile.list(self.person, spec.name)
            if old:
                return _("Saving replaces {text}, which is kept as superseded.").format(
                    text=old[0].text())
        elif spec.name in self.vault.profile.none_stated(self.person):
            return _("Saving replaces “{text}”.").format(text=none_text(spec.name))
        return ""

    def action_remove(self) -> None:
        """Remove the highlighted entry, after a confirmation that says what removing does."""
        entry = self.current
        if entry is None or not self._writable(entry):
            return
        if sections.get(entry.section).clinical:
            question = _("Mark “{text}” as entered in error? It leaves the profile and the "
                         "summaries, and stays in its history (r shows it).")
            yes = _("Mark entered in error")
        else:
            question = _("Delete “{text}” for good? A trusted person or a habit keeps no "
                         "history.")
            yes = _("Delete")
        text = entry_title(entry, self._titles())
        self.app.push_screen(ConfirmScreen(question.format(text=text), yes),
                             lambda ok: self._remove(entry) if ok else None)

    def _remove(self, entry: Entry) -> None:
        try:
            self.vault.profile.remove(entry.id)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        text = (_("Marked as entered in error: {text}")
                if sections.get(entry.section).clinical else _("Deleted: {text}"))
        self.notify(text.format(text=entry_title(entry, self._titles())))
        self.reload()

    def action_none_known(self) -> None:
        """State "no known allergy" (treatment, medical history) for the chosen section."""
        if not self._writable():
            return
        try:
            entry = self.vault.profile.add_none(self.person, self.section.name)
        except MsanteError as exc:
            self.notify(exc.message, severity="warning")
            return
        self._saved(entry, _("Added {text} ({id})."))

    def action_toggle_removed(self) -> None:
        """Show or hide the entries entered in error or superseded."""
        self.show_removed = not self.show_removed
        self._columns()
        self._fill()
