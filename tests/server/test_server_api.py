"""The HTTP API in-process: problem+json everywhere, authorisation, limits, items and chunks."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from server_helpers import Server, item, new_id

from msante.sync.server.models import b64encode
from msante.sync.server.problems import MEDIA_TYPE

TRACE_WORDS = ("Traceback", "File \"", "RuntimeError", "line ")


def assert_problem(response: object, status: int, slug: str) -> dict[str, object]:
    """The response is problem+json of this status and type; returns its body."""
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    assert response.headers["content-type"] == MEDIA_TYPE  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert body["type"] == f"urn:msante:problem:{slug}" and body["status"] == status
    assert body["title"] and body["detail"]
    return body


def test_health_names_the_server_and_its_api(server: Server) -> None:
    """A client learns which server it talks to (login signatures name it)."""
    body = server.client.get("/v1/health").json()
    assert body == {"status": "ok", "server": server.app.state.msante.server_id, "api": "v1"}


def test_framework_errors_are_problems(server: Server) -> None:
    """404, 405 and 422 from FastAPI itself come as problem+json too."""
    assert_problem(server.client.get("/v1/nowhere"), 404, "not-found")
    assert_problem(server.client.get("/"), 404, "not-found")
    gone = server.client.request("DELETE", "/v1/health")
    assert_problem(gone, 405, "method-not-allowed")
    assert gone.headers["allow"] == "GET"
    bad = server.client.post("/v1/login/challenge", json={"account": "a/b", "device": 3})
    body = assert_problem(bad, 422, "invalid")
    assert {tuple(e["loc"]) for e in body["errors"]} == {  # type: ignore[attr-defined]
        ("body", "account"), ("body", "device")}
    assert_problem(server.client.post("/v1/login/challenge", content=b"{not json"), 422,
                   "invalid")


def test_an_unexpected_error_never_shows_a_stack_trace(server: Server,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    """A crash inside a route is a plain 500 problem for the client, logged on the server."""
    def boom() -> None:
        raise RuntimeError("secret internals at /srv/msante line 42")

    server.app.add_api_route("/v1/boom", boom)
    response = server.client.get("/v1/boom")
    body = assert_problem(response, 500, "internal")
    assert not any(word in response.text for word in TRACE_WORDS)
    assert "secret internals" not in response.text and "secret internals" in caplog.text
    assert body["instance"] == "/v1/boom"


def test_validation_errors_do_not_echo_the_input(server: Server) -> None:
    """A 422 says where and what, never the (possibly sensitive) value sent."""
    who = server.account()
    space = server.space(who)
    bad = item(who)
    bad["ciphertext"] = "SECRET+VALUE/with=padding"
    response = server.client.post(f"/v1/spaces/{space}/items", json={"items": [bad]},
                                  headers=who.auth)
    assert_problem(response, 422, "invalid")
    assert "SECRET" not in response.text


def test_every_space_endpoint_needs_a_token(server: Server) -> None:
    """No token, a malformed header or an unknown token: 401 with WWW-Authenticate."""
    space = new_id()
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer nope.nope"}):
        response = server.client.get(f"/v1/spaces/{space}/items", headers=headers)
        assert_problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"] == "Bearer"


def test_another_account_sees_404_not_403(server: Server) -> None:
    """A space one is not a member of looks exactly like one that does not exist."""
    owner, stranger = server.account(), server.account()
    space = server.space(owner)
    blob = new_id()
    c = server.client
    assert c.put(f"/v1/spaces/{space}/blobs/{blob}/chunks/0", content=b"x",
                 headers=owner.auth).status_code == 201
    calls = [("GET", f"/v1/spaces/{space}/items", {}),
             ("POST", f"/v1/spaces/{space}/items", {"json": {"items": [item(stranger)]}}),
             ("PUT", f"/v1/spaces/{space}/blobs/{blob}/chunks/1", {"content": b"y"}),
             ("GET", f"/v1/spaces/{space}/blobs/{blob}/chunks/0", {}),
             ("GET", f"/v1/spaces/{space}/blobs/{blob}", {})]
    for method, url, kw in calls:
        theirs = c.request(method, url, headers=stranger.auth, **kw)
        unknown = c.request(method, url.replace(space, new_id()), headers=stranger.auth, **kw)
        assert_problem(theirs, 404, "not-found")
        assert theirs.json()["detail"] == unknown.json()["detail"]


def test_push_and_pull_through_the_api(server: Server) -> None:
    """A batch with one stale item: that item alone is 409; a pull resumes from its token."""
    who = server.account()
    c = server.client
    space = new_id()
    assert c.post("/v1/spaces", json={"space": space}, headers=who.auth).status_code == 201
    assert c.post("/v1/spaces", json={"space": space}, headers=who.auth).status_code == 200
    first = item(who)
    batch = [first, item(who, record=first["record"]), item(who)]
    results = c.post(f"/v1/spaces/{space}/items", json={"items": batch},
                     headers=who.auth).json()["results"]
    assert [r["status"] for r in results] == [201, 409, 409]
    assert results[1]["current"] == first["revision"]
    assert results[2]["type"] == "urn:msante:problem:device-chain"
    assert (results[2]["next_seq"], results[2]["prev_hash"]) == (1, b64encode(who.hashes[0]))
    del who.hashes[1:]
    batch[2] = item(who, revision=batch[2]["revision"])  # re-chained, same revision id
    again = c.post(f"/v1/spaces/{space}/items", json={"items": [batch[2]]}, headers=who.auth)
    assert again.json()["results"][0]["status"] == 201
    page = c.get(f"/v1/spaces/{space}/items", params={"limit": 1}, headers=who.auth).json()
    assert [i["revision"] for i in page["items"]] == [first["revision"]] and page["more"]
    assert page["items"][0]["ciphertext"] == first["ciphertext"]
    rest = c.get(f"/v1/spaces/{space}/items", params={"since": page["next"]},
                 headers=who.auth).json()
    assert [i["revision"] for i in rest["items"]] == [batch[2]["revision"]]
    assert_problem(c.get(f"/v1/spaces/{space}/items", params={"since": "x"}, headers=who.auth),
                   400, "bad-request")


def test_items_must_come_from_the_device_logged_in(server: Server) -> None:
    """A device cannot push items in another device's name."""
    who, other = server.account(), server.account()
    space = server.space(who)
    response = server.client.post(f"/v1/spaces/{space}/items", json={"items": [item(other)]},
                                  headers=who.auth)
    assert_problem(response, 422, "invalid")


