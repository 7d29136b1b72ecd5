"""The /v1/log endpoints' bounds and access, and space event commitments."""

from __future__ import annotations

import secrets
from pathlib import Path

from log_helpers import Chain, check_whole_log, checkpoint, inclusion, post_entry
from server_helpers import Server, make_server
from sqlalchemy import text

from msante.sync import merkle
from msante.sync.logleaf import EventLeaf, event_leaf, parse_leaf
from msante.sync.server.models import b64decode, b64encode
from msante.sync.server.problems import MEDIA_TYPE
from msante.sync.server.settings import Limits


def _grow(srv: Server, n: int) -> Server:
    """Append `n` chain entries."""
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    for _ in range(n):
        post_entry(srv, who, chain)
    return srv


def test_out_of_range_sizes_and_indexes_are_problems(server: Server) -> None:
    """Beyond the log, inverted or over the page bound: 400 log-range; not integers: 422."""
    who = server.account()
    _grow(server, 4)
    bad = [("/v1/log/proof/inclusion", {"index": 4, "size": 4}),
           ("/v1/log/proof/inclusion", {"index": 0, "size": 5}),
           ("/v1/log/proof/inclusion", {"index": 0, "size": 0}),
           ("/v1/log/proof/consistency", {"old": 3, "new": 2}),
           ("/v1/log/proof/consistency", {"old": 1, "new": 9}),
           ("/v1/log/entries", {"start": 2, "end": 2}),
           ("/v1/log/entries", {"start": 0, "end": 5})]
    for url, params in bad:
        response = server.client.get(url, params=params, headers=who.auth)
        assert response.status_code == 400, (url, params, response.text)
        body = response.json()
        assert response.headers["content-type"] == MEDIA_TYPE
        assert body["type"] == "urn:msante:problem:log-range" and body["size"] == 4
    wrong: list[tuple[str, dict[str, object]]] = [
        ("/v1/log/proof/inclusion", {"index": -1, "size": 2}),
        ("/v1/log/proof/inclusion", {"index": 0, "size": 2**64}),
        ("/v1/log/proof/consistency", {"old": "x", "new": 2}),
        ("/v1/log/entries", {"start": 0})]
    for url, query in wrong:
        assert server.client.get(url, params=query, headers=who.auth).status_code == 422


def test_entries_come_in_bounded_pages(tmp_path: Path) -> None:
    """More than max_log_entries at once is refused; a page within it is served whole."""
    with make_server(tmp_path, limits=Limits(max_log_entries=3)) as srv:
        _grow(srv, 5)
        who = srv.account()
        wide = srv.client.get("/v1/log/entries", params={"start": 0, "end": 5},
                              headers=who.auth)
        assert wide.status_code == 400 and "At most 3" in wide.json()["detail"]
        page = srv.client.get("/v1/log/entries", params={"start": 2, "end": 5},
                              headers=who.auth).json()["entries"]
        assert [e["index"] for e in page] == [2, 3, 4]
        check_whole_log(srv, who)


def test_proofs_and_entries_need_a_token_but_key_and_checkpoint_do_not(server: Server) -> None:
    """Anyone may pin the key and compare checkpoints; the rest is for logged-in clients."""
    _grow(server, 2)
    assert server.client.get("/v1/log/key").status_code == 200
    assert server.client.get("/v1/log/checkpoint").status_code == 200
    for url, params in [("/v1/log/proof/inclusion", {"index": 0, "size": 2}),
                        ("/v1/log/proof/consistency", {"old": 1, "new": 2}),
                        ("/v1/log/entries", {"start": 0, "end": 2})]:
        assert server.client.get(url, params=params).status_code == 401


def test_the_empty_log_has_the_empty_root(server: Server) -> None:
    """Size 0, root SHA-256(''), signed like any other."""
    head, _ = checkpoint(server)
    assert (head.size, head.root) == (0, merkle.EMPTY_ROOT)


def _event(index: bytes | None = None, commitment: bytes | None = None) -> dict[str, str]:
    """A space event's JSON."""
    return {"index": b64encode(index or secrets.token_bytes(32)),
            "commitment": b64encode(commitment or secrets.token_bytes(64))}


