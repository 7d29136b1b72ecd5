"""Activity: the audit log, its filters and its verification.

The table never holds more than LIMIT entries, the newest that match the filters; a count says
how many match in all. Looking at the log is not audited (DESIGN.md: Audit — listings are not;
`msante audit list` is not either). `v` walks the whole chain in a worker thread, on a
connection of its own, and says plainly what it found.
"""

from __future__ import annotations

import datetime as dt

from rich.cells import cell_len
from textual import events, on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.content import Content
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Select, Static

from msante.activity import KINDS, Filter, Verification, action_label
from msante.errors import MsanteError
from msante.i18n import _, ngettext
from msante.text import local_day_start_utc, parse_date
from msante.tui.footer import MsanteFooter
from msante.tui.screens.activity_view import (
    EntryScreen,
    broken,
    details,
    intact,
    local_time,
    person_text,
    record_text,
    who,
)
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar
from msante.tui.widgets import MUTED, Plain, PlainTable, safe
from msante.vault.audit import Entry

LIMIT = 200
DEBOUNCE_S = 0.15
EVERYONE = "*"
RECORD_MIN = 12  # the record column's least width beside a long action
TIME_W, WIDE = 16, 90  # under WIDE columns, "who" and "person" get narrower


class EntryTable(PlainTable[str]):
    """The entries: Enter shows the highlighted one whole."""

    BINDINGS = [Binding("enter", "select_cursor", _("Details"))]

    def on_resize(self, event: events.Resize) -> None:
        if isinstance(self.screen, ActivityScreen):
            self.screen.fit(event.size.width)


def period(text: str) -> tuple[str | None, str | None]:
    """"2025-06-01" (from that day), "2025-06-01..2025-06-30" or "..2025-06-30" as UTC bounds
    (the end day included); UsageError for a date that is not YYYY-MM-DD."""
    start, dots, end = text.strip().partition("..")
    since = local_day_start_utc(parse_date(start, what=_("date"))) if start.strip() else None
    until = None
    if dots and end.strip():
        last = parse_date(end, what=_("date"))
        until = local_day_start_utc(last + dt.timedelta(days=1))
    return since, until


