"""Stored files, each under its own random data key wrapped by its person's space key.

The wrapped key lives in the owning record's row (a document, later); the blob on disk is the
file encrypted with the segmented AEAD. The wrapped key is bound by associated data to the
space, the record, the record's revision and the blob; the blob to the space, the record and
itself (its content never changes, so each new revision of the record rewraps only the key).
Swapping two files, two people's files, or a wrapped key of another revision fails to decrypt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from msante.vault import crypto, records, spaces
from msante.vault.blobs import BlobInfo
from msante.vault.crypto import DecryptingReader
from msante.vault.store import Store


@dataclass(frozen=True)
class SealedFile:
    """What the owning record keeps of a stored file."""

    blob_id: str
    wrapped_key: bytes
    info: BlobInfo


@dataclass(frozen=True)
class FileRef:
    """Where a stored file belongs: its space, record and revision, and its blob."""

    space: str
    record: str
    revision: int
    blob_id: str
    wrapped_key: bytes

    def key_aad(self) -> bytes:
        """Associated data of the wrapped data key."""
        return _aad("file-key", self.space, self.record, self.revision, self.blob_id)

    def blob_aad(self) -> bytes:
        """Associated data of the blob's stream (content never changes: no revision)."""
        return crypto.context(purpose="file-content", space=self.space, record=self.record,
                              blob=self.blob_id)


def _aad(purpose: str, space: str, record: str, revision: int, blob_id: str) -> bytes:
    return crypto.context(purpose=purpose, space=space, record=record, revision=revision,
                          blob=blob_id)


def seal(store: Store, space: str, record: str, revision: int, src: BinaryIO, *,
         journal: PendingBlobs | None = None, space_key: bytes | None = None) -> SealedFile:
    """Encrypt `src` into a new blob under a fresh data key wrapped by the space key.

    With a `journal`, the blob is noted there first, so that a crash before the transaction
    that references it commits leaves no orphan after the next open; the caller then batches:
    the blob is not flushed alone but by `journal.sync()` before the commit. A batch may also
    pass the `space_key` it unwrapped once.
    """
    blob_id = records.new_id().replace("-", "")
    if journal is not None:
        journal.add(blob_id)
    data_key = crypto.random_key()
    ref = FileRef(space, record, revision, blob_id, b"")
    info = store.blobs.put(blob_id, data_key, ref.blob_aad(), src, durable=journal is None)
    skey = space_key if space_key is not None else spaces.key(store.conn, store.keys, space)
    wrapped = crypto.wrap_key(skey, data_key, ref.key_aad())
    return SealedFile(blob_id, wrapped, info)


def data_key(store: Store, ref: FileRef) -> bytes:
    """The file's data key (DecryptError if the wrapped key was moved or tampered with)."""
    return crypto.unwrap_key(spaces.key(store.conn, store.keys, ref.space), ref.wrapped_key,
                             ref.key_aad())


def read(store: Store, ref: FileRef, dst: BinaryIO) -> int:
    """Decrypt the file into `dst` (discard `dst` on DecryptError); return its size."""
    return store.blobs.read(ref.blob_id, data_key(store, ref), ref.blob_aad(), dst)


def open_stream(store: Store, ref: FileRef) -> DecryptingReader:
    """A readable stream of the file's plaintext, authenticated as it is read."""
    return store.blobs.open(ref.blob_id, data_key(store, ref), ref.blob_aad())


def rewrap(store: Store, ref: FileRef, new_revision: int) -> bytes:
    """The data key wrapped for the record's next revision (the blob is unchanged)."""
    key = data_key(store, ref)
    moved = FileRef(ref.space, ref.record, new_revision, ref.blob_id, b"")
    return crypto.wrap_key(spaces.key(store.conn, store.keys, ref.space), key, moved.key_aad())


class PendingBlobs:
    """A journal of blobs written before the transaction that references them commits.

    A crash between the two would leave blobs nobody references; the next open removes them
    (`recover_pending`). Use one per batch: `add` each blob id before writing it, `clear`
    after the commit.
    """

    def __init__(self, store: Store) -> None:
        import os
        import secrets

        self.store = store
        self.path = store.blobs.root / f".pending-{os.getpid()}-{secrets.token_hex(4)}"
        self._noted = False

    def add(self, blob_id: str) -> None:
        """Note a blob about to be written (appended and handed to the OS before it is)."""
        import os

        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as journal:
            journal.write(blob_id.encode() + b"\n")
        self._noted = True

    def sync(self) -> None:
        """Make the noted blobs durable (before the transaction that references them)."""
        if self._noted:
            self.store.blobs.sync()

    def clear(self) -> None:
        """Forget the noted blobs: their transaction committed (or they were removed)."""
        self.path.unlink(missing_ok=True)
        self._noted = False

    def discard(self, referenced: Callable[[str], bool]) -> None:
        """Remove the noted blobs that no record references (their transaction failed), then
        forget them."""
        if self.path.exists():
            for line in self.path.read_text("ascii", errors="replace").split():
                if not referenced(line):
                    self.store.blobs.delete(line)
        self.clear()


def recover_pending(store: Store, referenced: Callable[[str], bool]) -> int:
    """Remove blobs noted by a process that died before committing them; return how many."""
    import re

    from msante.vault.fsutil import process_running

    removed = 0
    for journal in store.blobs.root.glob(".pending-*"):
        match = re.match(r"\.pending-(\d+)-", journal.name)
        if not match or process_running(int(match.group(1))):
            continue
        for line in journal.read_text("ascii", errors="replace").split():
            if not referenced(line):
                store.blobs.delete(line)
                removed += 1
        journal.unlink(missing_ok=True)
    return removed
