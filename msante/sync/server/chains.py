"""Account and space chains on the server: append-only, never forked, each entry in the log.

The server reads only an entry's sequence number, its link to the previous entry and its hash;
the entry itself (signed by a device, msante.sync.chains) is opaque and kept as sent. Clients
verify signatures and hashes themselves. An append runs in one write transaction that first
takes the log's lock (logstore.LogStore.lock), so appends to every chain and to the log are
serialised; then, in order:

    the same entry again (same seq, prev, hash, bytes)   200, where it already is (a retry)
    another entry at a seq already used                  409 chain-seq-taken (no fork)
    a seq past the chain's next one                      409 chain-gap
    a prev that is not the head's hash (zeros at 0)      409 chain-prev
    else                                                 201: stored (charged to the
                                                         account's quota) and a log leaf
                                                         committing (chain, seq, hash)

A space chain is written by its owners and managers (the `space_members` mirror) and read by
every member; an account chain is written by its own account and read by it and by the
accounts it shares a space with.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from msante.sync.logleaf import chain_leaf
from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.logmodels import ChainAppended, ChainEntryIn, ChainEntryOut, ChainPage
from msante.sync.server.logstore import LogStore
from msante.sync.server.problems import Conflict
from msante.sync.server.settings import Limits
from msante.sync.server.store import Caller, charge, now

ZERO = bytes(32)
Answer = tuple[int, ChainAppended]  # the HTTP status (201 or 200) and the body
WRITERS = ("owner", "manage")


@dataclass(frozen=True)
class ChainId:
    """A chain: "account:<id>" or "space:<id>"."""

    kind: str
    owner: str

    @classmethod
    def parse(cls, text: str) -> ChainId:
        """From its text (already checked against logmodels.CHAIN_PATTERN)."""
        kind, _, owner = text.partition(":")
        return cls(kind, owner)

    def __str__(self) -> str:
        return f"{self.kind}:{self.owner}"


class ChainStore:
    """Append to and read the chains."""

    def __init__(self, engine: Engine, log: LogStore, limits: Limits) -> None:
        self.engine = engine
        self.log = log
        self.limits = limits

    def append(self, who: Caller, chain: ChainId, body: ChainEntryIn) -> Answer:
        """Append `body` to `chain` (status 201), or find it there (200); Conflict otherwise."""
        try:
            with writing(self.engine) as conn:
                size = self.log.lock(conn)
                same = self._check(conn, chain, body)
                if same is not None:
                    return 200, self._result(chain, body, same, size)
                charge(conn, who.account, len(body.entry), self.limits.quota_bytes)
                appended = self.log.append(conn, size, chain_leaf(str(chain), body.seq,
                                                                  body.hash))
                conn.execute(insert(t.chain_entries).values(
                    owner_id=chain.owner, kind=chain.kind, seq=body.seq, prev=body.prev,
                    hash=body.hash, entry=body.entry, leaf_index=appended.index,
                    account_id=who.account, device_id=who.device, created_at=now()))
        except IntegrityError:  # unreachable while the log's lock serialises appends
            raise _taken(body.seq) from None
        return 201, self._result(chain, body, appended.index, appended.size)

    def _result(self, chain: ChainId, body: ChainEntryIn, leaf: int, size: int) -> ChainAppended:
        """The answer for an entry at `leaf`."""
        return ChainAppended(chain=str(chain), seq=body.seq, hash=body.hash, leaf_index=leaf,
                             log_size=size)

    def _check(self, conn: Connection, chain: ChainId, body: ChainEntryIn) -> int | None:
        """The leaf index of the same entry already stored, None for a new one; or Conflict."""
        c = t.chain_entries.c
        mine = (c.owner_id == chain.owner) & (c.kind == chain.kind)
        head = conn.execute(select(c.seq, c.hash).where(mine).order_by(c.seq.desc())
                            .limit(1)).first()
        next_seq = int(head.seq) + 1 if head is not None else 0
        if body.seq < next_seq:
            old = conn.execute(select(c.prev, c.hash, c.entry, c.leaf_index).where(
                mine, c.seq == body.seq)).one()
            if (bytes(old.prev), bytes(old.hash), bytes(old.entry)) == (
                    body.prev, body.hash, body.entry):
                return int(old.leaf_index)
            raise _taken(body.seq, next_seq)
        if body.seq > next_seq:
            raise Conflict(f"The chain's next sequence number is {next_seq}.", "chain-gap",
                           next_seq=next_seq)
        expected = bytes(head.hash) if head is not None else ZERO
        if body.prev != expected:
            raise Conflict("prev is not the hash of the chain's head entry.", "chain-prev",
                           next_seq=next_seq)
        return None

    def entries(self, chain: ChainId, since: int, limit: int) -> ChainPage:
        """Entries with seq >= `since`, oldest first, at most `limit`."""
        c = t.chain_entries.c
        with reading(self.engine) as conn:
            rows = conn.execute(select(c.seq, c.prev, c.hash, c.entry, c.leaf_index).where(
                c.owner_id == chain.owner, c.kind == chain.kind, c.seq >= since).order_by(
                c.seq).limit(limit + 1)).all()
        page = [ChainEntryOut(seq=r.seq, prev=bytes(r.prev), hash=bytes(r.hash),
                              entry=bytes(r.entry), leaf_index=r.leaf_index)
                for r in rows[:limit]]
        return ChainPage(chain=str(chain), entries=page,
                         next=page[-1].seq + 1 if page else since, more=len(rows) > limit)

    def may_write_space(self, account: str, space: str) -> bool:
        """Whether `account` may append to `space`'s chain: an owner or a manager in the
        `space_members` mirror (the chain's own rule, checked by clients, is the real one)."""
        m = t.space_members.c
        with reading(self.engine) as conn:
            role = conn.scalar(select(m.role).where(m.space_id == space, m.account_id == account))
        return role in WRITERS

    def may_read_account(self, reader: str, account: str) -> bool:
        """Whether `reader` may read `account`'s chain: its own, or a fellow member's."""
        if reader == account:
            return True
        a, b = t.space_members.alias("a"), t.space_members.alias("b")
        query = select(a.c.space_id).join(b, a.c.space_id == b.c.space_id).where(
            a.c.account_id == reader, b.c.account_id == account).limit(1)
        with reading(self.engine) as conn:
            return conn.scalar(query) is not None


def _taken(seq: int, next_seq: int | None = None) -> Conflict:
    """409: another entry already holds `seq`."""
    extra = {} if next_seq is None else {"next_seq": next_seq}
    return Conflict(f"Another entry already holds sequence number {seq} of this chain: a "
                    "chain never forks.", "chain-seq-taken", **extra)
