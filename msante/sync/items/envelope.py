"""The signed parts of an item: routing fields, the envelope, the item, a device's chain head.

Every field is checked when built (ValueError: a programming error) and when read from the
network (`from_json`: ItemError, breach `malformed`). Byte fields travel as base64url without
padding inside canonical JSON (RFC 8785), as everywhere in sync.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from msante.sync.crypto import BadSignature, Purpose, SigningKey, VerifyKey, canonical
from msante.sync.items.errors import Breach, ItemError
from msante.sync.signing import SIGNATURE_LEN

FORMAT = 1
SCOPES = ("agenda", "documents", "measurements", "profile")
"""The scope keys of a space (DESIGN.md, "Spaces, scope keys and the space chain")."""
HASH_LEN = 32
ZERO_HASH = bytes(HASH_LEN)
"""The `prev` of a device's first item in a space."""
MAX_SEQ = 2**53 - 1
MAX_KEY_VERSION = 2**31 - 1
AD_LABEL = b"msante/v1/item-ad\0"
HASH_LABEL = b"msante/v1/item\0"
_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
_B64 = re.compile(r"[A-Za-z0-9_-]*")


def check_id(value: object, what: str) -> str:
    """`value` if it is an id of 1-64 of [A-Za-z0-9_-] (the server's ids); ValueError if not."""
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise ValueError(f"{what} must be 1-64 of [A-Za-z0-9_-]")
    return value


def check_int(value: object, top: int, what: str) -> int:
    """`value` if it is an int (not a bool) in [0, top]; ValueError if not."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= top:
        raise ValueError(f"{what} must be an integer in [0, {top}]")
    return value


def check_hash(value: object, what: str) -> bytes:
    """`value` if it is 32 bytes; ValueError if not."""
    if not isinstance(value, bytes) or len(value) != HASH_LEN:
        raise ValueError(f"{what} must be {HASH_LEN} bytes")
    return value


def b64decode(value: object, what: str) -> bytes:
    """The bytes of an unpadded base64url string, in its one canonical spelling; ValueError."""
    if not isinstance(value, str) or not _B64.fullmatch(value) or len(value) % 4 == 1:
        raise ValueError(f"{what} is not unpadded base64url")
    try:
        data = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} is not unpadded base64url") from None
    if base64.urlsafe_b64encode(data).rstrip(b"=").decode() != value:
        raise ValueError(f"{what} is not in canonical base64url")
    return data


def strict_json(data: bytes | str, keys: set[str], what: str) -> dict[str, Any]:
    """A JSON object with exactly `keys`: no repeated key, no NaN; ValueError otherwise."""
    if isinstance(data, bytes | bytearray):
        data = bytes(data).decode("utf-8")
    if not isinstance(data, str):
        raise ValueError(f"{what} must be JSON text")
    obj = json.loads(data, parse_constant=_no_constant, object_pairs_hook=_unique,
                     parse_int=_number)
    if not isinstance(obj, dict) or set(obj) != keys:
        raise ValueError(f"{what} must be an object with the fields {sorted(keys)}")
    return obj


def signature(value: object) -> bytes:
    """A signature read from JSON: base64url of exactly SIGNATURE_LEN bytes; ValueError."""
    data = b64decode(value, "signature")
    if len(data) != SIGNATURE_LEN:
        raise ValueError(f"a signature is {SIGNATURE_LEN} bytes")
    return data


def load_object(data: bytes | str, keys: set[str], what: str) -> dict[str, Any]:
    """A JSON object with exactly `keys` and `"v": FORMAT`; ValueError otherwise."""
    obj = strict_json(data, keys | {"v"}, what)
    if type(obj["v"]) is not int or obj["v"] != FORMAT:
        raise ValueError(f"unsupported {what} version")
    return obj


def _no_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def _number(text: str) -> int | float:
    """An integer literal: an int within ±(2**53 - 1) (what canonical JSON allows), else the
    float whose shortest form it is (RFC 8785 writes large integral floats as digits)."""
    value = int(text)
    return value if abs(value) <= 2**53 - 1 else float(text)


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object whose keys are all distinct; ValueError for a repeated key."""
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise ValueError("a JSON object repeats a key")
    return obj


