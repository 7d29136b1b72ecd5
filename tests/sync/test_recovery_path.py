"""Account recovery, end to end with a real server on 127.0.0.1: vault A (two people) set up,
lost, and its account brought back into a new vault with the recovery key alone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.api import Vault
from msante.errors import ExitCode
from msante.sync import recovery
from msante.sync.chains import b64e
from msante.sync.server.settings import Settings
from msante.vault.crypto import new_recovery_key
from tests.server.server_helpers import live_server
from tests.sync.recovery_helpers import (
    account_state,
    device_of,
    logged_in,
    opened,
    rows_of,
    scope_keys,
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A real server (SQLite) on a free port of 127.0.0.1: its URL and its data folder."""
    data = tmp_path / "srv"
    with live_server(Settings(data_dir=data)) as (url, _app):
        yield url, data


@pytest.fixture
def vault_a(cli, made: Path, home: Path, server: tuple[str, Path]) -> Path:
    """Vault A: the owner and a child, set up for sync (recovery key in `rk`)."""
    with opened(home) as vault:
        vault.people.add("Léo Martin", "2016-04-01", "male")
    r = cli("sync", "setup", server[0], "--json", pfile=made)
    assert r.code == 0, r.err
    pushed = cli("sync", pfile=made)  # the records go to the server
    assert pushed.code == 0, pushed.err
    return home


def recover_into(cli, monkeypatch: pytest.MonkeyPatch, new_home: Path, url: str,
                 key_file: Path, pfile: Path):  # noqa: ANN201
    """`sync setup URL --recover` in a new MSANTE_HOME."""
    monkeypatch.setenv("MSANTE_HOME", str(new_home))
    return cli("sync", "setup", url, "--recover", "--recovery-key-from-file", str(key_file),
               "--json", pfile=pfile)


def test_a_lost_vault_comes_back_with_the_recovery_key(
        cli, made: Path, vault_a: Path, server: tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The new device is in the account chain, a writer of both spaces, with A's keys; a new
    recovery key is shown, and the old one stops finding the account."""
    url = server[0]
    a_keys, a_dev = scope_keys(vault_a), device_of(vault_a)
    assert len(a_keys) == 2
    r = recover_into(cli, monkeypatch, tmp_path / "home-b", url, made.parent / "rk", made)
    assert r.code == 0, r.err
    state = r.json()
    assert state["account"] == a_dev.account and state["configured"] is True
    assert state["device"] != a_dev.device and len(state["recovery_key"]) == 44
    home_b = tmp_path / "home-b"
    assert scope_keys(home_b) == a_keys
    assert state["first_sync"]["pulled"] > 0  # the first sync brought the records back
    with opened(home_b) as vault:
        names = sorted(p.name for p in vault.people.list())
    assert names == ["Camille Martin", "Léo Martin"]
    with logged_in(url, home_b) as (client, dev_b):
        chain = account_state(client, dev_b.account)
        me = dev_b.signing.verify_key().key_id()
        assert chain.is_active(me) and chain.is_active(a_dev.signing.verify_key().key_id())
        names = sorted(d.name for d in chain.devices.values())
        assert names.count(recovery.RECOVERY_NAME) == 2  # A's and the new vault's
        for space in a_keys:
            assert recovery.server_space(
                _store(home_b), client, space, chain).may_write(me)
    (tmp_path / "rk-b").write_text(state["recovery_key"])
    again = recover_into(cli, monkeypatch, tmp_path / "home-c", url, made.parent / "rk", made)
    assert again.code == ExitCode.WRONG_KEY, again.err  # the bundle moved to the new key
    assert "Traceback" not in again.err


def counts_of(data: Path) -> tuple[int, ...]:
    """Rows of the server's accounts, devices, chain entries and recovery bundles."""
    import sqlite3
    with sqlite3.connect(data / "server.db") as conn:
        return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "accounts", "devices", "chain_entries", "recovery_bundles"))


def _store(home: Path):  # noqa: ANN202
    """An open store of the vault at `home` (closed with the test process)."""
    from tests.helpers_vault import keys_of
    return Vault.open(home, keys_of(home)).store


