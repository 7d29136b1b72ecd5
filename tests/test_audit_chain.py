"""Attacks on the audit chain (DESIGN.md: Audit; Concurrency and sync-ready records).

The attacker here can change rows of vault.db (we use the open SQLCipher connection to play
them) and edit or replace files, but does not hold the audit MAC key or the header MAC key.
Every edit, removal, reordering, insertion, truncation or rollback must be detected, and every
mutation must be audited in the very transaction that makes it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante import backup
from msante.api import Vault
from msante.errors import AlreadyExistsError, ExitCode, IntegrityError
from msante.vault import audit, db, header, store
from msante.vault.descriptors import PEOPLE
from tests.conftest import PASSPHRASE, run_cli
from tests.helpers_vault import (
    audit_count,
    changes_count,
    fast_params,
    header_json,
    keys_of,
    make_vault,
    write_header_json,
    write_secret,
)

COLUMNS = "at, actor, action, person, record, detail, prev_mac, mac"


@pytest.fixture
def chain(home: Path) -> Iterator[Vault]:
    """A vault with six audit entries: vault.create, the owner, then four children."""
    vault, _rk = make_vault(home)
    for n in range(4):
        vault.people.add(f"Child {n}", f"201{n}-05-0{n + 1}", "female")
    assert audit_count(vault.store.conn) == 6
    yield vault
    vault.close()


@pytest.fixture
def pfile(tmp_path: Path) -> Path:
    """A private file holding the passphrase."""
    return write_secret(tmp_path / "pass", PASSPHRASE)


def _cli_verify(home: Path, pfile: Path) -> Any:
    return run_cli("audit", "verify", "--json",
                   env_extra={"MSANTE_HOME": str(home), "MSANTE_PASSPHRASE_FILE": str(pfile)})


def _assert_cli_detects(home: Path, pfile: Path, words: str) -> None:
    result = _cli_verify(home, pfile)
    assert result.returncode == ExitCode.INTEGRITY, result.stderr
    assert "Traceback" not in result.stderr
    assert words in result.stderr, result.stderr


def _row(conn: Any, seq: int) -> tuple[Any, ...]:
    return tuple(conn.execute(f"SELECT {COLUMNS} FROM audit WHERE seq = ?", (seq,)).fetchone())


def _put_row(conn: Any, seq: int, values: tuple[Any, ...]) -> None:
    sets = ", ".join(f"{c.strip()} = ?" for c in COLUMNS.split(","))
    conn.execute(f"UPDATE audit SET {sets} WHERE seq = ?", (*values, seq))


def test_a_whole_chain_verifies(chain: Vault, home: Path, pfile: Path) -> None:
    """The control: an untouched vault verifies, through the API and the CLI (exit 0)."""
    verdict = chain.audit.verify()
    assert verdict.ok and verdict.count == 6 and verdict.first_bad is None
    result = _cli_verify(home, pfile)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("column,value", [
    ("action", "'person.read'"), ("actor", "'delegate:Eve'"), ("at", "'2020-01-01T00:00:00'"),
    ("person", "NULL"), ("record", "'forged'"), ("detail", "'{\"relation\":\"other\"}'"),
])
def test_an_edited_entry_is_named(chain: Vault, column: str, value: str) -> None:
    """Changing any field of entry 3 breaks its MAC: verify fails and names entry 3."""
    chain.store.conn.execute(f"UPDATE audit SET {column} = {value} WHERE seq = 3")
    verdict = chain.audit.verify()
    assert (verdict.ok, verdict.first_bad, verdict.reason) == (False, 3, "mac")
    assert "entry 3" in verdict.explain()


def test_an_edited_entry_exits_6_from_the_cli(chain: Vault, home: Path, pfile: Path) -> None:
    """`msante audit verify` exits 6 and its message names the edited entry."""
    chain.store.conn.execute("UPDATE audit SET action = 'person.read' WHERE seq = 4")
    _assert_cli_detects(home, pfile, "entry 4")


def test_a_removed_middle_entry_is_detected(chain: Vault, home: Path, pfile: Path) -> None:
    """Deleting entry 3 leaves a gap: verify fails with reason "order" where the chain breaks
    (the entry after the gap), and the CLI exits 6."""
    chain.store.conn.execute("DELETE FROM audit WHERE seq = 3")
    verdict = chain.audit.verify()
    assert not verdict.ok and verdict.reason == "order"
    assert verdict.first_bad in (3, 4)
    _assert_cli_detects(home, pfile, f"entry {verdict.first_bad}")


def test_two_reordered_entries_are_detected(chain: Vault, home: Path, pfile: Path) -> None:
    """Swapping the contents of entries 3 and 4 (seq kept) breaks the chain at entry 3."""
    conn = chain.store.conn
    three, four = _row(conn, 3), _row(conn, 4)
    _put_row(conn, 3, four)
    _put_row(conn, 4, three)
    verdict = chain.audit.verify()
    assert (verdict.ok, verdict.first_bad) == (False, 3)
    _assert_cli_detects(home, pfile, "entry 3")


def test_a_forged_entry_appended_is_detected(chain: Vault, home: Path, pfile: Path) -> None:
    """An entry added at the end, chained to the real last MAC but with a made-up MAC."""
    conn = chain.store.conn
    last_mac = conn.execute("SELECT mac FROM audit WHERE seq = 6").fetchone()[0]
    conn.execute("INSERT INTO audit VALUES (7, ?, 'owner', 'person.remove', NULL, NULL, '{}', "
                 "?, ?)", (db.now(), last_mac, "ab" * 32))
    verdict = chain.audit.verify()
    assert (verdict.ok, verdict.first_bad, verdict.reason) == (False, 7, "mac")
    _assert_cli_detects(home, pfile, "entry 7")


def test_a_forged_entry_inserted_in_the_middle_is_detected(chain: Vault) -> None:
    """Entries 3..6 renumbered 4..7 and a forged entry 3 slipped in, chained to entry 2."""
    conn = chain.store.conn
    conn.execute("UPDATE audit SET seq = seq + 100 WHERE seq >= 3")
    conn.execute("UPDATE audit SET seq = seq - 99 WHERE seq >= 100")
    prev = conn.execute("SELECT mac FROM audit WHERE seq = 2").fetchone()[0]
    conn.execute("INSERT INTO audit VALUES (3, ?, 'owner', 'vault.passwd', NULL, NULL, '{}', "
                 "?, ?)", (db.now(), prev, "cd" * 32))
    verdict = chain.audit.verify()
    assert (verdict.ok, verdict.first_bad) == (False, 3)


def test_a_replayed_entry_with_a_genuine_mac_is_detected(chain: Vault) -> None:
    """Entry 6 replaced by a verbatim copy of entry 5 (a genuine MAC, but for seq 5)."""
    conn = chain.store.conn
    _put_row(conn, 6, _row(conn, 5))
    verdict = chain.audit.verify()
    assert (verdict.ok, verdict.first_bad) == (False, 6)


def test_cutting_the_newest_entries_is_detected_by_the_head(
        chain: Vault, home: Path, pfile: Path) -> None:
    """Deleting the last two entries leaves a chain that is whole by itself; the MACed head in
    vault.json (count 6) reveals the cut: reason "truncated", from entry 5 on."""
    chain.store.conn.execute("DELETE FROM audit WHERE seq > 4")
    assert audit.verify_chain(chain.store.conn, chain.store.keys.audit).ok
    verdict = chain.audit.verify()
    assert (verdict.ok, verdict.reason, verdict.first_bad) == (False, "truncated", 5)
    _assert_cli_detects(home, pfile, "from 5 on")


@pytest.mark.parametrize("how", ["rows-deleted", "old-vault-db"])
def test_cutting_entries_and_deleting_the_head_is_detected(
        chain: Vault, home: Path, how: str) -> None:
    """The head is plain JSON: whoever cuts the newest entries (rows deleted, or simply an
    older vault.db put back — no key needed for that) also deletes "chain_head" from
    vault.json. A vault whose history has entries always has a head, so a missing one must
    count as tampering."""
    if how == "rows-deleted":
        chain.store.conn.execute("DELETE FROM audit WHERE seq > 4")
        vault = chain
    else:
        chain.close()
        saved = _save_db(home)
        with _reopen(home) as later:
            later.people.add("Erased By Rollback", "2015-01-01", "male")
        _put_back(home, saved)
        vault = _reopen(home)
    data = header_json(home)
    del data["chain_head"]
    write_header_json(home, data)
    try:
        verdict = vault.audit.verify()
        assert (verdict.ok, verdict.reason) == (False, "head-missing")
    finally:
        vault.close()


@pytest.mark.parametrize("edit", ["count+1", "count-1", "last_mac", "tag"])
def test_a_forged_chain_head_is_detected(chain: Vault, home: Path, edit: str) -> None:
    """The head's own MAC (under a sub-key the attacker lacks) covers count and last MAC."""
    data = header_json(home)
    head = data["chain_head"]
    if edit == "count+1":
        head["count"] += 1
    elif edit == "count-1":
        head["count"] -= 1
    elif edit == "last_mac":
        head["last_mac"] = "0" * 64
    else:
        head["tag"] = head["tag"][::-1]
    write_header_json(home, data)
    verdict = chain.audit.verify()
    assert not verdict.ok and verdict.reason == "head-forged"


