"""Through a real uvicorn socket on 127.0.0.1: the same answers as in-process."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from server_helpers import item, live_server, new_id

from msante.sync.server.settings import Settings


@pytest.fixture
def live(tmp_path: Path) -> Iterator[tuple[str, object]]:
    """A server listening on a free port of 127.0.0.1 in a thread; its base URL and store."""
    with live_server(Settings(data_dir=tmp_path / "data")) as (url, app):
        yield url, app.state.msante.store


def test_push_pull_and_problems_over_a_socket(live: tuple[str, object]) -> None:
    """Health, a push and a pull, a 404 problem: over TCP, as a client would see them."""
    url, store = live
    acc, dev = new_id(), new_id()
    store.accounts.register(acc, dev, b"k", b"b")  # type: ignore[attr-defined]
    token, _ = store.accounts.issue_token(acc, dev)  # type: ignore[attr-defined]
    who = type("W", (), {"device": dev, "hashes": []})()
    auth = {"Authorization": f"Bearer {token}"}
    space = new_id()
    with httpx.Client(base_url=url) as c:
        assert c.get("/v1/health").json()["status"] == "ok"
        assert c.post("/v1/spaces", json={"space": space}, headers=auth).status_code == 201
        one = item(who)  # type: ignore[arg-type]
        pushed = c.post(f"/v1/spaces/{space}/items", json={"items": [one]}, headers=auth)
        assert pushed.json()["results"][0]["status"] == 201
        pulled = c.get(f"/v1/spaces/{space}/items", headers=auth).json()
        assert pulled["items"][0]["ciphertext"] == one["ciphertext"]
        missing = c.get(f"/v1/spaces/{new_id()}/items", headers=auth)
        assert missing.status_code == 404
        assert missing.headers["content-type"] == "application/problem+json"


def test_a_huge_declared_body_is_refused_without_reading_it(live: tuple[str, object]) -> None:
    """A request announcing 100 MB gets 413 at once, though not one byte of body was sent."""
    url, _store = live
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"PUT /v1/spaces/x/blobs/y/chunks/0 HTTP/1.1\r\nHost: x\r\n"
                     b"Content-Length: 100000000\r\n\r\n")
        answer = b""
        while chunk := sock.recv(4096):  # the server closes the connection after answering
            answer += chunk
    answer_text = answer.decode()
    assert answer_text.startswith("HTTP/1.1 413")
    assert "application/problem+json" in answer_text and "too-large" in answer_text
