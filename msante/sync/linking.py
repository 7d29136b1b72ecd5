"""This device's view of its account: the devices it lists, entries it did not expect, and
linking a new device (`devices list|link`, `sync setup --link`), as services.

The account chain is read from the server and verified whole (`AccountChain.verify`), pinned
to what this vault keeps in `sync_chains`: the server's chain must extend the kept one, entry
for entry (`chains.diff`: else `rollback` / `rewritten`, exit 6). Entries past the kept ones
that this device did not sign are **unexpected** (`check_account`): every device warns about
them on every `devices list` and every sync until the person accepts them
(`devices list --accept`, `accept`), which keeps them in `sync_chains` like this device's own.

Linking (docs/architecture.md, "Linking a device"): the existing device opens a rendezvous
(`open_offer`), waits for the new device's bundle (`wait_join`), and once the person has
confirmed the fingerprint, `complete` writes `add-device` (kept before posted), registers the
device on the server (its server device id is base64url of its key id), makes it a writer of
every synced space, wraps every key version of every synced space for it, and replies. The new
device (`find_link`, then `join`) makes its keys, sends its bundle, opens the reply, keeps the
verified account chain, logs in, and fetches and opens its wraps.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from msante.errors import (
    BadServerAnswer,
    ConflictError,
    IntegrityError,
    ServerNotFound,
    UsageError,
)
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import setup, spaces
from msante.sync.chains import (
    AccountChain,
    AccountState,
    ChainEntry,
    SpaceChain,
    SpaceState,
    b64d,
    b64e,
    diff,
)
from msante.sync.client import Client
from msante.sync.crypto import BadSeal, BadSignature, OpenKey, canonical
from msante.sync.link import Candidate, LinkCode, LinkExpired, LinkJoin, LinkOffer, rendezvous_id
from msante.vault.store import Store

POLL = 1.0
"""Seconds between two looks at the rendezvous while waiting."""

Tick = Callable[[], None]


# -- chains: read from the server, kept in the vault -------------------------------------

def fetch_chain(client: Client, chain: str) -> list[ChainEntry]:
    """Every entry the server holds for `chain`, parsed (not yet verified)."""
    try:
        return [ChainEntry.from_json(r.entry) for r in client.chain_records(chain)]
    except ValueError:
        raise BadServerAnswer(_("The server sent a chain entry of {chain} that is not "
                                "one.").format(chain=chain)) from None


post_kept = setup.post_kept  # the one implementation (setup.py); linking's callers use it


def keep_seen(tx: Any, entries: Iterable[ChainEntry]) -> None:
    """Keep entries the server already has (read from it), as posted."""
    for entry in entries:
        spaces.keep(tx, entry)
        spaces.mark_posted(tx, entry)


def account_chain(dev: devices.Device) -> str:
    """The id of this device's account chain."""
    return f"account:{dev.account}"


def kept_account(store: Store, dev: devices.Device) -> AccountState | None:
    """The account chain as this vault kept it, verified (None before setup wrote it)."""
    kept = spaces.entries(store.conn, account_chain(dev))
    return AccountChain.verify(kept, chain=account_chain(dev)) if kept else None


def server_account(store: Store, client: Client,
                   dev: devices.Device) -> tuple[AccountState, tuple[ChainEntry, ...]]:
    """The server's account chain, verified and extending the kept one; and the entries
    this device did not expect (after the kept ones, signed by another device)."""
    post_kept(store, client)
    kept = kept_account(store, dev)
    first = kept.entries[0].signer if kept is not None else None
    state = AccountChain.verify(fetch_chain(client, account_chain(dev)),
                                expect_first_key=first, chain=account_chain(dev))
    return state, diff(kept, state, {dev.signing.verify_key().key_id()})


def check_account(store: Store, client: Client, dev: devices.Device) -> list[ChainEntry]:
    """The account-chain entries this device did not expect (warn about each, every time,
    until `accept`); ChainError (exit 6) for a chain that does not verify or rewrites the
    kept one. The sync engine calls this on every sync (logged in as `dev`)."""
    return list(server_account(store, client, dev)[1])


def accept(store: Store, entries: Iterable[ChainEntry]) -> int:
    """Keep entries the person has seen and accepted: they are no longer unexpected."""
    entries = list(entries)
    if entries:
        with store.write() as tx:
            keep_seen(tx, entries)
            store.log(tx, "sync.chain.accept", detail={
                "entries": [f"{e.chain}#{e.seq}" for e in entries]})
    return len(entries)


