"""`msante sync`, `sync conflicts` and `sync status` on two vaults of one person."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.sync import setup
from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server
from tests.sync.engine_helpers import Pair, second_device


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A (MSANTE_HOME) and device B (tmp_path/b)."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, app):
        setup.setup(vault.store, url)
        b = second_device(vault, tmp_path / "b", app)
        try:
            yield Pair(vault, b, app)
        finally:
            b.close()


def run(cli, where: Path, pfile: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("MSANTE_HOME", str(where))
    return cli(*args, pfile=pfile)


def test_sync_conflicts_and_status_from_the_command_line(
        cli, pair: Pair, home: Path, passphrase_file: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Sync both ways, see a conflict, resolve it; --json keys are the documented ones."""
    a, b = pair.a, pair.b
    home_b = b.store.base
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    r = run(cli, home, passphrase_file, monkeypatch, "sync", "--json")
    assert r.code == 0, r.err
    assert set(json.loads(r.out)) == {"pushed", "pulled", "applied", "conflicts", "blobs_up",
                                      "blobs_down", "spaces"}
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync")
    assert r.code == 0, r.err
    assert "change(s) from" in r.out
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    b.profile.edit(entry.id, {"substance": "grass"}, revision=b.profile.get(entry.id).revision)
    assert run(cli, home, passphrase_file, monkeypatch, "sync").code == 0
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "--json")
    assert json.loads(r.out)["conflicts"] == 1
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "conflicts", "--json")
    listed = json.loads(r.out)
    assert [c["type"] for c in listed] == ["profile_entries"]
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "conflicts")
    assert r.code == 0 and "Profile" in r.out and "resolve" in r.out
    status = json.loads(run(cli, home_b, passphrase_file, monkeypatch, "sync", "status",
                            "--json").out)
    assert status["conflicts"] == 1 and status["spaces"][0]["key_version"] == 1
    assert status["pending_changes"] >= 0 and "last_sync" in status
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "conflicts", "resolve",
            str(listed[0]["id"]), "--keep", "both")
    assert r.code == 2 and "Traceback" not in r.err
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "conflicts", "resolve", "999",
            "--keep", "mine")
    assert r.code == 5 and len(r.err.strip().splitlines()) == 1
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "conflicts", "resolve",
            str(listed[0]["id"]), "--keep", "theirs", "--json")
    assert r.code == 0 and json.loads(r.out)["keep"] == "theirs"
    assert run(cli, home_b, passphrase_file, monkeypatch, "sync").code == 0
    assert run(cli, home, passphrase_file, monkeypatch, "sync").code == 0
    assert a.profile.get(entry.id).data == b.profile.get(entry.id).data
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "status", "--json")
    assert json.loads(r.out)["conflicts"] == 0


def test_sync_on_a_vault_not_set_up(cli, made: Path) -> None:
    """A usage error on one line, no traceback."""
    r = cli("sync", pfile=made)
    assert r.code == 2 and "sync setup" in r.err and "Traceback" not in r.err


def test_doc_export_on_b_gives_the_bytes_imported_on_a(
        cli, pair: Pair, home: Path, passphrase_file: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A document and its file made on A, synced: `doc export` on B writes the same bytes."""
    from tests.sync.engine_helpers import add_document

    data = bytes(range(256)) * 64
    doc = add_document(pair.a, data, "Report")
    assert run(cli, home, passphrase_file, monkeypatch, "sync").code == 0
    home_b = pair.b.store.base
    r = run(cli, home_b, passphrase_file, monkeypatch, "sync", "--json")
    assert r.code == 0 and json.loads(r.out)["blobs_down"] == 1
    out = tmp_path / "exported.bin"
    r = run(cli, home_b, passphrase_file, monkeypatch, "doc", "export", doc, "-o", str(out))
    assert r.code == 0, r.err
    assert out.read_bytes() == data
