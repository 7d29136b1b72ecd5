"""The sync engine: push this device's changes, pull the others', keep both on a conflict.

    from msante.sync import engine
    result = engine.sync(store, client, dev)        # client logged in as `dev`

For each synced space: push (msante.sync.engine.push), pull and apply (pull, apply), push
again what the pull left to send; conflicts wait in msante.sync.engine.conflicts. The state
lives in the vault (migration 10, msante.sync.engine.state). docs/architecture.md, "The sync
engine", describes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync import spaces
from msante.sync.chains import AccountState
from msante.sync.client import Client
from msante.sync.device import Device
from msante.vault.db import now
from msante.vault.store import Store

if TYPE_CHECKING:
    from msante.sync.engine.apply import Writer

Progress = Callable[[str, int, int], None]


@dataclass
class SyncResult:
    """What one sync did (the `--json` keys of `msante sync`)."""

    pushed: int = 0
    pulled: int = 0
    applied: int = 0
    conflicts: int = 0
    blobs_up: int = 0
    blobs_down: int = 0
    spaces: int = 0
    by_device: dict[str, int] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The documented keys."""
        data = asdict(self)
        data.pop("by_device")
        return data


def sync_space(store: Store, client: Client, dev: Device, space: str, result: SyncResult,
               progress: Progress | None = None, *, mine: AccountState | None = None) -> None:
    """Verify the space's chains (and fetch new keys), then push, pull, push again — with
    the stale edits no pulled revision explains sent once more (a second unexplained 409:
    the server lies, exit 6)."""
    from msante.sync.engine import pull, push

    allowed = pull.writers(store, client, dev, space, mine or account(store, client, dev))
    _push(store, client, dev, space, result, progress)
    me = dev.signing.verify_key().key_id()
    _pull(store, client, space, allowed, result, progress, me)
    again = push.requeue(store, dev, space)
    stale = _push(store, client, dev, space, result, progress)
    lying = set(again) & set(stale)
    if lying:
        _pull(store, client, space, allowed, result, progress, me)
        lying &= {p.record for p in push.unexplained(store.conn, space)}
    if lying:
        raise IntegrityError(_(
            "The server refused the edit of record {record} in space {space} twice as stale, "
            "with no newer revision of it to pull: it lies about the record.").format(
                record=", ".join(sorted(lying)), space=space))


def _push(store: Store, client: Client, dev: Device, space: str, result: SyncResult,
          progress: Progress | None) -> list[str]:
    """Seal the new changes and send what is pending; the records answered stale."""
    from msante.sync.engine import push

    push.prepare(store, dev, space)
    sent = push.send(store, client, dev, space, progress)
    result.pushed += sent.stored
    result.blobs_up += sent.blobs_up
    return sent.stale


def _pull(store: Store, client: Client, space: str, allowed: dict[bytes, Writer],
          result: SyncResult, progress: Progress | None, me: bytes) -> None:
    """Pull and apply (this device's own items skipped); count it."""
    from msante.sync.engine import pull

    got = pull.pull(store, client, space, allowed, progress, me=me)
    result.pulled += got.pulled
    result.applied += got.applied
    result.conflicts += got.conflicts
    result.blobs_down += got.blobs_down
    for name, n in got.by_device.items():
        result.by_device[name] = result.by_device.get(name, 0) + n


def account(store: Store, client: Client, dev: Device) -> AccountState:
    """The server's account chain, verified and extending the kept one
    (`linking.server_account`), listing this device (`active`)."""
    from msante.sync import linking

    return active(linking.server_account(store, client, dev)[0], dev)


def active(mine: AccountState, dev: Device) -> AccountState:
    """`mine` when it lists this device; IntegrityError (exit 6) otherwise."""
    if not mine.is_active(dev.signing.verify_key().key_id()):
        raise IntegrityError(_(
            "This device is not in the account chain the server shows for account {account}: "
            "the server shows another history than the one this device wrote.").format(
                account=dev.account))
    return mine


def sync(store: Store, client: Client, dev: Device,
         progress: Progress | None = None, *, mine: AccountState | None = None) -> SyncResult:
    """Check the server's log (`verify.verify_all`), then sync every space this device holds
    keys for; the client must be logged in."""
    from msante.sync import verify
    from msante.sync.engine import state

    verify.verify_all(store, client, dev)
    mine = active(mine, dev) if mine is not None else account(store, client, dev)
    result = SyncResult()
    for space in spaces.synced(store.conn):
        sync_space(store, client, dev, space, result, progress, mine=mine)
        result.spaces += 1
    with store.write() as tx:
        pushed = min((state.cursor(tx, s).pushed for s in spaces.synced(tx)), default=0)
        tx.execute("UPDATE sync_device SET last_sync = ?, pushed_seq = ?", (now(), pushed))
        store.log(tx, "sync.run", detail=result.to_json() | {"from": result.by_device})
    return result


def run(store: Store, *, connect: Callable[[str, bool], Client] | None = None,
        progress: Progress | None = None) -> SyncResult:
    """`msante sync`: log in, publish the spaces added since, sync every space."""
    from msante.errors import UsageError
    from msante.i18n import _
    from msante.sync import device as devices
    from msante.sync import setup

    dev = devices.load(store.conn)
    if dev is None or not dev.ready:
        raise UsageError(_("This vault is not set up for sync: msante sync setup SERVER_URL."))
    from msante.sync import linking

    with (connect or setup.default_client)(dev.server, dev.insecure) as client:
        client.login(dev.account, dev.device, dev.signing, dev.server_id)
        mine, unexpected = linking.server_account(store, client, dev)
        linking.share_new_spaces(store, client, dev, mine, setup.publish(store, client, dev))
        linking.join_new_spaces(store, client, dev, mine)
        result = sync(store, client, dev, progress, mine=mine)
        result.unexpected = [linking.describe(entry, mine) for entry in unexpected]
        _reseal(store, client, dev)
        return result


def _reseal(store: Store, client: Client, dev: Device) -> None:
    """Keys moved (a rotation here or received, a new space): seal the account's recovery
    bundle again. A failure leaves the sync done; the next one tries again."""
    from msante.errors import SyncError, UsageError
    from msante.sync import recovery

    try:
        recovery.reseal_if_changed(store, client, dev)
    except (SyncError, UsageError):
        pass


def status(store: Store) -> dict[str, Any]:
    """What `sync status` adds: open conflicts, and each synced space's key version."""
    from msante.sync.engine import conflicts

    return {"conflicts": conflicts.count_open(store.conn),
            "spaces": [{"space": space, "key_version": keys.version}
                       for space in spaces.synced(store.conn)
                       if (keys := spaces.current(store.conn, space)) is not None]}
