"""The log on SQLite and on PostgreSQL: proofs verify, appends never fork, restarts keep it."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from log_helpers import Chain, check_whole_log, checkpoint, consistency, inclusion, post_entry
from server_helpers import Server, make_server, new_id
from sqlalchemy import event, func, select

from msante.sync import merkle
from msante.sync.checkpoint import CheckpointStore, check_progress
from msante.sync.logleaf import chain_leaf
from msante.sync.server import schema as t


def test_proofs_served_verify_against_the_served_checkpoint(any_server: Server) -> None:
    """Every leaf's inclusion proof leads to the signed root; each leaf commits its entry."""
    srv = any_server
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    answers = [post_entry(srv, who, chain) for _ in range(11)]
    assert [a["leaf_index"] for a in answers] == list(range(11))
    head = check_whole_log(srv, who)
    assert head.size == 11
    for seq, answer in enumerate(answers):
        leaf = merkle.leaf_hash(chain_leaf(chain.chain, seq, chain.hashes[seq]))
        proof = inclusion(srv, who, answer["leaf_index"], head.size)
        merkle.verify_inclusion(leaf, answer["leaf_index"], head.size, proof, head.root)


def test_checkpoints_before_and_after_appends_are_consistent(any_server: Server) -> None:
    """A client holding an older checkpoint moves to the newer one along the served proof."""
    srv = any_server
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    store: CheckpointStore | None = None
    for batch in (1, 2, 5, 8):
        for _ in range(batch):
            post_entry(srv, who, chain)
        head, note = checkpoint(srv)
        if store is None:
            store = CheckpointStore(head.origin, [srv.client.get("/v1/log/key").json()["key"]],
                                    note)
            first = head
            continue
        old = store.latest
        assert old is not None
        assert store.advance(note, consistency(srv, who, old.size, head.size)) == head
    assert store is not None and store.latest is not None and store.latest.size == 16
    check_progress(first, store.latest, consistency(srv, who, first.size, 16))


def test_concurrent_appends_never_fork_the_log(any_server: Server) -> None:
    """Appends from many threads at once: one leaf each, distinct indexes, one tree.

    Four threads each own a chain (every append must succeed: no spurious refusal); four
    more race for the same seqs of one chain (exactly one wins each seq, the rest get 409).
    """
    srv = any_server
    accounts = [srv.account() for _ in range(5)]
    owned = [Chain(f"account:{a.account}") for a in accounts[:4]]
    contested = Chain(f"account:{accounts[4].account}")
    results: list[tuple[str, int, Any]] = []
    lock = threading.Lock()

    def work(n: int) -> None:
        who, chain = (accounts[n], owned[n]) if n < 4 else (accounts[4], contested)
        for _ in range(2):
            with lock:
                entry = chain.entry()
            response = srv.client.post(f"/v1/chains/{chain.chain}/entries", json=entry,
                                       headers=who.auth)
            with lock:
                results.append((chain.chain, response.status_code, response.json()))
                if response.status_code == 201:
                    chain.accepted(entry)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    mine = [r for r in results if r[0] != contested.chain]
    assert [r[1] for r in mine] == [201] * 8, mine
    raced = [r for r in results if r[0] == contested.chain]
    assert {r[1] for r in raced} <= {201, 409}
    assert all(r[2]["type"].endswith("chain-seq-taken") for r in raced if r[1] == 409)
    wins = [r[2]["seq"] for r in raced if r[1] == 201]
    assert sorted(wins) == list(range(len(wins))) and wins
    won = [r for r in results if r[1] == 201]
    assert sorted(r[2]["leaf_index"] for r in won) == list(range(len(won)))
    head = check_whole_log(srv, accounts[0])
    assert head.size == len(won)
    with srv.store.engine.connect() as conn:
        rows = conn.scalar(select(func.count()).select_from(t.log_nodes).where(
            t.log_nodes.c.log_id == srv.settings.log_id))
    assert rows == 2 * head.size - bin(head.size).count("1")  # every complete subtree, once


def test_a_proof_reads_its_rows_in_one_query(any_server: Server) -> None:
    """An inclusion or consistency proof costs one query on log_nodes, whatever the size."""
    srv = any_server
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    for _ in range(40):
        post_entry(srv, who, chain)
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "log_nodes" in statement:
            seen.append(statement)

    event.listen(srv.store.engine, "before_cursor_execute", count)
    try:
        inclusion(srv, who, 13, 40)
        assert len(seen) == 1
        consistency(srv, who, 7, 40)
        assert len(seen) == 2
    finally:
        event.remove(srv.store.engine, "before_cursor_execute", count)
    assert len(merkle.inclusion_nodes(40, 13)) <= 2 * 6


def test_a_restarted_server_keeps_its_key_and_log(tmp_path: Path, db_url: str) -> None:
    """Same data folder and database: the same key, the same checkpoint, a consistent log."""
    data, log_id = tmp_path / "data", new_id()
    with make_server(data, db_url=db_url, log_id=log_id) as srv:
        who = srv.account()
        chain = Chain(f"account:{who.account}")
        for _ in range(3):
            post_entry(srv, who, chain)
        key = srv.client.get("/v1/log/key").json()
        before, note = checkpoint(srv)
    with make_server(data, db_url=db_url, log_id=log_id) as srv:
        assert srv.client.get("/v1/log/key").json() == key
        assert checkpoint(srv)[1] == note
        who.token, _ = srv.store.accounts.issue_token(who.account, who.device)
        post_entry(srv, who, chain)
        after, _ = checkpoint(srv)
        check_progress(before, after, consistency(srv, who, before.size, after.size))
        assert after.size == 4
