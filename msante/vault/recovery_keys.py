"""What the vault keeps of its recovery key for sync: a public key and a lookup, never more.

From the recovery key's 160-bit secret, HKDF-SHA256 (salt `msante/v1/recovery`, one label
each, `msante.vault.crypto.hkdf`) derives:

    seal key   0x01 | HKDF(…, "recovery/seal", 96 bytes)   — msante.sync.sealing's private
               layout: ML-KEM-768 seed d||z (64) | X25519 private key (32)
    lookup     base64url(HKDF(…, "recovery/lookup", 32 bytes)) — where the server keeps the
               account's recovery bundle (GET /v1/recovery/{lookup})

The vault stores only the seal key's public half (the `OpenKey` bytes of msante.sync.sealing,
1217 bytes) and the lookup, in the one-row table `sync_recovery` (migration 12), so that
every device can re-seal the recovery bundle after a rotation without the recovery key. The
public half is computed here with `cryptography` directly (the vault imports nothing of
msante.sync); tests/sync/test_recovery_keys.py checks it is the sync's `OpenKey` of the same
private bytes.
"""

from __future__ import annotations

import base64

from msante.vault import crypto
from msante.vault.db import Connection, now

SALT = b"msante/v1/recovery"
VERSION = b"\x01"


def seal_private(secret: bytes) -> bytes:
    """The recovery HPKE key's private bytes (msante.sync.sealing's 97-byte layout)."""
    return VERSION + crypto.hkdf(secret, "recovery/seal", salt=SALT, length=96)


def lookup(secret: bytes) -> str:
    """Where the server keeps the recovery bundle: 32 derived bytes, base64url (43 chars)."""
    raw = crypto.hkdf(secret, "recovery/lookup", salt=SALT, length=32)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def open_key(secret: bytes) -> bytes:
    """The public half of `seal_private(secret)`: 0x01 | ML-KEM-768 key | X25519 key."""
    from cryptography.hazmat.primitives.asymmetric import mlkem, x25519

    private = seal_private(secret)
    ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(private[1:65]).public_key()
    x = x25519.X25519PrivateKey.from_private_bytes(private[65:]).public_key()
    return VERSION + ml.public_bytes_raw() + x.public_bytes_raw()


def remember(tx: Connection, secret: bytes) -> None:
    """Keep the public key and lookup of a (new) recovery key, forgetting any recovery device
    made for the previous one, but not where its bundle was stored (the next re-seal deletes
    it there); inside a write transaction."""
    row = tx.execute("SELECT posted_lookup FROM sync_recovery").fetchone()
    tx.execute("DELETE FROM sync_recovery")
    tx.execute("INSERT INTO sync_recovery (one, open_key, lookup, posted_lookup, created_at) "
               "VALUES (1, ?, ?, ?, ?)",
               (open_key(secret), lookup(secret), row[0] if row else None, now()))


def has_table(conn: Connection) -> bool:
    """Whether the schema has `sync_recovery` (a vault made at an older migration has not)."""
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                        "name = 'sync_recovery'").fetchone() is not None


def forget(tx: Connection) -> None:
    """Forget the recovery key's public side (a rotation resumed without the new key)."""
    tx.execute("DELETE FROM sync_recovery")


def known(conn: Connection) -> bool:
    """Whether the vault holds its recovery key's public key."""
    return conn.execute("SELECT 1 FROM sync_recovery").fetchone() is not None
