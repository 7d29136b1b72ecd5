"""The measurements screen: kinds with their latest value, the trend chart, the recent values;
adding through the form (checked by the core, refusals shown inline), removing, switching
person — each flow checked in the vault afterwards. Then snapshots at a fixed size.

Times are local: the module runs in Paris time so that what is typed ("2025-06-16 09:30") and
what is shown do not depend on the machine's time zone.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList, Select, Static

from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.measures import PERIODS, MeasuresScreen
from msante.tui.screens.measures_chart import TrendChart, nice_step, y_ticks
from msante.tui.screens.measures_form import AddMeasureScreen
from tests.tui.helpers import SIZE, app_for, open_screen, sync, until

WEIGHTS = ["73,4", "73,1", "72,6", "72,9", "72,2", "71,8", "71,5", "71,9", "71,2"]
PRESSURES = ["131/84", "128/82", "126/80", "129/83", "122/78"]


@pytest.fixture(autouse=True)
def paris() -> Iterator[None]:
    """Local time is Paris time for this module (restored afterwards)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if before is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = before
    time.tzset()


@pytest.fixture
def weights(filled: Any) -> Any:
    """`filled`, plus a height, weights every 16 days since January and blood pressures."""
    owner = filled.people.owner()
    filled.measures.add(owner, "height", "1,68 m", at="2024-11-04 09:00")
    start = dt.datetime(2025, 1, 6, 8, 0)
    for n, value in enumerate(WEIGHTS):
        filled.measures.add(owner, "weight", value, at=start + dt.timedelta(days=16 * n))
    start = dt.datetime(2025, 3, 3, 8, 30)
    for n, value in enumerate(PRESSURES):
        filled.measures.add(owner, "bp", value, at=start + dt.timedelta(days=17 * n),
                            note="au réveil [bras gauche]" if n == 4 else None)
    return filled


async def _measures(pilot: Pilot[None]) -> MeasuresScreen:
    return await open_screen(pilot, "4", MeasuresScreen)


def kinds_shown(screen: MeasuresScreen) -> list[str | None]:
    return [o.id for o in screen.query_one("#kinds", OptionList).options]


def text_of(screen: Any, selector: str) -> str:
    return str(screen.query_one(selector, Static).render())


# -- reading ---------------------------------------------------------------------------------


@sync
async def test_the_kinds_chart_and_table_of_the_owner(weights: Any) -> None:
    """Each kind the person has, its chart (one point per reading) and its recent values."""
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        assert kinds_shown(screen) == ["weight", "height", "blood-pressure"]
        assert screen.kind == "weight"
        chart = screen.query_one(TrendChart)
        assert chart.frame is not None and len(chart.frame.series.values) == 10
        assert screen.query_one("#table", DataTable).row_count == 10
        assert "10 measurements" in text_of(screen, "#status")
        await pilot.press("down", "down")  # blood pressure: two lines
        assert screen.kind == "blood-pressure"
        assert chart.frame is not None and chart.frame.series.values2 is not None
        assert screen.query_one("#chart-box").border_title == "Blood pressure (mmHg)"
        note = screen.query_one("#table", DataTable).get_row_at(1)[-1]
        assert str(note) == "au réveil [bras gauche]"  # a note is text, not markup


@sync
async def test_the_period_bounds_the_chart_not_the_table(weights: Any) -> None:
    """t goes 1 year → all → 1 month: the chart follows, the table keeps the latest values."""
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        chart = screen.query_one(TrendChart)
        await pilot.press("t")  # all
        assert chart.frame is not None and chart.frame.start.date() == dt.date(2025, 1, 6)
        await pilot.press("t")  # 1 month, from 16 May: only the weight of 1 June
        assert chart.frame is not None and chart.frame.series.values == [70.9]
        assert screen.query_one("#table", DataTable).row_count == 10
        await pilot.press("down")  # the height, measured in November: nothing this month
        assert not chart.display and "press t" in text_of(screen, "#nodata")


@sync
async def test_old_measurements_are_charted_rather_than_an_empty_year(vault: Any) -> None:
    """Weights from two years ago: the chart opens on everything, not on an empty year."""
    owner = vault.people.owner()
    vault.measures.add(owner, "weight", "64", at="2023-02-01 08:00")
    vault.measures.add(owner, "weight", "65,5", at="2023-05-01 08:00")
    async with app_for(vault).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        chart = screen.query_one(TrendChart)
        assert screen.period == len(PERIODS) - 1 and chart.display
        assert chart.frame is not None and chart.frame.series.values == [64, 65.5]


