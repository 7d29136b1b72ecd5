"""The cryptographic primitives of the vault: key derivation, key wrapping, streaming AEAD.

Formats (all integers big-endian):

- wrapped key: ``0x01 || nonce(12) || AES-256-GCM(key) || tag(16)``, associated data = `aad`.
- stream (STREAM construction of Hoang, Reyhanitabar, Rogaway and Vizár):
  header ``b"MSS1" || u8 version(1) || u32 segment_size || nonce prefix(7)``, then segments of
  ``AES-256-GCM(up to segment_size bytes) || tag(16)``; segment nonce =
  ``prefix || u32 counter || u8 last``; every segment's associated data = header || `aad`.
  Exactly one segment carries the last flag, so truncation, reordering, splicing of two
  streams and trailing data all fail to decrypt.
- context(): ``for each (key, value) sorted by key: u16 len || key || type || u32 len || value``
  with ``v = FORMAT_VERSION`` always present; this encoding is injective.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import os
import struct
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO, ClassVar

from msante.errors import DecryptError, UnsupportedError, UsageError
from msante.i18n import _

# `cryptography` (Argon2id, AES-GCM) is imported where it is used: reading a vault with the
# agent's keys (`msante status`) needs only HKDF and HMAC, which the standard library does
# (hashlib's OpenSSL), and loading cryptography was a fifth of the CLI's start-up.
if TYPE_CHECKING:
    from _typeshed import ReadableBuffer, WriteableBuffer
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

FORMAT_VERSION = 1
KEY_SIZE = 32
NONCE_SIZE = 12
TAG_SIZE = 16

# The one seam for tests that pin vectors: every nonce, salt and key comes from here.
_random = os.urandom


# --- key derivation ------------------------------------------------------------------------

_KDF_BOUNDS = {"memory_kib": (16 * 1024, 256 * 1024), "iterations": (2, 10), "lanes": (1, 16)}
MAX_KDF_COST_MIB = 768
"""memory (MiB) × iterations at most: 4× the default (64 MiB × 3), about 5 s per try on the
slowest machine we support (1 GiB × 10 took 21 s on a 2024 laptop, about 2 s per GiB·pass),
so that a vault.json edited to the maximum is no denial of service."""
_KDF_READ_BOUNDS = {"memory_kib": (16 * 1024, 1024 * 1024), "iterations": (2, 10),
                    "lanes": (1, 16)}
"""What earlier versions wrote (up to 1 GiB × 10 × 16): read, above the cap, only with consent."""
SECONDS_PER_GIB_PASS = 2
_KDF_JSON_KEYS = {"alg", "memory_kib", "iterations", "lanes", "salt"}
SALT_SIZE = 16


@dataclass(frozen=True)
class KdfParams:
    """Argon2id parameters, stored in the plaintext header so that they can be raised later."""

    memory_kib: int
    iterations: int
    lanes: int
    salt: bytes

    DEFAULT: ClassVar[KdfParams]  # a template without a salt: use new() for real parameters

    @classmethod
    def new(cls, memory_kib: int = 65536, iterations: int = 3, lanes: int = 4) -> KdfParams:
        """Parameters with a fresh random salt."""
        return cls(memory_kib, iterations, lanes, _random(SALT_SIZE))

    def check(self) -> None:
        """Refuse parameters msante would not write today (below the minimum, above the cap)."""
        self.check_readable()
        _check_bounds(self, _KDF_BOUNDS)
        if self.memory_kib // 1024 * self.iterations > MAX_KDF_COST_MIB:
            raise UnsupportedError(
                _("key-derivation cost {memory} MiB × {n} iterations is above {most}").format(
                    memory=self.memory_kib // 1024, n=self.iterations, most=MAX_KDF_COST_MIB))

    def check_readable(self) -> None:
        """Refuse parameters outside what any version ever wrote (before deriving anything)."""
        _check_bounds(self, _KDF_READ_BOUNDS)
        if len(self.salt) < SALT_SIZE:
            raise UnsupportedError(_("key-derivation salt is too short"))

    @property
    def costly(self) -> bool:
        """Whether these readable parameters are above what msante writes today."""
        try:
            self.check()
        except UnsupportedError:
            return True
        return False

    @property
    def seconds(self) -> int:
        """A rough time per try on the slowest machine we support."""
        return max(1, round(self.memory_kib / 1024 / 1024 * self.iterations
                            * SECONDS_PER_GIB_PASS))

    def to_json(self) -> dict[str, str | int]:
        """The header form of these parameters."""
        salt = base64.b64encode(self.salt).decode("ascii")
        return {"alg": "argon2id", "memory_kib": self.memory_kib,
                "iterations": self.iterations, "lanes": self.lanes, "salt": salt}

    @classmethod
    def from_json(cls, d: object) -> KdfParams:
        """Read and check parameters from a header; anything unexpected is refused."""
        if not isinstance(d, dict) or set(d) != _KDF_JSON_KEYS or d["alg"] != "argon2id":
            raise _bad_kdf_json()
        numbers = [d[name] for name in ("memory_kib", "iterations", "lanes")]
        if any(type(n) is not int for n in numbers) or not isinstance(d["salt"], str):
            raise _bad_kdf_json()
        try:
            salt = base64.b64decode(d["salt"], validate=True)
        except (binascii.Error, ValueError):
            raise _bad_kdf_json() from None
        params = cls(numbers[0], numbers[1], numbers[2], salt)
        params.check_readable()
        return params


KdfParams.DEFAULT = KdfParams(65536, 3, 4, b"")


def _check_bounds(params: KdfParams, bounds: dict[str, tuple[int, int]]) -> None:
    for name, (low, high) in bounds.items():
        value = getattr(params, name)
        if not low <= value <= high:
            raise UnsupportedError(
                _("key-derivation parameter {name}={value} is outside {low}..{high}").format(
                    name=name, value=value, low=low, high=high))


def _bad_kdf_json() -> UnsupportedError:
    return UnsupportedError(_("the key-derivation parameters in the vault header are not valid"))


def derive_kek(passphrase: str, params: KdfParams) -> bytes:
    """The key-encryption key of a passphrase (Argon2id, 32 bytes); the cost is the caller's."""
    from cryptography.hazmat.primitives.kdf.argon2 import Argon2id

    params.check_readable()
    kdf = Argon2id(salt=params.salt, length=KEY_SIZE, iterations=params.iterations,
                   lanes=params.lanes, memory_cost=params.memory_kib)
    return kdf.derive(passphrase.encode("utf-8"))


