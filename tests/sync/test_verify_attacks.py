"""A server that lies about its log: each lie is an integrity error naming what it did.

The real server runs on 127.0.0.1; the device's client goes through `Lying`, which rewrites
the server's answers. After every refused verification the checkpoint and heads the vault
kept are exactly what they were: a lying server never moves them.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from msante.errors import BadServerAnswer, ExitCode, IntegrityError
from msante.sync import logstate, merkle
from msante.sync.chains import AccountChain, ChainEntry, ChainError
from msante.sync.checkpoint import (
    BadCheckpointError,
    Checkpoint,
    ForkError,
    NoteSigner,
    RollbackError,
    sign_checkpoint,
)
from msante.sync.client import b64
from msante.sync.crypto import SealKey
from msante.sync.logcheck import (
    EventGapError,
    HiddenEntryError,
    KeyChangedError,
    NotLoggedError,
)
from tests.sync.verify_helpers import World, build_world, fresh_leaf


@pytest.fixture
def world(vault: Any, tmp_path: Path) -> Iterator[World]:
    """A vault set up with a live server, two chains and three events."""
    yield from build_world(vault.store, tmp_path / "srv")


def kept(world: World) -> tuple[Any, Any]:
    """What the vault keeps of the log: the checkpoint and the heads."""
    conn, server = world.store.conn, world.dev.server_id
    return logstate.load(conn, server), logstate.heads(conn, server)


def refused(world: World, error: type[Exception], *words: str) -> str:
    """Verify; it must fail with `error`, exit 6, a message with `words`, and keep nothing."""
    before = kept(world)
    with pytest.raises(error) as caught:
        world.verify()
    assert isinstance(caught.value, IntegrityError)
    assert caught.value.exit_code == ExitCode.INTEGRITY
    message = str(caught.value)
    for word in words:
        assert word in message, message
    assert kept(world) == before
    return message


def answer(value: Any) -> Any:
    """A rewrite rule that answers `value` whatever the server said."""
    return lambda _body, _request: value


def other_key_note(world: World, size: int, root: bytes) -> tuple[NoteSigner, str]:
    """A checkpoint with the log's name, signed by a key that is not the log's."""
    impostor = NoteSigner.generate(world.signer.name)
    return impostor, sign_checkpoint(Checkpoint(world.signer.name, size, root), impostor)


# --------------------------------------------------------------------------- the checkpoint


def test_a_checkpoint_signed_by_another_key(world: World) -> None:
    """A checkpoint whose signature is not the pinned key's is refused before anything else."""
    first = world.verify()
    _impostor, note = other_key_note(world, first["log"]["size"] + 1, secrets.token_bytes(32))
    world.lying.rules["/log/checkpoint"] = answer({"note": note})
    refused(world, BadCheckpointError, "not signed by the server's pinned log key")


def test_a_changed_log_key(world: World) -> None:
    """The key endpoint names another key (and the checkpoint is signed by it): refused, the
    pinned key stays."""
    first = world.verify()
    impostor, note = other_key_note(world, first["log"]["size"], secrets.token_bytes(32))
    world.lying.rules["/log/key"] = answer({"origin": impostor.name,
                                            "key": impostor.verifier().vkey()})
    world.lying.rules["/log/checkpoint"] = answer({"note": note})
    refused(world, KeyChangedError, "log key changed", "another log")


def test_a_log_that_shrank(world: World) -> None:
    """An older (genuinely signed) checkpoint after a newer one: a rollback."""
    old_note = world.note()
    world.post_event()
    world.post_event()
    size = world.verify()["log"]["size"]
    world.lying.rules["/log/checkpoint"] = answer({"note": old_note})
    refused(world, RollbackError, f"went back from {size} to {size - 2} entries")


def test_a_fork_at_the_same_size(world: World) -> None:
    """A second history of the same size (its last leaf swapped), signed with the log's real
    key: two roots at one size."""
    size = world.verify()["log"]["size"]
    leaves = world.leaves(size)
    note, _tree = world.forged_note([*leaves[:-1], fresh_leaf()])
    world.lying.rules["/log/checkpoint"] = answer({"note": note})
    refused(world, ForkError, f"two different logs of {size} entries")


