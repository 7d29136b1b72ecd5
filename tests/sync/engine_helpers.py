"""Two devices of one person for the engine tests: device A (a vault set up for sync) and
device B (a second vault, its own home and keys, no owner: the owner arrives by sync).

Until the `link` helper's `devices link` is on main, B is made here: A registers B's device
on the server (`Client.add_device`), appends `add-device` to the account chain and
`add-writer` to each space chain, and puts each space's scope keys wrapped for B on the server
(`spaces.wrap`, `Client.put_wrap`); B fetches its wraps (`Client.wraps`) and opens them
(`spaces.unwrap`): the real path.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from msante.api import Vault
from msante.sync import device as devices
from msante.sync import engine, setup, spaces
from msante.sync.chains import AccountChain, ChainEntry, SpaceChain, b64e, device_bundle
from msante.sync.client import Client
from msante.sync.crypto import SigningKey
from msante.vault import crypto, files, header, records
from msante.vault.store import create, record_header_keys
from tests.conftest import FAST_KDF, PASSPHRASE


@contextmanager
def logged_in(vault: Vault) -> Iterator[tuple[Client, devices.Device]]:
    """A client logged in as the vault's device."""
    dev = devices.load(vault.store.conn)
    assert dev is not None
    with Client(dev.server) as client:
        client.login(dev.account, dev.device, dev.signing, dev.server_id)
        yield client, dev


def sync(vault: Vault) -> engine.SyncResult:
    """What `msante sync` does: log in, publish, sync every space."""
    with logged_in(vault) as (client, dev):
        setup.publish(vault.store, client, dev)
        return engine.sync(vault.store, client, dev)


def _post(vault: Vault, client: Client, entry: ChainEntry) -> None:
    """Keep a chain entry in the vault, post it, mark it posted."""
    with vault.store.write() as tx:
        spaces.keep(tx, entry)
        vault.store.log(tx, "sync.chain.posted", detail={"entry": f"{entry.chain}#{entry.seq}"})
    client.append_chain(entry.chain, entry.seq, entry.prev, entry.hash(), entry.to_json())
    with vault.store.write() as tx:
        spaces.mark_posted(tx, entry)
        vault.store.log(tx, "sync.chain.posted", detail={"entry": f"{entry.chain}#{entry.seq}"})


def empty_vault(home: Path) -> Vault:
    """A vault with no people (msante.vault.store.create)."""
    made = create(home, PASSPHRASE, crypto.KdfParams.new(**FAST_KDF))
    vault = Vault(made.store)
    with vault.store.write() as tx:
        vault.store.log(tx, "vault.create")
        record_header_keys(tx, header.load(home))
    return vault


def add_device(vault: Vault, key: SigningKey) -> str:
    """Register another device of the vault's account on the server (its id: the key id)."""
    with logged_in(vault) as (client, dev):
        client.add_device(dev.account, b64e(key.verify_key().key_id()),
                          key.verify_key().to_bytes(), b"bundle")
        return dev.account


def second_device(a: Vault, home: Path, app: Any, name: str = "phone") -> Vault:
    """Device B of A's account: chains, server registration and scope keys."""
    dev_a = devices.load(a.store.conn)
    assert dev_a is not None and dev_a.ready
    b = empty_vault(home)
    dev_b = devices.create(b.store, dev_a.server, dev_a.server_id)
    kid = dev_b.signing.verify_key().key_id()
    with b.store.write() as tx:  # a linked device's ids: A's account, its key id
        tx.execute("UPDATE sync_device SET account = ?, device = ?, state = 'ready'",
                   (dev_a.account, b64e(kid)))
        b.store.log(tx, "sync.device.ready", detail={"account": dev_a.account})
    add_device(a, dev_b.signing)
    chain = f"account:{dev_a.account}"
    with logged_in(a) as (client, _dev):
        account = AccountChain.verify(spaces.entries(a.store.conn, chain))
        bundle = device_bundle(chain, name, dev_b.signing, dev_b.seal.public_key())
        _post(a, client, AccountChain.add_device(account, dev_a.signing, bundle))
        account = AccountChain.verify(spaces.entries(a.store.conn, chain))
        for space in spaces.synced(a.store.conn):
            kept = spaces.entries(a.store.conn, f"space:{space}")
            state = SpaceChain.verify(kept, lambda acc: account)
            _post(a, client, SpaceChain.append(state, dev_a.signing, "add-writer", {
                "account": dev_a.account, "device": b64e(kid)}))
            keys = spaces.current(a.store.conn, space)
            assert keys is not None
            client.put_wrap(space, keys.version, b64e(kid), spaces.wrap(
                keys, dev_a.signing, dev_b.seal.public_key(), kid))
            with logged_in(b) as (b_client, _b_dev):
                [(version, sealed)] = b_client.wraps(space, b64e(kid))
            opened = spaces.unwrap(sealed, dev_b.seal, kid, dev_a.signing.verify_key(), space,
                                   version)
            with b.store.write() as tx:
                spaces.save(tx, opened)
                for entry in spaces.entries(a.store.conn, f"space:{space}"):
                    spaces.keep(tx, entry)
                    spaces.mark_posted(tx, entry)
                b.store.log(tx, "sync.space.create", detail={"space": space})
    with b.store.write() as tx:
        for entry in spaces.entries(a.store.conn, chain):
            spaces.keep(tx, entry)
            spaces.mark_posted(tx, entry)
        b.store.log(tx, "sync.chain.account", detail={"account": dev_a.account})
    return b


@dataclass
class Pair:
    """Two devices of one person, and the server's app."""

    a: Vault
    b: Vault
    app: Any


def add_document(vault: Vault, data: bytes, title: str = "Note") -> str:
    """A document with its file (sealed as a handover does): its id."""
    owner = vault.people.owner()
    rid = records.new_id()
    sealed = files.seal(vault.store, owner.id, rid, 1, io.BytesIO(data))
    with vault.store.write() as tx:
        vault.documents.adopt_in(tx, owner, [{
            "id": rid, "blob_id": sealed.blob_id, "wrapped_key": sealed.wrapped_key,
            "sha256": sealed.info.sha256, "size": sealed.info.size, "mime": "text/plain",
            "filename": "note.txt", "title": title}], source="test")
    return rid
