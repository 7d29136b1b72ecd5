"""classify: what an incoming revision is to the revisions of its record known here."""

from __future__ import annotations

import random

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from msante.sync.items import (
    APPEND_ONLY,
    Lineage,
    Verdict,
    classify,
    read_item,
    write_item,
)
from tests.sync.items_helpers import ALICE, BOB, SCOPE_KEY, key_id, measurement, routing

A, B, C = key_id(ALICE), key_id(BOB), b"\x0c" * 32
EDITABLE = "profile_entries"


def _history(*revisions: tuple[str, str | None, bytes]) -> list[Lineage]:
    return [Lineage(revision=r, base=b, device=d) for r, b, d in revisions]


LINE = _history(("r1", None, A), ("r2", "r1", A), ("r3", "r2", B))


def test_a_new_record_and_an_edit_of_the_head_fast_forward() -> None:
    """Unknown record created; an edit based on the head."""
    assert classify([], Lineage("r1", None, A), table=EDITABLE) is Verdict.FAST_FORWARD
    assert classify(LINE, Lineage("r4", "r3", A), table=EDITABLE) is Verdict.FAST_FORWARD


def test_concurrent_edits_of_one_head_conflict() -> None:
    """Alice and Bob both edit r3: both share it, neither descends from the other."""
    local = [*LINE, Lineage("r4a", "r3", A)]
    assert classify(local, Lineage("r4b", "r3", B), table=EDITABLE) is Verdict.CONFLICT


def test_a_delete_against_an_edit_conflicts() -> None:
    """A tombstone based on the edited revision's base: keep the edit and ask."""
    local = [*LINE, Lineage("r4", "r3", A)]
    assert classify(local, Lineage("r4d", "r3", B, deleted=True),
                    table=EDITABLE) is Verdict.CONFLICT


def test_a_forged_conflict_from_an_old_revision_is_stale() -> None:
    """Alice wrote r2 on r1; a revision of Alice's that forks from r1 again cannot be honest
    (her own history moved past r1): stale-fork-forged, never a conflict to ask about."""
    assert classify(LINE, Lineage("x", "r1", A), table=EDITABLE) is Verdict.STALE
    assert classify(LINE, Lineage("x", "r2", B), table=EDITABLE) is Verdict.STALE


def test_old_revisions_served_again_are_never_applied() -> None:
    """The server replays r1 or r2: already here. A base nobody here has: stale."""
    for old in LINE:
        assert classify(LINE, old, table=EDITABLE) is Verdict.ALREADY_HAVE
    assert classify(LINE, Lineage("x", "made-up", B), table=EDITABLE) is Verdict.STALE
    assert classify(LINE, Lineage("x", None, B), table=EDITABLE) is Verdict.STALE


def test_an_ancestor_served_late_is_stale() -> None:
    """A revision that what is here already descends from is old news, not a new head."""
    partial = LINE[1:]                       # r1 was never received
    assert classify(partial, Lineage("r1", None, A), table=EDITABLE) is Verdict.STALE


def test_a_retried_push_is_already_have_never_a_duplicate() -> None:
    """A push retried after a lost response is re-sealed (new nonce, new signature) with the
    same revision id: the second copy is already here."""
    record = measurement(note="retry")
    route = routing(record, scope="profile")
    first = write_item(record, EDITABLE, SCOPE_KEY, route, signer=ALICE, seq=0, prev=bytes(32))
    retry = write_item(record, EDITABLE, SCOPE_KEY, route, signer=ALICE, seq=0, prev=bytes(32))
    assert first.ciphertext != retry.ciphertext
    local: list[Lineage] = []
    for item in (first, retry):
        rev = read_item(item, SCOPE_KEY, ALICE.verify_key())
        incoming = Lineage(rev.revision, rev.base, item.envelope.routing.device, rev.deleted)
        verdict = classify(local, incoming, table=rev.table)
        if verdict is Verdict.FAST_FORWARD:
            local.append(incoming)
    assert verdict is Verdict.ALREADY_HAVE
    assert len(local) == 1


def test_append_only_kinds_never_conflict() -> None:
    """Two devices deleting one measurement: no conflict, the tombstone applies; an edit of a
    measurement from an older revision is stale."""
    for table in APPEND_ONLY:
        local = _history(("m1", None, A), ("m2", "m1", A))
        assert classify(local, Lineage("m2b", "m1", B, deleted=True),
                        table=table) is Verdict.FAST_FORWARD
        assert classify(local, Lineage("m2c", "m1", B), table=table) is Verdict.STALE


# -- the laws, on random histories ---------------------------------------------------------

DEVICES = [A, B, C]


@st.composite
def histories(draw: st.DrawFn) -> list[Lineage]:
    """A record's history: a tree of revisions from one root, maybe with holes."""
    count = draw(st.integers(1, 9))
    revs = [Lineage("r0", None, draw(st.sampled_from(DEVICES)), False)]
    for n in range(1, count):
        revs.append(Lineage(f"r{n}", f"r{draw(st.integers(0, n - 1))}",
                            draw(st.sampled_from(DEVICES)), draw(st.booleans())))
    holes = draw(st.sets(st.integers(0, count - 1), max_size=2))
    return [rev for i, rev in enumerate(revs) if i not in holes or draw(st.booleans())]


