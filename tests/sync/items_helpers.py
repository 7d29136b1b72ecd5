"""Shared fixtures of the item tests: device keys, scope keys, records, chains of items."""

from __future__ import annotations

import os
import uuid
from typing import Any

from msante.sync.crypto import SigningKey
from msante.sync.items import (
    ZERO_HASH,
    ChainHead,
    Item,
    Routing,
    new_revision_id,
    write_item,
)

ALICE = SigningKey.generate()        # a writer device of the space
BOB = SigningKey.generate()          # another writer device
MALLORY = SigningKey.generate()      # a device of the server's own
SPACE = "h-4f2a9c"
OTHER_SPACE = "h-77b01e"
SCOPE_KEY = os.urandom(32)


def key_id(key: SigningKey) -> bytes:
    """The key id an envelope names its device by."""
    return key.verify_key().key_id()


def measurement(note: str | None = None, value: float = 72.5,
                rid: str | None = None) -> dict[str, Any]:
    """A measurement row as its descriptor serialises it."""
    return {"id": rid or str(uuid.uuid4()), "kind": "weight", "value": value, "value2": None,
            "unit": "kg", "at": "2026-12-01T08:00:00+00:00", "note": note,
            "entered": "2026-12-01T08:00:03.123456+00:00", "provenance": "manual",
            "external_id": None}


def routing(record: dict[str, Any], *, signer: SigningKey = ALICE, space: str = SPACE,
            scope: str = "measurements", base: str | None = None, key_version: int = 1,
            revision: str | None = None) -> Routing:
    """The routing fields of a new revision of `record`."""
    return Routing(space=space, scope=scope, record=record["id"],
                   revision=revision or new_revision_id(), base=base,
                   key_version=key_version, device=key_id(signer))


def chain(signer: SigningKey, count: int, *, space: str = SPACE, start: int = 0,
          prev: bytes = ZERO_HASH, key_version: int = 1) -> list[Item]:
    """`count` items of one device in one space, chained from `start`."""
    items = []
    for seq in range(start, start + count):
        record = measurement(note=f"n{seq}")
        item = write_item(record, "measurements", SCOPE_KEY,
                          routing(record, signer=signer, space=space,
                                  key_version=key_version),
                          signer=signer, seq=seq, prev=prev)
        items.append(item)
        prev = item.hash()
    return items


def head_of(signer: SigningKey, item: Item) -> ChainHead:
    """The signed chain head naming `item`."""
    envelope = item.envelope
    return ChainHead(space=envelope.routing.space, device=key_id(signer), seq=envelope.seq,
                     item=item.hash()).sign(signer)
