"""A server that lies, for the attack tests (tests/sync/test_lying_*.py).

`Liar` is an httpx transport in front of the real one to a real server (uvicorn on
127.0.0.1, SQLite): each `Rule` (a method and a path pattern) may rewrite the request before
it goes (`before`), answer instead of the server, cut the connection, or rewrite the JSON
answer (`after`) — what a device would receive from a server that lies, or from a flaky
network. `Proxy` serves the same rules on a socket, for a client in another process. `Live`
is a server that can be stopped and started again on the same port and data folder.

`Pair` is two devices of one person (the engine's scaffolding, tests/sync/engine_helpers.py),
each syncing through its own `Liar`. `Intact` is what must not change when an attack is
refused: the records, the sync state, an audit chain that verifies.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import httpx
import uvicorn

from msante.api import Vault
from msante.sync import device as devices
from msante.sync import engine, setup, spaces
from msante.sync.client import Client
from msante.sync.server.app import create_app
from msante.sync.server.settings import Limits, Settings
from tests.server.server_helpers import prepared

Before = Callable[[httpx.Request], "httpx.Request | httpx.Response | None"]
After = Callable[[dict[str, Any], httpx.Request], "dict[str, Any] | httpx.Response"]


@dataclass
class Rule:
    """What the liar does to the requests `method pattern` matches (`times`: how often)."""

    method: str
    pattern: re.Pattern[str]
    before: Before | None = None
    after: After | None = None
    times: int | None = None
    hits: int = 0

    def matches(self, request: httpx.Request) -> bool:
        """Whether this rule still applies to `request`."""
        if self.times is not None and self.hits >= self.times:
            return False
        return request.method == self.method and bool(
            self.pattern.search(unquote(request.url.path)))


class Liar(httpx.BaseTransport):
    """The real transport, with rules; `seen` lists every request as `METHOD /path`."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.rules: list[Rule] = []
        self.seen: list[str] = []

    def on(self, method: str, pattern: str, *, before: Before | None = None,
           after: After | None = None, times: int | None = None) -> Rule:
        """Add a rule (the first matching rule applies)."""
        rule = Rule(method, re.compile(pattern), before, after, times)
        self.rules.append(rule)
        return rule

    def honest(self) -> None:
        """Drop every rule."""
        self.rules.clear()

    def count(self, method: str, pattern: str) -> int:
        """How many requests seen match."""
        return sum(1 for s in self.seen if s.startswith(method + " ") and re.search(pattern, s))

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Apply the first matching rule around the real exchange."""
        self.seen.append(f"{request.method} {unquote(request.url.path)}")
        rule = next((r for r in self.rules if r.matches(request)), None)
        if rule is None:
            return self.inner.handle_request(request)
        rule.hits += 1
        if rule.before is not None:
            changed = rule.before(request)
            if isinstance(changed, httpx.Response):
                return changed
            request = changed or request
        response = self.inner.handle_request(request)
        if rule.after is None:
            return response
        response.read()
        body = json.loads(response.content) if response.content else {}
        response.close()
        new = rule.after(body, request)
        if isinstance(new, httpx.Response):
            return new
        return httpx.Response(response.status_code, json=new,
                              headers={"content-type": response.headers["content-type"]})

    def close(self) -> None:
        """Kept open across clients (see `shutdown`)."""

    def shutdown(self) -> None:
        """Close the real transport."""
        self.inner.close()


def lost(body: dict[str, Any], request: httpx.Request) -> httpx.Response:
    """An `after`: the server answered, the answer never arrived."""
    raise httpx.ReadError("connection reset by peer", request=request)


def cut(request: httpx.Request) -> httpx.Response:
    """A `before`: the connection breaks while the request is being sent."""
    raise httpx.WriteError("connection reset by peer", request=request)


# --------------------------------------------------------------------------- live server


class Live:
    """A real server on 127.0.0.1 that can be stopped and started again (same port, data)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.port = 0
        self.app: Any = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start serving (on the same port as before, if it ran before)."""
        self.app = create_app(prepared(self.settings))
        server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port,
                                               log_level="warning", lifespan="off"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.02)
        self.port = server.servers[0].sockets[0].getsockname()[1]
        self._server, self._thread = server, thread

    def stop(self) -> None:
        """Stop serving and release the database."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(10)
        self.app.state.msante.store.engine.dispose()
        self._server = self._thread = None


@contextmanager
def live(settings: Settings) -> Iterator[Live]:
    """A started `Live`, stopped afterwards."""
    server = Live(settings)
    server.start()
    try:
        yield server
    finally:
        server.stop()


# --------------------------------------------------------------------------- proxy


