"""The client's methods for devices, spaces, link rendezvous and key wraps, against a real
server on 127.0.0.1 (SYNC2.md "Server additions")."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from msante.errors import LoginRefused, ServerBusy, ServerNotFound
from msante.sync.client import Client
from msante.sync.crypto import SigningKey
from msante.sync.server.settings import Limits, Settings
from tests.server.server_helpers import live_server


def new_id() -> str:
    """A random id as the client makes them."""
    return secrets.token_urlsafe(16)


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1, with pages of two spaces or wraps."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("srv"),
                        limits=Limits(max_spaces_page=2, max_chain_page=2))
    with live_server(settings) as (base, _app):
        yield base


class Device:
    """A logged-in device of an account (a new account unless `account` is given)."""

    def __init__(self, url: str, account: str | None = None, device: str | None = None,
                 key: SigningKey | None = None) -> None:
        self.client = Client(url)
        self.server = self.client.health().server
        self.account, self.device = account or new_id(), device or new_id()
        self.key = key or SigningKey.generate()
        if account is None:
            self.client.register(self.account, self.device,
                                 self.key.verify_key().to_bytes(), b"bundle")
        self.client.login(self.account, self.device, self.key, self.server)


@pytest.fixture
def dev(url: str) -> Iterator[Device]:
    """One device of a new account."""
    d = Device(url)
    yield d
    d.client.close()


def test_spaces_follows_the_pages(dev: Device) -> None:
    """Five spaces through pages of two, by id, each with its role."""
    made = sorted(new_id() for _ in range(5))
    for space in made:
        dev.client.create_space(space)
    assert dev.client.spaces() == [{"space": s, "role": "owner"} for s in made]


def test_add_device_then_it_logs_in_and_remove_device_ends_it(url: str, dev: Device) -> None:
    """add_device: True then False (a retry); the new device logs in; once removed, its next
    request and its logins are refused."""
    key, device = SigningKey.generate(), new_id()
    public = key.verify_key().to_bytes()
    assert dev.client.add_device(dev.account, device, public, b"bundle") is True
    assert dev.client.add_device(dev.account, device, public, b"bundle") is False
    with pytest.raises(ServerBusy):
        dev.client.add_device(dev.account, device, SigningKey.generate().verify_key()
                              .to_bytes(), b"bundle")
    second = Device(url, dev.account, device, key)
    with second.client:
        assert second.client.spaces() == []
        assert dev.client.remove_device(dev.account, device) > 0
        with pytest.raises(LoginRefused):
            second.client.spaces()  # 401, then the one re-login is refused too
    with pytest.raises(ServerNotFound):
        dev.client.remove_device(dev.account, new_id())


def test_a_link_exchange_through_the_client(url: str, dev: Device) -> None:
    """open_link, link_account and put_join (no token), get_join, put_reply, get_reply once;
    None while a message has not come."""
    rendezvous = secrets.token_urlsafe(32)
    assert dev.client.open_link(rendezvous, dev.account) > 0
    with Client(url) as new:  # the new device: no account, no token
        assert new.link_account(rendezvous) == dev.account
        assert dev.client.get_join(rendezvous) is None
        assert new.get_reply(rendezvous) is None
        assert new.put_join(rendezvous, b"join") is True
        assert new.put_join(rendezvous, b"join") is False
        with pytest.raises(ServerBusy):
            new.put_join(rendezvous, b"another join")
        assert dev.client.get_join(rendezvous) == b"join"
        assert dev.client.put_reply(rendezvous, b"reply") is True
        assert new.get_reply(rendezvous) == b"reply"
        with pytest.raises(ServerNotFound):
            new.get_reply(rendezvous)
        with pytest.raises(ServerNotFound):
            new.link_account(rendezvous)


def test_wraps_round_trip_through_the_client(dev: Device) -> None:
    """put_wrap: True then False (a retry), other bytes refused; wraps follows the pages,
    oldest first."""
    space, device = new_id(), secrets.token_urlsafe(32)
    dev.client.create_space(space)
    assert dev.client.put_wrap(space, 2, device, b"keys v2") is True
    assert dev.client.put_wrap(space, 1, device, b"keys v1") is True
    assert dev.client.put_wrap(space, 3, device, b"keys v3") is True
    assert dev.client.put_wrap(space, 1, device, b"keys v1") is False
    with pytest.raises(ServerBusy):
        dev.client.put_wrap(space, 1, device, b"other keys")
    assert dev.client.wraps(space, device) == [(1, b"keys v1"), (2, b"keys v2"),
                                               (3, b"keys v3")]  # two pages
    assert dev.client.wraps(space, secrets.token_urlsafe(32)) == []
