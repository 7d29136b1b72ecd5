"""Home: the person switcher, what needs attention, the latest documents and measurements,
and where sync stands (or how to set it up)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.containers import Grid
from textual.content import Content
from textual.widgets import Header, Static, Tab, Tabs

from msante.i18n import _, current, ngettext
from msante.tui import dates
from msante.tui.footer import MsanteFooter
from msante.tui.screens import sync_view
from msante.tui.screens.base import MainScreen
from msante.tui.screens.nav import NavBar
from msante.tui.widgets import MUTED, FittedLines, Plain, safe

ATTENTION = ("overdue", "due")
STATUS_STYLE = {"overdue": "bold $error", "due": "bold $warning"}
SOON_DAYS = 90
MOST = 20  # items read for a panel (at 120×40 a panel shows about 18 lines)


def status_label(status: str) -> str:
    """A prevention status in the user's language."""
    return {"overdue": _("overdue"), "due": _("due")}.get(status, status)


def tab_id(person_id: str) -> str:
    """The id of a person's tab (a widget id may not start with a digit)."""
    return f"p-{person_id}"


def day(value: dt.date | None) -> str:
    """A date as the screens show it (tui/dates.py: the French form in French)."""
    return dates.day(value)


class SyncPanel(Static):
    """Where sync stands, drawn again at each size (the last error fits one line)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(markup=False, **kwargs)
        self._state: dict[str, Any] | None = None
        self._doing: str | None = None

    def show(self, state: dict[str, Any], running: str | None) -> None:
        """Show this sync state (and what a running sync is doing)."""
        self._state, self._doing = state, running
        self.refresh(layout=True)

    def render(self) -> Content:
        """The panel's text for its width now."""
        if self._state is None:
            return Content("")
        return safe(sync_view.panel(self._state, self._doing, self.content_size.width))


class HomeScreen(MainScreen):
    """The record at a glance for the selected person."""

    NAME = "home"
    SUB_TITLE = _("Home")

    DEFAULT_CSS = """
    HomeScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    HomeScreen #grid { grid-size: 2 2; grid-rows: 3fr 2fr; grid-gutter: 0 1; height: 1fr; }
    HomeScreen .panel {
        border: round $primary-darken-1; padding: 0 1; height: 1fr; overflow: hidden hidden;
    }
    HomeScreen #sync { height: auto; max-height: 6; }
    """

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        yield Tabs(*self._tabs(), active=tab_id(self.person.id), id="person")
        with Grid(id="grid"):
            for name in ("attention", "agenda", "documents", "measures"):
                yield FittedLines(id=name, classes="panel")
        yield SyncPanel(id="sync", classes="panel")
        yield Plain(id="status")
        yield MsanteFooter()

    def on_mount(self) -> None:
        titles = {"attention": _("Needs attention"), "agenda": _("Next appointments"),
                  "documents": _("Latest documents"), "measures": _("Latest measurements"),
                  "sync": _("Sync")}
        for name, title in titles.items():
            self.query_one(f"#{name}").border_title = title
        super().on_mount()

    def reload(self) -> None:
        self._fill_people()
        for name, (items, total) in (("attention", self._attention()),
                                     ("agenda", self._agenda()),
                                     ("documents", self._documents()),
                                     ("measures", self._measures())):
            self.query_one(f"#{name}", FittedLines).show(items, total)
        self.query_one("#status", Static).update(self._status())
        self.msante.refresh_sync()
        self.show_sync()

    def show_sync(self) -> None:
        """Show where sync stands (the app's last reading)."""
        state = self.msante.sync_state
        if state is not None:
            self.query_one(SyncPanel).show(state, self.msante.syncing)
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

    # Each panel: its first items and how many there are (FittedLines shows what fits).

    def _attention(self) -> tuple[list[Content], int]:
        items = [i for i in self.vault.agenda.due(self.person, today=self.clock.today())
                 if i.status in ATTENTION]
        if not items:
            return [Content.styled(_("Nothing overdue or due."), MUTED)], 1
        return [Content.assemble((status_label(i.status), STATUS_STYLE[i.status]), " ",
                                 i.label, ("  " + i.since_text(day), MUTED))
                for i in items[:MOST]], len(items)

    def _agenda(self) -> tuple[list[Content], int]:
        now = self.clock.now()
        soon = self.vault.agenda.list(self.person, start=now,
                                      end=now + dt.timedelta(days=SOON_DAYS))
        if not soon:
            return [Content.styled(_("No appointment in the next 3 months."), MUTED)], 1
        lines = []
        for occ in soon[:MOST]:
            item = occ.appointment
            where = f"  {item.location}" if item.location else ""
            lines.append(Content.assemble((dates.moment(occ.local()), "bold"),
                                          " ", item.title, (where, MUTED)))
        return lines, len(soon)

    def _documents(self) -> tuple[list[Content], int]:
        docs = self.vault.documents.list(person=self.person, limit=MOST)
        if not docs:
            return [Content.styled(_("No document yet."), MUTED)], 1
        return ([Content.assemble((day(d.date), MUTED), " ", d.title) for d in docs],
                self.vault.documents.count(person=self.person))

    def _measures(self) -> tuple[list[Content], int]:
        latest = self.vault.measures.latest(self.person)
        if not latest:
            return [Content.styled(_("No measurement yet."), MUTED)], 1
        label = _("{label}: {value}").partition("{value}")[0]  # "Poids : " in French
        lines = [Content.assemble((label.format(label=m.kind_info.label), "bold"),
                                  m.display(current()), (f"  {day(m.time.date())}", MUTED))
                 for m in latest.values()]
        return lines, len(lines)

    def _status(self) -> Content:
        people = len(self.vault.people.list())
        text = ngettext("{n} person", "{n} people", people).format(n=people)
        if self.person.read_only(self.clock.today()):
            text += " · " + _("{name} is of age: read only").format(name=self.person.name)
        return Content(text + " · " + self.msante.unlocked_text())
