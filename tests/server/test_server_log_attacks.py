"""An operator who rewrites the log in the database (with the real key) is caught by clients."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from log_helpers import Chain, checkpoint, consistency, inclusion, post_entry
from server_helpers import Account, Server, make_server, new_id
from sqlalchemy import delete, insert, select, update

from msante.sync import merkle
from msante.sync.checkpoint import BadCheckpointError, CheckpointStore, ForkError, RollbackError
from msante.sync.logleaf import chain_leaf
from msante.sync.server import schema as t
from msante.sync.server.models import b64decode


def _client_view(srv: Server) -> CheckpointStore:
    """A client that pinned the log's key and holds the current checkpoint."""
    head, note = checkpoint(srv)
    return CheckpointStore(head.origin, [srv.client.get("/v1/log/key").json()["key"]], note)


def _rebuild(srv: Server, leaves: list[bytes]) -> None:
    """What a dishonest operator does: replace the log by `leaves`, every row recomputed."""
    log_id = srv.settings.log_id
    tree = merkle.MemoryTree()
    rows: list[dict[str, object]] = []
    for i, data in enumerate(leaves):
        index = tree.size
        for level, idx, h in merkle.new_nodes(index, merkle.leaf_hash(data), tree.node):
            rows.append({"log_id": log_id, "level": level, "idx": idx, "hash": h})
        tree.append(data)
        assert tree.size == i + 1
    with srv.store.engine.begin() as conn:
        conn.execute(delete(t.log_nodes).where(t.log_nodes.c.log_id == log_id))
        conn.execute(delete(t.log_leaves).where(t.log_leaves.c.log_id == log_id))
        conn.execute(insert(t.log_nodes), rows)
        conn.execute(insert(t.log_leaves), [{"log_id": log_id, "idx": i, "data": d,
                                             "created_at": 0} for i, d in enumerate(leaves)])
        conn.execute(update(t.logs).where(t.logs.c.log_id == log_id).values(size=len(leaves)))


def _leaves(srv: Server) -> list[bytes]:
    """The log's leaves as stored."""
    c = t.log_leaves.c
    with srv.store.engine.connect() as conn:
        return [bytes(r.data) for r in conn.execute(select(c.data).where(
            c.log_id == srv.settings.log_id).order_by(c.idx))]


def _grown(srv: Server, n: int) -> tuple[Account, Chain]:
    """An account whose chain has `n` entries."""
    who = srv.account()
    chain = Chain(f"account:{who.account}")
    for _ in range(n):
        post_entry(srv, who, chain)
    return who, chain


def test_a_rewritten_entry_is_a_fork_to_a_client_that_saw_the_log(any_server: Server) -> None:
    """One old leaf changed, the tree rebuilt and re-signed, then grown: ForkError."""
    srv = any_server
    who, chain = _grown(srv, 5)
    client = _client_view(srv)
    leaves = _leaves(srv)
    leaves[2] = chain_leaf(chain.chain, 2, hashlib.sha256(b"another entry").digest())
    _rebuild(srv, leaves)
    post_entry(srv, who, chain)
    head, note = checkpoint(srv)  # properly signed: the operator has the key
    with pytest.raises(ForkError):
        client.advance(note, consistency(srv, who, 5, head.size))


def test_a_rewritten_entry_at_the_same_size_is_a_fork(any_server: Server) -> None:
    """Rewritten without growing: the same size with another root."""
    srv = any_server
    who, chain = _grown(srv, 4)
    client = _client_view(srv)
    leaves = _leaves(srv)
    leaves[0] = chain_leaf(chain.chain, 0, bytes(32))
    _rebuild(srv, leaves)
    with pytest.raises(ForkError):
        client.advance(checkpoint(srv)[1], [])


def test_a_truncated_log_is_a_rollback(any_server: Server) -> None:
    """Entries removed from the end: the next checkpoint is smaller, RollbackError."""
    srv = any_server
    who, _ = _grown(srv, 6)
    client = _client_view(srv)
    _rebuild(srv, _leaves(srv)[:4])
    with pytest.raises(RollbackError):
        client.advance(checkpoint(srv)[1], [])


def test_a_swapped_chain_entry_fails_its_inclusion_proof(any_server: Server) -> None:
    """The chain table edited but not the log: the client's recomputed leaf is not there."""
    srv = any_server
    who, chain = _grown(srv, 3)
    forged = hashlib.sha256(b"a device of the server's own").digest()
    c = t.chain_entries.c
    with srv.store.engine.begin() as conn:
        conn.execute(update(t.chain_entries).where(
            c.owner_id == who.account, c.kind == "account", c.seq == 1).values(hash=forged))
    entry = srv.client.get(f"/v1/chains/{chain.chain}/entries", headers=who.auth).json()[
        "entries"][1]
    head, _ = checkpoint(srv)
    leaf = merkle.leaf_hash(chain_leaf(chain.chain, 1, b64decode(entry["hash"])))
    with pytest.raises(merkle.ProofError):
        merkle.verify_inclusion(leaf, entry["leaf_index"], head.size,
                                inclusion(srv, who, entry["leaf_index"], head.size), head.root)


def test_a_log_restarted_under_a_new_key_is_refused(tmp_path: Path) -> None:
    """The operator deletes the log and its key and starts afresh: not the pinned key."""
    log_id = new_id()
    with make_server(tmp_path / "d", log_id=log_id) as srv:
        _grown(srv, 2)
        client = _client_view(srv)
        with srv.store.engine.begin() as conn:
            conn.execute(delete(t.logs).where(t.logs.c.log_id == log_id))
        srv.settings.log_key_file.unlink()
        db = srv.settings.database_url
    with make_server(tmp_path / "d", db_url=db, log_id=log_id) as fresh:
        note = checkpoint(fresh)[1]
    with pytest.raises(BadCheckpointError):
        client.advance(note, [])
