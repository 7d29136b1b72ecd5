"""Link rendezvous: where a new device and an existing one of the account exchange two
opaque messages (DESIGN.md "Devices and accounts"; docs/architecture.md "Linking a device").

A device of the account opens a rendezvous under a random id it chose (10 minutes). The new
device, which has no token, reads which account it is for, leaves its join message once, and
fetches the reply once, which deletes the rendezvous. An unknown and an expired rendezvous get
the same 404; a live one with nothing yet to read gets 404 `link-pending`. Messages are
sealed by the devices: the server stores them as sent and never reads them. Expired rows are
deleted whenever a rendezvous is opened (and are invisible until then).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.problems import Conflict, NotFound, Problem
from msante.sync.server.settings import Limits
from msante.sync.server.store import now

L = t.link_rendezvous.c
log = logging.getLogger("msante.server")


@dataclass(frozen=True)
class Link:
    """A live rendezvous."""

    account: str
    expires: int


def gone() -> NotFound:
    """The one answer for an unknown or expired rendezvous."""
    return NotFound("No such rendezvous (unknown or expired).")


def pending(what: str) -> Problem:
    """404 `link-pending`: the rendezvous is live but holds no such message yet."""
    return Problem(404, "link-pending", f"No {what} at this rendezvous yet: ask again later.")


class LinkStore:
    """Open, read and close rendezvous."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def open(self, account: str, rendezvous: str) -> tuple[bool, Link]:
        """Open `rendezvous` for `account`: (True, it) if new, (False, it) if already its."""
        at = now()
        self._sweep(at)
        try:
            with writing(self.engine) as conn:
                old = conn.execute(select(L.account_id, L.expires_at).where(
                    L.rendezvous_id == rendezvous)).first()
                if old is not None:
                    if old.account_id != account or old.expires_at < at:
                        raise _taken()
                    return False, Link(account, int(old.expires_at))
                count = conn.scalar(select(func.count()).select_from(t.link_rendezvous).where(
                    L.account_id == account, L.expires_at >= at)) or 0
                if count >= self.limits.max_links:
                    raise Conflict("This account has too many rendezvous open: wait for one "
                                   "to end.", "link-limit", limit=self.limits.max_links)
                expires = at + self.limits.link_seconds
                conn.execute(insert(t.link_rendezvous).values(
                    account_id=account, rendezvous_id=rendezvous, created_at=at,
                    expires_at=expires))
        except IntegrityError:
            raise _taken() from None
        return True, Link(account, expires)

    def _sweep(self, at: int) -> None:
        """Delete the expired rendezvous (anyone's), in a transaction of its own: two sweeps
        at once may trip over each other on PostgreSQL, and a missed sweep is harmless."""
        try:
            with writing(self.engine) as conn:
                conn.execute(delete(t.link_rendezvous).where(L.expires_at < at))
        except SQLAlchemyError:
            log.info("sweeping expired link rendezvous failed; the next opening retries")

    def find(self, rendezvous: str) -> Link:
        """The live rendezvous (404 otherwise)."""
        with reading(self.engine) as conn:
            row = self._live(conn, rendezvous, None, L.account_id, L.expires_at)
        return Link(str(row.account_id), int(row.expires_at))

    def join(self, rendezvous: str, message: bytes) -> bool:
        """Leave the new device's message: True if stored, False if the same was there."""
        return self._put(rendezvous, None, L.join_message, message)

    def reply(self, account: str, rendezvous: str, message: bytes) -> bool:
        """Leave the account's reply (after a join): True if stored, False if the same."""
        return self._put(rendezvous, account, L.reply_message, message)

    def joined(self, account: str, rendezvous: str) -> bytes:
        """The join message of `account`'s rendezvous (404 link-pending while none)."""
        with reading(self.engine) as conn:
            row = self._live(conn, rendezvous, account, L.join_message)
        if row.join_message is None:
            raise pending("join message")
        return bytes(row.join_message)

    def take_reply(self, rendezvous: str) -> bytes:
        """The reply, once: the rendezvous is deleted with it (404 link-pending while none)."""
        with writing(self.engine) as conn:
            row = conn.execute(delete(t.link_rendezvous).where(
                L.rendezvous_id == rendezvous, L.expires_at >= now(),
                L.reply_message.is_not(None)).returning(L.reply_message)).first()
            if row is None:
                self._live(conn, rendezvous, None, L.account_id)
                raise pending("reply")
        return bytes(row.reply_message)

    def _put(self, rendezvous: str, account: str | None, column: Any, message: bytes) -> bool:
        """Set `column` once (the same bytes again: False; others: 409 link-used)."""
        with writing(self.engine) as conn:
            row = self._live(conn, rendezvous, account, L.join_message, column)
            if account is not None and row.join_message is None:
                raise Conflict("No device has joined this rendezvous yet.", "link-not-joined")
            old = row[-1]
            if old is not None:
                if bytes(old) == message:
                    return False
                raise Conflict("This rendezvous already has its message: it is used once.",
                               "link-used")
            done = conn.execute(update(t.link_rendezvous).where(
                L.rendezvous_id == rendezvous, column.is_(None)).values(
                {column.name: message})).rowcount
            if not done:  # another request wrote it first (PostgreSQL, read committed)
                raise Conflict("This rendezvous already has its message: it is used once.",
                               "link-used")
        return True

    def _live(self, conn: Any, rendezvous: str, account: str | None, *columns: Any) -> Any:
        """The row of a live rendezvous (of `account` when given), or the 404 of none."""
        query = select(*columns).where(L.rendezvous_id == rendezvous, L.expires_at >= now())
        if account is not None:
            query = query.where(L.account_id == account)
        row = conn.execute(query).first()
        if row is None:
            raise gone()
        return row


def _taken() -> Conflict:
    """409: another account holds this rendezvous id."""
    return Conflict("This rendezvous id is taken: choose another random id.", "link-taken")
