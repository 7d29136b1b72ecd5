"""Schema migrations (DESIGN.md: The vault on disk; Concurrency — migrate takes the file lock).

A vault made by an older msante is upgraded in place on open, atomically, recording each
migration; a vault made by a newer msante is refused without being touched.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from msante import paths
from msante.api import Vault
from msante.errors import ExitCode, UnsupportedError
from msante.vault import crypto, db, identity, migrations, spaces, store
from msante.vault.fsutil import file_lock
from msante.vault.keys import Keys
from tests.conftest import PASSPHRASE, run_cli
from tests.helpers_vault import keys_of, make_vault, vault_files, write_secret

FULL = list(migrations.MIGRATIONS)


@pytest.fixture
def old_vault(home: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Keys]:
    """A closed vault made by the previous schema (first migration only), with two children."""
    monkeypatch.setattr(migrations, "MIGRATIONS", FULL[:1])
    monkeypatch.setattr(store, "MIGRATIONS", FULL[:1])
    vault, _rk = make_vault(home)
    vault.people.add("Léo Martin", "2019-04-27", "male")
    vault.people.add("Zoé Martin", "2021-09-01", "female")
    assert vault.schema_version() == 1
    keys = vault.store.keys
    vault.close()
    monkeypatch.undo()
    assert store.MIGRATIONS == FULL
    yield keys


def _assert_still_version_1(home, keys) -> None:
    """The vault is as version 1 left it: no later migration, no identities table."""
    conn = _raw(home, keys)
    try:
        assert db.schema_version(conn) == 1
        assert conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'identities'"
                            ).fetchone() is None
    finally:
        conn.close()


def _raw(home: Path, keys: Keys) -> db.Connection:
    return db.connect(paths.db_path(home), keys.db)


def test_an_older_vault_is_upgraded_on_open(old_vault: Keys, home: Path) -> None:
    """Reopened by the current code: schema 2, both migrations recorded with their names, an
    identity (X25519 + Ed25519) for every existing space whose private halves unwrap with that
    space's key and match the public halves, and the audit chain still verifies."""
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

    _assert_still_version_1(home, old_vault)
    with Vault.open(home, old_vault) as vault:
        assert vault.schema_version() == len(FULL)
        conn = vault.store.conn
        recorded = [tuple(r) for r in conn.execute(
            "SELECT version, name FROM schema_migrations ORDER BY version")]
        assert recorded == [(n, name) for n, (name, _f) in enumerate(FULL, start=1)]
        space_ids = {r[0] for r in conn.execute("SELECT id FROM spaces")}
        assert len(space_ids) == 3
        rows = conn.execute("SELECT space, x25519_public, x25519_private, ed25519_public, "
                            "ed25519_private FROM identities").fetchall()
        assert {r[0] for r in rows} == space_ids
        raw = (ser.Encoding.Raw, ser.PublicFormat.Raw)
        for space, x_pub, x_priv, e_pub, e_priv in rows:
            key = spaces.key(conn, old_vault, space)
            x = crypto.unwrap_key(key, bytes(x_priv), identity._aad(space, "x25519"))
            e = crypto.unwrap_key(key, bytes(e_priv), identity._aad(space, "ed25519"))
            assert x25519.X25519PrivateKey.from_private_bytes(x).public_key() \
                .public_bytes(*raw) == bytes(x_pub)
            assert ed25519.Ed25519PrivateKey.from_private_bytes(e).public_key() \
                .public_bytes(*raw) == bytes(e_pub)
        for person in vault.people.list():
            assert vault.people.fingerprint(person)
        assert vault.audit.verify().ok
        vault.people.add("Après Migration", "2020-02-02", "other", relation="other")
        assert vault.audit.verify().ok


