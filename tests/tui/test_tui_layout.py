"""Every screen in both languages at 80×24 and 120×40: SVG snapshots, and nothing cut in a word.

The snapshots are looked at before they are committed (`--snapshot-update`, then the report).
Each language is the TUI's modules imported afresh under it (see test_tui_french.py).
"""

from __future__ import annotations

import importlib
import itertools
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.cells import cell_len
from textual.pilot import Pilot
from textual.widgets import Input

from msante import i18n
from tests.tui.helpers import fixed_id, frozen_clock, sync, until
from tests.tui.test_tui_activity import paris_and_a_ticking_audit_clock  # noqa: F401
from tests.tui.test_tui_profile import STAMP, profiled  # noqa: F401

SCREENS = {"1": "home", "2": "documents", "3": "profile", "4": "measures", "5": "agenda",
           "6": "activity", "7": "people"}
SIZES = {"80x24": (80, 24), "120x40": (120, 40)}


@pytest.fixture(params=["en", "fr"])
def app_module(request: pytest.FixtureRequest) -> Iterator[ModuleType]:
    """msante.tui.app imported afresh in the language (a copy imported under the other one
    keeps its words: they are translated at import); the suite's copy put back afterwards."""
    kept = {n: m for n, m in sys.modules.items() if n.startswith("msante.tui")}
    for name in kept:
        del sys.modules[name]
    i18n.setup(request.param)
    try:
        yield importlib.import_module("msante.tui.app")
    finally:
        for name in [n for n in sys.modules if n.startswith("msante.tui")]:
            del sys.modules[name]
        sys.modules.update(kept)
        i18n.setup("en")


@pytest.fixture(autouse=True)
def fixed_ids_and_times(monkeypatch: pytest.MonkeyPatch) -> None:
    """Record ids and creation times fixed, audit entries stamped a tick apart (the screens
    show them), before the vault is made."""
    ids = (fixed_id(n) for n in itertools.count(0x200))
    monkeypatch.setattr("msante.vault.records.new_id", lambda: next(ids))
    monkeypatch.setattr("msante.vault.records.now", lambda: STAMP)
    monkeypatch.setattr("msante.vault.db.now", lambda: STAMP)


@pytest.fixture
def record(profiled: Any) -> Any:  # noqa: F811  (test_tui_profile's, with long French labels)
    """The `filled` vault with test_tui_profile's profile."""
    return profiled


def _loaded(pilot: Pilot[None]) -> bool:
    return bool(getattr(pilot.app.screen, "loaded", False))


def _shown(key: str) -> Any:
    async def show(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: _loaded(pilot))
        if key != "1":
            await pilot.press(key)
            await until(pilot, lambda: _loaded(pilot)
                        and getattr(pilot.app.screen, "NAME", "") == SCREENS[key])
        await pilot.pause(0.3)
    return show


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", SCREENS)
def test_screen(snap_compare: Any, app_module: ModuleType, record: Any, key: str,
                size: str) -> None:
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_shown(key))


@pytest.mark.parametrize("size", SIZES)
@sync
async def test_no_table_cell_is_cut_in_a_word(app_module: ModuleType, record: Any,
                                              size: str) -> None:
    """Every cell of every table fits its column, or ends with "…" after a whole word."""
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
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
        await until(pilot, lambda: bool(pilot.app.screen.query(Input)))
        for field in pilot.app.screen.query(Input):
            field.cursor_blink = False  # a blinking cursor would make the snapshot flaky
        await pilot.pause(0.3)
    return show


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("key", ["S", "E", "C", "B"])
def test_export_form(snap_compare: Any, app_module: ModuleType, record: Any, key: str,
                     size: str) -> None:
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
    app.last_folder = Path("/tmp")  # the form's default path, the same on every machine
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_form(key))
