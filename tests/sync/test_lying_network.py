"""An honest server on a flaky network: lost answers, cut uploads, restarts, one stale item.

Whatever breaks, the next honest sync completes, nothing is duplicated, nothing is kept as a
conflict that is not one (Standard Notes' "conflicted copies" after a lost answer), and one
stale item never holds back the rest of a batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from msante.errors import ExitCode, IntegrityError, ServerUnreachable, SyncError
from msante.sync.engine import blobs
from msante.sync.server.settings import Limits
from tests.sync.engine_helpers import add_document
from tests.sync.lying_server import Pair, agree, content, cut, lost, pair_of, sync

ITEMS = r"/spaces/[^/]+/items$"


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A and device B; pull pages of at most 4 items."""
    with pair_of(vault, tmp_path, Limits(max_pull=4)) as made:
        yield made


def server_items(pair: Pair) -> int:
    """How many items the server stores."""
    from sqlalchemy import func, select

    from msante.sync.server import schema as t
    from msante.sync.server.db import reading

    with reading(pair.server.app.state.msante.store.engine) as conn:
        return int(conn.scalar(select(func.count()).select_from(t.items)) or 0)


def test_a_push_answer_lost_after_the_server_committed(pair: Pair) -> None:
    """The server stored A's edit, the answer never came: the retry is the same write —
    no second item, no conflict on either device."""
    owner = pair.a.people.owner()
    entry = pair.a.profile.add(owner, "allergies", {"substance": "pollen"})
    sync(pair.a)
    sync(pair.b)
    stored = server_items(pair)
    pair.a.profile.edit(entry.id, {"substance": "dust"}, revision=entry.revision)
    pair.liar_a.on("POST", ITEMS, after=lost, times=1)
    with pytest.raises(ServerUnreachable) as caught:
        sync(pair.a, pair.liar_a)
    assert caught.value.exit_code == ExitCode.ERROR
    committed = server_items(pair)
    assert committed > stored
    again = sync(pair.a, pair.liar_a)
    assert again.conflicts == 0
    assert server_items(pair) == committed
    got = sync(pair.b)
    assert got.conflicts == 0 and got.applied == committed - stored
    assert pair.b.profile.get(entry.id).data["substance"] == "dust"
    agree(pair)