def _reopen(home: Path) -> Vault:
    return Vault.open(home, keys_of(home))


def _put_back(home: Path, saved: dict[str, bytes]) -> None:
    for name in ("vault.db", "vault.db-wal", "vault.db-shm"):
        (home / name).unlink(missing_ok=True)
    for name, data in saved.items():
        (home / name).write_bytes(data)


def _save_db(home: Path) -> dict[str, bytes]:
    return {name: (home / name).read_bytes() for name in ("vault.db", "vault.db-wal")
            if (home / name).exists()}


def test_an_older_vault_db_that_grew_again_is_rolled_back(chain: Vault, home: Path) -> None:
    """docs/security.md, reason `rolled-back`: an older copy of the vault (six entries) that
    then grew past the head's count (nine) holds an entry 8, but not the head's entry 8."""
    db.checkpoint(chain.store.conn)
    saved, old_header = _save_db(home), (home / "vault.json").read_bytes()
    chain.people.add("Later One", "2015-01-01", "male")
    chain.people.add("Later Two", "2015-01-02", "male")
    chain.close()
    head = (home / "vault.json").read_bytes()
    _put_back(home, saved)
    (home / "vault.json").write_bytes(old_header)
    with _reopen(home) as older:
        for n in range(3):
            older.people.add(f"Elsewhere {n}", "2016-01-01", "female")
    (home / "vault.json").write_bytes(head)
    with _reopen(home) as vault:
        verdict = vault.audit.verify()
    assert (verdict.ok, verdict.reason) == (False, "rolled-back")