@dataclass(frozen=True)
class Routing:
    """What the server must see to route an item: it is also the ciphertext's associated data."""

    space: str
    scope: str
    record: str
    revision: str
    base: str | None
    key_version: int
    device: bytes
    """The writing device's signing key id (`VerifyKey.key_id()`, 32 bytes)."""

    def __post_init__(self) -> None:
        check_id(self.space, "space")
        if self.scope not in SCOPES:
            raise ValueError(f"scope must be one of {SCOPES}")
        check_id(self.record, "record")
        check_id(self.revision, "revision")
        if self.base is not None:
            check_id(self.base, "base")
        check_int(self.key_version, MAX_KEY_VERSION, "key_version")
        check_hash(self.device, "device")

    def fields(self) -> dict[str, object]:
        """The routing fields by name."""
        return {"space": self.space, "scope": self.scope, "record": self.record,
                "revision": self.revision, "base": self.base, "key_version": self.key_version,
                "device": self.device}

    def associated_data(self) -> bytes:
        """The AEAD associated data: a label, then the canonical JSON of `fields()`."""
        return self._associated_data

    @cached_property
    def _associated_data(self) -> bytes:
        """Encoded once per routing (the object is frozen)."""
        return AD_LABEL + canonical(self.fields())

    @classmethod
    def from_fields(cls, obj: Mapping[str, Any]) -> Routing:
        """The routing fields of a decoded JSON object (bytes as base64url); ValueError."""
        return cls(space=obj["space"], scope=obj["scope"], record=obj["record"],
                   revision=obj["revision"], base=obj["base"], key_version=obj["key_version"],
                   device=b64decode(obj["device"], "device"))


_ENVELOPE_KEYS = {"space", "scope", "record", "revision", "base", "key_version", "device",
                  "seq", "prev", "ciphertext_sha256", "signature"}


@dataclass(frozen=True)
class Envelope:
    """An item's routing fields, its place in its device's chain and its ciphertext's hash,
    signed by the device (purpose `item`)."""

    routing: Routing
    seq: int
    """The item's number in its device's chain in this space (0 first)."""
    prev: bytes
    """The hash of the device's previous item in this space (ZERO_HASH for seq 0)."""
    ciphertext_sha256: bytes
    signature: bytes = b""

    def __post_init__(self) -> None:
        check_int(self.seq, MAX_SEQ, "seq")
        check_hash(self.prev, "prev")
        check_hash(self.ciphertext_sha256, "ciphertext_sha256")
        if not isinstance(self.signature, bytes):
            raise ValueError("signature must be bytes")

    def context(self) -> dict[str, object]:
        """What the signature covers: every field but the signature."""
        return self.routing.fields() | {"seq": self.seq, "prev": self.prev,
                                        "ciphertext_sha256": self.ciphertext_sha256}

    def hash(self) -> bytes:
        """The item's hash (what the next item's `prev` and a chain head name)."""
        return self._hash

    @cached_property
    def _hash(self) -> bytes:
        """Encoded and hashed once per envelope (the object is frozen)."""
        return hashlib.sha256(HASH_LABEL + canonical(self.context())).digest()

    def sign(self, key: SigningKey) -> Envelope:
        """This envelope signed by `key`, which must be the routing's device."""
        if key.verify_key().key_id() != self.routing.device:
            raise ValueError("an envelope is signed by the device it names")
        return replace(self, signature=key.sign(Purpose.ITEM, self.context()))

    def verify(self, key: VerifyKey) -> None:
        """Return if `key` is the envelope's device and its signature verifies; else ItemError."""
        if key.key_id() != self.routing.device:
            raise ItemError(Breach.OTHER_DEVICE)
        try:
            key.verify(Purpose.ITEM, self.context(), self.signature)
        except BadSignature:
            raise ItemError(Breach.FORGED) from None

    def to_json(self) -> bytes:
        """The envelope as canonical JSON, signature included."""
        return self._json

    @cached_property
    def _json(self) -> bytes:
        """Encoded once per envelope (the object is frozen)."""
        return canonical(self.context() | {"signature": self.signature, "v": FORMAT})

    @classmethod
    def from_json(cls, data: bytes | str) -> Envelope:
        """The envelope `to_json` wrote; ItemError (malformed) for anything else."""
        try:
            obj = load_object(data, _ENVELOPE_KEYS, "envelope")
            return cls(routing=Routing.from_fields(obj), seq=obj["seq"],
                       prev=b64decode(obj["prev"], "prev"),
                       ciphertext_sha256=b64decode(obj["ciphertext_sha256"], "ciphertext_sha256"),
                       signature=signature(obj["signature"]))
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
            raise ItemError(Breach.MALFORMED) from exc


