"""`devices list` and `linking.check_account`: every device warns about account-chain entries
it did not expect, until the person accepts them; a device the server adds stops everyone."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.api import Vault
from msante.sync import linking
from msante.sync.chains import AccountChain, ChainError, device_bundle
from msante.sync.crypto import SealKey, SigningKey
from msante.sync.server.settings import Settings
from tests.helpers_vault import keys_of
from tests.server.server_helpers import live_server
from tests.sync.devices_helpers import identity, link, logged_in, owner_vault, set_up


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (base, _app):
        yield base


@pytest.fixture
def pair(home: Path, tmp_path: Path, url: str) -> Iterator[tuple[Vault, Path]]:
    """The first device (at MSANTE_HOME) and a second one linked to it (its home)."""
    vault = owner_vault(home)
    set_up(vault, url)
    result, joined = link(vault, tmp_path / "b")
    assert result is not None and joined.error is None, joined.error
    yield vault, tmp_path / "b"
    vault.close()


def test_an_entry_made_on_another_device_is_unexpected_until_accepted(
        pair: tuple[Vault, Path], tmp_path: Path) -> None:
    """The second device links a third: the first device warns about that entry on every
    check, until the person accepts it; the second device, which made it, never warns."""
    first, second_home = pair
    with Vault.open(second_home, keys_of(second_home)) as second:
        result, joined = link(second, tmp_path / "c")
        assert result is not None and joined.error is None
        mine = identity(second)
        with logged_in(mine) as client:
            assert linking.check_account(second.store, client, mine) == []
    dev = identity(first)
    with logged_in(dev) as client:
        for _again in range(2):
            unexpected = linking.check_account(first.store, client, dev)
            assert [(e.kind, e.body["device"]["name"]) for e in unexpected] == \
                [("add-device", result["name"])]
        assert linking.accept(first.store, unexpected) == 1
        assert linking.check_account(first.store, client, dev) == []


def test_devices_list_warns_then_accepts(cli, pair: tuple[Vault, Path], tmp_path: Path,
                                         passphrase_file: Path) -> None:
    """The CLI: the devices with their fingerprints; one warning line per unexpected entry;
    --accept makes it an entry like the others."""
    first, second_home = pair
    with Vault.open(second_home, keys_of(second_home)) as second:
        link(second, tmp_path / "c")
    r = cli("devices", "list", "--json", pfile=passphrase_file)
    assert r.code == 0, r.err
    rows = r.json()
    assert [row["this_device"] for row in rows] == [True, False, False]
    assert [row["expected"] for row in rows] == [True, True, False]
    assert all(len(row["fingerprint"].split()) == 6 and row["active"] for row in rows)
    assert r.err.count("Warning") == 1 and rows[2]["name"] in r.err
    again = cli("devices", "list", "--accept", pfile=passphrase_file)
    assert again.code == 0 and again.err.count("Warning") == 1
    assert rows[2]["fingerprint"].split()[0] in again.out and "this device" in again.out
    quiet = cli("devices", "list", "--json", pfile=passphrase_file)
    assert quiet.code == 0 and "Warning" not in quiet.err
    assert all(row["expected"] for row in quiet.json())


def test_a_device_the_server_adds_stops_every_device(pair: tuple[Vault, Path]) -> None:
    """The server appends an add-device entry for a key of its own (it holds no device's
    key, so it signs with its own): every device's check fails with exit 6, naming it."""
    first, second_home = pair
    dev = identity(first)
    rogue, seal = SigningKey.generate(), SealKey.generate()
    with logged_in(dev) as client:
        state = AccountChain.verify(linking.fetch_chain(client, linking.account_chain(dev)))
        bundle = device_bundle(state.chain, "server", rogue, seal.public_key())
        entry = AccountChain.add_device(state, rogue, bundle)
        client.append_chain(entry.chain, entry.seq, entry.prev, entry.hash(), entry.to_json())
        with pytest.raises(ChainError) as caught:
            linking.check_account(first.store, client, dev)
        assert caught.value.reason == "unknown-signer"
    with Vault.open(second_home, keys_of(second_home)) as second:
        mine = identity(second)
        with logged_in(mine) as client, pytest.raises(ChainError):
            linking.check_account(second.store, client, mine)


def test_a_server_rolling_the_chain_back_is_caught(pair: tuple[Vault, Path],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's chain must extend what the vault kept: a shorter one is a rollback."""
    first, _second = pair
    dev = identity(first)
    with logged_in(dev) as client:
        real = linking.fetch_chain(client, linking.account_chain(dev))
        monkeypatch.setattr(linking, "fetch_chain", lambda c, chain: real[:1])
        with pytest.raises(ChainError) as caught:
            linking.check_account(first.store, client, dev)
        assert caught.value.reason == "rollback"
