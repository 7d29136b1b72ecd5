"""The engine's tables (vault migration 10): the lineage, the cursors, the device logs.

The lineage (`sync_revisions`) knows every revision id of a synced record seen here, with
the local integer revision it is (when it is the local row's content), its status, and for an
item not yet confirmed by the server its signed envelope and ciphertext (kept before sending).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from msante.sync.chains import b64d, b64e
from msante.sync.items import ZERO_HASH, Envelope, Item, Lineage
from msante.vault.db import Connection, now

PENDING, STORED, STALE, PULLED, CONFLICT, SUPERSEDED = (
    "pending", "stored", "stale", "pulled", "conflict", "superseded")


@dataclass(frozen=True)
class Known:
    """One revision of a record as the lineage knows it."""

    revision: str
    base: str | None
    device: bytes
    deleted: bool
    local_revision: int | None
    status: str

    def lineage(self) -> Lineage:
        """What `items.classify` reads of it."""
        return Lineage(self.revision, self.base, self.device, self.deleted)


_KNOWN = "revision, base, device, deleted, local_revision, status"


def _known(row: Any) -> Known:
    return Known(str(row[0]), row[1], bytes(row[2]), bool(row[3]),
                 None if row[4] is None else int(row[4]), str(row[5]))


def lineage(conn: Connection, space: str, table: str, record: str) -> list[Known]:
    """Every revision of a record known here (superseded local ones left out)."""
    rows = conn.execute(f"SELECT {_KNOWN} FROM sync_revisions WHERE space = ? AND tbl = ? "
                        "AND record = ? AND status != ?", (space, table, record, SUPERSEDED))
    return [_known(r) for r in rows.fetchall()]


def local_head(known: list[Known]) -> Known | None:
    """The revision the local row is (the one with the highest local revision), if any."""
    mine = [k for k in known if k.local_revision is not None]
    return max(mine, key=lambda k: k.local_revision or 0) if mine else None


def find(conn: Connection, space: str, revision: str) -> Known | None:
    """One revision of the space by id."""
    row = conn.execute(f"SELECT {_KNOWN} FROM sync_revisions WHERE space = ? AND revision = ?",
                       (space, revision)).fetchone()
    return _known(row) if row else None


def add(tx: Connection, space: str, table: str, record: str, known: Known, *,
        item: Item | None = None, blob: str | None = None) -> None:
    """Record a revision in the lineage (with its item while the server does not have it)."""
    env = item.envelope if item is not None else None
    tx.execute(
        "INSERT INTO sync_revisions (space, tbl, record, revision, base, device, deleted, "
        "local_revision, status, seq, envelope, ciphertext, blob, created_at) "
        "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (space, table, record, known.revision, known.base, known.device, int(known.deleted),
         known.local_revision, known.status, env.seq if env else None,
         env.to_json() if env else None, item.ciphertext if item else None, blob, now()))


def set_status(tx: Connection, space: str, revision: str, status: str) -> None:
    """Move a revision to `status` (its item is dropped once the server has it or never will)."""
    keep = status in (PENDING, STALE)
    tx.execute("UPDATE sync_revisions SET status = ?"
               + ("" if keep else ", envelope = NULL, ciphertext = NULL")
               + " WHERE space = ? AND revision = ?", (status, space, revision))


def set_local(tx: Connection, space: str, revision: str, local_revision: int) -> None:
    """The local row is now this revision."""
    tx.execute("UPDATE sync_revisions SET local_revision = ? WHERE space = ? AND revision = ?",
               (local_revision, space, revision))


def supersede_local(tx: Connection, space: str, table: str, record: str) -> None:
    """Local revisions of a record the server never took are replaced: never to be sent."""
    tx.execute("UPDATE sync_revisions SET status = ?, envelope = NULL, ciphertext = NULL "
               "WHERE space = ? AND tbl = ? AND record = ? AND status IN (?, ?)",
               (SUPERSEDED, space, table, record, PENDING, STALE))


@dataclass(frozen=True)
class Pending:
    """An item prepared here that the server has not confirmed."""

    table: str
    record: str
    item: Item
    blob: str | None


def _pending(row: Any) -> Pending:
    return Pending(str(row[0]), str(row[1]),
                   Item(Envelope.from_json(bytes(row[2])), bytes(row[3])), row[4])


def pending(conn: Connection, space: str, limit: int = -1) -> list[Pending]:
    """The items to send, in their device order (the first `limit` of them; -1: all)."""
    rows = conn.execute("SELECT tbl, record, envelope, ciphertext, blob FROM sync_revisions "
                        "WHERE space = ? AND status = ? ORDER BY seq LIMIT ?",
                        (space, PENDING, limit))
    return [_pending(r) for r in rows.fetchall()]


def pending_ids(conn: Connection, space: str) -> list[str]:
    """The revision ids of the items to send, in their device order."""
    rows = conn.execute("SELECT revision FROM sync_revisions WHERE space = ? AND status = ? "
                        "ORDER BY seq", (space, PENDING))
    return [str(r[0]) for r in rows.fetchall()]


def pending_items(conn: Connection, space: str, revisions: list[str]) -> list[Pending]:
    """These pending items, in their device order."""
    marks = ", ".join("?" * len(revisions))
    rows = conn.execute("SELECT tbl, record, envelope, ciphertext, blob FROM sync_revisions "
                        f"WHERE space = ? AND status = ? AND revision IN ({marks}) ORDER BY seq",
                        (space, PENDING, *revisions))
    return [_pending(r) for r in rows.fetchall()]


def pending_blobs(conn: Connection, space: str) -> list[str]:
    """The blobs of the items to send, in their device order."""
    rows = conn.execute("SELECT blob FROM sync_revisions WHERE space = ? AND status = ? "
                        "AND blob IS NOT NULL GROUP BY blob ORDER BY MIN(seq)", (space, PENDING))
    return [str(r[0]) for r in rows.fetchall()]


def replace_item(tx: Connection, space: str, item: Item) -> None:
    """A re-chained envelope for a pending item (same revision and ciphertext)."""
    env = item.envelope
    tx.execute("UPDATE sync_revisions SET seq = ?, envelope = ? WHERE space = ? AND revision = ?",
               (env.seq, env.to_json(), space, env.routing.revision))


@dataclass
class Cursor:
    """Per space: the pull's token, the change-log position pushed, this device's chain tip."""

    space: str
    token: str | None = None
    pushed: int = 0
    seq: int = 0
    prev: bytes = ZERO_HASH


def cursor(conn: Connection, space: str) -> Cursor:
    """The space's cursor (a fresh one before the first sync)."""
    row = conn.execute("SELECT token, pushed, seq, prev FROM sync_cursor WHERE space = ?",
                       (space,)).fetchone()
    if row is None:
        return Cursor(space)
    return Cursor(space, row[0], int(row[1]), int(row[2]),
                  bytes(row[3]) if row[3] is not None else ZERO_HASH)


