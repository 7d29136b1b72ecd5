"""A client killed with SIGKILL in the middle of a pull (`msante sync` in a real process).

B's `msante sync` runs as a subprocess through a proxy that holds a pull page back; the test
kills the process with SIGKILL at that moment — once while it waits for a page, once right
after a page was delivered (during its apply, or just after). Each time the vault opens,
`msante audit verify` passes, the next sync completes and no record is there twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from msante.sync.server.settings import Limits
from tests.conftest import PASSPHRASE
from tests.sync.lying_server import Liar, Pair, Proxy, agree, content, pair_of, sync

ITEMS = r"/spaces/[^/]+/items$"


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A and device B; pull pages of at most 5 items."""
    with pair_of(vault, tmp_path, Limits(max_pull=5)) as made:
        yield made


def cli_env(home: Path, tmp: Path) -> dict[str, str]:
    """The environment of `msante` for B's vault."""
    secret = tmp / "b-passphrase"
    secret.write_text(PASSPHRASE + "\n")
    secret.chmod(0o600)
    return dict(os.environ) | {"MSANTE_HOME": str(home), "MSANTE_PASSPHRASE_FILE": str(secret)}


def through(pair: Pair, proxy: Proxy) -> None:
    """TEST SCAFFOLDING: B's vault talks to the server through the proxy."""
    with pair.b.store.write() as tx:
        tx.execute("UPDATE sync_device SET server = ?", (proxy.url,))
        pair.b.store.log(tx, "sync.device.ready", detail={"server": proxy.url})


def start_sync(env: dict[str, str]) -> subprocess.Popen[str]:
    """`msante sync --json` for B, in its own process."""
    return subprocess.Popen([sys.executable, "-m", "msante", "sync", "--json"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "msante", *args], env=env,
                          capture_output=True, text=True, timeout=120)


def kill_when(liar: Liar, env: dict[str, str], *, held: bool) -> None:
    """Run B's sync and SIGKILL it at the third pull page: while the page is held back
    (`held`), or as soon as it has been delivered."""
    reached, release = threading.Event(), threading.Event()
    pages: list[int] = []

    def before(request: httpx.Request) -> None:
        pages.append(1)
        if len(pages) == 3 and held:
            reached.set()
            release.wait(30)

    def after(body: dict[str, Any], request: httpx.Request) -> dict[str, Any]:
        if len(pages) == 3 and not held:
            reached.set()
        return body
    liar.on("GET", ITEMS, before=before, after=after)
    proc = start_sync(env)
    try:
        assert reached.wait(60), proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        release.set()
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    liar.honest()


@pytest.mark.slow
@pytest.mark.parametrize("held", [True, False], ids=["waiting-for-a-page", "after-a-page"])
def test_a_client_killed_mid_pull(pair: Pair, tmp_path: Path, held: bool) -> None:
    """SIGKILL mid-pull: the vault opens, its audit chain verifies, the next sync completes,
    nothing is duplicated."""
    owner = pair.a.people.owner()
    for i in range(24):
        pair.a.measures.add(owner, "weight", str(60 + i), at=f"2025-06-{i + 1:02d} 08:00")
    sync(pair.a)
    liar = Liar()
    proxy = Proxy(pair.server.url, liar)
    try:
        through(pair, proxy)
        env = cli_env(tmp_path / "b", tmp_path)
        kill_when(liar, env, held=held)
        partly = len(content(pair.b)["measurements"])
        assert 0 < partly < 24  # the pages before the kill were applied, and kept
        verified = run(env, "audit", "verify")
        assert verified.returncode == 0, verified.stderr
        again = run(env, "sync", "--json")
        assert again.returncode == 0, again.stderr
        assert len(content(pair.b)["measurements"]) == 24
    finally:
        proxy.close()
        liar.shutdown()
    with pair.b.store.write() as tx:
        tx.execute("UPDATE sync_device SET server = ?", (pair.server.url,))
        pair.b.store.log(tx, "sync.device.ready", detail={"server": pair.server.url})
    agree(pair)
