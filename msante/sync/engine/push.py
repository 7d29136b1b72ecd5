"""Push: record revisions from the change log become signed items, kept, then sent.

`prepare` reads the change log after the space's pushed position, and for each record whose
current local revision the lineage does not know yet (a revision that came from sync is known:
never pushed back) seals and signs one item under the scope key of the space's current key
version, based on the lineage's head of that record; the items are kept in the vault (the
lineage, status `pending`) in the same transaction that moves the position. `send` uploads
the documents' blobs, then pushes the pending items in batches: stored (201) or already stored
(200, a retry after a lost answer: the same bytes) → `stored`; 409 `stale` → `stale`, left for
the pull to turn into a conflict; 409 `device-chain` → re-chained (a new envelope, the same
revision id and ciphertext, kept before it is sent again). Then the device's chain head.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from msante.errors import BadServerAnswer, IntegrityError, SyncError
from msante.i18n import _
from msante.sync import spaces
from msante.sync.chains import b64e
from msante.sync.client import Client, unb64
from msante.sync.device import Device
from msante.sync.engine import state
from msante.sync.engine.state import PENDING, STALE, STORED, Cursor, Known, Pending
from msante.sync.items import ChainHead, Envelope, Item, Routing, new_revision_id, write_item
from msante.vault import descriptors, files
from msante.vault.db import Connection
from msante.vault.store import Store

BATCH = 200
"""Items per push (the server's limit)."""
MAX_REFUSED = 20
"""Rounds in a row in which the server takes none of the items (each refused as out of
order) before a push gives up: the rounds are bounded by refusals, never by batches."""

Progress = Callable[[str, int, int], None]
"""progress(what, done, total): blob bytes moved so far."""


@dataclass(frozen=True)
class Snapshot:
    """A record's current local row, serialised as an item carries it."""

    table: str
    record: str
    revision: int
    deleted: bool
    fields: dict[str, Any]
    blob: str | None = None


MAX_TEXT = 1_500_000
"""Bytes of a document's extracted text an item carries at most (an item is at most 2 MiB on
the server; the text is what search reads, the file itself travels whole as a blob)."""


def snapshot(conn: Connection, store: Store, space: str, table: str, rid: str, *,
             file: bool = True) -> Snapshot | None:
    """The record's current row as an item's fields, or None when it is not this space's
    (`file`: with a document's file key, size and hash, which reads the whole blob)."""
    desc = descriptors.of(table)
    who = desc.person or "id"
    columns = ["id", "revision", "deleted", who, *desc.refs, *desc.content]
    row = conn.execute(f"SELECT {', '.join(dict.fromkeys(columns))} FROM {table} WHERE id = ?",
                       (rid,)).fetchone()
    if row is None:
        return None
    data = dict(zip(dict.fromkeys(columns), row, strict=True))
    if data[who] != space:
        return None
    fields = desc.serialise(data)
    blob = None
    if table == "documents":
        fields.pop("wrapped_key", None)
        text = fields.get("text")
        if isinstance(text, str) and len(text.encode()) > MAX_TEXT:
            fields["text"] = text.encode()[:MAX_TEXT].decode(errors="ignore")
        if file and not data["deleted"] and data["blob_id"] and data["wrapped_key"]:
            blob = str(data["blob_id"])
            ref = files.FileRef(space, rid, int(data["revision"]), blob, bytes(data["wrapped_key"]))
            size, digest = blob_digest(store, blob)
            fields["file"] = {"key": b64e(files.data_key(store, ref)), "size": size,
                              "sha256": digest}
    return Snapshot(table, rid, int(data["revision"]), bool(data["deleted"]), fields, blob)


def blob_digest(store: Store, blob: str) -> tuple[int, str]:
    """The stored blob's ciphertext size and SHA-256 (hex)."""
    digest, size = hashlib.sha256(), 0
    with store.blobs.path(blob).open("rb") as src:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def seal(tx: Connection, dev: Device, keys: spaces.ScopeKeys, cur: Cursor, snap: Snapshot,
         base: str | None) -> Item:
    """Seal and sign one revision as this device's next item; keep it as pending."""
    kid = dev.signing.verify_key().key_id()
    scope = spaces.TABLE_SCOPES[snap.table]
    routing = Routing(cur.space, scope, snap.record, new_revision_id(), base, keys.version, kid)
    item = write_item(snap.fields, snap.table, keys.key(scope), routing, signer=dev.signing,
                      seq=cur.seq, prev=cur.prev, deleted=snap.deleted)
    state.add(tx, cur.space, snap.table, snap.record,
              Known(routing.revision, base, kid, snap.deleted, snap.revision, PENDING),
              item=item, blob=snap.blob)
    cur.seq, cur.prev = cur.seq + 1, item.hash()
    return item


def _changed(conn: Connection, store: Store, space: str, after: int, *,
             file: bool = True) -> list[Snapshot]:
    """The records changed after `after` whose current revision is new to the lineage."""
    from msante.sync.engine.conflicts import has_open

    rows = conn.execute("SELECT tbl, record_id FROM changes WHERE seq > ? GROUP BY tbl, "
                        "record_id ORDER BY MAX(seq)", (after,)).fetchall()
    out = []
    for table, rid in rows:
        if table not in spaces.TABLE_SCOPES:
            continue
        snap = snapshot(conn, store, space, table, rid, file=file)
        if snap is None or has_open(conn, space, rid):
            continue
        known = state.lineage(conn, space, table, rid)
        if not any(k.local_revision == snap.revision for k in known):
            out.append(snap)
    return out


def prepare(store: Store, dev: Device, space: str) -> int:
    """Seal the space's new local revisions as pending items; how many. With none, the
    pushed position still moves past what was read (no write when it is already there)."""
    top = state.last_change(store.conn)
    pushed = state.cursor(store.conn, space).pushed
    keys = spaces.current(store.conn, space)
    if pushed >= top or keys is None:
        return 0
    if not _changed(store.conn, store, space, pushed, file=False):
        with store.write() as tx:
            cur = state.cursor(tx, space)
            if cur.pushed == pushed:
                cur.pushed = top
                state.save_cursor(tx, cur)
            store.log(tx, "sync.push.prepare", person=space,
                      detail={"space": space, "items": 0, "key_version": keys.version})
        return 0
    with store.write() as tx:
        cur = state.cursor(tx, space)
        top = state.last_change(tx)
        snaps = _changed(tx, store, space, cur.pushed)
        for snap in snaps:
            head = state.local_head(state.lineage(tx, space, snap.table, snap.record))
            seal(tx, dev, keys, cur, snap, head.revision if head else None)
        cur.pushed = top
        state.save_cursor(tx, cur)
        store.log(tx, "sync.push.prepare", person=space,
                  detail={"space": space, "items": len(snaps), "key_version": keys.version})
    return len(snaps)


@dataclass
class Sent:
    """What a push did."""

    stored: int = 0
    stale: list[str] = field(default_factory=list)
    blobs_up: int = 0


def _wire(item: Item, device: str) -> dict[str, Any]:
    env = item.envelope
    r = env.routing
    return {"record": r.record, "revision": r.revision, "base": r.base,
            "key_version": r.key_version, "device": device, "device_seq": env.seq,
            "prev_hash": env.prev, "ciphertext_sha256": env.ciphertext_sha256,
            "envelope": env.to_json(), "ciphertext": item.ciphertext}


def rechain(dev: Device, todo: list[Pending], seq: int, prev: bytes) -> list[Pending]:
    """The same items signed again as the device's items from `seq` on."""
    out = []
    for p in todo:
        env = Envelope(p.item.envelope.routing, seq, prev, p.item.envelope.ciphertext_sha256)
        item = Item(env.sign(dev.signing), p.item.ciphertext)
        out.append(Pending(p.table, p.record, item, p.blob))
        seq, prev = seq + 1, item.hash()
    return out


def _kind(result: dict[str, Any]) -> str:
    return str(result.get("type") or "").rsplit(":", 1)[-1]


def send(store: Store, client: Client, dev: Device, space: str,
         progress: Progress | None = None, *, batch: int = BATCH) -> Sent:
    """Push the space's pending items (their blobs first), `batch` at a time, read from the
    vault one batch at a time; then put the chain head."""
    from msante.sync.engine import blobs

    sent = Sent()
    for blob in state.pending_blobs(store.conn, space):
        sent.blobs_up += blobs.upload(store, client, space, blob, progress)
    tip: tuple[int, bytes] | None = None
    idle = 0
    while todo := state.pending(store.conn, space, batch):
        first = todo[0].item.envelope
        if tip is None:
            tip = (first.seq, first.prev)
        elif (first.seq, first.prev) != tip:
            _rechain_rest(store, dev, space, tip, batch)
            continue
        stored, stale, tip = _round(client, dev, space, todo, tip)
        _record(store, space, stored, stale, tip)
        sent.stored += len(stored)
        sent.stale += [p.record for p in stale]
        idle = 0 if stored or stale else idle + 1
        if idle > MAX_REFUSED:
            raise BadServerAnswer(_("The server kept refusing this device's items as out of "
                                    "order: try again later."))
    if tip is not None and tip[0] > 0:
        head = ChainHead(space, dev.signing.verify_key().key_id(), tip[0] - 1, tip[1])
        client.put_head(space, dev.device, head.seq, head.item,
                        head.sign(dev.signing).to_json())
    return sent


def _round(client: Client, dev: Device, space: str, todo: list[Pending],
           tip: tuple[int, bytes]) -> tuple[list[Pending], list[Pending], tuple[int, bytes]]:
    """Push one batch: what the server stored, what it refused as stale, and where this
    device's chain now continues."""
    results = client.push(space, [_wire(p.item, dev.device) for p in todo])
    stored, stale = [], []
    for p, result in zip(todo, results, strict=True):
        status, kind = result.get("status"), _kind(result)
        if status in (200, 201) and result.get("revision") == p.item.envelope.routing.revision:
            stored.append(p)
            tip = (p.item.envelope.seq + 1, p.item.hash())
        elif status == 409 and kind == "stale":
            stale.append(p)
        elif status == 409 and kind == "device-chain":
            tip = _server_tip(result, tip, space)
        else:
            raise SyncError(_("The server refused a sync item ({status} {kind}): "
                              "{detail}").format(status=status, kind=kind,
                                                 detail=result.get("detail") or ""))
    return stored, stale, tip


def _rechain_rest(store: Store, dev: Device, space: str, tip: tuple[int, bytes],
                  batch: int) -> None:
    """Every item still to send signed again from `tip` on, kept before it is sent (after a
    refusal: the only time pending items are rewritten)."""
    with store.write() as tx:
        ids = state.pending_ids(tx, space)
        seq, prev = tip
        for start in range(0, len(ids), batch):
            for p in rechain(dev, state.pending_items(tx, space, ids[start:start + batch]),
                             seq, prev):
                state.replace_item(tx, space, p.item)
                seq, prev = p.item.envelope.seq + 1, p.item.hash()
        cur = state.cursor(tx, space)
        cur.seq, cur.prev = seq, prev
        state.save_cursor(tx, cur)
        store.log(tx, "sync.push", person=space, detail={
            "space": space, "stored": 0, "stale": 0, "again": len(ids)})


def _server_tip(result: dict[str, Any], tip: tuple[int, bytes], space: str) -> tuple[int, bytes]:
    """Where this device's chain continues: its own tip (the item after the last one the
    server acknowledged). A server claiming another one (`next_seq`, `prev_hash`) would
    have the device sign two items at one number: IntegrityError (exit 6)."""
    seq, prev = result.get("next_seq"), result.get("prev_hash")
    if seq is None and prev is None:
        return tip
    try:
        claim = (seq, unb64(prev))
    except BadServerAnswer:
        claim = None
    if claim != tip:
        raise IntegrityError(_(
            "The server says this device's items in space {space} continue at number {seq}, "
            "but by this device's own record they continue at {mine}: it would have the "
            "device sign two items at one number. Refused.").format(
                space=space, seq=seq, mine=tip[0]))
    return tip


def unexplained(conn: Connection, space: str) -> list[Pending]:
    """Stale items no revision known here explains: every other revision of their record is
    one of their ancestors (the server answered 409 with nothing newer to pull)."""
    from msante.sync.engine.conflicts import has_open

    rows = conn.execute("SELECT tbl, record, envelope, ciphertext, blob FROM sync_revisions "
                        "WHERE space = ? AND status = ? ORDER BY seq", (space, STALE))
    out = []
    for table, record, envelope, ciphertext, blob in rows.fetchall():
        item = Item(Envelope.from_json(bytes(envelope)), bytes(ciphertext))
        known = {k.revision: k for k in state.lineage(conn, space, str(table), str(record))}
        ancestors, base = set(), item.envelope.routing.base
        while base is not None and base in known and base not in ancestors:
            ancestors.add(base)
            base = known[base].base
        others = set(known) - ancestors - {item.envelope.routing.revision}
        if not others and not has_open(conn, space, str(record)):
            out.append(Pending(str(table), str(record), item, blob))
    return out


def requeue(store: Store, dev: Device, space: str) -> list[str]:
    """Send again the stale items no pulled revision explains (re-chained after this
    device's own tip, the same revision and ciphertext); their records."""
    todo = unexplained(store.conn, space)
    if not todo:
        return []
    with store.write() as tx:
        cur = state.cursor(tx, space)
        again = rechain(dev, todo, cur.seq, cur.prev)
        for p in again:
            state.replace_item(tx, space, p.item)
            state.set_status(tx, space, p.item.envelope.routing.revision, PENDING)
        cur.seq, cur.prev = again[-1].item.envelope.seq + 1, again[-1].item.hash()
        state.save_cursor(tx, cur)
        store.log(tx, "sync.push.requeue", person=space, detail={
            "space": space, "records": [p.record for p in again]})
    return [p.record for p in again]


def _record(store: Store, space: str, stored: list[Pending], stale: list[Pending],
            tip: tuple[int, bytes]) -> None:
    """Keep what the server answered (and, when nothing is left to send, the chain's tip)."""
    with store.write() as tx:
        for p in stored:
            state.set_status(tx, space, p.item.envelope.routing.revision, STORED)
        for p in stale:
            state.set_status(tx, space, p.item.envelope.routing.revision, STALE)
        if not state.pending(tx, space, 1):
            cur = state.cursor(tx, space)
            cur.seq, cur.prev = tip
            state.save_cursor(tx, cur)
        store.log(tx, "sync.push", person=space, detail={
            "space": space, "stored": len(stored), "stale": len(stale)})
