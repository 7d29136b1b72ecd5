"""Each device's items in a space stay one unbroken hash chain on the server (SQLite, PostgreSQL).

An item refused (stale, over the quota, anything) must leave every later item of its device
refused too: a gap would make every reader refuse the device's chain as `dropped`.
"""

from __future__ import annotations

import threading

from server_helpers import Server, item, items
from sqlalchemy import select

from msante.sync.items import ZERO_HASH, Envelope
from msante.sync.server import schema as t
from msante.sync.server.models import ItemResult

CHAIN = "urn:msante:problem:device-chain"


def stored_chain(srv: Server, space: str, device: str) -> list[tuple[int, bytes, bytes]]:
    """(device seq, prev, hash) of the device's stored items, from their envelopes."""
    i = t.items.c
    with srv.store.engine.connect() as conn:
        rows = conn.execute(select(i.device_seq, i.envelope).where(
            i.space_id == space, i.device_id == device).order_by(i.device_seq)).all()
    out = []
    for seq, raw in rows:
        env = Envelope.from_json(bytes(raw))
        out.append((int(seq), env.prev, env.hash()))
    return out


def assert_unbroken(chain: list[tuple[int, bytes, bytes]]) -> None:
    """Numbers 0, 1, 2… each naming its predecessor's hash (zeros first)."""
    assert [seq for seq, _, _ in chain] == list(range(len(chain)))
    prevs = [ZERO_HASH] + [h for _, _, h in chain[:-1]]
    assert [p for _, p, _ in chain] == prevs


def refused_by_chain(result: ItemResult, next_seq: int, prev: bytes) -> bool:
    """Whether `result` is the device-chain refusal naming `next_seq` and `prev`."""
    return (result.status, result.type, result.next_seq, result.prev_hash) == (
        409, CHAIN, next_seq, prev)


def test_a_stale_item_leaves_the_rest_of_its_device_refused(any_server: Server) -> None:
    """Item 2 stale: items 3.. are refused with the next number; re-chained, they are stored."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    first = item(who)
    srv.store.items.push(who.account, space, items(first))
    edit = item(who, record=first["record"], base=first["revision"])
    stale = item(who, record=first["record"], base=None)
    later = [item(who) for _ in range(3)]
    results = srv.store.items.push(who.account, space, items(edit, stale, *later))
    assert [r.status for r in results] == [201, 409, 409, 409, 409]
    assert results[1].type == "urn:msante:problem:stale"
    assert all(refused_by_chain(r, 2, who.hashes[1]) for r in results[2:])
    assert_unbroken(stored_chain(srv, space, who.device))
    del who.hashes[2:]  # the client re-chains what was refused: same revisions, new envelopes
    again = [item(who, record=x["record"], revision=x["revision"]) for x in later]
    assert [r.status for r in srv.store.items.push(who.account, space, items(*again))] == [
        201, 201, 201]
    chain = stored_chain(srv, space, who.device)
    assert len(chain) == 5
    assert_unbroken(chain)


def test_a_wrong_first_number_or_previous_hash_is_refused(any_server: Server) -> None:
    """The first item is number 0 naming 32 zero bytes; later ones name the last item's hash."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    who.hashes.append(b"\x07" * 32)  # as if the device had an item 0 the server never got
    skipped = srv.store.items.push(who.account, space, items(item(who)))[0]
    assert refused_by_chain(skipped, 0, ZERO_HASH)
    who.hashes.clear()
    srv.store.items.push(who.account, space, items(item(who)))
    who.hashes[0] = b"\x09" * 32  # a prev_hash that is not the stored item's hash
    wrong = srv.store.items.push(who.account, space, items(item(who)))[0]
    real = stored_chain(srv, space, who.device)[0][2]
    assert refused_by_chain(wrong, 1, real)


def test_a_retried_item_stays_the_same_write_after_later_ones(any_server: Server) -> None:
    """A lost response: the same item again is 200 even once later items are stored."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    a, b = item(who), item(who)
    first = srv.store.items.push(who.account, space, items(a, b))
    again = srv.store.items.push(who.account, space, items(a, b))
    assert [r.status for r in first] == [201, 201]
    assert [(r.status, r.seq) for r in again] == [(200, first[0].seq), (200, first[1].seq)]


def test_concurrent_pushes_of_one_device_never_share_a_number(any_server: Server) -> None:
    """Six batches racing from one device, each a chain from 0: one is stored, whole."""
    srv = any_server
    who = srv.account()
    space = srv.space(who)
    batches = []
    for _ in range(6):
        who.hashes.clear()
        batches.append(items(*(item(who) for _ in range(3))))
    statuses: list[list[int]] = []

    def push(batch: list) -> None:  # type: ignore[type-arg]
        statuses.append([r.status for r in srv.store.items.push(who.account, space, batch)])

    threads = [threading.Thread(target=push, args=(b,)) for b in batches]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(statuses) == [[201, 201, 201]] + [[409, 409, 409]] * 5
    chain = stored_chain(srv, space, who.device)
    assert len(chain) == 3
    assert_unbroken(chain)
