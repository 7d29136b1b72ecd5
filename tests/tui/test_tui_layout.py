"""Every screen in both languages at 80×24 and 120×40: SVG snapshots, and nothing cut in a word.

The snapshots are looked at before they are committed (`--snapshot-update`, then the report).
French is the TUI's modules imported afresh under French (see test_tui_french.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot

from tests.tui.helpers import frozen_clock, sync, until
from tests.tui.test_tui_french import french_app_module  # noqa: F401  (a fixture)

SCREENS = {"1": "home", "2": "documents", "3": "profile", "4": "measures", "5": "agenda",
           "6": "activity", "7": "people"}
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture(params=["en", "fr"])
def app_module(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """msante.tui.app in English, or imported afresh under French."""
    if request.param == "en":
        import msante.tui.app as english

        yield english
    else:
        yield request.getfixturevalue("french_app_module")


@pytest.fixture
def profiled(filled: Any) -> Any:
    """The `filled` vault with a profile whose French labels are long."""
    owner = filled.people.owner()
    filled.profile.add(owner, "allergies", {"substance": "Pénicilline", "severity": "severe"})
    filled.profile.add(owner, "conditions", {"condition": "Appendicectomie",
                                             "kind": "surgical"})
    filled.profile.add(owner, "vaccinations", {"vaccine": "Boostrixtetra",
                                               "date": "2020-05-12"})
    return filled


def _loaded(pilot: Pilot[None]) -> bool:
    return bool(getattr(pilot.app.screen, "loaded", False))


def _shown(key: str) -> Any:
    async def show(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: _loaded(pilot))
        if key != "1":
            await pilot.press(key)
            await until(pilot, lambda: _loaded(pilot) and pilot.app.screen.NAME == SCREENS[key])
        await pilot.pause(0.3)
    return show


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", SCREENS)
def test_screen(snap_compare: Any, app_module: ModuleType, profiled: Any, key: str,
                size: str) -> None:
    app = app_module.MsanteApp(profiled.path, profiled, clock=frozen_clock())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_shown(key))


@pytest.mark.parametrize("size", SIZES)
@sync
async def test_no_table_cell_is_cut_in_a_word(app_module: ModuleType, profiled: Any,
                                              size: str) -> None:
    """Every cell of every table fits its column, or ends with "…" after a whole word."""
    app = app_module.MsanteApp(profiled.path, profiled, clock=frozen_clock())
    async with app.run_test(size=SIZES[size]) as pilot:
        for key in SCREENS:
            await _shown(key)(pilot)
            for table in pilot.app.screen.query("DataTable"):
                widths = [0 if c.auto_width else c.width for c in table.ordered_columns]
                for row in range(table.row_count):
                    for cell, width in zip(table.get_row_at(row), widths, strict=False):
                        text = str(cell)
                        if width and cell_len(text) > width:
                            raise AssertionError((key, text, width))
                        if text.endswith("…"):
                            assert not text[-2:-1].isspace(), text


def _form(key: str) -> Any:
    async def show(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: _loaded(pilot))
        await pilot.press(key)
        await pilot.pause(0.5)
    return show


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["S", "E", "C", "B"])
def test_export_form(snap_compare: Any, app_module: ModuleType, profiled: Any, key: str,
                     size: str) -> None:
    app = app_module.MsanteApp(profiled.path, profiled, clock=frozen_clock())
    app.last_folder = Path("/tmp")  # the form's default path, the same on every machine
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_form(key))
