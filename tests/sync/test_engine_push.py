"""The push at scale: more batches than a fixed bound, streamed, nothing rewritten for nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.sync import setup, spaces
from msante.sync.client import Client
from msante.sync.engine import push, state
from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server
from tests.sync.engine_helpers import Pair, logged_in, second_device, sync


def test_a_push_of_many_batches_finishes_in_one_run(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """45 items in batches of 2 (more rounds than the old bound of 20 batches) are all sent
    in one push, read from the vault a batch at a time, and none is rewritten."""
    a, b = pair.a, pair.b
    owner = a.people.owner()
    for n in range(45):
        a.measures.add(owner, "weight", f"{70 + n / 10:.1f}")
    [space] = spaces.synced(a.store.conn)
    read: list[int] = []
    rewritten: list[str] = []
    real_pending, real_replace = state.pending, state.replace_item

    def counted(conn: Any, space: str, limit: int = -1) -> list[state.Pending]:
        got = real_pending(conn, space, limit)
        read.append(len(got))
        return got

    def replace(tx: Any, space: str, item: Any) -> None:
        rewritten.append(item.envelope.routing.revision)
        real_replace(tx, space, item)

    monkeypatch.setattr(state, "pending", counted)
    monkeypatch.setattr(state, "replace_item", replace)
    calls: list[int] = []
    real_push = Client.push

    def pushed(self: Client, space: str, items: list[Any]) -> list[dict[str, Any]]:
        calls.append(len(items))
        return real_push(self, space, items)

    monkeypatch.setattr(Client, "push", pushed)
    assert push.prepare(a.store, _dev(a), space) >= 45
    with logged_in(a) as (client, dev):
        sent = push.send(a.store, client, dev, space, batch=2)
    assert sent.stored >= 45 and not sent.stale
    assert len(calls) > 20 and max(calls) == 2
    assert max(read) <= 2 and not rewritten
    assert state.pending(a.store.conn, space) == []
    monkeypatch.undo()
    got = sync(b)
    assert got.conflicts == 0
    assert len(b.measures.list(b.people.owner())) == 45


def test_only_the_items_after_a_refusal_are_rewritten(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """A stale item in the first batch: the items after it are signed again once each, the
    ones before it never; everything but the stale one is stored."""
    a, b = pair.a, pair.b
    owner = a.people.owner()
    entry = a.profile.add(owner, "allergies", {"substance": "pollen"})
    sync(a)
    sync(b)
    b.profile.edit(entry.id, {"substance": "dust"}, revision=b.profile.get(entry.id).revision)
    sync(b)
    a.measures.add(owner, "weight", "70.0")
    a.profile.edit(entry.id, {"substance": "cats"}, revision=a.profile.get(entry.id).revision)
    for n in range(5):
        a.measures.add(owner, "weight", f"{71 + n}.0")
    [space] = spaces.synced(a.store.conn)
    rewritten: list[str] = []
    real_replace = state.replace_item

    def replace(tx: Any, space: str, item: Any) -> None:
        rewritten.append(item.envelope.routing.revision)
        real_replace(tx, space, item)

    monkeypatch.setattr(state, "replace_item", replace)
    count = push.prepare(a.store, _dev(a), space)
    order = [p.item.envelope.routing.revision for p in state.pending(a.store.conn, space)]
    with logged_in(a) as (client, dev):
        sent = push.send(a.store, client, dev, space, batch=3)
    assert sent.stored == count - 1 and sent.stale == [entry.id]
    [stale] = [r for r in order
               if getattr(state.find(a.store.conn, space, r), "status", "") == state.STALE]
    assert len(rewritten) == len(set(rewritten))
    assert set(rewritten) == set(order[order.index(stale) + 1:]) != set()
    monkeypatch.undo()
    sync(b)
    assert len(b.measures.list(b.people.owner())) == 6


def _dev(vault: Any) -> Any:
    from msante.sync import device as devices

    dev = devices.load(vault.store.conn)
    assert dev is not None
    return dev


@pytest.fixture
def family(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A holding two people (two spaces), and device B."""
    vault.people.add("Léo Martin", "2019-04-27", "male", "child")
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, app):
        setup.setup(vault.store, url)
        b = second_device(vault, tmp_path / "b", app)
        try:
            yield Pair(vault, b, app)
        finally:
            b.close()


