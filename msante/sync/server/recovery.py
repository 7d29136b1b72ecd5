"""Account recovery bundles: one per account, opaque, found by a lookup without a token.

A device of the account stores the bundle (sealed to a key derived from the recovery key,
which the server never sees), the **lookup** (an HKDF output of the recovery key: 32 bytes as
base64url) and which device of the account is the recovery device. Storing again replaces
it (a re-seal after a key rotation); the size difference is charged to the account's quota.
Anyone holding the lookup may read the bundle: a lookup is as hard to guess as the recovery
key, and the bundle opens only with that key. An unknown lookup is the same 404 as any other.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, insert, select, update

from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.problems import Conflict, NotFound, Problem
from msante.sync.server.settings import Limits
from msante.sync.server.store import charge, now


@dataclass(frozen=True)
class Bundle:
    """A stored recovery bundle and what the server knows of it."""

    account: str
    lookup: str
    device: str
    signer: bytes
    bundle: bytes
    updated: int


class RecoveryStore:
    """Put and get an account's recovery bundle."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def put(self, account: str, lookup: str, device: str, signer: bytes,
            bundle: bytes) -> bool:
        """Store (or replace) the account's bundle: True if the account had none."""
        r, d = t.recovery_bundles.c, t.devices.c
        values = {"lookup": lookup, "device_id": device, "signer": signer, "bundle": bundle,
                  "updated_at": now()}
        with writing(self.engine) as conn:
            conn.execute(select(t.accounts.c.account_id).where(  # one writer per account
                t.accounts.c.account_id == account).with_for_update())
            active = conn.scalar(select(d.device_id).where(
                d.account_id == account, d.device_id == device, d.revoked_at.is_(None)))
            if active is None:
                raise Problem(422, "recovery-device", "The recovery device is not an active "
                                                      "device of this account.")
            other = conn.scalar(select(r.account_id).where(r.lookup == lookup))
            if other is not None and other != account:
                raise Conflict("This recovery lookup is another account's.",
                               "recovery-lookup-taken")
            old = conn.scalar(select(r.bundle).where(r.account_id == account))
            charge(conn, account, len(bundle) - (len(old) if old is not None else 0),
                   self.limits.quota_bytes)
            if old is None:
                conn.execute(insert(t.recovery_bundles).values(account_id=account, **values))
                return True
            conn.execute(update(t.recovery_bundles).where(r.account_id == account)
                         .values(**values))
        return False

    def get(self, account: str) -> Bundle:
        """The account's bundle; NotFound when it has none."""
        return self._one(t.recovery_bundles.c.account_id == account)

    def find(self, lookup: str) -> Bundle:
        """The bundle stored under `lookup`; the same NotFound whatever the reason."""
        return self._one(t.recovery_bundles.c.lookup == lookup)

    def _one(self, where: object) -> Bundle:
        r = t.recovery_bundles.c
        with reading(self.engine) as conn:
            row = conn.execute(select(r.account_id, r.lookup, r.device_id, r.signer, r.bundle,
                                      r.updated_at).where(where)).first()  # type: ignore[arg-type]
        if row is None:
            raise NotFound("No recovery bundle here.")
        return Bundle(str(row.account_id), str(row.lookup), str(row.device_id),
                      bytes(row.signer), bytes(row.bundle), int(row.updated_at))
