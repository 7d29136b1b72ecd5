"""A person added on one device after another was linked reaches that other device."""

from __future__ import annotations

from msante.sync import engine, spaces
from tests.sync.engine_helpers import Pair


def test_a_person_added_on_a_later_reaches_b_with_its_keys(pair: Pair) -> None:
    """A publishes the new space, makes B a writer of it and wraps its keys for B; B's next
    sync joins the space (chain verified, keys opened) and pulls the person's records."""
    a, b = pair.a, pair.b
    engine.run(a.store)
    engine.run(b.store)
    child = a.people.add("Léo Martin", "2016-04-01", "male")
    a.measures.add(child, "weight", "21.5")
    engine.run(a.store)
    assert child.id not in spaces.synced(b.store.conn)
    got = engine.run(b.store)
    assert got.applied >= 2
    keys_a, keys_b = (spaces.current(v.store.conn, child.id) for v in (a, b))
    assert keys_a is not None and keys_b is not None and keys_a.body() == keys_b.body()
    assert b.people.get("Léo").id == child.id
    assert [m.value for m in b.measures.list(b.people.get("Léo"))] == [
        m.value for m in a.measures.list(child)]
    # B may write in the new space: its edit reaches A
    b.measures.add(b.people.get("Léo"), "height", "115")
    engine.run(b.store)
    engine.run(a.store)
    assert len(list(a.measures.list(child))) == 2
    assert a.audit.verify().ok and b.audit.verify().ok
