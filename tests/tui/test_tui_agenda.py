"""The agenda screen: month, appointments (add, edit, remove), prevention (mark done).

Every flow is driven with keys as a person would, then checked in the vault through the
service (what `msante agenda list/due` would show), not only on the widgets.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from msante.agenda import times
from msante.tui.screens.agenda import AgendaScreen
from msante.tui.screens.agenda_forms import AppointmentForm, DoneForm, span_text
from msante.tui.screens.agenda_month import MonthGrid, add_months, grid_days
from msante.tui.screens.agenda_views import item_line
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import day
from tests.tui.helpers import SIZE, TODAY, app_for, open_screen, sync, until

UTC = dt.UTC


async def _agenda(pilot: Pilot[None]) -> AgendaScreen:
    return await open_screen(pilot, "5", AgendaScreen)


async def _type(pilot: Pilot[None], field: str, text: str) -> None:
    """Click a field of the open form, clear it and type `text`."""
    await pilot.click(f"#{field}")
    await pilot.press("end", "ctrl+u", *text)


def _child(vault: Any) -> Any:
    return next(p for p in vault.people.list() if p.name == "Léo Martin")


def _audit(vault: Any, action: str) -> int:
    return len(list(vault.audit.entries(action=action)))


def _appointments(vault: Any, person: Any) -> list[Any]:
    start = dt.datetime(2025, 1, 1, tzinfo=UTC)
    return vault.agenda.list(person, start, start + dt.timedelta(days=730))


# -- prevention ------------------------------------------------------------------------------


@sync
async def test_mark_a_vaccination_of_the_child_done(filled: Any) -> None:
    """The flow of the issue: Léo's DTaP-IPV booster is due; marked done it leaves the list."""
    leo = _child(filled)
    due = {i.id for i in filled.agenda.due(leo, today=TODAY)}
    booster = next(i for i in due if i.startswith("child_dtcap_6:1:"))
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: getattr(app.screen, "loaded", False))
        app.choose_person(leo.id)
        screen = await _agenda(pilot)
        await pilot.press("v")
        await until(pilot, lambda: screen.current_item is not None)
        for _ in range(len(due)):
            if screen.current_item and screen.current_item.id == booster:
                break
            await pilot.press("down")
        assert screen.current_item is not None and screen.current_item.id == booster
        await pilot.press("d")
        await until(pilot, lambda: isinstance(app.screen, DoneForm))
        assert app.screen.query_one("#date", Input).value == "2025-06-16"  # the app's today
        await _type(pilot, "note", "Tetravac lot X42")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert booster not in screen.items
    after = {i.id for i in filled.agenda.due(leo, today=TODAY)}
    assert after == due - {booster}
    done = next(i for i in filled.agenda.plan(leo, today=TODAY) if i.id == booster)
    assert (done.status, done.done_on) == ("done", TODAY)
    # the dose is recorded in the profile: a vaccination entry linked to the item
    dose = int(booster.split(":")[1])
    entries = filled.agenda.entries_of(leo, "vaccinations", "child_dtcap_6", dose)
    assert [(e.status, e.provenance, e.data["date"], e.data["note"]) for e in entries] == [
        ("current", "prevention", TODAY.isoformat(), "Tetravac lot X42")]
    assert _audit(filled, "agenda.done") == 1


@sync
async def test_a_done_date_that_does_not_read_is_refused_under_the_field(filled: Any) -> None:
    """A wrong date shows the CLI's message inline and writes nothing; so does a day the
    service refuses (in the future), under the form."""
    owner = filled.people.owner()
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _agenda(pilot)
        await pilot.press("v", "d")
        await until(pilot, lambda: isinstance(app.screen, DoneForm))
        form = app.screen
        await _type(pilot, "date", "2025-13-01")
        await pilot.press("enter")
        error = str(form.query_one("#date-error", Static).render())
        assert "Invalid date '2025-13-01'" in error
        await _type(pilot, "date", "2099-01-01")
        await pilot.press("enter")
        assert "is not a day it could have been done" in str(
            form.query_one("#error", Static).render())
        assert app.screen is form
        await pilot.press("escape")
    assert filled.agenda.facts(owner).done == []
    assert _audit(filled, "agenda.done") == 0


