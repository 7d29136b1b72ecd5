"""Pull: verify who may write, then accept each device's items in order and apply them.

Per space: the space chain and its members' account chains, verified (`SpaceChain.verify`,
`AccountChain.verify`): the writers and their keys; every device's signed chain head; then
the pages after the stored sync token. Per page, each writing device's items go through its
`DeviceLog` (an unbroken chain up to its newest head on the last page); an item from a device
the chain does not let write is refused (IntegrityError, nothing applied). The items are opened
with the scope key of their key version, the documents' blobs fetched, and everything —
records, lineage, device logs, the token — is written in one transaction per page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from msante.errors import IntegrityError, ServerNotFound
from msante.i18n import _
from msante.sync import spaces
from msante.sync.chains import AccountState, SpaceState, b64e
from msante.sync.client import Client, PullPage
from msante.sync.device import Device
from msante.sync.engine import apply, blobs, state
from msante.sync.engine.apply import Applied, Incoming, Writer
from msante.sync.items import ChainHead, DeviceLog, Envelope, Item, open_item
from msante.vault.files import PendingBlobs
from msante.vault.store import Store

Progress = Callable[[str, int, int], None]


def writers(store: Store, client: Client, dev: Device, space: str,
            mine: AccountState) -> dict[bytes, Writer]:
    """The devices the verified space chain lets write, with their keys and names.

    The chain must extend the one this vault kept (`linking.space_state`: else rollback /
    rewritten, exit 6), name `mine` (the account chain pinned to its kept genesis) and list
    this device as a writer; key versions it names that this device lacks are fetched from
    its wraps; the new entries are kept, so the next sync pins them too.
    """
    from msante.sync import linking

    chain = linking.space_state(store, client, space, mine)
    me = dev.signing.verify_key().key_id()
    if not chain.may_write(me):
        raise IntegrityError(_(
            "The space chain the server shows for space {space} does not list this device as "
            "a writer: the server shows another history than the one this device "
            "joined.").format(space=space))
    _keys(store, client, dev, mine, chain)
    _keep(store, chain)
    lookup = linking.lookup_accounts(client, mine)
    states: dict[str, AccountState] = {}
    for account in sorted({*chain.writers.values(), *chain.members}):
        try:
            found = lookup(account)
        except ServerNotFound:
            continue
        if found is not None:
            states[account] = found
    out: dict[bytes, Writer] = {}
    for kid, account in chain.writers.items():
        keys = states[account].keys_of(kid) if account in states else None
        if keys is not None and kid not in chain.stale_writers:
            out[kid] = Writer(keys.verify, keys.name, account)
    for kid in chain.removed_writers:
        found_keys = next((s.keys_of(kid) for s in states.values() if s.keys_of(kid)), None)
        if found_keys is not None and kid not in out:
            bound = None if kid not in chain.removed_last \
                else chain.removed_last[kid] or (-1, b"")
            out[kid] = Writer(found_keys.verify, found_keys.name, "", below=chain.key_version,
                              last=bound)
    return out


def _keys(store: Store, client: Client, dev: Device, mine: AccountState,
          chain: SpaceState) -> None:
    """This device holds the chain's current key version: fetched from its wraps when the
    chain rotated (an honest rotation, e.g. a revocation on another device); keys newer than
    the chain mean the server hides entries."""
    from msante.sync import linking

    held = spaces.load(store.conn, chain.space)
    if held and max(held) > chain.key_version:
        raise IntegrityError(_(
            "This device holds keys of version {held} for space {space}, but the server's "
            "space chain stops at version {version}: it hides entries.").format(
                held=max(held), space=chain.space, version=chain.key_version))
    if chain.key_version not in held:
        linking.fetch_space(store, client, dev, mine, chain.space)


def _keep(store: Store, chain: SpaceState) -> None:
    """Keep the space chain's entries this vault did not have (verified, extending it)."""
    from msante.sync import linking

    new = chain.entries[len(spaces.entries(store.conn, chain.chain)):]
    if new:
        with store.write() as tx:
            linking.keep_seen(tx, new)
            store.log(tx, "sync.chain.space", person=chain.space, detail={
                "space": chain.space, "seq": len(chain.entries) - 1})