def describe(entry: ChainEntry, state: AccountState) -> str:
    """One line about an account-chain entry, for the unexpected-entry warning."""
    signer = state.keys_of(entry.signer)
    by = signer.name if signer is not None else b64e(entry.signer)[:8]
    target = entry.body.get("bundle", entry.body.get("device"))
    if isinstance(target, Mapping):
        what = str(target.get("name"))
    else:
        try:
            keys = state.keys_of(b64d(target, "device", 32))
        except ValueError:
            keys = None
        what = keys.name if keys is not None else str(target)[:8]
    return _("entry {seq}: {kind} “{device}”, signed by “{by}”").format(
        seq=entry.seq, kind=entry.kind, device=what, by=by)


def device_rows(state: AccountState, dev: devices.Device,
                unexpected: Iterable[ChainEntry] = ()) -> list[dict[str, Any]]:
    """The account's devices, present and removed, in the order the chain added them."""
    me = dev.signing.verify_key().key_id()
    odd = {e.seq for e in unexpected}
    everyone = [*state.devices.values(), *state.removed.values()]
    return [{"name": d.name, "fingerprint": d.verify.fingerprint(), "key_id": b64e(d.key_id),
             "added_seq": d.added_seq, "removed_seq": d.removed_seq,
             "active": d.removed_seq is None, "this_device": d.key_id == me,
             "expected": d.added_seq not in odd and d.removed_seq not in odd}
            for d in sorted(everyone, key=lambda d: d.added_seq)]


def require_expected(unexpected: Iterable[ChainEntry]) -> None:
    """UsageError while there are unexpected entries: the person reviews them first."""
    if list(unexpected):
        raise UsageError(_("The account has entries this device did not expect: review them "
                           "with 'msante devices list', and accept them with 'msante devices "
                           "list --accept' before changing the account's devices."))


def lookup_accounts(client: Client, mine: AccountState) -> Callable[[str], AccountState | None]:
    """The account chains a space chain names: ours as verified, others fetched once."""
    cache: dict[str, AccountState | None] = {mine.account: mine}

    def lookup(account: str) -> AccountState | None:
        if account not in cache:
            chain = f"account:{account}"
            cache[account] = AccountChain.verify(fetch_chain(client, chain), chain=chain)
        return cache[account]
    return lookup


def space_state(store: Store, client: Client, space: str,
                mine: AccountState) -> SpaceState:
    """The server's space chain, verified and extending what this vault kept of it."""
    chain = f"space:{space}"
    lookup = lookup_accounts(client, mine)
    state = SpaceChain.verify(fetch_chain(client, chain), lookup, chain=chain)
    kept = spaces.entries(store.conn, chain)
    if kept:
        diff(SpaceChain.verify(kept, lookup, chain=chain), state)
    return state


def login(client: Client, dev: devices.Device) -> None:
    """Log in as this device (after checking the server is the one it was set up with)."""
    if client.health().server != dev.server_id:
        raise IntegrityError(_("The server at {url} is not the one this vault was set up "
                               "with (its id changed).").format(url=dev.server))
    client.login(dev.account, dev.device, dev.signing, dev.server_id)


def ready_device(store: Store) -> devices.Device:
    """This vault's sync identity, set up; UsageError otherwise."""
    dev = devices.load(store.conn)
    if dev is None or not dev.ready:
        raise UsageError(_("This vault is not set up for sync: msante sync setup SERVER_URL."))
    return dev


# -- the existing device --------------------------------------------------------------------

def open_offer(store: Store, client: Client, dev: devices.Device,
               now: datetime | None = None) -> LinkOffer:
    """A new code and its rendezvous, open on the server for ten minutes."""
    state, unexpected = server_account(store, client, dev)
    require_expected(unexpected)
    offer = LinkOffer(LinkCode.new(now), state, dev.signing)
    client.open_link(offer.rendezvous, dev.account)
    return offer


def wait_for(fetch: Callable[[], bytes | None], code: LinkCode, poll: float = POLL,
             tick: Tick | None = None) -> bytes:
    """The message `fetch` finds first, looking every `poll` seconds until the code expires."""
    while True:
        message = fetch()
        if message is not None:
            return message
        if code.expired():
            raise LinkExpired()
        if tick is not None:
            tick()
        time.sleep(poll)


def wait_join(client: Client, offer: LinkOffer, poll: float = POLL,
              tick: Tick | None = None) -> Candidate:
    """The new device's keys, once its bundle has come and opened (LinkError otherwise)."""
    message = wait_for(lambda: client.get_join(offer.rendezvous), offer.code, poll, tick)
    return offer.open(message)


