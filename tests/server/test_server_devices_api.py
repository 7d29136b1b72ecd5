"""`POST`/`DELETE /v1/accounts/{account}/devices` and `GET /v1/spaces` through the API."""

from __future__ import annotations

from typing import Any

from server_helpers import Account, Server, new_id
from test_server_login import register, signed_login

from msante.sync.crypto import SigningKey
from msante.sync.server.models import b64encode
from msante.sync.server.problems import MEDIA_TYPE


def _add(server: Server, who: Account, device: str, key: SigningKey,
         bundle: bytes = b"bundle", account: str | None = None) -> Any:
    """POST a device for `who`'s account (or `account`)."""
    return server.client.post(f"/v1/accounts/{account or who.account}/devices", json={
        "device": device, "signing_key": b64encode(key.verify_key().to_bytes()),
        "bundle": b64encode(bundle)}, headers=who.auth)


def _logged_in(server: Server) -> tuple[Account, SigningKey]:
    """A registered account with a real key, logged in through the API."""
    account, device, key = register(server)
    token = signed_login(server, account, device, key).json()["token"]
    return Account(account, device, token), key


def test_an_added_device_logs_in_and_a_retry_is_200(server: Server) -> None:
    """201, then 200 for the same keys, 409 device-exists for others; the device logs in."""
    who, _key = _logged_in(server)
    key, device = SigningKey.generate(), new_id()
    first = _add(server, who, device, key)
    assert first.status_code == 201 and first.json() == {"account": who.account,
                                                         "device": device}
    assert _add(server, who, device, key).status_code == 200
    clash = _add(server, who, device, SigningKey.generate())
    assert clash.status_code == 409 and clash.headers["content-type"] == MEDIA_TYPE
    assert clash.json()["type"] == "urn:msante:problem:device-exists"
    login = signed_login(server, who.account, device, key)
    assert login.status_code == 200, login.text


def test_only_the_accounts_token_adds_and_keys_are_checked(server: Server) -> None:
    """Another account's token: the 404 of an unknown account; no token: 401; a bad key: 422."""
    who, other = server.account(), server.account()
    response = _add(server, other, new_id(), SigningKey.generate(), account=who.account)
    assert response.status_code == 404
    assert response.json()["type"] == "urn:msante:problem:not-found"
    anonymous = server.client.post(f"/v1/accounts/{who.account}/devices", json={
        "device": new_id(), "signing_key": "AAAA", "bundle": "AAAA"})
    assert anonymous.status_code == 401
    bad = server.client.post(f"/v1/accounts/{who.account}/devices", json={
        "device": new_id(), "signing_key": b64encode(b"not a key"), "bundle": "AAAA"},
        headers=who.auth)
    assert bad.status_code == 422 and bad.json()["type"] == "urn:msante:problem:invalid"
    odd = server.client.post(f"/v1/accounts/{who.account}/devices", json={
        "device": "bad id!", "signing_key": "AAAA", "bundle": "AAAA"}, headers=who.auth)
    assert odd.status_code == 422


def test_a_revoked_devices_token_stops_at_once_and_it_cannot_log_in(server: Server) -> None:
    """DELETE by another device: its token is 401 on the next request, its login refused."""
    who, _key = _logged_in(server)
    key, device = SigningKey.generate(), new_id()
    _add(server, who, device, key)
    token = signed_login(server, who.account, device, key).json()["token"]
    theirs = {"Authorization": f"Bearer {token}"}
    assert server.client.get("/v1/spaces", headers=theirs).status_code == 200
    gone = server.client.delete(f"/v1/accounts/{who.account}/devices/{device}",
                                headers=who.auth)
    assert gone.status_code == 200, gone.text
    assert gone.json()["device"] == device and gone.json()["revoked"] > 0
    assert server.client.get("/v1/spaces", headers=theirs).status_code == 401
    assert signed_login(server, who.account, device, key).status_code == 401
    again = _add(server, who, device, key)
    assert again.status_code == 409 and again.json()["type"].endswith("device-revoked")


def test_a_device_does_not_revoke_itself_nor_another_accounts(server: Server) -> None:
    """Its own id: 422; an unknown device or another account's: 404."""
    who, other = server.account(), server.account()
    own = server.client.delete(f"/v1/accounts/{who.account}/devices/{who.device}",
                               headers=who.auth)
    assert own.status_code == 422
    for path in (f"/v1/accounts/{who.account}/devices/{new_id()}",
                 f"/v1/accounts/{other.account}/devices/{other.device}"):
        assert server.client.delete(path, headers=who.auth).status_code == 404
    assert server.client.get("/v1/spaces", headers=other.auth).status_code == 200


def test_spaces_lists_the_callers_spaces_with_roles(server: Server) -> None:
    """Only the caller's account's spaces; `after` pages on; a token is needed."""
    who, other = server.account(), server.account()
    mine = sorted(server.space(who) for _ in range(2))
    server.space(other)
    body = server.client.get("/v1/spaces", headers=who.auth).json()
    assert body == {"spaces": [{"space": s, "role": "owner"} for s in mine], "more": False}
    page = server.client.get("/v1/spaces", params={"after": mine[0], "limit": 1},
                             headers=who.auth).json()
    assert page == {"spaces": [{"space": mine[1], "role": "owner"}], "more": False}
    assert server.client.get("/v1/spaces").status_code == 401
