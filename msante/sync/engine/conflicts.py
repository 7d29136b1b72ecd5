"""Conflicts: a record edited on two devices keeps both versions until the person chooses.

A conflict is kept (table `sync_conflicts`) when an incoming revision and a local one share a
base and neither descends from the other, or when a local edit not yet sent meets an incoming
one. The local row keeps the local version (`kept = mine`), except for a delete against an
edit, where the edit wins the row (`kept = theirs`) and the deletion waits as "mine".
Resolving writes the chosen version as a new revision based on the incoming one — the other
device's head — so that the other device takes it as a fast-forward.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from msante.errors import NotFoundError, UsageError
from msante.i18n import _
from msante.sync import spaces
from msante.sync.chains import b64e
from msante.sync.device import Device
from msante.sync.engine import state
from msante.sync.items import Revision
from msante.vault.db import Connection, now
from msante.vault.store import Store

_COLUMNS = ("id, space, tbl, record, local_revision, local_fields, local_deleted, "
            "incoming_revision, incoming_fields, incoming_deleted, device, device_name, kept, "
            "at, resolved_at, resolution")


@dataclass(frozen=True)
class Conflict:
    """Both versions of one record."""

    id: int
    space: str
    table: str
    record: str
    local_revision: str | None
    local_fields: dict[str, Any]
    local_deleted: bool
    incoming_revision: str
    incoming_fields: dict[str, Any]
    incoming_deleted: bool
    device: bytes
    device_name: str
    kept: str
    at: str
    resolved_at: str | None
    resolution: str | None


def _conflict(row: Any) -> Conflict:
    return Conflict(int(row[0]), str(row[1]), str(row[2]), str(row[3]), row[4],
                    json.loads(row[5] or "{}"), bool(row[6]), str(row[7]), json.loads(row[8]),
                    bool(row[9]), bytes(row[10]), str(row[11]), str(row[12]), str(row[13]),
                    row[14], row[15])


def open_for(conn: Connection, space: str, record: str) -> Conflict | None:
    """The record's unresolved conflict, if any."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM sync_conflicts WHERE space = ? AND record = ? "
                       "AND resolved_at IS NULL ORDER BY id DESC LIMIT 1",
                       (space, record)).fetchone()
    return _conflict(row) if row else None


def has_open(conn: Connection, space: str, record: str) -> bool:
    """Whether the record waits for the person to choose."""
    return open_for(conn, space, record) is not None


def add(tx: Connection, space: str, table: str, record: str, local: state.Known | None,
        local_fields: dict[str, Any], local_deleted: bool, rev: Revision, device: bytes,
        device_name: str, kept: str) -> None:
    """Keep both versions of a record."""
    tx.execute(
        "INSERT INTO sync_conflicts (space, tbl, record, local_revision, local_fields, "
        "local_deleted, incoming_revision, incoming_fields, incoming_deleted, device, "
        "device_name, kept, at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        (space, table, record, local.revision if local else None,
         json.dumps(local_fields, sort_keys=True), int(local_deleted), rev.revision,
         json.dumps(dict(rev.fields), sort_keys=True), int(rev.deleted), device, device_name,
         kept, now()))


def update_incoming(tx: Connection, conflict: Conflict, rev: Revision, device: bytes,
                    device_name: str) -> None:
    """The other side moved on: the conflict shows its newest version."""
    tx.execute("UPDATE sync_conflicts SET incoming_revision = ?, incoming_fields = ?, "
               "incoming_deleted = ?, device = ?, device_name = ?, at = ? WHERE id = ?",
               (rev.revision, json.dumps(dict(rev.fields), sort_keys=True), int(rev.deleted),
                device, device_name, now(), conflict.id))


def close(tx: Connection, conflict_id: int, how: str) -> None:
    """Mark a conflict resolved (`mine`, `theirs`, or `remote`: on another device)."""
    tx.execute("UPDATE sync_conflicts SET resolved_at = ?, resolution = ? WHERE id = ?",
               (now(), how, conflict_id))


def _get(conn: Connection, conflict_id: int) -> Conflict:
    row = conn.execute(f"SELECT {_COLUMNS} FROM sync_conflicts WHERE id = ?",
                       (conflict_id,)).fetchone()
    if row is None:
        raise NotFoundError(_("No sync conflict {id}.").format(id=conflict_id))
    return _conflict(row)


