"""The store's own promises: build check, orphan clean-up, audited writes, records' columns."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from msante.errors import EnvironmentProblem
from msante.vault import db, records
from msante.vault.store import Store, clean_orphans


class FakeConn:
    """A connection that answers the two build questions as told."""

    def __init__(self, version: str, fts5: int) -> None:
        self.answers = {"PRAGMA cipher_version": (version,),
                        "SELECT sqlite_compileoption_used('ENABLE_FTS5')": (fts5,)}

    def execute(self, sql: str):
        class Cur:
            def __init__(self, row):
                self.row = row

            def fetchone(self):
                return self.row
        return Cur(self.answers.get(sql))


@pytest.mark.parametrize("version,fts5", [("", 1), ("3.4.2 community", 1), ("4.5.0", 0)])
def test_a_wrong_sqlcipher_build_is_a_clear_error(version: str, fts5: int) -> None:
    """Plain SQLite (no cipher_version), SQLCipher 3, or no FTS5: refused before any use."""
    with pytest.raises(EnvironmentProblem):
        db.check_build(FakeConn(version, fts5))


def test_the_real_build_passes() -> None:
    """The SQLCipher we ship with is at least 4 and has FTS5."""
    import sqlcipher3

    conn = sqlcipher3.connect(":memory:")
    assert db.check_build(conn).startswith(("4", "5"))


def test_orphans_of_dead_processes_are_removed_live_ones_kept(home: Path, vault) -> None:
    """A crash leaves temp files; the next open removes them unless their process still runs."""
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    (home / f".tmp-backup-{dead}.db").write_bytes(b"x")
    (home / f".tmp-restore-{dead}").mkdir()
    mine = home / f".tmp-backup-{os.getpid()}.db"
    mine.write_bytes(b"x")
    assert clean_orphans(home) == 2
    assert mine.exists()


def test_a_killed_backup_leaves_nothing_after_the_next_open(home: Path, vault,
                                                            tmp_path: Path) -> None:
    """A backup killed mid-way left `.tmp-backup-PID.db-wal`/`-shm` in the vault folder for
    good (the pattern missed those suffixes) and a partial archive beside its destination;
    the next open removes both (the destination folder is named in the process's journal)."""
    from msante.vault import fsutil

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    for suffix in (".db", ".db-wal", ".db-shm"):
        (home / f".tmp-backup-{dead}{suffix}").write_bytes(b"x")
    dest = tmp_path / "usb"
    dest.mkdir()
    (dest / f".tmp-backup.msb-{dead}").write_bytes(b"partial archive")
    (dest / f".tmp-backup.msb-{os.getpid()}").write_bytes(b"a live one")
    (home / f".tmp-outputs-{dead}").write_bytes(os.fsencode(dest) + b"\n")
    assert clean_orphans(home) == 4
    assert sorted(p.name for p in dest.iterdir()) == [f".tmp-backup.msb-{os.getpid()}"]
    assert not list(home.glob(f".tmp-*{dead}*"))
    fsutil.note_temp_dir(dest)  # this process's own journal (the vault is open)
    assert (home / f".tmp-outputs-{os.getpid()}").stat().st_mode & 0o777 == 0o600


def test_a_write_without_an_audit_entry_is_refused_and_rolled_back(vault) -> None:
    """Every mutation is audited in its own transaction: a write that forgets is undone."""
    store: Store = vault.store
    with pytest.raises(RuntimeError):
        with store.write() as tx:
            records.insert(tx, "people", {"name": "Ghost", "name_key": "ghost",
                                          "born": "2000-01-01", "sex": "other",
                                          "relation": "other"}, device=store.device)
    assert store.conn.execute("SELECT count(*) FROM people WHERE name='Ghost'").fetchone()[0] == 0


def test_records_carry_the_sync_columns_and_conflicts_are_detected(vault) -> None:
    """UUID, revision, base revision, device; a write based on a stale revision is refused."""
    store: Store = vault.store
    person = vault.people.owner()
    with store.write() as tx:
        rev = records.update(tx, "people", person.id, {"sex": "other"}, device=store.device,
                             base_revision=1)
        store.log(tx, "test.update", person=person.id)
    assert rev == 2
    row = store.conn.execute("SELECT revision, base_revision, device FROM people WHERE id = ?",
                             (person.id,)).fetchone()
    assert tuple(row) == (2, 1, store.device)
    with pytest.raises(records.ConflictError):
        with store.write() as tx:
            records.update(tx, "people", person.id, {"sex": "male"}, device=store.device,
                           base_revision=1)
            store.log(tx, "test.update")


def test_new_private_file_is_whole_or_absent_and_never_overwrites(tmp_path: Path) -> None:
    """An error mid-write leaves nothing; an existing file is never replaced; mode is 0600."""
    from msante.errors import AlreadyExistsError
    from msante.vault.fsutil import new_private_file

    target = tmp_path / "out.bin"
    with pytest.raises(ValueError):
        with new_private_file(target) as f:
            f.write(b"half")
            raise ValueError("disk full")
    assert list(tmp_path.iterdir()) == []
    with new_private_file(target) as f:
        f.write(b"whole")
    assert target.read_bytes() == b"whole" and oct(target.stat().st_mode & 0o777) == "0o600"
    with pytest.raises(AlreadyExistsError):
        with new_private_file(target) as f:
            f.write(b"other")
    assert target.read_bytes() == b"whole" and len(list(tmp_path.iterdir())) == 1


def test_record_lookups_by_prefix_and_by_many_ids(vault) -> None:
    """One helper serves every service: a prefix needs 4 characters and is not a LIKE pattern;
    many ids are asked in chunks (over SQLite's limit on parameters they used to fail)."""
    owner = vault.people.owner()
    entry = vault.profile.add(owner, "allergies", {"substance": "Latex"})
    select = "SELECT id FROM profile_entries WHERE deleted = 0"
    conn = vault.store.conn
    assert records.by_prefix(conn, select, entry.id[:4].upper()) == [(entry.id,)]
    assert records.by_prefix(conn, select, entry.id[:3]) == []
    assert records.by_prefix(conn, select, "%%%%") == []  # wildcards are stripped, not matched
    ids = [f"{n:08x}-missing" for n in range(40_000)] + [entry.id]
    assert records.known_ids(conn, "profile_entries", owner.id, ids) == {entry.id}
    assert records.known_ids(conn, "profile_entries", "someone-else", ids) == set()


def test_an_export_is_audited_private_and_gone_if_the_transaction_fails(vault, tmp_path,
                                                                       monkeypatch) -> None:
    """Plaintext leaving the vault (PDF, FHIR, iCalendar, QR) goes through Store.export: a new
    0600 file, one audit entry; a failed commit leaves no file; a bad folder is exit 2."""
    from contextlib import contextmanager

    from msante.errors import AlreadyExistsError, UsageError

    out = tmp_path / "out.bin"
    vault.store.export(out, b"plain", "test.export", detail={"file": out.name})
    assert out.read_bytes() == b"plain" and out.stat().st_mode & 0o777 == 0o600
    last = vault.store.conn.execute("SELECT action FROM audit ORDER BY seq DESC").fetchone()
    assert last[0] == "test.export"
    with pytest.raises(AlreadyExistsError):
        vault.store.export(out, b"other", "test.export")
    with pytest.raises(UsageError, match="Cannot write"):
        vault.store.export(tmp_path / "no" / "such" / "x.bin", b"x", "test.export")
    real = vault.store.write

    @contextmanager
    def failing():
        with real() as tx:
            yield tx
            raise OSError("disk full at commit")

    monkeypatch.setattr(vault.store, "write", failing)
    gone = tmp_path / "gone.bin"
    with pytest.raises(UsageError):
        vault.store.export(gone, b"x", "test.export")
    assert not gone.exists()


def test_a_backup_says_how_many_records_of_each_type_it_holds(vault, tmp_path: Path) -> None:
    """The backup's summary counts the live records of every record type (from the record
    descriptors, read in the snapshot the archive holds): a removed person counts nowhere."""
    from msante import backup
    from msante.vault import descriptors

    owner = vault.people.owner()
    vault.profile.add(owner, "allergies", {"substance": "Latex"})
    vault.people.remove(vault.people.add("Léo Martin", "2019-04-27", "male").id)
    summary = backup.create(vault.store, tmp_path / "b.msb")
    assert set(summary["records"]) == {d.table for d in descriptors.ALL}
    assert {k: v for k, v in summary["records"].items() if v} == {
        "people": 1, "spaces": 1, "identities": 1, "profile_entries": 1}


def test_every_record_table_has_a_descriptor_that_matches_its_columns(vault) -> None:
    """A record table (one with the sync columns) without a descriptor, or a column that its
    descriptor does not name, would be missed by erasing, tombstones, handover and sync."""
    from msante.vault import descriptors

    conn = vault.store.conn
    sync = {"id", "revision", "base_revision", "device", "deleted", "created_at", "updated_at"}
    found = set()
    for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
        columns = {r[1] for r in conn.execute(f"PRAGMA table_info({table})")}
        if not sync <= columns:
            continue
        found.add(table)
        desc = descriptors.of(table)
        named = {*desc.content, *desc.refs, desc.person} | sync
        assert columns - {"n"} == named, table
        assert set(desc.blanks) <= set(desc.content) and desc.binary <= set(desc.content)
    assert found == set(descriptors.BY_TABLE)
