"""One signed, hash-linked chain entry: the wire format shared by account and space chains.

An entry is the canonical (RFC 8785) JSON object

    {"body": {...}, "chain": "account:<id>" | "space:<id>", "checkpoint": "<note>" | null,
     "kind": "<kind>", "prev": b64url(32), "seq": n, "signature": b64url(3374),
     "signer": b64url(32)}

(base64url without padding). The signature is `SigningKey.sign(purpose, context)` where the
purpose is ACCOUNT_CHAIN or SPACE_CHAIN after the chain id's prefix and the context is the
same object without "signature". The entry's hash, which the next entry's `prev` holds, is
SHA-256(b"msante/v1/chain-entry\\0" + to_json()): it covers the signature too.
`from_json` accepts only the exact bytes `to_json` writes (ValueError otherwise).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import NoReturn

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync.crypto import BadSignature, Purpose, SigningKey, VerifyKey, canonical
from msante.sync.signing import SIGNATURE_LEN

ZERO = bytes(32)
HASH_LABEL = b"msante/v1/chain-entry\0"
MAX_JSON = 256 * 1024
MAX_CHECKPOINT = 8 * 1024
MAX_SEQ = 2**53 - 1
ACCOUNT_KINDS = ("genesis", "add-device", "remove-device", "key-bundle")
SPACE_KINDS = ("genesis", "add-member", "remove-member", "add-writer", "remove-writer",
               "rotate")
KINDS = frozenset(ACCOUNT_KINDS + SPACE_KINDS)
FIELDS = frozenset({"chain", "seq", "prev", "kind", "body", "signer", "signature",
                    "checkpoint"})
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
CHAIN_RE = re.compile(r"(account|space):[A-Za-z0-9_-]{1,64}")
PURPOSES = {"account": Purpose.ACCOUNT_CHAIN, "space": Purpose.SPACE_CHAIN}


class ChainError(IntegrityError):
    """A chain that breaks a rule (exit 6); `reason` is a stable code, `seq` the entry."""

    def __init__(self, reason: str, message: str, seq: int | None = None) -> None:
        super().__init__(message)
        self.reason, self.seq = reason, seq


def _messages() -> dict[str, str]:
    """The user-facing message of each reason (translated when asked)."""
    return {
        "forged-signature": _("Entry {seq} of chain {chain} has a signature that does not "
                              "verify: it was forged or altered."),
        "unknown-signer": _("Entry {seq} of chain {chain} is signed by a key the chain "
                            "never listed: the server added it."),
        "removed-signer": _("Entry {seq} of chain {chain} is signed by a device that was "
                            "removed before."),
        "not-allowed": _("Entry {seq} of chain {chain} was made by someone not allowed to: "
                         "{detail}."),
        "gap": _("Chain {chain} is missing entry {seq}, or its entries are out of order."),
        "fork": _("Chain {chain} has two different entries {seq}: the server forked it."),
        "duplicate": _("Chain {chain} repeats entry {seq}: the server replayed it."),
        "wrong-prev": _("Entry {seq} of chain {chain} does not follow the entry before it: "
                        "the history was rewritten."),
        "wrong-chain": _("Entry {seq} belongs to chain {detail}, not to chain {chain}."),
        "no-rotation": _("Entry {seq} of chain {chain} removes someone without new keys: "
                         "{detail}."),
        "read-only-writer": _("Entry {seq} of chain {chain} lets a read-only member write: "
                              "{detail}."),
        "unexpected-key": _("Chain {chain} does not start with the expected device key."),
        "malformed": _("Entry {seq} of chain {chain} is malformed: {detail}."),
        "empty": _("Chain {chain} has no entries."),
        "rollback": _("Chain {chain} went back from {detail} to {seq} entries: entries were "
                      "removed."),
        "rewritten": _("Chain {chain} no longer starts with the entries seen before: the "
                       "history was rewritten at entry {seq}."),
    }


def fail(reason: str, chain: str, seq: int | None, detail: object = "") -> NoReturn:
    """Raise the ChainError for `reason` at entry `seq` of `chain`."""
    message = _messages()[reason].format(chain=chain, seq=seq, detail=detail)
    raise ChainError(reason, message, seq)


def b64e(raw: bytes) -> str:
    """Unpadded base64url, as `canonical` writes bytes."""
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def b64d(text: object, what: str, length: int | None = None) -> bytes:
    """The bytes of unpadded base64url `text`, in its one canonical spelling; ValueError."""
    if not isinstance(text, str) or not re.fullmatch(r"[A-Za-z0-9_-]*", text):
        raise ValueError(f"{what} must be unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise ValueError(f"{what} must be unpadded base64url") from None
    if b64e(raw) != text:
        raise ValueError(f"{what} is not in canonical base64url")
    if length is not None and len(raw) != length:
        raise ValueError(f"{what} must be {length} bytes")
    return raw


def _freeze(obj: object) -> object:
    """A read-only copy of JSON data: mappings as MappingProxyType, lists as tuples."""
    if isinstance(obj, dict):
        return MappingProxyType({key: _freeze(value) for key, value in obj.items()})
    if isinstance(obj, list):
        return tuple(_freeze(value) for value in obj)
    return obj


def _check_bytes(value: object, what: str, length: int | None) -> None:
    """ValueError unless `value` is bytes (of `length`, when given)."""
    if not isinstance(value, bytes):
        raise ValueError(f"{what} must be bytes")
    if length is not None and len(value) != length:
        raise ValueError(f"{what} must be {length} bytes")


@dataclass(frozen=True, eq=False)
class ChainEntry:
    """One entry; `body` is frozen JSON data (bytes given in it become base64url strings)."""

    chain: str
    seq: int
    prev: bytes
    kind: str
    body: Mapping[str, object]
    signer: bytes
    signature: bytes = b""
    checkpoint: str | None = None
    _json: bytes = field(default=b"", init=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.chain, str) or not CHAIN_RE.fullmatch(self.chain):
            raise ValueError("a chain id is 'account:<id>' or 'space:<id>'")
        if type(self.seq) is not int or not 0 <= self.seq <= MAX_SEQ:
            raise ValueError("seq must be an integer from 0 to 2**53 - 1")
        _check_bytes(self.prev, "prev", 32)
        _check_bytes(self.signer, "signer", 32)
        _check_bytes(self.signature, "signature", None)
        if not isinstance(self.kind, str) or self.kind not in KINDS:
            raise ValueError(f"unknown chain entry kind {self.kind!r}")
        if not isinstance(self.body, Mapping):
            raise ValueError("body must be a mapping")
        if self.checkpoint is not None and (not isinstance(self.checkpoint, str)
                                            or len(self.checkpoint) > MAX_CHECKPOINT):
            raise ValueError("checkpoint must be None or a note text of at most 8 KiB")
        body = json.loads(canonical(self.body))
        object.__setattr__(self, "body", _freeze(body))
        object.__setattr__(self, "_json", canonical(self._fields(with_signature=True)))

    def _fields(self, *, with_signature: bool) -> dict[str, object]:
        """The entry as a mapping, with or without its signature."""
        out: dict[str, object] = {"chain": self.chain, "seq": self.seq, "prev": self.prev,
                                  "kind": self.kind, "body": self.body, "signer": self.signer,
                                  "checkpoint": self.checkpoint}
        if with_signature:
            out["signature"] = self.signature
        return out

    @property
    def purpose(self) -> Purpose:
        """ACCOUNT_CHAIN or SPACE_CHAIN, after the chain id's prefix."""
        return PURPOSES[self.chain.split(":", 1)[0]]

    def signed_context(self) -> dict[str, object]:
        """What the signature covers: the entry without its signature."""
        return self._fields(with_signature=False)

    def to_json(self) -> bytes:
        """The canonical JSON bytes of the whole entry."""
        return self._json

    def hash(self) -> bytes:
        """SHA-256 over a label and `to_json()`: what the next entry's `prev` holds."""
        return hashlib.sha256(HASH_LABEL + self._json).digest()

    def check_signature(self, key: VerifyKey) -> None:
        """Return if `key` signed this entry; ChainError 'forged-signature' otherwise."""
        try:
            key.verify(self.purpose, self.signed_context(), self.signature)
        except BadSignature:
            fail("forged-signature", self.chain, self.seq)

    @classmethod
    def create(cls, key: SigningKey, chain: str, seq: int, prev: bytes, kind: str,
               body: Mapping[str, object], checkpoint: str | None = None) -> ChainEntry:
        """A new entry signed by `key`."""
        unsigned = cls(chain, seq, prev, kind, body, key.verify_key().key_id(),
                       checkpoint=checkpoint)
        signature = key.sign(unsigned.purpose, unsigned.signed_context())
        return cls(chain, seq, prev, kind, unsigned.body, unsigned.signer, signature,
                   checkpoint)

    @classmethod
    def from_json(cls, data: bytes | str) -> ChainEntry:
        """The entry `to_json` wrote; ValueError for anything else, even re-spaced JSON."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        if not isinstance(data, bytes) or len(data) > MAX_JSON:
            raise ValueError("a chain entry is at most 256 KiB of JSON bytes")
        fields = _parse(data)
        entry = cls(fields["chain"], fields["seq"], b64d(fields["prev"], "prev", 32),  # type: ignore[arg-type]
                    fields["kind"], fields["body"],  # type: ignore[arg-type]
                    b64d(fields["signer"], "signer", 32),
                    b64d(fields["signature"], "signature", SIGNATURE_LEN),
                    fields["checkpoint"])  # type: ignore[arg-type]
        if entry.to_json() != data:
            raise ValueError("a chain entry must be in canonical JSON")
        return entry

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChainEntry) and other._json == self._json

    def __hash__(self) -> int:
        return hash(self._json)


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key in a chain entry")
    return out


def _no_constant(name: str) -> NoReturn:
    """Refuse NaN and the infinities."""
    raise ValueError(f"{name} is not JSON")


def _parse(data: bytes) -> dict[str, object]:
    """The top-level object of an entry, with exactly the entry's fields; ValueError."""
    try:
        obj = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except RecursionError:
        raise ValueError("a chain entry is nested too deeply") from None
    if not isinstance(obj, dict) or set(obj) != FIELDS:
        raise ValueError("a chain entry is an object with exactly the entry's fields")
    if not isinstance(obj["body"], dict):
        raise ValueError("body must be an object")
    return obj


