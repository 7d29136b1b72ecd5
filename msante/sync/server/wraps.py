"""Key wraps: a space's scope keys of one key version, sealed by a writer for one device.

The server keeps each wrap as sent (`crypto.sign_then_seal`, opaque: it never has a key to
open it) under (space, device key id, key version). Only an owner or a manager of the space
(the `space_members` mirror) puts one, every member reads them. A wrap is immutable: the same
bytes again are the same write (a retry), other bytes are 409 `wrap-differs`. Wraps are
charged to the putting account's storage quota, like chain entries.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.problems import Conflict, NotFound
from msante.sync.server.settings import Limits
from msante.sync.server.store import Caller, charge, now

W = t.space_wraps.c
WRITERS = ("owner", "manage")


class WrapStore:
    """Put and list key wraps."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def put(self, who: Caller, space: str, version: int, device: str, sealed: bytes) -> bool:
        """Store a wrap: True if new, False if the same bytes were there; Conflict for
        others; NotFound unless the caller owns or manages the space."""
        try:
            with writing(self.engine) as conn:
                m = t.space_members.c
                role = conn.scalar(select(m.role).where(m.space_id == space,
                                                        m.account_id == who.account))
                if role not in WRITERS:
                    raise NotFound("No such space.")
                if self._same(conn, space, version, device, sealed):
                    return False
                charge(conn, who.account, len(sealed), self.limits.quota_bytes)
                conn.execute(insert(t.space_wraps).values(
                    space_id=space, device_key=device, key_version=version, sealed=sealed,
                    account_id=who.account, device_id=who.device, created_at=now()))
        except IntegrityError:  # another request stored it first (PostgreSQL)
            with reading(self.engine) as conn:
                if self._same(conn, space, version, device, sealed):
                    return False
            raise
        return True

    def _same(self, conn: Connection, space: str, version: int, device: str,
              sealed: bytes) -> bool:
        """Whether this wrap is stored with these bytes (False: none yet; Conflict: others)."""
        old = conn.scalar(select(W.sealed).where(
            W.space_id == space, W.device_key == device, W.key_version == version))
        if old is None:
            return False
        if bytes(old) != sealed:
            raise Conflict("This device already has another wrap for this key version: a "
                           "wrap never changes.", "wrap-differs")
        return True

    def list(self, space: str, device: str, since: int, limit: int) -> tuple[
            list[tuple[int, bytes]], bool]:
        """The device's wraps from key version `since`, oldest first; and whether more."""
        with reading(self.engine) as conn:
            rows = conn.execute(select(W.key_version, W.sealed).where(
                W.space_id == space, W.device_key == device, W.key_version >= since).order_by(
                W.key_version).limit(limit + 1)).all()
        return [(int(r.key_version), bytes(r.sealed)) for r in rows[:limit]], len(rows) > limit
