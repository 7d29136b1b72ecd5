"""Per-file data keys: wrapped by the space key and bound to space, record, revision and blob;
every swap an attacker with the database could make must fail to decrypt."""

from __future__ import annotations

import io

import pytest

from msante.errors import DecryptError
from msante.vault import files

CONTENT = "Compte rendu : glycémie à jeun 0,95 g/L — œdème résorbé.".encode() * 500


def _seal(vault, space: str, record: str, revision: int = 1, data: bytes = CONTENT):
    sealed = files.seal(vault.store, space, record, revision, io.BytesIO(data))
    return files.FileRef(space, record, revision, sealed.blob_id, sealed.wrapped_key), sealed


def _read(vault, ref) -> bytes:
    out = io.BytesIO()
    files.read(vault.store, ref, out)
    return out.getvalue()


@pytest.fixture
def two(vault):
    """The owner and a child, each with a space."""
    child = vault.people.add("Léo", "2019-04-27", "male")
    return vault.people.owner().id, child.id


def test_round_trip_and_plaintext_hash(vault, two):
    """A sealed file reads back byte for byte; the info carries its SHA-256 and size."""
    import hashlib

    ref, sealed = _seal(vault, two[0], "rec-1")
    assert _read(vault, ref) == CONTENT
    assert sealed.info.sha256 == hashlib.sha256(CONTENT).hexdigest()
    assert sealed.info.size == len(CONTENT)
    assert CONTENT[:40] not in vault.store.blobs.path(sealed.blob_id).read_bytes()


@pytest.mark.parametrize("change", ["space", "record", "revision", "key-of-other-file",
                                    "blob-of-other-file"])
def test_every_swap_fails_to_decrypt(vault, two, change):
    """Moving a wrapped key or a blob to another space, record, revision or file is detected."""
    owner, child = two
    ref, _ = _seal(vault, owner, "rec-1")
    other, _ = _seal(vault, owner, "rec-2", data=b"another file" * 100)
    moved = {
        "space": files.FileRef(child, ref.record, ref.revision, ref.blob_id, ref.wrapped_key),
        "record": files.FileRef(owner, "rec-2", ref.revision, ref.blob_id, ref.wrapped_key),
        "revision": files.FileRef(owner, ref.record, 2, ref.blob_id, ref.wrapped_key),
        "key-of-other-file": files.FileRef(owner, ref.record, 1, ref.blob_id,
                                           other.wrapped_key),
        "blob-of-other-file": files.FileRef(owner, ref.record, 1, other.blob_id,
                                            ref.wrapped_key),
    }[change]
    with pytest.raises(DecryptError):
        _read(vault, moved)


def test_a_new_revision_rewraps_the_key_and_the_old_wrapping_is_refused(vault, two):
    """After rewrap for revision 2 the file reads at revision 2; the old wrapping does not."""
    ref, _ = _seal(vault, two[0], "rec-1")
    wrapped2 = files.rewrap(vault.store, ref, 2)
    assert _read(vault, files.FileRef(ref.space, ref.record, 2, ref.blob_id, wrapped2)) == CONTENT
    with pytest.raises(DecryptError):
        _read(vault, files.FileRef(ref.space, ref.record, 2, ref.blob_id, ref.wrapped_key))


def test_truncated_and_tampered_blobs_are_detected(vault, two):
    """A blob cut short or with one flipped byte fails to read."""
    ref, sealed = _seal(vault, two[0], "rec-1")
    path = vault.store.blobs.path(sealed.blob_id)
    original = path.read_bytes()
    path.write_bytes(original[:-100])
    with pytest.raises(DecryptError):
        _read(vault, ref)
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 1
    path.write_bytes(bytes(flipped))
    with pytest.raises(DecryptError):
        _read(vault, ref)


def test_erasing_the_space_key_makes_the_file_unreadable(vault, two):
    """Removing a person erases their space key: their files can no longer be decrypted."""
    from msante.errors import NotFoundError

    ref, _ = _seal(vault, two[1], "rec-1")
    vault.people.remove(two[1])
    with pytest.raises(NotFoundError):
        _read(vault, ref)


def test_blobs_of_a_batch_that_never_committed_are_removed_on_next_open(vault, two):
    """A crash after writing blobs but before the transaction that references them leaves a
    journal; the next open removes those blobs (and only those)."""
    import subprocess
    import sys

    journal = files.PendingBlobs(vault.store)
    orphan = files.seal(vault.store, two[0], "rec-x", 1, io.BytesIO(b"never committed"),
                        journal=journal)
    kept = files.seal(vault.store, two[0], "rec-y", 1, io.BytesIO(b"committed"),
                      journal=journal)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    dead_journal = journal.path.with_name(f".pending-{dead}-0000")
    journal.path.rename(dead_journal)
    removed = files.recover_pending(vault.store, lambda blob: blob == kept.blob_id)
    assert removed == 1 and not dead_journal.exists()
    assert not vault.store.blobs.path(orphan.blob_id).exists()
    assert vault.store.blobs.path(kept.blob_id).exists()


def test_a_live_writers_journal_is_left_alone(vault, two):
    """Another process importing right now: its pending blobs are not touched."""
    journal = files.PendingBlobs(vault.store)
    sealed = files.seal(vault.store, two[0], "rec-x", 1, io.BytesIO(b"in flight"),
                        journal=journal)
    assert files.recover_pending(vault.store, lambda blob: False) == 0
    assert vault.store.blobs.path(sealed.blob_id).exists()
    journal.clear()
