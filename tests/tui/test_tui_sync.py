"""The TUI's sync: the header's state, Home's panel, Sync now, the Conflicts screen.

Pilot tests over real vaults: two devices of one person through a live server on loopback
(tests/sync/engine_helpers.py), asserting on the vaults afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.sync import setup
from msante.sync.server.settings import Settings
from msante.tui.commands import MsanteCommands
from msante.tui.screens.conflicts import ConflictsScreen
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import HomeScreen
from tests.server.server_helpers import live_server
from tests.sync.engine_helpers import Pair, second_device
from tests.tui.helpers import SIZE, app_for, sync, until


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A (the `vault` fixture, set up with a live server) and device B."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, app):
        setup.setup(vault.store, url)
        b = second_device(vault, tmp_path / "b", app)
        try:
            yield Pair(vault, b, app)
        finally:
            b.close()


def conflicted(pair: Pair) -> str:
    """One allergy edited on both devices, A synced first: B holds the conflict."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    a.sync_now()
    b.sync_now()
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    b.profile.edit(entry.id, {"substance": "grass"}, revision=b.profile.get(entry.id).revision)
    a.sync_now()
    b.sync_now()
    return str(entry.id)


def said(app: Any) -> str:
    """Every notification shown so far."""
    return " ".join(str(n.message) for n in app._notifications)


def panel_text(app: Any) -> str:
    return str(app.screen.query_one("#sync").render())


async def home(pilot: Any) -> HomeScreen:
    await until(pilot, lambda: isinstance(pilot.app.screen, HomeScreen)
                and pilot.app.screen.loaded)
    screen = pilot.app.screen
    assert isinstance(screen, HomeScreen)
    return screen


@sync
async def test_a_vault_not_set_up_says_how_and_its_header_says_nothing(vault: Any) -> None:
    """No sync identity: Home's panel gives the setup command, the header stays as it was,
    and Sync now explains instead of failing."""
    app = app_for(vault)
    async with app.run_test(size=SIZE) as pilot:
        screen = await home(pilot)
        assert "msante sync setup SERVER_URL" in panel_text(app)
        assert screen.sub_title == "Home · Camille Martin"
        await pilot.press("Y")
        await pilot.pause()
        assert "not set up for sync" in said(app)
        assert app.syncing is None


@sync
async def test_sync_now_sends_and_says_what_it_did(pair: Pair) -> None:
    """Y on device A: its new entry reaches the server (B receives it), the result is
    notified, and the attempt is remembered as the TUI's."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    app = app_for(a)
    async with app.run_test(size=SIZE) as pilot:
        screen = await home(pilot)
        assert "never synced" in screen.sub_title or "synced" in screen.sub_title
        await pilot.press("Y")
        await until(pilot, lambda: app.syncing is None, 60)
        assert "Synced:" in said(app)
        assert "synced" in screen.sub_title and "Last sync:" in panel_text(app)
    assert a.sync_status()["last_attempt"] == {
        **a.sync_status()["last_attempt"], "by": "tui", "ok": True}
    b.sync_now()
    assert b.profile.get(entry.id).data["substance"] == "pollen"


@sync
async def test_a_failed_sync_is_an_error_notice_and_the_panel_says_why(pair: Pair) -> None:
    """The server unreachable: a notification names it, the panel keeps the error, the
    header says the sync failed; the app carries on."""
    a = pair.a
    with a.store.write() as tx:
        tx.execute("UPDATE sync_device SET server = 'http://127.0.0.1:9'")
        a.store.log(tx, "test.move")
    app = app_for(a)
    async with app.run_test(size=SIZE) as pilot:
        screen = await home(pilot)
        await pilot.press("Y")
        await until(pilot, lambda: app.syncing is None, 60)
        assert "Sync failed" in said(app) and "127.0.0.1:9" in said(app)
        assert "Last attempt failed" in panel_text(app)
        assert "sync failed" in screen.sub_title


@sync
async def test_conflicts_screen_keeps_theirs_after_a_confirmation(pair: Pair) -> None:
    """B's header and panel name the conflict; K lists it with both versions; t asks, and
    yes writes the other device's version in B's vault; the conflict is gone."""
    record = conflicted(pair)
    b = pair.b
    app = app_for(b)
    async with app.run_test(size=SIZE) as pilot:
        screen = await home(pilot)
        assert "1 conflict" in screen.sub_title and "1 conflict" in panel_text(app)
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded)
        conflicts = app.screen
        assert conflicts.query_one("PlainTable").row_count == 1
        detail = str(conflicts.query_one("#detail").render())
        assert "grass" in detail and "birch" in detail
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("n")  # a no changes nothing
        await until(pilot, lambda: app.screen is conflicts)
        assert b.profile.get(record).data["substance"] == "grass"
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: not conflicts.conflicts)
        assert "1 conflict" not in conflicts.sub_title
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, HomeScreen))
    assert b.profile.get(record).data["substance"] == "birch"
    assert b.sync_conflicts() == []


@sync
async def test_keep_mine_keeps_this_devices_version(pair: Pair) -> None:
    """m then yes: B's own version stays, the conflict is closed (mine goes out next)."""
    record = conflicted(pair)
    b = pair.b
    app = app_for(b)
    async with app.run_test(size=SIZE) as pilot:
        await home(pilot)
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded)
        await pilot.press("m")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: b.sync_conflicts() == [])
    assert b.profile.get(record).data["substance"] == "grass"
    assert b.sync_now()["pushed"] >= 1
    pair.a.sync_now()
    assert pair.a.profile.get(record).data["substance"] == "grass"


@sync
async def test_the_palette_offers_sync_now_and_the_conflicts_from_any_screen(
        vault: Any) -> None:
    """The palette is global: on Documents too, "Sync now" and "Sync conflicts" are there."""
    app = app_for(vault)
    async with app.run_test(size=SIZE) as pilot:
        await home(pilot)
        await pilot.press("2")
        await until(pilot, lambda: getattr(app.screen, "loaded", False))
        provider = MsanteCommands(app.screen)
        names = [name for name, _run, _help in provider._commands()]
        assert "Sync now" in names and "Sync conflicts" in names
        await pilot.press("K")
        await until(pilot, lambda: isinstance(app.screen, ConflictsScreen) and app.screen.loaded)
        assert app.screen.query_one("#empty").display
