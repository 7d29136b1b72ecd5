"""Each person's identity: X25519 (encryption) and Ed25519 (signing) key pairs.

Public halves are what a server and professionals will know; the fingerprint lets two people
compare them out of band. Private halves stay in the vault, wrapped by the space key.
"""

from __future__ import annotations

import hashlib

from msante.vault import crypto
from msante.vault.db import Connection, now
from msante.vault.keys import Keys


def _raw_pair(kind: str) -> tuple[bytes, bytes]:
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ed25519, x25519

    priv = x25519.X25519PrivateKey.generate() if kind == "x25519" \
        else ed25519.Ed25519PrivateKey.generate()
    raw = (ser.Encoding.Raw, ser.PublicFormat.Raw)
    private = priv.private_bytes(ser.Encoding.Raw, ser.PrivateFormat.Raw, ser.NoEncryption())
    return priv.public_key().public_bytes(*raw), private


def _aad(space_id: str, kind: str) -> bytes:
    return crypto.context(purpose="identity-private", space=space_id, kind=kind)


def create(tx: Connection, keys: Keys, space_id: str, space_key: bytes | None = None, *,
           device: str | None = None) -> None:
    """Generate and store the two key pairs of a space."""
    from msante.vault import records, spaces

    skey = space_key if space_key is not None else spaces.key(tx, keys, space_id)
    x_pub, x_priv = _raw_pair("x25519")
    e_pub, e_priv = _raw_pair("ed25519")
    row = {"space": space_id, "x25519_public": x_pub,
           "x25519_private": crypto.wrap_key(skey, x_priv, _aad(space_id, "x25519")),
           "ed25519_public": e_pub,
           "ed25519_private": crypto.wrap_key(skey, e_priv, _aad(space_id, "ed25519"))}
    if records.is_record_table(tx, "identities"):
        records.insert(tx, "identities", row, device=device or records.device_of(tx))
    else:  # the schema of migrations 2 to 6 (while migrating)
        tx.execute(f"INSERT INTO identities ({', '.join(row)}, created_at) VALUES "
                   f"({', '.join('?' * (len(row) + 1))})", [*row.values(), now()])


def public_keys(conn: Connection, space_id: str) -> tuple[bytes, bytes] | None:
    """(X25519 public, Ed25519 public) of a space, if it has an identity."""
    row = conn.execute(
        "SELECT x25519_public, ed25519_public FROM identities WHERE space = ? AND deleted = 0",
        (space_id,)).fetchone()
    return (bytes(row[0]), bytes(row[1])) if row else None


def fingerprint(x_pub: bytes, e_pub: bytes) -> str:
    """A short, readable fingerprint of both public keys (groups of 4 hex digits)."""
    digest = hashlib.sha256(b"msante/v1/fingerprint\0" + x_pub + e_pub).hexdigest()[:32]
    return " ".join(digest[i:i + 4] for i in range(0, 32, 4))