def test_an_older_vault_db_put_back_is_detected(chain: Vault, home: Path, pfile: Path) -> None:
    """vault.db and its WAL copied after a checkpoint, two more people added, then the old
    copy put back (say, to make an access or a removal disappear): detected."""
    db.checkpoint(chain.store.conn)
    saved = _save_db(home)
    chain.people.add("Later One", "2015-01-01", "male")
    chain.people.add("Later Two", "2015-01-02", "male")
    chain.close()
    _put_back(home, saved)
    with _reopen(home) as vault:
        assert {p.name for p in vault.people.list()}.isdisjoint({"Later One", "Later Two"})
        verdict = vault.audit.verify()
    assert not verdict.ok and verdict.reason in ("truncated", "rolled-back")
    result = _cli_verify(home, pfile)
    assert result.returncode == ExitCode.INTEGRITY


def test_a_write_after_a_rollback_is_refused(chain: Vault, home: Path) -> None:
    """After the old copy is put back, adding someone is refused (writing on would hide the
    rollback), nothing is written, and verify keeps naming the first missing entry."""
    chain.close()
    saved = _save_db(home)
    with _reopen(home) as vault:
        vault.people.add("Erased By Rollback", "2015-01-01", "male")
    _put_back(home, saved)
    with _reopen(home) as vault:
        before = vault.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        with pytest.raises(IntegrityError, match="tampered"):
            vault.people.add("After Rollback", "2015-01-02", "male")
        after = vault.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        verdict = vault.audit.verify()
    assert before == after
    assert (verdict.ok, verdict.reason, verdict.first_bad) == (False, "truncated", 7)


