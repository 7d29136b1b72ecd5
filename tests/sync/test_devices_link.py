"""Linking a device end to end against a real server on 127.0.0.1: two vaults, two devices."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from msante.api import Vault
from msante.errors import ServerNotFound
from msante.sync import linking, spaces
from msante.sync.chains import AccountChain, device_bundle
from msante.sync.crypto import SealKey, SigningKey
from msante.sync.link import LinkCode, LinkError, LinkExpired, LinkJoin
from msante.sync.server.settings import Settings
from tests.helpers_vault import keys_of
from tests.server.server_helpers import live_server
from tests.sync.devices_helpers import (
    POLL,
    identity,
    link,
    logged_in,
    owner_vault,
    set_up,
)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (base, _app):
        yield base


@pytest.fixture
def first(tmp_path: Path, url: str) -> Iterator[Vault]:
    """The existing device: a vault with two people, set up for sync."""
    vault = owner_vault(tmp_path / "a")
    set_up(vault, url)
    yield vault
    vault.close()


def account_entries(vault: Vault) -> list[bytes]:
    """The account chain the vault keeps, as bytes."""
    chain = linking.account_chain(identity(vault))
    return [e.to_json() for e in spaces.entries(vault.store.conn, chain)]


def test_a_linked_device_holds_the_chain_and_every_space_key(first: Vault, tmp_path: Path,
                                                            url: str) -> None:
    """Both vaults keep the same account chain; the new device can log in and holds every
    key version of every space, opened from wraps signed by the first device."""
    result, joined = link(first, tmp_path / "b")
    assert joined.error is None, joined.error
    assert result is not None and joined.result is not None
    assert result["fingerprint"] == joined.fingerprint  # what both screens show
    with Vault.open(tmp_path / "b", keys_of(tmp_path / "b")) as second:
        assert account_entries(second) == account_entries(first)
        state = AccountChain.verify(spaces.entries(
            second.store.conn, linking.account_chain(identity(second))))
        assert len(state.devices) == 2
        mine = identity(second)
        assert mine.ready and mine.account == identity(first).account
        assert mine.device == result["device"]
        for space in spaces.synced(first.store.conn):
            theirs, ours = spaces.load(second.store.conn, space), spaces.load(
                first.store.conn, space)
            assert {v: k.body() for v, k in theirs.items()} == \
                {v: k.body() for v, k in ours.items()}
        assert sorted(spaces.synced(second.store.conn)) == sorted(spaces.synced(
            first.store.conn))
        assert mine.space in spaces.synced(second.store.conn)
        with logged_in(mine) as client:
            assert linking.check_account(second.store, client, mine) == []
    linked = first.store.conn.execute(
        "SELECT detail FROM audit WHERE action = 'sync.device.link'").fetchall()
    assert len(linked) == 1 and result["fingerprint"] in linked[0][0]


def test_the_first_device_sees_no_unexpected_entry_after_its_own_link(
        first: Vault, tmp_path: Path) -> None:
    """The add-device entry is this device's own: no warning for it."""
    link(first, tmp_path / "b")
    dev = identity(first)
    with logged_in(dev) as client:
        assert linking.check_account(first.store, client, dev) == []


def test_a_code_the_server_does_not_know_creates_nothing(url: str) -> None:
    """A code with a valid checksum but no rendezvous: exit 5, said plainly."""
    from msante.sync.client import Client

    with Client(url) as client, pytest.raises(ServerNotFound, match="no link waiting"):
        linking.find_link(client, LinkCode.new())


def test_an_expired_code_adds_nothing(first: Vault) -> None:
    """A bundle that comes after the code's ten minutes is refused; the chain is unchanged."""
    dev = identity(first)
    before = account_entries(first)
    with logged_in(dev) as client:
        offer = linking.open_offer(first.store, client, dev,
                                   now=datetime.now(UTC) - timedelta(minutes=11))
        newcomer = LinkJoin(offer.code, dev.account, "phone", SigningKey.generate(),
                            SealKey.generate())
        client.put_join(offer.rendezvous, newcomer.request())
        with pytest.raises(LinkExpired):
            linking.wait_join(client, offer, poll=POLL)
        assert len(linking.fetch_chain(client, linking.account_chain(dev))) == len(before)
    assert account_entries(first) == before


