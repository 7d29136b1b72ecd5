"""Attacks on the space chain (msante/sync/space_chain.py): removals without new keys,
read-only members writing or adding members, devices the account chains never listed,
removed writers and removed devices signing, malformed memberships."""

from __future__ import annotations

import pytest

from msante.sync.chains import ChainError, SpaceChain, b64e
from tests.sync.chain_helpers import SIGNERS, Account, Space, account, kid, rotation, space

A1, A2, B1, C1, SERVER, A3 = SIGNERS[:6]


def world() -> Space:
    """alice (owner, devices A1 A2 writing), bob (manage, B1 writing), carol (read): a copy
    of one space built once (entries are immutable; the lists are copied)."""
    accounts = {n: Account(a.name, list(a.keys), list(a.entries))
                for n, a in _WORLD.accounts.items()}
    return Space(_WORLD.name, accounts, list(_WORLD.entries))


def _build_world() -> Space:
    """The space `world` copies."""
    alice, bob, carol = account("alice", A1, A2, A3), account("bob", B1), account("carol", C1)
    sp = space("s1", alice, others=(bob, carol))
    sp.add_writer(A1, "alice", A2)
    sp.add_member(A1, "bob", "manage", ("documents", "profile"), "2027-06")
    sp.add_writer(A1, "bob", B1)
    sp.add_member(A1, "carol", "read", ("documents",), "2026-12")
    return sp


_WORLD = _build_world()


def refused(sp: Space, reason: str) -> ChainError:
    """Assert that the space's entries are refused for `reason`; return the error."""
    with pytest.raises(ChainError) as info:
        SpaceChain.verify(sp.entries, sp.lookup)
    assert info.value.reason == reason, info.value
    return info.value


def test_an_honest_space_chain_verifies() -> None:
    """The control: members, roles, scopes, expiry months, writers, key version."""
    state = world().state
    assert {a: m.role for a, m in state.members.items()} == {
        "alice": "owner", "bob": "manage", "carol": "read"}
    assert state.members["carol"].expires == "2026-12"
    assert state.members["bob"].scopes == {"documents", "profile"}
    assert dict(state.writers) == {kid(A1): "alice", kid(A2): "alice", kid(B1): "bob"}
    assert state.key_version == 1 and state.space == "s1" and not state.stale_writers


def test_removing_a_member_rotates_the_keys_and_drops_its_writers() -> None:
    """The control for the no-rotation attacks."""
    sp = world()
    before = sp.state
    sp.append(A1, "remove-member", {"account": "bob", **sp.next_rotation()})
    after = sp.state
    assert after.key_version == 2 and "bob" not in after.members
    assert kid(B1) not in after.writers and kid(B1) in after.removed_writers
    assert after.inbox != before.inbox and after.signing != before.signing


@pytest.mark.parametrize("kind", ["remove-member", "remove-writer", "rotate"])
@pytest.mark.parametrize("version", [1, 3, 0])
def test_a_removal_without_a_new_key_version_is_refused(kind: str, version: int) -> None:
    """Member or device removed under the same (or a skipped, or an older) key version."""
    sp = world()
    target = {"remove-member": {"account": "bob"}, "remove-writer": {"device": b64e(kid(B1))},
              "rotate": {}}[kind]
    sp.append(A1, kind, {**target, **rotation(version).body()})
    refused(sp, "no-rotation")


@pytest.mark.parametrize("same", ["inbox", "signing"])
def test_a_removal_keeping_the_inbox_or_signing_key_is_refused(same: str) -> None:
    """Version + 1 but the old inbox (or space signing) key kept: no rotation."""
    sp = world()
    body = {"account": "bob", **sp.next_rotation()}
    old = sp.entries[0].body
    body[same] = old[same]
    sp.append(A1, "remove-member", body)
    refused(sp, "no-rotation")


def test_a_read_only_members_device_as_writer_is_refused() -> None:
    """carol may read; her device listed as writer (by an owner) is refused."""
    sp = world()
    sp.add_writer(A1, "carol", C1)
    error = refused(sp, "read-only-writer")
    assert "carol" in str(error)


def test_a_member_added_by_a_read_only_member_is_refused() -> None:
    """carol's device signs the addition of a member."""
    sp = world()
    sp.append(C1, "add-member", {"account": "carol", "role": "manage",
                                 "scopes": ["documents"], "expires": None})
    error = refused(sp, "not-allowed")
    assert "carol" in str(error)


def test_a_device_added_by_the_server_cannot_write() -> None:
    """The server's own device, not in alice's account chain, listed as her writer."""
    sp = world()
    sp.add_writer(A1, "alice", SERVER)
    refused(sp, "not-allowed")


