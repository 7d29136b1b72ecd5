"""`msante sync verify` on the command line, against a real server on 127.0.0.1."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.api import Vault
from msante.sync import logstate
from msante.sync.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from msante.sync.server.settings import Settings
from tests.helpers_vault import keys_of
from tests.server.server_helpers import live_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Settings]]:
    """A real server (SQLite) on a free port of 127.0.0.1: its URL and its settings."""
    settings = Settings(data_dir=tmp_path / "srv")
    with live_server(settings) as (url, _app):
        yield url, settings


def test_verify_before_setup(cli: Any, made: Path) -> None:
    """Nothing to verify: exit 5 and how to set up, in one line."""
    r = cli("sync", "verify", pfile=made)
    assert r.code == 5 and "msante sync setup" in r.err and "Traceback" not in r.err


def test_verify_pins_then_reports(cli: Any, made: Path, server: tuple[str, Settings]) -> None:
    """The first run pins the key; both runs report the log, the chains and the events."""
    assert cli("sync", "setup", server[0], pfile=made).code == 0
    first = cli("sync", "verify", "--json", pfile=made)
    assert first.code == 0, first.err
    report = first.json()
    assert report["log"]["pinned_now"] is True and report["log"]["key"].startswith(
        "msante-server/")
    assert {c["chain"].split(":")[0] for c in report["chains"]} == {"account", "space"}
    words = cli("sync", "verify", pfile=made)
    assert words.code == 0, words.err
    assert "consistent" in words.err and server[0] in words.out
    assert f"(was {report['log']['size']})" in words.out and "0 events" in words.out


def test_a_log_that_went_back_is_exit_6(cli: Any, made: Path, home: Path,
                                         server: tuple[str, Settings]) -> None:
    """This device kept a larger checkpoint (signed by the log's key) than the server now
    shows: exit 6, one line saying the log went back, and the kept checkpoint stays."""
    assert cli("sync", "setup", server[0], pfile=made).code == 0
    assert cli("sync", "verify", pfile=made).code == 0
    signer = NoteSigner.from_skey(server[1].log_key_file.read_text().strip())
    larger = Checkpoint(signer.name, 5, secrets.token_bytes(32))
    with Vault.open(home, keys_of(home)) as vault:
        server_id = vault.store.conn.execute("SELECT server_id FROM sync_device").fetchone()[0]
        with vault.store.write() as tx:
            tx.execute("UPDATE sync_checkpoints SET note = ?, size = 5, root = ?",
                       (sign_checkpoint(larger, signer), larger.root))
            vault.store.log(tx, "test.checkpoint")
    r = cli("sync", "verify", pfile=made)
    assert r.code == 6 and r.out == "" and "Traceback" not in r.err
    # setup logged two entries (the account and space geneses)
    assert len(r.err.strip().splitlines()) == 1 and "went back from 5 to 2 entries" in r.err
    with Vault.open(home, keys_of(home)) as vault:
        kept = logstate.load(vault.store.conn, str(server_id))
    assert kept is not None and kept.size == 5
