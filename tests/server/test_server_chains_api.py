"""Chains through the API: append-only, 409 instead of a fork, who may write and read."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from log_helpers import ZERO, Chain, check_whole_log, post_entry
from server_helpers import Account, Server, make_server
from sqlalchemy import insert, select

from msante.sync.logleaf import ChainLeaf, chain_key, parse_leaf
from msante.sync.server import schema as t
from msante.sync.server.models import b64decode, b64encode
from msante.sync.server.problems import MEDIA_TYPE
from msante.sync.server.settings import Limits


def _post(srv: Server, who: Account, chain: str,
          entry: dict[str, object]) -> tuple[int, dict[str, Any]]:
    """POST an entry; the status and the JSON answer."""
    response = srv.client.post(f"/v1/chains/{chain}/entries", json=entry, headers=who.auth)
    if response.status_code >= 400:
        assert response.headers["content-type"] == MEDIA_TYPE
    return response.status_code, response.json()


def test_entries_append_in_order_and_commit_to_the_log(server: Server) -> None:
    """seq 0 with zero prev, then each entry linked to the last; each one a leaf."""
    who = server.account()
    chain = Chain(f"account:{who.account}")
    answers = [post_entry(server, who, chain) for _ in range(3)]
    assert [(a["seq"], a["leaf_index"], a["log_size"]) for a in answers] == [
        (0, 0, 1), (1, 1, 2), (2, 2, 3)]
    page = server.client.get(f"/v1/chains/{chain.chain}/entries", headers=who.auth).json()
    assert [b64decode(e["hash"]) for e in page["entries"]] == chain.hashes
    assert b64decode(page["entries"][0]["prev"]) == ZERO
    assert b64decode(page["entries"][2]["prev"]) == chain.hashes[1]
    check_whole_log(server, who)
    data = server.client.get("/v1/log/entries", params={"start": 0, "end": 3},
                             headers=who.auth).json()["entries"]
    leaf = parse_leaf(b64decode(data[2]["data"]))
    assert leaf == ChainLeaf(chain_key(chain.chain), 2, chain.hashes[2])
    assert who.account.encode() not in b64decode(data[2]["data"])  # no id in clear


def test_a_retry_is_the_same_entry_and_a_second_entry_at_a_seq_is_409(server: Server) -> None:
    """The lost-response retry gets 200 and its leaf; another entry at that seq never forks."""
    who = server.account()
    chain = Chain(f"account:{who.account}")
    first = chain.entry(b"genesis")
    assert _post(server, who, chain.chain, first)[0] == 201
    chain.accepted(first)
    status, again = _post(server, who, chain.chain, first)
    assert (status, again["leaf_index"], again["seq"]) == (200, 0, 0)
    status, fork = _post(server, who, chain.chain, chain.entry(b"other genesis", seq=0,
                                                               prev=ZERO))
    assert status == 409 and fork["type"] == "urn:msante:problem:chain-seq-taken"
    assert fork["next_seq"] == 1
    assert check_whole_log(server, who).size == 1


def test_a_gap_or_a_wrong_prev_is_409(server: Server) -> None:
    """seq past the next one: chain-gap; a prev that is not the head's hash: chain-prev."""
    who = server.account()
    chain = Chain(f"account:{who.account}")
    status, gap = _post(server, who, chain.chain, chain.entry(seq=1))
    assert status == 409 and gap["type"].endswith("chain-gap") and gap["next_seq"] == 0
    status, bad = _post(server, who, chain.chain, chain.entry(prev=b"\x01" * 32))
    assert status == 409 and bad["type"].endswith("chain-prev")
    post_entry(server, who, chain)
    status, bad = _post(server, who, chain.chain, chain.entry(prev=ZERO))
    assert status == 409 and bad["type"].endswith("chain-prev") and bad["next_seq"] == 1
    assert check_whole_log(server, who).size == 1  # refused entries leave no leaf


def test_an_account_chain_is_written_only_by_its_account(server: Server) -> None:
    """Another account gets the 404 of a chain that does not exist, writing or reading."""
    me, other = server.account(), server.account()
    chain = Chain(f"account:{me.account}")
    post_entry(server, me, chain)
    status, body = _post(server, other, chain.chain, chain.entry())
    assert status == 404 and body["type"].endswith("not-found")
    unknown = server.client.get("/v1/chains/account:nobody/entries", headers=other.auth)
    read = server.client.get(f"/v1/chains/{chain.chain}/entries", headers=other.auth)
    assert read.status_code == unknown.status_code == 404
    assert read.json()["detail"] == unknown.json()["detail"]


def test_a_fellow_member_reads_an_account_chain_but_cannot_write_it(server: Server) -> None:
    """Sharing a space lets a member check the other's devices; never append to them."""
    me, friend = server.account(), server.account()
    chain = Chain(f"account:{me.account}")
    post_entry(server, me, chain)
    space = server.space(me)
    with server.store.engine.begin() as conn:
        conn.execute(insert(t.space_members).values(space_id=space, account_id=friend.account,
                                                    role="read"))
    read = server.client.get(f"/v1/chains/{chain.chain}/entries", headers=friend.auth)
    assert read.status_code == 200 and len(read.json()["entries"]) == 1
    assert _post(server, friend, chain.chain, chain.entry())[0] == 404


