"""Tests of msante.vault.blobs: stored files are private, unreadable without their key and
context, atomic under failure, and never overwritten."""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.errors import AlreadyExistsError, IntegrityError, NotFoundError, UsageError
from msante.vault import crypto
from msante.vault.blobs import BlobStore
from msante.vault.crypto import DecryptError

KEY = bytes(range(32))
ID_A = "0a1b2c3d4e5f40718293a4b5c6d7e8f9"
ID_B = "9f8e7d6c5b4a43210f1e2d3c4b5a6978"
SECRET_TEXT = b"Patient: Jeanne Dupont, born 1961-04-02, diagnosis: type 2 diabetes. "


def aad(blob_id: str) -> bytes:
    """The context a blob is bound to, as the documents service will build it."""
    return crypto.context(purpose="blob", space="owner", record=blob_id)


@pytest.fixture
def store(tmp_path: Path) -> BlobStore:
    return BlobStore(tmp_path / "blobs")


def put(store: BlobStore, blob_id: str, data: bytes) -> None:
    store.put(blob_id, KEY, aad(blob_id), io.BytesIO(data))


def read(store: BlobStore, blob_id: str, key: bytes = KEY) -> bytes:
    out = io.BytesIO()
    assert store.read(blob_id, key, aad(blob_id), out) == len(out.getvalue())
    return out.getvalue()


def files_under(root: Path) -> Iterator[Path]:
    return (p for p in root.rglob("*") if p.is_file())


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("size", [0, 1, 3 * (1 << 20) + 5])
def test_put_read_roundtrip(store: BlobStore, size: int) -> None:
    """What goes in comes out, and put() reports the plaintext's size and SHA-256."""
    data = os.urandom(size)
    info = store.put(ID_A, KEY, aad(ID_A), io.BytesIO(data))
    assert info.size == size and info.sha256 == hashlib.sha256(data).hexdigest()
    assert info.stored_size == store.path(ID_A).stat().st_size
    assert read(store, ID_A) == data
    with store.open(ID_A, KEY, aad(ID_A)) as stream:
        assert stream.read() == data


def test_open_closes_the_file(store: BlobStore) -> None:
    """Streaming consumers must not leak descriptors (a ResourceWarning is an error here)."""
    put(store, ID_A, b"abc")
    stream = store.open(ID_A, KEY, aad(ID_A))
    assert stream.read(2) == b"ab"
    stream.close()
    assert stream._src.closed


def test_modes_are_private_whatever_the_umask(tmp_path: Path) -> None:
    """Files 0600 and directories 0700 even under a permissive umask."""
    old = os.umask(0)
    try:
        store = BlobStore(tmp_path / "blobs")
        put(store, ID_A, b"data")
    finally:
        os.umask(old)
    assert mode(store.root) == 0o700
    assert mode(store.path(ID_A).parent) == 0o700
    assert mode(store.path(ID_A)) == 0o600


def test_layout(store: BlobStore) -> None:
    """Blobs fan out by their first two characters, as the design documents."""
    assert store.path(ID_A) == store.root / "0a" / ID_A
    assert store.path("12345678-aaaa-bbbb-cccc-1234567890ab").parent.name == "12"


def test_no_plaintext_on_disk(store: BlobStore) -> None:
    """Nothing of the content appears in any file under the store, in any alignment."""
    put(store, ID_A, SECRET_TEXT * 3000)
    random_data = os.urandom(200_000)
    put(store, ID_B, random_data)
    for path in files_under(store.root):
        stored = path.read_bytes()
        for word in (b"Jeanne", b"Dupont", b"diabetes", b"1961-04-02"):
            assert word not in stored
        for offset in range(0, len(random_data) - 16, 4099):
            assert random_data[offset : offset + 16] not in stored


