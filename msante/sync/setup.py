"""`sync setup` and `sync status` as services: what the CLI (and later the TUI) call.

Setup, in order: the server's health (its id); this device's keys and ids, stored in the vault
(state 'pending'); register the account with its first device; one login (proves the keys);
the owner's space; state 'ready'. An interrupted setup resumes with the same keys when run
again against the same server (a second registration of the account is then expected); a
finished one is refused unless `force`, which makes a new identity (a new account).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msante.errors import AlreadyExistsError, ServerBusy
from msante.i18n import _
from msante.sync import device as devices
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
        client.create_space(dev.space)
        dev = devices.mark_ready(store, dev)
    return status(store)


def _identity(store: Store, existing: devices.Device | None, url: str, server_id: str,
              insecure: bool, force: bool) -> devices.Device:
    """The unfinished identity to resume, or a new one."""
    if (existing is not None and not existing.ready and not force
            and existing.server == url and existing.server_id == server_id):
        return existing
    return devices.create(store, url, server_id, insecure=insecure)


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
