"""The Profile screen: add, edit and remove through the form, checked in the vault; bad input
kept in the form with the core's message and nothing written; "none known"; read-only people;
snapshots at 100×32 and 80×24.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.help import HelpScreen
from msante.tui.screens.profile import ProfileScreen
from msante.tui.screens.profile_form import EntryForm
from msante.tui.state import Clock
from tests.tui.helpers import SIZE, app_for, fixed_id, open_screen, sync, until

STAMP = "2025-06-10T09:00:00.000000+00:00"


async def profile_screen(pilot: Pilot[None]) -> ProfileScreen:
    """Go to the Profile screen (key 3) and wait for its first load."""
    return await open_screen(pilot, "3", ProfileScreen)


async def open_form(pilot: Pilot[None], key: str) -> EntryForm:
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, EntryForm))
    form = pilot.app.screen
    assert isinstance(form, EntryForm)
    await until(pilot, lambda: isinstance(pilot.app.focused, (Input, Select)))
    return form


async def choose_section(pilot: Pilot[None], screen: ProfileScreen, name: str) -> None:
    """Move the section list's highlight down to `name`, as a person would with the arrows."""
    screen.query_one("#sections").focus()
    while screen.section.name != name:
        await pilot.press("down")
        await pilot.pause()


async def field(pilot: Pilot[None], form: EntryForm, name: str) -> None:
    """Tab from field to field until `name` has the focus."""
    for _ in range(12):
        if pilot.app.focused is form.query_one(f"#f-{name}"):
            return
        await pilot.press("tab")
    raise AssertionError(f"never reached {name}")


def value_of(form: EntryForm, name: str) -> str:
    widget = form.query_one(f"#f-{name}")
    return str(widget.value) if isinstance(widget, (Input, Select)) else ""


def allergies(vault: Any, everything: bool = False) -> list[Any]:
    return vault.profile.list(vault.people.owner(), "allergies", everything=everything)


def profile_actions(vault: Any) -> list[str]:
    """The profile's audit entries, oldest first."""
    return [e.action for e in reversed(list(vault.audit.entries(action="profile")))]


@sync
async def test_edit_profile_add_then_edit_then_remove_an_allergy(filled: Any) -> None:
    """The issue's "edit profile" flow, with keys only; the vault holds each step's result."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        assert screen.section.name == "allergies"
        form = await open_form(pilot, "a")
        await pilot.press(*"Pénicilline", "tab", *"urticaire", "tab")
        await pilot.press("enter", "down", "down", "down", "enter")  # severity: severe
        await field(pilot, form, "since")
        await pilot.press(*"2010", "ctrl+s")
        await until(pilot, lambda: pilot.app.screen is screen)
        [added] = allergies(filled)
        assert added.data == {"substance": "Pénicilline", "reaction": "urticaire",
                              "severity": "severe", "since": "2010"}
        assert added.status == "current" and added.revision == 1
        assert "Pénicilline" in str(screen.query_one("#entry", Static).render())

        await pilot.press("tab")  # to the table, where Enter edits too
        form = await open_form(pilot, "enter")
        assert value_of(form, "substance") == "Pénicilline"
        assert value_of(form, "severity") == "severe"
        await field(pilot, form, "reaction")
        await pilot.press(*"œdème de Quincke", "enter")
        await until(pilot, lambda: pilot.app.screen is screen)
        [edited] = allergies(filled)
        assert edited.id == added.id and edited.revision == 2
        assert edited.data["reaction"] == "œdème de Quincke"
        assert [v.data["reaction"] for v in filled.profile.history(edited)] == ["urticaire"]
        assert "urticaire → œdème de Quincke" in str(screen.query_one("#entry").render())

        await pilot.press("delete")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        assert "entered in error" in pilot.app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: pilot.app.screen is screen)
        assert allergies(filled) == []
        [removed] = allergies(filled, everything=True)
        assert removed.status == "entered-in-error"
        assert [v.status for v in filled.profile.history(removed)] == ["current", "current"]
        assert profile_actions(filled)[-3:] == ["profile.add", "profile.edit", "profile.remove"]
        await pilot.press("r")  # the removed entry is still there, marked
        assert screen.query_one("#entries").row_count == 1
        assert "entered in error" in str(screen.query_one("#entry").render())


@sync
async def test_an_invalid_date_stays_in_the_form_with_the_core_message(filled: Any) -> None:
    """The core's message goes under the field it names; what was typed stays; nothing is
    written until the whole entry is valid."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await profile_screen(pilot)
        before = profile_actions(filled)
        form = await open_form(pilot, "a")
        await pilot.press(*"Latex")
        await field(pilot, form, "since")
        await pilot.press(*"31/02/2019", "enter")
        assert pilot.app.screen is form
        errors = form.errors()
        assert list(errors) == ["since"]
        assert "Invalid since '31/02/2019'" in errors["since"]
        assert form.query_one("#f-since").has_class("-invalid")
        assert pilot.app.focused is form.query_one("#f-since")
        assert value_of(form, "substance") == "Latex"
        assert allergies(filled) == [] and profile_actions(filled) == before

        await pilot.press("ctrl+u", *"02/2019", "enter")  # corrected: saved, form closed
        await until(pilot, lambda: pilot.app.screen is not form)
        assert [e.data for e in allergies(filled)] == [{"substance": "Latex",
                                                          "since": "2019-02"}]


