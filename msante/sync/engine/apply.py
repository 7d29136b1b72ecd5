"""Apply: each incoming revision, classified against the lineage, written or kept aside.

fast-forward   insert or update the local row (or tombstone it); the resulting local revision
               is recorded in the lineage as the incoming revision, in the same transaction,
               so it is never pushed back
already-have   nothing (one of ours the server had before its answer was lost: now `stored`)
conflict       both kept (msante.sync.engine.conflicts); a delete against an edit keeps the edit
stale-fork-forged  refused: IntegrityError naming the device and the record, nothing applied

Every applied revision has its audit entry naming the device it came from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync import spaces
from msante.sync.chains import b64d, b64e
from msante.sync.crypto import VerifyKey
from msante.sync.engine import conflicts, state
from msante.sync.engine.state import CONFLICT, PENDING, PULLED, STORED, Known
from msante.sync.items import Item, Lineage, Revision, Verdict, classify
from msante.vault import crypto, descriptors, files, records
from msante.vault import spaces as vault_spaces
from msante.vault.db import Connection, errors
from msante.vault.descriptors import Descriptor
from msante.vault.store import Store


@dataclass(frozen=True)
class Writer:
    """A device the space chain lets write (`below`: only under older key versions, `last`:
    only up to that item)."""

    key: VerifyKey
    name: str
    account: str
    below: int | None = None
    last: tuple[int, bytes] | None = None
    """For a removed writer whose removal names its last item: (seq, hash); (-1, b"") when
    it had none: no item of it past that is taken."""

    def label(self) -> str:
        """How the history names it: its name and fingerprint."""
        return f"{self.name} ({self.key.fingerprint()})"


@dataclass(frozen=True)
class Incoming:
    """An accepted item, opened."""

    item: Item
    rev: Revision
    writer: Writer


@dataclass
class Applied:
    """What applying did."""

    applied: int = 0
    conflicts: int = 0
    by_device: dict[str, int] = field(default_factory=dict)
    removed_blobs: list[str] = field(default_factory=list)


def ensure_space(tx: Connection, store: Store, space: str) -> None:
    """This vault's own space (its key wraps the files) for a person arriving by sync."""
    if tx.execute("SELECT 1 FROM spaces WHERE id = ?", (space,)).fetchone() is None:
        vault_spaces.create(tx, store.keys, space, device=store.device)


def _local(tx: Connection, table: str, rid: str) -> Any:
    cols = "revision, deleted" + (", blob_id, wrapped_key" if table == "documents" else "")
    return tx.execute(f"SELECT {cols} FROM {table} WHERE id = ?", (rid,)).fetchone()


def write_fields(tx: Connection, store: Store, space: str, desc: Descriptor, rid: str,
                 fields: Mapping[str, Any], deleted: bool, *, device: str) -> str | None:
    """Make the local row these serialised fields (a new local revision); the blob it no
    longer references, to remove after the commit."""
    table = desc.table
    local = _local(tx, table, rid)
    try:
        cols = desc.deserialise(fields)
    except ValueError:
        cols = {"": None}
    if any(not isinstance(v, str | int | float | bytes | None) or c not in desc.content + desc.refs
           for c, v in cols.items()):
        raise IntegrityError(_("A synced record {id} holds values no record of its type "
                               "has.").format(id=rid))
    if desc.person not in (None, "id"):
        cols[str(desc.person)] = space
    revision = 1 if local is None else int(local[0]) + 1
    old_blob = None
    if table == "documents":
        old_blob = _document_key(tx, store, space, rid, cols, fields, deleted, local, revision)
    if local is None:
        records.insert(tx, table, cols | {"deleted": int(deleted)}, device=device, rid=rid)
        if deleted:
            tx.execute("UPDATE changes SET op = 'delete' WHERE tbl = ? AND record_id = ? "
                       "AND revision = 1", (table, rid))
    elif deleted:
        records.tombstone(tx, desc, rid, device=device, base_revision=int(local[0]), keep=cols)
    else:
        records.update(tx, table, rid, cols | {"deleted": 0}, device=device,
                       base_revision=int(local[0]))
    return old_blob


