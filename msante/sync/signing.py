"""Signatures for sync: Ed25519 and ML-DSA-65 together, over a purpose and a canonical context.

Every signature covers ``b"msante/v1/sig\\0" + purpose + b"\\0" + canonical(context)``, where
the purpose comes from the closed list `Purpose` and `canonical` is RFC 8785 JSON. Both halves
must verify: a forger has to break Ed25519 *and* ML-DSA-65 (FIPS 204, pure mode, empty
context string).

Byte layouts (version 1; every multi-part value starts with its version byte):

    signing key   0x01 | Ed25519 private key (32) | ML-DSA-65 seed ξ (32)          65 bytes
    verify key    0x01 | Ed25519 public key (32)  | ML-DSA-65 public key (1952)  1985 bytes
    signature     0x01 | Ed25519 signature (64)   | ML-DSA-65 signature (3309)   3374 bytes
"""

from __future__ import annotations

import base64
import enum
import hashlib
from collections.abc import Mapping
from functools import cache
from importlib import resources

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync.versioned import VERSION, versioned

SIG_PREFIX = b"msante/v1/sig\0"
ED_KEY, ED_SIG, SEED = 32, 64, 32
ML_PUB, ML_SIG = 1952, 3309
PRIVATE_LEN = 1 + ED_KEY + SEED
PUBLIC_LEN = 1 + ED_KEY + ML_PUB
SIGNATURE_LEN = 1 + ED_SIG + ML_SIG
FINGERPRINT_WORDS = 6


class Purpose(enum.StrEnum):
    """The closed list of things a signature may be for; each signature covers exactly one."""

    LOGIN = "login"
    ACCOUNT_CHAIN = "account-chain"
    SPACE_CHAIN = "space-chain"
    ITEM = "item"
    CHAIN_HEAD = "chain-head"
    KEY_BUNDLE = "key-bundle"
    LINK = "link"
    CHECKPOINT = "checkpoint"
    DIRECTORY = "directory"
    MESSAGE = "message"
    DEPOSIT = "deposit"
    RECOVERY = "recovery"
    SCOPE_KEYS = "scope-keys"


