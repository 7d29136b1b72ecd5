"""The People screen: majority dates, adding a child, switching person, renaming, removing.

Each flow is driven with keys as a person would, then checked in the vault. The app's clock is
frozen on Monday 16 June 2025, so ages and "in N years" do not move.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Static, Tab

from msante.people import Person
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import HomeScreen
from msante.tui.screens.people import PeopleScreen, PeopleTable
from msante.tui.screens.people_form import PersonForm
from msante.tui.screens.people_view import (
    age_text,
    caregiver_text,
    handover_command,
    majority_status,
    until_text,
)
from tests.tui.helpers import SIZE, TODAY, app_for, open_screen, sync, until


@pytest.fixture
def family(filled: Any) -> Any:
    """The `filled` vault (Camille, Léo born 2019-04-27) and Inès, who came of age in 2024."""
    filled.people.add("Inès Martin", "2006-03-14", "female")
    return filled


async def _people(pilot: Pilot[None]) -> PeopleScreen:
    screen = await open_screen(pilot, "7", PeopleScreen)
    await until(pilot, lambda: bool(screen.people))
    return screen


async def _highlight(pilot: Pilot[None], screen: PeopleScreen, name: str) -> None:
    """Move the table's cursor to `name`, from the top."""
    await pilot.press(*["up"] * len(screen.people))
    for _ in range(len(screen.people)):
        if screen.current and screen.current.name == name:
            return
        await pilot.press("down")
    raise AssertionError(f"{name} is not in the table")


def _row(screen: PeopleScreen, name: str) -> list[str]:
    table = screen.query_one(PeopleTable)
    person = next(p for p in screen.people.values() if p.name == name)
    return [str(cell) for cell in table.get_row(person.id)]


def _form(pilot: Pilot[None]) -> PersonForm:
    assert isinstance(pilot.app.screen, PersonForm), pilot.app.screen_stack
    return pilot.app.screen


def _notes(pilot: Pilot[None]) -> str:
    return " ".join(str(n.message) for n in pilot.app._notifications)


def _audit_size(vault: Any) -> int:
    return len(list(vault.audit.entries()))


# -- majority dates ----------------------------------------------------------------------------


@sync
async def test_the_table_shows_ages_and_majority_dates_by_the_apps_clock(family: Any) -> None:
    """Léo, born 2019-04-27, is of age on 2037-04-27: "in 11 years" on 16 June 2025."""
    async with app_for(family).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        assert [p.name for p in screen.people.values()] == [
            "Camille Martin", "Inès Martin", "Léo Martin"]
        assert _row(screen, "Léo Martin")[1:] == [
            "Léo Martin", "child", "2019-04-27", "6 years", "2037-04-27", "in 11 years"]
        assert _row(screen, "Inès Martin")[-2:] == ["2024-03-14", "of age: read only"]
        assert _row(screen, "Camille Martin")[0] == "▸"  # the person every screen shows
        assert _row(screen, "Camille Martin")[-2:] == ["—", ""]


@sync
async def test_the_pane_gives_the_handover_command_once_of_age(family: Any) -> None:
    async with app_for(family).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Inès Martin")
        text = str(screen.query_one("#detail", Static).render())
        assert "came of age on 2024-03-14" in text
        assert "msante people handover 'Inès Martin' --out ines-martin.msh" in text
        assert "2 profile" not in text and "0 documents" in text
        await _highlight(pilot, screen, "Léo Martin")
        text = str(screen.query_one("#detail", Static).render())
        assert "Until 2037-04-27 you keep Léo Martin's record" in text
        assert "1 document ·" in text


def test_majority_and_age_wording() -> None:
    """The words of the table, at the edges: months under two, days in the last month."""
    assert age_text(dt.date(2024, 8, 20), TODAY) == "9 months"
    assert age_text(dt.date(2023, 6, 16), TODAY) == "2 years"
    assert until_text(dt.date(2037, 4, 27), TODAY) == "in 11 years"
    assert until_text(dt.date(2026, 6, 16), TODAY) == "in 1 year"
    assert until_text(dt.date(2025, 9, 1), TODAY) == "in 2 months"
    assert until_text(dt.date(2025, 6, 21), TODAY) == "in 5 days"
    child = Person("x", "Léo Martin", dt.date(2019, 4, 27), "male", "child",
                   dt.date(2037, 4, 27), 1)
    assert majority_status(child, TODAY) == "in 11 years"
    assert majority_status(child, dt.date(2037, 4, 27)) == "of age: read only"
    other = Person("y", "Paul", dt.date(1950, 1, 1), "male", "other", None, 1)
    assert majority_status(other, TODAY) == ""
    assert "No majority date" in str(caregiver_text(other, TODAY))


def test_the_handover_command_is_quoted_for_the_shell() -> None:
    odd = Person("z", "Zoé O'Brien", dt.date(2005, 1, 1), "female", "child",
                 dt.date(2023, 1, 1), 1)
    assert handover_command(odd) == (
        "msante people handover 'Zoé O'\"'\"'Brien' --out zoe-o-brien.msh")