@dataclass
class Pulled:
    """What a pull did."""

    pulled: int = 0
    applied: int = 0
    conflicts: int = 0
    blobs_down: int = 0
    by_device: dict[str, int] = field(default_factory=dict)


def heads(client: Client, space: str, allowed: dict[bytes, Writer]) -> dict[bytes, ChainHead]:
    """Each writer's newest signed chain head (checked by its DeviceLog)."""
    out = {}
    for raw in client.heads(space):
        head = ChainHead.from_json(raw)
        if head.space != space:
            raise IntegrityError(_("The server served a chain head of another space in space "
                                   "{space}.").format(space=space))
        if head.device in allowed:
            out[head.device] = head
    return out


def pull(store: Store, client: Client, space: str, allowed: dict[bytes, Writer],
         progress: Progress | None = None, *, me: bytes | None = None) -> Pulled:
    """Pull and apply every page after the stored token (`allowed`: from `writers`; `me`:
    this device's key id, whose own items are skipped, see `_own`)."""
    newest = heads(client, space, allowed)
    if me is not None and me in allowed:
        newest.pop(me, None)
    else:
        me = None
    out = Pulled()
    for page in client.pull(space, state.cursor(store.conn, space).token):
        _page(store, client, space, allowed, page, None if page.more else newest, out,
              progress, me)
    return out


def _own(store: Store, space: str, allowed: dict[bytes, Writer], items: list[Item],
         me: bytes | None) -> tuple[list[Item], list[Item]]:
    """The page's items that go through their device's log, and the ones to open and apply.

    This device's own items never go through a log: the ones whose revision the lineage
    knows (pushed from here) are skipped unopened — the server's answers to the push said
    what it stored, and the other devices' logs check this device's chain; one it does not
    know (written before a restore of this vault) has its own signature checked, then is
    applied like any other.
    """
    if me is None:
        return items, items
    logged, opened = [], []
    for item in items:
        if item.envelope.routing.device != me:
            logged.append(item)
            opened.append(item)
        elif state.find(store.conn, space, item.envelope.routing.revision) is None:
            item.check(allowed[me].key)
            opened.append(item)
    return logged, opened


def _log(store: Store, space: str, kid: bytes, writer: Writer) -> DeviceLog:
    kept = state.log_state(store.conn, space, kid)
    if kept is None:
        return DeviceLog(space, writer.key)
    return DeviceLog.from_state(space, writer.key, kept)


def _accept(store: Store, space: str, allowed: dict[bytes, Writer], items: list[Item],
            newest: dict[bytes, ChainHead] | None) -> dict[bytes, DeviceLog]:
    """Each device's items through its log; the logs that moved."""
    by_device: dict[bytes, list[Item]] = {}
    for item in items:
        by_device.setdefault(item.envelope.routing.device, []).append(item)
    logs: dict[bytes, DeviceLog] = {}
    for kid, its in by_device.items():
        writer = allowed.get(kid)
        if writer is None:
            raise IntegrityError(_(
                "Device {device} is not allowed to write in space {space} (the space chain "
                "does not list it): its items were refused and nothing was applied.").format(
                device=b64e(kid), space=space))
        if writer.below is not None and any(
                i.envelope.routing.key_version >= writer.below for i in its):
            raise IntegrityError(_(
                "Device {device} was removed from space {space} but items it wrote after "
                "were served: refused, nothing was applied.").format(
                device=writer.label(), space=space))
        _bounded(space, writer, its)
        log = _log(store, space, kid, writer)
        log.sync(its, newest.get(kid) if newest is not None else None)
        logs[kid] = log
    for kid, head in (newest or {}).items():
        if kid not in logs:
            log = _log(store, space, kid, allowed[kid])
            before = log.state()
            log.sync([], head)
            if log.state() != before:
                logs[kid] = log
    return logs


