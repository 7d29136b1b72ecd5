"""People: the people of the vault, adding a child, majority dates.

The table lists everyone with their age and majority date; the pane under it says what the
caregiver can do with the highlighted profile (and, once a child is of age, the command that
hands it over). Enter makes the highlighted person the one every screen shows. Adding and
renaming go through the core's own checks, their messages shown inside the form.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.widgets import DataTable, Header, Static

from msante.errors import MsanteError
from msante.i18n import _, ngettext
from msante.people import SEXES, Person, check_child, validate
from msante.tui.footer import MsanteFooter
from msante.tui.screens.base import MainScreen
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import day
from msante.tui.screens.nav import NavBar
from msante.tui.screens.people_form import FieldError, PersonFields, PersonForm
from msante.tui.screens.people_view import CURRENT_MARK, age_text, details, majority_status
from msante.tui.widgets import Plain, PlainTable, one_line

LIMIT = 200  # a vault's people are a family; the table still never takes an unbounded list
NAME_MIN = 12
WIDE = 90  # under this table width the birth date gives way to the name (the pane shows it)


class PeopleTable(PlainTable[Text]):
    """The people table: Enter shows the highlighted person on every screen."""

    BINDINGS = [Binding("enter", "select_cursor", _("Show everywhere"), show=False)]

    width = 0

    def on_resize(self, event: events.Resize) -> None:
        if event.size.width != self.width and isinstance(self.screen, PeopleScreen):
            self.width = event.size.width  # not on height: filling changes the height
            self.screen.fill()


class PeopleScreen(MainScreen):
    """Everyone in the vault, their majority dates, and adding a child."""

    NAME = "people"
    SUB_TITLE = _("People")

    DEFAULT_CSS = """
    PeopleScreen PeopleTable { height: auto; max-height: 45%; }
    PeopleScreen #details {
        height: 1fr; border: round $primary-darken-1; padding: 0 1;
    }
    PeopleScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [  # rename and remove stay out of the footer (80 columns); ? lists them
        Binding("a", "add", _("Add a child")),
        Binding("s", "show", _("Show everywhere")),
        Binding("e", "rename", _("Rename"), show=False),
        Binding("delete", "remove", _("Remove"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.people: dict[str, Person] = {}
        self.counts: dict[str, dict[str, Any]] = {}

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield PeopleTable(cursor_type="row", zebra_stripes=True, id="table")
        with VerticalScroll(id="details"):
            yield Plain(id="detail")
        yield Plain(id="status")
        yield MsanteFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one(PeopleTable).focus()

    # -- the table -------------------------------------------------------------------------

    def reload(self) -> None:
        try:
            people = self.vault.people.list()[:LIMIT]
            self.counts = {c["name"]: c for c in self.vault.counts()}
        except MsanteError as exc:
            self.query_one("#status", Static).update(Content(exc.message))
            return
        self.people = {p.id: p for p in people}
        self.fill()

    def fill(self) -> None:
        """Put the people in the table, the name taking what the other columns leave."""
        table = self.query_one(PeopleTable)
        keep, row = self._highlighted_key() or self.person.id, table.cursor_row
        wide = table.size.width == 0 or table.size.width >= WIDE
        rows = [self._cells(p, wide) for p in self.people.values()]
        heads = ["", _("Name"), _("Relation"), *([_("Born")] if wide else []), _("Age"),
                 _("Majority"), ""]
        widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(heads)]
        # one cell of padding on both sides of each column; 2 more for a scroll bar
        room = table.size.width - sum(widths) + widths[1] - 2 * len(heads) - 2
        widths[1] = max(NAME_MIN, room)
        table.clear(columns=True)
        for head, width in zip(heads, widths, strict=True):
            table.add_column(head, width=width)
        for person, cells in zip(self.people.values(), rows, strict=True):
            table.add_row(*self._styled(person, cells), key=person.id)
        if keep in self.people:
            table.move_cursor(row=table.get_row_index(keep), animate=False)
        elif self.people:  # the highlighted person was removed: stay at that place
            table.move_cursor(row=min(row, len(self.people) - 1), animate=False)
        self._show()

    def _cells(self, person: Person, wide: bool) -> list[str]:
        today = self.clock.today()
        mark = CURRENT_MARK if person.id == self.person.id else ""
        born = [day(person.born)] if wide else []
        majority = day(person.majority) if person.majority else "—"
        return [mark, person.name, person.relation_label, *born,
                age_text(person.born, today), majority, majority_status(person, today)]

    def _styled(self, person: Person, cells: list[str]) -> list[Text]:
        out = [Text(c) for c in cells]  # Text, not str: a name is not markup
        if person.read_only(self.clock.today()):
            out[-1].stylize("bold")
        if person.id == self.person.id:
            out[1].stylize("bold")
        return out

    def _highlighted_key(self) -> str | None:
        table = self.query_one(PeopleTable)
        if not 0 <= table.cursor_row < table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    @property
    def current(self) -> Person | None:
        """The highlighted person, if any."""
        key = self._highlighted_key()
        return self.people.get(key) if key is not None else None

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._show()

    def _show(self) -> None:
        person = self.current
        pane = self.query_one("#details")
        pane.border_title = Content(one_line(person.name)) if person else ""
        self.query_one("#detail", Static).update(
            details(person, self.clock.today(), self.counts.get(person.name))
            if person else "")
        n = len(self.people)
        status = ngettext("{n} person", "{n} people", n).format(n=n)
        status += " · " + _("every screen shows {name}").format(name=self.person.name)
        self.query_one("#status", Static).update(Content(status))

    def person_changed(self) -> None:
        """Another person is shown everywhere (`p`, the palette): highlight them here too."""
        super().person_changed()
        if self.loaded and self.person.id in self.people:
            table = self.query_one(PeopleTable)
            table.move_cursor(row=table.get_row_index(self.person.id), animate=False)
            self._show()

    # -- actions ---------------------------------------------------------------------------

    @on(DataTable.RowSelected)
    def _selected(self) -> None:
        self.action_show()

    def action_show(self) -> None:
        """Make the highlighted person the one every screen shows."""
        person = self.current
        if person is None or person.id == self.person.id:
            return
        self.msante.choose_person(person.id)  # the screens reload, this one too
        self.notify(_("Showing {name}").format(name=person.name), timeout=2, markup=False)

    def action_add(self) -> None:
        """Add a child (or another loved one) in a form checked by the core."""
        self.app.push_screen(PersonForm(_("Add a child"), self._add), self._added)

    def _add(self, fields: PersonFields) -> Person:
        today = self.clock.today()
        # the core's checks and messages, name and date first; a sex not chosen yet last
        _name, born, _sex = validate(fields.name, fields.born, fields.sex or SEXES[0], today)
        if fields.relation == "child":
            check_child(born, today)
        if not fields.sex:
            raise FieldError(_("Choose the sex: female, male or other."), "sex")
        return self.vault.people.add(fields.name, born, fields.sex, fields.relation)

    def _added(self, person: Person | None) -> None:
        if person is None:
            return
        self.notify(_("{name} added.").format(name=person.name), markup=False)
        self.reload()
        table = self.query_one(PeopleTable)
        table.move_cursor(row=table.get_row_index(person.id), animate=False)

    def action_rename(self) -> None:
        """Give the highlighted person a new name (not a child who came of age)."""
        person = self.current
        if person is None:
            return
        try:
            self.vault.people.check_writable(person, self.clock.today())
        except MsanteError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        form = PersonForm(_("Rename {name}").format(name=person.name),
                          lambda f: self.vault.people.rename(person, f.name, self.clock.today()),
                          person=person, ok=_("Rename"))
        self.app.push_screen(form, self._renamed)

    def _renamed(self, person: Person | None) -> None:
        if person is None:
            return
        if person.id == self.person.id:
            self.msante.person = person  # the header and every screen take the new name
        else:
            self.reload()
        self.notify(_("Renamed {name}.").format(name=person.name), markup=False)

    def action_remove(self) -> None:
        """Remove the highlighted person and erase their records, after a confirmation."""
        person = self.current
        if person is None:
            return
        if person.relation == "owner":
            self._remove(person)  # the core refuses before writing anything: say why
            return
        question = _("Remove {name} and erase their records for good?").format(name=person.name)
        self.app.push_screen(ConfirmScreen(question, _("Remove")),
                             lambda yes: self._remove(person) if yes else None)

    def _remove(self, person: Person) -> None:
        try:
            self.vault.people.remove(person.id)
        except MsanteError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        self.notify(_("{name} removed.").format(name=person.name), markup=False)
        if person.id == self.person.id:
            self.msante.person = self.vault.people.owner()  # the screens reload
        else:
            self.reload()
