"""Synced spaces: scope keys, their wraps for other devices, and the chains setup publishes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.errors import IntegrityError
from msante.sync import device as devices
from msante.sync import setup, spaces
from msante.sync.chains import AccountChain, ChainEntry, SpaceChain, b64d
from msante.sync.client import Client
from msante.sync.crypto import SealKey, SigningKey
from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (base, _app):
        yield base


def server_chain(client: Client, chain: str) -> list[ChainEntry]:
    """The entries the server holds for `chain` (read with the device's token)."""
    body = client._json("GET", f"/chains/{chain}/entries", headers={
        "Authorization": f"Bearer {client._token}"})
    return [ChainEntry.from_json(b64d(e["entry"], "entry")) for e in body["entries"]]


@pytest.fixture
def opened() -> Iterator[list[Client]]:
    """Clients to close at the end of the test."""
    made: list[Client] = []
    yield made
    for client in made:
        client.close()


def logged_in(url: str, store: Any, opened: list[Client]) -> tuple[Client, devices.Device]:
    """A client logged in as the vault's device (closed after the test)."""
    dev = devices.load(store.conn)
    assert dev is not None
    client = Client(url)
    opened.append(client)
    client.login(dev.account, dev.device, dev.signing, dev.server_id)
    return client, dev


def test_scope_keys_round_trip_and_never_show_in_repr() -> None:
    """What the vault stores reads back the same; repr names no key."""
    keys = spaces.ScopeKeys.new("space-1", 3)
    again = spaces.ScopeKeys.from_body(keys.body())
    assert again.body() == keys.body() and again.version == 3
    assert set(keys.scopes) == set(spaces.SCOPES)
    assert len({bytes(k) for k in keys.scopes.values()}) == 4
    assert keys.scopes["profile"].hex() not in repr(keys)


@pytest.mark.parametrize("bad", [b"{}", b"not json", b'{"space": 1}'])
def test_a_body_that_is_not_scope_keys_is_refused(bad: bytes) -> None:
    """Garbage in the table or in a wrap is a ValueError, not a half-read key set."""
    with pytest.raises(ValueError):
        spaces.ScopeKeys.from_body(bad)


def test_a_wrap_opens_for_its_recipient_from_its_sender_only() -> None:
    """Signed by the sender, sealed to one device, for one space and version."""
    keys = spaces.ScopeKeys.new("space-1", 2)
    sender, me, other = SigningKey.generate(), SealKey.generate(), SealKey.generate()
    my_id = b"\x01" * 32
    sealed = spaces.wrap(keys, sender, me.public_key(), my_id)
    opened = spaces.unwrap(sealed, me, my_id, sender.verify_key(), "space-1", 2)
    assert opened.body() == keys.body()
    with pytest.raises(IntegrityError):  # another device's HPKE key
        spaces.unwrap(sealed, other, my_id, sender.verify_key(), "space-1", 2)
    with pytest.raises(IntegrityError):  # someone else claims to have sent it
        spaces.unwrap(sealed, me, my_id, SigningKey.generate().verify_key(), "space-1", 2)
    with pytest.raises(IntegrityError):  # moved to another version by the server
        spaces.unwrap(sealed, me, my_id, sender.verify_key(), "space-1", 3)
    with pytest.raises(IntegrityError):  # moved to another space
        spaces.unwrap(sealed, me, my_id, sender.verify_key(), "space-2", 2)
    with pytest.raises(IntegrityError):  # meant for another device id
        spaces.unwrap(sealed, me, b"\x02" * 32, sender.verify_key(), "space-1", 2)


def test_setup_publishes_the_account_chain_and_every_space(vault: Any, url: str,
                                                           opened: list[Client]) -> None:
    """The account chain's genesis is this device; each person's space has a verified chain,
    version-1 keys matching its public halves, and is on the server."""
    child = vault.people.add("Léo Martin", "2016-04-01", "male")
    setup.setup(vault.store, url)
    client, dev = logged_in(url, vault.store, opened)
    account = AccountChain.verify(server_chain(client, f"account:{dev.account}"),
                                  expect_first_key=dev.signing.verify_key())
    assert list(account.devices) == [dev.signing.verify_key().key_id()]
    owner = vault.people.owner().id
    assert dev.space == owner
    assert set(spaces.synced(vault.store.conn)) == {owner, child.id}
    for space in (owner, child.id):
        state = SpaceChain.verify(server_chain(client, f"space:{space}"),
                                  lambda a: account if a == dev.account else None)
        keys = spaces.current(vault.store.conn, space)
        assert keys is not None and state.key_version == keys.version == 1
        assert state.inbox.to_bytes() == keys.inbox.public_key().to_bytes()
        assert state.signing.to_bytes() == keys.signing.verify_key().to_bytes()
        assert state.members[dev.account].role == "owner"
    assert spaces.unposted(vault.store.conn) == []
    actions = [e.action for e in vault.audit.entries(limit=20)]
    assert actions.count("sync.space.create") == 2 and "sync.chain.account" in actions
    assert vault.audit.verify().ok


def test_a_space_added_later_is_published_by_the_next_publish(vault: Any, url: str,
                                                              opened: list[Client]) -> None:
    """publish is idempotent and picks up people added since."""
    setup.setup(vault.store, url)
    client, dev = logged_in(url, vault.store, opened)
    assert setup.publish(vault.store, client, dev) == []
    child = vault.people.add("Léo Martin", "2016-04-01", "male")
    assert setup.publish(vault.store, client, dev) == [child.id]
    assert len(server_chain(client, f"space:{child.id}")) == 1


def test_a_publish_cut_short_posts_the_same_entries_again(
        vault: Any, url: str, opened: list[Client], monkeypatch: pytest.MonkeyPatch) -> None:
    """Entries are kept before they are posted: a retry after a cut is the same bytes, which
    the server takes as a retry, never a second entry at that number."""
    setup.setup(vault.store, url)
    client, dev = logged_in(url, vault.store, opened)
    child = vault.people.add("Léo Martin", "2016-04-01", "male")
    calls: list[str] = []
    real = Client.append_chain

    def cut(self: Client, chain: str, *args: Any) -> int:
        calls.append(chain)
        real(self, chain, *args)
        raise ConnectionError("the answer was lost")  # the server committed it

    monkeypatch.setattr(Client, "append_chain", cut)
    with pytest.raises(ConnectionError):
        setup.publish(vault.store, client, dev)
    monkeypatch.setattr(Client, "append_chain", real)
    assert [e.chain for e in spaces.unposted(vault.store.conn)] == [f"space:{child.id}"]
    setup.publish(vault.store, client, dev)
    assert calls == [f"space:{child.id}"]
    assert len(server_chain(client, f"space:{child.id}")) == 1
    assert spaces.unposted(vault.store.conn) == []
