"""Spaces: one per person, each with its own random key, wrapped by the vault's space-wrap key."""

from __future__ import annotations

from msante.errors import NotFoundError
from msante.i18n import _
from msante.vault import crypto
from msante.vault.db import Connection, now
from msante.vault.keys import Keys


def create(tx: Connection, keys: Keys, space_id: str) -> bytes:
    """Create a space with a fresh key, and its identity key pairs; return the space key."""
    from msante.vault import identity

    space_key = crypto.random_key()
    tx.execute(
        "INSERT INTO spaces (id, wrapped_key, key_version, created_at) VALUES (?, ?, 1, ?)",
        (space_id, keys.wrap_space_key(space_id, space_key), now()),
    )
    if tx.execute("SELECT 1 FROM sqlite_master WHERE name = 'identities'").fetchone():
        identity.create(tx, keys, space_id, space_key)
    return space_key


def key(conn: Connection, keys: Keys, space_id: str) -> bytes:
    """The space key of `space_id` (DecryptError if its wrapping was tampered with)."""
    row = conn.execute(
        "SELECT wrapped_key, key_version FROM spaces WHERE id = ?", (space_id,)
    ).fetchone()
    if not row:
        raise NotFoundError(_("No space {id}.").format(id=space_id))
    return keys.unwrap_space_key(space_id, bytes(row[0]), int(row[1]))


def destroy(tx: Connection, space_id: str) -> None:
    """Erase a space's keys for good: what they wrapped can no longer be decrypted."""
    tx.execute("DELETE FROM identities WHERE space = ?", (space_id,))
    tx.execute("DELETE FROM spaces WHERE id = ?", (space_id,))