class BadSignature(IntegrityError):
    """A signature that does not verify for this key, purpose and context (exit 6)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("A signature does not verify: the data was forged "
                                      "or altered."))


def _jsonable(obj: object) -> object:
    """`obj` with bytes turned into unpadded base64url strings, mappings into dicts."""
    if isinstance(obj, bytes | bytearray | memoryview):
        return base64.urlsafe_b64encode(bytes(obj)).rstrip(b"=").decode("ascii")
    if isinstance(obj, Mapping):
        return {key: _jsonable(value) for key, value in obj.items()}
    if isinstance(obj, list | tuple):
        return [_jsonable(value) for value in obj]
    return obj


def canonical(obj: object) -> bytes:
    """RFC 8785 canonical JSON of `obj`; bytes values become base64url strings without padding.

    A bytes value and the string of its base64url encoding give the same bytes: the verifier
    must know which fields are binary. Keys must be strings; integers must lie within
    ±(2**53 - 1); anything JSON cannot hold raises ValueError.
    """
    try:
        return rfc8785.dumps(_jsonable(obj))  # type: ignore[arg-type]
    except RecursionError as exc:
        raise ValueError("context nested too deeply") from exc


def signed_message(purpose: Purpose, context: Mapping[str, object]) -> bytes:
    """The exact bytes a signature covers; ValueError for a purpose outside the closed list."""
    if not isinstance(purpose, Purpose):
        try:
            purpose = Purpose(purpose)
        except ValueError:
            raise ValueError(f"unknown signature purpose: {purpose!r}") from None
    if not isinstance(context, Mapping):
        raise ValueError("a signature context is a mapping")
    return SIG_PREFIX + purpose.value.encode("ascii") + b"\0" + canonical(context)


class VerifyKey:
    """The public half: checks signatures, names itself by a hash and a six-word fingerprint."""

    def __init__(self, ed: ed25519.Ed25519PublicKey, ml: mldsa.MLDSA65PublicKey) -> None:
        self._ed, self._ml = ed, ml
        self._bytes = bytes([VERSION]) + ed.public_bytes_raw() + ml.public_bytes_raw()

    def to_bytes(self) -> bytes:
        """0x01 | Ed25519 public key | ML-DSA-65 public key (1985 bytes)."""
        return self._bytes

    @classmethod
    def from_bytes(cls, data: bytes) -> VerifyKey:
        """The key `to_bytes` wrote; ValueError on anything malformed."""
        data = versioned(data, PUBLIC_LEN, "verify key")
        ed = ed25519.Ed25519PublicKey.from_public_bytes(data[1:1 + ED_KEY])
        ml = mldsa.MLDSA65PublicKey.from_public_bytes(data[1 + ED_KEY:])
        return cls(ed, ml)

    def verify(self, purpose: Purpose, context: Mapping[str, object], signature: bytes) -> None:
        """Return if both halves verify over (purpose, context); raise BadSignature otherwise."""
        message = signed_message(purpose, context)
        try:
            sig = versioned(signature, SIGNATURE_LEN, "signature")
            self._ed.verify(sig[1:1 + ED_SIG], message)
            self._ml.verify(sig[1 + ED_SIG:], message)
        except (InvalidSignature, ValueError):
            raise BadSignature() from None

    def key_id(self) -> bytes:
        """SHA-256 over a label and `to_bytes()`: the 32 bytes that name this key."""
        return hashlib.sha256(b"msante/v1/verify-key\0" + self._bytes).digest()

    def fingerprint(self) -> str:
        """Six words of the EFF large list (77.5 bits of `key_id`), to compare out of band."""
        return " ".join(_words(self.key_id(), FINGERPRINT_WORDS))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, VerifyKey) and other._bytes == self._bytes

    def __hash__(self) -> int:
        return hash(self._bytes)

    def __repr__(self) -> str:
        return f"VerifyKey({self.fingerprint()!r})"


class SigningKey:
    """The private half: an Ed25519 key and an ML-DSA-65 key that always sign together."""

    def __init__(self, ed: ed25519.Ed25519PrivateKey, ml: mldsa.MLDSA65PrivateKey) -> None:
        self._ed, self._ml = ed, ml
        self._verify = VerifyKey(ed.public_key(), ml.public_key())

    @classmethod
    def generate(cls) -> SigningKey:
        """A fresh random key pair."""
        return cls(ed25519.Ed25519PrivateKey.generate(), mldsa.MLDSA65PrivateKey.generate())

    def private_bytes(self) -> bytes:
        """0x01 | Ed25519 private key | ML-DSA-65 seed (65 bytes): keep it secret."""
        return (bytes([VERSION]) + self._ed.private_bytes_raw()
                + self._ml.private_bytes_raw())

    @classmethod
    def from_private_bytes(cls, data: bytes) -> SigningKey:
        """The key `private_bytes` wrote; ValueError on anything malformed."""
        data = versioned(data, PRIVATE_LEN, "signing key")
        ed = ed25519.Ed25519PrivateKey.from_private_bytes(data[1:1 + ED_KEY])
        ml = mldsa.MLDSA65PrivateKey.from_seed_bytes(data[1 + ED_KEY:])
        return cls(ed, ml)

    def verify_key(self) -> VerifyKey:
        """The matching public key."""
        return self._verify

    def sign(self, purpose: Purpose, context: Mapping[str, object]) -> bytes:
        """0x01 | Ed25519 signature | ML-DSA-65 signature over (purpose, context)."""
        message = signed_message(purpose, context)
        return bytes([VERSION]) + self._ed.sign(message) + self._ml.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey({self._verify.fingerprint()!r})"


@cache
def word_list() -> tuple[str, ...]:
    """The 7,776 words of the EFF large list, in order (msante/data/eff_large_wordlist.txt)."""
    raw = resources.files("msante").joinpath("data/eff_large_wordlist.txt").read_text("utf-8")
    return tuple(line.split("\t")[1] for line in raw.splitlines())


def _words(digest: bytes, count: int) -> list[str]:
    """`count` words read from `digest` as a big-endian number in base 7,776."""
    words = word_list()
    number = int.from_bytes(digest[:16], "big")
    out = []
    for _i in range(count):
        number, index = divmod(number, len(words))
        out.append(words[index])
    return out