def test_an_entry_signed_by_the_servers_device_is_refused() -> None:
    """The server signs a space entry with a key no account chain lists."""
    sp = world()
    sp.add_member(SERVER, "carol", "manage")
    refused(sp, "unknown-signer")


def test_a_member_device_that_is_not_a_writer_cannot_sign() -> None:
    """alice's third device is in her account but was never made a writer of this space."""
    sp = world()
    sp.append(A3, "rotate", sp.next_rotation())
    refused(sp, "not-allowed")


def test_a_removed_writer_signing_later_is_refused() -> None:
    """B1, removed as writer at entry 5, signs entry 6."""
    sp = world()
    sp.append(A1, "remove-writer", {"device": b64e(kid(B1)), **sp.next_rotation()})
    sp.append(B1, "rotate", sp.next_rotation())
    refused(sp, "removed-signer")


def test_a_removed_members_device_signing_later_is_refused() -> None:
    """bob removed from the space (with his writer B1) signs entry 6."""
    sp = world()
    sp.append(A1, "remove-member", {"account": "bob", **sp.next_rotation()})
    sp.append(B1, "rotate", sp.next_rotation())
    refused(sp, "removed-signer")


def test_a_device_removed_from_its_account_signing_later_is_refused() -> None:
    """A2, removed from alice's account chain, signs a space entry nobody follows up."""
    sp = world()
    sp.accounts["alice"].remove(A2)
    sp.append(A2, "rotate", sp.next_rotation())
    refused(sp, "removed-signer")


def test_a_device_removed_from_its_account_cannot_clear_itself() -> None:
    """A2, removed from its account, removes itself as writer with keys of its choosing."""
    sp = world()
    sp.accounts["alice"].remove(A2)
    sp.append(A2, "remove-writer", {"device": b64e(kid(A2)), **sp.next_rotation()})
    refused(sp, "removed-signer")


def test_entries_before_a_removal_the_space_chain_follows_up_stand() -> None:
    """The documented limit: chains are not ordered with each other, so A2's entry before its
    removal from the space stands once an active device removed A2 from the space."""
    sp = world()
    sp.append(A2, "rotate", sp.next_rotation())
    sp.append(A1, "remove-writer", {"device": b64e(kid(A2)), **sp.next_rotation()})
    sp.accounts["alice"].remove(A2)  # the account chain entry may come before or after
    assert sp.state.key_version == 3 and kid(A2) not in sp.state.writers


def test_a_writer_removed_from_its_account_is_stale() -> None:
    """A2 still listed but gone from alice's account: it may no longer write items."""
    sp = world()
    sp.accounts["alice"].remove(A2)
    state = sp.state
    assert state.stale_writers == {kid(A2)}
    assert not state.may_write(kid(A2)) and state.may_write(kid(A1))


def test_a_forged_space_entry_is_refused() -> None:
    """An entry naming A1 as signer, with the server's signature."""
    import dataclasses

    sp = world()
    entry = sp.add_member(SERVER, "mallory", "manage")
    sp.entries[-1] = dataclasses.replace(entry, signer=kid(A1))
    refused(sp, "forged-signature")


@pytest.mark.parametrize("expires", ["2027-03-15", "2027-13", "2027-00", "27-03", "2027-3",
                                     202703, "2027-03T00:00"])
def test_an_expiry_is_a_month(expires: object) -> None:
    """Expiry is rounded to the month: 'YYYY-MM' or null, nothing finer."""
    sp = world()
    sp.append(A1, "add-member", {"account": "mallory", "role": "read",
                                 "scopes": ["documents"], "expires": expires})
    sp.accounts["mallory"] = account("mallory", SIGNERS[7])
    error = refused(sp, "malformed")
    assert "YYYY-MM" in str(error)


@pytest.mark.parametrize("scopes", [[], ["documents", "documents"], ["profile", "documents"],
                                    ["everything"], "documents"])
def test_scopes_are_a_sorted_subset_of_the_four(scopes: object) -> None:
    """Scopes: a non-empty, sorted list of distinct names of the closed list."""
    sp = world()
    sp.accounts["dave"] = account("dave", SIGNERS[7])
    sp.append(A1, "add-member", {"account": "dave", "role": "read", "scopes": scopes,
                                 "expires": None})
    refused(sp, "malformed")


def test_only_an_owner_makes_an_owner() -> None:
    """bob (manage) makes dave an owner."""
    sp = world()
    sp.accounts["dave"] = account("dave", SIGNERS[7])
    sp.add_member(B1, "dave", "owner",
                  ("agenda", "documents", "measurements", "profile"))
    refused(sp, "not-allowed")


