"""Items: record revisions sealed under a scope key, in signed envelopes chained per device.

    from msante.sync.items import Routing, write_item, read_item, DeviceLog, classify

A record revision leaves the vault as an item (DESIGN.md, "Items"; docs/architecture.md,
"Items (issue 12)"):

- `payload`: `seal_item` / `open_item` — the table name, the record's columns, its id,
  revision, base and deleted flag, padded (Padmé) and sealed with AES-256-GCM under the scope
  key of (space, scope, key version); the routing fields are the associated data;
- `envelope`: `Routing`, `Envelope` (routing + device sequence number + previous item hash +
  ciphertext SHA-256, signed with purpose `item`), `Item`, `ChainHead` (purpose `chain-head`);
- `log`: `DeviceLog` — one device's items in one space, accepted only in an unbroken chain up
  to its newest signed head;
- `merge`: `classify` — fast-forward, already-have, conflict or stale-fork-forged.

Pure: no I/O, no server, no vault (it takes plain mappings). Everything read from the network
that is wrong raises `ItemError` (an IntegrityError, exit 6) with its `breach`.
"""

from __future__ import annotations

from msante.sync.items.envelope import (
    SCOPES,
    ZERO_HASH,
    ChainHead,
    Envelope,
    Item,
    Routing,
)
from msante.sync.items.errors import Breach, ItemError
from msante.sync.items.log import DeviceLog
from msante.sync.items.merge import APPEND_ONLY, Lineage, Verdict, classify
from msante.sync.items.payload import (
    Revision,
    new_revision_id,
    open_item,
    read_item,
    seal_item,
    write_item,
)

__all__ = [
    "APPEND_ONLY",
    "SCOPES",
    "ZERO_HASH",
    "Breach",
    "ChainHead",
    "DeviceLog",
    "Envelope",
    "Item",
    "ItemError",
    "Lineage",
    "Revision",
    "Routing",
    "Verdict",
    "classify",
    "new_revision_id",
    "open_item",
    "read_item",
    "seal_item",
    "write_item",
]
