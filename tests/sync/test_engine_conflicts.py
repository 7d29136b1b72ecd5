"""Conflicts between two devices of one person: both versions kept, the person chooses."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from msante.sync import device as devices
from msante.sync import setup
from msante.sync.engine import conflicts
from tests.sync.engine_helpers import Pair, sync


def resolve(vault: Any, conflict_id: int, keep: str) -> dict[str, Any]:
    dev = devices.load(vault.store.conn)
    assert dev is not None
    return conflicts.resolve(vault.store, dev, conflict_id, keep)


def test_both_edit_one_entry_then_resolve_and_both_end_equal(pair: Pair) -> None:
    """The second to sync keeps its version and the other one, lists the conflict; the
    chosen version goes back to the first as a fast-forward."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    sync(a)
    sync(b)
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    b.profile.edit(entry.id, {"substance": "grass"}, revision=b.profile.get(entry.id).revision)
    sync(a)
    got = sync(b)
    assert got.conflicts == 1
    assert b.profile.get(entry.id).data["substance"] == "grass"  # nothing lost
    listed = conflicts.listing(b.store)
    assert len(listed) == 1
    one = listed[0]
    assert one["type"] == "profile_entries" and one["person"] == "Camille Martin"
    assert one["differs"] == ["substance"]  # inside the entry's data, what people read
    assert "birch" in one["theirs"]["fields"]["data"] and "grass" in one["mine"]["fields"]["data"]
    assert one["theirs"]["device"].startswith(setup.device_name())
    assert sync(b).conflicts == 0  # asked once, not again
    resolve(b, one["id"], "theirs")
    assert conflicts.listing(b.store) == []
    assert b.profile.get(entry.id).data["substance"] == "birch"
    assert sync(b).pushed == 1
    assert sync(a).conflicts == 0
    assert a.profile.get(entry.id).data == b.profile.get(entry.id).data
    assert sync(a).pushed == 0 and sync(b).applied == 0
    for vault in (a, b):
        assert vault.audit.verify().ok
    assert any(e.action == "sync.conflict.resolve" for e in b.audit.entries())


def test_keep_mine_goes_to_the_other_device(pair: Pair) -> None:
    """--keep mine: the other device takes this device's version."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    sync(a)
    sync(b)
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    b.profile.edit(entry.id, {"substance": "grass"}, revision=b.profile.get(entry.id).revision)
    sync(a)
    sync(b)
    resolve(b, conflicts.listing(b.store)[0]["id"], "mine")
    sync(b)
    sync(a)
    assert a.profile.get(entry.id).data["substance"] == "grass"
    assert b.profile.get(entry.id).data["substance"] == "grass"


def _visit(vault: Any) -> str:
    return str(vault.agenda.add(vault.people.owner(), "Dentist",
                                dt.datetime(2027, 1, 5, 9, 30, tzinfo=dt.UTC)).id)


def test_a_delete_on_a_against_an_edit_on_b_keeps_the_edit(pair: Pair) -> None:
    """A deleted, B edited, A synced first: B keeps its edit and asks."""
    a, b = pair.a, pair.b
    visit = _visit(a)
    sync(a)
    sync(b)
    a.agenda.remove(visit)
    b.agenda.edit(visit, {"title": "Dentist (moved)"}, revision=b.agenda.get(visit).revision)
    sync(a)
    assert sync(b).conflicts == 1
    assert b.agenda.get(visit).title == "Dentist (moved)"
    listed = conflicts.listing(b.store)
    assert listed[0]["theirs"]["deleted"] and not listed[0]["mine"]["deleted"]
    resolve(b, listed[0]["id"], "mine")
    sync(b)
    sync(a)
    assert a.agenda.get(visit).title == "Dentist (moved)"


def test_an_edit_on_b_reaching_a_that_deleted_keeps_the_edit(pair: Pair) -> None:
    """B edited and synced first, then A deleted: A's sync brings the edit back and asks."""
    a, b = pair.a, pair.b
    visit = _visit(a)
    sync(a)
    sync(b)
    b.agenda.edit(visit, {"title": "Dentist (moved)"}, revision=b.agenda.get(visit).revision)
    a.agenda.remove(visit)
    sync(b)
    assert sync(a).conflicts == 1
    assert a.agenda.get(visit).title == "Dentist (moved)"
    listed = conflicts.listing(a.store)
    assert listed[0]["mine"]["deleted"] and not listed[0]["theirs"]["deleted"]
    resolve(a, listed[0]["id"], "theirs")
    sync(a)
    sync(b)
    assert b.agenda.get(visit).title == "Dentist (moved)"
    assert conflicts.count_open(a.store.conn) == 0