class Proxy:
    """`Liar`'s rules on a socket of 127.0.0.1, in front of `upstream` (another process's
    client is pointed at `url`)."""

    def __init__(self, upstream: str, liar: Liar) -> None:
        self.upstream, self.liar = upstream, liar
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _any(self) -> None:
                size = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(size) if size else b""
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "connection")}
                request = httpx.Request(self.command, proxy.upstream + self.path,
                                        headers=headers, content=body)
                try:
                    response = proxy.liar.handle_request(request)
                    response.read()
                except httpx.HTTPError:
                    self.close_connection = True
                    return
                self.send_response(response.status_code)
                for key, value in response.headers.items():
                    if key.lower() not in ("content-length", "connection",
                                           "transfer-encoding", "content-encoding"):
                        self.send_header(key, value)
                self.send_header("content-length", str(len(response.content)))
                self.end_headers()
                self.wfile.write(response.content)

            do_GET = do_POST = do_PUT = do_DELETE = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        """Stop listening."""
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- devices


@contextmanager
def client_of(vault: Vault, liar: Liar | None = None) -> Iterator[Client]:
    """A client logged in as the vault's device, through `liar` if given."""
    dev = devices.load(vault.store.conn)
    assert dev is not None
    with Client(dev.server, transport=liar) as client:
        client.login(dev.account, dev.device, dev.signing, dev.server_id)
        yield client


def sync(vault: Vault, liar: Liar | None = None) -> engine.SyncResult:
    """What `msante sync` does, through `liar` if given."""
    dev = devices.load(vault.store.conn)
    assert dev is not None
    with client_of(vault, liar) as client:
        setup.publish(vault.store, client, dev)
        return engine.sync(vault.store, client, dev)


@dataclass
class Pair:
    """Two devices of one person, each with its liar, and the server."""

    a: Vault
    b: Vault
    server: Live
    liar_a: Liar = field(default_factory=Liar)
    liar_b: Liar = field(default_factory=Liar)

    @property
    def space(self) -> str:
        """The person's space (= the owner's id)."""
        return str(self.a.people.owner().id)


SYNC_TABLES = tuple(spaces.TABLE_SCOPES)
SYNC_STATE = ("sync_revisions", "sync_cursor", "sync_logs", "sync_conflicts", "sync_spaces")


def snapshot(vault: Vault, tables: tuple[str, ...] = SYNC_TABLES + SYNC_STATE
             ) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the synced tables and of the sync's own state."""
    conn = vault.store.conn
    return {t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}").fetchall())
            for t in tables}


def content(vault: Vault) -> dict[str, list[tuple[Any, ...]]]:
    """The synced records' ids and content (what both devices must agree on)."""
    from msante.vault import descriptors

    out = {}
    for table in SYNC_TABLES:
        desc = descriptors.of(table)
        cols = ["id", "deleted", *(c for c in desc.content if c != "wrapped_key")]
        rows = vault.store.conn.execute(f"SELECT {', '.join(cols)} FROM {table}").fetchall()
        out[table] = sorted(tuple(r) for r in rows)
    return out


def files_of(vault: Vault) -> set[str]:
    """The blob files present in the vault's store."""
    root = vault.store.blobs.root
    return {p.name for p in root.rglob("*") if p.is_file() and ".sync" not in p.parts}


def agree(pair: Pair) -> None:
    """Honest syncs both ways complete; both hold the same records, none twice; audits ok."""
    pair.liar_a.honest()
    pair.liar_b.honest()
    for vault in (pair.a, pair.b, pair.a, pair.b):
        sync(vault)
    assert content(pair.a) == content(pair.b)
    for vault in (pair.a, pair.b):
        assert vault.audit.verify().ok
        open_conflicts = vault.store.conn.execute(
            "SELECT COUNT(*) FROM sync_conflicts WHERE resolved_at IS NULL").fetchone()[0]
        assert open_conflicts == 0


def data_dir(tmp: Path, limits: Limits | None = None) -> Settings:
    """The settings of a test server in `tmp`."""
    return Settings(data_dir=tmp / "srv", limits=limits or Limits())


@contextmanager
def pair_of(vault: Vault, tmp: Path, limits: Limits | None = None) -> Iterator[Pair]:
    """Device A (`vault`, set up with a live server) and device B of the same person."""
    from tests.sync.engine_helpers import second_device

    with live(data_dir(tmp, limits)) as server:
        setup.setup(vault.store, server.url)
        b = second_device(vault, tmp / "b", server.app)
        pair = Pair(vault, b, server)
        try:
            yield pair
        finally:
            b.close()
            pair.liar_a.shutdown()
            pair.liar_b.shutdown()


def server_device(app: Any, account: str, device: str, key: bytes) -> None:
    """The server's own lie: a device of its making written into its own store for
    `account` (no client asked for it)."""
    from sqlalchemy import insert

    from msante.sync.server import schema as t
    from msante.sync.server.db import writing

    with writing(app.state.msante.store.engine) as conn:
        conn.execute(insert(t.devices).values(account_id=account, device_id=device,
                                              signing_key=key, bundle=b"server's own",
                                              created_at=int(time.time())))