# -- adding a child ----------------------------------------------------------------------------


async def _fill_form(pilot: Pilot[None], name: str, born: str, *, sex_downs: int = 1) -> None:
    """Open the form with `a`, type the name and the date, choose the sex in its list."""
    await pilot.press("a")
    _form(pilot)
    await pilot.press(*name, "enter")  # Enter in the name goes on to the date
    await pilot.press(*born, "tab")
    await pilot.press("enter", *["down"] * sex_downs, "enter")  # female is the first choice


@sync
async def test_add_a_child(vault: Any) -> None:
    """The form writes her with the birth date, sex and relation typed; the table shows her."""
    async with app_for(vault).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _fill_form(pilot, "Zoé Martin", "2023-09-01")
        await pilot.press("tab", "tab", "tab", "enter")  # relation, Cancel, Add
        await until(pilot, lambda: isinstance(pilot.app.screen, PeopleScreen))
        zoe = vault.people.get("Zoé Martin")
        assert (zoe.born, zoe.sex, zoe.relation) == (dt.date(2023, 9, 1), "female", "child")
        assert zoe.majority == dt.date(2041, 9, 1)
        assert [p.name for p in vault.people.list()] == ["Camille Martin", "Zoé Martin"]
        assert screen.current == zoe  # the cursor is on her
        assert _row(screen, "Zoé Martin")[-3:] == ["21 months", "2041-09-01", "in 16 years"]
        assert "Zoé Martin added." in _notes(pilot)
        assert pilot.app.person is not None and pilot.app.person.name == "Camille Martin"


@sync
async def test_a_wrong_date_is_said_in_the_form_and_nothing_is_written(vault: Any) -> None:
    async with app_for(vault).run_test(size=SIZE) as pilot:
        await _people(pilot)
        before = _audit_size(vault)
        await _fill_form(pilot, "Zoé Martin", "2023-13-01")
        await pilot.press("shift+tab", "enter")  # back in the date, Enter saves
        form = _form(pilot)
        assert form.error == (
            "Invalid birth date '2023-13-01': expected a date such as 2026-12-01 or "
            "01/12/2026.")
        await pilot.press("ctrl+u", *"2025-07-01", "enter")  # after the app's today
        assert _form(pilot) is form
        assert form.error == "Invalid birth date 2025-07-01: it must be between 1900 and today."
        assert [p.name for p in vault.people.list()] == ["Camille Martin"]
        assert _audit_size(vault) == before
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, PeopleScreen)
        assert [p.name for p in vault.people.list()] == ["Camille Martin"]


@sync
async def test_a_missing_sex_and_a_taken_name_are_refused_in_the_form(filled: Any) -> None:
    async with app_for(filled).run_test(size=SIZE) as pilot:
        await _people(pilot)
        await pilot.press("a", *"Zoé Martin", "enter", *"2023-09-01", "enter")
        form = _form(pilot)
        assert form.error == "Choose the sex: female, male or other."
        assert pilot.app.focused is not None and pilot.app.focused.id == "sex"
        await pilot.press("shift+tab", "ctrl+u", *"2019-05-01", "shift+tab", "ctrl+u",
                          *"léo martin", "tab", "tab", "enter", "down", "enter",
                          "shift+tab", "enter")
        assert form.error == "A person named léo martin already exists."  # as typed
        assert len(filled.people.list()) == 2