def _document_key(tx: Connection, store: Store, space: str, rid: str, cols: dict[str, Any],
                  fields: Mapping[str, Any], deleted: bool, local: Any,
                  revision: int) -> str | None:
    """Wrap the document's file key under this vault's space key for the new revision."""
    blob = cols.get("blob_id") if not deleted else None
    cols["wrapped_key"] = None
    if blob:
        file = fields.get("file")
        if isinstance(file, Mapping):
            try:
                key = b64d(file.get("key"), "file key", 32)
            except ValueError:
                raise IntegrityError(_("A synced document {id} came without its file key.")
                                     .format(id=rid)) from None
        elif local is not None and local[2] == blob and local[3]:
            key = files.data_key(store, files.FileRef(space, rid, int(local[0]), blob,
                                                      bytes(local[3])))
        else:
            raise IntegrityError(_("A synced document {id} came without its file key.")
                                 .format(id=rid))
        ref = files.FileRef(space, rid, revision, str(blob), b"")
        cols["wrapped_key"] = crypto.wrap_key(vault_spaces.key(tx, store.keys, space), key,
                                              ref.key_aad())
    old = local[2] if local is not None else None
    return str(old) if old and old != blob else None


def remove_blob(store: Store, blob: str) -> None:
    """Remove a blob no live or tombstoned document references any more."""
    if store.conn.execute("SELECT 1 FROM documents WHERE blob_id = ?", (blob,)).fetchone():
        return
    store.blobs.delete(blob)


def _refuse(inc: Incoming, why: str) -> IntegrityError:
    return IntegrityError(_(
        "Device {device} sent revision {revision} of record {record} that this vault cannot "
        "accept ({why}): nothing of this sync batch was applied.").format(
        device=inc.writer.label(), revision=inc.rev.revision, record=inc.rev.record, why=why))


def apply_page(tx: Connection, store: Store, space: str, incoming: list[Incoming],
               out: Applied) -> None:
    """Apply a page of accepted items, in order, inside the caller's transaction."""
    if incoming:
        ensure_space(tx, store, space)
    for inc in incoming:
        apply_one(tx, store, space, inc, out)


def apply_one(tx: Connection, store: Store, space: str, inc: Incoming, out: Applied) -> None:
    """Classify one revision against the lineage and apply it."""
    rev, routing = inc.rev, inc.item.envelope.routing
    table = rev.table
    if spaces.TABLE_SCOPES.get(table) != routing.scope:
        raise _refuse(inc, _("a record sealed under another scope"))
    if table == "people" and rev.record != space:
        raise _refuse(inc, _("another person's record"))
    known = state.lineage(tx, space, table, rev.record)
    verdict = classify([k.lineage() for k in known],
                       Lineage(rev.revision, rev.base, routing.device, rev.deleted), table=table)
    if verdict is Verdict.ALREADY_HAVE:
        mine = next(k for k in known if k.revision == rev.revision)
        if mine.status == PENDING:  # ours: the server had it before its answer was lost
            state.set_status(tx, space, mine.revision, STORED)
        return
    if verdict is Verdict.STALE:
        raise _refuse(inc, _("an unknown base, a reused record id, an old revision served "
                             "again or a fork"))
    open_conflict = conflicts.open_for(tx, space, rev.record)
    if open_conflict is not None:
        if _descends(known, rev.base, open_conflict.local_revision):
            conflicts.close(tx, open_conflict.id, "remote")
        else:
            conflicts.update_incoming(tx, open_conflict, rev, routing.device, inc.writer.label())
            if open_conflict.kept != "theirs":  # the row shows this device's version
                _remember(tx, space, inc, CONFLICT, None)
                return
    head = state.local_head(known)
    local = _local(tx, table, rev.record)
    unsent = local is not None and (head is None or head.local_revision != int(local[0]))
    if verdict is Verdict.FAST_FORWARD and not unsent:
        _write(tx, store, space, inc, out)
        return
    _conflict(tx, store, space, inc, head, local, out)


