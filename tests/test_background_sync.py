"""Background sync while unlocked (DESIGN.md: "Background sync runs in a child of the agent,
not in it, and does not reset its idle timer").

Real agent processes, a real child, short intervals, a live server on loopback, and a second
device of the same person to check that what the child sent arrived.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.sync import lastrun, setup
from msante.sync.server.settings import Settings
from msante.vault import agent
from msante.vault.agent_server import CHILD_STOP_S, WAKE_S
from tests.server.server_helpers import live_server
from tests.sync.engine_helpers import Pair, second_device

IDLE = 6.0
linux_only = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc")


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A (the `vault` fixture, set up with a live server) and device B."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, app):
        setup.setup(vault.store, url)
        b = second_device(vault, tmp_path / "b", app)
        try:
            yield Pair(vault, b, app)
        finally:
            agent.stop_agent(vault.path)
            b.close()


def start(vault: Any, *, timeout: float = 60.0, every: float = 0.5) -> int:
    """Unlock A with background sync every `every` seconds; the agent's pid."""
    keys = vault.store.keys
    return agent.start_agent(vault.path, keys.vault_id, keys.vault_key, timeout,
                             sync_every=every)


def alive(pid: int) -> bool:
    """Whether `pid` exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return stat.rsplit(b")", 1)[1].split()[0] != b"Z"


def parent_of(pid: int) -> int:
    """The parent pid of `pid`."""
    return int(Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[1])


def wait(condition: Callable[[], Any], seconds: float = 20.0) -> Any:
    """Poll until `condition()` is truthy; its value (fails after `seconds`)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def child_of(vault: Any) -> int:
    """The background child's pid, as the agent reports it."""
    return int(wait(lambda: (agent.status(vault.path) or {}).get("sync_pid")))


def background_runs(vault: Any) -> int:
    """How many syncs the child has run (the engine audits each one)."""
    return sum(1 for e in vault.audit.entries(action="sync.run"))


@linux_only
def test_the_child_syncs_in_a_process_of_its_own(pair: Pair) -> None:
    """A's new entry reaches B without anyone running a sync: the agent's child sent it. It
    is a child of the agent (not a thread in it), its own program, and says how it went."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    pid = start(a)
    child = child_of(a)
    assert child != pid and parent_of(child) == pid
    assert b"msante.sync.background" in wait(Path(f"/proc/{child}/cmdline").read_bytes)
    assert b"msante.sync.background" not in wait(Path(f"/proc/{pid}/cmdline").read_bytes)

    def arrived() -> bool:
        b.sync_now(by="script")
        return any(p.id == entry.person for p in b.people.list()) and \
            any(e.id == entry.id for e in b.profile.list(b.people.owner()))
    wait(arrived)
    assert wait(lambda: lastrun.last(a.store))["by"] == "background"
    state = wait(lambda: lastrun.read_background(a.path))
    assert state["agent"] == pid and state["error"] is None and state["last_run"]
    shown = lastrun.background(a.path, agent.status(a.path))
    assert shown["on"] and shown["every"] == 0.5 and shown["error"] is None


@linux_only
def test_the_child_does_not_keep_the_agent_unlocked(pair: Pair) -> None:
    """Idle timeout 6 s, a sync every 0.2 s: the agent still locks on time, although the
    child asked it for the key over and over; then the child is gone too."""
    a = pair.a
    before = background_runs(a)
    started = time.monotonic()
    pid = start(a, timeout=IDLE, every=0.2)
    child = child_of(a)
    wait(lambda: not alive(pid), IDLE + WAKE_S + 3.0)
    locked_after = time.monotonic() - started
    assert IDLE <= locked_after <= IDLE + WAKE_S + 2.0, locked_after
    assert background_runs(a) - before >= 2  # it did sync meanwhile, several times
    wait(lambda: not alive(child), CHILD_STOP_S + 2.0)
    assert agent.get_key(a.path, touch=False) is None


@linux_only
def test_lock_stops_the_child_at_once(pair: Pair) -> None:
    """`msante lock` ends the agent and the agent ends its child, even between syncs."""
    a = pair.a
    start(a, every=3600)
    child = child_of(a)
    assert agent.stop_agent(a.path)
    wait(lambda: not alive(child), CHILD_STOP_S + 2.0)


@linux_only
def test_a_killed_agent_leaves_no_child_behind(pair: Pair) -> None:
    """The agent killed outright (no clean exit): the child sees its pipe close and exits."""
    a = pair.a
    pid = start(a, every=3600)
    child = child_of(a)
    os.kill(pid, signal.SIGKILL)
    wait(lambda: not alive(child), 5.0)


@linux_only
def test_errors_are_kept_and_never_kill_the_agent_or_the_child(pair: Pair) -> None:
    """The server unreachable: each run fails, the failure is kept (status shows it), and
    the agent and its child carry on; once the server is back the error is cleared."""
    a = pair.a
    server = a.sync_status()["server"]
    _move(a, "http://127.0.0.1:9")
    pid = start(a, every=0.3)
    child = child_of(a)
    state = wait(lambda: (lastrun.read_background(a.path) or {}).get("error"))
    assert "127.0.0.1:9" in state
    assert a.sync_status()["last_attempt"]["by"] == "background"
    assert a.sync_status()["background"]["error"] == state
    time.sleep(1.0)
    assert alive(pid) and alive(child)
    _move(a, server)
    wait(lambda: (lastrun.read_background(a.path) or {"error": 1}).get("error") is None)


def _move(vault: Any, url: str) -> None:
    with vault.store.write() as tx:
        tx.execute("UPDATE sync_device SET server = ?", (url,))
        vault.store.log(tx, "test.move")


def test_unlock_sync_is_parsed_like_the_other_durations(cli: Any, made: Path) -> None:
    """--sync takes 1 minute to 1 day, read as every duration option; a vault not set up
    for sync is refused with the command that sets it up, and nothing is started."""
    for text in ("30s", "2d", "soon"):
        result = cli("unlock", "--sync", text, pfile=made)
        assert result.code == 2, (text, result.err)
        assert "sync interval" in result.err
    result = cli("unlock", "--sync", "5m", pfile=made)
    assert result.code == 2 and "msante sync setup" in result.err
    assert agent.status(Path(os.environ["MSANTE_HOME"])) is None


def test_unlock_sync_then_status_says_it_is_on(cli: Any, made: Path, tmp_path: Path) -> None:
    """`msante unlock --sync 5m` on a vault set up for sync: `status` says background sync
    is on, every 5 minutes, and when it last ran."""
    home = Path(os.environ["MSANTE_HOME"])
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, _app):
        assert cli("sync", "setup", url, pfile=made).code == 0
        try:
            result = cli("unlock", "--timeout", "10m", "--sync", "5m", pfile=made)
            assert result.code == 0, result.err
            assert "every 5m" in result.err + result.out
            wait(lambda: lastrun.read_background(home))
            status = cli("status", "--json").json()
            assert isinstance(status, dict)
            assert status["background_sync"]["on"] is True
            assert status["background_sync"]["every"] == 300
            assert status["background_sync"]["last_run"]
            text = cli("status").out
            assert "Background sync: every 5 min" in text
        finally:
            agent.stop_agent(home)
