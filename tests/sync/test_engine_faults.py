"""The sync engine when things go wrong: lost answers, cuts, a lying or tampered server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from msante.errors import IntegrityError, ServerNotFound, ServerUnreachable
from msante.sync import device as devices
from msante.sync import spaces
from msante.sync.chains import b64e
from msante.sync.client import Client
from msante.sync.crypto import SigningKey
from msante.sync.engine import blobs
from msante.sync.items import ZERO_HASH, Routing, new_revision_id, write_item
from tests.sync.engine_helpers import (
    Pair,
    add_device,
    add_document,
    logged_in,
    sync,
)


def server_items(app: Any) -> int:
    """How many items the server stores."""
    from sqlalchemy import func, select

    from msante.sync.server import schema as t
    from msante.sync.server.db import reading

    with reading(app.state.msante.store.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(t.items)))


def test_a_push_whose_answer_is_lost_is_retried_as_the_same_items(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """The server committed, the answer never came: the retry is 200, no duplicate, and
    the other device sees no conflict."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    real = Client.push
    answers: list[list[int]] = []

    def lost(self: Client, space: str, items: list[Any]) -> list[dict[str, Any]]:
        results = real(self, space, items)
        answers.append([r["status"] for r in results])
        if len(answers) == 1:
            raise ServerUnreachable("the answer was lost")
        return results

    monkeypatch.setattr(Client, "push", lost)
    with pytest.raises(ServerUnreachable):
        sync(a)
    stored = server_items(pair.app)
    sync(a)
    assert set(answers[0]) == {201} and set(answers[1]) == {200}
    assert server_items(pair.app) == stored
    monkeypatch.setattr(Client, "push", real)
    got = sync(b)
    assert got.conflicts == 0 and b.profile.get(entry.id).data["substance"] == "pollen"
    assert sync(a).pushed == 0