def complete(store: Store, client: Client, dev: devices.Device, offer: LinkOffer,
             candidate: Candidate) -> dict[str, Any]:
    """Add the confirmed candidate to the account and every synced space, and reply."""
    now, unexpected = server_account(store, client, dev)
    require_expected(unexpected)
    if now.head != offer.state.head:  # kept before posted: it must not be a fork
        raise ConflictError(_("The account changed while this device waited for the new "
                              "one: nothing was added. Run 'msante devices link' again."))
    entry = offer.add_device(candidate, setup.gossip(store, dev))
    device_id = b64e(candidate.key_id)
    with store.write() as tx:
        spaces.keep(tx, entry)
        store.log(tx, "sync.device.link", detail={
            "account": dev.account, "device": device_id, "name": candidate.name,
            "fingerprint": candidate.fingerprint(), "seq": entry.seq})
    post_kept(store, client)
    kept = kept_account(store, dev)
    assert kept is not None
    client.add_device(dev.account, device_id, candidate.verify.to_bytes(),
                      canonical(candidate.bundle))
    shared = [_share_space(store, client, dev, kept, space, candidate.key_id, candidate.seal)
              for space in spaces.synced(store.conn)]
    client.put_reply(offer.rendezvous, offer.reply(candidate, kept))
    return {"account": dev.account, "device": device_id, "name": candidate.name,
            "fingerprint": candidate.fingerprint(), "added_seq": entry.seq, "spaces": shared}


def _share_space(store: Store, client: Client, dev: devices.Device, mine: AccountState,
                 space: str, key_id: bytes, seal: OpenKey) -> dict[str, Any]:
    """Make a device a writer of `space` and wrap every key version for it."""
    state = space_state(store, client, space, mine)
    kept = len(spaces.entries(store.conn, state.chain))
    if key_id not in state.writers:
        entry = SpaceChain.append(state, dev.signing, "add-writer", {
            "account": dev.account, "device": b64e(key_id)}, setup.gossip(store, dev))
        with store.write() as tx:
            keep_seen(tx, state.entries[kept:])
            spaces.keep(tx, entry)
            store.log(tx, "sync.space.writer", person=space, detail={
                "space": space, "device": b64e(key_id), "seq": entry.seq})
        post_kept(store, client)
    versions = spaces.load(store.conn, space)
    for keys in versions.values():
        client.put_wrap(space, keys.version, b64e(key_id),
                        spaces.wrap(keys, dev.signing, seal, key_id))
    return {"space": space, "key_versions": sorted(versions)}


def share_new_spaces(store: Store, client: Client, dev: devices.Device, mine: AccountState,
                     new: Iterable[str]) -> None:
    """Spaces this device just published reach the account's other devices: each becomes
    a writer of them and gets their keys (the sync engine calls this after `publish`)."""
    me = dev.signing.verify_key().key_id()
    others = [d for d in mine.devices.values() if d.key_id != me]
    for space in new:
        for other in others:
            _share_space(store, client, dev, mine, space, other.key_id, other.seal)


# -- the new device -------------------------------------------------------------------------

def find_link(client: Client, code: LinkCode) -> tuple[str, str]:
    """The server's id and the account a code's rendezvous is for (ServerNotFound, exit 5,
    for a code the server does not know: mistyped, expired or already used)."""
    server_id = client.health().server
    try:
        account = client.link_account(rendezvous_id(code))
    except ServerNotFound:
        raise ServerNotFound(_(
            "The server has no link waiting for this code: check the code, or run 'msante "
            "devices link' again on the other device for a new one (a code is valid 10 "
            "minutes and links one device).")) from None
    return server_id, account


def new_vault_check(store: Store) -> None:
    """UsageError unless this vault is new: no person, no sync identity that is set up."""
    dev = devices.load(store.conn)
    people = store.conn.execute("SELECT count(*) FROM people").fetchone()[0]
    if (dev is not None and dev.ready) or people:
        raise UsageError(_(
            "This vault already holds records or is set up for sync: a linked device starts "
            "from a new, empty vault. Use another MSANTE_HOME (or move this vault away), or "
            "set this vault up as its own account with 'msante sync setup SERVER_URL'."))


def new_identity(store: Store, url: str, server_id: str, account: str,
                 insecure: bool) -> devices.Device:
    """Fresh keys for this device, in `account`, its server id base64url(key id)."""
    dev = devices.create(store, url, server_id, insecure=insecure)
    device_id = b64e(dev.signing.verify_key().key_id())
    with store.write() as tx:
        tx.execute("UPDATE sync_device SET account = ?, device = ?", (account, device_id))
        store.log(tx, "sync.device.join", detail={
            "server": url, "account": account, "device": device_id,
            "fingerprint": dev.fingerprint()})
    found = devices.load(store.conn)
    assert found is not None
    return found


