"""Sync this vault now: the service behind the TUI's "Sync now" and the background child.

    result = runner.run(store, by="tui", progress=callback)

One login as this device (as `sync setup` does), `setup.publish` (idempotent: a new person's
space, entries kept before posting), then `engine.sync`. Every attempt is remembered in the
vault (`msante.sync.lastrun`), its error message included, so the TUI and `status` can say
how the last one went; the error is raised again for the caller to show.
"""

from __future__ import annotations

from typing import Any

from msante.errors import UsageError
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import engine, lastrun, setup
from msante.sync.engine import SyncResult
from msante.sync.engine import conflicts as conflict_store
from msante.vault.store import Store


def not_set_up() -> UsageError:
    """The error of a sync asked of a vault that has no sync identity yet."""
    return UsageError(_("This vault is not set up for sync: msante sync setup SERVER_URL."))


def ready_device(store: Store) -> devices.Device:
    """This vault's finished sync identity, or UsageError saying how to set it up."""
    dev = devices.load(store.conn)
    if dev is None or not dev.ready:
        raise not_set_up()
    return dev


def run(store: Store, *, by: str, progress: engine.Progress | None = None,
        connect: setup.ClientFactory = setup.default_client) -> SyncResult:
    """Log in, publish, sync every space (`engine.run`); remember how it went (and raise
    its error). A vault not set up raises before anything is remembered."""
    ready_device(store)
    try:
        result = engine.run(store, connect=connect, progress=progress)
    except Exception as exc:
        lastrun.record(store, by, lastrun.error_text(exc))
        raise
    lastrun.record(store, by, None)
    return result


def status(store: Store) -> dict[str, Any]:
    """Whether sync is set up, the server, last sync, changes to send, open conflicts, and the
    last attempt (its error if it failed)."""
    dev = devices.load(store.conn)
    last = lastrun.last(store)
    return {"configured": bool(dev and dev.ready), "server": dev.server if dev else None,
            "last_sync": dev.last_sync if dev else None,
            "pending_changes": devices.pending_changes(store.conn, dev),
            "conflicts": conflict_store.count_open(store.conn), "last_attempt": last}


def conflicts(store: Store) -> list[dict[str, Any]]:
    """The open conflicts, both versions of each (engine.conflicts.listing)."""
    return conflict_store.listing(store)


def resolve(store: Store, conflict_id: int, keep: str) -> dict[str, Any]:
    """Keep `mine` or `theirs` for one conflict (sent at the next sync)."""
    return conflict_store.resolve(store, ready_device(store), conflict_id, keep)
