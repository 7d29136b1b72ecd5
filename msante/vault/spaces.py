"""Spaces: one per person, each with its own random key, wrapped by the vault's space-wrap key.

A space row is a record like the others (sync columns, change log); destroying a space makes
it and its identity tombstones whose wrapped keys are gone.
"""

from __future__ import annotations

from msante.errors import NotFoundError
from msante.i18n import _
from msante.vault import crypto, records
from msante.vault.db import Connection, now
from msante.vault.descriptors import IDENTITIES, SPACES
from msante.vault.keys import Keys


def create(tx: Connection, keys: Keys, space_id: str, *, device: str | None = None,
           space_key: bytes | None = None) -> bytes:
    """Create a space with a fresh key (or `space_key`), and its identity key pairs; return
    the space key."""
    from msante.vault import identity

    space_key = space_key if space_key is not None else crypto.random_key()
    wrapped = keys.wrap_space_key(space_id, space_key)
    if records.is_record_table(tx, "spaces"):
        records.insert(tx, "spaces", {"wrapped_key": wrapped, "key_version": 1},
                       device=device or records.device_of(tx), rid=space_id)
    else:  # a schema older than migration 7 (only while migrating or in its tests)
        tx.execute("INSERT INTO spaces (id, wrapped_key, key_version, created_at) "
                   "VALUES (?, ?, 1, ?)", (space_id, wrapped, now()))
    if tx.execute("SELECT 1 FROM sqlite_master WHERE name = 'identities'").fetchone():
        identity.create(tx, keys, space_id, space_key, device=device)
    return space_key


def key(conn: Connection, keys: Keys, space_id: str) -> bytes:
    """The space key of `space_id` (DecryptError if its wrapping was tampered with)."""
    row = conn.execute(
        "SELECT wrapped_key, key_version FROM spaces WHERE id = ? AND wrapped_key IS NOT NULL",
        (space_id,)).fetchone()
    if not row:
        raise NotFoundError(_("No space {id}.").format(id=space_id))
    return keys.unwrap_space_key(space_id, bytes(row[0]), int(row[1]))


def destroy(tx: Connection, space_id: str, *, device: str) -> None:
    """Erase a space's keys for good: what they wrapped can no longer be decrypted (the space
    and its identity stay as tombstones, logged for sync)."""
    records.erase(tx, IDENTITIES, space_id, device=device)
    records.erase(tx, SPACES, space_id, device=device)