def test_a_rollback_stays_detected_after_more_writes(chain: Vault, home: Path) -> None:
    """Once vault.db was rolled back, writes made afterwards must not launder the rollback:
    either they are refused, or verify keeps failing."""
    chain.close()
    saved = _save_db(home)
    with _reopen(home) as vault:
        vault.people.add("Erased By Rollback", "2015-01-01", "male")
    _put_back(home, saved)
    try:
        with _reopen(home) as vault:
            vault.people.add("After Rollback", "2015-01-02", "male")
            vault.people.add("Later Still", "2015-01-03", "male")
            assert not vault.audit.verify().ok
    except Exception as exc:  # refusing the writes is fine too, if it is an integrity error
        from msante.errors import IntegrityError

        assert isinstance(exc, IntegrityError), exc


# --- every mutation is audited, in its own transaction --------------------------------------

def _state(vault: Vault) -> tuple[int, int, int, int, Any]:
    conn = vault.store.conn
    people = conn.execute("SELECT count(*) FROM people").fetchone()[0]
    spaces = conn.execute("SELECT count(*) FROM spaces").fetchone()[0]
    return audit_count(conn), changes_count(conn), people, spaces, header.load(vault.path).chain


def _last_action(vault: Vault) -> str:
    return next(vault.audit.entries(limit=1)).action


def test_every_mutation_writes_one_audit_entry(chain: Vault, home: Path, tmp_path: Path) -> None:
    """people add/remove, passwd and backup each add exactly one entry (and the head in
    vault.json follows); record writes add one change-log row per record (a person comes and
    goes with their space and identity), the others none."""
    conn = chain.store.conn

    def step(action: str, records_written: int, run: Any) -> None:
        entries, changes = audit_count(conn), changes_count(conn)
        run()
        assert audit_count(conn) == entries + 1, action
        assert changes_count(conn) == changes + records_written, action
        assert _last_action(chain) == action
        head = header.load(home).chain
        assert head is not None and head.count == entries + 1
        assert head.last_mac == audit.mac_at(conn, entries + 1)

    step("person.add", 3, lambda: chain.people.add("Léo Martin", "2019-04-27", "male"))
    step("person.remove", 3, lambda: chain.people.remove("Léo Martin"))
    step("vault.passwd", 0,
         lambda: store.change_passphrase(chain.store, "quiet meadow copper violin 19",
                                         fast_params()))
    step("backup.create", 0, lambda: backup.create(chain.store, tmp_path / "b.msb"))
    assert chain.audit.verify().ok


@pytest.mark.parametrize("duplicate", ["Child 1", "CHILD 1", "  child   1 ", "Chïld 1"])
def test_a_failing_write_leaves_no_trace(chain: Vault, duplicate: str) -> None:
    """Adding a duplicate name (matched ignoring case, spaces and accents) fails and adds no
    audit entry, no change-log row, no record, no space, and does not move the head."""
    before = _state(chain)
    with pytest.raises(AlreadyExistsError):
        chain.people.add(duplicate, "2012-01-01", "male")
    assert _state(chain) == before
    assert chain.audit.verify().ok