def test_a_fork_that_grew(world: World) -> None:
    """A larger second history that rewrote an old leaf, with a consistency proof computed
    from that history: the proof cannot lead to the root this device kept."""
    size = world.verify()["log"]["size"]
    leaves = world.leaves(size)
    leaves[1] = fresh_leaf()
    note, tree = world.forged_note([*leaves, fresh_leaf(), fresh_leaf()])
    proof = [b64(h) for h in merkle.consistency_proof(size, size + 2, tree)]
    world.lying.rules["/log/checkpoint"] = answer({"note": note})
    world.lying.rules["/log/proof/consistency"] = answer(
        {"old": size, "new": size + 2, "proof": proof})
    refused(world, ForkError, f"log of {size + 2} entries does not extend its log of {size}")


def problem(status: int, detail: str) -> Any:
    """A rule answering an RFC 9457 problem instead of what the server said."""
    return lambda _body, _request: httpx.Response(
        status, json={"type": "urn:msante:problem:log-range", "title": "Out of range",
                      "status": status, "detail": detail},
        headers={"Content-Type": "application/problem+json"})


def test_a_larger_checkpoint_without_its_consistency_proof(world: World) -> None:
    """A server that signs a larger log but will not prove it extends ours hides a fork."""
    size = world.verify()["log"]["size"]
    world.post_event()
    world.lying.rules["/log/proof/consistency"] = problem(400, "No proof for you.")
    refused(world, ForkError, f"signed a log of {size + 1} entries but does not prove",
            "No proof for you.")


# --------------------------------------------------------------------------- chains


def rewrite_entry(chain: str, seq: int, new: ChainEntry | None = None,
                  **fields: Any) -> Any:
    """A rule replacing entry `seq` of `chain`'s page by `new` (its stated hash recomputed)
    and/or some of the record's fields."""
    def rewrite(body: dict[str, Any], request: httpx.Request) -> dict[str, Any]:
        if chain not in request.url.path.replace("%3A", ":"):
            return body
        for record in body["entries"]:
            if record["seq"] == seq:
                if new is not None:
                    record["entry"], record["hash"] = b64(new.to_json()), b64(new.hash())
                record.update(fields)
        return body
    return rewrite


def test_a_rewritten_chain_entry_never_logged(world: World) -> None:
    """Another entry 1, validly signed by this very device (one the server kept aside) and
    chained correctly, but not the one the log committed: its inclusion fails."""
    logged = world.space_entries.pop()
    alternative = world.rotate()
    world.space_entries.append(logged)
    assert alternative.seq == 1 and alternative != logged
    world.lying.rules["/chains/space:"] = rewrite_entry(world.space_chain, 1, alternative)
    refused(world, NotLoggedError, f"Entry 1 of chain {world.space_chain} is not in the "
            "server's log")


def test_an_altered_chain_entry(world: World) -> None:
    """An entry whose body the server edited (its signature left as it was)."""
    entry = world.space_entries[1]
    body = dict(entry.body) | {"key_version": 7}
    altered = ChainEntry(entry.chain, entry.seq, entry.prev, entry.kind, body, entry.signer,
                         entry.signature, entry.checkpoint)
    world.lying.rules["/chains/space:"] = rewrite_entry(world.space_chain, 1, altered)
    refused(world, ChainError, "signature that does not verify")


def test_a_stated_hash_that_is_not_the_entry_s(world: World) -> None:
    """The record's hash is not its entry's: the server altered the entry or its record."""
    world.lying.rules["/chains/account:"] = rewrite_entry(
        world.account_chain, 0, hash=b64(secrets.token_bytes(32)))
    refused(world, NotLoggedError, "does not match", "altered")


def test_a_chain_entry_pointing_at_another_leaf(world: World) -> None:
    """The entry is shown, but the leaf the server names for it is an event's: not logged."""
    world.lying.rules["/chains/space:"] = rewrite_entry(world.space_chain, 1, leaf_index=2)
    refused(world, NotLoggedError, f"Entry 1 of chain {world.space_chain} is not in the "
            "server's log at leaf 2")