def count_open(conn: Connection) -> int:
    """How many conflicts wait for the person."""
    return int(conn.execute("SELECT count(*) FROM sync_conflicts WHERE resolved_at IS NULL")
               .fetchone()[0])


_HIDDEN = {"id", "file", "name_key", "tags_text", "text"}


def _differs(mine: dict[str, Any], theirs: dict[str, Any]) -> list[str]:
    """The fields whose values differ (those people read)."""
    return sorted(k for k in set(mine) | set(theirs)
                  if k not in _HIDDEN and mine.get(k) != theirs.get(k))


def listing(store: Store, *, include_resolved: bool = False) -> list[dict[str, Any]]:
    """The conflicts as plain data (stable keys, documented in docs/cli.md)."""
    from msante.sync.engine.push import snapshot

    where = "" if include_resolved else " WHERE resolved_at IS NULL"
    rows = store.conn.execute(f"SELECT {_COLUMNS} FROM sync_conflicts{where} ORDER BY id")
    out = []
    names = dict(store.conn.execute("SELECT id, name FROM people").fetchall())
    for c in (_conflict(r) for r in rows.fetchall()):
        snap = snapshot(store.conn, store, c.space, c.table, c.record, file=False)
        current = snap.fields if snap else {}
        mine = current if c.kept == "mine" else c.local_fields
        theirs = c.incoming_fields if c.kept == "mine" else current
        mine_deleted = bool(snap and snap.deleted) if c.kept == "mine" else c.local_deleted
        theirs_deleted = c.incoming_deleted if c.kept == "mine" else bool(snap and snap.deleted)
        updated = store.conn.execute(f"SELECT updated_at FROM {c.table} WHERE id = ?",
                                     (c.record,)).fetchone()
        out.append({
            "id": c.id, "type": c.table, "record": c.record, "person": names.get(c.space),
            "space": c.space, "differs": _differs(mine, theirs),
            "mine": {"deleted": mine_deleted, "fields": _shown(mine), "device": "this device",
                     "at": updated[0] if updated else None},
            "theirs": {"deleted": theirs_deleted, "fields": _shown(theirs),
                       "device": c.device_name, "fingerprint_of": b64e(c.device),
                       "at": c.at},
            "resolved": c.resolution})
    return out


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if k not in _HIDDEN}


def resolve(store: Store, dev: Device, conflict_id: int, keep: str) -> dict[str, Any]:
    """Write the chosen version as a new revision based on the incoming one; close it."""
    from msante.sync.engine import apply, push
    from msante.vault import descriptors

    if keep not in ("mine", "theirs"):
        raise UsageError(_("--keep is mine or theirs."))
    c = _get(store.conn, conflict_id)
    if c.resolved_at is not None:
        raise UsageError(_("Sync conflict {id} is already resolved.").format(id=c.id))
    keys = spaces.current(store.conn, c.space)
    if keys is None:
        raise NotFoundError(_("No sync keys for space {space}.").format(space=c.space))
    with store.write() as tx:
        snap = push.snapshot(tx, store, c.space, c.table, c.record, file=False)
        here = (snap.fields, snap.deleted) if snap else ({}, True)
        if keep == "mine":
            fields, deleted = here if c.kept == "mine" else (c.local_fields, c.local_deleted)
        else:
            fields, deleted = (c.incoming_fields, c.incoming_deleted) if c.kept == "mine" \
                else here
        desc = descriptors.of(c.table)
        removed = apply.write_fields(tx, store, c.space, desc, c.record, fields, deleted,
                                     device=b64e(dev.signing.verify_key().key_id()))
        state.supersede_local(tx, c.space, c.table, c.record)
        new = push.snapshot(tx, store, c.space, c.table, c.record)
        assert new is not None
        cur = state.cursor(tx, c.space)
        push.seal(tx, dev, keys, cur, new, base=c.incoming_revision)
        state.save_cursor(tx, cur)
        close(tx, c.id, keep)
        store.log(tx, "sync.conflict.resolve", person=c.space, record=c.record,
                  detail={"conflict": c.id, "table": c.table, "keep": keep,
                          "device": c.device_name})
    if removed:
        apply.remove_blob(store, removed)
    return {"id": c.id, "keep": keep, "record": c.record, "type": c.table}