@sync
async def test_a_required_field_and_a_rule_across_fields(filled: Any) -> None:
    """An empty required field is named under it; a rule between two fields (an end before
    its start) has no single field, so its message goes under the form."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        await choose_section(pilot, screen, "treatments")
        form = await open_form(pilot, "a")
        await pilot.press("enter")
        assert form.errors() == {"medicine": "⚠ The medicine is required."}
        await pilot.press(*"Amoxicilline")
        await field(pilot, form, "start")
        await pilot.press(*"2024-03", "tab", *"2024-01", "enter")
        assert list(form.errors()) == [""]
        assert "before the start date" in form.errors()[""]
        owner = filled.people.owner()
        assert filled.profile.list(owner, "treatments") == []
        await pilot.press("escape")
        assert pilot.app.screen is screen
        assert filled.profile.list(owner, "treatments") == []


@sync
async def test_a_bad_edit_leaves_the_entry_as_it_was(filled: Any) -> None:
    owner = filled.people.owner()
    entry = filled.profile.add(owner, "vaccinations", {"vaccine": "ROR", "date": "2020"})
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        await choose_section(pilot, screen, "vaccinations")
        form = await open_form(pilot, "e")
        await field(pilot, form, "dose")
        await pilot.press(*"zéro", "enter")
        assert "whole number" in form.errors()["dose"]
        await pilot.press("escape")
    again = filled.profile.get(entry.id)
    assert again.revision == 1 and again.data == entry.data
    assert filled.profile.history(again) == []


@sync
async def test_none_known_then_a_real_allergy_replaces_it(filled: Any) -> None:
    """`n` states "no known allergy"; the section list says so; a real allergy supersedes it
    (the form warns first). Sections without such a statement do not offer `n`."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        await pilot.press("n")
        [statement] = allergies(filled)
        assert statement.is_none_statement
        assert "none" in str(screen.query_one("#sections").get_option("allergies").prompt)
        form = await open_form(pilot, "a")
        assert "No known allergy" in str(form.query_one(".note", Static).render())
        await pilot.press(*"Arachide", "enter")
        await until(pilot, lambda: pilot.app.screen is screen)
        assert [e.text() for e in allergies(filled)] == ["Arachide"]
        assert filled.profile.get(statement.id).status == "superseded"
        await choose_section(pilot, screen, "vaccinations")
        assert "none_known" not in {a.binding.action for a in screen.active_bindings.values()}


