"""The sync client against the real server on 127.0.0.1 (a socket, as a device would see it)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.errors import ExitCode, LoginRefused, ServerBusy, ServerNotFound
from msante.sync.client import Client
from msante.sync.crypto import SigningKey
from msante.sync.items import ZERO_HASH, Envelope, Routing
from msante.sync.server.settings import Limits, Settings
from tests.server.server_helpers import live_server


def new_id() -> str:
    """A random id as the client makes them."""
    return secrets.token_urlsafe(16)


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1, with pull pages of two items."""
    settings = Settings(data_dir=tmp_path / "srv", limits=Limits(max_pull=2))
    with live_server(settings) as (base, _app):
        yield base


class Device:
    """A registered, logged-in device and its client."""

    def __init__(self, url: str) -> None:
        self.client = Client(url)
        self.server = self.client.health().server
        self.account, self.device, self.key = new_id(), new_id(), SigningKey.generate()
        self.client.register(self.account, self.device, self.key.verify_key().to_bytes(),
                             b"bundle")
        self.client.login(self.account, self.device, self.key, self.server)
        self.seq, self.prev = 0, ZERO_HASH

    def item(self, data: bytes, space: str = "space") -> dict[str, Any]:
        """The next item of this device, signed (binary fields as bytes)."""
        routing = Routing(space=space, scope="profile", record=new_id(), revision=new_id(),
                          base=None, key_version=1, device=self.key.verify_key().key_id())
        env = Envelope(routing, seq=self.seq, prev=self.prev,
                       ciphertext_sha256=hashlib.sha256(data).digest()).sign(self.key)
        self.seq, self.prev = self.seq + 1, env.hash()
        return {"record": routing.record, "revision": routing.revision, "base": None,
                "key_version": 1, "device": self.device, "device_seq": env.seq,
                "prev_hash": env.prev, "ciphertext_sha256": env.ciphertext_sha256,
                "envelope": env.to_json(), "ciphertext": data}


@pytest.fixture
def dev(url: str) -> Iterator[Device]:
    """One device of a new account."""
    d = Device(url)
    yield d
    d.client.close()


def test_health_names_the_server(url: str) -> None:
    """The server id is what login signatures name: it must come from the health check."""
    with Client(url + "/") as client:
        health = client.health()
    assert health.server and health.api == "v1"


def test_push_then_pull_follows_next_across_pages(dev: Device) -> None:
    """Five items pulled back in order through pages of two: the client follows `next`."""
    space = new_id()
    assert dev.client.create_space(space) is True
    assert dev.client.create_space(space) is False  # already ours
    sent = [dev.item(secrets.token_bytes(300)) for _ in range(5)]
    results = dev.client.push(space, sent)
    assert [r["status"] for r in results] == [201] * 5
    assert [r["status"] for r in dev.client.push(space, sent[:1])] == [200]  # a retry
    pages = list(dev.client.pull(space))
    assert len(pages) == 3 and pages[-1].more is False
    got = [i for p in pages for i in p.items]
    assert [i["ciphertext"] for i in got] == [s["ciphertext"] for s in sent]
    assert got[0]["ciphertext_sha256"] == sent[0]["ciphertext_sha256"]
    assert dev.client.pull_page(space, pages[-1].next).items == []


def test_chunks_round_trip_and_resume_info(dev: Device) -> None:
    """A chunk put, put again (same bytes: not new), read back, listed; other bytes: 409."""
    space, blob = new_id(), new_id()
    dev.client.create_space(space)
    data = secrets.token_bytes(5000)
    assert dev.client.put_chunk(space, blob, 0, data) is True
    assert dev.client.put_chunk(space, blob, 0, data) is False
    assert dev.client.get_chunk(space, blob, 0) == data
    info = dev.client.blob_info(space, blob)
    assert info == [{"index": 0, "size": 5000, "sha256": hashlib.sha256(data).digest()}]
    with pytest.raises(ServerBusy) as caught:
        dev.client.put_chunk(space, blob, 0, b"other bytes")
    assert caught.value.exit_code == ExitCode.BUSY


def test_a_login_with_another_key_is_refused(url: str, dev: Device) -> None:
    """The server checks the signature: a device with the wrong key gets exit 4."""
    with Client(url) as other, pytest.raises(LoginRefused) as caught:
        other.login(dev.account, dev.device, SigningKey.generate(), dev.server)
    assert caught.value.exit_code == ExitCode.WRONG_KEY
    assert "Login failed" in caught.value.message


def test_a_signature_for_another_server_is_refused(url: str, dev: Device) -> None:
    """A login signed for another server id cannot be replayed here."""
    with Client(url) as other, pytest.raises(LoginRefused):
        other.login(dev.account, dev.device, dev.key, "another-server")


def test_an_expired_token_is_renewed_by_one_login(dev: Device) -> None:
    """A token the server no longer knows: the client logs in again once, and goes on."""
    dev.client._token = "forgotten-token"
    assert dev.client.create_space(new_id()) is True
    assert dev.client._token != "forgotten-token"


def test_another_accounts_space_is_not_found(url: str, dev: Device) -> None:
    """A space of someone else answers 404 (exit 5), as one that does not exist."""
    space = new_id()
    dev.client.create_space(space)
    other = Device(url)
    with other.client, pytest.raises(ServerNotFound) as caught:
        other.client.pull_page(space)
    assert caught.value.exit_code == ExitCode.NOT_FOUND


def test_a_wrong_path_is_no_msante_server(url: str) -> None:
    """A URL that reaches a web server but not the API: exit 5, 'check the address'."""
    with Client(url + "/elsewhere") as client, pytest.raises(ServerNotFound) as caught:
        client.health()
    assert "check the address" in caught.value.message
