"""Agenda: a month grid and the appointments (upcoming, or of a chosen day), and the prevention
items due (overdue, due, ask your doctor, coming) with "mark done".

Everything goes through `vault.agenda` as the CLI does (`agenda add/edit/remove/due/done`);
the app's clock decides "today" and "now". The upcoming list is windowed (a year, LIMIT
occurrences): a daily repeating appointment does not fill the widget with hundreds of rows.
"""

from __future__ import annotations

import datetime as dt

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.widgets import Header, OptionList, Static, TabbedContent, TabPane
from textual.widgets.option_list import Option

from msante.agenda import times
from msante.agenda.prevention import Item
from msante.agenda.service import Appointment, Occurrence
from msante.errors import MsanteError
from msante.i18n import _, ngettext
from msante.tui import dates
from msante.tui.footer import MsanteFooter
from msante.tui.screens import agenda_views as views
from msante.tui.screens.agenda_forms import AppointmentForm, DoneForm, blank_values, values_of
from msante.tui.screens.agenda_month import MonthGrid, grid_days, month_title
from msante.tui.screens.base import MainScreen
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import day
from msante.tui.screens.nav import NavBar
from msante.tui.widgets import MUTED, Plain

LIMIT = 100
UPCOMING_DAYS = 366
ATTENTION = ("overdue", "due")
TABS = ("appointments", "prevention")
ON_APPOINTMENTS = ("month", "today", "upcoming", "edit", "remove")


class AppointmentList(OptionList):
    """The appointments shown (upcoming, or the chosen day's): Enter edits one."""

    BINDINGS = [Binding("enter", "select", _("Edit"), show=False),
                Binding("escape", "screen.focus_month", _("To the month"), show=False)]


class PreventionList(OptionList):
    """The prevention items, grouped by status: Enter marks one done."""

    BINDINGS = [Binding("enter", "select", _("Mark done"), show=False)]


def tab_label(key: str, label: str) -> Content:
    """A tab's label with the key that shows it, as the navigation line writes them."""
    return Content.assemble((key, "bold"), " ", label)