def _descends(known: list[Known], base: str | None, ancestor: str | None) -> bool:
    """Whether a revision based on `base` descends from `ancestor`."""
    bases = {k.revision: k.base for k in known}
    seen = set()
    while base is not None and ancestor is not None and base not in seen:
        if base == ancestor:
            return True
        seen.add(base)
        base = bases.get(base)
    return False


def _remember(tx: Connection, space: str, inc: Incoming, status: str,
              local_revision: int | None) -> None:
    rev = inc.rev
    state.add(tx, space, rev.table, rev.record, Known(
        rev.revision, rev.base, inc.item.envelope.routing.device, rev.deleted, local_revision,
        status))


def _write(tx: Connection, store: Store, space: str, inc: Incoming, out: Applied) -> None:
    """Make the local row the incoming revision (a fast-forward), audited."""
    rev = inc.rev
    desc = descriptors.of(rev.table)
    before = _local(tx, rev.table, rev.record)
    tx.execute("SAVEPOINT sync_apply")
    try:
        removed = write_fields(tx, store, space, desc, rev.record, rev.fields, rev.deleted,
                               device=b64e(inc.item.envelope.routing.device))
    except errors()[1] as exc:
        if "UNIQUE" not in str(exc):
            raise
        tx.execute("ROLLBACK TO sync_apply")
        tx.execute("RELEASE sync_apply")
        _keep_aside(tx, space, inc, out)
        return
    tx.execute("RELEASE sync_apply")
    if removed:
        out.removed_blobs.append(removed)
    local = records.current_revision(tx, rev.table, rev.record)
    _remember(tx, space, inc, PULLED, local)
    op = "delete" if rev.deleted else ("insert" if before is None else "update")
    _audit(store, tx, space, inc, op)
    out.applied += 1
    out.by_device[inc.writer.label()] = out.by_device.get(inc.writer.label(), 0) + 1


def _keep_aside(tx: Connection, space: str, inc: Incoming, out: Applied) -> None:
    """A record that would duplicate a unique one here (the same outside id, name…): kept
    as a conflict with nothing local, for the person to see."""
    conflicts.add(tx, space, inc.rev.table, inc.rev.record, None, {}, True, inc.rev,
                  inc.item.envelope.routing.device, inc.writer.label(), "mine")
    _remember(tx, space, inc, CONFLICT, None)
    out.conflicts += 1


def _conflict(tx: Connection, store: Store, space: str, inc: Incoming, head: Known | None,
              local: Any, out: Applied) -> None:
    """Both versions kept; a delete against an edit keeps the edit."""
    from msante.sync.engine.push import snapshot

    rev = inc.rev
    snap = snapshot(tx, store, space, rev.table, rev.record, file=False)
    mine = snap.fields if snap else {}
    mine_deleted = bool(local is None or local[1])
    if mine_deleted and not rev.deleted and local is not None:
        state.supersede_local(tx, space, rev.table, rev.record)
        conflicts.add(tx, space, rev.table, rev.record, head, mine, True, rev,
                      inc.item.envelope.routing.device, inc.writer.label(), "theirs")
        _write(tx, store, space, inc, out)
    else:
        conflicts.add(tx, space, rev.table, rev.record, head, mine, mine_deleted, rev,
                      inc.item.envelope.routing.device, inc.writer.label(), "mine")
        _remember(tx, space, inc, CONFLICT, None)
    out.conflicts += 1
    store.log(tx, "sync.conflict", person=space, record=rev.record, detail={
        "table": rev.table, "device": inc.writer.name,
        "fingerprint": inc.writer.key.fingerprint(), "incoming_deleted": rev.deleted})


def _audit(store: Store, tx: Connection, space: str, inc: Incoming, op: str) -> None:
    """The history names the device the change came from."""
    actor = store.actor
    store.actor = f"device:{inc.writer.name}"[:80]
    try:
        store.log(tx, "sync.apply", person=space, record=inc.rev.record, detail={
            "table": inc.rev.table, "op": op, "device": inc.writer.name,
            "fingerprint": inc.writer.key.fingerprint(), "revision": inc.rev.revision})
    finally:
        store.actor = actor