def test_an_upload_cut_mid_chunk_resumes(pair: Pair, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection breaks while chunk 2 of a file is sent: the next sync sends only the
    chunks the server lacks, and B gets the very same file."""
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    rid = add_document(pair.a, bytes(range(256)) * 80)
    chunk2 = r"/blobs/[^/]+/chunks/2$"
    pair.liar_a.on("PUT", chunk2, before=cut, times=1)
    with pytest.raises(ServerUnreachable):
        sync(pair.a, pair.liar_a)
    first = pair.liar_a.count("PUT", r"/chunks/\d+$")
    assert first == 3  # 0, 1 and the cut 2
    mark = len(pair.liar_a.seen)
    sync(pair.a, pair.liar_a)
    resent = [s for s in pair.liar_a.seen[mark:] if s.startswith("PUT") and "/chunks/" in s]
    assert not any(s.endswith(("/chunks/0", "/chunks/1")) for s in resent), resent
    assert any(s.endswith("/chunks/2") for s in resent)
    sync(pair.b)
    blob = pair.a.store.conn.execute("SELECT blob_id FROM documents WHERE id = ?",
                                     (rid,)).fetchone()[0]
    assert pair.b.store.blobs.path(blob).read_bytes() == \
        pair.a.store.blobs.path(blob).read_bytes()
    agree(pair)


def weights(pair: Pair, n: int) -> None:
    """`n` measurements on A."""
    owner = pair.a.people.owner()
    for i in range(n):
        pair.a.measures.add(owner, "weight", str(60 + i), at=f"2025-06-{i + 1:02d} 08:00")


def test_the_server_restarted_mid_pull(pair: Pair) -> None:
    """B pulls in pages; the server stops before the second page (the sync fails, what was
    applied stays), then starts again on the same data: the next sync completes."""
    weights(pair, 10)
    sync(pair.a)
    calls = []

    def stop_on_second(request: httpx.Request) -> None:
        calls.append(request)
        if len(calls) == 2:
            pair.server.stop()
    pair.liar_b.on("GET", ITEMS, before=stop_on_second)
    with pytest.raises(ServerUnreachable):
        sync(pair.b, pair.liar_b)
    partly = len(content(pair.b)["measurements"])
    assert 0 < partly < 10
    assert pair.b.audit.verify().ok
    pair.server.start()
    sync(pair.b, pair.liar_b)
    assert len(content(pair.b)["measurements"]) == 10
    agree(pair)


def test_the_server_restarted_between_two_requests(pair: Pair) -> None:
    """The server restarts (same port, same data) between B's pages: B never notices."""
    weights(pair, 10)
    sync(pair.a)
    calls = []

    def restart_on_second(request: httpx.Request) -> None:
        calls.append(request)
        if len(calls) == 2:
            pair.server.stop()
            pair.server.start()
    pair.liar_b.on("GET", ITEMS, before=restart_on_second)
    got = sync(pair.b, pair.liar_b)
    assert got.applied >= 10 and len(calls) >= 3
    agree(pair)


def test_one_stale_item_among_many_does_not_hold_back_the_batch(pair: Pair) -> None:
    """B edits an entry A edited first, and adds five measurements: the server refuses the
    stale edit alone (409 stale; B's later items, refused as `device-chain` behind it, are
    re-chained and stored in the next round of the same sync), and B keeps both versions."""
    owner = pair.a.people.owner()
    entry = pair.a.profile.add(owner, "allergies", {"substance": "pollen"})
    sync(pair.a)
    sync(pair.b)
    pair.a.profile.edit(entry.id, {"substance": "dust"}, revision=entry.revision)
    sync(pair.a)
    pair.b.profile.edit(entry.id, {"substance": "mites"}, revision=entry.revision)
    owner_b = pair.b.people.owner()
    for i in range(5):
        pair.b.measures.add(owner_b, "weight", str(70 + i), at=f"2025-07-{i + 1:02d} 08:00")
    answers: list[dict[str, Any]] = []

    def keep(body: dict[str, Any], request: httpx.Request) -> dict[str, Any]:
        answers.append(body)
        return body
    pair.liar_b.on("POST", ITEMS, after=keep)
    got = sync(pair.b, pair.liar_b)
    kinds = [str(r.get("type") or r["status"]).rsplit(":", 1)[-1]
             for answer in answers for r in answer["results"]]
    assert kinds.count("stale") == 1, kinds  # the later items are re-chained, then stored
    assert kinds.count("201") == 6, kinds  # five measurements and the entry's history row
    assert got.conflicts == 1
    got_a = sync(pair.a)
    assert got_a.applied == 6  # the measurements and the history row of B's edit
    assert len(content(pair.a)["measurements"]) == 5


def _forge_stale(record: str) -> tuple[Any, Any]:
    """A `before` that keeps `record`'s item from the server and an `after` that answers
    it 409 stale, as a server that invents a newer revision would."""
    removed: list[int] = []

    def before(request: httpx.Request) -> httpx.Request:
        body = json.loads(request.content)
        removed[:] = [i for i, item in enumerate(body["items"]) if item["record"] == record]
        body["items"] = [item for item in body["items"] if item["record"] != record]
        headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
        return httpx.Request(request.method, request.url, headers=headers, json=body)

    def after(body: dict[str, Any], request: httpx.Request) -> dict[str, Any]:
        for i in removed:
            body["results"].insert(i, {
                "revision": "forged", "status": 409, "type": "urn:msante:problem:stale",
                "detail": "The base revision is not the record's current one.",
                "current": "AAAAAAAAAAAAAAAAAAAAAA"})
        return body
    return before, after


def test_a_forged_stale_answer_does_not_strand_an_edit(pair: Pair) -> None:
    """The server claims B's edit is stale (a newer revision that does not exist): once it
    stops lying, B's edit must still reach A (or B must say the server lied)."""
    owner = pair.a.people.owner()
    entry = pair.a.profile.add(owner, "allergies", {"substance": "pollen"})
    sync(pair.a)
    sync(pair.b)
    pair.b.profile.edit(entry.id, {"substance": "mites"}, revision=entry.revision)
    before, after = _forge_stale(entry.id)
    pair.liar_b.on("POST", ITEMS, before=before, after=after, times=1)
    try:
        sync(pair.b, pair.liar_b)
    except SyncError:
        pass  # refusing the lie is fine too
    pair.liar_b.honest()
    sync(pair.b)
    sync(pair.a)
    assert pair.a.profile.get(entry.id).data["substance"] == "mites"


def _forge_chain_refusal(claim: int) -> Any:
    """A `before` that keeps the items from the server and answers each 409 device-chain,
    claiming the device's chain continues at `claim` (a number it already used)."""
    def before(request: httpx.Request) -> httpx.Response:
        count = len(json.loads(request.content)["items"])
        return httpx.Response(200, json={"results": [{
            "revision": "x", "status": 409, "type": "urn:msante:problem:device-chain",
            "detail": "Not the device's next item.", "next_seq": claim,
            "prev_hash": "A" * 43} for _i in range(count)]})
    return before


def test_a_forged_device_chain_refusal_does_not_make_a_device_sign_twice(pair: Pair) -> None:
    """The server refuses B's push as out of order and claims B's chain continues at a
    number B already used: re-chaining there would sign two items at one number. B keeps
    its own tip and stops (exit 6); the pending item is unchanged; the next honest sync
    sends it."""
    from msante.sync.engine import state

    owner = pair.a.people.owner()
    entry = pair.a.profile.add(owner, "allergies", {"substance": "pollen"})
    sync(pair.a)
    sync(pair.b)
    pair.b.profile.edit(entry.id, {"substance": "mites"}, revision=entry.revision)
    sync(pair.b)
    pair.b.profile.edit(entry.id, {"substance": "dust"},
                        revision=pair.b.profile.get(entry.id).revision)
    pair.liar_b.on("POST", ITEMS, before=_forge_chain_refusal(0))
    with pytest.raises(IntegrityError) as caught:
        sync(pair.b, pair.liar_b)
    assert caught.value.exit_code == ExitCode.INTEGRITY
    assert "two items at one number" in caught.value.message
    kept = state.pending(pair.b.store.conn, pair.space)
    assert kept and all(p.item.envelope.seq > 0 for p in kept)  # never re-signed at 0
    pair.liar_b.honest()
    sync(pair.b)
    assert state.pending(pair.b.store.conn, pair.space) == []
    agree(pair)
    assert pair.a.profile.get(entry.id).data["substance"] == "dust"
