"""The transparency log in the database: complete-subtree rows, leaves, proofs, checkpoints.

`log_nodes` holds the hash of every complete subtree (msante.sync.merkle: `new_nodes` says
which rows an append adds, at most log2(n) + 1, reading only left siblings), so a root, an
inclusion proof or a consistency proof reads O(log n) rows, fetched in one query. `log_leaves`
keeps each leaf's bytes (`GET /v1/log/entries`).

Appends are serialised: `lock` takes the log's row (`SELECT … FOR UPDATE` on PostgreSQL; a
writer's `BEGIN IMMEDIATE` on SQLite) inside the caller's transaction, which then appends and
commits its own rows (a chain entry, a space event) with the leaf — both or neither. Two
appends can therefore never take the same index: the log cannot fork, even under concurrent
requests. Checkpoints are signed on demand (Ed25519 is deterministic: one size, one note).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, TextClause, insert, select, text, update

from msante.sync import merkle
from msante.sync.checkpoint import Checkpoint, sign_checkpoint
from msante.sync.note import NoteSigner
from msante.sync.server import schema as t
from msante.sync.server.db import reading
from msante.sync.server.problems import Problem
from msante.sync.server.store import now


class LogRange(Problem):
    """400: a size, index or range outside the log (or over the page bound)."""

    def __init__(self, detail: str, size: int) -> None:
        super().__init__(400, "log-range", detail, size=size)


@dataclass(frozen=True)
class Appended:
    """Where a leaf went: its index and the log's size after it."""

    index: int
    size: int


class LogStore:
    """One log (`log_id`) of the database, signed by `signer`."""

    def __init__(self, engine: Engine, log_id: str, signer: NoteSigner) -> None:
        self.engine = engine
        self.log_id = log_id
        self.signer = signer

    @property
    def origin(self) -> str:
        """The log's origin line (its key's name)."""
        return self.signer.name

    # ----------------------------------------------------------------- writing

    def lock(self, conn: Connection) -> int:
        """Take the log's row for this transaction (appends wait here); its size."""
        g = t.logs.c
        size = conn.scalar(select(g.size).where(g.log_id == self.log_id).with_for_update())
        if size is None:
            raise RuntimeError(f"log {self.log_id!r} has no row: run msante-server migrate")
        return int(size)

    def append(self, conn: Connection, size: int, data: bytes) -> Appended:
        """Append leaf `data` at index `size` (the size `lock` returned, in this transaction)."""
        leaf = merkle.leaf_hash(data)
        siblings = self._nodes(conn, _left_siblings(size))
        rows = merkle.new_nodes(size, leaf, siblings.node)
        conn.execute(insert(t.log_nodes), [
            {"log_id": self.log_id, "level": level, "idx": idx, "hash": h}
            for level, idx, h in rows])
        conn.execute(insert(t.log_leaves).values(log_id=self.log_id, idx=size, data=data,
                                                 created_at=now()))
        g = t.logs.c
        conn.execute(update(t.logs).where(g.log_id == self.log_id).values(size=size + 1))
        return Appended(size, size + 1)

    # ----------------------------------------------------------------- reading

    def _size(self, conn: Connection) -> int:
        """The log's size in this read transaction."""
        g = t.logs.c
        return int(conn.scalar(select(g.size).where(g.log_id == self.log_id)) or 0)

    def _nodes(self, conn: Connection, wanted: Sequence[tuple[int, int]]) -> merkle.NodeMap:
        """The rows `wanted`, in one query (one primary-key lookup per row)."""
        if not wanted:
            return merkle.NodeMap({})
        rows = conn.execute(_nodes_query(len(wanted)), {
            "log": self.log_id, **{f"l{k}": level for k, (level, _) in enumerate(wanted)},
            **{f"i{k}": idx for k, (_, idx) in enumerate(wanted)}}).all()
        return merkle.NodeMap({(int(r.level), int(r.idx)): bytes(r.hash) for r in rows})

    def size(self) -> int:
        """The number of leaves."""
        with reading(self.engine) as conn:
            return self._size(conn)

    def checkpoint(self) -> tuple[Checkpoint, str]:
        """The current tree head and its signed note."""
        with reading(self.engine) as conn:
            size = self._size(conn)
            root = merkle.root_of(size, self._nodes(conn, merkle.root_nodes(size)))
        head = Checkpoint(self.origin, size, root)
        return head, sign_checkpoint(head, self.signer)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The inclusion proof of leaf `index` in the tree of `size` leaves."""
        with reading(self.engine) as conn:
            current = self._size(conn)
            if not 0 <= index < size <= current:
                raise LogRange(f"Need 0 <= index < size <= {current} (the log's size).", current)
            nodes = self._nodes(conn, merkle.inclusion_nodes(size, index))
        return merkle.inclusion_proof(size, index, nodes)

    def consistency(self, old: int, new: int) -> list[bytes]:
        """The consistency proof from the tree of `old` leaves to the tree of `new`."""
        with reading(self.engine) as conn:
            current = self._size(conn)
            if not 0 <= old <= new <= current:
                raise LogRange(f"Need 0 <= old <= new <= {current} (the log's size).", current)
            nodes = self._nodes(conn, merkle.consistency_nodes(old, new))
        return merkle.consistency_proof(old, new, nodes)

    def entries(self, start: int, end: int, most: int) -> list[tuple[int, bytes]]:
        """Leaves [start, end) with their indexes: at most `most`, within the log."""
        with reading(self.engine) as conn:
            current = self._size(conn)
            if not 0 <= start < end <= current:
                raise LogRange(f"Need 0 <= start < end <= {current} (the log's size).", current)
            if end - start > most:
                raise LogRange(f"At most {most} entries at once.", current)
            leaf = t.log_leaves.c
            rows = conn.execute(select(leaf.idx, leaf.data).where(
                leaf.log_id == self.log_id, leaf.idx >= start, leaf.idx < end).order_by(
                leaf.idx)).all()
        return [(int(r.idx), bytes(r.data)) for r in rows]


@functools.lru_cache(maxsize=256)
def _nodes_query(count: int) -> TextClause:
    """SELECT of `count` rows, each by its whole primary key.

    A row-value IN `(level, idx) IN (VALUES …)` would be shorter, but SQLite answers it by
    scanning every row of the log; each OR term here is one index lookup, on both databases.
    Plain SQL text: building as many SQLAlchemy expressions costs more than the query.
    """
    terms = " OR ".join(f"(log_id = :log AND level = :l{k} AND idx = :i{k})"
                        for k in range(count))
    return text(f"SELECT level, idx, hash FROM log_nodes WHERE {terms}")


def _left_siblings(index: int) -> list[tuple[int, int]]:
    """The rows `merkle.new_nodes(index, …)` reads: one per trailing 1 bit of `index`."""
    wanted: list[tuple[int, int]] = []
    level, i = 0, index
    while i & 1:
        wanted.append((level, i - 1))
        level, i = level + 1, i >> 1
    return wanted


def log_status(engine: Engine, log_id: str) -> dict[str, object] | None:
    """The log's size and verifier key for `msante-server status` (None before migrate)."""
    g = t.logs.c
    with reading(engine) as conn:
        row = conn.execute(select(g.size, g.verifier).where(g.log_id == log_id)).first()
    return {"size": int(row.size), "key": str(row.verifier)} if row is not None else None
