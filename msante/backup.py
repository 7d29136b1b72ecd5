"""Backups of the whole vault: a streamed, encrypted archive with the same identity and keys.

The archive's envelope carries the vault header (KDF parameters, wrapped vault key, chain
head), so it opens with the passphrase or the recovery key; its payload holds a consistent
snapshot of vault.db (still SQLCipher-encrypted) and the encrypted blobs as they are.
"""

from __future__ import annotations

import base64
import os
import shutil
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from msante import paths
from msante.errors import AlreadyExistsError, IntegrityError, UsageError
from msante.formats import archive
from msante.i18n import _
from msante.vault import crypto, db, header, records
from msante.vault.fsutil import (
    check_new_file,
    file_lock,
    fsync_dir,
    make_private_dir,
    new_private_file,
)
from msante.vault.keys import Keys
from msante.vault.store import Store, vault_exists


def _archive_key_aad(vault_id: str, archive_id: str) -> bytes:
    return crypto.context(purpose="archive-key", vault=vault_id, archive=archive_id)


def snapshot_db(store: Store, target: Path) -> dict[str, int]:
    """A consistent copy of vault.db at `target`, encrypted with the same key; return how many
    live records of each type (by record descriptor) it holds."""
    copy = db.connect(target, store.keys.db, check=False)
    try:
        store.conn.backup(copy)
        counts = records.counts(copy)
    finally:
        copy.close()
    os.chmod(target, 0o600)
    return counts


def create(store: Store, out: Path, *, overwrite: bool = False) -> dict[str, Any]:
    """Write a backup of the whole vault to `out` (a new file, 0600, unless `overwrite`);
    return a summary."""
    check_new_file(out, overwrite=overwrite)
    with store.write() as tx:
        store.log(tx, "backup.create", detail={"file": out.name})
    archive_id, archive_key = str(uuid.uuid4()), crypto.random_key()
    wrapped = crypto.wrap_key(store.keys.derive("backup-wrap"), archive_key,
                              _archive_key_aad(store.keys.vault_id, archive_id))
    env = archive.make_envelope("backup", {
        "archive_id": archive_id, "created": db.now(),
        "vault": header.load(store.base).to_json(),
        "archive_key": base64.b64encode(wrapped).decode()})
    staging = store.base / f".tmp-backup-{os.getpid()}"  # 0700: the snapshot and its -wal/-shm
    make_private_dir(staging)
    try:
        snap = staging / "vault.db"
        held = snapshot_db(store, snap)
        count = _write(out, env, archive_key, store, snap, overwrite)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return {"file": str(out.resolve()), "archive_id": archive_id, "blobs": count,
            "size": out.stat().st_size, "records": held}


def _write(out: Path, env: archive.Envelope, key: bytes, store: Store, snap: Path,
           overwrite: bool) -> int:
    count = 0
    with new_private_file(out, overwrite=overwrite) as f, archive.writer(f, env, key) as tar:
        archive.add_file(tar, "vault.db", snap)
        for blob_id in store.blobs.ids():
            archive.add_file(tar, f"blobs/{blob_id}", store.blobs.path(blob_id))
            count += 1
    return count


def open_envelope(src: BinaryIO) -> archive.Envelope:
    """Read an archive's envelope (to decide how to unlock it)."""
    return archive.read_envelope(src)


def backup_header(env: archive.Envelope) -> header.Header:
    """The vault header carried by a backup archive."""
    import json

    return header.parse(json.dumps(env.data["vault"]).encode())


def restore(src: BinaryIO, env: archive.Envelope, keys: Keys, base: Path) -> Store:
    """Rebuild the vault at `base` (which must hold no vault) from a backup; return it open."""
    if env.kind != "backup":
        raise UsageError(_("This is a handover archive: import it with --merge."))
    if vault_exists(base):
        raise AlreadyExistsError(_("A vault already exists in {path}: restore needs an empty "
                                   "MSANTE_HOME.").format(path=base))
    try:
        wrapped = base64.b64decode(env.data["archive_key"], validate=True)
    except ValueError:
        raise IntegrityError(_("This msante archive is truncated or corrupt.")) from None
    key = crypto.unwrap_key(keys.derive("backup-wrap"), wrapped,
                            _archive_key_aad(keys.vault_id, env.data["archive_id"]))
    created = not base.exists()
    make_private_dir(base)
    staging = base / f".tmp-restore-{os.getpid()}"
    with file_lock(paths.lock_path(base), wait=False):
        try:
            _extract(src, env, key, staging)
            _move_into_place(staging, base, backup_header(env))
        except BaseException:
            _undo_restore(base, staging, created)
            raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return _reopen(base, keys)


def _undo_restore(base: Path, staging: Path, created: bool) -> None:
    """A failed restore leaves nothing: no staging, no lock file, no folder it made."""
    shutil.rmtree(staging, ignore_errors=True)
    paths.lock_path(base).unlink(missing_ok=True)  # still held: no vault, nobody to wait
    if created:
        try:
            base.rmdir()
        except OSError:
            pass


def _extract(src: BinaryIO, env: archive.Envelope, key: bytes, staging: Path) -> None:
    make_private_dir(staging / "blobs")
    with archive.reader(src, env, key) as tar:
        for member in tar:
            name = archive.safe_member(member, ("vault.db", "blobs/"))
            target = staging / "vault.db" if name == "vault.db" else \
                _blob_target(staging, name.split("/", 1)[1])
            _copy_member(tar, member, target)


def _blob_target(staging: Path, blob_id: str) -> Path:
    from msante.vault.blobs import BlobStore

    return BlobStore(staging / "blobs").path(blob_id)


def _copy_member(tar: Any, member: Any, target: Path) -> None:
    make_private_dir(target.parent)
    source = tar.extractfile(member)
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
        out.flush()
        os.fsync(out.fileno())


def _move_into_place(staging: Path, base: Path, head: header.Header) -> None:
    os.replace(staging / "vault.db", paths.db_path(base))
    os.replace(staging / "blobs", paths.blobs_dir(base))
    header.save(base, head)
    fsync_dir(base)


def _reopen(base: Path, keys: Keys) -> Store:
    store = Store.open(base, keys)
    with store.write() as tx:
        tx.execute("UPDATE meta SET value = ? WHERE key = 'device_id'", (str(uuid.uuid4()),))
        store.log(tx, "backup.restore")
    store.device = str(tx.execute("SELECT value FROM meta WHERE key='device_id'").fetchone()[0])
    return store


def unlock_backup(env: archive.Envelope, passphrase: Callable[[], str | None],
                  recovery: str | None, consent: Callable[[str], bool] | None = None) -> Keys:
    """The keys of the vault in a backup, from its recovery key or its passphrase."""
    from msante.vault.store import keys_from_passphrase, keys_from_recovery

    if env.kind != "backup":
        raise UsageError(_("This is a handover archive: import it with --merge."))
    head = backup_header(env)
    if recovery is not None:
        return keys_from_recovery(head, recovery)
    text = passphrase()
    if text is None:
        from msante.errors import LockedError

        raise LockedError(_("No terminal to ask for the backup's passphrase: use "
                            "--passphrase-stdin, MSANTE_PASSPHRASE_FILE or --recovery-key-file."))
    return keys_from_passphrase(head, text, consent)
