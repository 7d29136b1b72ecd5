"""`sync setup` and `sync status` as services: what the CLI (and later the TUI) call.

Setup, in order: the server's health (its id); this device's keys and ids, stored in the vault
(state 'pending'); register the account with its first device; one login (proves the keys);
`publish`: the account chain's genesis, and for every live space of the vault its server
space, scope keys (version 1) and space chain genesis; state 'ready'. An interrupted setup
resumes with the same keys when run again against the same server (a second registration of
the account is then expected); a finished one is refused unless `force`, which makes a new
identity (a new account).
"""

from __future__ import annotations

import platform
from collections.abc import Callable
from typing import Any

from msante.errors import AlreadyExistsError, ServerBusy
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import spaces
from msante.sync.chains import AccountChain, ChainEntry, SpaceChain
from msante.sync.client import Client
from msante.sync.crypto import Purpose, canonical
from msante.vault.store import Store

ClientFactory = Callable[[str, bool], Client]


def default_client(url: str, insecure: bool) -> Client:
    """A client of `url` over the network."""
    return Client(url, insecure=insecure)


def bundle(dev: devices.Device) -> bytes:
    """The device's public key bundle, signed by itself (purpose `key-bundle`)."""
    body: dict[str, object] = {
        "version": 1, "account": dev.account, "device": dev.device,
        "verify": dev.signing.verify_key().to_bytes(), "seal": dev.seal.public_key().to_bytes()}
    signature = dev.signing.sign(Purpose.KEY_BUNDLE, body)
    return canonical(body | {"signature": signature})


def setup(store: Store, url: str, *, insecure: bool = False, force: bool = False,
          connect: ClientFactory = default_client) -> dict[str, Any]:
    """Register this device and its account with the server at `url`; return the status."""
    existing = devices.load(store.conn)
    if existing is not None and existing.ready and not force:
        raise AlreadyExistsError(_(
            "This vault is already set up for sync with {server} (account {account}). "
            "--force makes a new account and forgets the old one.").format(
                server=existing.server, account=existing.account))
    with connect(url, insecure) as client:
        server_id = client.health().server
        dev = _identity(store, existing, client.url, server_id, insecure, force)
        _register(client, dev, resuming=dev is existing)
        client.login(dev.account, dev.device, dev.signing, server_id)
        publish(store, client, dev)
        dev = devices.mark_ready(store, dev)
    return status(store)


def _identity(store: Store, existing: devices.Device | None, url: str, server_id: str,
              insecure: bool, force: bool) -> devices.Device:
    """The unfinished identity to resume, or a new one."""
    if (existing is not None and not existing.ready and not force
            and existing.server == url and existing.server_id == server_id):
        return existing
    owner = spaces.live_spaces(store.conn)[:1]
    return devices.create(store, url, server_id, insecure=insecure,
                          space=owner[0] if owner else None)


def device_name() -> str:
    """This device's name in the account chain: the machine's name (1-64 printable)."""
    name = "".join(c for c in platform.node() if c.isprintable()).strip()[:64]
    return name or "msante"


def publish(store: Store, client: Client, dev: devices.Device) -> list[str]:
    """Make sure the server has this account's chain and every live space of the vault, with
    its space chain and scope keys; the spaces published now. Idempotent: entries kept in
    the vault before posting are posted again as they are (a retry for the server)."""
    chain = f"account:{dev.account}"
    note = gossip(store, dev)
    if not spaces.entries(store.conn, chain):
        genesis = AccountChain.genesis(dev.account, dev.signing, dev.seal.public_key(),
                                       device_name(), note)
        with store.write() as tx:
            spaces.keep(tx, genesis)
            store.log(tx, "sync.chain.account", detail={
                "account": dev.account, "seq": 0, "fingerprint": dev.fingerprint()})
    new = [space for space in spaces.live_spaces(store.conn)
           if spaces.current(store.conn, space) is None]
    for space in new:
        keys = spaces.ScopeKeys.new(space, 1)
        entry = SpaceChain.genesis(space, dev.account, dev.signing, keys.rotation(), note)
        with store.write() as tx:
            spaces.save(tx, keys)
            spaces.keep(tx, entry)
            store.log(tx, "sync.space.create", person=space,
                      detail={"space": space, "key_version": 1})
    for space in spaces.synced(store.conn):
        if space in new or _unposted_in(store, f"space:{space}"):
            client.create_space(space)
    post_kept(store, client)
    return new


def post_kept(store: Store, client: Client) -> list[ChainEntry]:
    """Post every chain entry kept but not yet confirmed, in order (the same bytes: a retry
    for the server), then mark them posted in one audited transaction."""
    waiting = spaces.unposted(store.conn)
    for entry in waiting:
        client.append_chain(entry.chain, entry.seq, entry.prev, entry.hash(), entry.to_json())
    if waiting:
        with store.write() as tx:
            for entry in waiting:
                spaces.mark_posted(tx, entry)
            store.log(tx, "sync.chain.posted", detail={
                "entries": [f"{e.chain}#{e.seq}" for e in waiting]})
    return waiting


def gossip(store: Store, dev: devices.Device) -> str | None:
    """The log checkpoint this device last checked (signed into its chain entries so that
    whoever reads them can compare it with theirs), or None before the first check."""
    from msante.sync import logstate

    kept = logstate.load(store.conn, dev.server_id)
    return kept.note if kept is not None else None


def _unposted_in(store: Store, chain: str) -> bool:
    return any(e.chain == chain for e in spaces.unposted(store.conn))


def _register(client: Client, dev: devices.Device, *, resuming: bool) -> None:
    """Register the account; when resuming, one already registered is expected."""
    try:
        client.register(dev.account, dev.device, dev.signing.verify_key().to_bytes(),
                        bundle(dev))
    except ServerBusy:
        if not resuming:
            raise  # the login that follows proves a resumed account is ours


def status(store: Store) -> dict[str, Any]:
    """This vault's sync state (stable keys, documented in docs/cli.md)."""
    dev = devices.load(store.conn)
    pending = devices.pending_changes(store.conn, dev)
    if dev is None:
        return {"configured": False, "state": None, "server": None, "server_id": None,
                "account": None, "device": None, "fingerprint": None, "space": None,
                "insecure": False, "last_sync": None, "pending_changes": pending}
    return {"configured": dev.ready, "state": dev.state, "server": dev.server,
            "server_id": dev.server_id, "account": dev.account, "device": dev.device,
            "fingerprint": dev.fingerprint(), "space": dev.space, "insecure": dev.insecure,
            "last_sync": dev.last_sync, "pending_changes": pending}