def test_a_chain_entry_beyond_the_log(world: World) -> None:
    """A leaf index past the log's size: something the server never logged."""
    world.lying.rules["/chains/account:"] = rewrite_entry(world.account_chain, 0,
                                                          leaf_index=10_000)
    refused(world, NotLoggedError, "leaf 10000 of its log", "never logged")


def test_a_false_inclusion_proof(world: World) -> None:
    """An audit path of random hashes leads to no root."""
    world.lying.rules["/log/proof/inclusion"] = lambda body, _r: body | {
        "proof": [b64(secrets.token_bytes(32)) for _ in body["proof"]]}
    refused(world, NotLoggedError, "is not in the server's log")


def test_an_inclusion_proof_refused(world: World) -> None:
    """The server will not prove an entry it shows is in its log."""
    world.lying.rules["/log/proof/inclusion"] = problem(400, "Need 0 <= index < size.")
    refused(world, NotLoggedError, "does not prove that entry 0 of chain", "Need 0 <= index")


def test_a_chain_cut_after_it_was_seen(world: World) -> None:
    """The space chain's last entry hidden after a verify saw it: a rollback of the chain."""
    world.verify()
    world.lying.rules["/chains/space:"] = lambda body, _r: body | {
        "entries": body["entries"][:-1], "next": 1}
    refused(world, ChainError, "went back from 2 to 1 entries")


def test_a_chain_hidden_whole_after_it_was_seen(world: World) -> None:
    """An account chain the server now shows empty: a rollback, not a chain 'not there yet'."""
    world.verify()
    world.lying.rules["/chains/account:"] = lambda body, _r: body | {"entries": [], "next": 0}
    refused(world, ChainError, "went back from 1 to 0 entries")


def test_a_chain_entry_hidden_from_the_first_walk(world: World) -> None:
    """The server never shows the space chain's last entry (nothing seen before to compare
    with): reading the log's leaves finds its leaf all the same."""
    world.lying.rules["/chains/space:"] = lambda body, _r: body | {
        "entries": body["entries"][:-1], "next": 1}
    refused(world, HiddenEntryError, f"holds entry 1 of chain {world.space_chain}",
            "did not show it")


def test_a_new_account_entry_hidden_later(world: World) -> None:
    """A device added to the account after the last verify, and hidden from this one."""
    world.verify()
    state = AccountChain.verify(world.account_entries)
    entry = AccountChain.key_bundle(state, world.dev.signing, world.dev.signing,
                                    SealKey.generate().public_key(), "renewed")
    world.post_chain(entry)
    world.lying.rules["/chains/account:"] = lambda body, _r: body | {
        "entries": body["entries"][:1], "next": 1}
    refused(world, HiddenEntryError, f"holds entry 1 of chain {world.account_chain}")


def test_leaves_listed_falsely_to_hide_an_entry(world: World) -> None:
    """The listed leaves swap out the hidden entry's leaf: they no longer hash to the signed
    root."""
    hidden_leaf = 5  # the rotation, the last leaf
    world.lying.rules["/chains/space:"] = lambda body, _r: body | {
        "entries": body["entries"][:-1], "next": 1}
    world.lying.rules["/log/entries"] = lambda body, _r: body | {"entries": [
        e if e["index"] != hidden_leaf else e | {"data": b64(fresh_leaf())}
        for e in body["entries"]]}
    refused(world, ForkError, "do not make the log it signed")


def test_leaves_listed_out_of_place(world: World) -> None:
    """A listing that skips a leaf is refused before anything is read from it."""
    world.lying.rules["/log/entries"] = lambda body, _r: body | {
        "entries": body["entries"][1:]}
    refused(world, ForkError, "other leaves of its log than those asked for")


# --------------------------------------------------------------------------- events


def test_a_gap_in_the_events(world: World) -> None:
    """Event 1 dropped from the sequence: events go 0, 2."""
    world.lying.rules["/events"] = lambda body, _r: body | {
        "events": [e for e in body["events"] if e["seq"] != 1]}
    refused(world, EventGapError, "jump from 1 to 2", "dropped")


