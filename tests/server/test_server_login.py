"""Registration and login with real device keys (msante.sync.crypto, SYNC.md)."""

from __future__ import annotations

from typing import Any

import pytest
from server_helpers import Server, new_id

from msante.sync.server.models import b64encode

crypto: Any = pytest.importorskip("msante.sync.crypto", reason="needs msante.sync.crypto")


def register(server: Server) -> tuple[str, str, Any]:
    """A new account whose first device has a fresh signing key."""
    key = crypto.SigningKey.generate()
    account, device = new_id(), new_id()
    response = server.client.post("/v1/accounts", json={
        "account": account, "device": device,
        "signing_key": b64encode(key.verify_key().to_bytes()), "bundle": b64encode(b"bundle")})
    assert response.status_code == 201, response.text
    return account, device, key


def signed_login(server: Server, account: str, device: str, key: Any,
                 server_id: str | None = None) -> Any:
    """Ask for a challenge, sign it (purpose login), send it back."""
    challenge = server.client.post("/v1/login/challenge",
                                   json={"account": account, "device": device}).json()["challenge"]
    context = {"server": server_id or server.app.state.msante.server_id, "account": account,
               "challenge": challenge}
    signature = key.sign(crypto.Purpose.LOGIN, context)
    return server.client.post("/v1/login", json={
        "account": account, "device": device, "challenge": challenge,
        "signature": b64encode(signature)})


def test_a_device_logs_in_by_signing_the_challenge(server: Server) -> None:
    """The token from a good signature opens the account's spaces."""
    account, device, key = register(server)
    response = signed_login(server, account, device, key)
    assert response.status_code == 200, response.text
    token = response.json()["token"]
    created = server.client.post("/v1/spaces", json={"space": new_id()},
                                 headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201


def test_a_wrong_key_or_another_server_id_fails(server: Server) -> None:
    """A signature by another key, or one naming another server, is 401."""
    account, device, _key = register(server)
    stranger = crypto.SigningKey.generate()
    assert signed_login(server, account, device, stranger).status_code == 401
    _account, _device, key = register(server)
    assert signed_login(server, _account, _device, key, server_id="other").status_code == 401


def test_a_challenge_cannot_be_replayed(server: Server) -> None:
    """The same signed challenge twice: the second login is refused."""
    account, device, key = register(server)
    challenge = server.client.post("/v1/login/challenge",
                                   json={"account": account, "device": device}).json()["challenge"]
    body = {"account": account, "device": device, "challenge": challenge,
            "signature": b64encode(key.sign(crypto.Purpose.LOGIN, {
                "server": server.app.state.msante.server_id, "account": account,
                "challenge": challenge}))}
    assert server.client.post("/v1/login", json=body).status_code == 200
    assert server.client.post("/v1/login", json=body).status_code == 401


def test_registration_checks_the_signing_key(server: Server) -> None:
    """Bytes that are not a public signing key are 422; an account id is registered once."""
    response = server.client.post("/v1/accounts", json={
        "account": new_id(), "device": new_id(), "signing_key": b64encode(b"junk"),
        "bundle": b64encode(b"b")})
    assert response.status_code == 422
    account, _device, key = register(server)
    again = server.client.post("/v1/accounts", json={
        "account": account, "device": new_id(),
        "signing_key": b64encode(key.verify_key().to_bytes()), "bundle": b64encode(b"b")})
    assert again.status_code == 409