class ActivityScreen(MainScreen):
    """Every access and every action, newest first; `v` checks that none was tampered with."""

    NAME = "activity"
    SUB_TITLE = _("Activity")

    DEFAULT_CSS = """
    ActivityScreen #filters { height: 3; }
    ActivityScreen #who { width: 24; }
    ActivityScreen #kind { width: 26; }
    ActivityScreen #text { width: 1fr; }
    ActivityScreen #period { width: 21; }
    ActivityScreen.narrow #who { width: 22; }
    ActivityScreen.narrow #kind { width: 23; }
    ActivityScreen.narrow #period { width: 17; }
    ActivityScreen EntryTable { height: 1fr; }
    ActivityScreen #verdict {
        height: auto; max-height: 12; border: round $primary-darken-1; padding: 0 1;
        display: none;
    }
    ActivityScreen #verdict.shown { display: block; }
    ActivityScreen #verdict.bad { border: round $error; }
    ActivityScreen #count { height: 1; padding: 0 1; color: $text-muted; }
    ActivityScreen #count.error { color: $error; }
    """
    BINDINGS = [
        Binding("slash", "focus_filter", _("Search")),
        Binding("v", "verify", _("Verify"), tooltip=_(
            "Check that no entry of the history was edited, removed or reordered")),
        Binding("e", "everyone", _("Everyone"), tooltip=_(
            "Everyone's entries, or only the selected person's")),
        Binding("escape", "back", _("Back to the table"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[str, Entry] = {}
        self.people: dict[str, str] = {}
        self.names: dict[str, str] = {}
        self.total = 0
        self.verdict: Verification | None = None  # the last verification (tests wait on it)
        self.verifying = False
        self.shown = 0  # how many times the table was filled (tests wait on it)
        self._who: object = None
        self._kind: object = Select.NULL
        self._widths: tuple[int, ...] = ()
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        with Horizontal(id="filters"):
            yield Select[str](self._people_options(), allow_blank=False, value=self.person.id,
                              id="who")
            yield Select[str]([(_(label), key) for key, (label, _codes) in KINDS.items()],
                              prompt=_("All actions"), id="kind")
            yield Input(placeholder=_("Search (/)"), id="text")
            yield Input(placeholder=_("From YYYY-MM-DD"), id="period")
        yield EntryTable(cursor_type="row", zebra_stripes=True, id="table")
        yield Plain(id="verdict")
        yield Plain(id="count")
        yield MsanteFooter()

    def on_mount(self) -> None:
        self.query_one("#verdict").border_title = _("Verification")
        super().on_mount()
        self.query_one(EntryTable).focus()

    def on_resize(self, event: events.Resize) -> None:
        self.set_class(event.size.width < WIDE, "narrow")

    def resumed(self) -> None:
        self._update_people()
        self.show()  # what other screens did since is in the log now (the filters stay)

    def reload(self) -> None:
        """The app's person changed (or the screen opened): show that person's entries."""
        self._update_people()
        self._who = self.person.id
        with self.prevent(Select.Changed):
            self.query_one("#who", Select).value = self.person.id
        self.show()

    def _people_options(self) -> list[tuple[str | Content, str]]:
        self.people = {p.id: p.name for p in self.vault.people.list()}
        return [(_("Everyone"), EVERYONE),
                *((safe(Content(name)), pid) for pid, name in self.people.items())]

    def _update_people(self) -> None:
        """Offer the people of the vault as it is now (one may have been added)."""
        select = self.query_one("#who", Select)
        before = dict(self.people)
        options = self._people_options()
        if before != self.people:
            with self.prevent(Select.Changed):
                select.set_options(options)
                if self._who not in (EVERYONE, *self.people):
                    self._who = EVERYONE
                select.value = self._who if isinstance(self._who, str) else EVERYONE

    # -- the filters -----------------------------------------------------------------------

    @on(Select.Changed, "#who")
    def _who_changed(self, event: Select.Changed) -> None:
        if event.value != self._who:
            self._who = event.value
            self.show()

    @on(Select.Changed, "#kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if event.value != self._kind:
            self._kind = event.value
            self.show()

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        if event.input.id == "period" and not self._period_complete(event.value):
            return  # not while a date is half typed; Enter says what is wrong
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(DEBOUNCE_S, self.show)

    @staticmethod
    def _period_complete(text: str) -> bool:
        try:
            period(text)
        except MsanteError:
            return False
        return True

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.show()
        if not self.query_one("#count").has_class("error"):
            self.action_back()

    def _filter(self) -> Filter:
        kind = self.query_one("#kind", Select).value
        since, until = period(self.query_one("#period", Input).value)
        return Filter(person=self._who if isinstance(self._who, str) and self._who != EVERYONE
                      else None,
                      actions=KINDS[kind][1] if isinstance(kind, str) else (),
                      since=since, until=until, text=self.query_one("#text", Input).value)

    # -- the table -------------------------------------------------------------------------

    def show(self) -> None:
        """Fill the table with the newest entries that match the filters."""
        try:
            where = self._filter()
            found = self.vault.audit.find(where, limit=LIMIT)
            self.total = self.vault.audit.count(where) if len(found) >= LIMIT else len(found)
        except MsanteError as exc:
            self._say(exc.message, error=True)
            return
        self.names = self.vault.audit.record_names(e.record for e in found)
        self.entries = {str(e.seq): e for e in found}
        self.fit(self.query_one(EntryTable).size.width, fill=False)
        self._fill()
        self._say(self._count_text())
        self.shown += 1

    def _fill(self) -> None:
        table = self.query_one(EntryTable)
        keep = self.current.seq if self.current else None
        table.clear()
        for e in self.entries.values():
            cells = [local_time(e.at), who(e.actor), self._action_text(e)]
            if self._with_person():
                cells.append(person_text(e, self.people))
            cells.append(record_text(e, self.names))
            table.add_row(*cells, key=str(e.seq))
        if keep is not None and str(keep) in self.entries:
            table.move_cursor(row=table.get_row_index(str(keep)))

    def _with_person(self) -> bool:
        return self._who == EVERYONE

    def fit(self, width: int, *, fill: bool = True) -> None:
        """Share the table's width: time and who fixed, the rest to the action and the record
        (a DataTable has no `1fr`); the person column only when showing everyone."""
        table = self.query_one(EntryTable)
        wide = width >= WIDE
        person = [14 if wide else 12] if self._with_person() else []
        fixed = TIME_W + (10 if wide else 8) + sum(person)
        rest = width - 2 - 2 * (len(person) + 4) - fixed  # cell padding, scroll bar
        action = min(max(16, rest - RECORD_MIN), max([16, *self._action_widths()]))
        widths = (TIME_W, 10 if wide else 8, action, *person, max(10, rest - action))
        if widths == self._widths and table.columns:
            return
        self._widths = widths
        labels = [_("When"), _("Who"), _("Action"), *([_("Person")] if person else []),
                  _("Record")]
        table.clear(columns=True)
        for label, w in zip(labels, widths, strict=True):
            table.add_column(label, width=w)
        if fill:
            self._fill()

    def _action_text(self, entry: Entry) -> str:
        """The action in words, marked when the check found the chain broken there."""
        bad = self.verdict.first_bad if self.verdict and not self.verdict.ok else None
        return ("⚠ " if entry.seq == bad else "") + action_label(entry.action, entry.detail)

    def _action_widths(self) -> list[int]:
        """The widths of the actions shown (the column takes the longest when there is room)."""
        return [cell_len(self._action_text(e)) for e in self.entries.values()]

    def _count_text(self) -> str:
        shown = len(self.entries)
        if not shown:
            return _("No entry matches.") if self._narrowed() else _("No activity yet.")
        if self.total > shown:
            return _("The {n} newest of {total} entries: narrow with the filters.").format(
                n=shown, total=self.total)
        return ngettext("{n} entry", "{n} entries", shown).format(n=shown)

    def _narrowed(self) -> bool:
        return any(self.query_one(f"#{i}", Input).value.strip() for i in ("text", "period")) \
            or isinstance(self.query_one("#kind", Select).value, str)

    def _say(self, text: str, *, error: bool = False) -> None:
        count = self.query_one("#count", Static)
        count.update(text)
        count.set_class(error, "error")

    @property
    def current(self) -> Entry | None:
        """The highlighted entry, if any."""
        table = self.query_one(EntryTable)
        if not self.entries or not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.entries.get(key) if key is not None else None

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        entry = self.current
        if entry is not None:
            self.app.push_screen(EntryScreen(details(entry, self.people, self.names)))

    # -- verification ----------------------------------------------------------------------

    def action_verify(self) -> None:
        """Check that no entry of the history was edited, removed or reordered."""
        if self.verifying:
            return
        self.verifying = True
        self._verdict(Content.styled(_("Checking the whole history…"), MUTED), bad=False)
        self._verify()

    @work(thread=True, exclusive=True, group="verify")
    def _verify(self) -> None:
        try:
            result = self.vault.audit.verify_apart()
        except MsanteError as exc:
            self.app.call_from_thread(self._failed, exc.message)
            return
        self.app.call_from_thread(self._verified, result)

    def _verified(self, result: Verification) -> None:
        self.verifying = False
        if not self.is_attached or self.msante.session is None:
            return  # locked while the history was being checked
        self.verdict = result
        audit = self.vault.audit
        if result.ok:
            self._verdict(intact(result, audit.entry(result.count)), bad=False)
        else:
            bad = audit.entry(result.first_bad) if result.first_bad else None
            self._verdict(broken(result, bad, self.people), bad=True)
            self.show()  # the table as the log reads now, the broken entry marked
            if bad is not None and str(bad.seq) in self.entries:
                table = self.query_one(EntryTable)
                table.move_cursor(row=table.get_row_index(str(bad.seq)))

    def _failed(self, message: str) -> None:
        self.verifying = False
        if not self.is_attached:
            return
        self._verdict(Content.styled("✗ " + message, "bold $error"), bad=True)

    def _verdict(self, text: Content, *, bad: bool) -> None:
        panel = self.query_one("#verdict", Static)
        panel.update(text)
        panel.set_class(True, "shown")
        panel.set_class(bad, "bad")

    # -- actions ---------------------------------------------------------------------------

    def action_focus_filter(self) -> None:
        """Put the cursor in the text filter."""
        self.query_one("#text", Input).focus()

    def action_back(self) -> None:
        """Close the verification panel, else go back to the table."""
        panel = self.query_one("#verdict", Static)
        if self.query_one(EntryTable).has_focus and panel.has_class("shown"):
            panel.set_class(False, "shown")
        self.query_one(EntryTable).focus()

    def action_everyone(self) -> None:
        """Show everyone's entries, or only the selected person's again."""
        select = self.query_one("#who", Select)
        select.value = self.person.id if self._who == EVERYONE else EVERYONE
