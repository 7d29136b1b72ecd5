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
from msante.vault import descriptors
from msante.vault.db import Connection, now
from msante.vault.descriptors import Descriptor

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
            _("Record {id} was changed meanwhile (revision {now}, not {base}): nothing was "
              "saved. Show it again and redo the change.")
            .format(id=rid, now=current, base=base_revision)
        )
    row = fields | {"revision": current + 1, "base_revision": current, "device": device,
                    "updated_at": now()}
    sets = ", ".join(f"{_ident(c)} = ?" for c in row)
    tx.execute(f"UPDATE {_ident(table)} SET {sets} WHERE id = ?", [*row.values(), rid])
    _log(tx, table, rid, current + 1, "update", device)
    return current + 1


def tombstone(tx: Connection, desc: Descriptor, rid: str, *, device: str, base_revision: int,
              keep: dict[str, Any] | None = None) -> int:
    """Mark a record deleted, keeping its id and revision but none of its content.

    Content columns become NULL or their descriptor's blank; `keep` overrides a few (a hash of
    an outside id, so that importing the same file again does not bring the record back).
    """
    fields = desc.erased() | (keep or {})
    revision = update(tx, desc.table, rid, fields | {"deleted": 1}, device=device,
                      base_revision=base_revision)
    tx.execute("UPDATE changes SET op = 'delete' WHERE tbl = ? AND record_id = ? AND revision = ?",
               (desc.table, rid, revision))
    return revision


def erase(tx: Connection, desc: Descriptor, person_id: str, *, device: str,
          column: str | None = None) -> int:
    """Tombstone every live record of `desc` that belongs to `person_id` (or whose `column`
    is that value), in bulk: a new revision each, logged as a deletion for sync; how many."""
    assert desc.person is not None
    table, who = _ident(desc.table), _ident(column or desc.person)
    at = now()
    blanks = desc.erased()
    tx.execute("INSERT INTO changes (tbl, record_id, revision, op, device, at) "
               f"SELECT ?, id, revision + 1, 'delete', ?, ? FROM {table} "
               f"WHERE {who} = ? AND deleted = 0", (table, device, at, person_id))
    sets = ", ".join(f"{_ident(c)} = ?" for c in blanks)
    cursor = tx.execute(
        f"UPDATE {table} SET {sets}, base_revision = revision, revision = revision + 1, "
        f"device = ?, updated_at = ?, deleted = 1 WHERE {who} = ? AND deleted = 0",
        [*blanks.values(), device, at, person_id])
    return int(cursor.rowcount)


def is_record_table(conn: Connection, table: str) -> bool:
    """Whether `table` has the sync columns yet (spaces and identities got them in a later
    migration than the one that made them; an older migration may still write to them)."""
    return any(row[1] == "revision" for row in
               conn.execute(f"PRAGMA table_info({_ident(table)})").fetchall())


def device_of(conn: Connection) -> str:
    """This vault's device id (empty before the vault's meta is written)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
    return str(row[0]) if row else ""


def adopt(tx: Connection, desc: Descriptor, person_id: str, rows: Sequence[dict[str, Any]], *,
          device: str) -> list[str]:
    """Insert serialised records (from a handover archive, later from sync) as `person_id`'s,
    skipping those already here: the same id, or a live record with the same outside id."""
    added = []
    for row in rows:
        rid = str(row["id"])
        fields = desc.deserialise(row)
        if _present(tx, desc, person_id, rid, fields.get("external_id")):
            continue
        added.append(insert(tx, desc.table, fields | {"person": person_id}, device=device,
                            rid=rid))
    return added


def _present(tx: Connection, desc: Descriptor, person_id: str, rid: str,
             external_id: Any) -> bool:
    table = _ident(desc.table)
    if tx.execute(f"SELECT 1 FROM {table} WHERE id = ?", (rid,)).fetchone():
        return True
    return bool(external_id) and tx.execute(
        f"SELECT 1 FROM {table} WHERE person = ? AND external_id = ? AND deleted = 0",
        (person_id, external_id)).fetchone() is not None


def serialised(conn: Connection, desc: Descriptor, person_id: str) -> list[dict[str, Any]]:
    """A person's live records of one type, serialised (the handover archive, later sync)."""
    assert desc.person is not None
    columns = ["id", *desc.refs, *desc.content]
    rows = conn.execute(f"SELECT {', '.join(map(_ident, columns))} FROM {_ident(desc.table)} "
                        f"WHERE {_ident(desc.person)} = ? AND deleted = 0", (person_id,))
    return [desc.serialise(dict(zip(columns, row, strict=True))) for row in rows.fetchall()]


def counts(conn: Connection) -> dict[str, int]:
    """How many live records of each type the vault holds."""
    return {d.table: int(conn.execute(
        f"SELECT count(*) FROM {_ident(d.table)} WHERE deleted = 0").fetchone()[0])
        for d in descriptors.ALL}


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
