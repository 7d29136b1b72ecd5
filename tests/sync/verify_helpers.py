"""A real server, a vault set up with it, its chains and events, and a server that lies.

`World` is one vault's device registered with a live server on 127.0.0.1 (SQLite), with its
account chain (genesis), its space chain (genesis, then a rotation) and three space events
posted through the API. `Lying` is an httpx transport in front of the real one: each rule
rewrites the JSON answer of the requests whose path contains its key — the server's lies,
as a device would receive them. `forged_note` signs a checkpoint with the server's own log
key (read from its data folder), as a server that keeps two histories would.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx

from msante.sync import device as devices
from msante.sync import merkle, spaces, verify
from msante.sync import setup as sync_setup
from msante.sync.chains import AccountChain, ChainEntry, Rotation, SpaceChain, SpaceState
from msante.sync.checkpoint import Checkpoint, NoteSigner, sign_checkpoint
from msante.sync.client import Client, b64
from msante.sync.crypto import SealKey, SigningKey
from msante.sync.server.settings import Settings
from msante.vault.store import Store
from tests.server.server_helpers import live_server

Rewrite = Callable[[dict[str, Any], httpx.Request], Any]  # a JSON body, or an httpx.Response


class Lying(httpx.BaseTransport):
    """The real transport, with some answers rewritten (`rules`: path part → rewrite)."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.rules: dict[str, Rewrite] = {}
        self.paths: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Forward, then rewrite the first matching rule's answer (whatever its status)."""
        response = self.inner.handle_request(request)
        path = unquote(request.url.path)
        self.paths.append(path)
        for part, rewrite in self.rules.items():
            if part in path:
                response.read()
                body = rewrite(json.loads(response.content), request)
                response.close()
                if isinstance(body, httpx.Response):
                    return body
                return httpx.Response(200, json=body)
        return response

    def close(self) -> None:
        self.inner.close()


def rotation(version: int) -> Rotation:
    """Fresh space keys at `version`."""
    return Rotation(version, SealKey.generate().public_key(), SigningKey.generate().verify_key())


@dataclass
class World:
    """A vault's device set up with a live server, its chains and events posted."""

    url: str
    settings: Settings
    store: Store
    dev: devices.Device
    lying: Lying = field(default_factory=Lying)
    account_entries: list[ChainEntry] = field(default_factory=list)
    space_entries: list[ChainEntry] = field(default_factory=list)

    def connect(self, url: str, insecure: bool) -> Client:
        """A client through the lying transport (for verify_vault)."""
        return Client(url, insecure=insecure, transport=self.lying)

    def client(self) -> Client:
        """An honest client, logged in as this device."""
        client = Client(self.url)
        client.login(self.dev.account, self.dev.device, self.dev.signing, self.dev.server_id)
        return client

    def verify(self) -> dict[str, Any]:
        """`msante sync verify` through the lying transport."""
        return verify.verify_vault(self.store, connect=self.connect)

    @property
    def signer(self) -> NoteSigner:
        """The server's own log key (from its data folder)."""
        return NoteSigner.from_skey(self.settings.log_key_file.read_text().strip())

    def note(self) -> str:
        """The server's current signed checkpoint."""
        with self.client() as client:
            return client.log_checkpoint()

    def post_chain(self, entry: ChainEntry) -> dict[str, Any]:
        """Append a chain entry through the API."""
        with self.client() as client:
            answer = client._authed("POST", f"/chains/{entry.chain}/entries", json={
                "seq": entry.seq, "prev": b64(entry.prev), "hash": b64(entry.hash()),
                "entry": b64(entry.to_json())})
            assert answer.status == 201, answer.content
            return dict(json.loads(answer.content))

    def post_event(self) -> dict[str, Any]:
        """Log a space event (random HMAC index and commitment) through the API."""
        with self.client() as client:
            answer = client._authed("POST", f"/spaces/{self.dev.space}/events", json={
                "index": b64(secrets.token_bytes(32)), "commitment": b64(secrets.token_bytes(40))})
            assert answer.status == 201, answer.content
            return dict(json.loads(answer.content))

    @property
    def account_chain(self) -> str:
        return f"account:{self.dev.account}"

    @property
    def space_chain(self) -> str:
        return f"space:{self.dev.space}"

    def space_state(self) -> SpaceState:
        """The space chain's state so far."""
        accounts = {self.dev.account: AccountChain.verify(self.account_entries)}
        return SpaceChain.verify(self.space_entries, accounts.get)

    def rotate(self, checkpoint: str | None = None) -> ChainEntry:
        """The space chain's next entry: a rotation, carrying `checkpoint` (not posted)."""
        state = self.space_state()
        return SpaceChain.append(state, self.dev.signing, "rotate",
                                 rotation(state.key_version + 1).body(), checkpoint)

    def leaves(self, size: int) -> list[bytes]:
        """The log's leaves [0, size)."""
        with self.client() as client:
            return [data for _i, data in client.log_entries(0, size)] if size else []

    def forged_note(self, leaves: list[bytes]) -> tuple[str, merkle.MemoryTree]:
        """A checkpoint of a tree of `leaves`, signed with the server's real key."""
        tree = merkle.MemoryTree()
        for leaf in leaves:
            tree.append(leaf)
        head = Checkpoint(self.signer.name, tree.size, tree.root())
        return sign_checkpoint(head, self.signer), tree


def build_world(store: Store, data: Path) -> Iterator[World]:
    """Set up a vault with a live server and fill its chains and events honestly."""
    settings = Settings(data_dir=data)
    with live_server(settings) as (url, _app):
        sync_setup.setup(store, url)
        dev = devices.load(store.conn)
        assert dev is not None
        world = World(url, settings, store, dev)
        # setup published the account chain's genesis and the owner's space chain
        world.account_entries.extend(spaces.entries(store.conn, world.account_chain))
        world.space_entries.extend(spaces.entries(store.conn, world.space_chain))
        assert len(world.account_entries) == len(world.space_entries) == 1
        for _ in range(3):
            world.post_event()
        rotated = world.rotate(world.note())
        world.space_entries.append(rotated)
        world.post_chain(rotated)
        yield world
        world.lying.close()


def fresh_leaf() -> bytes:
    """A leaf nobody logged (an event leaf with random bytes)."""
    from msante.sync.logleaf import event_leaf

    return event_leaf(secrets.token_bytes(32), secrets.token_bytes(40))