def test_a_failure_after_the_audit_entry_rolls_everything_back(
        chain: Vault, monkeypatch: pytest.MonkeyPatch) -> None:
    """If anything fails after the entry was appended (disk full, a bug), the entry, the
    record, its space and its change-log row all vanish together; the head does not move."""
    before = _state(chain)
    real = audit.append

    def append_then_fail(*args: Any, **kwargs: Any) -> tuple[int, str]:
        real(*args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(audit, "append", append_then_fail)
    with pytest.raises(OSError):
        chain.people.add("Ghost Person", "2012-01-01", "male")
    monkeypatch.undo()
    assert _state(chain) == before
    assert chain.audit.verify().ok
    chain.people.add("Ghost Person", "2012-01-01", "male")  # and the vault goes on
    assert chain.audit.verify().ok


# --- the change log and tombstones ------------------------------------------------------------

def test_change_log_and_tombstone(chain: Vault) -> None:
    """One change-log row per record write, with the record's revision; a removed person
    becomes a tombstone (same id, revision + 1, deleted = 1, no content) and loses their space
    and identity keys (tombstones too, logged as deletions for sync, their keys blanked); the
    name is found nowhere in the database any more."""
    CONTENT = PEOPLE.content
    conn, device = chain.store.conn, chain.store.device
    person = chain.people.add("Zéphyrine Quatremaine", "2016-03-14", "female")
    assert [tuple(r) for r in conn.execute(
        "SELECT tbl, revision, op, device FROM changes WHERE record_id = ? AND tbl = 'people' "
        "ORDER BY seq",
        (person.id,))] == [("people", 1, "insert", device)]
    chain.people.remove(person.id)
    assert [tuple(r) for r in conn.execute(
        "SELECT tbl, revision, op FROM changes WHERE record_id = ? AND tbl = 'people' "
        "ORDER BY seq",
        (person.id,))] == [("people", 1, "insert"), ("people", 2, "delete")]
    row = conn.execute(f"SELECT id, revision, base_revision, deleted, device, "
                       f"{', '.join(CONTENT)} FROM people WHERE id = ?", (person.id,)).fetchone()
    assert tuple(row[:5]) == (person.id, 2, 1, 1, device)
    assert tuple(row[5:]) == (None,) * len(CONTENT)
    assert conn.execute("SELECT deleted, wrapped_key FROM spaces WHERE id = ?",
                        (person.id,)).fetchall() == [(1, None)]
    assert conn.execute("SELECT deleted, x25519_private, ed25519_private, x25519_public "
                        "FROM identities WHERE space = ?", (person.id,)).fetchall() \
        == [(1, None, None, None)]
    assert [tuple(r) for r in conn.execute(
        "SELECT tbl, revision, op FROM changes WHERE tbl IN ('spaces', 'identities') AND "
        "(record_id = ? OR record_id IN (SELECT id FROM identities WHERE space = ?)) "
        "ORDER BY seq", (person.id, person.id))] == [
        ("spaces", 1, "insert"), ("identities", 1, "insert"),
        ("identities", 2, "delete"), ("spaces", 2, "delete")]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                         "AND name NOT LIKE 'sqlite_%'")]
    for table in tables:
        for values in conn.execute(f"SELECT * FROM {table}"):
            text = repr(tuple(values))
            assert "Zéphyrine" not in text and "zephyrine" not in text, table
    # each record write of the session is one row, numbered like the record's revisions
    per_record = conn.execute("SELECT tbl, record_id, group_concat(revision) FROM "
                              "(SELECT * FROM changes ORDER BY seq) GROUP BY tbl, record_id"
                              ).fetchall()
    for table, rid, revisions in per_record:
        numbers = [int(n) for n in str(revisions).split(",")]
        assert numbers == list(range(1, len(numbers) + 1)), rid
        current = conn.execute(f"SELECT revision FROM {table} WHERE id = ?",
                               (rid,)).fetchone()[0]
        assert current == numbers[-1]


