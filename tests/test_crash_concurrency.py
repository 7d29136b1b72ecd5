"""Crashes and concurrency (DESIGN.md: The vault on disk; Concurrency and sync-ready records).

A process killed at any instant leaves the old state or the new one; several processes writing
at once never fork the audit chain; whole-vault operations take the file lock.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from msante import backup, paths
from msante.api import Vault
from msante.errors import BusyError, ExitCode, IntegrityError, WrongKeyError
from msante.vault import audit, header, store
from msante.vault.fsutil import file_lock
from tests.conftest import PASSPHRASE, run_cli
from tests.helpers_vault import (
    fast_params,
    keys_of,
    make_vault,
    release,
    start_writer,
    tree_bytes,
    write_secret,
)

NEW_PASSPHRASE = "quiet meadow copper violin 19"


def _names(vault: Vault) -> set[str]:
    return {p.name for p in vault.people.list()}


def _check_whole(home: Path) -> Vault:
    """Reopen the vault and check it is sound: SQLite integrity, audit chain and head."""
    vault = Vault.open(home, keys_of(home))
    conn = vault.store.conn
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    verdict = vault.audit.verify()
    assert verdict.ok, verdict
    seqs = [r[0] for r in conn.execute("SELECT seq FROM audit ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))
    return vault


@pytest.mark.slow
def test_kill_9_during_a_write_loop_loses_nothing_committed(home: Path) -> None:
    """A writer (keys through stdin, never argv) is SIGKILLed at random moments: every time,
    the vault reopens, the chain verifies, every person reported done exists, the rows agree
    with the change log, and no temp file of the dead writer is left behind."""
    vault, _rk = make_vault(home)
    keys = vault.store.keys
    vault.close()
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    reported: set[str] = set()
    for round_ in range(5):
        proc = start_writer(home, keys, f"Round{round_}", 100_000)
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready", proc.stderr
        # the first write done, then a random moment: the kill falls inside the write loop
        # however loaded the machine is (a fixed delay after "ready" could fall before it)
        first = proc.stdout.readline()
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL, err
        done = [line.split()[1] for line in (first + out).splitlines()
                if line.startswith("done ")]
        assert done, (seed, first, err)
        reported |= {f"Round{round_} {n}" for n in done}
        with _check_whole(home) as reopened:
            names = _names(reopened)
            missing = reported - names
            assert not missing, (seed, sorted(missing)[:5])
            conn = reopened.store.conn
            orphans = conn.execute(
                "SELECT count(*) FROM people p WHERE NOT EXISTS (SELECT 1 FROM changes c "
                "WHERE c.record_id = p.id)").fetchone()[0]
            assert orphans == 0
            no_space = conn.execute(
                "SELECT count(*) FROM people p WHERE deleted = 0 AND NOT EXISTS "
                "(SELECT 1 FROM spaces s WHERE s.id = p.id)").fetchone()[0]
            assert no_space == 0
        leftovers = [p.name for p in home.glob(".tmp-*")]
        assert leftovers == [], (seed, leftovers)
    assert len(reported) > 0, seed


@pytest.mark.slow
def test_two_writers_at_once_never_fork_the_chain(home: Path) -> None:
    """Two processes add 50 people each at the same time: all 100 exist, seq numbers are
    contiguous, the chain verifies and the head in vault.json is the last entry."""
    vault, _rk = make_vault(home)
    keys = vault.store.keys
    vault.close()
    writers = [start_writer(home, keys, prefix, 50, hold=True) for prefix in ("Alpha", "Beta")]
    for proc in writers:  # both have opened the vault: start them together
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    for proc in writers:
        release(proc)
    for proc in writers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert out.splitlines()[-1] == "done 49"
    with _check_whole(home) as reopened:
        expected = {f"{p} {n}" for p in ("Alpha", "Beta") for n in range(50)}
        assert expected <= _names(reopened)
        conn = reopened.store.conn
        count = conn.execute("SELECT count(*) FROM audit").fetchone()[0]
        assert count == 2 + 100
        head = header.load(home).chain
        assert head is not None and head.count == count
        assert head.last_mac == audit.mac_at(conn, count)
        assert head.valid(keys.header, keys.vault_id)
        revisions = dict(conn.execute("SELECT tbl, count(*) FROM changes GROUP BY tbl"))
        assert revisions == {"people": 1 + 100, "spaces": 1 + 100, "identities": 1 + 100}
        order = [r[0].split()[0] for r in conn.execute(
            "SELECT p.name FROM changes c JOIN people p ON p.id = c.record_id "
            "WHERE c.tbl = 'people' AND p.relation = 'child' ORDER BY c.seq")]
        switches = sum(a != b for a, b in zip(order, order[1:], strict=False))
        assert switches >= 2, "the two writers did not overlap: the test proved nothing"


# --- whole-vault operations take the file lock ------------------------------------------------

def test_wipe_is_refused_while_the_lock_is_held(vault: Vault, home: Path) -> None:
    """`store.wipe` must not erase a vault another process is migrating or restoring."""
    vault.close()
    before = tree_bytes(home)
    with file_lock(paths.lock_path(home)):
        with pytest.raises(BusyError):
            store.wipe(home)
    assert tree_bytes(home) == before
    assert keys_of(home).vault_id


def test_close_exits_7_while_the_lock_is_held(vault: Vault, home: Path, tmp_path: Path) -> None:
    """`msante close --yes` while another process holds the vault lock: exit 7, nothing wiped."""
    vault.close()
    pfile = write_secret(tmp_path / "pass", PASSPHRASE)
    with file_lock(paths.lock_path(home)):
        result = run_cli("close", "--yes", env_extra={"MSANTE_PASSPHRASE_FILE": str(pfile)})
    assert result.returncode == ExitCode.BUSY, result.stderr
    assert "Traceback" not in result.stderr
    assert paths.header_path(home).exists() and paths.db_path(home).exists()
    with Vault.open(home, keys_of(home)) as reopened:
        assert reopened.audit.verify().ok


def test_restore_is_refused_while_the_target_lock_is_held(
        home: Path, tmp_path: Path) -> None:
    """A restore into a home that another process is setting up (lock held): exit 7 and no
    vault file written."""
    vault, recovery = make_vault(home)
    out = tmp_path / "b.msb"
    backup.create(vault.store, out)
    vault.close()
    target = tmp_path / "target"
    target.mkdir(mode=0o700)
    rk = write_secret(tmp_path / "rk", recovery)
    with file_lock(paths.lock_path(target)):
        result = run_cli("backup", "restore", str(out), "--recovery-key-file", str(rk),
                         env_extra={"MSANTE_HOME": str(target)})
    assert result.returncode == ExitCode.BUSY, result.stderr
    assert not paths.header_path(target).exists() and not paths.db_path(target).exists()


@pytest.mark.slow
def test_passwd_waits_for_the_lock(vault: Vault, home: Path, tmp_path: Path) -> None:
    """`msante passwd` rewrites the header: while another process holds the lock it must not
    go ahead (it waits, or exits 7); once the lock is free it completes."""
    vault.close()
    before = paths.header_path(home).read_bytes()
    env = dict(os.environ) | {
        "MSANTE_PASSPHRASE_FILE": str(write_secret(tmp_path / "old", PASSPHRASE))}
    args = [sys.executable, "-m", "msante", "passwd", "--new-passphrase-file",
            str(write_secret(tmp_path / "new", NEW_PASSPHRASE)), "--kdf-memory", "16",
            "--kdf-iterations", "2"]
    with file_lock(paths.lock_path(home)):
        proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        time.sleep(1.5)
        code = proc.poll()
        assert code in (None, ExitCode.BUSY)
        assert paths.header_path(home).read_bytes() == before
    _out, err = proc.communicate(timeout=60)
    if code is None:
        assert proc.returncode == 0, err
        assert keys_of(home, NEW_PASSPHRASE).vault_id
    else:
        assert keys_of(home).vault_id


def test_passwd_is_not_undone_by_a_concurrent_writer(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Process B commits a write and starts advancing the chain head (load vault.json …);
    meanwhile process A changes the passphrase; then B saves its header. Afterwards the new
    passphrase must open the vault and the old one must not (people change a passphrase
    because the old one leaked). The interleaving is forced with two threads."""
    vault, _rk = make_vault(home)
    keys = vault.store.keys
    real_load, real_save = header.load, header.save
    passwd_saved = threading.Event()
    armed = {"on": False}
    failures: list[BaseException] = []

    def passwd_elsewhere() -> None:
        try:
            with Vault.open(home, keys) as other:
                store.change_passphrase(other.store, NEW_PASSPHRASE, fast_params())
        except BaseException as exc:  # reported below, not lost in the thread
            failures.append(exc)
            passwd_saved.set()

    worker = threading.Thread(target=passwd_elsewhere)

    def spy_load(base: Path) -> header.Header:
        head = real_load(base)
        if armed["on"] and threading.current_thread() is threading.main_thread():
            armed["on"] = False
            worker.start()
            passwd_saved.wait(3.0)  # a fixed store makes A wait for the lock instead
        return head

    def spy_save(base: Path, head: header.Header) -> None:
        real_save(base, head)
        if threading.current_thread() is worker:
            passwd_saved.set()

    monkeypatch.setattr(header, "load", spy_load)
    monkeypatch.setattr(header, "save", spy_save)
    armed["on"] = True
    with vault.store.write() as tx:  # B: any audited write
        vault.store.log(tx, "test.write")
    worker.join(30)
    monkeypatch.undo()
    vault.close()
    assert not worker.is_alive() and failures == []
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)
    assert keys_of(home, NEW_PASSPHRASE).vault_id == keys.vault_id