def _bounded(space: str, writer: Writer, items: list[Item]) -> None:
    """A removed writer's items stop at the last one its removal names."""
    if writer.last is None:
        return
    seq, digest = writer.last
    for item in items:
        if item.envelope.seq > seq or item.envelope.seq == seq and item.hash() != digest:
            raise IntegrityError(_(
                "Device {device} was removed from space {space} after its item {last}, but "
                "the server served its item {seq}: refused, nothing was applied.").format(
                    device=writer.label(), space=space, last=seq, seq=item.envelope.seq))


def _open(store: Store, space: str, allowed: dict[bytes, Writer],
          items: list[Item]) -> list[Incoming]:
    keysets = spaces.load(store.conn, space)
    out = []
    for item in items:
        routing = item.envelope.routing
        keys = keysets.get(routing.key_version)
        if keys is None:
            raise IntegrityError(_(
                "Space {space} has items under key version {version}, whose keys this device "
                "does not have: nothing was applied.").format(
                space=space, version=routing.key_version))
        rev = open_item(item.ciphertext, keys.key(routing.scope), routing)
        out.append(Incoming(item, rev, allowed[routing.device]))
    return out


def _fetch_blobs(store: Store, client: Client, space: str, incoming: list[Incoming],
                 journal: PendingBlobs, progress: Progress | None) -> int:
    """The documents' blobs the page needs, checked against their signed size and hash."""
    fetched = 0
    for inc in incoming:
        file = inc.rev.fields.get("file")
        blob = inc.rev.fields.get("blob_id")
        if inc.rev.table != "documents" or inc.rev.deleted or not blob:
            continue
        if not isinstance(file, dict) or not isinstance(blob, str) \
                or not isinstance(file.get("size"), int) or not isinstance(file.get("sha256"), str):
            raise IntegrityError(_("A synced document {id} came without its file's size and "
                                   "hash.").format(id=inc.rev.record))
        try:
            store.blobs.path(blob)
        except Exception:
            raise IntegrityError(_("A synced document {id} names a malformed file id.")
                                 .format(id=inc.rev.record)) from None
        fetched += blobs.download(store, client, space, blob, int(file["size"]),
                                  str(file["sha256"]), journal, progress)
    return fetched


def _page(store: Store, client: Client, space: str, allowed: dict[bytes, Writer],
          page: PullPage, newest: dict[bytes, ChainHead] | None, out: Pulled,
          progress: Progress | None, me: bytes | None = None) -> None:
    """Accept, open and apply one page, in one transaction."""
    items = [Item(Envelope.from_json(_bytes(raw, "envelope")), _bytes(raw, "ciphertext"))
             for raw in page.items]
    logged, opened = _own(store, space, allowed, items, me)
    logs = _accept(store, space, allowed, logged, newest)
    incoming = _open(store, space, allowed, opened)
    token = state.cursor(store.conn, space).token
    if not incoming and not logs and page.next == token:
        return
    journal = PendingBlobs(store)
    applied = Applied()
    try:
        out.blobs_down += _fetch_blobs(store, client, space, incoming, journal, progress)
        journal.sync()
        with store.write() as tx:
            before = state.last_change(tx)
            apply.apply_page(tx, store, space, incoming, applied)
            for kid, log in logs.items():
                state.save_log(tx, space, kid, log.state())
            cur = state.cursor(tx, space)
            cur.token = page.next
            state.save_cursor(tx, cur)
            state.advance_pushed(tx, before, state.last_change(tx))
            store.log(tx, "sync.pull", person=space, detail={
                "space": space, "items": len(items), "applied": applied.applied,
                "conflicts": applied.conflicts, "from": applied.by_device})
        journal.clear()
    except BaseException:
        journal.discard(lambda blob: store.conn.execute(
            "SELECT 1 FROM documents WHERE blob_id = ?", (blob,)).fetchone() is not None)
        raise
    for blob in applied.removed_blobs:
        apply.remove_blob(store, blob)
    out.pulled += len(items)
    out.applied += applied.applied
    out.conflicts += applied.conflicts
    for name, n in applied.by_device.items():
        out.by_device[name] = out.by_device.get(name, 0) + n


def _bytes(raw: dict[str, Any], key: str) -> bytes:
    value = raw.get(key)
    if not isinstance(value, bytes):
        raise IntegrityError(_("The server sent an item without its {what}.").format(what=key))
    return value