def test_the_new_device_gives_up_when_its_code_expires(first: Vault) -> None:
    """No answer within the ten minutes: LinkExpired (exit 2), not a wait for ever."""
    dev = identity(first)
    with logged_in(dev) as client:
        offer = linking.open_offer(first.store, client, dev)
        late = LinkCode.parse(offer.code.words(), now=datetime.now(UTC) - timedelta(minutes=10))
        with pytest.raises(LinkExpired):
            linking.wait_for(lambda: client.get_reply(offer.rendezvous), late, POLL)


def test_a_bundle_swapped_by_the_server_adds_no_device(first: Vault, tmp_path: Path) -> None:
    """The server hands the existing device a bundle of its own making (a key of its own):
    it does not open under the code — no device is added, nothing is kept."""
    dev = identity(first)
    before = account_entries(first)
    forged = LinkJoin(LinkCode.new(), dev.account, "server", SigningKey.generate(),
                      SealKey.generate()).request()
    with logged_in(dev) as client:
        offer = linking.open_offer(first.store, client, dev)
        client.get_join = lambda rendezvous: forged  # type: ignore[method-assign]
        with pytest.raises(LinkError) as caught:
            linking.wait_join(client, offer, poll=POLL)
        assert caught.value.reason == "does-not-open"
        assert len(linking.fetch_chain(client, linking.account_chain(dev))) == len(before)
    assert account_entries(first) == before


def test_someone_else_with_the_code_shows_another_fingerprint(first: Vault,
                                                              tmp_path: Path) -> None:
    """Whoever else uses the code first gets a fingerprint that differs from the new
    device's screen; refused by the person, nothing is added."""
    dev = identity(first)
    before = account_entries(first)
    with logged_in(dev) as client:
        offer = linking.open_offer(first.store, client, dev)
        thief = LinkJoin(offer.code, dev.account, "phone", SigningKey.generate(),
                         SealKey.generate())
        client.put_join(offer.rendezvous, thief.request())
        candidate = linking.wait_join(client, offer, poll=POLL)
        honest = LinkJoin(offer.code, dev.account, "phone", SigningKey.generate(),
                          SealKey.generate())
        assert candidate.fingerprint() == thief.fingerprint() != honest.fingerprint()
    assert account_entries(first) == before


def test_an_account_changed_while_waiting_adds_nothing(first: Vault, tmp_path: Path) -> None:
    """Another entry reached the account between the code and the confirmation: the link
    stops (exit 7) before keeping anything, so the kept chain never forks the server's."""
    from msante.errors import ConflictError

    dev = identity(first)
    with logged_in(dev) as client:
        offer = linking.open_offer(first.store, client, dev)
        newcomer = LinkJoin(offer.code, dev.account, "phone", SigningKey.generate(),
                            SealKey.generate())
        client.put_join(offer.rendezvous, newcomer.request())
        candidate = linking.wait_join(client, offer, poll=POLL)
        tablet = device_bundle(offer.state.chain, "tablet", SigningKey.generate(),
                               SealKey.generate().public_key())
        meanwhile = AccountChain.add_device(offer.state, dev.signing, tablet)
        with first.store.write() as tx:  # as another run of this device would
            spaces.keep(tx, meanwhile)
            first.store.log(tx, "sync.device.link", detail={})
        linking.post_kept(first.store, client)
        before = account_entries(first)
        with pytest.raises(ConflictError):
            linking.complete(first.store, client, dev, offer, candidate)
        assert account_entries(first) == before
        assert spaces.unposted(first.store.conn) == []
