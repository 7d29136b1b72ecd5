"""The API's request and response bodies (pydantic): every input checked before the store.

Ids are 1 to 64 characters of base64url's alphabet (random ids chosen by the clients). Binary
values travel as base64url text without padding (like `msante.sync.crypto.canonical`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PrivateAttr,
    WithJsonSchema,
    model_validator,
)

from msante.sync.items import ChainHead, ItemError
from msante.sync.items import Envelope as ItemEnvelope
from msante.sync.server.settings import Limits

ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
_B64 = re.compile(r"[A-Za-z0-9_-]*")
DEFAULTS = Limits()
MAX_BATCH = 10_000  # a ceiling for the model; the configured limit (413) is lower

Id = Annotated[str, Field(pattern=ID_PATTERN, description="1 to 64 of A-Z a-z 0-9 _ -")]


def b64encode(data: bytes) -> str:
    """base64url without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """Strict base64url without padding; ValueError otherwise."""
    if not _B64.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url text without padding")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error:
        raise ValueError("not base64url text without padding") from None


def _decoder(max_bytes: int) -> Any:
    """A validator decoding base64url text of at most `max_bytes` decoded bytes."""
    def check(value: Any) -> bytes:
        if isinstance(value, bytes):
            return value
        if not isinstance(value, str):
            raise ValueError("expected base64url text")
        if len(value) > (max_bytes * 4 + 2) // 3:
            raise ValueError(f"longer than {max_bytes} bytes")
        return b64decode(value)
    return check


def _schema(max_bytes: int, description: str) -> WithJsonSchema:
    """The JSON schema of base64url text of at most `max_bytes` decoded bytes."""
    return WithJsonSchema({"type": "string", "format": "base64url", "description": description,
                           "maxLength": (max_bytes * 4 + 2) // 3})


_out = PlainSerializer(b64encode, return_type=str)
Hash = Annotated[bytes, BeforeValidator(_decoder(32)), _out,
                 _schema(32, "a SHA-256 digest (32 bytes)")]
PublicKey = Annotated[bytes, BeforeValidator(_decoder(8192)), _out,
                      _schema(8192, "a public signing key (msante.sync.crypto.VerifyKey)")]
Bundle = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_bundle_bytes)), _out,
                   _schema(DEFAULTS.max_bundle_bytes, "a device's public key bundle (opaque)")]
Signature = Annotated[bytes, BeforeValidator(_decoder(16384)), _out,
                      _schema(16384, "a signature (msante.sync.crypto)")]
Envelope = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_envelope_bytes)), _out,
                     _schema(DEFAULTS.max_envelope_bytes, "the device-signed envelope")]
SignedHead = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_head_bytes)), _out,
                       _schema(DEFAULTS.max_head_bytes, "the device-signed chain head")]
Ciphertext = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_item_bytes)), _out,
                       _schema(DEFAULTS.max_item_bytes, "the sealed item")]


class Strict(BaseModel):
    """Unknown fields are refused."""

    model_config = ConfigDict(extra="forbid")


class Health(Strict):
    """`GET /v1/health`."""

    status: str
    server: str = Field(description="this server's id, which login signatures name")
    api: str


class Register(Strict):
    """A new account and its first device."""

    account: Id
    device: Id
    signing_key: PublicKey
    bundle: Bundle


class ChallengeRequest(Strict):
    """Ask for a login challenge."""

    account: Id
    device: Id


class Challenge(Strict):
    """A single-use login challenge."""

    challenge: str
    expires: int = Field(description="Unix seconds")


class Login(Strict):
    """The device's signature over the challenge (purpose `login`)."""

    account: Id
    device: Id
    challenge: Id
    signature: Signature


class Token(Strict):
    """A short-lived bearer token."""

    token: str
    expires: int = Field(description="Unix seconds")


class NewSpace(Strict):
    """Create a space (the caller becomes its owner)."""

    space: Id


