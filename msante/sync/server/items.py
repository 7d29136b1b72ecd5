"""Items: a push stores each item or refuses it alone; a pull pages by the space's sequence.

A push runs in one write transaction with the space's row locked (SELECT … FOR UPDATE on
PostgreSQL, BEGIN IMMEDIATE on SQLite), each item in its own savepoint. Per item, in order:
the same revision id already stored with the same content is the same write (200, its old
sequence number: never a duplicate); with other content it is 409 `revision-reused`; an item
that does not continue its device's hash chain in the space (`device_seq` not the device's
next number, or `prev_hash` not the hash of its last stored item) is 409 `device-chain` (with
`next_seq` and `prev_hash`); a base revision that is not the record's head is 409 `stale`
(with the head); over the quota is 507; else the space's sequence is bumped and the item
stored (201). So an item refused leaves every later item of its device refused too, never a
gap a reader would take for a dropped item. A sync token is the sequence number of the last
item a pull returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from msante.sync.items import ZERO_HASH
from msante.sync.items import Envelope as ItemEnvelope
from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.models import ItemIn, ItemOut, ItemResult, Pull, b64decode, b64encode
from msante.sync.server.problems import PREFIX, NotFound, Problem
from msante.sync.server.settings import Limits
from msante.sync.server.store import charge, now

Tips = dict[str, tuple[int, bytes]]
"""Per device: its next item number in the space and the hash that item must name."""
SAME_FIELDS = ("record_id", "base_revision", "key_version", "device_id", "device_seq",
               "prev_hash", "ciphertext_sha256", "envelope")


def parse_token(token: str | None) -> int:
    """The sequence number behind a sync token (None or empty: from the start)."""
    if not token:
        return 0
    if not token.isdigit() or len(token) > 19:
        raise Problem(400, "bad-request", "Not a sync token from this server.")
    return int(token)


def _row(space: str, account: str, item: ItemIn) -> dict[str, Any]:
    """The `items` row of a pushed item (its sequence number is added when stored)."""
    return {"space_id": space, "record_id": item.record, "revision_id": item.revision,
            "base_revision": item.base, "key_version": item.key_version,
            "device_id": item.device, "device_seq": item.device_seq,
            "prev_hash": item.prev_hash, "ciphertext_sha256": item.ciphertext_sha256,
            "envelope": item.envelope, "ciphertext": item.ciphertext, "account_id": account,
            "created_at": now()}


def _refused(item: ItemIn, problem: Problem) -> ItemResult:
    """The result of an item refused alone."""
    extra = problem.extra
    prev = extra.get("prev_hash")
    return ItemResult(revision=item.revision, status=problem.status, type=PREFIX + problem.slug,
                      detail=problem.detail, current=extra.get("current"),
                      next_seq=extra.get("next_seq"),
                      prev_hash=b64decode(prev) if prev is not None else None)


def lock_space(conn: Connection, space: str) -> None:
    """Serialise writes to one space (a no-op clause on SQLite, already serialised)."""
    s = t.spaces.c
    found = conn.scalar(select(s.seq).where(s.space_id == space).with_for_update())
    if found is None:
        raise NotFound("No such space.")


def item_hash(conn: Connection, space: str, device: str, device_seq: int) -> bytes | None:
    """The hash of the device's item number `device_seq` in `space`, if stored."""
    i = t.items.c
    raw = conn.scalar(select(i.envelope).where(i.space_id == space, i.device_id == device,
                                               i.device_seq == device_seq))
    return ItemEnvelope.from_json(_norm(raw)).hash() if raw is not None else None


def device_tip(conn: Connection, space: str, device: str) -> tuple[int, bytes]:
    """The device's next item number in `space` and the hash its next item must name."""
    i = t.items.c
    last = conn.execute(select(i.device_seq, i.envelope).where(
        i.space_id == space, i.device_id == device).order_by(i.device_seq.desc()).limit(1)
    ).first()
    if last is None:
        return 0, ZERO_HASH
    return int(last.device_seq) + 1, ItemEnvelope.from_json(_norm(last.envelope)).hash()


