"""The encrypted file store: one encrypted stream (see crypto.py) per stored file.

Layout: ``root/ab/<blob_id>`` for an id starting with "ab"; directories 0700, files 0600.
A put writes a locked temp file ``.tmp-<id>-<random>`` next to its target, fsyncs it, renames
it into place and fsyncs the directory, so a crash leaves either no blob or the whole blob;
clean_temp() removes the temp files whose writer is gone (their lock is free).
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, NamedTuple, cast

from msante.errors import AlreadyExistsError, NotFoundError, UsageError
from msante.i18n import _
from msante.vault.crypto import DecryptingReader, decrypt_stream, encrypt_stream

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

_ID = re.compile(r"[0-9a-f-]{8,64}")
_TEMP_PREFIX = ".tmp-"


class BlobInfo(NamedTuple):
    """What put() learnt while storing a file (a named tuple: a dataclass costs start-up)."""

    size: int
    sha256: str  # hex digest of the plaintext
    stored_size: int  # bytes on disk, header and tags included


class _Hashing(io.RawIOBase):
    """A reader that hashes what passes through it, without copying."""

    def __init__(self, src: BinaryIO) -> None:
        super().__init__()
        self._src = src
        self.sha256 = hashlib.sha256()

    def readable(self) -> bool:
        """Always true."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Read from the source into `buffer` and hash it."""
        view = memoryview(buffer).cast("B")
        readinto = getattr(self._src, "readinto", None)
        if readinto is not None:
            n = readinto(view) or 0
        else:
            chunk = self._src.read(len(view))
            n = len(chunk)
            view[:n] = chunk
        self.sha256.update(view[:n])
        return n


def _libc() -> Any:
    """The C library (for syncfs), or None where ctypes cannot load it."""
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _fsync_dir(path: Path) -> None:
    """Make a directory's entries (a rename, a new file) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _make_private_dir(path: Path, *, parents: bool = False, durable: bool = True) -> None:
    """Create `path` 0700 whatever the umask, and make its entry durable (now, or at `sync`)."""
    try:
        path.mkdir(mode=0o700, parents=parents)
    except FileExistsError:
        return
    os.chmod(path, 0o700)
    if durable:
        _fsync_dir(path.parent)


def _create_locked(path: Path) -> BinaryIO:
    """A new 0600 file, locked while we write it so that clean_temp leaves it alone."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
    try:
        os.fchmod(fd, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return os.fdopen(fd, "wb")
    except BaseException:
        os.close(fd)
        raise


class BlobStore:
    """Encrypted files under one directory, each bound to its key and context (`aad`)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        _make_private_dir(root, parents=True)

    def path(self, blob_id: str) -> Path:
        """Where the blob `blob_id` lives."""
        if not isinstance(blob_id, str) or not _ID.fullmatch(blob_id):
            raise UsageError(_("not a valid stored file id: {id!r}").format(id=blob_id))
        return self.root / blob_id[:2] / blob_id

    def put(self, blob_id: str, key: bytes, aad: bytes, src: BinaryIO, *,
            durable: bool = True) -> BlobInfo:
        """Encrypt `src` into a new blob, atomically; never overwrites one.

        With `durable` False the blob is not flushed to disk one by one: a batch writer calls
        `sync()` once before committing the rows that reference its blobs.
        """
        target = self.path(blob_id)
        self._refuse_existing(target)
        _make_private_dir(target.parent, durable=durable)
        temp = target.with_name(f"{_TEMP_PREFIX}{blob_id}-{os.urandom(4).hex()}")
        try:
            info = self._write(temp, target, key, aad, src, durable)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        if durable:
            _fsync_dir(target.parent)
        return info

    def sync(self) -> None:
        """Flush every blob written without `durable` (one file-system sync, not one each)."""
        fd = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
        try:
            syncfs = getattr(_libc(), "syncfs", None)
            if syncfs is None or syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def _write(self, temp: Path, target: Path, key: bytes, aad: bytes, src: BinaryIO,
               durable: bool = True) -> BlobInfo:
        hashing = _Hashing(src)
        with _create_locked(temp) as out:
            size = encrypt_stream(key, aad, cast(BinaryIO, hashing), out)
            out.flush()
            if durable:
                os.fsync(out.fileno())
            info = BlobInfo(size, hashing.sha256.hexdigest(), out.tell())
            self._refuse_existing(target)
            os.replace(temp, target)  # still locked: clean_temp cannot take it meanwhile
        return info

    def _refuse_existing(self, target: Path) -> None:
        if os.path.lexists(target):
            raise AlreadyExistsError(_("stored file {id} already exists").format(id=target.name))

    def read(self, blob_id: str, key: bytes, aad: bytes, dst: BinaryIO) -> int:
        """Decrypt a blob into `dst` (discard `dst` on DecryptError); return its size."""
        with self._open_file(blob_id) as src:
            return decrypt_stream(key, aad, src, dst)

    def open(self, blob_id: str, key: bytes, aad: bytes) -> DecryptingReader:
        """A readable plaintext stream of a blob (a context manager; closes the file)."""
        src = self._open_file(blob_id)
        try:
            return DecryptingReader(key, aad, src, close_src=True)
        except BaseException:
            src.close()
            raise

    def _open_file(self, blob_id: str) -> BinaryIO:
        try:
            return self.path(blob_id).open("rb")
        except FileNotFoundError:
            raise NotFoundError(_("stored file {id} is missing").format(id=blob_id)) from None

    def delete(self, blob_id: str) -> None:
        """Remove a blob if it is there."""
        target = self.path(blob_id)
        try:
            target.unlink()
        except FileNotFoundError:
            return
        _fsync_dir(target.parent)

    def ids(self) -> Iterator[str]:
        """The ids of the stored blobs, sorted."""
        for fan in sorted(self.root.iterdir()):
            if len(fan.name) == 2 and fan.is_dir():
                names = (p.name for p in fan.iterdir())
                yield from sorted(n for n in names if _ID.fullmatch(n) and n[:2] == fan.name)

    def clean_temp(self) -> int:
        """Remove temp files left by a crashed put; return how many."""
        return sum(_remove_abandoned(temp) for temp in self.root.glob(f"*/{_TEMP_PREFIX}*"))


def _remove_abandoned(temp: Path) -> bool:
    """Remove `temp` unless a live put still holds its lock."""
    try:
        fd = os.open(temp, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    try:
        temp.unlink(missing_ok=True)
    finally:
        os.close(fd)
    _fsync_dir(temp.parent)
    return True
