"""What this device checked of a server's log, kept in the vault (migration 11).

`sync_checkpoints`: per server id, the log key pinned on first use, the last checkpoint seen
(signed note, size, root) and when, and how far its leaves were read (`Scan`).
`sync_log_heads`: per server id and sequence (a chain id, or `events:<space>`), the `Head`
its last walk proved (msante.sync.logcheck). Every change is
one audited transaction (`sync.checkpoint`), written only when something moved, and a
checkpoint never moves backwards: a smaller size, another key or another root at the same
size is refused (a LogError, exit 6), whoever asks. When another process kept its own check
between our read and our write, ours is dropped (both checked the same log).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync.checkpoint import Checkpoint, ForkError, RollbackError
from msante.sync.logcheck import Head, KeyChangedError, Scan
from msante.vault.db import Connection, now
from msante.vault.store import Store


@dataclass(frozen=True)
class Pinned:
    """A server's log as this device last checked it."""

    server_id: str
    key: str
    origin: str
    note: str
    size: int
    root: bytes
    checked_at: str
    scan: Scan


def load(conn: Connection, server_id: str) -> Pinned | None:
    """The pinned key and last checkpoint of `server_id`, or None before the first check."""
    row = conn.execute("SELECT log_key, origin, note, size, root, checked_at, scanned, border "
                       "FROM sync_checkpoints WHERE server_id = ?", (server_id,)).fetchone()
    if row is None:
        return None
    try:
        scan = Scan.from_bytes(int(row[6]), bytes(row[7]))
    except ValueError:
        raise IntegrityError(_("The log state this vault keeps for server {server} is damaged.")
                             .format(server=server_id)) from None
    return Pinned(server_id, str(row[0]), str(row[1]), str(row[2]), int(row[3]),
                  bytes(row[4]), str(row[5]), scan)


def heads(conn: Connection, server_id: str) -> dict[str, Head]:
    """What the last walks proved, by sequence (chain id or `events:<space>`)."""
    rows = conn.execute("SELECT stream, count, digest FROM sync_log_heads WHERE server_id = ?",
                        (server_id,)).fetchall()
    return {str(r[0]): Head(int(r[1]), bytes(r[2])) for r in rows}


def save(store: Store, server_id: str, key: str, checkpoint: Checkpoint, note: str,
         walked: Mapping[str, Head], scan: Scan | None = None) -> bool:
    """Keep `checkpoint`, the heads `walked` and how far the log was `scan`ned, if anything
    moved; True when written."""
    old = load(store.conn, server_id)
    old_heads = heads(store.conn, server_id)
    changed = {s: h for s, h in walked.items() if old_heads.get(s) != h}
    scan = scan or (old.scan if old is not None else Scan(0, ()))
    if old is not None and old.size == checkpoint.size and old.key == key and not changed \
            and old.scan == scan:
        _refuse_backwards(old, key, checkpoint)
        return False
    if old is not None:
        _refuse_backwards(old, key, checkpoint)
        if scan.size < old.scan.size:
            raise RollbackError(_("The log was already read further than this."))
    with store.write() as tx:
        current = load(tx, server_id)
        if current != old:  # another process kept its own check meanwhile: keep it
            store.log(tx, "sync.checkpoint.skipped", detail={"server": server_id})
            return False
        tx.execute("INSERT OR REPLACE INTO sync_checkpoints (server_id, log_key, origin, note, "
                   "size, root, scanned, border, checked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (server_id, key, checkpoint.origin, note, checkpoint.size, checkpoint.root,
                    scan.size, scan.to_bytes(), now()))
        for stream, head in changed.items():
            _keep_head(tx, server_id, stream, head)
        store.log(tx, "sync.checkpoint", detail={
            "server": server_id, "size": checkpoint.size, "root": checkpoint.root.hex(),
            "previous_size": current.size if current is not None else None,
            "scanned": scan.size,
            "sequences": sorted(changed)})
    return True


def _keep_head(tx: Connection, server_id: str, stream: str, head: Head) -> None:
    """Store one sequence's head; a shorter one than stored is refused (RollbackError)."""
    row = tx.execute("SELECT count FROM sync_log_heads WHERE server_id = ? AND stream = ?",
                     (server_id, stream)).fetchone()
    if row is not None and int(row[0]) > head.count:
        raise RollbackError(_(
            "The server's sequence {stream} went back from {old} to {new} entries: entries "
            "were removed or hidden.").format(stream=stream, old=int(row[0]), new=head.count))
    tx.execute("INSERT OR REPLACE INTO sync_log_heads (server_id, stream, count, digest, "
               "checked_at) VALUES (?, ?, ?, ?, ?)",
               (server_id, stream, head.count, head.digest, now()))


def _refuse_backwards(old: Pinned, key: str, new: Checkpoint) -> None:
    """The stored checkpoint never moves back, and the pinned key never changes."""
    if old.key != key:
        raise KeyChangedError(_("The server's log key is not the one this device pinned."))
    if new.size < old.size:
        raise RollbackError(_(
            "The server's log went back from {old} to {new} entries: entries were removed "
            "or hidden.").format(old=old.size, new=new.size))
    if new.size == old.size and new.root != old.root:
        raise ForkError(_(
            "The server shows two different logs of {size} entries: its history was forked "
            "or rewritten.").format(size=old.size))