@sync
async def test_an_adult_is_refused_as_a_child_and_added_as_other(vault: Any) -> None:
    """A child's profile is read-only from majority: an adult is added as 'other'."""
    async with app_for(vault).run_test(size=SIZE) as pilot:
        await _people(pilot)
        await _fill_form(pilot, "Paul Martin", "1958-02-11", sex_downs=2)
        await pilot.press("shift+tab", "enter")
        form = _form(pilot)
        assert form.error == ("Someone born on 1958-02-11 is already of age: add them with "
                              "the relation 'other'.")
        assert len(vault.people.list()) == 1
        await pilot.press("tab", "tab", "enter", "down", "enter")  # relation: other
        await pilot.press("tab", "tab", "enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, PeopleScreen))
        paul = vault.people.get("Paul Martin")
        assert (paul.relation, paul.majority, paul.sex) == ("other", None, "male")


# -- switching person --------------------------------------------------------------------------


@sync
async def test_switch_person_then_home_shows_the_child(filled: Any) -> None:
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Léo Martin")
        await pilot.press("enter")
        assert pilot.app.person is not None and pilot.app.person.name == "Léo Martin"
        assert _row(screen, "Léo Martin")[0] == "▸"
        assert "every screen shows Léo Martin" in str(
            screen.query_one("#status", Static).render())
        await pilot.press("1")
        home = pilot.app.screen
        assert isinstance(home, HomeScreen)
        assert "Carnet de vaccination" in str(home.query_one("#documents", Static).render())
        assert "Height" in str(home.query_one("#measures", Static).render())
        await pilot.press("7")
        await _highlight(pilot, screen, "Camille Martin")
        await pilot.press("s")
        assert pilot.app.person is not None and pilot.app.person.name == "Camille Martin"


async def _add_zoe_then_home(pilot: Pilot[None]) -> None:
    await _people(pilot)
    await _fill_form(pilot, "Zoé Martin", "2023-09-01")
    await pilot.press("shift+tab", "enter")
    await until(pilot, lambda: isinstance(pilot.app.screen, PeopleScreen))
    await pilot.press("1")
    await pilot.pause(0.2)
    home = pilot.app.screen
    assert isinstance(home, HomeScreen)
    await until(pilot, lambda: len(home.query(Tab)) == 2)
    assert [str(t.label) for t in home.query(Tab)] == ["Camille Martin", "Zoé Martin"]


@sync
async def test_home_after_adding_a_child_shows_her_tab(vault: Any) -> None:
    """Home, which was not on screen when she was added, shows her tab when it comes back."""
    async with app_for(vault).run_test(size=SIZE) as pilot:
        await _add_zoe_then_home(pilot)


# -- renaming and removing ---------------------------------------------------------------------


@sync
async def test_rename_the_shown_child(filled: Any) -> None:
    """A new name is written, and every screen (the shown person) takes it."""
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Léo Martin")
        await pilot.press("s", "e")
        form = _form(pilot)
        await pilot.press("ctrl+u", "enter")
        assert form.error == "A name must have between 1 and 100 characters."
        await pilot.press(*"Léo Dupont", "enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, PeopleScreen))
        leo = filled.people.get("Léo Dupont")
        assert leo.born == dt.date(2019, 4, 27)
        assert pilot.app.person == leo
        assert _row(screen, "Léo Dupont")[1] == "Léo Dupont"


@sync
async def test_a_child_of_age_cannot_be_renamed(family: Any) -> None:
    async with app_for(family).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Inès Martin")
        await pilot.press("e")
        assert isinstance(pilot.app.screen, PeopleScreen)  # no form
        assert "came of age on 2024-03-14" in _notes(pilot)
        assert family.people.get("Inès Martin").revision == 1


@sync
async def test_remove_asks_with_the_clis_question_and_erases(family: Any) -> None:
    async with app_for(family).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Léo Martin")
        await pilot.press("s", "up", "delete")
        dialog = pilot.app.screen
        assert isinstance(dialog, ConfirmScreen)
        assert dialog.question == "Remove Inès Martin and erase their records for good?"
        await pilot.press("n")
        assert len(family.people.list()) == 3
        await pilot.press("delete", "y")
        await until(pilot, lambda: len(screen.people) == 2)
        assert [p.name for p in family.people.list()] == ["Camille Martin", "Léo Martin"]
        assert "Inès Martin removed." in _notes(pilot)
        assert screen.current is not None and screen.current.name == "Léo Martin"  # same row
        await pilot.press("delete", "y")  # Léo, the person every screen shows
        await until(pilot, lambda: len(screen.people) == 1)
        assert pilot.app.person is not None and pilot.app.person.name == "Camille Martin"


@sync
async def test_the_owner_is_not_removed_and_nothing_is_asked(filled: Any) -> None:
    async with app_for(filled).run_test(size=SIZE) as pilot:
        await _people(pilot)
        await pilot.press("delete")
        assert isinstance(pilot.app.screen, PeopleScreen)
        assert "The owner cannot be removed" in _notes(pilot)
        assert len(filled.people.list()) == 2


@sync
async def test_a_name_with_brackets_is_shown_as_typed(vault: Any) -> None:
    """A name is text, not markup: "[b]" stays on screen and styles nothing."""
    vault.people.add("Lou [b]Martin", "2020-01-01", "other")
    async with app_for(vault).run_test(size=SIZE) as pilot:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Lou [b]Martin")
        await pilot.press("s")
        assert "every screen shows Lou [b]Martin" in str(
            screen.query_one("#status", Static).render())
        assert _row(screen, "Lou [b]Martin")[1] == "Lou [b]Martin"
        await pilot.press("e", "ctrl+u", "enter")
        assert isinstance(pilot.app.screen, PersonForm)
        assert "Rename Lou [b]Martin" in str(pilot.app.screen.query_one("#title").render())


# -- snapshots ---------------------------------------------------------------------------------


def test_people_screen(snap_compare: Any, family: Any) -> None:
    async def grown(pilot: Pilot[None]) -> None:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Inès Martin")

    assert snap_compare(app_for(family), terminal_size=SIZE, run_before=grown)


def test_people_add_form_with_an_error(snap_compare: Any, filled: Any) -> None:
    async def wrong(pilot: Pilot[None]) -> None:
        await _people(pilot)
        await _fill_form(pilot, "Zoé Martin", "2025-07-01")
        await pilot.press("shift+tab", "enter")

    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=wrong)


def test_people_screen_at_80_by_24(snap_compare: Any, family: Any) -> None:
    async def child(pilot: Pilot[None]) -> None:
        screen = await _people(pilot)
        await _highlight(pilot, screen, "Léo Martin")

    assert snap_compare(app_for(family), terminal_size=(80, 24), run_before=child)
