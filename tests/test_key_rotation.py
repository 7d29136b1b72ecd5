"""Attacks on `msante passwd --rotate-keys`: a leaked old passphrase, an old vault.json, an old
backup, a stale agent key, and a rotation cut short half-way."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from msante import backup, paths
from msante.api import Vault
from msante.errors import IntegrityError, WrongKeyError
from msante.formats import archive
from msante.vault import db, header, rotation, store
from tests import pdfgen
from tests.conftest import PASSPHRASE
from tests.helpers_vault import keys_of, tree_bytes, write_secret

NEW = "copper lagoon thistle beacon 4"


def _pdf(name: str) -> bytes:
    return pdfgen.lab_report() if name == "old.pdf" else pdfgen.lab_report(patient="Léo Martin")


def _doc(cli, pfile: Path, folder: Path, name: str) -> str:
    path = folder / name
    path.write_bytes(_pdf(name))
    r = cli("doc", "import", path, "--json", pfile=pfile)
    assert r.code == 0, r.err
    return str(r.lines()[0]["id"])


@pytest.fixture
def rotated(cli, made: Path, home: Path, tmp_path: Path) -> dict:
    """A vault with a document and a backup, whose keys were then rotated through the CLI."""
    old_doc = _doc(cli, made, tmp_path, "old.pdf")
    old_backup = tmp_path / "old.msb"
    assert cli("backup", "create", "--out", old_backup, pfile=made).code == 0
    before = {"header": paths.header_path(home).read_bytes(), "blobs": tree_bytes(home / "blobs"),
              "keys": keys_of(home)}
    new_file = write_secret(tmp_path / "new.pass", NEW)
    r = cli("passwd", "--rotate-keys", "--new-passphrase-file", new_file, "--kdf-memory", "16",
            "--kdf-iterations", "2", "--json", pfile=made)
    assert r.code == 0, r.err
    new_doc = _doc(cli, new_file, tmp_path, "new.pdf")
    return before | {"recovery": r.json()["recovery_key"], "new_file": new_file,
                     "old_backup": old_backup, "old_doc": old_doc, "new_doc": new_doc,
                     "old_recovery": (made.parent / "rk").read_text().strip()}


def test_an_old_header_and_the_old_passphrase_no_longer_open_the_database(
        rotated: dict, home: Path) -> None:
    """The leak `passwd` cannot revoke: old vault.json + old passphrase give the old vault key;
    after rotation that key opens neither the database nor anything added since."""
    old_keys = store.keys_from_passphrase(header.parse(rotated["header"]), PASSPHRASE)
    assert old_keys.vault_key == rotated["keys"].vault_key
    with pytest.raises(IntegrityError):
        db.connect(paths.db_path(home), old_keys.db)
    with pytest.raises(WrongKeyError):
        Vault.open(home, old_keys)


def test_old_passphrase_and_old_recovery_key_are_refused_new_ones_work(
        rotated: dict, home: Path) -> None:
    """The current vault.json opens only with the new passphrase and the new recovery key."""
    with pytest.raises(WrongKeyError):
        store.unlock_with_passphrase(home, PASSPHRASE)
    with pytest.raises(WrongKeyError):
        store.unlock_with_recovery(home, rotated["old_recovery"])
    new_keys = keys_of(home, NEW)
    assert new_keys.vault_key != rotated["keys"].vault_key
    assert store.unlock_with_recovery(home, rotated["recovery"]).vault_key == new_keys.vault_key


def test_rotation_keeps_the_data_the_history_and_the_blobs(
        rotated: dict, home: Path, tmp_path: Path) -> None:
    """Blobs are not rewritten, every document still reads back, the chain verifies under the
    new key and the rotation is one entry of it."""
    blobs_now = tree_bytes(home / "blobs")
    assert all(blobs_now[name] == data for name, data in rotated["blobs"].items())
    with Vault.open(home, keys_of(home, NEW)) as vault:
        for doc_id, name in ((rotated["old_doc"], "old.pdf"), (rotated["new_doc"], "new.pdf")):
            doc = vault.documents.get(doc_id)
            out = vault.documents.export(doc, tmp_path / f"out-{name}")
            assert out.read_bytes() == _pdf(name)
        assert vault.audit.verify().ok
        actions = [e.action for e in vault.audit.entries()]
        assert actions.count(rotation.ACTION) == 1
    assert "rotation" not in json.loads(paths.header_path(home).read_bytes())


def test_an_old_backup_opens_only_itself(rotated: dict, home: Path) -> None:
    """The old backup still opens with the old passphrase (it is a copy of the old vault), but
    its key does not open the current database, and a new backup needs the new key."""
    with rotated["old_backup"].open("rb") as src:
        env = backup.open_envelope(src)
        old_keys = backup.unlock_backup(env, lambda: PASSPHRASE, None)
    with pytest.raises(IntegrityError):
        db.connect(paths.db_path(home), old_keys.db)


def test_a_stale_agent_key_is_told_to_unlock_again(rotated: dict, home: Path, cli) -> None:
    """An agent still holding the old key gets a clear 'wrong key' (exit 4), not 'corrupt'."""
    with pytest.raises(WrongKeyError, match="rotated"):
        Vault.open(home, rotated["keys"])


def test_a_rotation_cut_after_the_header_is_finished_by_the_next_open(
        cli, made: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after vault.json holds the new key but before the database commit: the next open
    with the new passphrase finishes the rotation (rewrap, chain, rekey) instead of finding a
    database that no key opens."""
    def crash(*args: object) -> None:
        raise KeyboardInterrupt

    with Vault.open(home, keys_of(home)) as vault:
        monkeypatch.setattr(rotation, "finish", crash)
        with pytest.raises(KeyboardInterrupt):
            rotation.rotate(vault.store, NEW, _fast())
        monkeypatch.undo()
    assert rotation.pending(header.load(home))
    with Vault.open(home, keys_of(home, NEW)) as vault:
        assert vault.audit.verify().ok
        assert next(vault.audit.entries(limit=1)).action == rotation.ACTION
        assert vault.people.owner().name == "Camille Martin"
    assert not rotation.pending(header.load(home))