class ItemIn(Strict):
    """One item of a push: routing metadata, the signed envelope and the ciphertext.

    The envelope must be an item envelope (`msante.sync.items.Envelope.to_json()`) whose
    fields are the item's: the server reads it, never checks its signature, and keeps its
    hash (what the device's next item names as `prev_hash`).
    """

    record: Id
    revision: Id = Field(description="random, chosen by the client; a retry reuses it")
    base: Id | None = Field(description="the revision this one replaces; null for a new record")
    key_version: int = Field(ge=0, le=2**31 - 1)
    device: Id
    device_seq: int = Field(ge=0, le=2**53 - 1,
                            description="the device's item number in this space, from 0")
    prev_hash: Hash = Field(description="the hash of the device's previous item in this "
                                        "space (32 zero bytes for device_seq 0)")
    ciphertext_sha256: Hash
    envelope: Envelope
    ciphertext: Ciphertext
    _hash: bytes = PrivateAttr(default=b"")

    @model_validator(mode="after")
    def _digest_matches(self) -> ItemIn:
        """The ciphertext is the one its digest names and the envelope says what the item
        says (transport checks: no signature is verified here)."""
        if hashlib.sha256(self.ciphertext).digest() != self.ciphertext_sha256:
            raise ValueError("ciphertext_sha256 is not the SHA-256 of ciphertext")
        if len(self.ciphertext_sha256) != 32 or len(self.prev_hash) != 32:
            raise ValueError("a hash is 32 bytes")
        try:
            env = ItemEnvelope.from_json(self.envelope)
        except ItemError:
            raise ValueError("envelope is not an item envelope") from None
        r = env.routing
        if (env.seq, env.prev, env.ciphertext_sha256, r.record, r.revision, r.base,
                r.key_version) != (self.device_seq, self.prev_hash, self.ciphertext_sha256,
                                   self.record, self.revision, self.base, self.key_version):
            raise ValueError("the envelope's fields are not the item's")
        self._hash = env.hash()
        return self

    @property
    def item_hash(self) -> bytes:
        """The item's hash (`Envelope.hash()`)."""
        return self._hash


class Push(Strict):
    """A batch of items."""

    items: list[ItemIn] = Field(min_length=1, max_length=MAX_BATCH)


class ItemResult(Strict):
    """What became of one pushed item: 201 stored, 200 the same write again, else a problem."""

    revision: str
    status: int
    seq: int | None = None
    type: str | None = None
    detail: str | None = None
    current: str | None = Field(default=None, description="the record's head (on 409 stale)")
    next_seq: int | None = Field(default=None, description="the device's next item number "
                                 "in this space (on 409 device-chain)")
    prev_hash: Hash | None = Field(default=None, description="the hash of the device's last "
                                   "stored item, what the next one names (on 409 device-chain)")


class PushResult(Strict):
    """One result per pushed item, in order."""

    results: list[ItemResult]


class ItemOut(Strict):
    """One item of a pull."""

    seq: int
    record: str
    revision: str
    base: str | None
    key_version: int
    device: str
    device_seq: int
    prev_hash: Hash | None
    ciphertext_sha256: Hash
    envelope: Envelope
    ciphertext: Ciphertext


class Pull(Strict):
    """A page of items after a sync token."""

    items: list[ItemOut]
    next: str = Field(description="the sync token to resume from (opaque)")
    more: bool


class HeadIn(Strict):
    """A device's signed chain head in a space (`msante.sync.items.ChainHead.to_json()`).

    The server reads the head's space, seq and item hash (which must be `seq` and `item`),
    never its signature: readers check that.
    """

    seq: int = Field(ge=0, le=2**53 - 1, description="the device's item number it names")
    item: Hash = Field(description="the hash of the device's item at seq")
    head: SignedHead
    _space: str = PrivateAttr(default="")

    @model_validator(mode="after")
    def _head_matches(self) -> HeadIn:
        """The head is a chain head naming `seq` and `item`."""
        try:
            head = ChainHead.from_json(self.head)
        except ItemError:
            raise ValueError("head is not a chain head") from None
        if (head.seq, head.item) != (self.seq, self.item):
            raise ValueError("the head's seq and item are not the request's")
        self._space = head.space
        return self

    @property
    def space(self) -> str:
        """The space the head names."""
        return self._space


class HeadStored(Strict):
    """A chain head stored."""

    device: str
    seq: int


class HeadOut(Strict):
    """A device's newest signed chain head in a space."""

    device: str
    seq: int
    head: SignedHead
    updated: int = Field(description="Unix seconds")


class Heads(Strict):
    """A page of the devices' chain heads in a space, by device id."""

    heads: list[HeadOut]
    more: bool = Field(description="more heads after the last device listed")


class ChunkInfo(Strict):
    """One stored chunk of a blob."""

    index: int
    size: int
    sha256: Hash


class BlobInfo(Strict):
    """The chunks a blob has (to resume an upload)."""

    blob: str
    chunks: list[ChunkInfo]


class Stored(Strict):
    """A chunk written (or already there with the same bytes)."""

    index: int
    size: int
    sha256: Hash
    created: bool