def test_a_wrong_recovery_key_creates_nothing(
        cli, made: Path, vault_a: Path, server: tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A valid key of no account: exit 4, one line, no vault made, no device registered."""
    url, data = server
    before = counts_of(data)
    wrong = tmp_path / "wrong-rk"
    wrong.write_text(new_recovery_key()[0])
    r = recover_into(cli, monkeypatch, tmp_path / "home-b", url, wrong, made)
    assert r.code == ExitCode.WRONG_KEY and "Traceback" not in r.err
    assert "recovery key" in r.err and len(r.err.strip().splitlines()) == 1
    assert not (tmp_path / "home-b").exists()
    assert counts_of(data) == before
    typo = tmp_path / "typo-rk"
    typo.write_text("0000-0000")
    assert recover_into(cli, monkeypatch, tmp_path / "home-c", url, typo,
                        made).code == ExitCode.USAGE


def test_the_recovery_devices_private_keys_are_not_in_the_vault(
        vault_a: Path, made: Path, server: tuple[str, Path]) -> None:
    """Opened with the recovery key, the bundle's device keys appear in no row of A's vault
    (only sealed to the recovery key)."""
    from msante.sync.client import Client
    from msante.sync.recover import _find, _open
    from msante.sync.recovery import RecoveryKey
    key = RecoveryKey.parse((made.parent / "rk").read_text())
    with Client(server[0]) as client:
        found = _find(client, key, server[0])
        opened_bundle, _sig, _body = _open(key, found, client.health().server)
    secrets = [opened_bundle.signing.private_bytes(), opened_bundle.seal.private_bytes()]
    secrets += [s[1:] for s in secrets] + [s[1:33] for s in secrets]
    values = rows_of(vault_a)
    assert values
    for _table, value in values:
        raw = value if isinstance(value, bytes) else str(value).encode()
        for secret in secrets:
            assert secret not in raw and b64e(secret).encode() not in raw
    with opened(vault_a) as vault:
        row = recovery.load(vault.store.conn)
    assert row is not None and row.device == found.device and row.device_sealed is not None


def test_an_older_vault_asks_for_its_recovery_key_once(
        cli, made: Path, home: Path, server: tuple[str, Path], tmp_path: Path) -> None:
    """Without the recovery key's public key (a vault from before), setup needs the key: no
    terminal → exit 3; a wrong key → exit 4, nothing registered; the right one → protected."""
    with opened(home) as vault:
        with vault.store.write() as tx:
            tx.execute("DELETE FROM sync_recovery")
            vault.store.log(tx, "test.forget")
    url = server[0]
    assert cli("sync", "setup", url, pfile=made).code == ExitCode.LOCKED
    wrong = tmp_path / "wrong-rk"
    wrong.write_text(new_recovery_key()[0])
    r = cli("sync", "setup", url, "--recovery-key-from-file", str(wrong), pfile=made)
    assert r.code == ExitCode.WRONG_KEY
    with opened(home) as vault:
        assert recovery.load(vault.store.conn) is None
    ok = cli("sync", "setup", url, "--recovery-key-from-file", str(made.parent / "rk"), pfile=made)
    assert ok.code == 0, ok.err
    with opened(home) as vault:
        row = recovery.load(vault.store.conn)
    assert row is not None and row.device_sealed is not None


def test_init_and_rotation_keep_the_recovery_public_key(cli, made: Path, home: Path,
                                                        tmp_path: Path) -> None:
    """init keeps the public key of the key it shows; --rotate-keys that of the new key."""
    from msante.vault import recovery_keys
    from msante.vault.crypto import parse_recovery_key

    def row() -> tuple[bytes, str]:
        with opened(home) as vault:
            found = recovery.load(vault.store.conn)
        assert found is not None
        return found.open_key.to_bytes(), found.lookup

    secret = parse_recovery_key((made.parent / "rk").read_text())
    assert row() == (recovery_keys.open_key(secret), recovery_keys.lookup(secret))
    new_pfile = made  # the same passphrase again, new keys
    r = cli("passwd", "--rotate-keys", "--new-passphrase-file", str(new_pfile),
            "--recovery-key-file", str(tmp_path / "rk2"), pfile=made)
    assert r.code == 0, r.err
    secret2 = parse_recovery_key((tmp_path / "rk2").read_text())
    assert row() == (recovery_keys.open_key(secret2), recovery_keys.lookup(secret2))


def test_a_new_recovery_key_moves_the_bundle_at_the_next_setup(
        cli, made: Path, vault_a: Path, server: tuple[str, Path], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After passwd --rotate-keys, 'sync setup' again only protects the account: the new key
    recovers it, the old one finds nothing."""
    url = server[0]
    r = cli("passwd", "--rotate-keys", "--new-passphrase-file", str(made),
            "--recovery-key-file", str(tmp_path / "rk2"), pfile=made)
    assert r.code == 0, r.err
    again = cli("sync", "setup", url, "--json", pfile=made)
    assert again.code == 0 and again.err == "", again.err
    assert again.json()["account"] == device_of(vault_a).account
    old = recover_into(cli, monkeypatch, tmp_path / "n1", url, made.parent / "rk", made)
    assert old.code == ExitCode.WRONG_KEY, old.err
    new = recover_into(cli, monkeypatch, tmp_path / "n2", url, tmp_path / "rk2", made)
    assert new.code == 0, new.err
    assert scope_keys(tmp_path / "n2") == scope_keys(vault_a)


def test_a_forced_new_account_keeps_its_setup_and_says_recovery_is_missing(
        cli, made: Path, vault_a: Path, server: tuple[str, Path]) -> None:
    """--force: the same recovery key already recovers the old account (409): the setup
    stands, one line says what to do."""
    r = cli("sync", "setup", server[0], "--force", pfile=made)
    assert r.code == 0, r.err
    assert "Account recovery is not set up yet" in r.err and "--rotate-keys" in r.err
