"""Space event commitments: an HMAC index and opaque bytes per event, each one a log leaf.

Grants, revocations, professional reads and deposits, membership changes are logged only as
commitments: the index is an HMAC under a space key the server never has, the commitment is
opaque, and the leaf (msante.sync.logleaf.event_leaf) names no space. The server numbers each
space's events (0, 1, …) so the owner's devices can walk the sequence. The same index with the
same commitment again is the same event (200, a retry); with another commitment, 409.
"""

from __future__ import annotations

from sqlalchemy import Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from msante.sync.logleaf import event_leaf
from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.logmodels import EventAppended, EventIn, EventOut, EventPage
from msante.sync.server.logstore import LogStore
from msante.sync.server.problems import Conflict
from msante.sync.server.settings import Limits
from msante.sync.server.store import Caller, charge, now


class EventStore:
    """Append and read a space's event commitments."""

    def __init__(self, engine: Engine, log: LogStore, limits: Limits) -> None:
        self.engine = engine
        self.log = log
        self.limits = limits

    def append(self, who: Caller, space: str, body: EventIn) -> tuple[int, EventAppended]:
        """Log the commitment (201), or find it already logged (200); Conflict otherwise."""
        e = t.space_events.c
        try:
            with writing(self.engine) as conn:
                size = self.log.lock(conn)
                old = conn.execute(select(e.seq, e.commitment, e.leaf_index).where(
                    e.space_id == space, e.hmac_index == body.index)).first()
                if old is not None:
                    if bytes(old.commitment) != body.commitment:
                        raise _reused()
                    return 200, EventAppended(seq=old.seq, leaf_index=old.leaf_index,
                                              log_size=size)
                charge(conn, who.account, len(body.commitment), self.limits.quota_bytes)
                seq = conn.scalar(select(func.coalesce(func.max(e.seq) + 1, 0)).where(
                    e.space_id == space))
                appended = self.log.append(conn, size, event_leaf(body.index, body.commitment))
                conn.execute(insert(t.space_events).values(
                    space_id=space, seq=seq, hmac_index=body.index, commitment=body.commitment,
                    leaf_index=appended.index, account_id=who.account, device_id=who.device,
                    created_at=now()))
        except IntegrityError:  # unreachable while the log's lock serialises appends
            raise _reused() from None
        return 201, EventAppended(seq=int(seq or 0), leaf_index=appended.index,
                                  log_size=appended.size)

    def events(self, space: str, since: int, limit: int) -> EventPage:
        """Events with seq >= `since`, oldest first, at most `limit`."""
        e = t.space_events.c
        with reading(self.engine) as conn:
            rows = conn.execute(select(e.seq, e.hmac_index, e.commitment, e.leaf_index).where(
                e.space_id == space, e.seq >= since).order_by(e.seq).limit(limit + 1)).all()
        page = [EventOut(seq=r.seq, index=bytes(r.hmac_index), commitment=bytes(r.commitment),
                         leaf_index=r.leaf_index) for r in rows[:limit]]
        return EventPage(events=page, next=page[-1].seq + 1 if page else since,
                         more=len(rows) > limit)


def _reused() -> Conflict:
    """409: this index already holds another commitment."""
    return Conflict("This event index is already logged with another commitment.",
                    "event-index-reused")
