"""Unlocking: the passphrase (wrong, then right), the running agent, and locking back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from textual.widgets import Input, Static

from msante.tui.app import MsanteApp
from msante.tui.screens.home import HomeScreen
from msante.tui.screens.unlock import UnlockScreen
from msante.vault import agent
from tests.conftest import PASSPHRASE
from tests.helpers_vault import keys_of, make_vault, write_secret
from tests.tui.helpers import SIZE, frozen_clock, sync, until


def closed_vault(home: Path) -> Path:
    vault, _recovery = make_vault(home)
    vault.close()
    return home


def message(app: MsanteApp) -> str:
    return str(app.screen.query_one("#message", Static).render())


def home_ready(app: MsanteApp) -> bool:
    return isinstance(app.screen, HomeScreen) and app.screen.loaded


def asking(app: MsanteApp) -> bool:
    """The unlock screen waits for a passphrase (a screen just pushed may not have its
    children yet: asking then is a race of the test, not of the app)."""
    if not isinstance(app.screen, UnlockScreen):
        return False
    box = app.screen.query(Input)
    return bool(box) and not box.first().disabled


@sync
async def test_a_wrong_passphrase_says_so_and_the_right_one_opens(home: Path) -> None:
    app = MsanteApp(closed_vault(home), clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: asking(app))
        box = app.screen.query_one(Input)
        assert box.password  # no echo
        await pilot.press(*"not the passphrase", "enter")
        await until(pilot, lambda: asking(app) and "Wrong passphrase" in message(app))
        assert box.value == ""  # cleared for the next try
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: home_ready(app))
        assert app.session is not None and app.session.via == "passphrase"
        assert app.current_person.name == "Camille Martin"


@sync
async def test_an_empty_passphrase_is_not_tried(home: Path) -> None:
    app = MsanteApp(closed_vault(home), clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: asking(app))
        await pilot.press("enter")
        assert "Type the passphrase" in message(app) and asking(app)


@sync
async def test_the_passphrase_file_opens_without_asking(home: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    closed_vault(home)
    monkeypatch.setenv("MSANTE_PASSPHRASE_FILE", str(write_secret(tmp_path / "p", PASSPHRASE)))
    app = MsanteApp(home, clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: home_ready(app))
        assert app.session is not None and app.session.via == "file"


@sync
async def test_the_agent_is_reused_and_msante_lock_locks_the_app(home: Path) -> None:
    """With an agent running the app opens at once; when it stops, the app locks itself."""
    keys = keys_of(closed_vault(home))
    agent.start_agent(home, keys.vault_id, keys.vault_key, 600)
    app = MsanteApp(home, clock=frozen_clock(), agent_poll_s=0.1)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: home_ready(app))
        assert app.session is not None and app.session.via == "agent"
        await pilot.press("2")
        agent.stop_agent(home)  # what `msante lock` does
        await until(pilot, lambda: asking(app))
        assert app.session is None and app.person is None
        await app.run_action("go('documents')")  # the main screens are gone while locked
        assert isinstance(app.screen, UnlockScreen)
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: home_ready(app))


@sync
async def test_lock_from_the_app_closes_the_vault(home: Path) -> None:
    app = MsanteApp(closed_vault(home), clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: asking(app))
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: home_ready(app))
        await pilot.press("ctrl+l")
        await until(pilot, lambda: asking(app))
        assert app.session is None


@sync
async def test_two_locks_at_once_leave_one_unlock_screen(home: Path) -> None:
    """The agent watcher may ask to lock again while the first lock closes the screens."""
    app = MsanteApp(closed_vault(home), clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: asking(app))
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: home_ready(app))
        await pilot.press("2")
        await asyncio.gather(app.lock("first"), app.lock("second"))
        await until(pilot, lambda: asking(app))
        assert [type(s) for s in app.screen_stack].count(UnlockScreen) == 1


@sync
async def test_the_screens_of_a_locked_session_are_let_go(home: Path) -> None:
    """After lock and unlock, changing person reloads the new screens only: the old ones are
    not kept alive by a watcher on the app (they used to be, one set per unlock)."""
    app = MsanteApp(closed_vault(home), clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: asking(app))
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: home_ready(app))
        old = app.screen
        old_reloads: list[int] = []
        old.reload = lambda: old_reloads.append(1)  # type: ignore[method-assign]
        for _cycle in range(2):
            await pilot.press("ctrl+l")
            await until(pilot, lambda: asking(app))
            await pilot.press(*PASSPHRASE, "enter")
            await until(pilot, lambda: home_ready(app))
        assert app.screen is not old
        app.vault.people.add("Léo Martin", "2019-04-27", "male")
        await pilot.press("p")
        await until(pilot, lambda: app.current_person.name == "Léo Martin")
        await pilot.pause()
        assert old_reloads == []
        assert not getattr(app, "__watchers", {}).get("person")


# -- a header whose KDF costs more than the defaults (issue 11 part 8) -------------------------


def _old_vault(home: Path, monkeypatch) -> Path:
    """A vault wrapped as an earlier version could, above today's cap (Argon2id made cheap)."""
    from cryptography.hazmat.primitives.kdf import argon2

    from tests.test_kdf_consent import OLD, forge_old_vault

    real = argon2.Argon2id
    monkeypatch.setattr(argon2, "Argon2id", lambda **kw: real(
        **{**kw, "memory_cost": 16 * 1024, "iterations": 2, "lanes": 1}))
    monkeypatch.delenv("MSANTE_ALLOW_COSTLY_KDF", raising=False)
    closed_vault(home)
    forge_old_vault(home, **OLD)
    return home


def _asked_about_cost(app: MsanteApp) -> bool:
    from msante.tui.screens.dialogs import ConfirmScreen
    return isinstance(app.screen, ConfirmScreen) and "257 MiB" in app.screen.question


@pytest.mark.parametrize("answer", ["y", "n"])
@sync
async def test_a_costly_header_is_asked_about_yes_opens_no_refuses(
        home: Path, monkeypatch, answer: str) -> None:
    """The TUI asks, as the CLI does, instead of naming the environment variable."""
    app = MsanteApp(_old_vault(home, monkeypatch), clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: asking(app))
        await pilot.press(*PASSPHRASE, "enter")
        await until(pilot, lambda: _asked_about_cost(app))
        assert "msante passwd" in app.screen.question
        await pilot.press(answer)
        if answer == "y":
            await until(pilot, lambda: home_ready(app))
            assert app.session is not None and app.session.via == "passphrase"
        else:
            await until(pilot, lambda: asking(app) and "Cancelled" in message(app))
            assert app.session is None and "MSANTE_ALLOW" not in message(app)
