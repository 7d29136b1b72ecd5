"""The Activity screen: the log newest first, its filters, an entry whole, and `v` verifying the
chain — intact, then after a row of the log was forged with SQL (as tests/test_audit_chain.py
attacks it) — plus SVG snapshots.

Audit times come from the real clock: here every entry is stamped 7 h 13 min after the previous
one from a fixed start, in Paris time, so that the times shown are the same on every run.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import time
from collections.abc import Iterator
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select, Static

from msante.tui.screens.activity import ActivityScreen, period
from msante.tui.screens.activity_view import EntryScreen
from msante.vault import audit
from tests.tui.helpers import SIZE, app_for, open_screen, sync, until

START = dt.datetime(2025, 6, 11, 6, 10, tzinfo=dt.UTC)
STEP = dt.timedelta(hours=7, minutes=13)


@pytest.fixture(autouse=True)
def paris_and_a_ticking_audit_clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Local time is Paris; audit entries are stamped START, START + STEP, …"""
    ticks = itertools.count()
    monkeypatch.setattr(audit, "now", lambda: (START + STEP * next(ticks)).isoformat(
        timespec="microseconds"))
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    yield
    if before is None:
        os.environ.pop("TZ", None)
    else:
        os.environ["TZ"] = before
    time.tzset()


async def _activity(pilot: Pilot[None]) -> ActivityScreen:
    return await open_screen(pilot, "6", ActivityScreen)


def _rows(screen: ActivityScreen) -> list[int]:
    """The entry numbers the table shows, top to bottom."""
    table = screen.query_one("#table")
    return [int(str(key.value)) for key in table.rows]


def _seqs(vault: Any, **filters: Any) -> list[int]:
    return [e.seq for e in vault.audit.entries(**filters)]


def _text(screen: ActivityScreen, name: str) -> str:
    return str(screen.query_one(f"#{name}", Static).render())


async def _typed(pilot: Pilot[None], screen: ActivityScreen, *keys: str) -> None:
    """Type into the focused box and wait for the debounced refill."""
    before = screen.shown
    await pilot.press(*keys)
    await until(pilot, lambda: screen.shown > before)


async def _verified(pilot: Pilot[None], screen: ActivityScreen) -> str:
    await pilot.press("v")
    await until(pilot, lambda: screen.verdict is not None)
    await pilot.pause()
    return _text(screen, "verdict")


@sync
async def test_key_6_shows_the_persons_entries_newest_first(filled: Any) -> None:
    """The owner's entries, newest first, without the vault's own (vault.create); looking at
    the log writes nothing to it (listings are not audited, as `audit list`)."""
    owner = filled.people.owner()
    before = _seqs(filled)
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        rows = _rows(screen)
        assert rows == _seqs(filled, person=owner.id)
        assert rows == sorted(rows, reverse=True) and 1 not in rows
        table = screen.query_one("#table")
        assert str(table.get_row_at(0)[2]) == "Appointment added"
        assert str(table.get_row_at(0)[0]) == "2025-06-14 15:33"  # 13:33 UTC, in Paris
        assert "Bilan lipidique" in [str(table.get_row_at(i)[-1]) for i in range(table.row_count)]
        assert _text(screen, "count") == f"{len(rows)} entries"
    assert _seqs(filled) == before


@sync
async def test_everyone_adds_the_child_and_the_vault_itself(filled: Any) -> None:
    """`e` shows every entry with a Person column; `e` again, the selected person's only."""
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        mine = _rows(screen)
        await pilot.press("e")
        await until(pilot, lambda: len(_rows(screen)) > len(mine))
        assert _rows(screen) == _seqs(filled)
        labels = [str(c.label) for c in screen.query_one("#table").columns.values()]
        assert labels == ["When", "Who", "Action", "Person", "Record"]
        await pilot.press("e")
        await until(pilot, lambda: _rows(screen) == mine)


