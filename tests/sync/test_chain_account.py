"""Attacks on the account chain (msante/sync/account_chain.py): a server that forges, adds
its own device, substitutes keys, drops, reorders, forks or rewrites entries is caught, and
the ChainError's reason names what it did."""

from __future__ import annotations

import dataclasses

import pytest

from msante.sync.chains import (
    AccountChain,
    ChainEntry,
    ChainError,
    b64e,
    device_bundle,
)
from msante.sync.crypto import SigningKey
from tests.sync.chain_helpers import SEALS, SIGNERS, account, kid

A, B, C, D, SERVER = SIGNERS[:5]


def refused(entries: list[ChainEntry], reason: str, **kw: object) -> ChainError:
    """Assert that verify refuses `entries` for `reason`; return the error."""
    with pytest.raises(ChainError) as info:
        AccountChain.verify(entries, **kw)  # type: ignore[arg-type]
    assert info.value.reason == reason, info.value
    return info.value


def test_an_honest_chain_verifies() -> None:
    """The control: add, remove and key-bundle entries by the right devices verify."""
    acc = account("alice", A, B, C)
    acc.remove(C, by=B)
    acc.entries.append(AccountChain.key_bundle(acc.state, B, D, SEALS[3], "phone"))
    state = AccountChain.verify(acc.entries, expect_first_key=A.verify_key())
    assert set(state.devices) == {kid(A), kid(D)}
    assert set(state.removed) == {kid(B), kid(C)}
    assert state.devices[kid(D)].name == "phone" and state.devices[kid(D)].seal == SEALS[3]
    assert state.removed[kid(C)].removed_seq == 3 and state.account == "alice"


def test_a_forged_signature_is_refused() -> None:
    """An entry naming device A as signer but signed by the server's key."""
    acc = account("alice", A)
    genuine = AccountChain.add_device(acc.state, A, device_bundle(acc.chain, "x", B, SEALS[2]))
    forged = ChainEntry.create(SERVER, genuine.chain, 1, genuine.prev, genuine.kind,
                               genuine.body)
    forged = dataclasses.replace(genuine, signature=forged.signature)
    refused([*acc.entries, forged], "forged-signature")


def test_a_device_added_by_the_server_is_refused() -> None:
    """The server adds a device of its own, signing the entry with that device's key."""
    acc = account("alice", A, B)
    own = AccountChain.add_device(acc.state, SERVER,
                                  device_bundle(acc.chain, "server", SERVER, SEALS[4]))
    refused([*acc.entries, own], "unknown-signer")


def test_an_entry_signed_by_a_device_not_yet_in_the_chain_is_refused() -> None:
    """C signs the addition of D at seq 1, before anyone added C."""
    acc = account("alice", A)
    early = AccountChain.add_device(acc.state, C, device_bundle(acc.chain, "d", D, SEALS[3]))
    refused([*acc.entries, early], "unknown-signer")


def test_a_removed_device_signing_later_is_refused() -> None:
    """A stolen device B, removed at seq 2, adds the thief's device at seq 3."""
    acc = account("alice", A, B)
    acc.remove(B)
    late = AccountChain.add_device(acc.state, B, device_bundle(acc.chain, "thief", C, SEALS[2]))
    refused([*acc.entries, late], "removed-signer")


def test_a_replaced_key_signing_later_is_refused() -> None:
    """After B's key-bundle to D, B's old key signs nothing more."""
    acc = account("alice", A, B)
    acc.entries.append(AccountChain.key_bundle(acc.state, B, D, SEALS[3], "phone"))
    late = AccountChain.remove_device(acc.state, B, kid(A))
    refused([*acc.entries, late], "removed-signer")


def test_a_substituted_key_in_a_bundle_is_refused() -> None:
    """A honestly adds the bundle the server swapped: the server's key under B's proof."""
    acc = account("alice", A)
    bundle = device_bundle(acc.chain, "phone", B, SEALS[2])
    bundle["verify"] = b64e(SERVER.verify_key().to_bytes())
    entry = AccountChain.add_device(acc.state, A, bundle)
    refused([*acc.entries, entry], "forged-signature")


def test_a_bundle_made_for_another_account_is_refused() -> None:
    """B's consent to join bob's account does not let the server add B to alice's."""
    acc = account("alice", A)
    entry = AccountChain.add_device(acc.state, A,
                                    device_bundle("account:bob", "phone", B, SEALS[2]))
    refused([*acc.entries, entry], "forged-signature")


def test_a_key_bundle_not_signed_by_the_previous_key_is_refused() -> None:
    """The server's new key for B, signed only by itself (as the entry's signer)."""
    acc = account("alice", A, B)
    body = {"device": b64e(kid(B)), "bundle": device_bundle(acc.chain, "b", SERVER, SEALS[4])}
    entry = AccountChain.append(acc.state, SERVER, "key-bundle", body)
    refused([*acc.entries, entry], "unknown-signer")


def test_a_key_bundle_by_another_device_is_refused() -> None:
    """A may add and remove devices, not replace B's keys in B's name."""
    acc = account("alice", A, B)
    body = {"device": b64e(kid(B)), "bundle": device_bundle(acc.chain, "b", D, SEALS[3])}
    entry = AccountChain.append(acc.state, A, "key-bundle", body)
    refused([*acc.entries, entry], "not-allowed")