def test_a_digest_that_does_not_match_is_refused(server: Server) -> None:
    """The ciphertext's SHA-256 is checked on arrival."""
    who = server.account()
    space = server.space(who)
    bad = item(who)
    bad["ciphertext_sha256"] = item(who)["ciphertext_sha256"]
    response = server.client.post(f"/v1/spaces/{space}/items", json={"items": [bad]},
                                  headers=who.auth)
    assert_problem(response, 422, "invalid")


def test_chunks_round_trip_and_resume(server: Server) -> None:
    """Upload chunks out of order, list what is there, download, re-upload the same bytes."""
    who = server.account()
    space = server.space(who)
    c, blob = server.client, new_id()
    base = f"/v1/spaces/{space}/blobs/{blob}"
    assert_problem(c.get(base, headers=who.auth), 404, "not-found")
    assert c.put(f"{base}/chunks/1", content=b"one", headers=who.auth).status_code == 201
    assert c.put(f"{base}/chunks/0", content=b"zero", headers=who.auth).status_code == 201
    assert c.put(f"{base}/chunks/0", content=b"zero", headers=who.auth).status_code == 200
    assert_problem(c.put(f"{base}/chunks/0", content=b"ZERO", headers=who.auth), 409,
                   "chunk-differs")
    info = c.get(base, headers=who.auth).json()
    assert [(x["index"], x["size"]) for x in info["chunks"]] == [(0, 4), (1, 3)]
    got = c.get(f"{base}/chunks/1", headers=who.auth)
    assert got.content == b"one" and got.headers["content-type"] == "application/octet-stream"


