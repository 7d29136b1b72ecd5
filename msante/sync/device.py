"""This device's sync identity, kept in the vault (table `sync_device`, migration 8).

The device's private keys — a `SigningKey` (Ed25519 + ML-DSA-65) and a `SealKey` (HPKE
ML-KEM-768 + X25519) — are generated here by `create` (called by `msante sync setup`) and
stored only inside the SQLCipher database, never in a file, an argument or a log. The row is
not a record: it is never synced, and it is not in the change log. Every write is audited in
its own transaction (`sync.device.create`, naming the identity it replaces if any, and
`sync.device.ready`).

This is the only module of `msante.sync` that touches the vault.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass

from msante.sync.crypto import SealKey, SigningKey
from msante.vault.db import Connection, now
from msante.vault.store import Store

_COLUMNS = ("server, server_id, insecure, account, device, space, signing_key, seal_key, "
            "state, pushed_seq, last_sync, created_at")


def new_id() -> str:
    """A random id for the server (account, device, space handle): 128 bits, base64url."""
    return secrets.token_urlsafe(16)


@dataclass(frozen=True)
class Device:
    """This device's registration with one server, and its private keys."""

    server: str
    server_id: str
    insecure: bool
    account: str
    device: str
    space: str
    signing: SigningKey
    seal: SealKey
    state: str
    pushed_seq: int
    last_sync: str | None
    created_at: str

    @property
    def ready(self) -> bool:
        """Whether the server has registered this device (setup finished)."""
        return self.state == "ready"

    def fingerprint(self) -> str:
        """Six words naming the device's public signing key, to compare out of band."""
        return self.signing.verify_key().fingerprint()

    def __repr__(self) -> str:  # never the private keys
        return f"Device({self.device!r} of {self.account!r} at {self.server!r}, {self.state})"


def load(conn: Connection) -> Device | None:
    """This vault's sync identity, or None if `sync setup` never ran."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM sync_device").fetchone()
    if row is None:
        return None
    return Device(server=str(row[0]), server_id=str(row[1]), insecure=bool(row[2]),
                  account=str(row[3]), device=str(row[4]), space=str(row[5]),
                  signing=SigningKey.from_private_bytes(bytes(row[6])),
                  seal=SealKey.from_private_bytes(bytes(row[7])), state=str(row[8]),
                  pushed_seq=int(row[9]), last_sync=row[10], created_at=str(row[11]))


def create(store: Store, server: str, server_id: str, *, insecure: bool = False,
           space: str | None = None) -> Device:
    """Generate this device's keys and ids for `server`, replacing any earlier identity;
    `space` is the owner's space (a random handle when the vault has no owner yet)."""
    signing, seal = SigningKey.generate(), SealKey.generate()
    # the server knows every device by its key id, so any other device can revoke it
    device = base64.urlsafe_b64encode(signing.verify_key().key_id()).rstrip(b"=").decode()
    values = (server, server_id, int(insecure), new_id(), device, space or new_id(),
              signing.private_bytes(), seal.private_bytes(), "pending", 0, None, now())
    detail = _audit_detail(server, str(values[3]), str(values[4]), signing)
    with store.write() as tx:
        old = load(tx)
        if old is not None:  # its keys are erased with the row
            detail["replaces"] = {"server": old.server, "account": old.account,
                                  "device": old.device, "state": old.state}
        tx.execute("DELETE FROM sync_device")
        tx.execute(f"INSERT INTO sync_device (one, {_COLUMNS}) VALUES "
                   f"(1, {', '.join('?' * len(values))})", values)
        store.log(tx, "sync.device.create", detail=detail)
    found = load(store.conn)
    assert found is not None
    return found


def adopt(store: Store, server: str, server_id: str, account: str, device: str, space: str,
          signing: SigningKey, seal: SealKey, *, insecure: bool = False) -> Device:
    """Keep keys made for a device joining an existing `account` (recovery), as `pending`;
    the vault must have no sync identity yet."""
    values = (server, server_id, int(insecure), account, device, space,
              signing.private_bytes(), seal.private_bytes(), "pending", 0, None, now())
    with store.write() as tx:
        tx.execute(f"INSERT INTO sync_device (one, {_COLUMNS}) VALUES "
                   f"(1, {', '.join('?' * len(values))})", values)
        store.log(tx, "sync.device.create",
                  detail=_audit_detail(server, account, device, signing))
    found = load(store.conn)
    assert found is not None
    return found


def mark_ready(store: Store, device: Device) -> Device:
    """Record that the server registered this device and its space (setup finished)."""
    with store.write() as tx:
        tx.execute("UPDATE sync_device SET state = 'ready'")
        store.log(tx, "sync.device.ready", detail=_audit_detail(
            device.server, device.account, device.device, device.signing))
    found = load(store.conn)
    assert found is not None
    return found


def pending_changes(conn: Connection, device: Device | None) -> int:
    """Rows of the change log the server does not have yet."""
    after = device.pushed_seq if device is not None else 0
    row = conn.execute("SELECT count(*) FROM changes WHERE seq > ?", (after,)).fetchone()
    return int(row[0])


def _audit_detail(server: str, account: str, device: str, key: SigningKey) -> dict[str, object]:
    """What the history says of a change of identity: public facts only."""
    return {"server": server, "account": account, "device": device,
            "fingerprint": key.verify_key().fingerprint()}
