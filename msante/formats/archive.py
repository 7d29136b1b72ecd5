"""The encrypted archive: one file holding a tar stream sealed with the segmented AEAD.

Layout (documented in docs/formats.md):

    b"MSANTE-ARCHIVE\\n"              15 bytes, magic
    u32 big-endian N                  length of the envelope
    N bytes of UTF-8 JSON             the envelope: kind, version, how to find the key
    the rest                          crypto stream (header "MSS1"…), plaintext = a POSIX tar

The stream's associated data is `context(purpose="archive", kind=…, envelope=SHA-256 of the
envelope bytes)`, so the envelope cannot be changed without the payload failing to decrypt.
Reading and writing are streamed: memory stays flat whatever the size of the vault.
"""

from __future__ import annotations

import hashlib
import json
import struct
import tarfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from msante.errors import IntegrityError, UnsupportedError
from msante.i18n import _
from msante.vault import crypto

MAGIC = b"MSANTE-ARCHIVE\n"
VERSION = 1
MAX_ENVELOPE = 1 << 20


@dataclass(frozen=True)
class Envelope:
    """The plaintext envelope of an archive and its exact bytes."""

    data: dict[str, Any]
    raw: bytes

    @property
    def kind(self) -> str:
        """"backup" or "handover"."""
        return str(self.data.get("kind"))

    def aad(self) -> bytes:
        """The associated data binding the payload to this envelope."""
        return crypto.context(purpose="archive", kind=self.kind,
                              envelope=hashlib.sha256(self.raw).digest())


def make_envelope(kind: str, fields: dict[str, Any]) -> Envelope:
    """A new envelope of `kind` with `fields`."""
    data = {"format": "msante-archive", "version": VERSION, "kind": kind} | fields
    return Envelope(data, json.dumps(data, sort_keys=True).encode())


@contextmanager
def writer(out: BinaryIO, envelope: Envelope, key: bytes) -> Iterator[tarfile.TarFile]:
    """A streaming tar writer whose bytes are sealed into `out`."""
    out.write(MAGIC + struct.pack(">I", len(envelope.raw)) + envelope.raw)
    sealed = crypto.EncryptingWriter(key, envelope.aad(), out)
    tar = tarfile.open(fileobj=sealed, mode="w|", format=tarfile.PAX_FORMAT)
    try:
        yield tar
        tar.close()
        sealed.close()
    except BaseException:
        sealed.abort()
        raise


def add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    """Add an in-memory member."""
    import io

    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    tar.addfile(info, io.BytesIO(data))


def add_file(tar: tarfile.TarFile, name: str, path: Path) -> None:
    """Add a file from disk, streamed."""
    info = tarfile.TarInfo(name)
    info.size, info.mode = path.stat().st_size, 0o600
    with open(path, "rb") as f:
        tar.addfile(info, f)


def read_envelope(src: BinaryIO) -> Envelope:
    """Read and check the magic and the envelope; the stream is left at the payload."""
    magic = src.read(len(MAGIC))
    if magic != MAGIC:
        raise IntegrityError(_("This file is not an msante archive."))
    size_raw = src.read(4)
    if len(size_raw) != 4 or struct.unpack(">I", size_raw)[0] > MAX_ENVELOPE:
        raise IntegrityError(_("This msante archive is truncated or corrupt."))
    raw = src.read(struct.unpack(">I", size_raw)[0])
    data = _checked_fields(strict_json(raw))
    if data["version"] > VERSION:
        raise UnsupportedError(_("This archive was made by a newer msante; upgrade to read it."))
    return Envelope(data, raw)


REQUIRED = {"backup": ("archive_id", "archive_key", "vault"), "handover": ("archive_id",)}
"""The envelope fields each kind of archive needs before its payload can be opened."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)


def strict_json(raw: bytes) -> Any:
    """JSON without NaN/Infinity and not absurdly nested; IntegrityError otherwise."""
    try:
        return json.loads(raw, parse_constant=_refuse_constant)
    except (ValueError, RecursionError):
        raise IntegrityError(_("This msante archive is truncated or corrupt.")) from None


def _checked_fields(data: Any) -> dict[str, Any]:
    """The envelope if it has the format, an integer version and its kind's fields."""
    ok = isinstance(data, dict) and data.get("format") == "msante-archive" \
        and type(data.get("version", 0)) is int and isinstance(data.get("kind"), str) \
        and data["kind"] in REQUIRED
    if ok:
        wanted = REQUIRED[data["kind"]]
        ok = all(isinstance(data.get(f), dict if f == "vault" else str) for f in wanted)
    if not ok:
        raise IntegrityError(_("This msante archive is truncated or corrupt."))
    data.setdefault("version", 0)
    return dict(data)


@contextmanager
def reader(src: BinaryIO, envelope: Envelope, key: bytes) -> Iterator[tarfile.TarFile]:
    """A streaming tar reader over the decrypted payload (DecryptError if tampered)."""
    plain = crypto.DecryptingReader(key, envelope.aad(), src)
    try:
        with tarfile.open(fileobj=plain, mode="r|") as tar:
            yield tar
        _drain(plain)
    except tarfile.TarError:
        raise IntegrityError(_("This msante archive is truncated or corrupt.")) from None


def _drain(plain: crypto.DecryptingReader) -> None:
    """Read to the end so that the final segment (and truncation) is checked."""
    while plain.read(1 << 16):
        pass


def safe_member(member: tarfile.TarInfo, allowed: tuple[str, ...]) -> str:
    """The member's name if it is a regular file under an allowed name; IntegrityError else."""
    name = member.name
    parts = name.split("/")
    ok = member.isfile() and ".." not in parts and not name.startswith("/") and any(
        name == a or (a.endswith("/") and name.startswith(a)) for a in allowed)
    if not ok:
        raise IntegrityError(_("This archive holds an unexpected entry: {name}").format(name=name))
    return name