class ItemStore:
    """Push and pull of items."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def push(self, account: str, space: str, batch: list[ItemIn]) -> list[ItemResult]:
        """Store each item of `batch` or refuse it alone; one result per item, in order."""
        with writing(self.engine) as conn:
            lock_space(conn, space)
            tips: Tips = {}
            return [self._push_one(conn, account, space, item, tips) for item in batch]

    def _push_one(self, conn: Connection, account: str, space: str, item: ItemIn,
                  tips: Tips) -> ItemResult:
        """One item, in its own savepoint; `tips` follows the devices' chains in the batch."""
        try:
            with conn.begin_nested():
                result = self._store(conn, account, space, item, tips)
            if result.status == 201:
                tips[item.device] = (item.device_seq + 1, item.item_hash)
            return result
        except Problem as problem:
            return _refused(item, problem)
        except IntegrityError:
            return _refused(item, Problem(409, "device-seq-taken",
                                          "This device already stored another item at this "
                                          "sequence number in this space."))

    def _store(self, conn: Connection, account: str, space: str, item: ItemIn,
               tips: Tips) -> ItemResult:
        """Checks then insert; raises Problem for a refused item."""
        row = _row(space, account, item)
        i = t.items.c
        old = conn.execute(select(*[i[f] for f in (*SAME_FIELDS, "seq")]).where(
            i.space_id == space, i.revision_id == item.revision)).first()
        if old is not None:
            if any(_norm(getattr(old, f)) != _norm(row[f]) for f in SAME_FIELDS):
                raise Problem(409, "revision-reused",
                              "This revision id is already stored with other content.")
            return ItemResult(revision=item.revision, status=200, seq=old.seq)
        self._check_chain(conn, space, item, tips)
        self._check_base(conn, space, item)
        charge(conn, account, len(item.ciphertext) + len(item.envelope), self.limits.quota_bytes)
        seq = self._next_seq(conn, space)
        conn.execute(insert(t.items).values(**row, seq=seq))
        self._set_head(conn, space, item, seq)
        return ItemResult(revision=item.revision, status=201, seq=seq)

    def _check_chain(self, conn: Connection, space: str, item: ItemIn, tips: Tips) -> None:
        """409 `device-chain` unless the item is its device's next one in the space."""
        if item.device not in tips:  # read once per device and batch (the space is locked)
            tips[item.device] = device_tip(conn, space, item.device)
        next_seq, prev = tips[item.device]
        if item.device_seq != next_seq or item.prev_hash != prev:
            raise Problem(409, "device-chain",
                          f"This device's next item in this space is number {next_seq}, "
                          "naming the hash of its last stored item: re-chain and push again.",
                          next_seq=next_seq, prev_hash=b64encode(prev))

    def _check_base(self, conn: Connection, space: str, item: ItemIn) -> None:
        """409 `stale` unless the item's base is the record's current head."""
        h = t.record_heads.c
        head = conn.scalar(select(h.revision_id).where(h.space_id == space,
                                                      h.record_id == item.record))
        if head != item.base:
            raise Problem(409, "stale", "The base revision is not the record's current one.",
                          current=head)

    def _next_seq(self, conn: Connection, space: str) -> int:
        """Bump and return the space's sequence."""
        s = t.spaces.c
        return int(conn.execute(update(t.spaces).where(s.space_id == space).values(
            seq=s.seq + 1).returning(s.seq)).scalar_one())

    def _set_head(self, conn: Connection, space: str, item: ItemIn, seq: int) -> None:
        """Make the item its record's head."""
        h = t.record_heads.c
        moved = conn.execute(update(t.record_heads).where(
            h.space_id == space, h.record_id == item.record).values(
            revision_id=item.revision, seq=seq)).rowcount
        if not moved:
            conn.execute(insert(t.record_heads).values(space_id=space, record_id=item.record,
                                                       revision_id=item.revision, seq=seq))

    def pull(self, space: str, since: str | None, limit: int) -> Pull:
        """Items after the sync token `since`, oldest first: at most `limit`, and about
        `max_pull_bytes` (sizes are read first, so a page never loads more than it sends)."""
        after = parse_token(since)
        i = t.items.c
        sizes = select(i.seq, func.length(i.ciphertext) + func.length(i.envelope)).where(
            i.space_id == space, i.seq > after).order_by(i.seq).limit(limit + 1)
        with reading(self.engine) as conn:
            wanted = _page(conn.execute(sizes).all(), limit, self.limits.max_pull_bytes)
            rows = conn.execute(select(t.items).where(
                i.space_id == space, i.seq > after, i.seq <= wanted[-1][0]).order_by(
                i.seq)).all() if wanted else []
            more = conn.scalar(select(i.seq).where(
                i.space_id == space, i.seq > (rows[-1].seq if rows else after)).limit(1))
        page = [_out(r) for r in rows]
        return Pull(items=page, next=str(page[-1].seq if page else after), more=more is not None)


def _page(sizes: Sequence[Any], limit: int, budget: int) -> list[tuple[int, int]]:
    """The first (seq, size) pairs that fit `limit` items and `budget` bytes (at least one)."""
    taken: list[tuple[int, int]] = []
    total = 0
    for seq, size in sizes[:limit]:
        total += int(size)
        if taken and total > budget:
            break
        taken.append((int(seq), int(size)))
    return taken


def _norm(value: Any) -> Any:
    """memoryview (PostgreSQL bytea) and bytes compare alike."""
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def _out(row: Any) -> ItemOut:
    """A pulled item from its row."""
    return ItemOut(seq=row.seq, record=row.record_id, revision=row.revision_id,
                   base=row.base_revision, key_version=row.key_version, device=row.device_id,
                   device_seq=row.device_seq, prev_hash=_norm(row.prev_hash),
                   ciphertext_sha256=_norm(row.ciphertext_sha256), envelope=_norm(row.envelope),
                   ciphertext=_norm(row.ciphertext))
