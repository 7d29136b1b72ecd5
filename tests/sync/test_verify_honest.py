"""`sync verify` against an honest server: what it checks, what it keeps, what it reports."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.errors import IntegrityError
from msante.sync import logstate
from msante.sync.checkpoint import Checkpoint
from tests.sync.verify_helpers import World, build_world


@pytest.fixture
def world(vault: Any, tmp_path: Path) -> Iterator[World]:
    """A vault set up with a live server, two chains and three events."""
    yield from build_world(vault.store, tmp_path / "srv")


def test_first_verify_pins_the_key_and_proves_every_entry(world: World) -> None:
    """Every chain entry and event is proven in the log; the key and checkpoint are kept."""
    report = world.verify()
    log = report["log"]
    assert log["pinned_now"] is True and log["previous_size"] is None
    assert log["size"] == 3 + 3  # three chain entries (genesis ×2, a rotation), three events
    chains = {c["chain"]: c for c in report["chains"]}
    # setup's genesis entries carry no checkpoint (none was kept yet); the rotation does
    assert chains[world.account_chain] == {"chain": world.account_chain, "entries": 1,
                                           "proven": 1, "gossip": 0}
    assert chains[world.space_chain]["entries"] == 2
    assert chains[world.space_chain]["proven"] == 2 and chains[world.space_chain]["gossip"] == 1
    assert report["events"] == [{"space": world.dev.space, "events": 3, "proven": 3}]
    assert report["proofs"] >= 1 + 2 + 3 and report["saved"] is True
    assert report["scanned"] == log["size"]  # every leaf read once
    kept = logstate.load(world.store.conn, world.dev.server_id)
    assert kept is not None and kept.size == log["size"]
    assert kept.key == log["key"] and kept.note.startswith(kept.origin + "\n")
    heads = logstate.heads(world.store.conn, world.dev.server_id)
    assert {h: heads[h].count for h in heads} == {
        world.account_chain: 1, world.space_chain: 2, f"events:{world.dev.space}": 3}


def test_a_second_verify_proves_only_what_is_new(world: World) -> None:
    """Entries proven before are not proven again; the new ones are, along a consistency
    proof from the kept checkpoint."""
    first = world.verify()
    world.post_event()
    entry = world.rotate(world.note())
    world.space_entries.append(entry)
    world.post_chain(entry)
    second = world.verify()
    assert second["log"]["previous_size"] == first["log"]["size"]
    assert second["log"]["size"] == first["log"]["size"] + 2
    chains = {c["chain"]: c for c in second["chains"]}
    assert chains[world.account_chain]["proven"] == 0
    assert chains[world.space_chain] == {"chain": world.space_chain, "entries": 3,
                                         "proven": 1, "gossip": 1}
    assert second["events"][0] == {"space": world.dev.space, "events": 4, "proven": 1}
    assert any(p.endswith("/log/proof/consistency") for p in world.lying.paths)
    assert second["scanned"] == 2  # only the new leaves are read


def test_nothing_new_writes_nothing(world: World) -> None:
    """A verify with nothing new keeps the checkpoint as it was and writes no audit entry."""
    world.verify()
    before = world.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    again = world.verify()
    assert again["saved"] is False and again["log"]["pinned_now"] is False
    assert world.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0] == before


def test_each_kept_checkpoint_is_audited(world: World) -> None:
    """Keeping a checkpoint is one audited write, naming the server and the size."""
    report = world.verify()
    row = world.store.conn.execute(
        "SELECT action, detail FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    assert row[0] == "sync.checkpoint"
    assert world.dev.server_id in row[1] and str(report["log"]["size"]) in row[1]


def test_a_check_kept_meanwhile_by_another_process_wins(world: World,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Two checks at once: the one that writes second sees the kept row changed since it
    read it, and drops its own (both checked the same log) instead of raising."""
    world.verify()
    before = logstate.load(world.store.conn, world.dev.server_id)
    world.post_event()
    world.verify()  # "the other process"
    after = logstate.load(world.store.conn, world.dev.server_id)
    assert before is not None and after is not None and after.size > before.size
    real, calls = logstate.load, []

    def stale(conn: Any, server_id: str) -> Any:
        calls.append(server_id)
        return before if len(calls) == 1 else real(conn, server_id)
    monkeypatch.setattr(logstate, "load", stale)
    grown = Checkpoint(before.origin, before.size + 1, bytes(32))
    assert logstate.save(world.store, world.dev.server_id, before.key, grown, "n", {},
                         before.scan) is False
    monkeypatch.undo()
    assert logstate.load(world.store.conn, world.dev.server_id) == after


def test_a_damaged_scan_border_is_an_integrity_error(world: World) -> None:
    """A border that does not fit its size (one hash per bit of it) is refused, not used."""
    world.verify()
    with world.store.write() as tx:
        tx.execute("UPDATE sync_checkpoints SET border = x'00'")
        world.store.log(tx, "test.damage")
    with pytest.raises(IntegrityError, match="is damaged"):
        world.verify()
