"""An account's other devices (added and revoked by a device of the account) and its spaces.

A device is added with its public signing key (what the server checks logins with) and its
key bundle (opaque). The same device with the same keys again is the same write (a retry);
an existing device id with other keys is 409 `device-exists`; a revoked device id is never
reused (409 `device-revoked`). Revoking sets `revoked_at` and deletes the device's tokens and
challenges in the same transaction: its tokens stop at once and its logins are refused after.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.problems import Conflict, NotFound, Problem
from msante.sync.server.settings import Limits
from msante.sync.server.store import now


class DeviceStore:
    """Add and revoke an account's devices; list an account's spaces."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def add(self, account: str, device: str, signing_key: bytes, bundle: bytes) -> bool:
        """Register another device of `account`: True if new, False if the same again."""
        try:
            return self._add(account, device, signing_key, bundle)
        except IntegrityError:  # the same device added at the same time (PostgreSQL)
            return self._add(account, device, signing_key, bundle)

    def _add(self, account: str, device: str, signing_key: bytes, bundle: bytes) -> bool:
        """One attempt at `add`."""
        d = t.devices.c
        with writing(self.engine) as conn:
            old = conn.execute(select(d.signing_key, d.bundle, d.revoked_at).where(
                d.account_id == account, d.device_id == device)).first()
            if old is not None:
                if old.revoked_at is not None:
                    raise Conflict("This device id was revoked: a revoked device never comes "
                                   "back.", "device-revoked")
                if (bytes(old.signing_key), bytes(old.bundle)) != (signing_key, bundle):
                    raise Conflict("This device id is already registered with other keys.",
                                   "device-exists")
                return False
            count = conn.scalar(select(func.count()).select_from(t.devices).where(
                d.account_id == account)) or 0
            if count >= self.limits.max_devices:
                raise Conflict("This account has too many devices (revoked ones count).",
                               "device-limit", limit=self.limits.max_devices)
            conn.execute(insert(t.devices).values(
                account_id=account, device_id=device, signing_key=signing_key, bundle=bundle,
                created_at=now()))
        return True

    def revoke(self, account: str, device: str) -> int:
        """Revoke `device` of `account` (its tokens end now); when it was revoked, in Unix
        seconds. NotFound for a device the account does not have."""
        d = t.devices.c
        at = now()
        with writing(self.engine) as conn:
            old = conn.execute(select(d.revoked_at).where(
                d.account_id == account, d.device_id == device)).first()
            if old is None:
                raise NotFound("No such device.")
            if old.revoked_at is not None:
                return int(old.revoked_at)
            conn.execute(update(t.devices).where(
                d.account_id == account, d.device_id == device).values(revoked_at=at))
            k, c = t.tokens.c, t.challenges.c
            conn.execute(delete(t.tokens).where(k.account_id == account, k.device_id == device))
            conn.execute(delete(t.challenges).where(c.account_id == account,
                                                    c.device_id == device))
        return at

    def spaces(self, account: str, after: str | None, limit: int) -> tuple[
            list[tuple[str, str]], bool]:
        """The account's spaces and its role in each, by space id after `after`; and whether
        there are more."""
        m = t.space_members.c
        query = select(m.space_id, m.role).where(m.account_id == account)
        if after is not None:
            query = query.where(m.space_id > after)
        with reading(self.engine) as conn:
            rows = conn.execute(query.order_by(m.space_id).limit(limit + 1)).all()
        return [(str(r.space_id), str(r.role)) for r in rows[:limit]], len(rows) > limit


def not_self(device: str, caller_device: str) -> None:
    """A device does not revoke itself (another device of the account does)."""
    if device == caller_device:
        raise Problem(422, "invalid", "A device cannot revoke itself: revoke it from another "
                                      "device of the account.")
