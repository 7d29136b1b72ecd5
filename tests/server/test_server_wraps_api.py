"""`PUT /v1/spaces/{space}/wraps/{version}/{device}` and `GET /v1/spaces/{space}/wraps/{device}`
through the API."""

from __future__ import annotations

import secrets
from pathlib import Path

from server_helpers import Server, make_server
from test_server_wraps_store import join

from msante.sync.server.models import b64decode, b64encode
from msante.sync.server.problems import MEDIA_TYPE
from msante.sync.server.settings import Limits


def key_id() -> str:
    """A device key id as base64url (43 characters)."""
    return secrets.token_urlsafe(32)


def test_put_then_get_with_status_codes(server: Server) -> None:
    """201, 200 for the same bytes, 409 wrap-differs; GET lists versions oldest first."""
    who = server.account()
    space, device = server.space(who), key_id()
    base = f"/v1/spaces/{space}/wraps"
    for version in (2, 1):
        put = server.client.put(f"{base}/{version}/{device}",
                                json={"sealed": b64encode(b"keys v%d" % version)},
                                headers=who.auth)
        assert put.status_code == 201
        assert put.json() == {"space": space, "version": version, "device": device}
    again = server.client.put(f"{base}/1/{device}", json={"sealed": b64encode(b"keys v1")},
                              headers=who.auth)
    assert again.status_code == 200
    differs = server.client.put(f"{base}/1/{device}", json={"sealed": b64encode(b"other")},
                                headers=who.auth)
    assert differs.status_code == 409 and differs.headers["content-type"] == MEDIA_TYPE
    assert differs.json()["type"] == "urn:msante:problem:wrap-differs"
    body = server.client.get(f"{base}/{device}", headers=who.auth).json()
    assert [(w["version"], b64decode(w["sealed"])) for w in body["wraps"]] == [
        (1, b"keys v1"), (2, b"keys v2")]
    assert body["more"] is False
    later = server.client.get(f"{base}/{device}", params={"since": 2}, headers=who.auth)
    assert [w["version"] for w in later.json()["wraps"]] == [2]


def test_members_read_writers_put_others_get_404(server: Server) -> None:
    """A read-only member reads but cannot put (404); a stranger gets 404 both ways."""
    owner, reader, stranger = server.account(), server.account(), server.account()
    space, device = server.space(owner), key_id()
    join(server, reader, space, "read")
    path = f"/v1/spaces/{space}/wraps/1/{device}"
    server.client.put(path, json={"sealed": "AAAA"}, headers=owner.auth)
    assert server.client.put(path, json={"sealed": "AAAA"},
                             headers=reader.auth).status_code == 404
    assert server.client.get(f"/v1/spaces/{space}/wraps/{device}",
                             headers=reader.auth).status_code == 200
    for method in ("GET", "PUT"):
        url = path if method == "PUT" else f"/v1/spaces/{space}/wraps/{device}"
        response = server.client.request(method, url, json={"sealed": "AAAA"},
                                         headers=stranger.auth)
        assert response.status_code == 404 and response.json()["type"].endswith("not-found")
    assert server.client.get(f"/v1/spaces/{space}/wraps/{device}").status_code == 401


def test_bounds_on_size_version_and_ids(tmp_path: Path) -> None:
    """A wrap over max_wrap_bytes: 413; a negative version or a bad device id: 422."""
    with make_server(tmp_path / "d", limits=Limits(max_wrap_bytes=100)) as srv:
        who = srv.account()
        space, device = srv.space(who), key_id()
        big = srv.client.put(f"/v1/spaces/{space}/wraps/1/{device}",
                             json={"sealed": b64encode(bytes(101))}, headers=who.auth)
        assert big.status_code == 413 and big.json()["type"].endswith("too-large")
        for path in (f"/v1/spaces/{space}/wraps/-1/{device}",
                     f"/v1/spaces/{space}/wraps/{2**31}/{device}",
                     f"/v1/spaces/{space}/wraps/1/bad!id"):
            assert srv.client.put(path, json={"sealed": "AAAA"},
                                  headers=who.auth).status_code == 422, path
        assert srv.client.put(f"/v1/spaces/{space}/wraps/1/{device}", json={"sealed": "A"},
                              headers=who.auth).status_code == 422  # not base64url
