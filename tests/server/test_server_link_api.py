"""`/v1/link` through the API: who may call what, status codes, size bounds, rate limit."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

from server_helpers import Account, Server, make_server

from msante.sync.server.models import b64decode, b64encode
from msante.sync.server.problems import MEDIA_TYPE
from msante.sync.server.settings import Limits


def rid() -> str:
    """A rendezvous id as a device makes it (256 bits)."""
    return secrets.token_urlsafe(32)


def _open(srv: Server, who: Account, r: str) -> Any:
    return srv.client.post("/v1/link", json={"rendezvous": r, "account": who.account},
                           headers=who.auth)


def _type(response: Any) -> str:
    assert response.headers["content-type"] == MEDIA_TYPE
    return str(response.json()["type"]).removeprefix("urn:msante:problem:")


def test_the_whole_exchange(server: Server) -> None:
    """Each step's status code and body, from opening to the reply read once."""
    who = server.account()
    r = rid()
    opened = _open(server, who, r)
    assert opened.status_code == 201 and opened.json()["account"] == who.account
    assert _open(server, who, r).status_code == 200
    info = server.client.get(f"/v1/link/{r}")
    assert info.status_code == 200 and info.json()["account"] == who.account
    pending = server.client.get(f"/v1/link/{r}/join", headers=who.auth)
    assert pending.status_code == 404 and _type(pending) == "link-pending"
    join = {"message": b64encode(b"join")}
    assert server.client.put(f"/v1/link/{r}/join", json=join).status_code == 201
    assert server.client.put(f"/v1/link/{r}/join", json=join).status_code == 200
    used = server.client.put(f"/v1/link/{r}/join", json={"message": b64encode(b"other")})
    assert used.status_code == 409 and _type(used) == "link-used"
    got = server.client.get(f"/v1/link/{r}/join", headers=who.auth)
    assert b64decode(got.json()["message"]) == b"join"
    waiting = server.client.get(f"/v1/link/{r}/reply")
    assert waiting.status_code == 404 and _type(waiting) == "link-pending"
    reply = {"message": b64encode(b"reply")}
    assert server.client.put(f"/v1/link/{r}/reply", json=reply,
                             headers=who.auth).status_code == 201
    answer = server.client.get(f"/v1/link/{r}/reply")
    assert answer.status_code == 200 and b64decode(answer.json()["message"]) == b"reply"
    for path in (f"/v1/link/{r}", f"/v1/link/{r}/reply"):
        again = server.client.get(path)
        assert again.status_code == 404 and _type(again) == "not-found"


def test_tokens_where_needed_and_only_the_accounts(server: Server) -> None:
    """Opening, reading the join and replying need the account's token; another's: 404."""
    who, other = server.account(), server.account()
    r = rid()
    assert server.client.post("/v1/link", json={"rendezvous": r,
                                                "account": who.account}).status_code == 401
    wrong = server.client.post("/v1/link", json={"rendezvous": r, "account": who.account},
                               headers=other.auth)
    assert wrong.status_code == 422
    _open(server, who, r)
    server.client.put(f"/v1/link/{r}/join", json={"message": b64encode(b"join")})
    assert server.client.get(f"/v1/link/{r}/join").status_code == 401
    assert server.client.get(f"/v1/link/{r}/join", headers=other.auth).status_code == 404
    put = server.client.put(f"/v1/link/{r}/reply", json={"message": "AAAA"},
                            headers=other.auth)
    assert put.status_code == 404 and _type(put) == "not-found"
    taken = _open(server, other, r)
    assert taken.status_code == 409 and _type(taken) == "link-taken"


def test_rendezvous_ids_are_long_random_ids(server: Server) -> None:
    """Fewer than 22 characters (128 bits) or other characters: 422."""
    who = server.account()
    for bad in ("short", "x" * 21, "a" * 30 + "!", "a" * 65):
        response = server.client.post("/v1/link", json={"rendezvous": bad,
                                                         "account": who.account},
                                      headers=who.auth)
        assert response.status_code == 422, bad
    assert server.client.get("/v1/link/short").status_code == 422


def test_message_sizes_are_bounded_and_the_reply_may_pass_the_body_limit(
        tmp_path: Path) -> None:
    """A join over max_join_bytes, a reply over max_reply_bytes: 413; a reply bigger than
    max_body but within its own bound is taken."""
    limits = Limits(max_body=4096, max_join_bytes=1000, max_reply_bytes=8000)
    with make_server(tmp_path / "d", limits=limits) as srv:
        who = srv.account()
        r = rid()
        _open(srv, who, r)
        big = srv.client.put(f"/v1/link/{r}/join", json={"message": b64encode(bytes(1001))})
        assert big.status_code == 413 and _type(big) == "too-large"
        srv.client.put(f"/v1/link/{r}/join", json={"message": b64encode(bytes(1000))})
        over = srv.client.put(f"/v1/link/{r}/reply", json={"message": b64encode(bytes(8001))},
                              headers=who.auth)
        assert over.status_code == 413
        fits = srv.client.put(f"/v1/link/{r}/reply", json={"message": b64encode(bytes(8000))},
                              headers=who.auth)
        assert fits.status_code == 201, fits.text
        elsewhere = srv.client.put(f"/v1/link/{rid()}/join",
                                   json={"message": b64encode(bytes(5000))})
        assert elsewhere.status_code == 413  # the wider bound is the reply's alone
        assert len(b64decode(srv.client.get(f"/v1/link/{r}/reply").json()["message"])) == 8000


def test_the_routes_without_a_token_are_rate_limited_by_address(tmp_path: Path) -> None:
    """Guessing rendezvous ids costs the guesser's address its bucket: 429 with Retry-After."""
    with make_server(tmp_path / "d", limits=Limits(rate_per_second=0.01,
                                                   rate_burst=3)) as srv:
        codes = [srv.client.get(f"/v1/link/{rid()}").status_code for _ in range(3)]
        limited = srv.client.put(f"/v1/link/{rid()}/join", json={"message": "AAAA"})
        assert codes == [404] * 3
        assert limited.status_code == 429 and "Retry-After" in limited.headers
        assert srv.client.get(f"/v1/link/{rid()}/reply").status_code == 429
