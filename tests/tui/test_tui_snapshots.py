"""SVG snapshots of each screen at 100×32 (and Home at 80×24), frozen clock, fixed ids.

Update after a deliberate change with `pytest tests/tui --snapshot-update` and look at the
report before committing the new SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Input

from msante.tui.app import MsanteApp
from msante.tui.screens.base import MainScreen
from msante.tui.screens.unlock import UnlockScreen
from tests.helpers_vault import make_vault
from tests.tui.helpers import SIZE, app_for, frozen_clock, until


async def _loaded(pilot: Pilot[None]) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen) and pilot.app.screen.loaded)


def test_unlock_screen(snap_compare: Any, home: Path) -> None:
    vault, _recovery = make_vault(home)
    vault.close()

    async def asking(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: isinstance(pilot.app.screen, UnlockScreen)
                    and bool(pilot.app.screen.query(Input))  # composed yet
                    and not pilot.app.screen.query_one(Input).disabled)

    app = MsanteApp(home, clock=frozen_clock())
    assert snap_compare(app, terminal_size=SIZE, run_before=asking)


def test_home_screen(snap_compare: Any, filled: Any) -> None:
    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=_loaded)


def test_home_screen_of_a_child(snap_compare: Any, filled: Any) -> None:
    async def child(pilot: Pilot[None]) -> None:
        await _loaded(pilot)
        await pilot.press("p")
        await pilot.pause()

    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=child)


def test_home_screen_at_80_by_24_in_the_light_theme(snap_compare: Any, filled: Any) -> None:
    async def light(pilot: Pilot[None]) -> None:
        await _loaded(pilot)
        await pilot.press("ctrl+t")

    assert snap_compare(app_for(filled), terminal_size=(80, 24), run_before=light)


def test_documents_screen(snap_compare: Any, filled: Any) -> None:
    async def documents(pilot: Pilot[None]) -> None:
        await _loaded(pilot)
        await pilot.press("2")
        await _loaded(pilot)

    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=documents)


def test_documents_screen_with_a_search_and_the_text(snap_compare: Any, filled: Any) -> None:
    async def search(pilot: Pilot[None]) -> None:
        await _loaded(pilot)
        await pilot.press("2")
        await _loaded(pilot)
        await pilot.press("slash", *"cholest", "enter", "enter")
        await pilot.pause()

    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=search)


def test_help_on_the_documents_screen(snap_compare: Any, filled: Any) -> None:
    async def help_(pilot: Pilot[None]) -> None:
        await _loaded(pilot)
        await pilot.press("2")
        await _loaded(pilot)
        await pilot.press("question_mark")

    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=help_)


def test_delete_confirmation(snap_compare: Any, filled: Any) -> None:
    async def confirm(pilot: Pilot[None]) -> None:
        await _loaded(pilot)
        await pilot.press("2")
        await _loaded(pilot)
        await pilot.press("delete")

    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=confirm)
