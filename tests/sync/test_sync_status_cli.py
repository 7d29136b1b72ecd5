"""`msante sync` remembers how its last attempt went; `sync status` says so."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server


@pytest.fixture
def data(tmp_path: Path) -> Path:
    """The server's data folder (the server is started and stopped by the test)."""
    return tmp_path / "srv"


def test_a_failed_sync_is_in_sync_status_until_one_succeeds(cli: Any, made: Path,
                                                            data: Path) -> None:
    """The server goes away: `msante sync` fails (exit 1, one line), `sync status` shows the
    error and `--json` has it under `last_attempt` (a sync that works clears it:
    tests/sync/test_sync_runner.py)."""
    with live_server(Settings(data_dir=data)) as (url, _app):
        assert cli("sync", "setup", url, pfile=made).code == 0
        assert cli("sync", pfile=made).code == 0
        ok = cli("sync", "status", "--json", pfile=made).json()
        assert ok["last_attempt"]["ok"] is True and ok["last_attempt"]["by"] == "cli"
        assert ok["background"]["on"] is False
    failed = cli("sync", pfile=made)
    assert failed.code == 1 and "Traceback" not in failed.err
    state = cli("sync", "status", "--json", pfile=made).json()
    assert state["last_attempt"]["ok"] is False
    assert "Cannot reach" in state["last_attempt"]["error"]
    words = cli("sync", "status", pfile=made)
    assert words.code == 0 and "The last sync failed: Cannot reach" in words.err