# -- appointments ------------------------------------------------------------------------------


@sync
async def test_add_an_appointment_through_the_form(filled: Any) -> None:
    """Local time in the zone of the form is stored in UTC with the zone; the month marks it
    and the list shows it highlighted."""
    owner = filled.people.owner()
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agenda(pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AppointmentForm))
        assert app.screen.query_one("#date", Input).value == "2025-06-16"  # the chosen day
        await pilot.press(*"Ophtalmologiste")
        await _type(pilot, "date", "25/06/2025")
        await _type(pilot, "time", "14h30")
        await _type(pilot, "duration", "45m")
        await _type(pilot, "where", "Clinique Vision")
        await _type(pilot, "remind", "1d,2h")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
        assert dt.date(2025, 6, 25) in screen.month_days
        assert screen.current is not None
        assert screen.current.appointment.title == "Ophtalmologiste"
    added = [o.appointment for o in _appointments(filled, owner)
             if o.appointment.title == "Ophtalmologiste"]
    assert len(added) == 1
    item = added[0]
    assert item.start == dt.datetime(2025, 6, 25, 12, 30, tzinfo=UTC)  # 14:30 in Paris (CEST)
    assert item.tz == "Europe/Paris"
    assert (item.duration_min, item.location, item.reminders) == (45, "Clinique Vision",
                                                                  [1440, 120])
    assert item.provenance == "typed"


@sync
async def test_a_date_that_does_not_exist_shows_inline_and_writes_nothing(filled: Any) -> None:
    """31 February: the CLI's message under the date; every other bad field says so too; the
    form stays open and the vault is unchanged."""
    owner = filled.people.owner()
    before = _appointments(filled, owner)
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _agenda(pilot)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, AppointmentForm))
        form = app.screen
        await pilot.press(*"Kiné")
        await _type(pilot, "date", "31/02/2025")
        await _type(pilot, "time", "10:00")
        await _type(pilot, "duration", "forever")
        await pilot.press("enter")
        assert "Invalid date '31/02/2025': expected e.g. 2026-12-01 or" in str(
            form.query_one("#date-error", Static).render())
        assert "Invalid duration 'forever'" in str(
            form.query_one("#duration-error", Static).render())
        assert form.query_one("#date", Input).has_focus  # the first field at fault
        await _type(pilot, "date", "2025-06-23")
        await _type(pilot, "duration", "1h")
        await _type(pilot, "repeat", "hourly")
        await pilot.press("enter")
        assert "Invalid repetition 'hourly'" in str(
            form.query_one("#repeat-error", Static).render())
        assert str(form.query_one("#date-error", Static).render()) == ""
        assert app.screen is form
        await pilot.press("escape")
    assert _appointments(filled, owner) == before
    assert _audit(filled, "agenda.add") == 1  # the fixture's own


@sync
async def test_a_day_without_a_time_is_asked_for_it(filled: Any) -> None:
    """A date alone would be midnight: the form asks for the time instead of guessing."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _agenda(pilot)
        await pilot.press("a", *"Prise de sang", "enter")
        form = app.screen
        assert isinstance(form, AppointmentForm)
        assert "Give the time" in str(form.query_one("#time-error", Static).render())
    assert _audit(filled, "agenda.add") == 1


@sync
async def test_edit_the_highlighted_appointment(filled: Any) -> None:
    """The form opens with the appointment's values; a new time and place are stored."""
    owner = filled.people.owner()
    dentist = _appointments(filled, owner)[0].appointment
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agenda(pilot)
        assert screen.current is not None and screen.current.appointment.id == dentist.id
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, AppointmentForm))
        form = app.screen
        values = {n: form.query_one(f"#{n}", Input).value for n in ("date", "time", "where")}
        assert values == {"date": "2025-06-20", "time": "14:30", "where": "Cabinet du Parc"}
        await _type(pilot, "time", "16:00")
        await _type(pilot, "where", "Cabinet des Lilas")
        await _type(pilot, "repeat", "monthly")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is screen)
    item = filled.agenda.get(dentist.id)
    assert item.start == dt.datetime(2025, 6, 20, 14, 0, tzinfo=UTC)
    assert (item.location, item.rrule, item.revision) == ("Cabinet des Lilas", "FREQ=MONTHLY",
                                                          dentist.revision + 1)
    assert _audit(filled, "agenda.edit") == 1


