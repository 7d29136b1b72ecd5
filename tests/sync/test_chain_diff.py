"""diff (msante/sync/chains.py): the entries a person did not make on this device are listed
for the "unexpected entry" warning, and a chain that went back or was rewritten is refused."""

from __future__ import annotations

import pytest

from msante.sync.chains import AccountChain, ChainError, device_bundle, diff
from tests.sync.chain_helpers import SEALS, SIGNERS, account, kid, space

A, B, C, SERVER = SIGNERS[:4]


def test_entries_made_elsewhere_are_unexpected() -> None:
    """B adds C: A's device, which made none of it, is shown both new entries."""
    acc = account("alice", A)
    old = acc.state
    acc.add(B)
    acc.add(C, by=B)
    new = acc.state
    assert diff(old, new) == tuple(acc.entries[1:])
    assert diff(old, new, mine={kid(A)}) == (acc.entries[2],)
    assert diff(old, new, mine={kid(A), kid(B)}) == ()
    assert diff(new, new) == ()


def test_with_no_earlier_state_every_other_entry_is_unexpected() -> None:
    """A device that saw nothing yet (first sync) is shown all entries it did not make."""
    acc = account("alice", A, B)
    assert diff(None, acc.state, mine={kid(B)}) == tuple(acc.entries)


def test_a_shorter_chain_is_a_rollback() -> None:
    """The server serves an older chain than the one this device saw."""
    acc = account("alice", A, B)
    old = acc.state
    with pytest.raises(ChainError) as info:
        diff(old, AccountChain.verify(acc.entries[:1]))
    assert info.value.reason == "rollback"


def test_another_history_is_a_rewrite() -> None:
    """The server serves, at the same length, another valid history (a fork shown later)."""
    one, other = account("alice", A), account("alice", A)
    other.entries[0] = one.entries[0]  # ML-DSA signs with fresh randomness: share entry 0
    one.add(B)
    other.entries.append(AccountChain.add_device(
        other.state, A, device_bundle(other.chain, "x", SERVER, SEALS[5])))
    other.add(C)
    with pytest.raises(ChainError) as info:
        diff(one.state, other.state)
    assert info.value.reason == "rewritten" and info.value.seq == 1


def test_diff_works_on_space_chains_and_refuses_another_chain() -> None:
    """A space's new entries are listed too; comparing two chains is an error."""
    sp = space("s1", account("alice", A, B))
    old = sp.state
    sp.add_writer(A, "alice", B)
    assert diff(old, sp.state, mine={kid(B)}) == (sp.entries[-1],)
    with pytest.raises(ChainError) as info:
        diff(account("alice", A).state, sp.state)
    assert info.value.reason == "wrong-chain"
