"""Shared material of the devices tests: vaults set up with a live server, a link run by the
services on both sides (the new device in a thread, with its own vault and client)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msante.api import Vault
from msante.sync import device as devices
from msante.sync import linking, setup
from msante.sync.client import Client
from msante.sync.link import Candidate, LinkCode
from msante.vault import crypto, header
from msante.vault.store import create, record_header_keys
from tests.conftest import FAST_KDF, PASSPHRASE

POLL = 0.02


def owner_vault(home: Path) -> Vault:
    """A vault with its owner, Camille Martin, and a child (two spaces)."""
    vault, _recovery = Vault.create(home, PASSPHRASE, name="Camille Martin", born="1985-06-02",
                                    sex="female", params=crypto.KdfParams.new(**FAST_KDF))
    vault.people.add("Léo Martin", "2019-04-27", "male", "child")
    return vault


def empty_vault(home: Path) -> Vault:
    """A new vault with no one in it, as `sync setup --link` makes one."""
    made = create(home, PASSPHRASE, crypto.KdfParams.new(**FAST_KDF))
    vault = Vault(made.store)
    with vault.store.write() as tx:
        vault.store.log(tx, "vault.create")
        record_header_keys(tx, header.load(home))
    return vault


def identity(vault: Vault) -> devices.Device:
    """The vault's sync identity."""
    found = devices.load(vault.store.conn)
    assert found is not None
    return found


@contextmanager
def logged_in(dev: devices.Device) -> Iterator[Client]:
    """A client logged in as `dev`."""
    with Client(dev.server) as client:
        linking.login(client, dev)
        yield client


@dataclass
class Joined:
    """What the new device's thread did: its result or its error, its fingerprint."""

    result: dict[str, Any] | None = None
    error: BaseException | None = None
    fingerprint: str | None = None
    device: devices.Device | None = field(default=None, repr=False)


def join_in_thread(url: str, home: Path, text: str,
                   tamper: Callable[[Client], None] | None = None
                   ) -> tuple[threading.Thread, Joined]:
    """The new device's side (`find_link`, then `join`) in a thread, with its own vault."""
    out = Joined()

    def run() -> None:
        try:
            code = LinkCode.parse(text)
            with Client(url) as client:
                if tamper is not None:
                    tamper(client)
                server_id, account = linking.find_link(client, code)
                vault = empty_vault(home)
                try:
                    out.result = linking.join(
                        vault.store, client, code, server_id, account, poll=POLL,
                        show=lambda f: setattr(out, "fingerprint", f))
                    out.device = identity(vault)
                finally:
                    vault.close()
        except BaseException as exc:  # handed to the test
            out.error = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, out


def link(vault: Vault, home: Path, *, check: Callable[[Candidate, Joined], bool]
         = lambda c, j: True) -> tuple[dict[str, Any] | None, Joined]:
    """Link a new device (a new vault at `home`) to `vault`'s account, both sides honest."""
    dev = identity(vault)
    with logged_in(dev) as client:
        offer = linking.open_offer(vault.store, client, dev)
        thread, joined = join_in_thread(dev.server, home, offer.code.words())
        candidate = linking.wait_join(client, offer, poll=POLL)
        result = None
        if check(candidate, joined):
            result = linking.complete(vault.store, client, dev, offer, candidate)
    thread.join(timeout=60 if result is not None else 0.5)
    return result, joined


def set_up(vault: Vault, url: str) -> devices.Device:
    """`sync setup` of `vault` with the server at `url`."""
    setup.setup(vault.store, url)
    return identity(vault)