@sync
async def test_saving_an_unchanged_appointment_says_so(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _agenda(pilot)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, AppointmentForm))
        await pilot.press("enter")
        assert "Nothing to change." in str(app.screen.query_one("#error", Static).render())
    assert _audit(filled, "agenda.edit") == 0


@sync
async def test_remove_asks_first(filled: Any) -> None:
    """No keeps the appointment; yes removes it (a tombstone: it is no longer listed)."""
    owner = filled.people.owner()
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agenda(pilot)
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")
        assert len(_appointments(filled, owner)) == 1
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.screen is screen)
        assert screen.occurrences == []
    assert _appointments(filled, owner) == []
    assert _audit(filled, "agenda.remove") == 1


@sync
async def test_month_navigation_and_a_day_s_appointments(filled: Any) -> None:
    """[ and ] change month, the arrows cross into the next one, Enter lists the day."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agenda(pilot)
        grid = screen.query_one(MonthGrid)
        assert grid.cursor == TODAY and grid.has_focus
        assert dt.date(2025, 6, 20) in screen.month_days
        await pilot.press("right_square_bracket")
        assert grid.cursor == dt.date(2025, 7, 16) and screen.month_days == {}
        assert "0 appointments in July 2025" in str(screen.query_one("#status",
                                                                     Static).render())
        await pilot.press("left_square_bracket", "left_square_bracket", "pagedown")
        assert grid.cursor == dt.date(2025, 6, 16)
        await pilot.press("down", "down", "right")  # 30 June, then 1 July
        assert grid.cursor == dt.date(2025, 7, 1)
        await pilot.press("t")
        await pilot.press("right", "right", "right", "right", "enter")
        assert screen.chosen == dt.date(2025, 6, 20)
        assert [o.appointment.title for o in screen.occurrences] == ["Dentiste"]
        assert screen.query_one(OptionList).border_title == "Appointments on 2025-06-20"
        await pilot.press("escape", "left", "enter")  # back in the month: the 19th is empty
        assert screen.occurrences == []
        await pilot.press("u")
        assert screen.chosen is None and len(screen.occurrences) == 1


@sync
async def test_a_click_on_a_day_lists_it(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agenda(pilot)
        # Friday 20 June: fourth week, fifth column (a border and a padding cell to the left)
        await pilot.click("#month", offset=(1 + 1 + 4 * 4 + 1, 1 + 1 + 3))
        assert screen.query_one(MonthGrid).cursor == dt.date(2025, 6, 20)
        assert screen.chosen == dt.date(2025, 6, 20)
        assert [o.appointment.title for o in screen.occurrences] == ["Dentiste"]


@sync
async def test_a_child_of_age_is_read_only(filled: Any) -> None:
    """The core's refusal is shown and no form opens."""
    adult = filled.people.add("Jeanne Martin", "2005-03-02", "female")
    with filled.store.write() as tx:  # written before she came of age (add refuses now)
        filled.agenda.add_in(tx, adult, "Dermatologue", dt.datetime(2025, 6, 30, 8, 0,
                                                                    tzinfo=UTC))
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: getattr(app.screen, "loaded", False))
        app.choose_person(adult.id)
        screen = await _agenda(pilot)
        for key in ("a", "e", "delete"):
            await pilot.press(key)
            assert app.screen is screen
        assert "read only" in str(screen.query_one("#status", Static).render())
        assert any("read-only" in str(n.message) for n in app._notifications)
    assert _audit(filled, "agenda.edit") == 0