def test_a_space_chain_is_open_to_its_members_only(server: Server) -> None:
    """Members append and read; anyone else gets 404, like an unknown space."""
    owner, stranger = server.account(), server.account()
    space = server.space(owner)
    chain = Chain(f"space:{space}")
    post_entry(server, owner, chain)
    assert _post(server, stranger, chain.chain, chain.entry())[0] == 404
    assert server.client.get(f"/v1/chains/{chain.chain}/entries",
                             headers=stranger.auth).status_code == 404
    assert _post(server, owner, "space:nosuchspace", Chain("space:x").entry())[0] == 404
    page = server.client.get(f"/v1/chains/{chain.chain}/entries", headers=owner.auth).json()
    assert [e["seq"] for e in page["entries"]] == [0]


def test_chain_pages_resume_from_since(server: Server) -> None:
    """A page is bounded; `next` and `more` say where to go on."""
    srv = server
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    for _ in range(5):
        post_entry(srv, who, chain)
    url = f"/v1/chains/{chain.chain}/entries"
    first = srv.client.get(url, params={"limit": 2}, headers=who.auth).json()
    assert [e["seq"] for e in first["entries"]] == [0, 1] and first["more"]
    rest = srv.client.get(url, params={"since": first["next"], "limit": 10},
                          headers=who.auth).json()
    assert [e["seq"] for e in rest["entries"]] == [2, 3, 4] and not rest["more"]
    assert rest["next"] == 5


def test_bad_chain_ids_and_bounded_entries(tmp_path: Path) -> None:
    """Malformed ids and fields are 422; an entry over the configured bound is 413."""
    with make_server(tmp_path, limits=Limits(max_chain_entry_bytes=1024)) as srv:
        _bad_entries(srv)


def _bad_entries(srv: Server) -> None:
    """The checks of the test above."""
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    for bad in ("device:x", "account:", "account:a.b", "space:" + "x" * 65):
        assert _post(srv, who, bad, chain.entry())[0] in (404, 422)
    assert _post(srv, who, chain.chain, {**chain.entry(), "seq": -1})[0] == 422
    assert _post(srv, who, chain.chain, {**chain.entry(), "hash": b64encode(b"x" * 31)})[0] \
        == 422
    assert _post(srv, who, chain.chain, {**chain.entry(), "entry": ""})[0] == 422
    assert _post(srv, who, chain.chain, {**chain.entry(), "extra": 1})[0] == 422
    status, body = _post(srv, who, chain.chain, chain.entry(b"x" * 3000))
    assert status == 413 and body["limit"] == srv.settings.limits.max_chain_entry_bytes
    assert srv.client.post(f"/v1/chains/{chain.chain}/entries",
                           json=chain.entry()).status_code == 401



def test_a_read_only_member_reads_the_space_chain_but_cannot_append(server: Server) -> None:
    """Only owners and managers append to a space chain: a reader cannot squat its next seq."""
    owner, reader, manager = server.account(), server.account(), server.account()
    space = server.space(owner)
    with server.store.engine.begin() as conn:
        conn.execute(insert(t.space_members), [
            {"space_id": space, "account_id": reader.account, "role": "read"},
            {"space_id": space, "account_id": manager.account, "role": "manage"}])
    chain = Chain(f"space:{space}")
    post_entry(server, owner, chain)
    assert _post(server, reader, chain.chain, chain.entry())[0] == 404
    assert server.client.get(f"/v1/chains/{chain.chain}/entries",
                             headers=reader.auth).status_code == 200
    post_entry(server, manager, chain)
    assert check_whole_log(server, owner).size == 2


def test_entries_and_events_count_against_the_quota(tmp_path: Path) -> None:
    """Chain entries and event commitments are stored bytes: past the quota, 507, no leaf."""
    with make_server(tmp_path, limits=Limits(quota_bytes=1000)) as srv:
        who = srv.account()
        chain = Chain(f"account:{who.account}")
        post_entry(srv, who, chain, b"x" * 600)
        status, body = _post(srv, who, chain.chain, chain.entry(b"y" * 600))
        assert status == 507 and body["type"].endswith("quota")
        space = srv.space(who)
        event = {"index": b64encode(b"i" * 32), "commitment": b64encode(b"c" * 500)}
        assert srv.client.post(f"/v1/spaces/{space}/events", json=event,
                               headers=who.auth).status_code == 507
        assert check_whole_log(srv, who).size == 1


def test_an_entry_and_its_leaf_commit_together_or_not_at_all(
        server: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    """A failure after the leaf is appended but before the entry is stored leaves neither."""
    from msante.sync.server import chains

    who = server.account()
    chain = Chain(f"account:{who.account}")
    post_entry(server, who, chain)

    def crash() -> int:
        raise RuntimeError("the disk is gone")

    monkeypatch.setattr(chains, "now", crash)
    status, body = _post(server, who, chain.chain, chain.entry())
    assert status == 500 and body["type"].endswith("internal")
    monkeypatch.undo()
    assert check_whole_log(server, who).size == 1
    with server.store.engine.connect() as conn:
        nodes = conn.execute(select(t.log_nodes.c.idx).where(
            t.log_nodes.c.log_id == server.settings.log_id, t.log_nodes.c.level == 0)).all()
    assert len(nodes) == 1
    post_entry(server, who, chain)  # the same seq is free again