def test_a_manager_cannot_remove_an_owner() -> None:
    """bob (manage) removes alice."""
    sp = world()
    sp.append(B1, "remove-member", {"account": "alice", **sp.next_rotation()})
    refused(sp, "not-allowed")


@pytest.mark.parametrize("case", ["last-owner", "unknown-account", "already-member",
                                  "not-a-member", "owner-with-expiry", "bad-role",
                                  "second-genesis", "account-kind", "last-writer"])
def test_entries_that_break_the_rules_are_refused(case: str) -> None:
    """Validly signed entries that break a rule of the space chain."""
    sp = world()
    reason = "malformed"
    if case == "last-owner":
        sp.append(A1, "remove-member", {"account": "alice", **sp.next_rotation()})
    elif case == "unknown-account":
        sp.add_member(A1, "nobody")
        reason = "not-allowed"
    elif case == "already-member":
        sp.add_member(A1, "carol")
    elif case == "not-a-member":
        sp.append(A1, "remove-member", {"account": "nobody", **sp.next_rotation()})
    elif case == "owner-with-expiry":
        sp.add_member(A1, "carol", "owner", ("agenda", "documents", "measurements", "profile"),
                      "2030-01")
    elif case == "bad-role":
        sp.add_member(A1, "dave", "admin")
    elif case == "second-genesis":
        sp.append(A1, "genesis", sp.entries[0].body)
    elif case == "account-kind":
        sp.append(A1, "add-device", {})
    else:
        for device in (A2, B1):
            sp.append(A1, "remove-writer", {"device": b64e(kid(device)), **sp.next_rotation()})
        sp.append(A1, "remove-writer", {"device": b64e(kid(A1)), **sp.next_rotation()})
    refused(sp, reason)


def test_a_genesis_by_a_device_outside_the_owners_account_is_refused() -> None:
    """The server creates a space in alice's name with its own key."""
    alice = account("alice", A1)
    sp = space("s2", alice, by=SERVER)
    refused(sp, "unknown-signer")


def test_a_genesis_must_start_at_key_version_1() -> None:
    """A space that claims to start at key version 5."""
    alice = account("alice", A1)
    sp = Space("s3", {"alice": alice})
    sp.entries.append(SpaceChain.genesis("s3", "alice", A1, rotation(5)))
    refused(sp, "no-rotation")


def test_gap_fork_and_wrong_prev_are_refused_in_a_space_chain() -> None:
    """The link rules are the account chain's: one test each here."""
    sp, other = world(), world()
    entries = list(sp.entries)
    mine = sp.append(A1, "rotate", sp.next_rotation())
    theirs = other.append(A1, "rotate", other.next_rotation())
    assert mine != theirs
    sp.entries = entries[:2] + entries[3:]
    refused(sp, "gap")
    sp.entries = [*entries, mine, theirs]
    refused(sp, "fork")
    late = other.append(A1, "rotate", other.next_rotation())
    sp.entries = [*entries, mine, late]
    refused(sp, "wrong-prev")


def test_an_account_chain_is_not_a_space_chain() -> None:
    """An account chain's entries given as a space chain."""
    with pytest.raises(ChainError) as info:
        SpaceChain.verify(account("alice", A1).entries, lambda a: None)
    assert info.value.reason == "wrong-chain"


@pytest.mark.parametrize("body", [
    {"account": "dave", "role": "read", "scopes": [{}], "expires": None},
    {"account": "dave", "role": "read", "scopes": [1, "documents"], "expires": None},
    {"account": "dave", "role": ["read"], "scopes": ["documents"], "expires": None},
    {"account": 5, "role": "read", "scopes": ["documents"], "expires": None},
    {"account": "da ve", "role": "read", "scopes": ["documents"], "expires": None},
    {"account": "dave", "role": "read", "scopes": ["documents"]},
])
def test_malformed_memberships_are_chain_errors(body: dict[str, object]) -> None:
    """Validly signed bodies of the wrong shape: ChainError 'malformed', nothing else."""
    sp = world()
    sp.accounts["dave"] = account("dave", SIGNERS[7])
    sp.append(A1, "add-member", body)
    refused(sp, "malformed")


@pytest.mark.parametrize("change", [{"key_version": "2"}, {"key_version": True},
                                    {"inbox": "!!"}, {"inbox": b64e(bytes(40))},
                                    {"signing": b64e(bytes(1985))}, {"device": 7}])
def test_malformed_rotations_are_chain_errors(change: dict[str, object]) -> None:
    """A remove-writer whose rotation or device field is malformed."""
    sp = world()
    sp.append(A1, "remove-writer", {"device": b64e(kid(B1)), **sp.next_rotation(), **change})
    refused(sp, "malformed")


