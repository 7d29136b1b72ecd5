"""Home: the person switcher, what needs attention, the latest documents and measurements."""

from __future__ import annotations

import datetime as dt

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.widgets import Header, Static, Tab, Tabs

from msante.i18n import _, current, ngettext
from msante.tui import dates
from msante.tui.footer import MsanteFooter
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar
from msante.tui.widgets import MUTED, Plain, safe

ATTENTION = ("overdue", "due")
STATUS_STYLE = {"overdue": "bold $error", "due": "bold $warning"}
SOON_DAYS = 90
LINES = 5


def status_label(status: str) -> str:
    """A prevention status in the user's language."""
    return {"overdue": _("overdue"), "due": _("due")}.get(status, status)


def tab_id(person_id: str) -> str:
    """The id of a person's tab (a widget id may not start with a digit)."""
    return f"p-{person_id}"


def day(value: dt.date | None) -> str:
    """A date as the screens show it (tui/dates.py: the French form in French)."""
    return dates.day(value)


class HomeScreen(MainScreen):
    """The record at a glance for the selected person."""

    NAME = "home"
    SUB_TITLE = _("Home")

    DEFAULT_CSS = """
    HomeScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    HomeScreen #grid { grid-size: 2 2; grid-gutter: 0 1; height: 1fr; }
    HomeScreen .panel {
        border: round $primary-darken-1; padding: 0 1; height: 1fr; overflow: hidden hidden;
    }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Tabs(*self._tabs(), active=tab_id(self.person.id), id="person")
        with Grid(id="grid"):
            for name in ("attention", "agenda", "documents", "measures"):
                yield Plain(id=name, classes="panel")
        yield Plain(id="status")
        yield MsanteFooter()

    def on_mount(self) -> None:
        titles = {"attention": _("Needs attention"), "agenda": _("Next appointments"),
                  "documents": _("Latest documents"), "measures": _("Latest measurements")}
        for name, title in titles.items():
            self.query_one(f"#{name}").border_title = title
        super().on_mount()

    def reload(self) -> None:
        self._fill_people()
        self.query_one("#attention", Static).update(self._attention())
        self.query_one("#agenda", Static).update(self._agenda())
        self.query_one("#documents", Static).update(self._documents())
        self.query_one("#measures", Static).update(self._measures())
        self.query_one("#status", Static).update(self._status())

    def _tabs(self) -> list[Tab]:
        return [Tab(safe(Content(p.name)), id=tab_id(p.id)) for p in self.vault.people.list()]

    def _fill_people(self) -> None:
        """Bring the tabs in line with the people (added, removed or renamed elsewhere).

        Tab by tab: clearing and adding again would reuse the ids before the removal is done.
        """
        tabs = self.query_one("#person", Tabs)
        wanted = {t.id: t for t in self._tabs()}
        with self.prevent(Tabs.TabActivated):
            for tab in list(tabs.query(Tab)):
                if tab.id not in wanted:
                    tabs.remove_tab(tab)
                elif str(tab.label) != str(wanted[tab.id].label):
                    tab.label = wanted[tab.id].label
            present = {tab.id for tab in tabs.query(Tab)}
            for key, tab in wanted.items():
                if key not in present:
                    tabs.add_tab(tab)
            tabs.active = tab_id(self.person.id)

    @on(Tabs.TabActivated, "#person")
    def _chosen(self, event: Tabs.TabActivated) -> None:
        person_id = (event.tab.id or "").removeprefix("p-")
        if person_id and person_id != self.person.id:
            self.msante.choose_person(person_id)

    def _attention(self) -> Content:
        items = [i for i in self.vault.agenda.due(self.person, today=self.clock.today())
                 if i.status in ATTENTION]
        if not items:
            return Content.styled(_("Nothing overdue or due."), MUTED)
        lines = [Content.assemble((status_label(i.status), STATUS_STYLE[i.status]), " ",
                                  i.label, ("  " + i.since_text(day), MUTED))
                 for i in items[:LINES]]
        return Content("\n").join(lines + self._more(len(items)))

    def _agenda(self) -> Content:
        now = self.clock.now()
        soon = self.vault.agenda.list(self.person, start=now,
                                      end=now + dt.timedelta(days=SOON_DAYS))
        if not soon:
            return Content.styled(_("No appointment in the next 3 months."), MUTED)
        lines = []
        for occ in soon[:LINES]:
            item = occ.appointment
            where = f"  {item.location}" if item.location else ""
            lines.append(Content.assemble((dates.moment(occ.local()), "bold"),
                                          " ", item.title, (where, MUTED)))
        return Content("\n").join(lines + self._more(len(soon)))

    def _documents(self) -> Content:
        docs = self.vault.documents.list(person=self.person, limit=LINES)
        if not docs:
            return Content.styled(_("No document yet."), MUTED)
        return Content("\n").join(
            Content.assemble((day(d.date), MUTED), " ", d.title) for d in docs)

    def _measures(self) -> Content:
        latest = self.vault.measures.latest(self.person)
        if not latest:
            return Content.styled(_("No measurement yet."), MUTED)
        label = _("{label}: {value}").partition("{value}")[0]  # "Poids : " in French
        lines = [Content.assemble((label.format(label=m.kind_info.label), "bold"),
                                  m.display(current()), (f"  {day(m.time.date())}", MUTED))
                 for m in latest.values()]
        return Content("\n").join(lines)

    @staticmethod
    def _more(total: int) -> list[Content]:
        if total <= LINES:
            return []
        return [Content.styled(_("and {n} more").format(n=total - LINES), MUTED)]

    def _status(self) -> Content:
        people = len(self.vault.people.list())
        text = ngettext("{n} person", "{n} people", people).format(n=people)
        if self.person.read_only(self.clock.today()):
            text += " · " + _("{name} is of age: read only").format(name=self.person.name)
        return Content(text + " · " + self.msante.unlocked_text())
