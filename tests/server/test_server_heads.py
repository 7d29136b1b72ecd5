"""Signed chain heads on the server (SQLite and PostgreSQL): stored, checked, never going back."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from server_helpers import Account, Server, item, items, new_id
from sqlalchemy import insert

from msante.sync.items import ChainHead
from msante.sync.server import schema as t
from msante.sync.server.models import HeadIn, b64decode, b64encode
from msante.sync.server.problems import Problem
from msante.sync.signing import SIGNATURE_LEN

PREFIX = "urn:msante:problem:"


def head(who: Account, space: str, seq: int, item_hash: bytes | None = None,
         mark: int = 0) -> dict[str, Any]:
    """The body of a PUT of `who`'s head at `seq` (a signature no one checks here; `mark`
    makes another one, as re-signing does)."""
    named = item_hash if item_hash is not None else who.hashes[seq]
    signed = ChainHead(space=space, device=hashlib.sha256(who.device.encode()).digest(),
                       seq=seq, item=named, signature=bytes([mark]) * SIGNATURE_LEN)
    return {"seq": seq, "item": b64encode(named), "head": b64encode(signed.to_json())}


def push(srv: Server, who: Account, space: str, n: int) -> None:
    """Store `n` more items of `who`'s device."""
    results = srv.store.items.push(who.account, space, items(*(item(who) for _ in range(n))))
    assert all(r.status == 201 for r in results)


def put(srv: Server, who: Account, space: str, body: dict[str, Any],
        device: str | None = None) -> Any:
    """PUT a head through the API."""
    return srv.client.put(f"/v1/spaces/{space}/heads/{device or who.device}", json=body,
                          headers=who.auth)


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """The problem of `response`, checked."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert body["type"] == PREFIX + slug
    return body


def test_a_head_names_a_stored_item_and_never_goes_back(any_server: Server) -> None:
    """201 then 200; a lower seq is head-behind; an item not stored, or another hash, is
    head-mismatch; the same seq re-signed replaces the head."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    push(srv, who, space, 3)
    assert put(srv, who, space, head(who, space, 1)).status_code == 201
    assert put(srv, who, space, head(who, space, 2)).status_code == 200
    behind = problem(put(srv, who, space, head(who, space, 1)), 409, "head-behind")
    assert behind["current_seq"] == 2
    resigned = head(who, space, 2, mark=7)
    assert put(srv, who, space, resigned).status_code == 200
    problem(put(srv, who, space, head(who, space, 3, item_hash=b"\x05" * 32)), 409,
            "head-mismatch")
    problem(put(srv, who, space, head(who, space, 2, item_hash=who.hashes[1])), 409,
            "head-mismatch")
    listed = srv.client.get(f"/v1/spaces/{space}/heads", headers=who.auth).json()
    assert listed["more"] is False
    [only] = listed["heads"]
    assert (only["device"], only["seq"], only["head"]) == (who.device, 2, resigned["head"])
    assert ChainHead.from_json(b64decode(only["head"])).item == who.hashes[2]


def test_heads_are_the_members_and_each_devices_own(any_server: Server) -> None:
    """A stranger gets 404; another device's head, another space's, a malformed or an
    oversized one are 422."""
    srv = any_server
    who, stranger = srv.account(), srv.account()
    space = srv.space(who)
    push(srv, who, space, 1)
    body = head(who, space, 0)
    assert put(srv, stranger, space, body).status_code == 404
    assert srv.client.get(f"/v1/spaces/{space}/heads", headers=stranger.auth).status_code == 404
    problem(put(srv, who, space, body, device=stranger.device), 422, "invalid")
    problem(put(srv, who, space, head(who, "elsewhere", 0)), 422, "invalid")
    problem(put(srv, who, space, body | {"head": b64encode(b"{}")}), 422, "invalid")
    problem(put(srv, who, space, body | {"seq": 1}), 422, "invalid")
    huge = b64encode(b"x" * (srv.settings.limits.max_head_bytes + 1))
    problem(put(srv, who, space, body | {"head": huge}), 422, "invalid")
    assert srv.client.get(f"/v1/spaces/{space}/heads", headers=who.auth).json()["heads"] == []


def test_every_devices_head_is_listed_by_pages(any_server: Server) -> None:
    """Three devices of one account, each with its head: pages of one follow `after`."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    devices = [who]
    for _ in range(2):
        dev = new_id()
        with srv.store.engine.begin() as conn:
            conn.execute(insert(t.devices).values(account_id=who.account, device_id=dev,
                                                  signing_key=b"k" * 32, bundle=b"b",
                                                  created_at=0))
        token, _ = srv.store.accounts.issue_token(who.account, dev)
        devices.append(Account(who.account, dev, token))
    for dev in devices:
        push(srv, dev, space, 2)
        assert put(srv, dev, space, head(dev, space, 1)).status_code == 201
    seen: list[str] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1} | ({"after": after} if after else {})
        page = srv.client.get(f"/v1/spaces/{space}/heads", params=params,
                              headers=who.auth).json()
        seen += [h["device"] for h in page["heads"]]
        if not page["more"]:
            break
        after = seen[-1]
    assert seen == sorted(d.device for d in devices)


def test_racing_heads_of_one_device_end_at_the_newest(any_server: Server) -> None:
    """Heads 0..5 put at once: whatever the order, the stored head is 5."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    push(srv, who, space, 6)
    bodies = [HeadIn.model_validate(head(who, space, n)) for n in range(6)]
    refusals: list[str] = []

    def put_one(body: HeadIn) -> None:
        try:
            srv.store.heads.put(space, who.device, body)
        except Problem as refused:
            refusals.append(refused.slug)

    threads = [threading.Thread(target=put_one, args=(b,)) for b in reversed(bodies)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    [stored] = srv.store.heads.list(space, None, 10).heads
    assert stored.seq == 5
    assert set(refusals) <= {"head-behind"}