def test_a_key_bundle_without_the_new_keys_consent_is_refused() -> None:
    """B's old key signs a bundle whose proof was made by another key than the new one."""
    acc = account("alice", A, B)
    bundle = device_bundle(acc.chain, "b", D, SEALS[3])
    bundle["proof"] = device_bundle(acc.chain, "b", SERVER, SEALS[3])["proof"]
    entry = AccountChain.append(acc.state, B, "key-bundle",
                                {"device": b64e(kid(B)), "bundle": bundle})
    refused([*acc.entries, entry], "forged-signature")


def test_a_gap_is_refused() -> None:
    """Entry 2 dropped."""
    acc = account("alice", A, B, C, D)
    refused(acc.entries[:2] + acc.entries[3:], "gap")


def test_a_reorder_is_refused() -> None:
    """Entries 2 and 3 swapped."""
    acc = account("alice", A, B, C, D)
    e = acc.entries
    refused([e[0], e[1], e[3], e[2]], "gap")


def test_a_fork_two_entries_with_one_seq_is_refused() -> None:
    """Two different entries 1, each validly signed: the server shows both."""
    acc = account("alice", A)
    one = AccountChain.add_device(acc.state, A, device_bundle(acc.chain, "b", B, SEALS[2]))
    other = AccountChain.add_device(acc.state, A, device_bundle(acc.chain, "c", C, SEALS[2]))
    refused([*acc.entries, one, other], "fork")


def test_a_replayed_entry_is_refused() -> None:
    """The same entry served twice."""
    acc = account("alice", A, B)
    refused([*acc.entries, acc.entries[1]], "duplicate")


def test_a_wrong_prev_hash_is_refused() -> None:
    """A validly signed entry 2 that does not follow entry 1 (made on another history)."""
    acc = account("alice", A, B)
    other = account("alice", A, C)  # another history: its entry 1 is not this entry 1
    late = AccountChain.remove_device(other.state, A, kid(C))
    refused([*acc.entries, late], "wrong-prev")


def test_the_first_device_must_be_the_expected_one() -> None:
    """A whole chain the server made for this account id, with its own first device."""
    fake = account("alice", SERVER)
    refused(fake.entries, "unexpected-key", expect_first_key=A.verify_key())
    refused(fake.entries, "unexpected-key", expect_first_key=kid(A))


def test_another_accounts_chain_is_refused() -> None:
    """Bob's genuine chain served as alice's."""
    refused(account("bob", B).entries, "wrong-chain", chain="account:alice")


def test_a_genesis_not_signed_by_its_device_is_refused() -> None:
    """A genesis whose device bundle is A's but whose signature is the server's."""
    genuine = account("alice", A).entries[0]
    forged = ChainEntry.create(SERVER, "account:alice", 0, bytes(32), "genesis", genuine.body)
    refused([forged], "unknown-signer")


@pytest.mark.parametrize("case", ["second-genesis", "removed-comes-back", "last-device",
                                  "not-a-device", "space-kind", "bad-name"])
def test_entries_that_break_the_rules_are_refused(case: str) -> None:
    """Validly signed entries that break a rule of the chain."""
    acc = account("alice", A, B)
    state = acc.state
    if case == "second-genesis":
        entry = AccountChain.append(state, A, "genesis", acc.entries[0].body)
    elif case == "removed-comes-back":
        acc.remove(B)
        entry = AccountChain.add_device(acc.state, A, device_bundle(acc.chain, "b", B, SEALS[2]))
    elif case == "last-device":
        acc.remove(B)
        entry = AccountChain.remove_device(acc.state, A, kid(A))
    elif case == "not-a-device":
        entry = AccountChain.remove_device(state, A, kid(C))
    elif case == "space-kind":
        entry = AccountChain.append(state, A, "rotate", {})
    else:
        entry = AccountChain.add_device(state, A, device_bundle(acc.chain, "a\nb", C, SEALS[2]))
    refused([*acc.entries, entry], "malformed")


@pytest.mark.parametrize("body", [{}, {"device": "x"}, {"device": {"name": "x"}},
                                  {"device": b64e(bytes(32)), "more": 1}])
def test_malformed_bodies_are_chain_errors(body: dict[str, object]) -> None:
    """Bodies of the wrong shape, validly signed, are ChainError 'malformed'."""
    acc = account("alice", A, B)
    refused([*acc.entries, AccountChain.append(acc.state, A, "add-device", body)], "malformed")


def test_an_empty_chain_is_refused() -> None:
    """No entries is no account."""
    refused([], "empty")


def test_a_key_bundle_may_keep_the_signing_key_and_change_the_seal_key() -> None:
    """Rotating only the HPKE key: the device keeps its key_id, with its new seal key."""
    acc = account("alice", A, B)
    acc.entries.append(AccountChain.key_bundle(acc.state, B, B, SEALS[7], "b"))
    assert acc.state.devices[kid(B)].seal == SEALS[7] and not acc.state.removed


def test_signing_keys_are_distinct() -> None:
    """The test keys are distinct (the attacks above rely on it)."""
    keys: list[SigningKey] = [A, B, C, D, SERVER]
    assert len({kid(k) for k in keys}) == 5