def test_a_rotation_cut_after_the_rekey_is_settled_by_the_next_open(
        made: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Killed after the database commit but before vault.json drops its marker: the next
    open records the head under the new key and the history verifies."""
    with Vault.open(home, keys_of(home)) as vault:
        monkeypatch.setattr(rotation, "settle", lambda *a: (_ for _ in ()).throw(OSError()))
        with pytest.raises(OSError):
            rotation.rotate(vault.store, NEW, _fast())
        monkeypatch.undo()
    with Vault.open(home, keys_of(home, NEW)) as vault:
        assert vault.audit.verify().ok
    assert not rotation.pending(header.load(home))


def test_the_old_key_cannot_finish_a_cut_rotation(
        made: Path, home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """During the cut state the old key (an agent's) is refused, never used to settle."""
    old = keys_of(home)
    with Vault.open(home, old) as vault:
        monkeypatch.setattr(rotation, "finish", lambda *a: (_ for _ in ()).throw(OSError()))
        with pytest.raises(OSError):
            rotation.rotate(vault.store, NEW, _fast())
        monkeypatch.undo()
    with pytest.raises(WrongKeyError):
        Vault.open(home, old)
    assert rotation.pending(header.load(home))


def test_rotation_refuses_a_tampered_history(made: Path, home: Path) -> None:
    """Re-MACing the chain must not launder an edited entry: rotation refuses (exit 6)."""
    with Vault.open(home, keys_of(home)) as vault:
        vault.store.conn.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 1")
        with pytest.raises(IntegrityError):
            rotation.rotate(vault.store, NEW, _fast())
    assert not rotation.pending(header.load(home))
    assert keys_of(home).vault_id


def test_recovery_key_file_goes_with_rotation_only(cli, made: Path, tmp_path: Path) -> None:
    """--recovery-key-file without --rotate-keys is a usage error that changes nothing."""
    new_file = write_secret(tmp_path / "new.pass", NEW)
    r = cli("passwd", "--new-passphrase-file", new_file, "--recovery-key-file",
            tmp_path / "rk2", pfile=made)
    assert r.code == 2
    assert not (tmp_path / "rk2").exists()
    assert archive  # the archive module is imported by backups (keeps the import honest)


def _fast():
    from tests.helpers_vault import fast_params

    return fast_params()


@pytest.mark.slow
def test_kill_9_at_any_moment_of_a_rotation_leaves_a_vault_one_passphrase_opens(
        made: Path, home: Path, tmp_path: Path) -> None:
    """SIGKILL at random moments of `passwd --rotate-keys` (the precise windows are covered by
    the two "cut" tests above): afterwards one of the two passphrases opens the vault, the
    history verifies and no rotation is left half-done."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    current, other = made, write_secret(tmp_path / "other.pass", NEW)
    texts = {made: PASSPHRASE, other: NEW}
    rng = random.Random(8)
    full = None
    for _round in range(10):
        env = dict(os.environ, MSANTE_PASSPHRASE_FILE=str(current))
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "msante", "passwd", "--rotate-keys", "--new-passphrase-file",
             str(other), "--kdf-memory", "16", "--kdf-iterations", "2", "--json"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if full is None:  # the first run goes to the end: how long a rotation takes here
            proc.wait()
            full = time.monotonic() - started
        else:  # later runs die in the last half, where the rotation itself runs
            time.sleep(rng.uniform(0.5, 1.0) * full)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        try:
            keys = keys_of(home, texts[other])
            current, other = other, current
        except WrongKeyError:
            keys = keys_of(home, texts[current])
        with Vault.open(home, keys) as vault:
            assert vault.audit.verify().ok
            assert vault.people.owner().name == "Camille Martin"
        assert not rotation.pending(header.load(home))