def hkdf(key: bytes, label: str, *, salt: bytes = b"", length: int = KEY_SIZE) -> bytes:
    """A sub-key of `key` for one purpose (HKDF-SHA256, info = "msante/v1/" + label)."""
    info = b"msante/v1/" + label.encode("utf-8")
    if not 0 < length <= 255 * 32:
        raise ValueError("HKDF-SHA256 gives 1 to 8160 bytes")
    prk = hmac.digest(salt or bytes(32), key, "sha256")  # RFC 5869: extract, then expand
    out = block = b""
    for counter in range(1, -(-length // 32) + 1):
        block = hmac.digest(prk, block + info + bytes([counter]), "sha256")
        out += block
    return out[:length]


def random_key() -> bytes:
    """A fresh random 256-bit key."""
    return _random(KEY_SIZE)


def mac(key: bytes, data: bytes) -> bytes:
    """HMAC-SHA256 of `data`."""
    return hmac.digest(key, data, "sha256")


def mac_equal(a: bytes, b: bytes) -> bool:
    """Compare two MACs in constant time."""
    return hmac.compare_digest(a, b)


def hex_mac_equal(expected: str, found: object) -> bool:
    """Compare a MAC written as text with what a file or row holds, in constant time: anything
    but ASCII text (an edited header or row) is simply unequal, never an error."""
    return isinstance(found, str) and found.isascii() and hmac.compare_digest(expected, found)


# --- associated data -----------------------------------------------------------------------

def context(**fields: str | int | bytes) -> bytes:
    """Canonical associated data binding a ciphertext to its context and the format version."""
    if "v" in fields:
        raise ValueError("context(): 'v' is reserved for the format version")
    items = sorted({**fields, "v": FORMAT_VERSION}.items())
    return b"".join(_field(name, value) for name, value in items)


def _field(name: str, value: str | int | bytes) -> bytes:
    raw_name = name.encode("utf-8")
    if isinstance(value, bool) or not isinstance(value, str | int | bytes):
        raise TypeError(f"context(): unsupported value type for {name!r}")
    if isinstance(value, bytes):
        kind, raw = b"b", value
    elif isinstance(value, int):
        kind, raw = b"i", str(value).encode("ascii")
    else:
        kind, raw = b"s", value.encode("utf-8")
    return struct.pack(">H", len(raw_name)) + raw_name + kind + struct.pack(">I", len(raw)) + raw


# --- key wrapping --------------------------------------------------------------------------

_WRAP_VERSION = b"\x01"
_WRAP_OVERHEAD = len(_WRAP_VERSION) + NONCE_SIZE + TAG_SIZE


def _aesgcm(key: bytes) -> AESGCM:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    if len(key) != KEY_SIZE:
        raise ValueError("AES-256-GCM needs a 32-byte key")
    return AESGCM(key)


def wrap_key(kek: bytes, key: bytes, aad: bytes) -> bytes:
    """Encrypt `key` under `kek`, bound to `aad`."""
    nonce = _random(NONCE_SIZE)
    return _WRAP_VERSION + nonce + _aesgcm(kek).encrypt(nonce, key, aad)


def unwrap_key(kek: bytes, wrapped: bytes, aad: bytes) -> bytes:
    """Decrypt a key made by wrap_key; DecryptError on any failure."""
    if len(wrapped) < _WRAP_OVERHEAD or wrapped[:1] != _WRAP_VERSION:
        raise DecryptError()
    from cryptography.exceptions import InvalidTag

    nonce, body = wrapped[1 : 1 + NONCE_SIZE], wrapped[1 + NONCE_SIZE :]
    try:
        return _aesgcm(kek).decrypt(nonce, body, aad)
    except InvalidTag:
        raise DecryptError() from None


# --- recovery key --------------------------------------------------------------------------

RECOVERY_SECRET_SIZE = 20
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_RECOVERY_BYTES = RECOVERY_SECRET_SIZE + 2  # secret + checksum: 176 bits
_RECOVERY_CHARS = 36  # 180 bits: the last 4 are zero padding
_DASHES = "-\u2010\u2011\u2012\u2013\u2014"


def new_recovery_key() -> tuple[str, bytes]:
    """A fresh recovery key: (text to write down, secret)."""
    secret = _random(RECOVERY_SECRET_SIZE)
    return _recovery_text(secret), secret


def _recovery_checksum(secret: bytes) -> bytes:
    return hashlib.sha256(secret).digest()[:2]


def _recovery_text(secret: bytes) -> str:
    number = int.from_bytes(secret + _recovery_checksum(secret), "big") << 4
    chars = "".join(_CROCKFORD[(number >> 5 * i) & 31] for i in reversed(range(_RECOVERY_CHARS)))
    return "-".join(chars[i : i + 4] for i in range(0, _RECOVERY_CHARS, 4))


def parse_recovery_key(text: str) -> bytes:
    """The secret of a recovery key as a person typed it (case, spaces, dashes, O/I/L forgiven)."""
    chars = "".join(c for c in "".join(text.split()) if c not in _DASHES)
    chars = chars.upper().translate(_CONFUSABLES)
    if len(chars) != _RECOVERY_CHARS or any(c not in _CROCKFORD for c in chars):
        raise _bad_recovery_key()
    number = 0
    for c in chars:
        number = number << 5 | _CROCKFORD.index(c)
    data = (number >> 4).to_bytes(_RECOVERY_BYTES, "big")
    secret, checksum = data[:RECOVERY_SECRET_SIZE], data[RECOVERY_SECRET_SIZE:]
    if number & 0xF or not mac_equal(checksum, _recovery_checksum(secret)):
        raise _bad_recovery_key()
    return secret


def _bad_recovery_key() -> UsageError:
    return UsageError(_("this is not a valid recovery key (check for a typo)"))


def recovery_kek(secret: bytes, salt: bytes) -> bytes:
    """The key-encryption key of a recovery secret (high entropy: HKDF, no Argon2)."""
    return hkdf(secret, "recovery-kek", salt=salt)


# --- streaming AEAD ------------------------------------------------------------------------

SEGMENT_SIZE = 1 << 20
MIN_SEGMENT_SIZE = 4 << 10
MAX_SEGMENT_SIZE = 16 << 20
_STREAM_MAGIC = b"MSS1"
_STREAM_VERSION = 1
_PREFIX_SIZE = 7
HEADER_SIZE = len(_STREAM_MAGIC) + 1 + 4 + _PREFIX_SIZE
_MAX_COUNTER = 0xFFFFFFFF


class _Segments:
    """One stream's AEAD state: the cipher, the associated data and the segment counter."""

    def __init__(self, key: bytes, aad: bytes, header: bytes) -> None:
        self._aead = _aesgcm(key)
        self._ad = header + aad
        self._prefix = header[-_PREFIX_SIZE:]
        self._counter = 0
        self.done = False

    def _nonce(self, last: bool) -> bytes:
        nonce = self._prefix + struct.pack(">IB", self._counter, last)
        self._counter += 1
        self.done = last
        return nonce

    def seal(self, data: memoryview, out: memoryview, last: bool) -> memoryview:
        """Encrypt the next segment into `out`; return the written part."""
        if self._counter > _MAX_COUNTER:
            raise UsageError(_("this file is too large to encrypt"))
        n = self._aead.encrypt_into(self._nonce(last), data, self._ad, out[: len(data) + TAG_SIZE])
        return out[:n]

    def open(self, data: memoryview, out: memoryview, last: bool) -> memoryview:
        """Decrypt the next segment into `out`; return the plaintext part."""
        from cryptography.exceptions import InvalidTag

        if self._counter > _MAX_COUNTER or len(data) < TAG_SIZE:
            raise DecryptError()
        try:
            n = self._aead.decrypt_into(
                self._nonce(last), data, self._ad, out[: len(data) - TAG_SIZE]
            )
        except InvalidTag:
            raise DecryptError() from None
        return out[:n]


def _start_stream(key: bytes, aad: bytes, dst: BinaryIO, segment_size: int) -> _Segments:
    if not MIN_SEGMENT_SIZE <= segment_size <= MAX_SEGMENT_SIZE:
        raise ValueError(f"segment size {segment_size} outside 4 KiB..16 MiB")
    header = _STREAM_MAGIC + struct.pack(">BI", _STREAM_VERSION, segment_size)
    header += _random(_PREFIX_SIZE)
    _write_all(dst, memoryview(header))
    return _Segments(key, aad, header)


def _parse_header(header: bytes) -> int:
    """The segment size of a stream header, or an error."""
    if len(header) != HEADER_SIZE or header[:4] != _STREAM_MAGIC:
        raise DecryptError()
    version, size = struct.unpack(">BI", header[4:9])
    if version != _STREAM_VERSION:
        raise UnsupportedError(_("unsupported encrypted file version {v}").format(v=version))
    if not MIN_SEGMENT_SIZE <= size <= MAX_SEGMENT_SIZE:
        raise UnsupportedError(_("unsupported encrypted file segment size {n}").format(n=size))
    return int(size)


def _read_full(src: BinaryIO, buffer: bytearray | memoryview) -> int:
    """Fill `buffer` from `src`; fewer bytes only at the end of the input."""
    view, got = memoryview(buffer), 0
    readinto = getattr(src, "readinto", None)
    while got < len(view):
        if readinto is not None:
            n = readinto(view[got:]) or 0
        else:
            chunk = src.read(len(view) - got)
            n = len(chunk)
            view[got : got + n] = chunk
        if n == 0:
            break
        got += n
    return got


def _write_all(dst: BinaryIO, data: memoryview) -> None:
    """Write all of `data` (a raw file may take only part of one write)."""
    while data:
        written = dst.write(data)
        data = data[len(data) if written is None else written :]


def encrypt_stream(
    key: bytes, aad: bytes, src: BinaryIO, dst: BinaryIO, *, segment_size: int = SEGMENT_SIZE
) -> int:
    """Encrypt `src` into `dst` segment by segment in flat memory; return the plaintext size."""
    segments = _start_stream(key, aad, dst, segment_size)
    current, ahead = bytearray(segment_size), bytearray(segment_size)
    out = memoryview(bytearray(segment_size + TAG_SIZE))
    length, total = _read_full(src, current), 0
    while True:  # read one segment ahead: the last flag needs to know that the input ended
        ahead_length = _read_full(src, ahead) if length == segment_size else 0
        last = ahead_length == 0
        _write_all(dst, segments.seal(memoryview(current)[:length], out, last))
        total += length
        if last:
            return total
        current, ahead, length = ahead, current, ahead_length


def decrypt_stream(key: bytes, aad: bytes, src: BinaryIO, dst: BinaryIO) -> int:
    """Decrypt a whole stream into `dst`; return the plaintext size.

    Plaintext reaches `dst` before the end is authenticated: on DecryptError, discard `dst`.
    """
    with DecryptingReader(key, aad, src) as reader:
        return reader._copy_to(dst)


class EncryptingWriter(io.RawIOBase):
    """A writable stream that encrypts into `dst`; close() writes the final segment.

    `dst` is left open. Leaving a `with` block on an exception, abort() and garbage collection
    do not write the final segment, so an interrupted stream never decrypts as complete.
    """

    def __init__(
        self, key: bytes, aad: bytes, dst: BinaryIO, segment_size: int = SEGMENT_SIZE
    ) -> None:
        super().__init__()
        self._aborted = True  # until fully built: a failed __init__ must not emit on __del__
        self._segments = _start_stream(key, aad, dst, segment_size)
        self._dst = dst
        self._buffer = bytearray(segment_size)
        self._out = memoryview(bytearray(segment_size + TAG_SIZE))
        self._filled = 0
        self._aborted = False

    def writable(self) -> bool:
        """Always true."""
        return True

    def write(self, b: ReadableBuffer) -> int:
        """Buffer `b`, emitting each full segment once more data shows it is not the last."""
        if self.closed:
            raise ValueError("write to a closed EncryptingWriter")
        data = memoryview(b).cast("B")
        size, pos = len(self._buffer), 0
        while pos < len(data):
            if self._filled == size:
                self._emit(last=False)
            take = min(size - self._filled, len(data) - pos)
            self._buffer[self._filled : self._filled + take] = data[pos : pos + take]
            self._filled += take
            pos += take
        return len(data)

    def _emit(self, last: bool) -> None:
        plain = memoryview(self._buffer)[: self._filled]
        _write_all(self._dst, self._segments.seal(plain, self._out, last))
        self._filled = 0

    def close(self) -> None:
        """Write the final segment (unless aborted) and close; `dst` stays open."""
        if not self.closed:
            try:
                if not self._aborted:
                    self._emit(last=True)
            finally:
                super().close()

    def abort(self) -> None:
        """Close without the final segment: the output stays detectably truncated."""
        self._aborted = True
        self.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.abort()
        else:
            self.close()

    def __del__(self) -> None:
        self._aborted = True
        super().__del__()


class DecryptingReader(io.RawIOBase):
    """A readable stream of the plaintext of `src`, authenticated segment by segment.

    The header is checked at construction. A bad tag, a missing final segment or trailing
    data raise DecryptError when reached. `src` is closed with the reader only if close_src.
    """

    def __init__(self, key: bytes, aad: bytes, src: BinaryIO, *, close_src: bool = False) -> None:
        super().__init__()
        self._src, self._close_src = src, close_src
        header = bytearray(HEADER_SIZE)
        header_bytes = bytes(header[: _read_full(src, header)])
        size = _parse_header(header_bytes)
        self._segments = _Segments(key, aad, header_bytes)
        self._chunk, self._ahead = bytearray(size + TAG_SIZE), bytearray(size + TAG_SIZE)
        self._ahead_length = _read_full(src, self._ahead)
        self._plain = memoryview(bytearray(size))
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        """Always true."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Copy decrypted bytes into `buffer`; 0 only at the authenticated end."""
        view = memoryview(buffer).cast("B")
        if not self._pending and not self._segments.done:
            self._pending = self._next_segment()
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _next_segment(self) -> memoryview:
        self._chunk, self._ahead = self._ahead, self._chunk
        length, full = self._ahead_length, len(self._chunk)
        self._ahead_length = _read_full(self._src, self._ahead) if length == full else 0
        last = self._ahead_length == 0
        return self._segments.open(memoryview(self._chunk)[:length], self._plain, last)

    def _copy_to(self, dst: BinaryIO) -> int:
        total = len(self._pending)
        _write_all(dst, self._pending)
        while not self._segments.done:
            plain = self._next_segment()
            _write_all(dst, plain)
            total += len(plain)
        self._pending = memoryview(b"")
        return total

    def close(self) -> None:
        """Close the reader (and `src` if close_src)."""
        if not self.closed:
            try:
                if self._close_src:
                    self._src.close()
            finally:
                super().close()