def test_backup_carries_the_chain_head(chain: Vault, tmp_path: Path) -> None:
    """The backup's envelope holds the head, so a restore from it also detects a truncation."""
    out = tmp_path / "b.msb"
    backup.create(chain.store, out)
    with open(out, "rb") as src:
        env = backup.open_envelope(src)
    head = backup.backup_header(env).chain
    assert head is not None and head.count == audit_count(chain.store.conn)
    assert head.valid(chain.store.keys.header, chain.store.keys.vault_id)



def test_entries_written_during_a_verification_are_not_a_truncation(
        chain: Vault, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another process may write while the chain is walked: its newer head is no attack."""
    other = Vault.open(home, keys_of(home))
    walk = audit.verify_chain

    def walk_then_write(conn: Any, key: bytes) -> audit.Verdict:
        verdict = walk(conn, key)
        other.people.add("Child late", "2020-01-01", "male")  # commits, advances the head
        return verdict

    monkeypatch.setattr(audit, "verify_chain", walk_then_write)
    try:
        verdict = chain.audit.verify()
    finally:
        other.close()
    assert verdict.ok and verdict.count == 6, verdict
    monkeypatch.undo()
    assert chain.audit.verify().count == 7


# --- after a rollback: the data can still be got out (issue 11, part 8) ----------------------

def _rolled_back_with_a_document(cli, made: Path, home: Path, tmp_path: Path) -> str:
    """A vault with one document whose vault.db was then put back to an older copy."""
    from tests import pdfgen

    pdf = tmp_path / "lab.pdf"
    pdf.write_bytes(pdfgen.lab_report())
    doc_id = str(cli("doc", "import", pdf, "--json", pfile=made).lines()[0]["id"])
    with _reopen(home) as vault:
        db.checkpoint(vault.store.conn)
    saved = _save_db(home)
    assert cli("people", "add", "Erased By Rollback", "--born", "2015-01-01", "--sex", "male",
               pfile=made).code == 0
    _put_back(home, saved)
    return doc_id


def test_after_a_rollback_listing_warns_and_accept_gives_the_documents_back(
        cli, made: Path, home: Path, tmp_path: Path) -> None:
    """docs/security.md promises the data can still be looked at and exported after a
    rollback. Reads of content are audited writes, so they are refused (exit 6) while the head
    disagrees; listing works and says why; `audit accept` records the finding and export works."""
    doc_id = _rolled_back_with_a_document(cli, made, home, tmp_path)
    listed = cli("doc", "list", "--json", pfile=made)
    assert listed.code == 0 and "audit accept" in listed.err
    refused = cli("doc", "export", doc_id, "--out", tmp_path / "out.pdf", pfile=made)
    assert refused.code == ExitCode.INTEGRITY and "audit accept" in refused.err
    assert cli("audit", "accept", pfile=made).code == ExitCode.USAGE  # no terminal, no --yes
    accepted = cli("audit", "accept", "--yes", "--json", pfile=made)
    assert accepted.code == 0, accepted.err
    assert accepted.json()["accepted"] is True
    exported = cli("doc", "export", doc_id, "--out", tmp_path / "out.pdf", pfile=made)
    assert exported.code == 0, exported.err
    assert (tmp_path / "out.pdf").exists()
    with _reopen(home) as vault:
        entries = [e.action for e in vault.audit.entries()]
        assert vault.audit.verify().ok
    assert entries[:2] == ["document.read", "audit.accept"]
    again = cli("audit", "accept", "--yes", "--json", pfile=made)
    assert again.json()["accepted"] is False
