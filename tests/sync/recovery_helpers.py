"""Helpers of the recovery tests: a vault set up with a real server, read back afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from msante.api import Vault
from msante.sync import device as devices
from msante.sync import spaces
from msante.sync.chains import AccountChain, AccountState, ChainEntry
from msante.sync.client import Client
from tests.helpers_vault import keys_of


@contextmanager
def opened(home: Path) -> Iterator[Vault]:
    """The vault at `home`, unlocked with the tests' passphrase."""
    with Vault.open(home, keys_of(home)) as vault:
        yield vault


def scope_keys(home: Path) -> dict[str, dict[int, bytes]]:
    """Every space's scope keys held by the vault at `home`, as their stored bodies."""
    with opened(home) as vault:
        conn = vault.store.conn
        return {space: {v: k.body() for v, k in spaces.load(conn, space).items()}
                for space in spaces.synced(conn)}


def device_of(home: Path) -> devices.Device:
    """The sync identity of the vault at `home`."""
    with opened(home) as vault:
        found = devices.load(vault.store.conn)
    assert found is not None
    return found


@contextmanager
def logged_in(url: str, home: Path) -> Iterator[tuple[Client, devices.Device]]:
    """A client logged in as the device of the vault at `home`."""
    dev = device_of(home)
    with Client(url) as client:
        client.login(dev.account, dev.device, dev.signing, dev.server_id)
        yield client, dev


def account_state(client: Client, account: str) -> AccountState:
    """The account chain on the server, verified."""
    chain = f"account:{account}"
    entries = [ChainEntry.from_json(r.entry) for r in client.chain_records(chain)]
    return AccountChain.verify(entries, chain=chain)


def rows_of(home: Path) -> list[tuple[str, Any]]:
    """Every value of every row of every table of the vault at `home` (decrypted)."""
    found: list[tuple[str, Any]] = []
    with opened(home) as vault:
        conn = vault.store.conn
        tables = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"').fetchall():
                found += [(table, value) for value in row]
    return found