def test_a_manager_cannot_remove_an_owners_writer() -> None:
    """bob (manage) removes alice's devices as writers: the owner would lose control."""
    sp = world()
    sp.append(B1, "remove-writer", {"device": b64e(kid(A2)), **sp.next_rotation()})
    refused(sp, "not-allowed")


def test_the_last_writer_of_the_owners_cannot_be_removed() -> None:
    """alice removes both her writers, leaving only bob's: no owner could sign again."""
    sp = world()
    sp.append(A1, "remove-writer", {"device": b64e(kid(A2)), **sp.next_rotation()})
    sp.append(A1, "remove-writer", {"device": b64e(kid(A1)), **sp.next_rotation()})
    error = refused(sp, "malformed")
    assert "owner" in str(error)


def test_an_expiry_month_is_the_last_month_of_membership() -> None:
    """Expiry '2026-12' is a member through December 2026, expired from January 2027."""
    carol = world().state.members["carol"]
    assert not carol.is_expired("2026-12") and carol.is_expired("2027-01")
    assert not world().state.members["alice"].is_expired("9999-12")


def test_chain_errors_are_translated_with_their_details() -> None:
    """The messages are user-facing: French, detail included, when the interface is French."""
    from msante import i18n

    sp = world()
    sp.add_writer(A1, "carol", C1)
    i18n.setup("fr")
    error = refused(sp, "read-only-writer")
    assert "lecture seule" in str(error) and "appareil de carol" in str(error)


@pytest.mark.parametrize(("scopes", "expires"), [
    (("agenda",), "2027-01"),             # a scope bob (documents, profile) does not have
    (("documents",), None),               # no expiry, though bob's ends in 2027-06
    (("documents",), "2027-07"),          # beyond bob's own expiry
])
def test_a_manager_grants_no_more_than_it_has(scopes: tuple[str, ...],
                                              expires: str | None) -> None:
    """bob (manage: documents and profile, until 2027-06) cannot widen what he was given."""
    sp = world()
    sp.accounts["dave"] = account("dave", SIGNERS[7])
    sp.add_member(B1, "dave", "read", scopes, expires)
    refused(sp, "not-allowed")


def test_a_manager_grants_within_what_it_has() -> None:
    """The control: bob grants documents until 2027-06 at the latest."""
    sp = world()
    sp.accounts["dave"] = account("dave", SIGNERS[7])
    sp.add_member(B1, "dave", "manage", ("documents", "profile"), "2027-06")
    assert sp.state.members["dave"].expires == "2027-06"


def test_a_remove_writer_names_the_device_s_last_item() -> None:
    """remove-writer's "last": the removed device's last item (seq, hash) or null; kept in
    the state per removed device (an entry without it, older, bounds nothing)."""
    sp = world()
    sp.append(A1, "remove-writer", {"device": b64e(kid(B1)), **sp.next_rotation(),
                                    "last": {"seq": 4, "item": b64e(bytes(range(32)))}})
    sp.append(A1, "remove-writer", {"device": b64e(kid(A2)), **sp.next_rotation(),
                                    "last": None})
    state = sp.state
    assert state.removed_last == {kid(B1): (4, bytes(range(32))), kid(A2): None}


@pytest.mark.parametrize("last", [{"seq": -1, "item": b64e(bytes(32))},
                                  {"seq": True, "item": b64e(bytes(32))},
                                  {"seq": 1, "item": b64e(bytes(31))},
                                  {"seq": 1}, {"seq": 1, "item": b64e(bytes(32)), "x": 1},
                                  5, "last", []])
def test_a_malformed_last_item_is_a_chain_error(last: object) -> None:
    """A remove-writer whose "last" is not null nor {"seq", "item"}: ChainError 'malformed'."""
    sp = world()
    sp.append(A1, "remove-writer", {"device": b64e(kid(B1)), **sp.next_rotation(),
                                    "last": last})
    refused(sp, "malformed")


def test_a_remove_member_names_each_writer_s_last_item() -> None:
    """remove-member's "last" maps each writer device of the member to its last item."""
    sp = world()
    sp.append(A1, "remove-member", {"account": "bob", **sp.next_rotation(),
                                    "last": {b64e(kid(B1)): None}})
    assert sp.state.removed_last == {kid(B1): None}


@pytest.mark.parametrize("last", [None, {}, {"x": None}, [], {"B1": {"seq": 1}}])
def test_a_remove_member_s_malformed_last_is_a_chain_error(last: object) -> None:
    """remove-member's "last" must name exactly the member's writers, each well formed."""
    sp = world()
    if last == {"B1": {"seq": 1}}:
        last = {b64e(kid(B1)): {"seq": 1}}
    sp.append(A1, "remove-member", {"account": "bob", **sp.next_rotation(), "last": last})
    refused(sp, "malformed")