def test_space_events_are_logged_as_commitments(server: Server) -> None:
    """Each event is numbered in its space and is a leaf of the index and commitment only."""
    who = server.account()
    space = server.space(who)
    events = [_event() for _ in range(3)]
    answers = []
    for ev in events:
        response = server.client.post(f"/v1/spaces/{space}/events", json=ev, headers=who.auth)
        assert response.status_code == 201, response.text
        answers.append(response.json())
    assert [a["seq"] for a in answers] == [0, 1, 2]
    head = check_whole_log(server, who)
    for ev, answer in zip(events, answers, strict=True):
        leaf = event_leaf(b64decode(ev["index"]), b64decode(ev["commitment"]))
        proof = inclusion(server, who, answer["leaf_index"], head.size)
        merkle.verify_inclusion(merkle.leaf_hash(leaf), answer["leaf_index"], head.size,
                                proof, head.root)
        assert space.encode() not in leaf
    data = server.client.get("/v1/log/entries", params={"start": 0, "end": 1},
                             headers=who.auth).json()["entries"][0]["data"]
    assert parse_leaf(b64decode(data)) == EventLeaf(b64decode(events[0]["index"]),
                                                    b64decode(events[0]["commitment"]))
    page = server.client.get(f"/v1/spaces/{space}/events", params={"since": 1},
                             headers=who.auth).json()
    assert [e["seq"] for e in page["events"]] == [1, 2] and page["next"] == 3


def test_an_event_retry_is_the_same_event_and_a_reused_index_is_409(server: Server) -> None:
    """Same index and commitment: 200 and no new leaf; same index, other commitment: 409."""
    who = server.account()
    space = server.space(who)
    ev = _event()
    url = f"/v1/spaces/{space}/events"
    first = server.client.post(url, json=ev, headers=who.auth)
    again = server.client.post(url, json=ev, headers=who.auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["leaf_index"] == first.json()["leaf_index"]
    other = server.client.post(url, json=_event(index=b64decode(ev["index"])), headers=who.auth)
    assert other.status_code == 409
    assert other.json()["type"] == "urn:msante:problem:event-index-reused"
    assert checkpoint(server)[0].size == 1


def test_events_only_from_members_and_bounded(tmp_path: Path) -> None:
    """A stranger gets 404; an index not 32 bytes is 422; a commitment over the bound 413."""
    with make_server(tmp_path, limits=Limits(max_commitment_bytes=100)) as srv:
        owner, stranger = srv.account(), srv.account()
        space = srv.space(owner)
        url = f"/v1/spaces/{space}/events"
        assert srv.client.post(url, json=_event(), headers=stranger.auth).status_code == 404
        assert srv.client.get(url, headers=stranger.auth).status_code == 404
        short = {"index": b64encode(b"x" * 31), "commitment": b64encode(b"c")}
        assert srv.client.post(url, json=short, headers=owner.auth).status_code == 422
        empty = {"index": b64encode(b"x" * 32), "commitment": ""}
        assert srv.client.post(url, json=empty, headers=owner.auth).status_code == 422
        big = srv.client.post(url, json=_event(commitment=b"c" * 101), headers=owner.auth)
        assert big.status_code == 413 and big.json()["limit"] == 100
        huge = srv.client.post(url, json=_event(commitment=b"c" * 2000), headers=owner.auth)
        assert huge.status_code == 422  # over the model's own ceiling
        assert checkpoint(srv)[0].size == 0


def test_proof_rows_are_found_by_key_not_by_scanning_the_log(server: Server) -> None:
    """SQLite's plan for the proof query: one primary-key search per row, no scan."""
    from msante.sync.server.logstore import _nodes_query

    query = str(_nodes_query(3))
    params = {"log": "x", "l0": 0, "i0": 1, "l1": 1, "i1": 0, "l2": 2, "i2": 0}
    with server.store.engine.connect() as conn:
        plan = " | ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + query),
                                                          params))
    assert plan.count("log_id=? AND level=? AND idx=?") == 3, plan
    assert "SCAN log_nodes" not in plan
