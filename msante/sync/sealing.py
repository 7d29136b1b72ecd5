"""Sealing to a public key: HPKE (RFC 9180), base mode, one suite and no other.

The suite is KEM MLKEM768-X25519 (0x647A, the X-Wing combiner of draft-connolly-cfrg-xwing-kem
as used by draft-ietf-hpke-pq: SHA3-256 over both shared secrets, the X25519 ciphertext and
public key, and a fixed label), KDF HKDF-SHA256, AEAD AES-256-GCM. There is no X25519-only
seal: health data must stay secret after large quantum computers exist.

`cryptography`'s hybrid keys cannot be serialised, so keys are stored as their parts:

    seal key (private)  0x01 | ML-KEM-768 seed d||z (64) | X25519 private key (32)      97 bytes
    open key (public)   0x01 | ML-KEM-768 encapsulation key (1184) | X25519 public (32)  1217
    sealed              0x01 | enc (1120: ML-KEM ciphertext 1088 | X25519 ephemeral 32)
                             | AES-256-GCM ciphertext and tag (plaintext + 16)

The public part after the version byte is the draft's 1216-byte MLKEM768-X25519 public key.
`cryptography` 51 takes no associated data in its public single-shot API, so `aad` is bound
through HPKE's `info` (RFC 9180 section 8.1 recommends `info` for single-shot use):

    hpke_info = b"msante/v1/seal\\0" | len(info) as 4 bytes big-endian | info | aad
"""

from __future__ import annotations

import hashlib

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync.versioned import VERSION, as_bytes, versioned

SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
INFO_PREFIX = b"msante/v1/seal\0"
ML_SEED, ML_PUB, X_KEY = 64, 1184, 32
ENC_LEN, TAG_LEN = 1120, 16
PRIVATE_LEN = 1 + ML_SEED + X_KEY
PUBLIC_LEN = 1 + ML_PUB + X_KEY
OVERHEAD = 1 + ENC_LEN + TAG_LEN


class BadSeal(IntegrityError):
    """A sealed message that does not open with this key, info and aad (exit 6)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("An encrypted message does not open: it was altered, "
                                      "or is not meant for this key or this use."))


def hpke_info(info: bytes, aad: bytes) -> bytes:
    """The `info` given to HPKE: our label, the length of `info`, `info`, then `aad`."""
    info, aad = as_bytes(info, "info"), as_bytes(aad, "aad")
    return INFO_PREFIX + len(info).to_bytes(4, "big") + info + aad


class OpenKey:
    """The public half: anyone may seal to it."""

    def __init__(self, ml: mlkem.MLKEM768PublicKey, x: x25519.X25519PublicKey) -> None:
        self._bytes = bytes([VERSION]) + ml.public_bytes_raw() + x.public_bytes_raw()
        self._key = hpke.MLKEM768X25519PublicKey(ml, x)

    def to_bytes(self) -> bytes:
        """0x01 | ML-KEM-768 encapsulation key | X25519 public key (1217 bytes)."""
        return self._bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> OpenKey:
        """The key `to_bytes` wrote; ValueError on anything malformed or of low order."""
        data = versioned(data, PUBLIC_LEN, "open key")
        ml = mlkem.MLKEM768PublicKey.from_public_bytes(data[1:1 + ML_PUB])
        x = x25519.X25519PublicKey.from_public_bytes(data[1 + ML_PUB:])
        x25519.X25519PrivateKey.generate().exchange(x)  # ValueError for a low-order point
        return cls(ml, x)

    def seal(self, plaintext: bytes, info: bytes, aad: bytes = b"") -> bytes:
        """0x01 | HPKE enc | ciphertext of `plaintext`, bound to `info` and `aad`."""
        plaintext = as_bytes(plaintext, "plaintext")
        return bytes([VERSION]) + SUITE.encrypt(plaintext, self._key, info=hpke_info(info, aad))

    def key_id(self) -> bytes:
        """SHA-256 over a label and `to_bytes()`: the 32 bytes that name this key."""
        return hashlib.sha256(b"msante/v1/open-key\0" + self._bytes).digest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, OpenKey) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        return f"OpenKey({self.key_id()[:8].hex()})"


class SealKey:
    """The private half: an ML-KEM-768 key and an X25519 key, opened together (X-Wing)."""

    def __init__(self, ml: mlkem.MLKEM768PrivateKey, x: x25519.X25519PrivateKey) -> None:
        self._ml, self._x = ml, x
        self._key = hpke.MLKEM768X25519PrivateKey(ml, x)
        self._public = OpenKey(ml.public_key(), x.public_key())

    @classmethod
    def generate(cls) -> SealKey:
        """A fresh random key pair."""
        return cls(mlkem.MLKEM768PrivateKey.generate(), x25519.X25519PrivateKey.generate())

    def private_bytes(self) -> bytes:
        """0x01 | ML-KEM-768 seed | X25519 private key (97 bytes): keep it secret."""
        return bytes([VERSION]) + self._ml.private_bytes_raw() + self._x.private_bytes_raw()

    @classmethod
    def from_private_bytes(cls, data: bytes) -> SealKey:
        """The key `private_bytes` wrote; ValueError on anything malformed."""
        data = versioned(data, PRIVATE_LEN, "seal key")
        ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(data[1:1 + ML_SEED])
        x = x25519.X25519PrivateKey.from_private_bytes(data[1 + ML_SEED:])
        return cls(ml, x)

    def public_key(self) -> OpenKey:
        """The matching public key."""
        return self._public

    def open(self, sealed: bytes, info: bytes, aad: bytes = b"") -> bytes:
        """The plaintext `OpenKey.seal` was given; BadSeal for anything else."""
        if not isinstance(sealed, bytes | bytearray | memoryview):
            raise BadSeal()
        sealed = bytes(sealed)
        if len(sealed) < OVERHEAD or sealed[0] != VERSION:
            raise BadSeal()
        try:
            return SUITE.decrypt(sealed[1:], self._key, info=hpke_info(info, aad))
        except (InvalidTag, ValueError):
            raise BadSeal() from None

    def __repr__(self) -> str:
        return f"SealKey({self._public.key_id()[:8].hex()})"
