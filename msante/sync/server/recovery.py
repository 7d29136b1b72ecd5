"""Account recovery bundles: one per recovery key of an account's vaults, opaque, found by
their lookup without a token.

A device of the account stores a bundle (sealed to a key derived from its vault's recovery
key, which the server never sees) under its **lookup** (an HKDF output of the recovery key:
32 bytes as base64url), with which device of the account is that key's recovery device.
Storing under the same lookup again replaces it (a re-seal after a key rotation); `replaces`
deletes the bundle of an older recovery key at once; the size difference is charged to the
account's quota. A lookup belongs to one account.
Anyone holding the lookup may read the bundle: a lookup is as hard to guess as the recovery
key, and the bundle opens only with that key. An unknown lookup is the same 404 as any other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, delete, func, insert, select, update

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

    def put(self, account: str, lookup: str, device: str, signer: bytes, bundle: bytes,
            replaces: str | None = None) -> bool:
        """Store (or replace) the account's bundle under `lookup`, deleting the account's
        bundle under `replaces` (an older recovery key's) in the same transaction: True if
        the lookup had none."""
        r = t.recovery_bundles.c
        with writing(self.engine) as conn:
            conn.execute(select(t.accounts.c.account_id).where(  # one writer per account
                t.accounts.c.account_id == account).with_for_update())
            freed = 0
            if replaces is not None and replaces != lookup:
                gone = conn.execute(delete(t.recovery_bundles).where(
                    r.account_id == account, r.lookup == replaces).returning(r.bundle)).first()
                freed = len(gone.bundle) if gone is not None else 0
            self._check(conn, account, lookup, device)  # a refusal rolls the delete back
            old = conn.scalar(select(r.bundle).where(r.account_id == account,
                                                     r.lookup == lookup))
            charge(conn, account, len(bundle) - freed - (len(old) if old is not None else 0),
                   self.limits.quota_bytes)
            values = {"device_id": device, "signer": signer, "bundle": bundle,
                      "updated_at": now()}
            if old is None:
                conn.execute(insert(t.recovery_bundles).values(
                    account_id=account, lookup=lookup, **values))
                return True
            conn.execute(update(t.recovery_bundles).where(
                r.account_id == account, r.lookup == lookup).values(**values))
        return False

    def _check(self, conn: Connection, account: str, lookup: str, device: str) -> None:
        """The device is active in the account; the lookup is not another account's; the
        account stays under its number of bundles."""
        r, d = t.recovery_bundles.c, t.devices.c
        active = conn.scalar(select(d.device_id).where(
            d.account_id == account, d.device_id == device, d.revoked_at.is_(None)))
        if active is None:
            raise Problem(422, "recovery-device", "The recovery device is not an active "
                                                  "device of this account.")
        other = conn.scalar(select(r.account_id).where(r.lookup == lookup))
        if other is not None and other != account:
            raise Conflict("This recovery lookup is another account's.",
                           "recovery-lookup-taken")
        count = conn.scalar(select(func.count()).select_from(t.recovery_bundles).where(
            r.account_id == account)) or 0
        if other is None and count >= self.limits.max_recovery_bundles:
            raise Conflict("This account has too many recovery bundles.", "recovery-limit",
                           limit=self.limits.max_recovery_bundles)

    def of_account(self, account: str) -> list[Bundle]:
        """The account's bundles (one per recovery key of its vaults), by lookup."""
        r = t.recovery_bundles.c
        with reading(self.engine) as conn:
            rows = conn.execute(select(*_COLUMNS).where(r.account_id == account)
                                .order_by(r.lookup)).all()
        return [_bundle(row) for row in rows]

    def find(self, lookup: str) -> Bundle:
        """The bundle stored under `lookup`; the same NotFound whatever the reason."""
        return self._one(t.recovery_bundles.c.lookup == lookup)

    def _one(self, where: object) -> Bundle:
        with reading(self.engine) as conn:
            row = conn.execute(select(*_COLUMNS).where(where)).first()  # type: ignore[arg-type]
        if row is None:
            raise NotFound("No recovery bundle here.")
        return _bundle(row)


_R = t.recovery_bundles.c
_COLUMNS = (_R.account_id, _R.lookup, _R.device_id, _R.signer, _R.bundle, _R.updated_at)


def _bundle(row: Any) -> Bundle:
    return Bundle(str(row.account_id), str(row.lookup), str(row.device_id), bytes(row.signer),
                  bytes(row.bundle), int(row.updated_at))