def test_events_hidden_after_they_were_seen(world: World) -> None:
    """The last event hidden (the sequence itself has no gap) after a verify saw three."""
    world.verify()
    world.lying.rules["/events"] = lambda body, _r: body | {
        "events": body["events"][:-1], "next": 2}
    refused(world, RollbackError, "2 events", "3 before")


def test_an_event_swapped_after_it_was_seen(world: World) -> None:
    """Event 0 replaced by another logged leaf's content: its history is rewritten."""
    world.verify()

    def swap(body: dict[str, Any], _r: Any) -> dict[str, Any]:
        body["events"][0]["commitment"] = b64(secrets.token_bytes(40))
        return body
    world.lying.rules["/events"] = swap
    refused(world, EventGapError, "no longer those seen before")


def test_an_event_not_in_the_log(world: World) -> None:
    """An event the server shows but never logged (its commitment altered)."""
    def alter(body: dict[str, Any], _r: Any) -> dict[str, Any]:
        body["events"][2]["commitment"] = b64(secrets.token_bytes(40))
        return body
    world.lying.rules["/events"] = alter
    refused(world, NotLoggedError, f"Event 2 of space {world.dev.space} is not in the "
            "server's log")


# --------------------------------------------------------------------------- gossip


def post_rotation_carrying(world: World, note: str) -> None:
    """A space chain entry (signed by this device) carrying checkpoint `note`, posted."""
    entry = world.rotate(note)
    world.space_entries.append(entry)
    world.post_chain(entry)


def test_gossip_of_a_forked_checkpoint(world: World) -> None:
    """A device was shown a forked log (its checkpoint in entry 2, signed with the log's
    key): comparing it with ours finds two histories."""
    world.verify()
    size = 4
    leaves = world.leaves(size)
    note, _tree = world.forged_note([*leaves[:-1], fresh_leaf()])
    post_rotation_carrying(world, note)
    refused(world, ForkError, f"Entry 2 of chain {world.space_chain} carries a checkpoint "
            f"of {size} entries that does not agree", "different histories")


def test_gossip_from_a_larger_log_than_the_server_shows(world: World) -> None:
    """Another device saw a larger log than the one the server now shows us: a rollback."""
    world.verify()
    leaves = world.leaves(6)
    note, _tree = world.forged_note([*leaves, *(fresh_leaf() for _ in range(5))])
    post_rotation_carrying(world, note)
    refused(world, RollbackError, "carries a checkpoint of 11 entries", "log now has 7")


def test_gossip_signed_by_another_key(world: World) -> None:
    """A checkpoint in an entry, not signed by the log's key: that device saw another log."""
    _impostor, note = other_key_note(world, 3, secrets.token_bytes(32))
    post_rotation_carrying(world, note)
    refused(world, BadCheckpointError, f"entry 2 of chain {world.space_chain} is not signed")


# --------------------------------------------------------------------------- the vault side


def test_the_kept_checkpoint_never_moves_back(world: World) -> None:
    """logstate refuses, inside its transaction, a smaller size, another root at the same
    size, or another key — whoever asks."""
    report = world.verify()
    pinned = logstate.load(world.store.conn, world.dev.server_id)
    assert pinned is not None
    size, key = report["log"]["size"], report["log"]["key"]
    smaller = Checkpoint(pinned.origin, size - 1, secrets.token_bytes(32))
    with pytest.raises(RollbackError):
        logstate.save(world.store, world.dev.server_id, key, smaller, "n", {})
    other_root = Checkpoint(pinned.origin, size, secrets.token_bytes(32))
    with pytest.raises(ForkError):
        logstate.save(world.store, world.dev.server_id, key, other_root, "n", {})
    with pytest.raises(KeyChangedError):
        logstate.save(world.store, world.dev.server_id, "x+00000000+AAAA", smaller, "n", {})
    assert logstate.load(world.store.conn, world.dev.server_id) == pinned


def test_endless_empty_pages(world: World) -> None:
    """Pages that say 'more' but hold nothing would never end: not the API (exit 6)."""
    world.lying.rules["/events"] = lambda body, request: {
        "events": [], "next": int(request.url.params.get("since", 0)) + 1, "more": True}
    refused(world, BadServerAnswer, "page token did not move")