@sync
async def test_a_long_history_is_windowed(filled: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table holds the LIMIT newest entries and says how many match in all."""
    monkeypatch.setattr("msante.tui.screens.activity.LIMIT", 5)
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        await pilot.press("e")
        await until(pilot, lambda: _rows(screen) == _seqs(filled)[:5])
        total = len(_seqs(filled))
        assert _text(screen, "count") == (
            f"The 5 newest of {total} entries: narrow with the filters.")


@sync
async def test_switching_person_follows_the_app(filled: Any) -> None:
    """`p` makes the child the selected person: the table shows the child's entries."""
    child = filled.people.get("Léo Martin")
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        await pilot.press("p")
        await until(pilot, lambda: _rows(screen) == _seqs(filled, person=child.id))
        assert screen.query_one("#who", Select).value == child.id


@sync
async def test_the_kind_of_action_narrows_the_table(filled: Any) -> None:
    """Choosing "Measurements" in the second list leaves the measurement entries only."""
    owner = filled.people.owner()
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        screen.query_one("#kind", Select).focus()
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press("down", "down", "down", "down", "enter")  # the 4th: Measurements
        await until(pilot, lambda: screen.query_one("#kind", Select).value == "measures")
        await until(pilot, lambda: _rows(screen) == _seqs(filled, person=owner.id,
                                                           action="measure"))
        assert len(_rows(screen)) == 2


@sync
async def test_the_text_filter_finds_titles_and_words(filled: Any) -> None:
    """A document's title finds its entry; an action's words find those entries; nothing
    matching says so."""
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        await pilot.press("slash")
        await _typed(pilot, screen, *"lipid")
        assert len(_rows(screen)) == 1
        assert screen.entries[str(_rows(screen)[0])].action == "document.import"
        await pilot.press("ctrl+u")
        await _typed(pilot, screen, *"appointment")
        assert [screen.entries[str(s)].action for s in _rows(screen)] == ["agenda.add"]
        await pilot.press("ctrl+u")
        await _typed(pilot, screen, *"zzz")
        assert _rows(screen) == [] and _text(screen, "count") == "No entry matches."


@sync
async def test_the_date_filter_and_a_wrong_date(filled: Any) -> None:
    """A day keeps the entries from that day on, a range those in it; a wrong date is named
    under the table on Enter and the table stays as it was."""
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        await pilot.press("e")
        await until(pilot, lambda: len(_rows(screen)) == len(_seqs(filled)))
        screen.query_one("#period", Input).focus()
        await _typed(pilot, screen, *"2025-06-14")
        since = period("2025-06-14")[0]
        assert _rows(screen) == [e.seq for e in filled.audit.entries(since=since)]
        assert 0 < len(_rows(screen)) < len(_seqs(filled))
        await _typed(pilot, screen, *"..2025-06-14")
        assert {screen.entries[str(s)].at[:10] for s in _rows(screen)} <= {
            "2025-06-13", "2025-06-14"}
        shown = _rows(screen)
        await pilot.press("ctrl+u", *"2025-13-01")
        await pilot.press("enter")
        await until(pilot, lambda: "Invalid date" in _text(screen, "count"))
        assert screen.query_one("#count").has_class("error")
        assert _rows(screen) == shown


@sync
async def test_enter_shows_the_whole_entry(filled: Any) -> None:
    """Enter opens the highlighted entry with every field; Escape goes back to the table."""
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        await pilot.press("down", "enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, EntryScreen))
        text = str(pilot.app.screen.query_one("#entry", Static).render())
        seq = _rows(screen)[1]
        assert f"Entry {seq}" in text and "measure.add" in text and "Blood pressure" in text
        assert "2025-06-14 01:07:00  (2025-06-13 23:07:00 UTC)" in text
        await pilot.press("escape")
        await until(pilot, lambda: pilot.app.screen is screen)


@sync
async def test_verify_on_an_intact_vault_says_intact(filled: Any) -> None:
    """`v` says the history is intact, how long it is and up to when; it writes nothing."""
    before = _seqs(filled)
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        text = await _verified(pilot, screen)
        assert screen.verdict is not None and screen.verdict.ok
        assert (f"The history is intact: {len(before)} entries, chain checked up to "
                "2025-06-14 15:33.") in text
        assert not screen.query_one("#verdict").has_class("bad")
        await pilot.press("escape")  # closes the panel
        assert not screen.query_one("#verdict").has_class("shown")
    assert _seqs(filled) == before


@sync
async def test_verify_names_a_forged_entry_plainly(filled: Any) -> None:
    """An entry edited with SQL (its action changed to hide an export): `v` names it, says it
    was edited, what it now reads and that the entries before it are intact, in red."""
    filled.store.conn.execute("UPDATE audit SET action = 'document.hide' WHERE seq = 5")
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        text = await _verified(pilot, screen)
        assert screen.verdict is not None and not screen.verdict.ok
        assert "The activity history was tampered with: entry 5 was edited or forged." in text
        assert "Entry 5 now reads: " in text and "Document hidden from professionals" in text
        assert "Entries 1 to 4 are intact." in text
        assert screen.query_one("#verdict").has_class("bad")
        assert screen.current is not None and screen.current.seq == 5  # Enter shows it
        table = screen.query_one("#table")
        assert str(table.get_row_at(table.cursor_row)[2]) == "⚠ Document hidden from professionals"


@sync
async def test_verify_names_a_removed_entry(filled: Any) -> None:
    """An entry deleted with SQL: `v` says one was removed, reordered or inserted."""
    filled.store.conn.execute("DELETE FROM audit WHERE seq = 6")
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        text = await _verified(pilot, screen)
        assert "entry 6 was removed, reordered or inserted" in text
        assert "deleted, moved or slipped in" in text


@sync
async def test_a_read_on_another_screen_shows_up_on_return(filled: Any) -> None:
    """Reading a document's text (audited) then coming back: the read is the newest row."""
    async with app_for(filled).run_test(size=SIZE) as pilot:
        screen = await _activity(pilot)
        await pilot.press("2")
        await until(pilot, lambda: getattr(pilot.app.screen, "loaded", False))
        await pilot.press("enter")
        await until(pilot, lambda: len(_seqs(filled, action="document.read")) == 1)
        await pilot.press("6")
        await until(pilot, lambda: _rows(screen)[0] == _seqs(filled)[0])
        assert str(screen.query_one("#table").get_row_at(0)[2]) == "Document text read"


# -- snapshots -------------------------------------------------------------------------------

def _opened(*keys: str, verify: bool = False) -> Any:
    async def run(pilot: Pilot[None]) -> None:
        screen = await _activity(pilot)
        if keys:
            await pilot.press(*keys)
            await pilot.pause(0.3)
        if verify:
            await _verified(pilot, screen)
        await pilot.pause()
    return run


def test_snapshot_the_log(snap_compare: Any, filled: Any) -> None:
    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=_opened("e"))


def test_snapshot_verify_intact(snap_compare: Any, filled: Any) -> None:
    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=_opened(verify=True))


def test_snapshot_verify_broken(snap_compare: Any, filled: Any) -> None:
    filled.store.conn.execute("UPDATE audit SET action = 'document.hide' WHERE seq = 5")
    assert snap_compare(app_for(filled), terminal_size=SIZE, run_before=_opened(verify=True))


def test_snapshot_at_80_by_24(snap_compare: Any, filled: Any) -> None:
    assert snap_compare(app_for(filled), terminal_size=(80, 24),
                        run_before=_opened("e", verify=True))
