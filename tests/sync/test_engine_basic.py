"""The sync engine between two vaults of one person, through a real server."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from msante.sync import setup
from tests.sync.engine_helpers import Pair, add_document, sync


def test_a_profile_entry_made_on_a_reaches_b(pair: Pair) -> None:
    """Edit on A, sync A, sync B: B has the owner and the entry, audited as from A."""
    a, b = pair.a, pair.b
    owner = a.people.owner()
    entry = a.profile.add(owner, "allergies", {"substance": "pollen"})
    first = sync(a)
    assert first.pushed > 0 and first.applied == 0
    got = sync(b)
    assert got.applied > 0 and got.conflicts == 0
    assert b.people.owner().name == owner.name
    again = b.profile.get(entry.id)
    assert again.data == entry.data and again.person == owner.id
    entries = list(b.audit.entries(action="sync.apply"))
    assert entries and all(e.detail["device"] for e in entries)
    assert b.audit.verify().ok and a.audit.verify().ok
    # nothing pushed back, nothing applied again
    assert sync(b).pushed == 0
    back = sync(a)
    assert back.applied == 0 and back.pushed == 0
    for vault in (a, b):
        status = setup.status(vault.store)
        assert status["pending_changes"] == 0 and status["last_sync"] is not None


def test_measurement_agenda_and_document_with_its_file_reach_b(pair: Pair,
                                                               tmp_path: Path) -> None:
    """Every scope travels; the document's file arrives as the same ciphertext blob, under
    B's own space key, and exports to the same bytes."""
    a, b = pair.a, pair.b
    owner = a.people.owner()
    measure = a.measures.add(owner, "weight", "72.5")
    visit = a.agenda.add(owner, "Dentist", dt.datetime(2027, 1, 5, 9, 30, tzinfo=dt.UTC))
    data = b"the lab report " * 1000
    doc_id = add_document(a, data, "Lab report")
    pushed = sync(a)
    assert pushed.blobs_up == 1
    got = sync(b)
    assert got.blobs_down == 1 and got.conflicts == 0
    assert b.measures.get(measure.id).value == measure.value
    assert b.agenda.get(visit.id).title == "Dentist"
    doc = b.documents.get(doc_id)
    out = b.documents.export(doc, tmp_path / "out.txt")
    assert out.read_bytes() == data
    a_doc = a.documents.get(doc_id)
    assert doc.blob_id == a_doc.blob_id and doc.wrapped_key != a_doc.wrapped_key
    assert (b.store.blobs.path(doc.blob_id).read_bytes()
            == a.store.blobs.path(a_doc.blob_id).read_bytes())
    assert b.audit.verify().ok


def test_a_no_op_sync_pushes_and_applies_nothing(pair: Pair) -> None:
    """Once both are in step, syncing again moves nothing and writes no record."""
    a, b = pair.a, pair.b
    a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    sync(a)
    sync(b)
    sync(a)
    changes = b.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
    for vault in (a, b):
        result = sync(vault)
        assert (result.pushed, result.pulled, result.applied, result.conflicts) == (0, 0, 0, 0)
    assert b.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == changes


def test_a_measurement_added_on_both_is_kept_twice(pair: Pair) -> None:
    """Append-only: two measurements made apart never conflict."""
    a, b = pair.a, pair.b
    sync(a)
    sync(b)
    owner = b.people.owner()
    a.measures.add(a.people.owner(), "weight", "72.5")
    b.measures.add(owner, "weight", "73.0")
    sync(a)
    assert sync(b).conflicts == 0
    sync(a)
    for vault in (a, b):
        values = sorted(m.value for m in vault.measures.list(vault.people.owner()))
        assert values == [72.5, 73.0]