def test_a_sync_with_nothing_to_do_reads_no_record(
        family: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two spaces, 30 records: once both devices are in step, a sync reads none of them
    (each space's pushed position moves past what the other space's pull applied, and past
    what a prepare found nothing new in)."""
    a, b = family.a, family.b
    for person in a.people.list():
        for n in range(15):
            a.measures.add(person, "weight", f"{20 + n}.0")
    sync(a)
    sync(b)
    read: list[str] = []
    real = push.snapshot

    def counted(conn: Any, store: Any, space: str, table: str, rid: str,
                **kw: Any) -> push.Snapshot | None:
        read.append(rid)
        return real(conn, store, space, table, rid, **kw)

    monkeypatch.setattr(push, "snapshot", counted)
    for vault in (b, a, b, a):
        read.clear()
        result = sync(vault)
        assert (result.pushed, result.applied) == (0, 0)
        assert read == []


def test_the_pushing_device_does_not_open_its_own_items_again(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """A's pull after its push skips its own items (unopened, unverified); B opens each, and
    B's items still reach A through B's device log."""
    from msante.sync.engine import pull
    from msante.sync.items import DeviceLog

    a, b = pair.a, pair.b
    owner = a.people.owner()
    for n in range(10):
        a.measures.add(owner, "weight", f"{70 + n}.0")
    opened: list[Any] = []
    logged: list[int] = []
    real_open, real_sync = pull.open_item, DeviceLog.sync

    def counted(ciphertext: bytes, key: Any, routing: Any) -> Any:
        opened.append(routing.device)
        return real_open(ciphertext, key, routing)

    def log_sync(self: DeviceLog, items: Any, head: Any = None) -> None:
        logged.append(len(items))
        real_sync(self, items, head)

    monkeypatch.setattr(pull, "open_item", counted)
    monkeypatch.setattr(DeviceLog, "sync", log_sync)
    first = sync(a)
    assert first.pushed >= 10 and opened == [] and sum(logged) == 0
    got = sync(b)
    assert got.applied >= 10 and len(opened) == got.pulled and sum(logged) == got.pulled
    opened.clear()
    b.measures.add(b.people.owner(), "weight", "90.0")
    sync(b)
    assert opened == []
    back = sync(a)
    assert back.applied == 1 and len(opened) == 1
    assert len(a.measures.list(owner)) == 11


def test_a_document_travels_in_one_request_a_chunk(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """No listing of the server's chunks unless a transfer was cut: one PUT and one GET a
    chunk (the item names the blob's size and hash)."""
    from msante.sync.engine import blobs
    from tests.sync.engine_helpers import add_document

    monkeypatch.setattr(blobs, "CHUNK", 4096)
    a, b = pair.a, pair.b
    add_document(a, bytes(range(256)) * 80)  # 20,480 bytes of plaintext: 6 chunks sealed
    listed: list[str] = []
    real_info = Client.blob_info

    def info(self: Client, space: str, blob: str) -> list[dict[str, Any]]:
        listed.append(blob)
        return real_info(self, space, blob)

    monkeypatch.setattr(Client, "blob_info", info)
    assert sync(a).blobs_up == 1 and sync(b).blobs_down == 1
    assert listed == []


def test_an_envelope_is_encoded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Its hash, its JSON and its routing's associated data are each computed once however
    often they are asked for (RFC 8785 in pure Python is a large part of a push)."""
    from msante.sync.crypto import SigningKey
    from msante.sync.items import ZERO_HASH, Envelope, Routing, envelope

    key = SigningKey.generate()
    routing = Routing("space", "profile", "record", "rev", None, 1, key.verify_key().key_id())
    env = Envelope(routing, 0, ZERO_HASH, bytes(32)).sign(key)
    calls: list[int] = []
    real = envelope.canonical

    def counted(obj: object) -> bytes:
        calls.append(1)
        return real(obj)

    monkeypatch.setattr(envelope, "canonical", counted)
    for _ in range(3):
        assert env.hash() == env.hash()
        assert Envelope.from_json(env.to_json()) == env
        assert routing.associated_data() == routing.associated_data()
    assert len(calls) == 3


def test_a_client_for_plain_http_loads_no_ca_bundle(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the CA bundle is a large part of a sync with nothing to do: only https:// does."""
    import ssl

    loaded: list[object] = []
    real = ssl.SSLContext.load_verify_locations

    def counted(self: ssl.SSLContext, *args: Any, **kw: Any) -> None:
        loaded.append(args or kw)
        real(self, *args, **kw)

    monkeypatch.setattr(ssl.SSLContext, "load_verify_locations", counted)
    with Client("http://127.0.0.1:8443"):
        assert loaded == []
    with Client("https://sync.example.org"):
        assert loaded
