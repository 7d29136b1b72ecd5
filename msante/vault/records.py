"""Sync-ready records: UUID, revision, base revision, device, tombstone, and a change log.

Every table of records starts with `SYNC_COLUMNS`. Writes go through `insert`, `update` and
`tombstone`, inside the caller's write transaction, so the change log (the outbox that sync
drains) always agrees with the tables.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from msante.errors import ConflictError, NotFoundError
from msante.i18n import _
from msante.vault.db import Connection, now

SYNC_COLUMNS = (
    "id TEXT PRIMARY KEY, revision INTEGER NOT NULL, base_revision INTEGER NOT NULL, "
    "device TEXT NOT NULL, deleted INTEGER NOT NULL DEFAULT 0, "
    "created_at TEXT NOT NULL, updated_at TEXT NOT NULL"
)

SCHEMA = """
CREATE TABLE changes (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tbl TEXT NOT NULL,
    record_id TEXT NOT NULL,
    revision INTEGER NOT NULL,
    op TEXT NOT NULL,
    device TEXT NOT NULL,
    at TEXT NOT NULL
);
"""

_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


def new_id() -> str:
    """A fresh random record id (UUID4, hex with dashes)."""
    return str(uuid.uuid4())


def _ident(name: str) -> str:
    if not _IDENT.match(name):
        raise ValueError(f"bad SQL identifier {name!r}")
    return name


def _log(tx: Connection, table: str, rid: str, revision: int, op: str, device: str) -> None:
    tx.execute(
        "INSERT INTO changes (tbl, record_id, revision, op, device, at) VALUES (?,?,?,?,?,?)",
        (table, rid, revision, op, device, now()),
    )


def insert(tx: Connection, table: str, fields: dict[str, Any], *, device: str,
           rid: str | None = None) -> str:
    """Insert a new record at revision 1; return its id."""
    rid = rid or new_id()
    stamp = now()
    row = {"id": rid, "revision": 1, "base_revision": 0, "device": device, "deleted": 0,
           "created_at": stamp, "updated_at": stamp} | fields
    cols = ", ".join(_ident(c) for c in row)
    marks = ", ".join("?" for _ in row)
    tx.execute(f"INSERT INTO {_ident(table)} ({cols}) VALUES ({marks})", list(row.values()))
    _log(tx, table, rid, 1, "insert", device)
    return rid


def current_revision(tx: Connection, table: str, rid: str) -> int:
    """The record's revision; NotFoundError when it does not exist."""
    row = tx.execute(f"SELECT revision FROM {_ident(table)} WHERE id = ?", (rid,)).fetchone()
    if not row:
        raise NotFoundError(_("No record {id}.").format(id=rid))
    return int(row[0])


def update(tx: Connection, table: str, rid: str, fields: dict[str, Any], *, device: str,
           base_revision: int) -> int:
    """Write a new revision of a record; ConflictError if it moved past `base_revision`.

    The base revision is required: it is the one the caller read (a form, a command), so an
    edit made meanwhile by another process is never overwritten blindly.
    """
    current = current_revision(tx, table, rid)
    if base_revision != current:
        raise ConflictError(
            _("Record {id} changed meanwhile (revision {now}, not {base}).")
            .format(id=rid, now=current, base=base_revision)
        )
    row = fields | {"revision": current + 1, "base_revision": current, "device": device,
                    "updated_at": now()}
    sets = ", ".join(f"{_ident(c)} = ?" for c in row)
    tx.execute(f"UPDATE {_ident(table)} SET {sets} WHERE id = ?", [*row.values(), rid])
    _log(tx, table, rid, current + 1, "update", device)
    return current + 1


def tombstone(tx: Connection, table: str, rid: str, content_columns: list[str], *,
              device: str, base_revision: int, blanks: dict[str, Any] | None = None) -> int:
    """Mark a record deleted, keeping its id and revision but none of its content.

    Content columns become NULL, or the empty value given in `blanks` (for NOT NULL ones).
    """
    fields: dict[str, Any] = {c: None for c in content_columns} | (blanks or {})
    revision = update(tx, table, rid, fields | {"deleted": 1}, device=device,
                      base_revision=base_revision)
    tx.execute("UPDATE changes SET op = 'delete' WHERE tbl = ? AND record_id = ? AND revision = ?",
               (table, rid, revision))
    return revision


CHUNK = 500  # values per `IN (…)`: well under SQLite's limit on parameters


def rows_in(conn: Connection, sql: str, args: Sequence[object],
            values: Sequence[object]) -> list[Any]:
    """The rows of `sql` (ending in `IN`) for all `values`, asked CHUNK at a time."""
    rows: list[Any] = []
    for first in range(0, len(values), CHUNK):
        chunk = list(values[first:first + CHUNK])
        rows += conn.execute(f"{sql} ({','.join('?' * len(chunk))})",
                             [*args, *chunk]).fetchall()
    return rows


def by_prefix(conn: Connection, select: str, ref: str, column: str = "id") -> list[Any]:
    """At most two rows of `select` (a query ending in a WHERE clause) whose `column` starts
    with `ref`; none when `ref` has fewer than 4 characters (a prefix must mean something)."""
    key = ref.strip().lower().replace("%", "").replace("_", "")
    if len(key) < 4:
        return []
    rows: list[Any] = conn.execute(f"{select} AND {column} LIKE ? LIMIT 2",
                                   (key + "%",)).fetchall()
    return rows


def known_ids(conn: Connection, table: str, person: str, ids: Sequence[str]) -> set[str]:
    """Which of `ids` are records of `person` in `table`, tombstones included."""
    return {row[0] for row in rows_in(
        conn, f"SELECT id FROM {_ident(table)} WHERE person = ? AND id IN", [person], ids)}
