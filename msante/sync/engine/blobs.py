"""Documents' blobs between devices: the local ciphertext file, as it is, in chunks.

A blob is encrypted once, on the device that imported the file (the STREAM AEAD of
msante.vault.crypto, bound to the space, the record and the blob id — the same on every
device), so it travels as it is: never decrypted and re-encrypted. Up: chunks of at most
CHUNK bytes, the ones the server already has with the same size and SHA-256 skipped (an
interrupted upload resumes). Down: into a partial file beside the blob store, resumed from
the last whole chunk, then checked against the size and SHA-256 the signed item names (a
truncated, reordered or swapped blob is refused and never stored) and moved into place.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from msante.errors import IntegrityError, ServerNotFound
from msante.i18n import _
from msante.sync.client import Client
from msante.vault.files import PendingBlobs
from msante.vault.store import Store

CHUNK = 4 * 1024 * 1024
"""Bytes per chunk (the server's limit)."""

Progress = Callable[[str, int, int], None]


def _chunks(client: Client, space: str, blob: str) -> dict[int, dict[str, object]]:
    """The chunks the server has of a blob, by index (none: an empty dict)."""
    try:
        return {int(str(c.get("index"))): c for c in client.blob_info(space, blob)}
    except ServerNotFound:
        return {}


def upload(store: Store, client: Client, space: str, blob: str,
           progress: Progress | None = None) -> int:
    """Send a blob's missing chunks; 1 if any was sent, 0 if the server had them all.

    A first attempt sends every chunk without asking (one request a chunk); a marker file
    beside the blob store says an attempt was cut, and only then are the server's chunks
    listed (`blob_info`) so that the ones it has are skipped.
    """
    path = store.blobs.path(blob)
    size = path.stat().st_size
    marker = _partial(store, blob).with_suffix(".up")
    have = _chunks(client, space, blob) if marker.exists() else {}
    marker.touch(mode=0o600)
    sent = done = 0
    with path.open("rb") as src:
        index = 0
        while data := src.read(CHUNK):
            old = have.get(index)
            if not (old and old.get("size") == len(data)
                    and old.get("sha256") == hashlib.sha256(data).digest()):
                client.put_chunk(space, blob, index, data)
                sent += 1
            done += len(data)
            if progress is not None:
                progress(blob, done, size)
            index += 1
    marker.unlink(missing_ok=True)
    return 1 if sent else 0


def _resume(client: Client, space: str, blob: str, have: int) -> tuple[int, int]:
    """Where a cut download resumes: the index and offset of the first chunk not wholly in
    the partial file (the server's chunk sizes, listed only then)."""
    try:
        chunks = _chunks(client, space, blob)
        sizes = [int(str(chunks[i].get("size"))) for i in range(len(chunks))]
    except (KeyError, ValueError):
        raise _refuse(blob, _("with chunks missing")) from None
    index = offset = 0
    while index < len(sizes) and offset + sizes[index] <= have:
        offset += sizes[index]
        index += 1
    return index, offset


def _partial(store: Store, blob: str) -> Path:
    folder = store.blobs.root / ".sync"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder / f"{blob}.part"


def _refuse(blob: str, why: str) -> IntegrityError:
    return IntegrityError(_("The server served document file {blob} {why}: refused, nothing "
                            "was stored.").format(blob=blob, why=why))


def digest_of(path: Path) -> tuple[int, str]:
    """A file's size and SHA-256 (hex)."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def download(store: Store, client: Client, space: str, blob: str, size: int, sha256: str,
             journal: PendingBlobs, progress: Progress | None = None) -> bool:
    """Fetch a blob into the blob store unless it is there; True if it was fetched.

    IntegrityError when what the server serves is not the blob the signed item names.
    """
    target = store.blobs.path(blob)
    if target.exists():
        if digest_of(target) != (size, sha256):
            raise _refuse(blob, _("differently than the copy already here"))
        return False
    partial = _partial(store, blob)
    have = partial.stat().st_size if partial.exists() else 0
    index, offset = _resume(client, space, blob, have) if have else (0, 0)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT, 0o600)
    with os.fdopen(fd, "r+b") as out:
        out.truncate(offset)
        out.seek(offset)
        while offset < size:
            try:
                data = client.get_chunk(space, blob, index)
            except ServerNotFound:
                raise _refuse(blob, _("with chunks missing")) from None
            if len(data) != min(CHUNK, size - offset):
                raise _refuse(blob, _("with a chunk of the wrong size"))
            out.write(data)
            offset += len(data)
            index += 1
            if progress is not None:
                progress(blob, offset, size)
        out.flush()
        os.fsync(out.fileno())
    if digest_of(partial) != (size, sha256):
        partial.unlink(missing_ok=True)
        raise _refuse(blob, _("altered, reordered or swapped"))
    journal.add(blob)
    target.parent.mkdir(mode=0o700, exist_ok=True)
    os.replace(partial, target)
    return True
