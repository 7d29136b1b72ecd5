"""Adding and revoking devices, and listing an account's spaces, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from server_helpers import Server, make_server, new_id
from sqlalchemy import select

from msante.sync.server import schema as t
from msante.sync.server.problems import Conflict, NotFound
from msante.sync.server.settings import Limits


def test_a_device_is_added_once_and_a_retry_is_the_same_write(any_server: Server) -> None:
    """The same keys again: False (no second row); other keys for that id: device-exists."""
    srv = any_server
    who = srv.account()
    devices = srv.store.devices
    device = new_id()
    assert devices.add(who.account, device, b"key", b"bundle") is True
    assert devices.add(who.account, device, b"key", b"bundle") is False
    with pytest.raises(Conflict) as err:
        devices.add(who.account, device, b"other key", b"bundle")
    assert err.value.slug == "device-exists"
    assert srv.store.accounts.signing_key(who.account, device) == b"key"


def test_a_revoked_device_loses_its_tokens_and_logins_at_once(any_server: Server) -> None:
    """Revoking deletes the device's tokens and challenges; its id never comes back."""
    srv = any_server
    who = srv.account()
    accounts, devices = srv.store.accounts, srv.store.devices
    other = new_id()
    devices.add(who.account, other, b"key", b"bundle")
    token, _ = accounts.issue_token(who.account, other)
    accounts.new_challenge(who.account, other)
    assert accounts.caller(token) is not None
    at = devices.revoke(who.account, other)
    assert accounts.caller(token) is None
    assert accounts.signing_key(who.account, other) is None  # login refused after
    with srv.store.engine.connect() as conn:
        left = [conn.scalars(select(tab.c.device_id).where(
            tab.c.account_id == who.account, tab.c.device_id == other)).all()
            for tab in (t.tokens, t.challenges)]
    assert left == [[], []]
    assert devices.revoke(who.account, other) == at  # again: the same answer
    with pytest.raises(Conflict) as err:
        devices.add(who.account, other, b"key", b"bundle")
    assert err.value.slug == "device-revoked"
    assert accounts.caller(who.token) is not None  # the other device is untouched


def test_only_the_accounts_own_devices_are_revoked(any_server: Server) -> None:
    """Another account's device, or an unknown one, is NotFound."""
    srv = any_server
    me, other = srv.account(), srv.account()
    for device in (other.device, new_id()):
        with pytest.raises(NotFound):
            srv.store.devices.revoke(me.account, device)
    assert srv.store.accounts.caller(other.token) is not None


def test_an_account_has_a_bounded_number_of_devices(tmp_path: Path, db_url: str) -> None:
    """Past Limits.max_devices, device-limit (revoked devices count)."""
    with make_server(tmp_path / "d", db_url=db_url,
                     limits=Limits(max_devices=3)) as srv:
        who = srv.account()
        extra = [new_id(), new_id()]
        for device in extra:
            srv.store.devices.add(who.account, device, b"k", b"b")
        srv.store.devices.revoke(who.account, extra[0])
        with pytest.raises(Conflict) as err:
            srv.store.devices.add(who.account, new_id(), b"k", b"b")
        assert err.value.slug == "device-limit"


def test_spaces_are_listed_by_id_in_pages_with_the_role(any_server: Server) -> None:
    """Only the account's own spaces, each with its role, paged with `after`."""
    srv = any_server
    who, other = srv.account(), srv.account()
    mine = sorted(srv.space(who) for _ in range(3))
    srv.space(other)
    first, more = srv.store.devices.spaces(who.account, None, 2)
    assert first == [(mine[0], "owner"), (mine[1], "owner")] and more
    rest, more = srv.store.devices.spaces(who.account, mine[1], 2)
    assert rest == [(mine[2], "owner")] and not more


def test_concurrent_adds_of_one_device_store_it_once(any_server: Server) -> None:
    """Four retries of the same device at once: one new, three the same write, no error."""
    srv = any_server
    who = srv.account()
    device = new_id()
    results: list[bool] = []

    def add() -> None:
        results.append(srv.store.devices.add(who.account, device, b"key", b"bundle"))

    threads = [threading.Thread(target=add) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [False, False, False, True]
