"""Recovery against a server that lies, and a bundle left behind by a rotation: refused with a
clear error (exit 6), nothing created on the server."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.errors import ExitCode
from msante.sync import recovery, spaces
from msante.sync.chains import SpaceChain
from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server
from tests.sync.recovery_helpers import account_state, logged_in, opened, scope_keys
from tests.sync.test_recovery_path import counts_of, recover_into


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real server (SQLite) on a free port of 127.0.0.1: its URL and its data folder."""
    data = tmp_path / "srv"
    with live_server(Settings(data_dir=data)) as (url, _app):
        yield url, data


@pytest.fixture
def vault_a(cli, made: Path, home: Path, server: tuple[str, Path]) -> Path:
    """Vault A set up for sync (its recovery key in `rk`)."""
    r = cli("sync", "setup", server[0], pfile=made)
    assert r.code == 0, r.err
    return home


@pytest.fixture
def vault_b(cli, made: Path, vault_a: Path, server: tuple[str, Path], tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> Path:
    """Another person's vault and account on the same server (its key in `rk-b`)."""
    from tests.conftest import INIT
    home_b = tmp_path / "other"
    monkeypatch.setenv("MSANTE_HOME", str(home_b))
    assert cli(*INIT, "--recovery-key-file", str(tmp_path / "rk-b"), pfile=made).code == 0
    assert cli("sync", "setup", server[0], pfile=made).code == 0
    monkeypatch.setenv("MSANTE_HOME", str(vault_a))
    return home_b


def server_sql(data: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    """Run SQL on the server's own database: the server lying."""
    with sqlite3.connect(data / "server.db") as conn:
        return conn.execute(sql, args).fetchall()


def account_of(home: Path) -> str:
    from tests.sync.recovery_helpers import device_of
    return device_of(home).account


def refused(r, what: str) -> None:  # noqa: ANN001
    """Exit 6, one line naming `what`, no traceback."""
    assert r.code == ExitCode.INTEGRITY, (r.code, r.err)
    assert "Traceback" not in r.err and len(r.err.strip().splitlines()) == 1, r.err
    assert what in r.err.lower(), r.err


def test_another_accounts_bundle_does_not_open(
        cli, made: Path, vault_a: Path, vault_b: Path, server: tuple[str, Path],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server serves B's bundle (or B's whole row) for A's lookup: refused, nothing
    made on the server."""
    url, data = server
    a, b = account_of(vault_a), account_of(vault_b)
    rows = dict(server_sql(data, "SELECT account_id, bundle FROM recovery_bundles"))
    server_sql(data, "UPDATE recovery_bundles SET bundle = ? WHERE account_id = ?", rows[b], a)
    before = counts_of(data)
    r = recover_into(cli, monkeypatch, tmp_path / "n1", url, made.parent / "rk", made)
    refused(r, "encrypted message does not open")
    assert counts_of(data) == before and not (tmp_path / "n1").exists()
    server_sql(data, "UPDATE recovery_bundles SET bundle = ? WHERE account_id = ?", rows[a], a)
    lookups = dict(server_sql(data, "SELECT account_id, lookup FROM recovery_bundles"))
    server_sql(data, "UPDATE recovery_bundles SET lookup = 'x' WHERE account_id = ?", a)
    server_sql(data, "UPDATE recovery_bundles SET lookup = ? WHERE account_id = ?",
               lookups[a], b)  # A's lookup now finds B's row: B's account, device, bundle
    server_sql(data, "UPDATE recovery_bundles SET lookup = ? WHERE account_id = ?",
               lookups[b], a)
    refused(recover_into(cli, monkeypatch, tmp_path / "n2", url, made.parent / "rk", made),
            "does not open")
    assert counts_of(data) == before


def test_a_bundle_naming_another_device_or_signer_is_refused(
        cli, made: Path, vault_a: Path, vault_b: Path, server: tuple[str, Path],
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server lies about the recovery device or the signer: refused before any write."""
    url, data = server
    a, b = account_of(vault_a), account_of(vault_b)
    (device_b, signer_b), = server_sql(
        data, "SELECT device_id, signer FROM recovery_bundles WHERE account_id = ?", b)
    (device_a, signer_a), = server_sql(
        data, "SELECT device_id, signer FROM recovery_bundles WHERE account_id = ?", a)
    before = counts_of(data)
    server_sql(data, "UPDATE recovery_bundles SET device_id = ? WHERE account_id = ?",
               device_b, a)
    refused(recover_into(cli, monkeypatch, tmp_path / "n1", url, made.parent / "rk", made),
            "swapped")
    server_sql(data, "UPDATE recovery_bundles SET device_id = ?, signer = ? "
                     "WHERE account_id = ?", device_a, signer_b, a)
    refused(recover_into(cli, monkeypatch, tmp_path / "n2", url, made.parent / "rk", made),
            "does not list")
    assert counts_of(data) == before
    server_sql(data, "UPDATE recovery_bundles SET signer = ? WHERE account_id = ?", signer_a, a)
    assert recover_into(cli, monkeypatch, tmp_path / "n3", url, made.parent / "rk",
                        made).code == 0


def rotate_without_resealing(home: Path, url: str) -> spaces.ScopeKeys:
    """A rotation of the owner's space (version 2) posted by A, the bundle left as it was."""
    from msante.api import Vault
    from tests.helpers_vault import keys_of
    with logged_in(url, home) as (client, dev), Vault.open(home, keys_of(home)) as vault:
        store = vault.store
        account = account_state(client, dev.account)
        state = recovery.server_space(store, client, dev.space, account)
        keys = spaces.ScopeKeys.new(dev.space, state.key_version + 1)
        entry = SpaceChain.append(state, dev.signing, "rotate", keys.rotation().body())
        with store.write() as tx:
            spaces.save(tx, keys)
            spaces.keep(tx, entry)
            store.log(tx, "test.rotate")
        recovery.post(store, client)
    return keys


def test_a_bundle_not_resealed_after_a_rotation_is_stale(
        cli, made: Path, vault_a: Path, server: tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The chain is at version 2, the bundle holds 1: refused and the message says why;
    once A re-seals, recovery brings version 2 back."""
    url, data = server
    rotate_without_resealing(vault_a, url)
    before = counts_of(data)
    r = recover_into(cli, monkeypatch, tmp_path / "n1", url, made.parent / "rk", made)
    refused(r, "stale")
    assert "version 1" in r.err and "version 2" in r.err
    assert counts_of(data) == before and not (tmp_path / "n1").exists()
    from msante.api import Vault
    from tests.helpers_vault import keys_of
    with logged_in(url, vault_a) as (client, dev), \
            Vault.open(vault_a, keys_of(vault_a)) as vault:
        assert recovery.reseal(vault.store, client, dev)
    ok = recover_into(cli, monkeypatch, tmp_path / "n2", url, made.parent / "rk", made)
    assert ok.code == 0, ok.err
    assert scope_keys(tmp_path / "n2") == scope_keys(vault_a)
    with opened(tmp_path / "n2") as vault:
        assert max(spaces.load(vault.store.conn, account_space(vault_a))) == 2


def account_space(home: Path) -> str:
    from tests.sync.recovery_helpers import device_of
    return device_of(home).space


def test_the_next_sync_reseals_after_a_rotation(
        cli, made: Path, vault_a: Path, server: tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A rotation, then `msante sync`: the bundle holds version 2 and recovery works; a sync
    with nothing new seals nothing (no round trip for the bundle)."""
    url, data = server
    rotate_without_resealing(vault_a, url)
    assert cli("sync", pfile=made).code == 0
    (stored,), = server_sql(data, "SELECT updated_at FROM recovery_bundles")
    with opened(vault_a) as vault:
        sealed = vault.store.conn.execute(
            "SELECT count(*) FROM audit WHERE action = 'sync.recovery.sealed'").fetchone()[0]
    assert cli("sync", pfile=made).code == 0
    with opened(vault_a) as vault:
        assert vault.store.conn.execute(
            "SELECT count(*) FROM audit WHERE action = 'sync.recovery.sealed'"
        ).fetchone()[0] == sealed
    ok = recover_into(cli, monkeypatch, tmp_path / "n1", url, made.parent / "rk", made)
    assert ok.code == 0, ok.err
    with opened(tmp_path / "n1") as vault:
        assert max(spaces.load(vault.store.conn, account_space(vault_a))) == 2
    assert stored is not None
