"""The simulated devices of bench/sync_server.py: log in like a device, push and pull items.

Each simulated client is one account with one device and one space, its own httpx.AsyncClient
(one keep-alive connection, as a device has), and its own random generator. Items are what a
device would send, sizes included: a ciphertext of a Padmé-padded record (random bytes), and
a real item envelope (msante.sync.items) whose signature is a signature's worth of random
bytes (the server checks no signature). A push is a batch of 1 to 3 items, a fifth of them
edits of the client's own records (base = the record's head); a pull asks for what follows its
sync token. The final check pulls everything back and compares it with what was acknowledged.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from msante.sync.crypto import Purpose, SigningKey
from msante.sync.items import ZERO_HASH, Envelope, Routing
from msante.sync.padme import padded_length
from msante.sync.server.models import b64encode

SIGNATURE_BYTES = 3374  # Ed25519 + ML-DSA-65, as msante.sync.crypto makes them
AEAD_BYTES = 12 + 16  # AES-256-GCM nonce and tag
PAGE = 500  # the server's default pull page


def new_id() -> str:
    """A random id, as clients choose them."""
    return secrets.token_urlsafe(16)


@dataclass
class Stats:
    """What a target measured: latencies of the requests completed in its windows, and errors.

    `window` is the current measuring window (none during a warm-up); `stop_at` is when the
    clients stop starting requests (never, during a warm-up, until the window is set).
    """

    window: tuple[float, float] = (math.inf, math.inf)
    stop_at: float = math.inf
    measured: float = 0.0
    completed: int = 0
    latencies: list[float] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    throttled: int = 0
    items: int = 0

    def add(self, started: float, latency: float) -> None:
        """Count one request; keep its latency if it completed inside the window."""
        self.completed += 1
        if self.window[0] <= started + latency < self.window[1]:
            self.latencies.append(latency)


@dataclass
class Sim:
    """One simulated device: its account, keys, space, and what the server acknowledged."""

    http: httpx.AsyncClient
    rng: random.Random
    bare: bool
    account: str = field(default_factory=new_id)
    device: str = field(default_factory=new_id)
    space: str = field(default_factory=new_id)
    token: str = ""
    since: str = ""
    device_seq: int = 0
    prev_hash: bytes | None = None
    heads: dict[str, str] = field(default_factory=dict)
    acked: dict[str, str] = field(default_factory=dict)
    unsure: set[str] = field(default_factory=set)

    @property
    def items_url(self) -> str:
        """Where pushes and pulls go (the bare server's twin route for the baseline)."""
        return f"/bare/{self.space}/items" if self.bare else f"/v1/spaces/{self.space}/items"

    @property
    def auth(self) -> dict[str, str]:
        """The Authorization header."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}


async def send(sim: Sim, stats: Stats, method: str, url: str, **kw: Any) -> httpx.Response:
    """One request; a 429 waits its Retry-After and tries again (counted, not an error)."""
    while True:
        response = await sim.http.request(method, url, headers=sim.auth, **kw)
        if response.status_code != 429:
            return response
        stats.throttled += 1
        await asyncio.sleep(float(response.headers.get("Retry-After", "1")))


def expect(response: httpx.Response, *codes: int) -> dict[str, Any]:
    """The JSON body of a response with one of `codes`; RuntimeError otherwise."""
    if response.status_code not in codes:
        raise RuntimeError(f"{response.request.method} {response.request.url.path}: "
                           f"{response.status_code} {response.text[:200]}")
    body: dict[str, Any] = response.json()
    return body


async def enrol(sim: Sim, stats: Stats, server_id: str) -> None:
    """Register the account and device, log in by signing the challenge, create the space."""
    key = SigningKey.generate()
    expect(await send(sim, stats, "POST", "/v1/accounts", json={
        "account": sim.account, "device": sim.device,
        "signing_key": b64encode(key.verify_key().to_bytes()), "bundle": b64encode(
            sim.rng.randbytes(1200))}), 201)
    challenge = expect(await send(sim, stats, "POST", "/v1/login/challenge", json={
        "account": sim.account, "device": sim.device}), 200)["challenge"]
    signature = key.sign(Purpose.LOGIN, {"server": server_id, "account": sim.account,
                                         "challenge": challenge})
    sim.token = expect(await send(sim, stats, "POST", "/v1/login", json={
        "account": sim.account, "device": sim.device, "challenge": challenge,
        "signature": b64encode(signature)}), 200)["token"]
    expect(await send(sim, stats, "POST", "/v1/spaces", json={"space": sim.space}), 201)


def make_item(sim: Sim) -> dict[str, Any]:
    """A new record, or an edit of one of the client's own (a fifth of the time)."""
    rng = sim.rng
    record, base = new_id(), None
    if sim.heads and rng.random() < 0.2:
        record = rng.choice(list(sim.heads))
        base = sim.heads[record]
    revision = new_id()
    ciphertext = rng.randbytes(padded_length(rng.randint(120, 1500)) + AEAD_BYTES)
    digest = hashlib.sha256(ciphertext).digest()
    # a real item envelope (the server reads its fields and keeps its hash); its signature is
    # a signature's worth of random bytes, which the server does not check
    envelope = Envelope(Routing(space=sim.space, scope="profile", record=record,
                                revision=revision, base=base, key_version=1,
                                device=hashlib.sha256(sim.device.encode()).digest()),
                        seq=sim.device_seq, prev=sim.prev_hash or ZERO_HASH,
                        ciphertext_sha256=digest, signature=rng.randbytes(SIGNATURE_BYTES))
    item = {"record": record, "revision": revision, "base": base, "key_version": 1,
            "device": sim.device, "device_seq": sim.device_seq,
            "prev_hash": b64encode(sim.prev_hash or ZERO_HASH),
            "ciphertext_sha256": b64encode(digest), "envelope": b64encode(envelope.to_json()),
            "ciphertext": b64encode(ciphertext)}
    sim.device_seq += 1
    sim.prev_hash = envelope.hash()
    sim.heads[record] = revision  # a later item of the same batch edits this revision
    return item


async def push(sim: Sim, stats: Stats) -> None:
    """Push 1 to 3 items; each must come back 201 (or 200: the same write again)."""
    batch = [make_item(sim) for _ in range(sim.rng.randint(1, 3))]
    try:
        response = await send(sim, stats, "POST", sim.items_url, json={"items": batch})
    except httpx.HTTPError as exc:
        stats.errors[f"push: {type(exc).__name__}"] += 1
        _unsure(sim, batch)
        return
    if response.status_code != 200:
        stats.errors[f"push: {response.status_code}"] += 1
        _unsure(sim, batch)
        return
    if sim.bare:
        return
    for item, result in zip(batch, response.json()["results"], strict=True):
        if result["status"] in (200, 201):
            sim.acked[item["revision"]] = item["ciphertext_sha256"]
            stats.items += 1
        else:
            stats.errors[f"push item: {result['status']} {result.get('type')}"] += 1
            _unsure(sim, [item])


def _unsure(sim: Sim, batch: list[dict[str, Any]]) -> None:
    """Items whose fate is unknown: never edited again, allowed either way at the end."""
    for item in batch:
        sim.unsure.add(item["revision"])
        sim.heads.pop(item["record"], None)


async def pull(sim: Sim, stats: Stats) -> None:
    """Pull what follows the sync token (one page)."""
    params = {"since": sim.since} if sim.since else {}
    try:
        response = await send(sim, stats, "GET", sim.items_url, params=params)
    except httpx.HTTPError as exc:
        stats.errors[f"pull: {type(exc).__name__}"] += 1
        return
    if response.status_code != 200:
        stats.errors[f"pull: {response.status_code}"] += 1
    elif not sim.bare:
        sim.since = response.json()["next"]


async def work(sim: Sim, stats: Stats) -> None:
    """Push then pull, again and again, until `stats.stop_at`; each request timed."""
    while time.perf_counter() < stats.stop_at:
        for op in (push, pull):
            begun = time.perf_counter()
            await op(sim, stats)
            stats.add(begun, time.perf_counter() - begun)


@dataclass
class Check:
    """The final pull compared with what the server acknowledged."""

    stored: int = 0
    lost: int = 0
    duplicated: int = 0
    foreign: int = 0
    altered: int = 0
    gaps: int = 0

    @property
    def bad(self) -> int:
        """Items lost, duplicated, unexpected or altered, and sequence gaps."""
        return self.lost + self.duplicated + self.foreign + self.altered + self.gaps


async def pull_all(sim: Sim, stats: Stats) -> list[dict[str, Any]]:
    """Every item of the client's space, from the start, page by page."""
    found: list[dict[str, Any]] = []
    since = ""
    while True:
        params: dict[str, Any] = {"limit": PAGE, **({"since": since} if since else {})}
        page = expect(await send(sim, stats, "GET", sim.items_url, params=params), 200)
        found.extend(page["items"])
        since = page["next"]
        if not page["more"]:
            return found


async def check(sim: Sim, stats: Stats, into: Check) -> None:
    """Count what is missing, twice there, unexpected, altered, or out of sequence."""
    found = await pull_all(sim, stats)
    revisions = [item["revision"] for item in found]
    seen = set(revisions)
    into.stored += len(found)
    into.duplicated += len(revisions) - len(seen)
    into.lost += len(set(sim.acked) - seen)
    into.foreign += len(seen - set(sim.acked) - sim.unsure)
    into.altered += sum(1 for item in found if item["revision"] in sim.acked
                        and sim.acked[item["revision"]] != item["ciphertext_sha256"])
    into.gaps += int([item["seq"] for item in found] != list(range(1, len(found) + 1)))