def test_a_document_edited_on_both_keeps_its_file_whichever_is_kept(pair: Pair,
                                                                    tmp_path: Path) -> None:
    """Both rename one document: after resolving, both devices have the chosen title and the
    file still opens on both (its key rewrapped for each new revision)."""
    from tests.sync.engine_helpers import add_document

    a, b = pair.a, pair.b
    data = b"scan " * 500
    doc = add_document(a, data, "Scan")
    sync(a)
    sync(b)
    a.documents.edit(a.documents.get(doc), title="Scan (A)")
    b.documents.edit(b.documents.get(doc), title="Scan (B)")
    sync(a)
    assert sync(b).conflicts == 1
    resolve(b, conflicts.listing(b.store)[0]["id"], "mine")
    sync(b)
    sync(a)
    for name, vault in (("a", a), ("b", b)):
        got = vault.documents.get(doc)
        assert got.title == "Scan (B)"
        assert vault.documents.export(got, tmp_path / name).read_bytes() == data


def test_an_edit_made_while_syncing_is_never_overwritten(pair: Pair,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """B edits a record after its push and before its pull brings A's edit of it: B's edit is
    kept and the other one set aside, not applied over it."""
    from msante.sync.engine import pull

    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    sync(a)
    sync(b)
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    sync(a)
    real = pull.pull

    def edit_first(store: Any, *args: Any, **kw: Any) -> Any:
        if store is b.store:
            b.profile.edit(entry.id, {"substance": "grass"},
                           revision=b.profile.get(entry.id).revision)
        return real(store, *args, **kw)

    monkeypatch.setattr(pull, "pull", edit_first)
    assert sync(b).conflicts == 1
    monkeypatch.setattr(pull, "pull", real)
    assert b.profile.get(entry.id).data["substance"] == "grass"
    assert sync(b).pushed == 0  # waits for the person's choice
    resolve(b, conflicts.listing(b.store)[0]["id"], "mine")
    sync(b)
    sync(a)
    assert a.profile.get(entry.id).data["substance"] == "grass"


def test_the_kept_edit_follows_the_other_device_until_the_choice(pair: Pair) -> None:
    """A deleted, B's edit won the row and the conflict waits; B edits again: A's row follows
    it; A then keeps its deletion, and B gets the deletion."""
    a, b = pair.a, pair.b
    visit = _visit(a)
    sync(a)
    sync(b)
    b.agenda.edit(visit, {"title": "Dentist (moved)"}, revision=b.agenda.get(visit).revision)
    a.agenda.remove(visit)
    sync(b)
    assert sync(a).conflicts == 1
    b.agenda.edit(visit, {"title": "Dentist (moved again)"},
                  revision=b.agenda.get(visit).revision)
    sync(b)
    assert sync(a).conflicts == 0
    assert a.agenda.get(visit).title == "Dentist (moved again)"
    [open_one] = conflicts.listing(a.store)
    assert "Dentist (moved again)" in str(open_one["theirs"]["fields"])
    resolve(a, open_one["id"], "mine")
    sync(a)
    sync(b)
    for vault in (a, b):
        row = vault.store.conn.execute("SELECT deleted FROM agenda_items WHERE id = ?",
                                       (visit,)).fetchone()
        assert row[0] == 1