def test_a_pull_cut_between_pages_completes_next_time(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception between two pages: the next sync resumes from the kept token, nothing is
    applied twice and the history verifies."""
    a, b = pair.a, pair.b
    owner = a.people.owner()
    for value in range(12):
        a.measures.add(owner, "weight", str(60 + value))
    sync(a)
    real = Client.pull_page
    calls: list[str | None] = []

    def paged(self: Client, space: str, since: str | None = None,
              limit: int = 500) -> Any:
        calls.append(since)
        if len(calls) == 3:
            raise ServerUnreachable("cut")
        return real(self, space, since, 5)

    monkeypatch.setattr(Client, "pull_page", paged)
    with pytest.raises(ServerUnreachable):
        sync(b)
    calls.clear()
    monkeypatch.setattr(Client, "pull_page", lambda self, space, since=None, limit=500:
                        real(self, space, since, 5))
    sync(b)
    values = sorted(m.value for m in b.measures.list(b.people.owner()))
    assert values == [60.0 + v for v in range(12)]
    assert b.audit.verify().ok
    ids = [r[0] for r in b.store.conn.execute("SELECT id FROM measurements")]
    assert len(ids) == len(set(ids)) == 12


def test_an_item_from_a_device_that_is_not_a_writer_is_refused(pair: Pair) -> None:
    """A device of the account the space chain does not list: exit 6, nothing applied."""
    a, b = pair.a, pair.b
    sync(a)
    sync(b)
    dev_a = devices.load(a.store.conn)
    assert dev_a is not None
    intruder = SigningKey.generate()
    kid = intruder.verify_key().key_id()
    add_device(a, intruder)  # a device of the account on the server, in no chain
    space = a.people.owner().id
    keys = spaces.current(a.store.conn, space)
    assert keys is not None
    rid = new_revision_id()
    item = write_item({"id": rid, "kind": "weight", "value": 99.0}, "measurements",
                      keys.key("measurements"),
                      Routing(space, "measurements", rid, new_revision_id(), None, 1, kid),
                      signer=intruder, seq=0, prev=ZERO_HASH)
    with Client(dev_a.server) as client:
        client.login(dev_a.account, b64e(kid), intruder, dev_a.server_id)
        env = item.envelope
        client.push(space, [{
            "record": rid, "revision": env.routing.revision, "base": None, "key_version": 1,
            "device": b64e(kid), "device_seq": 0, "prev_hash": ZERO_HASH,
            "ciphertext_sha256": env.ciphertext_sha256, "envelope": env.to_json(),
            "ciphertext": item.ciphertext}])
    before = b.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(IntegrityError) as caught:
        sync(b)
    assert "not allowed to write" in str(caught.value) and caught.value.exit_code == 6
    assert b.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == before
    assert b.store.conn.execute("SELECT count(*) FROM measurements").fetchone()[0] == 0


@pytest.mark.parametrize("lie", ["reordered", "truncated"])
def test_a_tampered_blob_is_refused_and_never_stored(
        pair: Pair, monkeypatch: pytest.MonkeyPatch, lie: str) -> None:
    """Chunks served out of order, or one missing: refused, no blob, no document."""
    a, b = pair.a, pair.b
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    doc = add_document(a, bytes(range(256)) * 80)
    sync(a)
    if lie == "reordered":
        real_get = Client.get_chunk
        monkeypatch.setattr(Client, "get_chunk", lambda self, space, blob, index: real_get(
            self, space, blob, {0: 1, 1: 0}.get(index, index)))
    else:  # the last chunk missing
        real_get = Client.get_chunk

        def missing(self: Client, space: str, blob: str, index: int) -> bytes:
            if index == 4:
                raise ServerNotFound("no such chunk")
            return real_get(self, space, blob, index)

        monkeypatch.setattr(Client, "get_chunk", missing)
    with pytest.raises(IntegrityError):
        sync(b)
    assert b.store.conn.execute("SELECT count(*) FROM documents").fetchone()[0] == 0
    assert list(b.store.blobs.ids()) == []
    assert doc


def test_blob_transfers_resume_after_a_cut(pair: Pair, monkeypatch: pytest.MonkeyPatch,
                                           tmp_path: Path) -> None:
    """A cut upload sends only the missing chunks again; a cut download fetches only the
    missing ones; the file arrives whole."""
    a, b = pair.a, pair.b
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    data = bytes(range(256)) * 80
    doc = add_document(a, data)
    put, got = Client.put_chunk, Client.get_chunk
    sent: list[int] = []
    fetched: list[int] = []

    def cut_put(self: Client, space: str, blob: str, index: int, chunk: bytes) -> bool:
        if index == 2 and -1 not in sent:
            sent.append(-1)
            raise ServerUnreachable("cut")
        sent.append(index)
        return put(self, space, blob, index, chunk)

    monkeypatch.setattr(Client, "put_chunk", cut_put)
    with pytest.raises(ServerUnreachable):
        sync(a)
    sync(a)
    assert sent.count(0) == 1 and sent.count(1) == 1 and sent.count(2) == 1

    def cut_get(self: Client, space: str, blob: str, index: int) -> bytes:
        if index == 3 and -1 not in fetched:
            fetched.append(-1)
            raise ServerUnreachable("cut")
        fetched.append(index)
        return got(self, space, blob, index)

    monkeypatch.setattr(Client, "get_chunk", cut_get)
    with pytest.raises(ServerUnreachable):
        sync(b)
    [partial] = (b.store.blobs.root / ".sync").iterdir()
    assert partial.stat().st_size == 3 * 4096
    with partial.open("ab") as cut:  # the cut came in the middle of chunk 3
        cut.write(b"half a chunk")
    sync(b)
    assert fetched.count(0) == 1 and fetched.count(2) == 1 and fetched.count(3) == 1
    assert b.documents.export(b.documents.get(doc), tmp_path / "x").read_bytes() == data


def test_sync_before_login_helpers(pair: Pair) -> None:
    """logged_in gives a working client (a smoke test of the helper)."""
    with logged_in(pair.a) as (client, dev):
        assert client.heads(dev.space) == []


def test_a_fork_served_as_new_is_refused_naming_the_device_and_record(
        pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """A revision its own device could not honestly have written (based on a revision it
    had already written past), slipped into a pull: exit 6, nothing applied."""
    from msante.sync.engine import state
    from msante.sync.items import Envelope

    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    sync(a)
    sync(b)
    first = state.local_head(state.lineage(a.store.conn, entry.person, "profile_entries",
                                           entry.id))
    assert first is not None
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    sync(a)
    sync(b)
    dev_a = devices.load(a.store.conn)
    assert dev_a is not None
    keys = spaces.current(a.store.conn, entry.person)
    assert keys is not None
    cur = state.cursor(a.store.conn, entry.person)
    routing = Routing(entry.person, "profile", entry.id, new_revision_id(), first.revision, 1,
                      dev_a.signing.verify_key().key_id())
    forged = write_item({"id": entry.id, "section": "allergies", "data": "{}"},
                        "profile_entries", keys.key("profile"), routing, signer=dev_a.signing,
                        seq=cur.seq, prev=cur.prev)
    env: Envelope = forged.envelope
    real = Client.pull_page

    def lying(self: Client, space: str, since: str | None = None, limit: int = 500) -> Any:
        page = real(self, space, since, limit)
        if space == entry.person:
            page.items.append({"envelope": env.to_json(), "ciphertext": forged.ciphertext})
        return page

    monkeypatch.setattr(Client, "pull_page", lying)
    before = b.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    with pytest.raises(IntegrityError) as caught:
        sync(b)
    assert entry.id in str(caught.value) and caught.value.exit_code == 6
    assert b.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == before
    assert b.profile.get(entry.id).data["substance"] == "birch"