@st.composite
def incomings(draw: st.DrawFn, local: list[Lineage]) -> Lineage:
    """A revision that may be known, based on anything known, on nothing, or on a stranger."""
    ids = [rev.revision for rev in local] + ["r0", "r1", "r5", "zz"]
    revision = draw(st.sampled_from(ids + ["new"]))
    base = draw(st.sampled_from([None, *ids]))
    return Lineage(revision, base, draw(st.sampled_from(DEVICES)), draw(st.booleans()))


TABLES = st.sampled_from(["profile_entries", "documents", "agenda_items", *sorted(APPEND_ONLY)])


def _ancestors(rev_id: str, by_id: dict[str, Lineage]) -> set[str]:
    """rev_id and every revision it descends from, following bases known here."""
    out: set[str] = set()
    while rev_id in by_id and rev_id not in out:
        out.add(rev_id)
        base = by_id[rev_id].base
        if base is None:
            break
        rev_id = base
    return out


@settings(max_examples=400, deadline=None)
@given(data=st.data(), table=TABLES)
def test_the_laws_of_classify(data: st.DataObject, table: str) -> None:
    """Already-have exactly for known ids; a conflict only when both share a base and neither
    descends from the other (and not for append-only kinds); unknown bases and reused record
    ids are stale; the order of the local revisions does not matter."""
    local = data.draw(histories())
    incoming = data.draw(incomings(local))
    verdict = classify(local, incoming, table=table)
    by_id = {rev.revision: rev for rev in local}
    shuffled = list(local)
    random.Random(len(local)).shuffle(shuffled)
    assert classify(shuffled, incoming, table=table) is verdict
    assert (verdict is Verdict.ALREADY_HAVE) == (incoming.revision in by_id)
    if incoming.revision in by_id:
        return
    heads = {r for r in by_id if not any(o.base == r for o in local)}
    descends_from_incoming = any(o.base == incoming.revision for o in local)
    if verdict is Verdict.CONFLICT:
        assert table not in APPEND_ONLY
        assert incoming.base in by_id                               # a shared base
        assert not descends_from_incoming                           # here ⊅ incoming
        sharing = [h for h in heads if incoming.base in _ancestors(h, by_id)]
        assert sharing and incoming.base not in heads               # incoming ⊅ here
        later = {by_id[r].device for h in sharing for r in _ancestors(h, by_id)
                 if r != incoming.base and incoming.base in _ancestors(r, by_id)}
        assert incoming.device not in later                         # no self-fork
    if verdict is Verdict.FAST_FORWARD:                             # onto a head only
        assert not descends_from_incoming
        assert (incoming.base is None and not local) or incoming.base in heads or (
            table in APPEND_ONLY and incoming.deleted and incoming.base in by_id)
    if incoming.base is not None and incoming.base not in by_id:
        assert verdict is Verdict.STALE
    if incoming.base is None:
        assert verdict is (Verdict.STALE if local else Verdict.FAST_FORWARD)
    if incoming.base in heads and not descends_from_incoming:
        assert verdict is Verdict.FAST_FORWARD


@settings(max_examples=300, deadline=None)
@given(data=st.data(), table=TABLES)
def test_applying_then_retrying_is_already_have(data: st.DataObject, table: str) -> None:
    """Whatever was applied (fast-forward) or kept (conflict) is already-have the next time."""
    local = data.draw(histories())
    incoming = data.draw(incomings(local))
    if classify(local, incoming, table=table) in (Verdict.FAST_FORWARD, Verdict.CONFLICT):
        assert classify([*local, incoming], incoming, table=table) is Verdict.ALREADY_HAVE


@settings(max_examples=300, deadline=None)
@given(local=histories(), table=TABLES, one=st.sampled_from(DEVICES),
       two=st.sampled_from(DEVICES), deleted=st.booleans())
def test_two_devices_editing_one_head_conflict_only_between_devices(
        local: list[Lineage], table: str, one: bytes, two: bytes, deleted: bool) -> None:
    """Two revisions on the same head: on the side that has the first, the second is a
    conflict if another device wrote it and the kind is editable; never for append-only kinds;
    a device that forks its own edit is stale."""
    assume(local)
    by_id = {rev.revision for rev in local}
    heads = sorted(r for r in by_id if not any(o.base == r for o in local))
    first = Lineage("first", heads[0], one)
    second = Lineage("second", heads[0], two, deleted)
    verdict = classify([*local, first], second, table=table)
    if table in APPEND_ONLY:
        assert verdict is (Verdict.FAST_FORWARD if deleted else Verdict.STALE)
    else:
        assert verdict is (Verdict.STALE if one == two else Verdict.CONFLICT)
