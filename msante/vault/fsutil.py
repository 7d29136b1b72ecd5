"""Small file-system helpers: atomic private writes, directory fsync, file locks."""

from __future__ import annotations

import errno
import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from msante.errors import AlreadyExistsError, BusyError, UsageError
from msante.i18n import _


def fsync_dir(path: Path) -> None:
    """Flush a directory entry change (create, rename, unlink) to disk."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically (temp file, fsync, rename), mode 0600."""
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def cannot_write(path: Path, exc: OSError) -> UsageError:
    """The one message for a file that cannot be written (a missing or closed folder…)."""
    return UsageError(_("Cannot write {path}: {error}").format(
        path=path, error=exc.strerror or exc))


def check_new_file(path: Path, *, overwrite: bool = False) -> None:
    """Refuse to write `path` when it is a folder, exists (unless `overwrite`) or its folder
    does not exist; the same words as a write that fails."""
    if path.is_dir():
        raise cannot_write(path, IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR)))
    if not overwrite and (path.exists() or path.is_symlink()):
        raise AlreadyExistsError(_("{path} already exists: choose a new file.").format(path=path))
    if not path.parent.is_dir():
        raise cannot_write(path, FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT)))


@contextmanager
def new_private_file(path: Path, *, overwrite: bool = False) -> Iterator[BinaryIO]:
    """Write a new file (0600) that appears whole or not at all, and never replaces another
    (unless `overwrite`: then it replaces it in one rename).

    The bytes go to a temp file in the same directory, fsynced, then hard-linked to `path`
    (which fails if `path` exists) — so a crash or an error leaves no partial file behind.
    A folder that is missing or closed is a UsageError ("Cannot write …"), for every writer.
    """
    check_new_file(path, overwrite=overwrite)
    tmp = path.with_name(f".tmp-{path.name}-{os.getpid()}")
    note_temp_dir(path.parent)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise cannot_write(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        _put_in_place(tmp, path, overwrite)
    finally:
        tmp.unlink(missing_ok=True)
    fsync_dir(path.parent)


def _put_in_place(tmp: Path, path: Path, overwrite: bool) -> None:
    try:
        os.replace(tmp, path) if overwrite else _link_new(tmp, path)
    except AlreadyExistsError:
        raise
    except OSError as exc:
        raise cannot_write(path, exc) from None


TEMP_JOURNAL: list[Path] = []
"""Where `note_temp_dir` records the folders this process writes temporaries into (set by
`Store.open` to the vault's folder), so that a later start can remove them after a kill."""


def note_temp_dir(folder: Path) -> None:
    """Record that this process may leave `.tmp-…-PID` files in `folder` if it is killed."""
    if not TEMP_JOURNAL:
        return
    journal = TEMP_JOURNAL[0] / f".tmp-outputs-{os.getpid()}"
    line = os.fsencode(folder.resolve()) + b"\n"
    try:
        if line in _read(journal).splitlines(keepends=True):
            return
        fd = os.open(journal, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        with os.fdopen(fd, "ab") as f:
            f.write(line)
    except OSError:
        pass  # the journal only helps a later clean-up; the write itself goes on


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def clean_noted_temps(journal: Path, pid: int) -> int:
    """Remove the `.tmp-…-PID` files of dead process `pid` in the folders its journal names."""
    removed = 0
    for line in _read(journal).splitlines():
        folder = Path(os.fsdecode(line))
        for leftover in folder.glob(f".tmp-*-{pid}"):
            if leftover.is_file() and not leftover.is_symlink():
                leftover.unlink(missing_ok=True)
                removed += 1
    journal.unlink(missing_ok=True)
    return removed


def _link_new(tmp: Path, path: Path) -> None:
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise AlreadyExistsError(
            _("{path} already exists: choose a new file.").format(path=path)) from None


def process_running(pid: int) -> bool:
    """Whether process `pid` exists (and, where /proc tells, is not a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[:1] != [b"Z"]
    except OSError:
        return True


def make_private_dir(path: Path) -> None:
    """Create `path` (and the parents it lacks) 0700 whatever the umask; force `path`'s mode."""
    missing = []
    at = path
    while not at.exists() and at != at.parent:
        missing.append(at)
        at = at.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=0o700)
        except FileExistsError:
            pass
        else:
            os.chmod(folder, 0o700)
    os.chmod(path, 0o700)


def create_private(path: Path) -> None:
    """Create an empty file 0600 if there is none (SQLite gives its -wal/-shm the same mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass


@contextmanager
def file_lock(path: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive lock on `path` (created 0600); BusyError if `wait` is False and taken."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise BusyError(_("The vault is in use by another msante process.")) from None
        yield
    finally:
        os.close(fd)