def check_link(previous: Sequence[ChainEntry], entry: ChainEntry, chain: str) -> None:
    """ChainError unless `entry` is the next entry of `chain` after `previous`."""
    expected = len(previous)
    if entry.chain != chain:
        fail("wrong-chain", chain, entry.seq, entry.chain)
    if entry.seq < expected:
        same = previous[entry.seq] == entry
        fail("duplicate" if same else "fork", chain, entry.seq)
    if entry.seq > expected:
        fail("gap", chain, expected)
    if entry.prev != (previous[-1].hash() if previous else ZERO):
        fail("wrong-prev", chain, entry.seq)


def field_of(entry: ChainEntry, name: str, kind: type,
             body: Mapping[str, object] | None = None) -> object:
    """`body[name]` (the entry's body by default) if it is a `kind`; ChainError otherwise."""
    value = (entry.body if body is None else body).get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        fail("malformed", entry.chain, entry.seq,
             _("{name} is missing or of the wrong type").format(name=name))
    return value


def exact_fields(entry: ChainEntry, names: set[str],
                 body: Mapping[str, object] | None = None) -> None:
    """ChainError 'malformed' unless the body (or `body`) has exactly these fields."""
    keys = set(entry.body if body is None else body)
    if keys != names:
        fail("malformed", entry.chain, entry.seq,
             _("unexpected or missing fields: {names}").format(
                 names=", ".join(sorted(keys ^ names))))


def key_field(entry: ChainEntry, name: str, length: int | None = None,
              body: Mapping[str, object] | None = None) -> bytes:
    """A base64url field of the body (or `body`) as bytes; ChainError 'malformed' otherwise."""
    try:
        return b64d((entry.body if body is None else body).get(name), name, length)
    except ValueError:
        fail("malformed", entry.chain, entry.seq,
             _("{name} is not base64url of the right length").format(name=name))