@sync
async def test_advance_directives_name_a_stored_document_from_a_list(filled: Any) -> None:
    """A `doc` field is a list of the person's documents, not an id to copy by hand; the
    entry is then shown by the document's title."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        await choose_section(pilot, screen, "directives")
        form = await open_form(pilot, "a")
        await field(pilot, form, "document")
        await pilot.press("enter", "down", "enter", "ctrl+s")  # the newest document
        await until(pilot, lambda: pilot.app.screen is screen)
        [entry] = filled.profile.list(filled.people.owner(), "directives")
        assert entry.data == {"document": fixed_id(1)}
        assert "2025-03-12 Bilan lipidique" in str(screen.query_one("#entry").render())


@sync
async def test_deleting_a_trusted_person_says_it_is_for_good(filled: Any) -> None:
    owner = filled.people.owner()
    filled.profile.add(owner, "trusted-person", {"name": "Paul Martin", "relation": "frère"})
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        await choose_section(pilot, screen, "trusted-person")
        await pilot.press("delete")
        await until(pilot, lambda: isinstance(pilot.app.screen, ConfirmScreen))
        assert "for good" in pilot.app.screen.question
        await pilot.press("y")
        await until(pilot, lambda: pilot.app.screen is screen)
    assert filled.profile.list(owner, "trusted-person", everything=True) == []


@sync
async def test_a_child_of_age_is_read_only_with_a_clear_message(filled: Any) -> None:
    """In 2040 Léo is of age: no form opens, the reason is shown, nothing is written."""
    later = Clock(today=lambda: dt.date(2040, 1, 1),
                  now=lambda: dt.datetime(2040, 1, 1, 8, tzinfo=dt.UTC))
    app = app_for(filled, later)
    async with app.run_test(size=SIZE) as pilot:
        screen = await profile_screen(pilot)
        await pilot.press("p")  # Léo
        await until(pilot, lambda: "read only" in str(screen.query_one("#status").render()))
        for key in ("a", "n"):
            await pilot.press(key)
            assert pilot.app.screen is screen
        messages = [n.message for n in app._notifications]
        assert any("came of age" in m and "read-only" in m for m in messages)
    leo = filled.people.get("Léo Martin")
    assert filled.profile.list(leo, everything=True) == []


@sync
async def test_help_lists_the_profile_keys(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await profile_screen(pilot)
        await pilot.press("question_mark")
        assert isinstance(pilot.app.screen, HelpScreen)
        described = {d for _key, d in pilot.app.screen.keys}
        assert {"Add", "Edit", "Remove", "None known", "Removed entries"} <= described


# -- snapshots -----------------------------------------------------------------------------


@pytest.fixture
def profiled(filled: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """`filled` with a profile for the owner, its ids and times fixed for the snapshots."""
    ids = (fixed_id(n) for n in itertools.count(0x100))
    monkeypatch.setattr("msante.vault.records.new_id", lambda: next(ids))
    monkeypatch.setattr("msante.vault.records.now", lambda: STAMP)
    monkeypatch.setattr("msante.vault.db.now", lambda: STAMP)
    owner, profile = filled.people.owner(), filled.profile
    peni = profile.add(owner, "allergies", {
        "substance": "Pénicilline", "reaction": "urticaire", "severity": "moderate",
        "type": "allergy", "category": "medication", "since": "2010"})
    profile.edit(peni.id, {"severity": "severe", "reaction": "œdème de Quincke"},
                 revision=peni.revision)
    profile.add(owner, "allergies", {"substance": "Pollen de bouleau", "severity": "mild",
                                     "category": "environment", "since": "03/2015"})
    profile.add(owner, "treatments", {"medicine": "Lévothyroxine", "dose": "75 µg",
                                      "frequency": "1 par jour", "start": "2018-03"})
    profile.add(owner, "conditions", {"condition": "Hypothyroïdie", "status": "active",
                                      "onset": "2018-02"})
    for vaccine, date in (("Boostrixtetra", "2020-05-12"), ("Grippe", "2024-10-15")):
        profile.add(owner, "vaccinations", {"vaccine": vaccine, "date": date})
    profile.add(owner, "blood-group", {"group": "O+"})
    profile.add(owner, "trusted-person", {"name": "Paul Martin", "relation": "frère",
                                          "phone": "+33 6 12 34 56 78"})
    return filled


def test_profile_screen(snap_compare: Any, profiled: Any) -> None:
    """Pénicilline highlighted: its detail with the version its edit replaced."""
    async def penicillin(pilot: Pilot[None]) -> None:
        await profile_screen(pilot)
        await pilot.press("tab", "down")
        await pilot.pause()

    assert snap_compare(app_for(profiled), terminal_size=SIZE, run_before=penicillin)


def test_profile_form_with_an_inline_error(snap_compare: Any, profiled: Any) -> None:
    async def bad_date(pilot: Pilot[None]) -> None:
        await profile_screen(pilot)
        form = await open_form(pilot, "a")
        await pilot.press(*"Latex")
        await field(pilot, form, "since")
        await pilot.press(*"2999", "enter")
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor made the snapshot flaky
        await pilot.pause()

    assert snap_compare(app_for(profiled), terminal_size=SIZE, run_before=bad_date)


def test_profile_screen_at_80_by_24_with_removed_entries(snap_compare: Any,
                                                         profiled: Any) -> None:
    async def removed(pilot: Pilot[None]) -> None:
        screen = await profile_screen(pilot)
        await pilot.press("tab", "down", "delete", "y")
        await until(pilot, lambda: pilot.app.screen is screen)
        await pilot.press("r")
        pilot.app.clear_notifications()
        await pilot.pause()

    assert snap_compare(app_for(profiled), terminal_size=(80, 24), run_before=removed)


def test_a_section_label_too_long_for_the_list_goes_on_two_lines_whole() -> None:
    """French labels are longer ("Antécédents médicaux et chirurgicaux"): wrapped between
    words, never cut, the count at the right of the last line."""
    from msante import i18n
    from msante.profile import sections
    from msante.tui.screens.profile_view import section_prompt

    spec = sections.get("history")
    i18n.setup("fr")
    try:
        label = i18n._(spec.label)
        for width in (20, 32, 60):
            lines = section_prompt(spec, 1, False, width).plain.split("\n")
            assert all(len(line) <= width for line in lines), lines
            assert lines[-1].endswith("1") and "…" not in "".join(lines)
            assert " ".join(" ".join(lines).split()[:-1]) == label
        assert len(section_prompt(spec, 1, False, 32).plain.split("\n")) == 2
        assert len(section_prompt(spec, 1, False, 60).plain.split("\n")) == 1
    finally:
        i18n.setup("en")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_every_provenance_is_said_in_words(lang: str) -> None:
    """'Origin' never shows a raw code word: an entry made by marking a prevention item done
    says so, in English and in French."""
    from msante import i18n
    from msante.profile.service import PROVENANCES
    from msante.tui.screens.profile_view import provenance_label

    i18n.setup(lang)
    try:
        said = {p: provenance_label(p) for p in PROVENANCES}
    finally:
        i18n.setup("en")
    assert said["prevention"] != "prevention" and len(said["prevention"].split()) > 1
    assert len(set(said.values())) == len(PROVENANCES)
    if lang == "fr":
        assert all(said[p] != p for p in PROVENANCES), said
