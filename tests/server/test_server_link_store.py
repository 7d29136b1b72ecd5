"""Link rendezvous in the store, on SQLite and PostgreSQL: life, once-only messages, the
reply read once, the same 404 for unknown and expired."""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

import pytest
from server_helpers import Server, make_server
from sqlalchemy import select, update

from msante.sync.server import schema as t
from msante.sync.server.problems import Conflict, NotFound, Problem
from msante.sync.server.settings import Limits


def rid() -> str:
    """A rendezvous id as a device makes it (256 bits)."""
    return secrets.token_urlsafe(32)


def _expire(srv: Server, rendezvous: str) -> None:
    """Move the rendezvous's end into the past."""
    with srv.store.engine.begin() as conn:
        conn.execute(update(t.link_rendezvous).where(
            t.link_rendezvous.c.rendezvous_id == rendezvous).values(expires_at=1))


def test_a_rendezvous_carries_one_join_and_one_reply_then_is_gone(any_server: Server) -> None:
    """open → find → join → joined → reply → take_reply (once) → 404."""
    srv = any_server
    who = srv.account()
    links, r = srv.store.links, rid()
    created, link = links.open(who.account, r)
    assert created and link.account == who.account
    again, same = links.open(who.account, r)
    assert not again and same == link  # a retry: the same rendezvous, the same end
    assert link.expires - srv.settings.limits.link_seconds > 0
    assert links.find(r).account == who.account
    assert links.join(r, b"hello") is True
    assert links.join(r, b"hello") is False  # a retry
    assert links.joined(who.account, r) == b"hello"
    assert links.reply(who.account, r, b"welcome") is True
    assert links.reply(who.account, r, b"welcome") is False
    assert links.take_reply(r) == b"welcome"
    for call in (lambda: links.find(r), lambda: links.take_reply(r),
                 lambda: links.join(r, b"hello")):
        with pytest.raises(NotFound):
            call()


def test_each_message_is_sent_once(any_server: Server) -> None:
    """Other bytes after a join or a reply: link-used; a reply before any join: link-not-joined."""
    srv = any_server
    who = srv.account()
    links, r = srv.store.links, rid()
    links.open(who.account, r)
    with pytest.raises(Conflict) as err:
        links.reply(who.account, r, b"too early")
    assert err.value.slug == "link-not-joined"
    links.join(r, b"first")
    with pytest.raises(Conflict) as err:
        links.join(r, b"second")
    assert err.value.slug == "link-used"
    links.reply(who.account, r, b"reply")
    with pytest.raises(Conflict) as err:
        links.reply(who.account, r, b"other reply")
    assert err.value.slug == "link-used"


def test_nothing_yet_is_link_pending_and_unknown_or_expired_is_not_found(
        any_server: Server) -> None:
    """A live rendezvous without the message: 404 link-pending; expired: the unknown's 404."""
    srv = any_server
    who = srv.account()
    links, r = srv.store.links, rid()
    links.open(who.account, r)
    for call in (lambda: links.joined(who.account, r), lambda: links.take_reply(r)):
        with pytest.raises(Problem) as err:
            call()
        assert (err.value.status, err.value.slug) == (404, "link-pending")
    links.join(r, b"hello")
    _expire(srv, r)
    unknown = rid()
    answers = []
    for call in (lambda: links.find(r), lambda: links.find(unknown),
                 lambda: links.joined(who.account, r), lambda: links.take_reply(r),
                 lambda: links.join(unknown, b"x"), lambda: links.reply(who.account, r, b"x")):
        with pytest.raises(NotFound) as gone:
            call()
        answers.append((gone.value.slug, gone.value.detail))
    assert len(set(answers)) == 1


def test_a_rendezvous_belongs_to_one_account(any_server: Server) -> None:
    """Another account cannot take the id, read the join or reply (404)."""
    srv = any_server
    owner, other = srv.account(), srv.account()
    links, r = srv.store.links, rid()
    links.open(owner.account, r)
    with pytest.raises(Conflict) as err:
        links.open(other.account, r)
    assert err.value.slug == "link-taken"
    links.join(r, b"hello")
    with pytest.raises(NotFound):
        links.joined(other.account, r)
    with pytest.raises(NotFound):
        links.reply(other.account, r, b"x")


def test_open_rendezvous_are_bounded_and_expired_ones_are_swept(tmp_path: Path,
                                                                db_url: str) -> None:
    """Past Limits.max_links: link-limit; opening deletes the expired rows (anyone's)."""
    with make_server(tmp_path / "d", db_url=db_url, limits=Limits(max_links=2)) as srv:
        who, other = srv.account(), srv.account()
        links = srv.store.links
        first = rid()
        links.open(who.account, first)
        links.open(who.account, rid())
        with pytest.raises(Conflict) as err:
            links.open(who.account, rid())
        assert err.value.slug == "link-limit"
        _expire(srv, first)
        links.open(other.account, rid())
        with srv.store.engine.connect() as conn:
            left = conn.scalars(select(t.link_rendezvous.c.rendezvous_id).where(
                t.link_rendezvous.c.rendezvous_id == first)).all()
        assert left == []
        assert links.open(who.account, rid())[0]


def test_concurrent_joins_store_exactly_one(any_server: Server) -> None:
    """Four new devices joining at once with different messages: one stored, three link-used."""
    srv = any_server
    who = srv.account()
    links, r = srv.store.links, rid()
    links.open(who.account, r)
    outcomes: list[str] = []

    def join(message: bytes) -> None:
        try:
            links.join(r, message)
            outcomes.append("stored")
        except Conflict as exc:
            outcomes.append(exc.slug)

    threads = [threading.Thread(target=join, args=(b"join %d" % i,)) for i in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(outcomes) == ["link-used"] * 3 + ["stored"]
    assert links.joined(who.account, r).startswith(b"join ")
