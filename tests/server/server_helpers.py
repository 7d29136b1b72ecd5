"""Helpers of the server tests: an in-process client, accounts with tokens, items to push."""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy.engine import make_url

from msante.sync.items import ZERO_HASH, Envelope, Routing
from msante.sync.server.app import create_app
from msante.sync.server.db import make_engine, migrate
from msante.sync.server.models import ItemIn, b64decode, b64encode
from msante.sync.server.settings import Limits, Settings
from msante.sync.server.store import Store
from msante.sync.signing import SIGNATURE_LEN


def new_id() -> str:
    """A random id as clients make them."""
    return secrets.token_urlsafe(16)


class Client:
    """A synchronous face on httpx.AsyncClient over the ASGI app (no socket)."""

    def __init__(self, portal: Any, client: httpx.AsyncClient) -> None:
        self.portal, self.client = portal, client

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """Send one request and wait for the answer."""
        return self.portal.call(functools.partial(self.client.request, method, url, **kw))

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)


@dataclass
class Account:
    """An account, its device and a valid bearer token."""

    account: str
    device: str
    token: str
    hashes: list[bytes] = field(default_factory=list)
    """The hash of each item this device made, by device sequence number (its chain)."""
    spaces: list[str] = field(default_factory=list)

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Server:
    """An app, its store and a client."""

    app: FastAPI
    store: Store
    client: Client
    settings: Settings

    def account(self) -> Account:
        """A registered account with a token (made through the store: no crypto needed)."""
        acc, dev = new_id(), new_id()
        self.store.accounts.register(acc, dev, b"k" * 32, b"bundle")
        token, _ = self.store.accounts.issue_token(acc, dev)
        return Account(acc, dev, token)

    def space(self, who: Account) -> str:
        """A new space owned by `who`."""
        space = new_id()
        assert self.store.spaces.create(who.account, space)
        return space


_TEMPLATE: list[Path] = []


def _template() -> Path:
    """An empty SQLite server database migrated to head, made once per process."""
    if not _TEMPLATE:
        folder = Path(tempfile.mkdtemp(prefix="msante-schema-"))
        atexit.register(shutil.rmtree, folder, True)
        engine = make_engine(f"sqlite:///{folder / 'server.db'}")
        migrate(engine)
        engine.dispose()
        _TEMPLATE.append(folder / "server.db")
    return _TEMPLATE[0]


def prepared(settings: Settings) -> Settings:
    """Speed only: a new SQLite server starts from a copy of the migrated template (schema,
    no rows: the server's id and log key are still made by each server) instead of running
    the migrations again (about 0.5 s a server). Other databases, and a server started again
    over its own data, are left as they are."""
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return settings
    target = Path(url.database)
    if not target.exists():
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        shutil.copyfile(_template(), target)
        os.chmod(target, 0o600)
    return settings


@contextmanager
def make_server(data: Path, db_url: str = "", limits: Limits | None = None,
                log_id: str | None = None) -> Iterator[Server]:
    """A server over `db_url` (default: SQLite in `data`) with an in-process client.

    Each server appends to its own log (`log_id`, random by default): tests on PostgreSQL
    share one database.
    """
    settings = Settings(data_dir=data, db_url=db_url, limits=limits or Limits(),
                        log_id=log_id or new_id())
    app = create_app(prepared(settings))
    store: Store = app.state.msante.store
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    with anyio.from_thread.start_blocking_portal() as portal:
        client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
        try:
            yield Server(app, store, Client(portal, client), settings)
        finally:
            portal.call(client.aclose)
            store.engine.dispose()


@contextmanager
def live_server(settings: Settings) -> Iterator[tuple[str, FastAPI]]:
    """A server listening on a free port of 127.0.0.1 in a thread; its base URL and app."""
    app = create_app(prepared(settings))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning",
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.msante.store.engine.dispose()


def envelope(who: Account, fields: dict[str, Any], space: str = "space") -> bytes:
    """The envelope of `fields` (an item's JSON), with a signature no one checks here."""
    env = Envelope(Routing(space=space, scope="profile", record=fields["record"],
                           revision=fields["revision"], base=fields["base"],
                           key_version=fields["key_version"],
                           device=hashlib.sha256(who.device.encode()).digest()),
                   seq=fields["device_seq"], prev=b64decode(fields["prev_hash"]),
                   ciphertext_sha256=b64decode(fields["ciphertext_sha256"]),
                   signature=bytes(SIGNATURE_LEN))
    fields["envelope"] = b64encode(env.to_json())
    return env.hash()


def item(who: Account, record: str | None = None, base: str | None = None,
         data: bytes | None = None, revision: str | None = None,
         seq: int | None = None) -> dict[str, Any]:
    """A pushable item (JSON) written by `who`'s device: the next in its chain, or at `seq`
    (then chained after the device's item `seq - 1` as this helper made it)."""
    at = len(who.hashes) if seq is None else seq
    prev = who.hashes[at - 1] if at else ZERO_HASH
    ciphertext = data if data is not None else secrets.token_bytes(300)
    fields = {"record": record or new_id(), "revision": revision or new_id(), "base": base,
              "key_version": 1, "device": who.device, "device_seq": at,
              "prev_hash": b64encode(prev),
              "ciphertext_sha256": b64encode(hashlib.sha256(ciphertext).digest()),
              "ciphertext": b64encode(ciphertext)}
    digest = envelope(who, fields)
    if seq is None:
        who.hashes.append(digest)
    return fields


def size(fields: dict[str, Any]) -> int:
    """What an item counts for in a pull page and in the quota: ciphertext and envelope."""
    return len(b64decode(fields["ciphertext"])) + len(b64decode(fields["envelope"]))


def items(*dicts: dict[str, Any]) -> list[ItemIn]:
    """Validated items for the store."""
    return [ItemIn.model_validate(d) for d in dicts]