@sync
async def test_switching_person_changes_the_kinds(weights: Any) -> None:
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        await pilot.press("p")
        await until(pilot, lambda: kinds_shown(screen) == ["height"])
        assert screen.kind == "height"
        assert str(screen.query_one("#table", DataTable).get_row_at(0)[1]) == "112 cm"
        await pilot.press("p")
        await until(pilot, lambda: len(kinds_shown(screen)) == 3)


@sync
async def test_someone_without_measurements_is_told_what_to_do(vault: Any) -> None:
    async with app_for(vault).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        assert not screen.query_one("#body").display
        assert "Press a to add one" in text_of(screen, "#empty")


# -- adding ----------------------------------------------------------------------------------


@sync
async def test_add_a_weight_through_the_form(weights: Any) -> None:
    """The value as a person types it, a time in local time, a note: stored as the CLI would."""
    owner = weights.people.owner()
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        await pilot.press("a")
        form = pilot.app.screen
        assert isinstance(form, AddMeasureScreen)
        assert form.query_one("#when").value == "2025-06-16 10:00"  # the clock's now, local
        await pilot.press(*"72,4", "tab", *"2025-06-16 09:30", "tab", *"après le footing")
        await pilot.press("enter")
        await until(pilot, lambda: pilot.app.screen is screen)
        latest = weights.measures.list(owner, "weight", limit=1)[0]
        assert (latest.value, latest.unit, latest.entered) == (72.4, "kg", "72,4 kg")
        assert latest.at == "2025-06-16T07:30:00.000000+00:00" and latest.note == "après le footing"
        assert latest.provenance == "typed"
        assert screen.current is not None and screen.current.id == latest.id  # highlighted
        assert "72.4 kg" in str(screen.query_one("#kinds", OptionList).options[0].prompt)


@sync
async def test_the_kind_is_chosen_in_the_form_and_its_unit_is_read(weights: Any) -> None:
    """Blood glucose typed "5,4 mmol/L" is stored in g/L (the kind's own unit)."""
    owner = weights.people.owner()
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        await pilot.press("a", "shift+tab", "enter", *"blood g", "enter")
        form = pilot.app.screen
        assert isinstance(form, AddMeasureScreen) and form.kind.name == "glucose"
        assert "mmol/L" in text_of(form, "#hint")
        await pilot.press("tab", *"5,4 mmol/L", "enter")
        await until(pilot, lambda: pilot.app.screen is screen)
        made = weights.measures.list(owner, "glucose")
        assert [(m.display(), m.entered) for m in made] == [("0.97 g/L", "5,4 mmol/L")]
        assert screen.kind == "glucose" and "glucose" in kinds_shown(screen)


BAD = [
    # kind, value, time ("" = the default), words of the core's refusal
    ("weight", "709", "", "not plausible"),
    ("glucose", "5,4", "", "without a unit looks like mmol/L"),
    ("weight", "70", "32/13/2025", "Invalid date"),
    ("weight", "70", "2030-01-01 08:00", "in the future"),
    ("blood-pressure", "80/120", "", "higher than the diastolic"),
    ("weight", "", "", "Type the value"),
    ("weight", "72 [kg]", "", "'[kg]' is not a unit"),  # shown as typed, never as markup
]


@sync
async def test_bad_input_is_refused_inline_and_nothing_is_written(weights: Any) -> None:
    """The core's own message appears in the form, which stays open; the vault is unchanged.

    The fields are filled directly (typing is what the other tests do): seven refusals.
    """
    owner = weights.people.owner()
    before = (len(weights.measures.list(owner, limit=0)), len(list(weights.audit.entries())))
    async with app_for(weights).run_test(size=SIZE) as pilot:
        await _measures(pilot)
        await pilot.press("a")
        form = pilot.app.screen
        assert isinstance(form, AddMeasureScreen)
        default_time = form.query_one("#when", Input).value
        for kind, value, at, words in BAD:
            form.query_one("#kind", Select).value = kind
            form.query_one("#value", Input).value = value
            form.query_one("#when", Input).value = at or default_time
            await pilot.pause()
            form.query_one("#value", Input).focus()
            await pilot.press("enter")
            assert pilot.app.screen is form, value
            assert words in text_of(form, "#error"), (value, text_of(form, "#error"))
        await pilot.press("escape")
        assert isinstance(pilot.app.screen, MeasuresScreen)
    after = (len(weights.measures.list(owner, limit=0)), len(list(weights.audit.entries())))
    assert after == before


