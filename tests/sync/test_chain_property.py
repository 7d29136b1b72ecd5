"""Property tests over random valid chains (hypothesis): verify accepts every chain built by
the rules, agrees with a simple model of who is in, and refuses any single-byte change of any
entry's JSON with ChainError or ValueError — never accepts it, never raises anything else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msante.sync.chains import (
    AccountChain,
    ChainEntry,
    ChainError,
    SpaceChain,
    b64e,
    device_bundle,
)
from msante.sync.crypto import SigningKey
from tests.sync.chain_helpers import SEALS, SIGNERS, Space, account, kid, space

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
PEOPLE = {name: account(name, *keys) for name, keys in
          [("alice", SIGNERS[0:2]), ("bob", SIGNERS[2:4]), ("carol", SIGNERS[4:5]),
           ("dave", SIGNERS[5:6])]}


def random_account(data: st.DataObject) -> tuple[list[ChainEntry], set[bytes]]:
    """A random valid account chain and the key_ids the model says are in it at the end."""
    acc = account("acct", SIGNERS[0])
    active, unused = [SIGNERS[0]], list(SIGNERS[1:])
    for _ in range(data.draw(st.integers(0, 6), label="length")):
        op = data.draw(st.sampled_from(["add", "remove", "rebundle"]), label="op")
        signer = data.draw(st.sampled_from(active), label="signer")
        if op == "add" and unused:
            new = unused.pop(0)
            acc.entries.append(AccountChain.add_device(
                acc.state, signer, device_bundle(acc.chain, "d", new, SEALS[0])))
            active.append(new)
        elif op == "remove" and len(active) > 1:
            gone = data.draw(st.sampled_from(active), label="gone")
            acc.remove(gone, by=signer)
            active.remove(gone)
        elif op == "rebundle" and unused:
            new = unused.pop(0)
            acc.entries.append(AccountChain.key_bundle(acc.state, signer, new, SEALS[1], "n"))
            active[active.index(signer)] = new
    return acc.entries, {kid(k) for k in active}


def _space_step(sp: Space, data: st.DataObject) -> None:
    """One random valid entry appended to `sp`."""
    state = sp.state
    signer = data.draw(st.sampled_from([k for k in SIGNERS if kid(k) in state.writers]))
    outside = [n for n in PEOPLE if n not in state.members]
    op = data.draw(st.sampled_from(["member", "writer", "remove-writer", "remove-member",
                                    "rotate"]), label="op")
    if op == "member" and outside:
        role = data.draw(st.sampled_from(["manage", "read"]), label="role")
        limit = state.members[state.writers[kid(signer)]].expires
        months = [m for m in (None, "2026-01", "2031-12")
                  if limit is None or m is not None and m <= limit]
        month = data.draw(st.sampled_from(months), label="expires")
        sp.add_member(signer, data.draw(st.sampled_from(outside)), role, ("documents",), month)
        return
    candidates = [(n, k) for n, m in state.members.items() if m.role != "read"
                  for k in PEOPLE[n].keys if kid(k) not in state.writers]
    if op == "writer" and candidates:
        name, key = data.draw(st.sampled_from(candidates), label="writer")
        sp.add_writer(signer, name, key)
    elif op == "remove-writer":
        _remove_writer(sp, signer, data)
    elif op == "remove-member":
        gone = [n for n, m in state.members.items() if m.role != "owner"]
        if gone:
            sp.append(signer, "remove-member", {"account": data.draw(st.sampled_from(gone)),
                                                **sp.next_rotation()})
    else:
        sp.append(signer, "rotate", sp.next_rotation())


def _remove_writer(sp: Space, signer: SigningKey, data: st.DataObject) -> None:
    """Remove a writer the signer may remove, keeping one of the owner's writers."""
    state = sp.state
    by_owner = state.writers[kid(signer)] == "alice"
    spare = sum(a == "alice" for a in state.writers.values()) > 1
    allowed = [k for k, a in state.writers.items() if a != "alice" or by_owner and spare]
    if allowed:
        device = data.draw(st.sampled_from(sorted(allowed)), label="device")
        sp.append(signer, "remove-writer", {"device": b64e(device), **sp.next_rotation()})


def random_space(data: st.DataObject) -> Space:
    """A random valid space chain over PEOPLE, owned by alice."""
    sp = space("sp", PEOPLE["alice"], others=tuple(PEOPLE.values()))
    for _ in range(data.draw(st.integers(0, 5), label="length")):
        _space_step(sp, data)
    return sp


def tampered(entries: list[ChainEntry], data: st.DataObject) -> tuple[int, bytes]:
    """The index of an entry and its JSON with one byte changed."""
    index = data.draw(st.integers(0, len(entries) - 1), label="entry")
    raw = bytearray(entries[index].to_json())
    where = data.draw(st.integers(0, len(raw) - 1), label="byte")
    raw[where] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[where]), label="to")
    return index, bytes(raw)


@SETTINGS
@given(st.data())
def test_every_valid_account_chain_verifies(data: st.DataObject) -> None:
    """Built by the rules, accepted; the devices are the model's."""
    entries, active = random_account(data)
    state = AccountChain.verify(entries, expect_first_key=SIGNERS[0].verify_key())
    assert set(state.devices) == active
    assert [ChainEntry.from_json(e.to_json()) for e in entries] == entries


@SETTINGS
@given(st.data())
def test_any_byte_changed_in_an_account_chain_is_refused(data: st.DataObject) -> None:
    """One byte of one entry's JSON changed: ValueError or ChainError, never acceptance."""
    entries, _ = random_account(data)
    index, raw = tampered(entries, data)
    try:
        entries[index] = ChainEntry.from_json(raw)
        AccountChain.verify(entries, expect_first_key=SIGNERS[0].verify_key())
    except (ChainError, ValueError):
        return
    raise AssertionError(f"a changed byte of entry {index} was accepted")


@SETTINGS
@given(st.data())
def test_every_valid_space_chain_verifies(data: st.DataObject) -> None:
    """Built by the rules, accepted; the key version counts the rotations."""
    sp = random_space(data)
    state = SpaceChain.verify(sp.entries, sp.lookup)
    rotations = sum(e.kind in ("rotate", "remove-writer", "remove-member") for e in sp.entries)
    assert state.key_version == 1 + rotations
    assert all(state.members[a].role != "read" for a in state.writers.values())


@SETTINGS
@given(st.data())
def test_any_byte_changed_in_a_space_chain_is_refused(data: st.DataObject) -> None:
    """One byte of one entry's JSON changed: ValueError or ChainError, never acceptance."""
    sp = random_space(data)
    entries = list(sp.entries)
    index, raw = tampered(entries, data)
    try:
        entries[index] = ChainEntry.from_json(raw)
        SpaceChain.verify(entries, sp.lookup)
    except (ChainError, ValueError):
        return
    raise AssertionError(f"a changed byte of entry {index} was accepted")