class AgendaScreen(MainScreen):
    """Agenda of the selected person: month, appointments, prevention."""

    NAME = "agenda"
    SUB_TITLE = _("Agenda")

    DEFAULT_CSS = """
    AgendaScreen #tabs { height: 1fr; }
    AgendaScreen TabPane { padding: 0; }
    AgendaScreen #left { width: 32; height: 1fr; }
    AgendaScreen #detail { height: 1fr; padding: 0 1; border: round $primary-darken-1; }
    AgendaScreen OptionList { height: 1fr; width: 1fr; border: round $primary-darken-1; }
    AgendaScreen OptionList:focus { border: round $accent; }
    AgendaScreen #list { text-wrap: wrap; }
    AgendaScreen #why { width: 40%; height: 1fr; padding: 0 1; border: round $primary-darken-1; }
    AgendaScreen #status { height: auto; max-height: 2; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("a", "add", _("Add")),
        Binding("e", "edit", _("Edit")),
        Binding("delete", "remove", _("Remove")),
        Binding("d", "done", _("Mark done")),
        Binding("left_square_bracket", "month(-1)", _("Previous month"), show=False),
        Binding("right_square_bracket", "month(1)", _("Next month"), show=False),
        Binding("t", "today", _("Today"), show=False),
        Binding("u", "upcoming", _("Next appointments"), show=False),
        Binding("m", "tab('appointments')", _("Appointments"), show=False),
        Binding("v", "tab('prevention')", _("Prevention"), show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.chosen: dt.date | None = None  # None: the upcoming list
        self.occurrences: list[Occurrence] = []
        self.items: dict[str, Item] = {}
        self.month_days: dict[dt.date, int] = {}  # appointments per day of the grid
        self.grid_first = dt.date.min

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        with TabbedContent(id="tabs"):
            with TabPane(tab_label("m", _("Appointments")), id="appointments"), Horizontal():
                with Vertical(id="left"):
                    yield MonthGrid(self.clock.today(), id="month")
                    yield Plain(id="detail")
                yield AppointmentList(id="list")
            with TabPane(tab_label("v", _("Prevention")), id="prevention"), Horizontal():
                yield PreventionList(id="items")
                with VerticalScroll(id="why"):
                    yield Plain(id="item")
        yield Plain(id="status")
        yield MsanteFooter()

    def on_mount(self) -> None:
        self.query_one("#why").border_title = _("Why")
        self.query_one("#detail").border_title = _("Appointment")
        super().on_mount()
        self.query_one(MonthGrid).focus()

    # -- reading ---------------------------------------------------------------------------

    @property
    def tab(self) -> str:
        """The tab shown: 'appointments' or 'prevention' (the first before it is mounted)."""
        tabs = self.query(TabbedContent)
        return (tabs.first().active if tabs else "") or TABS[0]

    def reload(self) -> None:
        try:
            self._fill_month()
            self._fill_list()
            self._fill_items()
        except MsanteError as exc:
            self.query_one("#status", Static).update(exc.message)
            return
        self._status()

    def _between(self, first: dt.date, last: dt.date) -> list[Occurrence]:
        """The person's occurrences whose local day is in [first, last]."""
        zone = times.zone()
        start = dt.datetime.combine(first - dt.timedelta(days=1), dt.time(), zone)
        end = dt.datetime.combine(last + dt.timedelta(days=2), dt.time(), zone)
        return [o for o in self.vault.agenda.list(self.person, start, end)
                if first <= o.local().date() <= last]

    def _fill_month(self) -> None:
        grid = self.query_one(MonthGrid)
        days = grid_days(grid.cursor)
        self.grid_first, self.month_days = days[0], {}
        for occ in self._between(days[0], days[-1]):
            self.month_days[occ.local().date()] = self.month_days.get(occ.local().date(), 0) + 1
        grid.show(self.month_days, self.clock.today())

    def _fill_list(self) -> None:
        if self.chosen is None:
            now = self.clock.now()
            found = self.vault.agenda.list(self.person, now,
                                           now + dt.timedelta(days=UPCOMING_DAYS))
            title, empty = _("Next appointments"), _("No appointment in the next 12 months.")
        else:
            found = self._between(self.chosen, self.chosen)
            title = _("Appointments on {date}").format(date=day(self.chosen))
            empty = _("No appointment on {date}.").format(date=day(self.chosen))
        self.occurrences = found[:LIMIT]
        listing = self.query_one(AppointmentList)
        listing.border_title = title
        listing.border_subtitle = _("the first {n}").format(n=LIMIT) if len(found) > LIMIT \
            else ""
        keep = listing.highlighted
        listing.clear_options()
        listing.add_options([Option(views.occurrence_line(o)) for o in self.occurrences]
                            or [Option(Content.styled(empty, MUTED), disabled=True)])
        if self.occurrences:
            listing.highlighted = min(keep or 0, len(self.occurrences) - 1)
        self._show_appointment()

    def _fill_items(self) -> None:
        items = self.vault.agenda.due(self.person, today=self.clock.today())
        self.items = {i.id: i for i in items}
        listing = self.query_one(PreventionList)
        keep = listing.highlighted_option.id if listing.highlighted_option else None
        options: list[Option | None] = []
        for status, group in views.by_status(items):
            options += [None] if options else []
            options.append(Option(views.status_heading(status), disabled=True))
            options += [Option(views.item_line(i), id=i.id) for i in group]
        listing.clear_options()
        listing.add_options(options or [Option(Content.styled(_("Nothing due."), MUTED),
                                               disabled=True)])
        listing.border_title = _("Vaccinations and screenings")
        ids = [i.id for i in items]
        if ids:
            listing.highlighted = listing.get_option_index(keep if keep in ids else ids[0])
        self._show_item()

    def _status(self) -> None:
        count = sum(self.month_days.get(d, 0) for d in grid_days(self.query_one(MonthGrid)
                                                                 .cursor)
                    if d.month == self.query_one(MonthGrid).cursor.month)
        month = month_title(self.query_one(MonthGrid).cursor)
        parts = [ngettext("{n} appointment in {month}", "{n} appointments in {month}",
                          count).format(n=count, month=month)]
        urgent = sum(1 for i in self.items.values() if i.status in ATTENTION)
        parts.append(ngettext("{n} prevention item overdue or due",
                              "{n} prevention items overdue or due", urgent).format(n=urgent))
        if self.person.read_only(self.clock.today()):  # first: it explains refused keys
            parts.insert(0, _("{name} is of age: read only").format(name=self.person.name))
        self.query_one("#status", Static).update(" · ".join(parts))

    @property
    def current(self) -> Occurrence | None:
        """The highlighted appointment occurrence, if any."""
        index = self.query_one(AppointmentList).highlighted
        if index is None or not 0 <= index < len(self.occurrences):
            return None
        return self.occurrences[index]

    @property
    def current_item(self) -> Item | None:
        """The highlighted prevention item, if any."""
        option = self.query_one(PreventionList).highlighted_option
        return self.items.get(option.id) if option and option.id else None

    def _show_appointment(self) -> None:
        occ = self.current
        hint = _("a: add an appointment") if occ is None else ""
        self.query_one("#detail", Static).update(
            views.appointment_detail(occ) if occ else Content.styled(hint, MUTED))

    def _show_item(self) -> None:
        item = self.current_item
        self.query_one("#item", Static).update(views.item_detail(item) if item else "")

    # -- events ----------------------------------------------------------------------------

    @on(MonthGrid.Moved)
    def _moved(self, event: MonthGrid.Moved) -> None:
        if grid_days(event.day)[0] != self.grid_first:  # another month: read its days
            self._fill_month()
        self._status()

    @on(MonthGrid.Chosen)
    def _chosen(self, event: MonthGrid.Chosen) -> None:
        self.chosen = event.day
        self._fill_list()
        if self.occurrences:
            self.query_one(AppointmentList).focus()

    @on(OptionList.OptionHighlighted, "#list")
    def _highlighted(self) -> None:
        self._show_appointment()

    @on(OptionList.OptionHighlighted, "#items")
    def _item_highlighted(self) -> None:
        self._show_item()

    @on(OptionList.OptionSelected, "#list")
    def _selected(self) -> None:
        self.action_edit()

    @on(OptionList.OptionSelected, "#items")
    def _item_selected(self) -> None:
        self.action_done()

    @on(TabbedContent.TabActivated)
    def _tab_changed(self) -> None:
        self.refresh_bindings()
        target = MonthGrid if self.tab == "appointments" else PreventionList
        self.query_one(target).focus()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tab":
            return parameters[0] != self.tab
        if action == "done":
            return self.tab == "prevention"
        if action in ON_APPOINTMENTS:
            return self.tab == "appointments"
        return True

    # -- actions ---------------------------------------------------------------------------

    def action_tab(self, name: str) -> None:
        """Show the appointments or the prevention tab."""
        self.query_one(TabbedContent).active = name

    def action_focus_month(self) -> None:
        """Put the cursor back in the month."""
        self.query_one(MonthGrid).focus()

    def action_month(self, months: int) -> None:
        """Show the previous or the next month."""
        self.query_one(MonthGrid).action_month(months)

    def action_today(self) -> None:
        """Back to today's month, and the upcoming appointments."""
        self.query_one(MonthGrid).cursor = self.clock.today()
        self.action_upcoming()

    def action_upcoming(self) -> None:
        """List the next appointments (instead of a chosen day's)."""
        self.chosen = None
        self._fill_list()

    def _writable(self) -> bool:
        """Whether the person's agenda may be changed; says why not."""
        try:
            self.vault.people.check_writable(self.person, self.clock.today())
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return False
        return True

    def action_add(self) -> None:
        """Add an appointment (on the day chosen in the month)."""
        if not self._writable():
            return
        item = self.current_item if self.tab == "prevention" else None
        start = max(self.query_one(MonthGrid).cursor, self.clock.today())
        person = self.person
        form = AppointmentForm(_("New appointment for {name}").format(name=person.name),
                               blank_values(start, item.label if item else ""),
                               lambda fields: self.vault.agenda.add(person, **fields))
        self.app.push_screen(form, self._added)

    def _added(self, item: Appointment | None) -> None:
        if item is not None:
            self.notify(_("Added {title}, {when} ({id}).").format(
                title=item.title, when=dates.moment(item.local()),
                id=item.id[:8]))
            self._after_change(item)

    def action_edit(self) -> None:
        """Change the highlighted appointment (a repeating one: all its occurrences)."""
        occ = self.current
        if occ is None or not self._writable():
            return
        item = occ.appointment
        heading = _("Change {title}").format(title=item.title)
        if item.rrule:
            heading += "\n" + _("Every occurrence changes; the date is the first one's.")
        form = AppointmentForm(heading, values_of(item),
                               lambda fields: self.vault.agenda.edit(
                                   item.id, fields, revision=item.revision))
        self.app.push_screen(form, self._edited)

    def _edited(self, item: Appointment | None) -> None:
        if item is not None:
            self.notify(_("Changed {title}, {when} ({id}).").format(
                title=item.title, when=dates.moment(item.local()),
                id=item.id[:8]))
            self._after_change(item)

    def action_remove(self) -> None:
        """Remove the highlighted appointment, after a confirmation."""
        occ = self.current
        if occ is None or not self._writable():
            return
        item = occ.appointment
        question = _("Remove the appointment “{title}” of {when}?").format(
            title=item.title, when=views.when(occ))
        if item.rrule:
            question += " " + _("It repeats: every occurrence is removed.")
        self.app.push_screen(ConfirmScreen(question, _("Remove")),
                             lambda yes: self._remove(item) if yes else None)

    def _remove(self, item: Appointment) -> None:
        try:
            self.vault.agenda.remove(item.id)
        except MsanteError as exc:
            self.notify(exc.message, severity="error")
            return
        self.notify(_("Removed {title}, {when} ({id}).").format(
            title=item.title, when=dates.moment(item.local()), id=item.id[:8]))
        self.reload()

    def _after_change(self, item: Appointment) -> None:
        """Show the month of the appointment just written, read everything again and
        highlight it in the list."""
        shown = item.local().date()
        with self.prevent(MonthGrid.Moved):
            self.query_one(MonthGrid).cursor = shown
        if self.chosen is not None:
            self.chosen = shown
        self.reload()
        found = [n for n, o in enumerate(self.occurrences) if o.appointment.id == item.id]
        if found:
            self.query_one(AppointmentList).highlighted = found[0]

    def action_done(self) -> None:
        """Mark the highlighted prevention item done (today unless told)."""
        item = self.current_item
        if item is None or not self._writable():
            return
        heading = _("Mark done for {name}: {label}").format(name=self.person.name,
                                                           label=item.label)
        self.app.push_screen(DoneForm(heading, self.clock.today(),
                                      lambda on, note: self.vault.agenda.done(
                                          item.id, on, note=note)),
                             lambda saved: self._done(item) if saved else None)

    def _done(self, item: Item) -> None:
        self.notify(_("Marked done: {item} for {name}.").format(item=item.label,
                                                               name=self.person.name))
        self.reload()