@sync
async def test_a_grown_up_childs_measurements_are_not_edited(weights: Any) -> None:
    """A child of age is read only for the parent: the core's reason, no form."""
    jeanne = weights.people.add("Jeanne Martin", "2004-02-29", "female")
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        pilot.app.choose_person(jeanne.id)
        await pilot.pause()
        await pilot.press("a")
        await pilot.pause()
        assert pilot.app.screen is screen
        assert "read-only" in " ".join(str(n.message) for n in pilot.app._notifications)
    assert weights.measures.list(jeanne) == []


# -- removing --------------------------------------------------------------------------------


@sync
async def test_remove_the_highlighted_measurement_after_confirming(weights: Any) -> None:
    owner = weights.people.owner()
    async with app_for(weights).run_test(size=SIZE) as pilot:
        screen = await _measures(pilot)
        await pilot.press("tab", "down")  # the table: the second latest weight
        gone = screen.current
        assert gone is not None and gone.value == 71.2
        await pilot.press("delete")
        assert isinstance(pilot.app.screen, ConfirmScreen)
        await pilot.press("n")  # no: nothing removed
        assert len(weights.measures.list(owner, "weight")) == 10
        await pilot.press("delete", "y")
        await until(pilot, lambda: screen.query_one("#table", DataTable).row_count == 9)
    left = weights.measures.list(owner, "weight")
    assert gone.id not in [m.id for m in left] and len(left) == 9
    assert [e.record for e in weights.audit.entries(action="measure.remove")] == [gone.id]


# -- the chart's axes ------------------------------------------------------------------------


def test_round_ticks_cover_the_values() -> None:
    """The y axis is labelled with round numbers just around the values, never one value."""
    assert nice_step(4.0, 4) == 1 and nice_step(75, 4) == 20 and nice_step(0.3, 3) == 0.1
    assert y_ticks(70.9, 73.4, 12) == [70, 71, 72, 73, 74]
    ticks = y_ticks(70.9, 70.9, 12)
    assert ticks[0] < 70.9 < ticks[-1]


# -- snapshots -------------------------------------------------------------------------------


def test_snapshot_weights(snap_compare: Any, weights: Any) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _measures(pilot)

    assert snap_compare(app_for(weights), terminal_size=SIZE, run_before=run)


def test_snapshot_blood_pressure(snap_compare: Any, weights: Any) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _measures(pilot)
        await pilot.press("down", "down", "t")  # blood pressure, every reading

    assert snap_compare(app_for(weights), terminal_size=SIZE, run_before=run)


def test_snapshot_add_form_with_an_error(snap_compare: Any, weights: Any) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _measures(pilot)
        await pilot.press("a", "shift+tab", "enter", *"blood g", "enter", "tab", *"5,4",
                          "enter")
        for box in pilot.app.screen.query(Input):
            box.cursor_blink = False  # a blinking cursor would make the snapshot flaky
        await pilot.pause()

    assert snap_compare(app_for(weights), terminal_size=SIZE, run_before=run)


def test_snapshot_80_by_24_in_the_light_theme(snap_compare: Any, weights: Any) -> None:
    async def run(pilot: Pilot[None]) -> None:
        await _measures(pilot)
        await pilot.press("ctrl+t")
        await pilot.pause()

    assert snap_compare(app_for(weights), terminal_size=(80, 24), run_before=run)


def test_the_chart_periods_are_the_duration_reader_s_months_and_year() -> None:
    """`t`'s periods are written as the one duration reader writes them: 1mo and 3mo are
    months ("1m" reads as a minute there), 1y a year; each has its name."""
    from msante import durations
    from msante.tui.screens.measures import period_label

    months = [durations.parse(code, "period").months for code in PERIODS if code]
    assert months == [1, 3, 12]
    assert [period_label(code) for code in PERIODS] == ["1 month", "3 months", "1 year", "all"]
