"""Encrypted blob chunks on disk, behind a small interface (object storage can replace it).

Chunks are addressed by the client's ids (space, blob, chunk index). Ids are checked against a
strict pattern here too, not only in the API, so that no id can name a path outside the folder.
A chunk is written to a temporary file, flushed, then renamed into place: a reader sees a whole
chunk or none.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


class BlobStore(Protocol):
    """Where chunk bytes live; the database keeps their metadata."""

    def stage(self, space: str, blob: str, index: int, data: bytes) -> object:
        """Write `data` aside (not yet visible); return a handle for `commit` or `discard`."""

    def commit(self, handle: object) -> None:
        """Make a staged chunk visible under its address (replacing what was there)."""

    def discard(self, handle: object) -> None:
        """Forget a staged chunk."""

    def read(self, space: str, blob: str, index: int) -> bytes | None:
        """The chunk's bytes, or None when it is not there."""

    def delete_space(self, space: str) -> None:
        """Remove every chunk of a space."""


def check_id(value: str) -> str:
    """`value` when it is a safe id (letters, digits, - and _; 1 to 64); else ValueError."""
    if not SAFE_ID.fullmatch(value):
        raise ValueError("unsafe id")
    return value


class FileBlobStore:
    """Chunks as files: ROOT/<space>/<blob>/<index>, folders 0700, files 0600."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(mode=0o700, parents=True, exist_ok=True)

    def _path(self, space: str, blob: str, index: int) -> Path:
        """The chunk's file; ids checked, the index a non-negative integer."""
        if not isinstance(index, int) or index < 0:
            raise ValueError("bad chunk index")
        return self.root / check_id(space) / check_id(blob) / str(index)

    def stage(self, space: str, blob: str, index: int, data: bytes) -> object:
        """Write to a temporary file in the chunk's folder, flushed to disk."""
        target = self._path(space, blob, index)
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException:
            os.unlink(tmp)
            raise
        return (Path(tmp), target)

    def commit(self, handle: object) -> None:
        """Rename the temporary file into place."""
        tmp, target = _unpack(handle)
        os.replace(tmp, target)

    def discard(self, handle: object) -> None:
        """Remove the temporary file."""
        tmp, _target = _unpack(handle)
        tmp.unlink(missing_ok=True)

    def read(self, space: str, blob: str, index: int) -> bytes | None:
        """The chunk's bytes, or None."""
        try:
            return self._path(space, blob, index).read_bytes()
        except FileNotFoundError:
            return None

    def delete_space(self, space: str) -> None:
        """Remove the space's folder."""
        shutil.rmtree(self.root / check_id(space), ignore_errors=True)


def _unpack(handle: object) -> tuple[Path, Path]:
    """The (temporary, target) pair behind a staging handle."""
    if not (isinstance(handle, tuple) and len(handle) == 2):
        raise TypeError("not a staging handle")
    tmp, target = handle
    if not (isinstance(tmp, Path) and isinstance(target, Path)):
        raise TypeError("not a staging handle")
    return tmp, target