@dataclass(frozen=True)
class Item:
    """A signed envelope and the ciphertext it names."""

    envelope: Envelope
    ciphertext: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.envelope, Envelope) or not isinstance(self.ciphertext, bytes):
            raise ValueError("an item is an Envelope and bytes")

    def check(self, key: VerifyKey) -> None:
        """The envelope verifies for `key` and names this ciphertext; else ItemError."""
        self.envelope.verify(key)
        if hashlib.sha256(self.ciphertext).digest() != self.envelope.ciphertext_sha256:
            raise ItemError(Breach.SWAPPED)

    def hash(self) -> bytes:
        """The envelope's hash."""
        return self.envelope.hash()


_HEAD_KEYS = {"space", "device", "seq", "item", "signature"}


@dataclass(frozen=True)
class ChainHead:
    """A device's newest item in a space, signed after a push (purpose `chain-head`)."""

    space: str
    device: bytes
    seq: int
    item: bytes
    """The hash of the device's item at `seq`."""
    signature: bytes = b""

    def __post_init__(self) -> None:
        check_id(self.space, "space")
        check_hash(self.device, "device")
        check_int(self.seq, MAX_SEQ, "seq")
        check_hash(self.item, "item")
        if not isinstance(self.signature, bytes):
            raise ValueError("signature must be bytes")

    def context(self) -> dict[str, object]:
        """What the signature covers."""
        return {"space": self.space, "device": self.device, "seq": self.seq, "item": self.item}

    def sign(self, key: SigningKey) -> ChainHead:
        """This head signed by `key`, which must be its device."""
        if key.verify_key().key_id() != self.device:
            raise ValueError("a chain head is signed by its device")
        return replace(self, signature=key.sign(Purpose.CHAIN_HEAD, self.context()))

    def verify(self, key: VerifyKey) -> None:
        """Return if `key` is the head's device and its signature verifies; else ItemError."""
        if key.key_id() != self.device:
            raise ItemError(Breach.OTHER_DEVICE)
        try:
            key.verify(Purpose.CHAIN_HEAD, self.context(), self.signature)
        except BadSignature:
            raise ItemError(Breach.FORGED) from None

    def to_json(self) -> bytes:
        """The head as canonical JSON."""
        return canonical(self.context() | {"signature": self.signature, "v": FORMAT})

    @classmethod
    def from_json(cls, data: bytes | str) -> ChainHead:
        """The head `to_json` wrote; ItemError (malformed) for anything else."""
        try:
            obj = load_object(data, _HEAD_KEYS, "chain head")
            return cls(space=obj["space"], device=b64decode(obj["device"], "device"),
                       seq=obj["seq"], item=b64decode(obj["item"], "item"),
                       signature=signature(obj["signature"]))
        except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
            raise ItemError(Breach.MALFORMED) from exc