@sync
async def test_person_change_reloads_the_agenda(filled: Any) -> None:
    """The owner's dentist, then Léo's agenda: no appointment, his vaccinations."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _agenda(pilot)
        assert len(screen.occurrences) == 1
        await pilot.press("p")
        await until(pilot, lambda: screen.occurrences == [])
        assert any(i.startswith("child_dtcap_6:1:") for i in screen.items)


# -- pure helpers ------------------------------------------------------------------------------


@pytest.mark.parametrize("minutes", [0, 5, 30, 45, 60, 90, 120, 1440, 1530, 2 * 1440 + 61,
                                     10080])
def test_span_text_reads_back_as_the_same_minutes(minutes: int) -> None:
    """The edit form shows durations and reminders as the CLI reads them."""
    assert times.minutes(span_text(minutes), "duration") == minutes


def test_add_months_keeps_the_day_where_it_can() -> None:
    assert add_months(dt.date(2025, 1, 31), 1) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2025, 12, 15), 1) == dt.date(2026, 1, 15)
    assert add_months(dt.date(2025, 1, 15), -1) == dt.date(2024, 12, 15)


def test_the_grid_starts_on_a_monday_and_holds_the_month() -> None:
    days = grid_days(dt.date(2025, 6, 16))
    assert days[0] == dt.date(2025, 5, 26) and days[0].weekday() == 0
    assert dt.date(2025, 6, 1) in days and dt.date(2025, 6, 30) in days


# -- snapshots (frozen clock: Monday 16 June 2025) ---------------------------------------------


@pytest.fixture
def busy(filled: Any) -> Any:
    """`filled` with a weekly physiotherapy, an appointment today and one in July."""
    owner = filled.people.owner()
    paris = times.zone("Europe/Paris")
    filled.agenda.add(owner, "Kinésithérapie", dt.datetime(2025, 6, 5, 18, 0, tzinfo=paris),
                      tz="Europe/Paris", rrule="FREQ=WEEKLY;COUNT=8", location="Cabinet Lumière",
                      reminders=[120])
    filled.agenda.add(owner, "Pharmacie : vaccin grippe", dt.datetime(
        2025, 6, 16, 17, 30, tzinfo=paris), tz="Europe/Paris", duration_min=15)
    filled.agenda.add(owner, "Ophtalmologiste", dt.datetime(2025, 7, 8, 9, 0, tzinfo=paris),
                      tz="Europe/Paris", professional="Dr Benali", note="Apporter les lunettes")
    return filled


async def _shown(pilot: Pilot[None]) -> AgendaScreen:
    screen = await _agenda(pilot)
    await pilot.pause()
    return screen


def test_snapshot_month_view(snap_compare: Any, busy: Any) -> None:
    assert snap_compare(app_for(busy), terminal_size=SIZE, run_before=_shown)


def test_snapshot_month_view_at_80_by_24(snap_compare: Any, busy: Any) -> None:
    assert snap_compare(app_for(busy), terminal_size=(80, 24), run_before=_shown)


def test_snapshot_prevention_of_the_child(snap_compare: Any, busy: Any) -> None:
    async def prevention(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False))
        pilot.app.choose_person(_child(busy).id)
        await _shown(pilot)
        await pilot.press("v")
        await pilot.pause()

    assert snap_compare(app_for(busy), terminal_size=SIZE, run_before=prevention)


def test_snapshot_add_form_with_an_error(snap_compare: Any, busy: Any) -> None:
    async def wrong(pilot: Pilot[None]) -> None:
        await _shown(pilot)
        await pilot.press("a", *"Dentiste")
        await _type(pilot, "date", "31/02/2025")
        await _type(pilot, "time", "10:00")
        await pilot.press("enter")
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor made the snapshot flaky
        await pilot.pause()

    assert snap_compare(app_for(busy), terminal_size=SIZE, run_before=wrong)


def test_a_pregnancy_question_lists_no_date_and_others_their_window(filled: Any) -> None:
    """The list says when as the core does (`Item.window_text`): a question about a pregnancy
    has no date (not the 18th birthday), an item never recorded says so, others their days."""
    items = filled.agenda.due(filled.people.owner(), today=TODAY)
    question = next(i for i in items if i.rule_id == "pertussis_pregnancy")
    assert question.undated and item_line(question).plain == question.label
    never = next(i for i in items if i.status == "overdue" and i.since is None)
    assert item_line(never).plain == f"{never.label}  {never.window_text(day)}"
    assert "2003" not in item_line(question).plain and day(never.due_from) not in \
        item_line(never).plain