def test_ids_cannot_walk_out_of_the_blob_folder(server: Server) -> None:
    """Dots, slashes and encoded slashes in ids are refused before any file is touched."""
    who = server.account()
    space = server.space(who)
    for blob in ("..", "%2e%2e", "..%2F..%2Fetc", "a.b", "%00"):
        response = server.client.put(f"/v1/spaces/{space}/blobs/{blob}/chunks/0",
                                     content=b"x", headers=who.auth)
        assert response.status_code in (404, 422)
        assert response.headers["content-type"] == MEDIA_TYPE
    files = [p for p in server.settings.data_dir.rglob("*") if p.is_file()]
    assert all(p.name == "server.db" or p.name.startswith("server.db-")
               or p.name == server.settings.log_key_file.name for p in files)


def test_a_body_over_the_limit_is_refused_before_it_is_read(small_server: Server) -> None:
    """413 on the declared length, and on a body without one (chunked) once it passes."""
    who = small_server.account()
    space = small_server.space(who)
    url = f"/v1/spaces/{space}/blobs/{new_id()}/chunks/0"
    big = b"x" * 5000
    assert_problem(small_server.client.put(url, content=big, headers=who.auth), 413,
                   "too-large")
    read: list[int] = []

    async def stream() -> Iterator[bytes]:  # type: ignore[misc]
        for _ in range(100):
            read.append(1)
            yield b"y" * 1000

    response = small_server.client.put(url, content=stream(), headers=who.auth)
    assert_problem(response, 413, "too-large")
    assert len(read) < 10


def test_chunk_batch_and_quota_limits(small_server: Server) -> None:
    """A chunk over max_chunk, a batch over max_items_per_batch, an account over its quota."""
    srv = small_server
    who = srv.account()
    space = srv.space(who)
    c = srv.client
    url = f"/v1/spaces/{space}/blobs/{new_id()}/chunks/"
    assert_problem(c.put(url + "0", content=b"x" * 2000, headers=who.auth), 413, "too-large")
    batch = {"items": [item(who, data=b"i") for _ in range(4)]}
    assert_problem(c.post(f"/v1/spaces/{space}/items", json=batch, headers=who.auth), 413,
                   "too-large")
    for i in range(3):
        assert c.put(url + str(i), content=b"q" * 1000, headers=who.auth).status_code == 201
    assert_problem(c.put(url + "3", content=b"q" * 1000, headers=who.auth), 507, "quota")


def test_rate_limit_answers_429_with_retry_after(small_server: Server) -> None:
    """An account that spends its burst waits: 429, Retry-After, then it may go on."""
    srv = small_server
    who = srv.account()
    space = srv.space(who)
    limiter = srv.app.state.msante.limiter
    limiter.burst = 3
    url = f"/v1/spaces/{space}/items"
    codes = [srv.client.get(url, headers=who.auth).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = srv.client.get(url, headers=who.auth)
    assert_problem(refused, 429, "rate-limited")
    assert int(refused.headers["retry-after"]) >= 1
    other = srv.account()
    assert srv.client.get(f"/v1/spaces/{srv.space(other)}/items",
                          headers=other.auth).status_code == 200
    time.sleep(1.05)
    assert srv.client.get(url, headers=who.auth).status_code == 200


def test_openapi_is_served_under_v1(server: Server) -> None:
    """The schema is published where clients look for it."""
    schema = server.client.get("/v1/openapi.json").json()
    assert "/v1/spaces/{space}/items" in schema["paths"]
    assert_problem(server.client.get("/docs"), 404, "not-found")


def test_guessing_tokens_spends_the_address_bucket(small_server: Server) -> None:
    """Bad tokens are rate limited by address, so they cannot hammer the database."""
    srv = small_server
    srv.app.state.msante.limiter.burst = 3
    bad = {"Authorization": "Bearer someone.guess"}
    codes = [srv.client.get(f"/v1/spaces/{new_id()}/items", headers=bad).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_health_says_when_the_database_is_gone(server: Server) -> None:
    """A database that does not answer is 503, not a crash."""
    server.store.engine.dispose()
    for f in server.settings.data_dir.glob("server.db*"):
        f.unlink()
    (server.settings.data_dir / "server.db").mkdir()  # SQLite cannot open a folder
    response = server.client.get("/v1/health")
    assert_problem(response, 503, "unavailable")