def join(store: Store, client: Client, code: LinkCode, server_id: str, account: str, *,
         insecure: bool = False, show: Callable[[str], None] = lambda _f: None,
         poll: float = POLL, tick: Tick | None = None) -> dict[str, Any]:
    """Join `account` as a new device: keys, bundle, the verified chain, the space keys."""
    new_vault_check(store)
    dev = new_identity(store, client.url, server_id, account, insecure)
    request = LinkJoin(code, account, setup.device_name(), dev.signing, dev.seal)
    show(request.fingerprint())
    client.put_join(request.rendezvous, request.request())
    reply = wait_for(lambda: client.get_reply(request.rendezvous), code, poll, tick)
    linked = request.finish(reply)
    with store.write() as tx:
        keep_seen(tx, linked.state.entries)
        store.log(tx, "sync.chain.account", detail={
            "account": account, "seq": len(linked.state.entries) - 1,
            "linked_by": linked.linked_by.fingerprint()})
    client.login(dev.account, dev.device, dev.signing, server_id)
    got = [fetch_space(store, client, dev, linked.state, s["space"]) for s in client.spaces()]
    _set_space(store, owner_space(store, got))
    devices.mark_ready(store, dev)
    return setup.status(store) | {"linked_by": linked.linked_by.fingerprint(), "spaces": got}


def _unwrap(sealed: bytes, dev: devices.Device, state: SpaceState, mine: AccountState,
            lookup: Callable[[str], AccountState | None], version: int) -> spaces.ScopeKeys:
    """A wrap opened, from whichever writer (now or before) of the space sealed it."""
    me = dev.signing.verify_key().key_id()
    senders = {**state.writers, **{k: "" for k in state.removed_writers}}
    for key_id, account in senders.items():
        owner = lookup(account) if account else mine
        keys = owner.keys_of(key_id) if owner is not None else None
        if keys is None:
            continue
        try:
            return spaces.unwrap(sealed, dev.seal, me, keys.verify, state.space, version)
        except (BadSeal, BadSignature):
            continue
    raise IntegrityError(_("A key wrap of space {space} (version {version}) is not from a "
                           "writer of the space: refused.").format(space=state.space,
                                                                   version=version))


def fetch_space(store: Store, client: Client, dev: devices.Device, mine: AccountState,
                space: str) -> dict[str, Any]:
    """Verify a space's chain, open this device's wraps, keep keys and chain together."""
    state = space_state(store, client, space, mine)
    lookup = lookup_accounts(client, mine)
    got = {}
    for version, sealed in client.wraps(space, dev.device):
        got[version] = _unwrap(sealed, dev, state, mine, lookup, version)
    if state.key_version not in got:
        raise IntegrityError(_("The server holds no key wrap of space {space}'s current keys "
                               "(version {version}) for this device.").format(
                                   space=space, version=state.key_version))
    with store.write() as tx:
        keep_seen(tx, state.entries[len(spaces.entries(tx, state.chain)):])
        for keys in got.values():
            spaces.save(tx, keys)
        store.log(tx, "sync.space.join", person=space, detail={
            "space": space, "key_versions": sorted(got)})
    genesis = state.entries[0].body.get("owner")
    return {"space": space, "key_versions": sorted(got), "owner": genesis == mine.account}


def join_new_spaces(store: Store, client: Client, dev: devices.Device,
                    mine: AccountState) -> list[str]:
    """Spaces of the account that another device published since this one last looked, and
    wrapped keys for: verified, their keys opened and kept (the engine calls this on every
    sync). A space with no wrap for this device yet is left for a later sync."""
    known = set(spaces.synced(store.conn))
    joined = []
    for listed in client.spaces():
        space = listed["space"]
        if space in known or not client.wraps(space, dev.device):
            continue
        fetch_space(store, client, dev, mine, space)
        joined.append(space)
    return joined


def owner_space(store: Store, got: list[dict[str, Any]]) -> str | None:
    """The owner's space: the people row whose relation is owner, once pulled; else the
    first space this account owns (by id)."""
    ids = [g["space"] for g in got]
    row = store.conn.execute("SELECT id FROM people WHERE relation = 'owner'").fetchone()
    if row is not None and str(row[0]) in ids:
        return str(row[0])
    owned = [g["space"] for g in got if g["owner"]] or ids
    return owned[0] if owned else None


def settle_owner_space(store: Store) -> None:
    """After a sync brought the people in: the device's space is the owner's."""
    dev = devices.load(store.conn)
    row = store.conn.execute("SELECT id FROM people WHERE relation = 'owner'").fetchone()
    if dev is not None and row is not None and str(row[0]) != dev.space:
        _set_space(store, str(row[0]))


def _set_space(store: Store, space: str | None) -> None:
    """Record the owner's space on this device's identity."""
    if space is None:
        return
    with store.write() as tx:
        tx.execute("UPDATE sync_device SET space = ?", (space,))
        store.log(tx, "sync.device.space", detail={"space": space})


def expires_at(code: LinkCode) -> str:
    """When a code stops being valid, ISO 8601 in UTC."""
    return code.expires().astimezone(UTC).isoformat(timespec="seconds")
