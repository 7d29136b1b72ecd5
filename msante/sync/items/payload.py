"""Sealing a record revision into an item's ciphertext, and opening it again.

    ciphertext = 0x01 | nonce (12, random) | AES-256-GCM(scope key, nonce, padded, AD)
    padded     = Padmé(canonical JSON of {"table", "record", "revision", "base", "deleted",
                                          "fields"})
    AD         = b"msante/v1/item-ad\\0" + canonical JSON of the routing fields

The table name, the record's columns (as its descriptor serialises them) and the sizes live
inside; the routing fields are outside but bound as associated data, so a ciphertext moved
under another envelope (another space, record, revision, base, key version, scope or device)
does not open.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from msante.sync.crypto import SigningKey, VerifyKey, canonical, pad, unpad
from msante.sync.items.envelope import FORMAT, Envelope, Item, Routing, strict_json
from msante.sync.items.errors import Breach, ItemError

KEY_LEN = 32
NONCE_LEN = 12
TAG_LEN = 16
OVERHEAD = 1 + NONCE_LEN + TAG_LEN
"""Bytes a ciphertext adds to its padded plaintext."""
_TABLE = re.compile(r"[a-z_][a-z0-9_]{0,63}")
_INNER_KEYS = {"table", "record", "revision", "base", "deleted", "fields"}


def new_revision_id() -> str:
    """A fresh revision id: 128 random bits, base64url (22 characters)."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Revision:
    """A record revision as an item carries it."""

    table: str
    record: str
    revision: str
    base: str | None
    deleted: bool
    fields: Mapping[str, Any] = field(default_factory=dict)
    """The record's id and columns as its descriptor serialises them (JSON values)."""


def _check_plain(value: object, depth: int = 0) -> None:
    """ValueError for bytes or other values a descriptor never serialises to."""
    if depth > 32:
        raise ValueError("a record nests too deeply")
    if value is None or isinstance(value, str | bool | int | float):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValueError("record keys are strings")
            _check_plain(item, depth + 1)
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check_plain(item, depth + 1)
        return
    raise ValueError(f"a record holds JSON values (serialise it first), not "
                     f"{type(value).__name__}")


def _key(scope_key: bytes) -> AESGCM:
    """The AEAD for a 256-bit scope key; ValueError for anything else."""
    if not isinstance(scope_key, bytes) or len(scope_key) != KEY_LEN:
        raise ValueError("a scope key is 32 bytes")
    return AESGCM(scope_key)


def seal_item(record: Mapping[str, Any], table: str, scope_key: bytes, routing: Routing, *,
              deleted: bool = False) -> bytes:
    """The ciphertext of one revision of `record` (a row of `table`, serialised)."""
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise ValueError("table must be a lower-case SQL identifier")
    _check_plain(record)
    if "id" in record and record["id"] != routing.record:
        raise ValueError("the record's id is not the routing's record")
    inner = {"table": table, "record": routing.record, "revision": routing.revision,
             "base": routing.base, "deleted": bool(deleted), "fields": dict(record)}
    nonce = secrets.token_bytes(NONCE_LEN)
    body = _key(scope_key).encrypt(nonce, pad(canonical(inner)), routing.associated_data())
    return bytes([FORMAT]) + nonce + body


def open_item(ciphertext: bytes, scope_key: bytes, routing: Routing) -> Revision:
    """The revision sealed in `ciphertext` under `routing`; ItemError for anything else."""
    aead = _key(scope_key)
    if not isinstance(ciphertext, bytes) or len(ciphertext) < OVERHEAD \
            or ciphertext[0] != FORMAT:
        raise ItemError(Breach.DAMAGED)
    nonce, body = ciphertext[1:1 + NONCE_LEN], ciphertext[1 + NONCE_LEN:]
    try:
        padded = aead.decrypt(nonce, body, routing.associated_data())
    except InvalidTag:
        raise ItemError(Breach.DAMAGED) from None
    try:
        return _revision(unpad(padded), routing)
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError) as exc:
        raise ItemError(Breach.MALFORMED) from exc


def _revision(plain: bytes, routing: Routing) -> Revision:
    """The revision in a decrypted payload, checked against its routing; ValueError."""
    obj = strict_json(plain, _INNER_KEYS, "item payload")
    if (obj["record"], obj["revision"], obj["base"]) != (routing.record, routing.revision,
                                                         routing.base):
        raise ValueError("the payload names another revision than its routing")
    table, deleted, fields = obj["table"], obj["deleted"], obj["fields"]
    if not isinstance(table, str) or not _TABLE.fullmatch(table):
        raise ValueError("bad table name")
    if not isinstance(deleted, bool) or not isinstance(fields, dict):
        raise ValueError("bad deleted flag or fields")
    if fields.get("id", routing.record) != routing.record:
        raise ValueError("the record's id is not the routing's record")
    return Revision(table=table, record=routing.record, revision=routing.revision,
                    base=routing.base, deleted=deleted, fields=fields)


def write_item(record: Mapping[str, Any], table: str, scope_key: bytes, routing: Routing, *,
               signer: SigningKey, seq: int, prev: bytes, deleted: bool = False) -> Item:
    """Seal a revision and sign its envelope: the item a device pushes."""
    ciphertext = seal_item(record, table, scope_key, routing, deleted=deleted)
    envelope = Envelope(routing=routing, seq=seq, prev=prev,
                        ciphertext_sha256=hashlib.sha256(ciphertext).digest())
    return Item(envelope=envelope.sign(signer), ciphertext=ciphertext)


def read_item(item: Item, scope_key: bytes, key: VerifyKey) -> Revision:
    """Check an item's signature and hash, then open it; ItemError for anything wrong."""
    item.check(key)
    return open_item(item.ciphertext, scope_key, item.envelope.routing)
