"""Key wraps in the store, on SQLite and PostgreSQL: immutable, owners and managers put them,
charged to the quota, listed oldest version first."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from server_helpers import Account, Server, make_server
from sqlalchemy import insert, select

from msante.sync.server import schema as t
from msante.sync.server.problems import Conflict, NotFound, QuotaExceeded
from msante.sync.server.settings import Limits
from msante.sync.server.store import Caller


def key_id() -> str:
    """A device key id as base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def caller(who: Account) -> Caller:
    return Caller(who.account, who.device)


def join(srv: Server, who: Account, space: str, role: str) -> None:
    """Make `who` a member of `space` with `role` (the space_members mirror)."""
    with srv.store.engine.begin() as conn:
        conn.execute(insert(t.space_members).values(space_id=space, account_id=who.account,
                                                    role=role))


def used(srv: Server, who: Account) -> int:
    with srv.store.engine.connect() as conn:
        return int(conn.scalar(select(t.accounts.c.used_bytes).where(
            t.accounts.c.account_id == who.account)) or 0)


def test_a_wrap_is_stored_once_and_never_changes(any_server: Server) -> None:
    """New: True; the same bytes: False; other bytes: wrap-differs; charged once."""
    srv = any_server
    who = srv.account()
    space, device = srv.space(who), key_id()
    wraps = srv.store.wraps
    assert wraps.put(caller(who), space, 1, device, b"sealed" * 10) is True
    assert wraps.put(caller(who), space, 1, device, b"sealed" * 10) is False
    with pytest.raises(Conflict) as err:
        wraps.put(caller(who), space, 1, device, b"other")
    assert err.value.slug == "wrap-differs"
    assert used(srv, who) == 60
    assert wraps.list(space, device, 0, 10) == ([(1, b"sealed" * 10)], False)


def test_wraps_are_listed_per_device_oldest_version_first(any_server: Server) -> None:
    """Each device sees only its own wraps; `since` and the page bound."""
    srv = any_server
    who = srv.account()
    space, mine, other = srv.space(who), key_id(), key_id()
    for version in (3, 1, 2):
        srv.store.wraps.put(caller(who), space, version, mine, b"v%d" % version)
    srv.store.wraps.put(caller(who), space, 1, other, b"theirs")
    assert srv.store.wraps.list(space, mine, 0, 2) == ([(1, b"v1"), (2, b"v2")], True)
    assert srv.store.wraps.list(space, mine, 3, 2) == ([(3, b"v3")], False)
    assert srv.store.wraps.list(space, other, 0, 10) == ([(1, b"theirs")], False)
    assert srv.store.wraps.list(space, key_id(), 0, 10) == ([], False)


def test_owners_and_managers_put_wraps_readers_and_strangers_do_not(any_server: Server) -> None:
    """A manager puts one; a read-only member and another account get NotFound."""
    srv = any_server
    owner, manager, reader, stranger = (srv.account() for _ in range(4))
    space = srv.space(owner)
    join(srv, manager, space, "manage")
    join(srv, reader, space, "read")
    assert srv.store.wraps.put(caller(manager), space, 1, key_id(), b"x") is True
    for who in (reader, stranger):
        with pytest.raises(NotFound):
            srv.store.wraps.put(caller(who), space, 1, key_id(), b"x")


def test_wraps_count_against_the_quota(tmp_path: Path, db_url: str) -> None:
    """Past the quota: 507 and nothing stored."""
    with make_server(tmp_path / "d", db_url=db_url, limits=Limits(quota_bytes=100)) as srv:
        who = srv.account()
        space, device = srv.space(who), key_id()
        srv.store.wraps.put(caller(who), space, 1, device, bytes(80))
        with pytest.raises(QuotaExceeded):
            srv.store.wraps.put(caller(who), space, 2, device, bytes(30))
        assert srv.store.wraps.list(space, device, 0, 10) == ([(1, bytes(80))], False)


def test_concurrent_puts_of_one_wrap_store_it_once(any_server: Server) -> None:
    """Four retries of the same wrap at once: one new, three the same write, charged once."""
    srv = any_server
    who = srv.account()
    space, device = srv.space(who), key_id()
    results: list[bool] = []

    def put() -> None:
        results.append(srv.store.wraps.put(caller(who), space, 1, device, bytes(50)))

    threads = [threading.Thread(target=put) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == [False, False, False, True]
    assert used(srv, who) == 50
