"""Every screen in both languages at 80×24 and 120×40: SVG snapshots, and nothing cut in a word.

The snapshots are looked at before they are committed (`--snapshot-update`, then the report).
Each language is the TUI's modules imported afresh under it (see test_tui_french.py).
"""

from __future__ import annotations

import importlib
import itertools
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from rich.cells import cell_len
from textual.content import Content
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


def _more_count(line: str) -> int:
    """The number a "+ N more" line gives ("+ 2 de plus"), 0 for an item's line."""
    match = re.fullmatch(r"\+ (\d+) \S.*", line)
    return int(match[1]) if match else 0


@pytest.mark.parametrize("size", SIZES)
@sync
async def test_home_panels_show_whole_items_and_say_how_many_more(
        app_module: ModuleType, record: Any, size: str) -> None:
    """Issue 11 part 5: "À faire" at 80×24 lost "enregistré" below its border. Each panel of
    Home shows whole items only, and a last line says how many it could not show."""
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
    async with app.run_test(size=SIZES[size]) as pilot:
        await _shown("1")(pilot)
        person = record.people.owner()
        due = [i for i in record.agenda.due(person, today=frozen_clock().today())
               if i.status in ("overdue", "due")]
        for panel in app.screen.query(".panel"):
            width, height = panel.content_size
            visual = panel.render()
            assert isinstance(visual, Content), panel.id
            assert len(visual.wrap(width)) <= height, (panel.id, visual.plain)
            if panel.id == "attention":
                lines = visual.plain.split("\n")
                hidden = _more_count(lines[-1])
                assert len(lines) - (1 if hidden else 0) + hidden == len(due), visual.plain


@pytest.mark.parametrize("lang, said", [("en", "+ 2 more"), ("fr", "+ 2 de plus")])
def test_a_panel_too_small_for_its_items_shows_whole_ones_and_how_many_more(
        lang: str, said: str) -> None:
    """Three items of two lines each in four lines: one item, then the count of the others
    (the last line says it, in the user's language); nothing is cut below the border."""
    from msante.tui.widgets import fit_lines

    i18n.setup(lang)
    items = [Content(f"item {n} with words enough to wrap") for n in range(3)]
    shown = fit_lines(items, 3, 20, 4)
    assert shown.plain.split("\n") == ["item 0 with words enough to wrap", said]
    assert len(shown.wrap(20)) <= 4
    assert fit_lines(items, 7, 40, 10).plain.endswith("+ 4 more" if lang == "en" else said[:2]
                                                       + "4 de plus")
    assert fit_lines(items, 3, 40, 3).plain.count("\n") == 2  # all fit: no count line


# -- sync: Home's panel of a vault that syncs, and the Conflicts screen -------------------------
# The data is the API's (Vault.sync_status, Vault.sync_conflicts) fixed here: a real conflict
# carries random device names and the time it happened (tests/tui/test_tui_sync.py drives the
# real ones through a live server).

SYNC_STATUS = {
    "configured": True, "server": "https://sync.example.org",
    "last_sync": "2025-06-16T07:45:00+00:00", "pending_changes": 3, "conflicts": 2,
    "last_attempt": {"at": "2025-06-16T07:50:00+00:00", "by": "background", "ok": False,
                     "error": "The server at https://sync.example.org could not be reached."},
    "background": {"on": True, "every": 300, "last_run": "2025-06-16T07:50:00+00:00",
                   "error": None},
}


def _version(fields: dict[str, Any], device: str, at: str, deleted: bool = False) -> Any:
    return {"deleted": deleted, "fields": fields, "device": device, "at": at}


CONFLICTS = [
    {"id": 1, "type": "profile_entries", "record": fixed_id(1), "person": "Camille Martin",
     "space": fixed_id(2), "differs": ["data"], "resolved": None,
     "mine": _version({"data": '{"substance": "pollen de graminées", "note": "juin"}'},
                      "this device", "2025-06-15T18:00:00+00:00"),
     "theirs": _version({"data": '{"substance": "bouleau", "note": "avril et mai"}'},
                        "Téléphone de Camille (pentagon curtsy revisit)",
                        "2025-06-16T07:30:00+00:00")},
    {"id": 2, "type": "agenda_items", "record": fixed_id(3), "person": "Léo Martin",
     "space": fixed_id(4), "differs": ["location", "title"], "resolved": None,
     "mine": _version({"title": "Pédiatre", "location": "Cabinet du Parc"}, "this device",
                      "2025-06-14T09:00:00+00:00"),
     "theirs": _version({}, "Tablette", "2025-06-15T10:00:00+00:00", deleted=True)},
]


@pytest.fixture
def syncing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The vault answers as one set up for sync, with two conflicts."""
    monkeypatch.setattr("msante.api.Vault.sync_status", lambda self: SYNC_STATUS)
    monkeypatch.setattr("msante.api.Vault.sync_conflicts", lambda self: CONFLICTS)
    monkeypatch.setenv("TZ", "Europe/Paris")


def _conflicts(pilot: Pilot[None]) -> Any:
    async def show() -> None:
        await until(pilot, lambda: _loaded(pilot))
        await pilot.press("K")
        await until(pilot, lambda: _loaded(pilot)
                    and getattr(pilot.app.screen, "NAME", "") == "conflicts")
        await pilot.pause(0.3)
    return show()


@pytest.mark.parametrize("size", SIZES)
def test_home_of_a_vault_that_syncs(snap_compare: Any, app_module: ModuleType, record: Any,
                                    syncing: None, size: str) -> None:
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_shown("1"))


@pytest.mark.parametrize("size", SIZES)
def test_conflicts_screen(snap_compare: Any, app_module: ModuleType, record: Any,
                          syncing: None, size: str) -> None:
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
    assert snap_compare(app, terminal_size=SIZES[size], run_before=_conflicts)


@pytest.mark.parametrize("size", SIZES)
@sync
async def test_sync_texts_are_whole(app_module: ModuleType, record: Any, syncing: None,
                                    size: str) -> None:
    """Home's sync panel shows every line whole; the conflicts table cuts no cell inside a
    word; the header's sync words fit beside the screen's name."""
    app = app_module.MsanteApp(record.path, record, clock=frozen_clock())
    async with app.run_test(size=SIZES[size]) as pilot:
        await _shown("1")(pilot)
        panel = app.screen.query_one("#sync")
        width, height = panel.content_size
        text = panel.render()
        assert len(text.wrap(width)) <= height, text.plain
        assert "2" in app.screen.sub_title
        await _conflicts(pilot)
        table = app.screen.query_one("DataTable")
        widths = [c.width for c in table.ordered_columns]
        for row in range(table.row_count):
            for cell, width in zip(table.get_row_at(row), widths, strict=True):
                assert cell_len(str(cell)) <= width, (str(cell), width)
                if str(cell).endswith("…"):
                    assert not str(cell)[-2:-1].isspace(), str(cell)
        title = f"msante — {app.screen.sub_title}"
        assert cell_len(title) <= SIZES[size][0] - 10, title