def test_a_crash_between_commit_and_head_update_is_harmless(vault: Vault, home: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    """The head in vault.json is advanced after the commit: a crash in between leaves the head
    one entry behind, which must verify (not be taken for tampering) and heal on next write."""
    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # stands for the process dying right after COMMIT

    monkeypatch.setattr(header, "advance_chain", crash)
    with pytest.raises(KeyboardInterrupt):
        vault.people.add("Léo Martin", "2019-04-27", "male")
    monkeypatch.undo()
    head = header.load(home).chain
    count = vault.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    assert head is not None and head.count == count - 1
    assert vault.audit.verify().ok
    vault.people.add("Zoé Martin", "2021-09-01", "female")
    head = header.load(home).chain
    assert head is not None and head.count == count + 1
    assert vault.audit.verify().ok


def test_orphans_of_a_killed_header_write_are_cleaned_on_open(vault: Vault, home: Path) -> None:
    """A SIGKILL inside an atomic header write leaves `.tmp-vault.json-<pid>` (a copy of the
    wrapped keys); a SIGKILL during a backup leaves `.tmp-backup-<pid>.db` (a full copy of the
    database). The next open removes both (their process is gone)."""
    proc = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    dead = proc.stdout.strip()
    (home / f".tmp-vault.json-{dead}").write_bytes(paths.header_path(home).read_bytes())
    (home / f".tmp-backup-{dead}.db").write_bytes(paths.db_path(home).read_bytes())
    vault.close()
    with Vault.open(home, keys_of(home)) as reopened:
        assert reopened.audit.verify().ok
    assert [p.name for p in home.glob(".tmp-*")] == []


# --- a damaged leftover WAL (issue 11, part 8) -----------------------------------------------

def _wal_commit_frames(wal: Path) -> list[int]:
    """The 1-based indexes of the commit frames of the WAL's current generation."""
    import struct

    raw = wal.read_bytes()
    page = struct.unpack(">I", raw[8:12])[0]
    salts = raw[16:24]
    out = []
    for i in range((len(raw) - 32) // (24 + page)):
        at = 32 + i * (24 + page)
        if raw[at + 8:at + 16] == salts and struct.unpack(">I", raw[at + 4:at + 8])[0]:
            out.append(i + 1)
    return out


def _crashed_copy(vault: Vault, home: Path, target: Path, stale_head: bytes) -> int:
    """Copy the vault as a crash leaves it (WAL not checkpointed), with vault.json as it was
    before the last transaction's head update; damage the first frame of that transaction.
    Returns how many committed transactions SQLite will drop."""
    import shutil

    target.mkdir(mode=0o700)
    for name in ("vault.db", "vault.db-wal"):
        shutil.copyfile(home / name, target / name)
    (target / "vault.json").write_bytes(stale_head)
    commits = _wal_commit_frames(target / "vault.db-wal")
    page = int.from_bytes((target / "vault.db-wal").read_bytes()[8:12], "big")
    victim = commits[-2] + 1  # the first frame of the last transaction
    assert victim < commits[-1]  # …which is not its commit frame
    with open(target / "vault.db-wal", "r+b") as f:
        f.seek(32 + (victim - 1) * (24 + page) + 24 + 100)
        byte = f.read(1)
        f.seek(-1, os.SEEK_CUR)
        f.write(bytes([byte[0] ^ 0x40]))
    return 1


def test_a_damaged_wal_frame_is_detected_on_open_even_with_a_lagging_head(
        vault: Vault, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A flipped byte in a frame of a leftover WAL makes SQLite drop that transaction and every
    later one without a word. The crash fell between the last commit and its head update, so
    the head agrees with what is left: only the WAL shows the loss. Open says so, writes are
    refused, and `accept_state` records it."""
    vault.store.conn.execute("PRAGMA wal_autocheckpoint = 0")
    vault.people.add("Léo Martin", "2019-04-27", "male")
    vault.people.add("Zoé Martin", "2021-09-01", "female")
    stale = paths.header_path(home).read_bytes()
    monkeypatch.setattr(header, "advance_chain", lambda *a, **k: None)
    vault.people.add("Lost Twice", "2022-01-01", "male")
    monkeypatch.undo()
    copy = tmp_path / "crashed"
    lost = _crashed_copy(vault, home, copy, stale)
    with Vault.open(copy, keys_of(copy)) as reopened:
        assert "Lost Twice" not in _names(reopened)
        assert reopened.store.problem and "vault.db-wal" in reopened.store.problem
        assert header.load(copy).extra["wal_damage"]["lost_commits"] == lost
        with pytest.raises(IntegrityError):
            reopened.people.add("Hides The Loss", "2020-01-01", "male")
        assert not reopened.audit.verify().ok
        assert not reopened.store.accept_state().ok
        reopened.people.add("After Accepting", "2020-01-01", "male")
        assert reopened.audit.verify().ok
    with Vault.open(copy, keys_of(copy)) as again:
        assert again.store.problem is None


def test_a_wal_left_by_a_clean_crash_is_not_a_loss(vault: Vault, home: Path,
                                                   tmp_path: Path) -> None:
    """A leftover WAL without damage (the usual crash) opens without any finding."""
    import shutil

    vault.store.conn.execute("PRAGMA wal_autocheckpoint = 0")
    vault.people.add("Léo Martin", "2019-04-27", "male")
    copy = tmp_path / "clean"
    copy.mkdir(mode=0o700)
    for name in ("vault.db", "vault.db-wal", "vault.json"):
        shutil.copyfile(home / name, copy / name)
    with Vault.open(copy, keys_of(copy)) as reopened:
        assert reopened.store.problem is None
        assert "Léo Martin" in _names(reopened)


def test_passwd_killed_after_the_header_is_saved_is_still_audited(
        vault: Vault, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """passwd writes vault.json inside its transaction: killed after the header but before the
    commit, the passphrase had changed with no audit entry. The database now notes which
    wrapped keys vault.json holds, so the next open records the change."""
    real_update = header.update

    def update_then_die(base: Path, change: object) -> None:
        real_update(base, change)  # type: ignore[arg-type]
        raise KeyboardInterrupt  # the process dies before COMMIT

    monkeypatch.setattr(header, "update", update_then_die)
    with pytest.raises(KeyboardInterrupt):
        store.change_passphrase(vault.store, NEW_PASSPHRASE, fast_params())
    monkeypatch.undo()
    vault.close()
    with Vault.open(home, keys_of(home, NEW_PASSPHRASE)) as reopened:
        last = next(reopened.audit.entries(limit=1))
        assert (last.action, last.detail) == ("vault.passwd", {"via": "unrecorded"})
        assert reopened.audit.verify().ok
    with Vault.open(home, keys_of(home, NEW_PASSPHRASE)) as again:
        assert next(again.audit.entries(limit=1)).seq == last.seq  # recorded once


def test_a_stale_edit_is_a_conflict_never_a_silent_overwrite(vault: Vault, home: Path,
                                                             passphrase_file: Path) -> None:
    """A TUI form reads an appointment and a profile entry; meanwhile a CLI process edits both.
    Saving the form with the revision it read is a ConflictError (exit 7, "changed meanwhile"),
    and the CLI's edit stays; saved again with the new revision, it goes through."""
    import datetime as dt

    from msante.errors import ConflictError

    owner = vault.people.owner()
    start = dt.datetime(2030, 3, 4, 10, 0, tzinfo=dt.UTC)
    item = vault.agenda.add(owner, "Dentiste", start)
    entry = vault.profile.get(vault.profile.add(owner, "allergies", {"substance": "pollen"}).id)
    env = {"MSANTE_PASSPHRASE_FILE": str(passphrase_file)}
    for args in (("agenda", "edit", item.id, "--title", "Dentiste (CLI)"),
                 ("profile", "edit", "allergies", entry.id, "substance=acariens")):
        done = run_cli(*args, env_extra=env)
        assert done.returncode == 0, done.stderr
    with pytest.raises(ConflictError) as stale:
        vault.agenda.edit(item.id, {"title": "Dentiste (TUI)"}, revision=item.revision)
    assert stale.value.exit_code == ExitCode.BUSY
    with pytest.raises(ConflictError):
        vault.profile.edit(entry.id, {"substance": "chat"}, revision=entry.revision)
    assert vault.agenda.get(item.id).title == "Dentiste (CLI)"
    assert vault.profile.get(entry.id).data["substance"] == "acariens"
    fresh = vault.agenda.get(item.id)
    assert vault.agenda.edit(item.id, {"title": "Dentiste (TUI)"},
                             revision=fresh.revision).title == "Dentiste (TUI)"


def test_every_record_update_names_the_revision_it_read(vault: Vault) -> None:
    """`records.update` and `records.tombstone` refuse a call without the base revision, so no
    new update site can overwrite blindly."""
    from msante.vault import records

    with pytest.raises(TypeError), vault.store.write() as tx:
        records.update(tx, "people", vault.people.owner().id, {"sex": "female"},  # type: ignore[call-arg]
                       device=vault.store.device)