def save_cursor(tx: Connection, cur: Cursor) -> None:
    """Keep the cursor (inside the transaction that moved it)."""
    tx.execute("INSERT INTO sync_cursor (space, token, pushed, seq, prev) VALUES (?,?,?,?,?) "
               "ON CONFLICT(space) DO UPDATE SET token = excluded.token, "
               "pushed = excluded.pushed, seq = excluded.seq, prev = excluded.prev",
               (cur.space, cur.token, cur.pushed, cur.seq, cur.prev))


def advance_pushed(tx: Connection, before: int, after: int) -> None:
    """Every space whose pushed position was at `before` or past it moves to `after`: the
    change-log rows between (the ones a pull applied, in one transaction) hold nothing any
    space has to push."""
    tx.execute("UPDATE sync_cursor SET pushed = ? WHERE pushed >= ? AND pushed < ?",
               (after, before, after))


def last_change(conn: Connection) -> int:
    """The change log's last position."""
    return int(conn.execute("SELECT COALESCE(MAX(seq), 0) FROM changes").fetchone()[0])


def log_state(conn: Connection, space: str, device: bytes) -> dict[str, Any] | None:
    """A writer's `DeviceLog.state()` in a space, as kept."""
    row = conn.execute("SELECT state FROM sync_logs WHERE space = ? AND device = ?",
                       (space, device)).fetchone()
    if row is None:
        return None
    data = json.loads(row[0])
    return {"seq": data["seq"], "last": b64d(data["last"], "last"),
            "key_version": data["key_version"],
            "head": None if data["head"] is None else b64d(data["head"], "head"),
            "tail": [[seq, b64d(digest, "tail")] for seq, digest in data["tail"]]}


def save_log(tx: Connection, space: str, device: bytes, state: Mapping[str, Any]) -> None:
    """Keep a writer's `DeviceLog.state()`."""
    data = {"seq": state["seq"], "last": b64e(state["last"]),
            "key_version": state["key_version"],
            "head": None if state["head"] is None else b64e(state["head"]),
            "tail": [[seq, b64e(digest)] for seq, digest in state["tail"]]}
    tx.execute("INSERT INTO sync_logs (space, device, state) VALUES (?,?,?) "
               "ON CONFLICT(space, device) DO UPDATE SET state = excluded.state",
               (space, device, json.dumps(data, sort_keys=True)))