def test_a_migration_that_fails_half_way_changes_nothing(
        old_vault: Keys, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each migration runs in one transaction: if it fails after creating its table and one
    identity, the vault stays at schema 1 with no identities table, and the next open
    upgrades it cleanly."""
    real, calls = identity.create, []

    def fail_on_second(*args: object, **kwargs: object) -> None:
        calls.append(1)
        if len(calls) == 2:
            raise OSError("disk full")
        real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(identity, "create", fail_on_second)
    with pytest.raises(OSError):
        Vault.open(home, old_vault)
    monkeypatch.undo()
    _assert_still_version_1(home, old_vault)
    with Vault.open(home, old_vault) as vault:
        assert vault.schema_version() == len(FULL)
        assert vault.audit.verify().ok


def test_migration_waits_for_the_file_lock(old_vault: Keys, home: Path) -> None:
    """Migrating replaces the schema: it takes the vault's file lock, so it does not run while
    another process holds it (e.g. a restore or a close), and runs once it is released."""
    result: dict[str, object] = {}

    def open_it() -> None:
        try:
            with Vault.open(home, old_vault) as vault:
                result["version"] = vault.schema_version()
        except BaseException as exc:  # reported below
            result["error"] = exc

    with file_lock(paths.lock_path(home)):
        worker = threading.Thread(target=open_it)
        worker.start()
        time.sleep(0.5)
        assert worker.is_alive() or "error" in result
        conn = _raw(home, old_vault)
        try:
            assert db.schema_version(conn) == 1
        finally:
            conn.close()
    worker.join(30)
    if "error" in result:
        from msante.errors import BusyError

        assert isinstance(result["error"], BusyError)
    else:
        assert result == {"version": len(FULL)}


@pytest.fixture
def newer_vault(vault: Vault, home: Path) -> Path:
    """A vault whose database says a migration 99 was applied (a newer msante made it)."""
    vault.store.conn.execute("INSERT INTO schema_migrations VALUES (99, 'future', ?)",
                             (db.now(),))
    vault.close()
    return home


def test_a_newer_schema_is_refused_and_untouched(newer_vault: Path, tmp_path: Path) -> None:
    """Opening a vault whose schema is newer than the code: UnsupportedError (exit 6 from the
    CLI, one clean line), and neither vault.json nor vault.db changes by a byte."""
    home = newer_vault
    before = vault_files(home)
    with pytest.raises(UnsupportedError):
        Vault.open(home, keys_of(home))
    assert vault_files(home) == before
    result = run_cli("audit", "verify", env_extra={
        "MSANTE_PASSPHRASE_FILE": str(write_secret(tmp_path / "p", PASSPHRASE))})
    assert result.returncode == ExitCode.INTEGRITY, result.stderr
    assert "Traceback" not in result.stderr and "newer" in result.stderr
    assert vault_files(home) == before


def test_a_newer_header_format_is_refused(vault: Vault, home: Path, tmp_path: Path) -> None:
    """vault.json with a format version above ours: refused (exit 6) before any unlock."""
    import json

    vault.close()
    data = json.loads(paths.header_path(home).read_text())
    data["version"] = 2
    paths.header_path(home).write_text(json.dumps(data))
    with pytest.raises(UnsupportedError):
        store.unlock_with_passphrase(home, PASSPHRASE)
    result = run_cli("audit", "verify", env_extra={
        "MSANTE_PASSPHRASE_FILE": str(write_secret(tmp_path / "p", PASSPHRASE))})
    assert result.returncode == ExitCode.INTEGRITY, result.stderr
    assert "Traceback" not in result.stderr


def test_scripts_split_by_sqlite_itself_not_by_counting_begin_and_end(tmp_path: Path) -> None:
    """The DDL splitter asks SQLite where a statement ends: a column named `begin`, or a
    trigger body whose text holds `end;`, no longer glues two statements or cuts one."""
    from msante.vault.keys import Keys

    conn = db.connect(tmp_path / "t.db", Keys("v", bytes(32)).db)
    try:
        with db.write(conn):
            migrations.run_script(conn, (
                "CREATE TABLE spans (begin TEXT, stop TEXT);"
                "CREATE TABLE log (what TEXT);"
                "CREATE TRIGGER spans_ai AFTER INSERT ON spans BEGIN "
                "INSERT INTO log VALUES ('the end; really'); END;"
                "CREATE TABLE after_trigger (x)"))
        conn.execute("INSERT INTO spans VALUES ('a', 'b')")
        assert conn.execute("SELECT what FROM log").fetchall() == [("the end; really",)]
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        assert {"spans", "log", "spans_ai", "after_trigger"} <= names
    finally:
        conn.close()


def test_spaces_identities_and_history_become_records_on_upgrade(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A vault made before migration 7 (its spaces, identities and profile history without
    the sync columns, never in the change log) is upgraded: every row keeps its content, gets
    revision 1 and this device, is logged as inserted (what a second device will receive),
    and the profile's history still reads back."""
    monkeypatch.setattr(migrations, "MIGRATIONS", FULL[:5])
    monkeypatch.setattr(store, "MIGRATIONS", FULL[:5])
    vault, _rk = make_vault(home)
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    conn = vault.store.conn
    with vault.store.write() as tx:  # the profile service of that time, by hand
        tx.execute("INSERT INTO profile_entries (id, revision, base_revision, device, deleted, "
                   "created_at, updated_at, person, section, data, provenance) VALUES "
                   "('e1e1e1e1', 2, 1, 'd', 0, 't', 't', ?, 'allergies', "
                   "'{\"substance\": \"Latex\", \"reaction\": \"eczéma\"}', 'typed')",
                   (child.id,))
        tx.execute("INSERT INTO profile_history VALUES ('e1e1e1e1', 1, "
                   "'{\"substance\": \"Latex\"}', NULL, NULL, NULL, 'current', '2020-01-01')")
        vault.store.log(tx, "profile.add", person=child.id, record="e1e1e1e1")
    keys_before = dict(conn.execute("SELECT id, wrapped_key FROM spaces").fetchall())
    device, keys = vault.store.device, vault.store.keys
    vault.close()
    monkeypatch.undo()
    with Vault.open(home, keys) as upgraded:
        conn = upgraded.store.conn
        assert dict(conn.execute("SELECT id, wrapped_key FROM spaces").fetchall()) == keys_before
        for table in ("spaces", "identities", "profile_history"):
            rows = conn.execute(f"SELECT id, revision, base_revision, device, deleted "
                                f"FROM {table}").fetchall()
            assert rows and all(tuple(r[1:]) == (1, 0, device, 0) for r in rows), table
            logged = {r[0] for r in conn.execute(
                "SELECT record_id FROM changes WHERE tbl = ? AND op = 'insert'", (table,))}
            assert logged == {r[0] for r in rows}, table
        assert conn.execute("SELECT person, entry, entry_revision FROM profile_history"
                            ).fetchall() == [(child.id, "e1e1e1e1", 1)]
        entry = upgraded.profile.get("e1e1e1e1")
        assert [h.data for h in upgraded.profile.history(entry)] == [{"substance": "Latex"}]
        for person in upgraded.people.list():
            assert upgraded.people.fingerprint(person)
        assert upgraded.audit.verify().ok