def test_tampered_byte_detected(store: BlobStore) -> None:
    """A single changed byte anywhere in the file fails to decrypt."""
    put(store, ID_A, SECRET_TEXT * 100)
    path = store.path(ID_A)
    original = path.read_bytes()
    for pos in (0, 5, 20, len(original) // 2, len(original) - 1):
        damaged = bytearray(original)
        damaged[pos] ^= 0x01
        path.write_bytes(bytes(damaged))
        with pytest.raises(IntegrityError if pos < 16 else DecryptError):
            read(store, ID_A)


def test_truncated_file_detected(store: BlobStore) -> None:
    """A blob cut short (full disk, bad copy) is an error, not a shorter document."""
    put(store, ID_A, os.urandom(3 * (1 << 20)))
    path = store.path(ID_A)
    original = path.read_bytes()
    for cut in (len(original) - 1, 16 + (1 << 20) + 16, 16, 10):
        path.write_bytes(original[:cut])
        with pytest.raises(DecryptError):
            read(store, ID_A)


def test_blobs_swapped_on_disk_detected(store: BlobStore) -> None:
    """Exchanging two files on disk fails: each is bound to its own record by the aad,
    even under the same key."""
    put(store, ID_A, b"report A" * 100)
    put(store, ID_B, b"report B" * 100)
    a, b = store.path(ID_A), store.path(ID_B)
    tmp = a.with_name("swap")
    a.rename(tmp)
    b.rename(a)
    tmp.rename(b)
    for blob_id in (ID_A, ID_B):
        with pytest.raises(DecryptError):
            read(store, blob_id)
        with pytest.raises(DecryptError), store.open(blob_id, KEY, aad(blob_id)) as stream:
            stream.read()


def test_wrong_key_detected(store: BlobStore) -> None:
    """Another document's data key does not open this one."""
    put(store, ID_A, b"x" * 10)
    with pytest.raises(DecryptError):
        read(store, ID_A, key=crypto.random_key())


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    """A missing file is a clear NotFoundError naming the id, from read() and open()."""
    with pytest.raises(NotFoundError, match=ID_A):
        read(store, ID_A)
    with pytest.raises(NotFoundError):
        store.open(ID_A, KEY, aad(ID_A))


def test_put_refuses_overwrite(store: BlobStore) -> None:
    """Ids are unique: a second put with the same id fails and keeps the first content."""
    put(store, ID_A, b"first")
    with pytest.raises(AlreadyExistsError):
        put(store, ID_A, b"second")
    assert read(store, ID_A) == b"first"
    assert list(store.root.rglob(".tmp-*")) == []


class FailingSource(io.RawIOBase):
    """A source that dies after some data, like a file on an unplugged USB key."""

    def __init__(self, good: int) -> None:
        super().__init__()
        self._left = good

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._left <= 0:
            raise OSError("device went away")
        n = min(len(buffer), self._left, 100_000)
        buffer[:n] = SECRET_TEXT[:1] * n
        self._left -= n
        return n


def test_failed_put_leaves_nothing(store: BlobStore) -> None:
    """A source failing mid-stream leaves neither a blob nor a temp file behind."""
    with pytest.raises(OSError, match="device went away"):
        store.put(ID_A, KEY, aad(ID_A), FailingSource(3 * (1 << 20)))  # type: ignore[arg-type]
    assert not store.path(ID_A).exists()
    assert list(files_under(store.root)) == []
    put(store, ID_A, b"retry works")
    assert read(store, ID_A) == b"retry works"


def test_clean_temp_removes_crash_leftovers(store: BlobStore) -> None:
    """Temp files of a put killed mid-way are removed at the next open; blobs stay."""
    put(store, ID_A, b"keep me")
    fan = store.path(ID_B).parent
    fan.mkdir(mode=0o700)
    (fan / f".tmp-{ID_B}-dead").write_bytes(b"half written")
    (store.path(ID_A).parent / f".tmp-{ID_A}-dead").write_bytes(b"")
    assert store.clean_temp() == 2
    assert store.clean_temp() == 0
    assert [p.name for p in files_under(store.root)] == [ID_A]


def test_clean_temp_spares_a_put_in_progress(store: BlobStore) -> None:
    """Another process's put (its temp file locked) must not be broken by our clean-up."""
    fan = store.path(ID_B).parent
    fan.mkdir(mode=0o700)
    live = fan / f".tmp-{ID_B}-live"
    with live.open("wb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert store.clean_temp() == 0
        assert live.exists()
    assert store.clean_temp() == 1


def test_ids_lists_blobs_only(store: BlobStore) -> None:
    """ids() lists stored blobs, not temp files nor stray names."""
    put(store, ID_B, b"b")
    put(store, ID_A, b"a")
    (store.path(ID_A).parent / f".tmp-{ID_A}-x").write_bytes(b"")
    (store.root / "README").write_text("not a blob")
    assert list(store.ids()) == [ID_A, ID_B]


def test_delete(store: BlobStore) -> None:
    """delete() removes a blob; deleting a missing one is not an error (purge is idempotent)."""
    put(store, ID_A, b"gone soon")
    store.delete(ID_A)
    assert not store.path(ID_A).exists() and list(store.ids()) == []
    store.delete(ID_A)


@pytest.mark.parametrize("bad", ["", "abc", "../../etc/passwd", "ABCDEF0123", "0a1b2c3d/..",
                                 "0a1b2c3d\n", "g" * 10, "a" * 65])
def test_invalid_ids_refused(store: BlobStore, bad: str) -> None:
    """Ids become paths: anything but the expected characters is refused before any I/O."""
    with pytest.raises(UsageError):
        store.path(bad)
    with pytest.raises(UsageError):
        store.put(bad, KEY, b"", io.BytesIO(b""))
