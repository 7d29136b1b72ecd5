"""What the Activity screen asks of the activity service: actions in words, filters that
narrow in SQL (so that a long history is never loaded whole), counts, record names, one entry
by number, and a verification that a worker thread can run on a connection of its own."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Any

import pytest

from msante.activity import KINDS, Filter, Verification, action_label
from tests.tui.helpers import add_document, fixed_id


@pytest.fixture
def busy(vault: Any, tmp_path: Path) -> Any:
    """The owner with two documents (one read as text, one exported), a child, an
    appointment and a measurement."""
    owner = vault.people.owner()
    vault.people.add("Léo Martin", "2019-04-27", "male")
    add_document(vault, owner.id, 1, title="Bilan lipidique", text="LDL 1,2 g/L")
    add_document(vault, owner.id, 2, title="Ordonnance 100%_promo", text="Doliprane")
    vault.documents.text(vault.documents.get(fixed_id(1)))
    vault.documents.export(vault.documents.get(fixed_id(2)), tmp_path / "copy.pdf")
    vault.agenda.add(owner, "Dentiste", dt.datetime(2025, 6, 20, 12, 30, tzinfo=dt.UTC),
                     tz="Europe/Paris")
    vault.measures.add(owner, "weight", "70,9", at="2025-06-01 08:00")
    return vault


def _actions(vault: Any, where: Filter) -> list[str]:
    return [e.action for e in vault.audit.find(where, limit=100)]


def test_actions_in_words() -> None:
    """Known codes read as words; a read says how; an unknown code is shown as it is."""
    assert action_label("document.import") == "Document imported"
    assert action_label("document.read", {"how": "export"}) == "Document exported"
    assert action_label("document.read", {"how": "strange"}) == "Document read"
    assert action_label("future.action") == "future.action"


def test_every_kind_matches_only_known_actions() -> None:
    """The kinds offered in the screen's list name codes or prefixes the services record."""
    from msante.activity import ACTIONS

    for _label, codes in KINDS.values():
        for code in codes:
            assert any(a == code or (code.endswith(".") and a.startswith(code))
                       for a in ACTIONS), code


def test_find_is_newest_first_and_count_ignores_the_limit(busy: Any) -> None:
    everything = [e.seq for e in busy.audit.entries()]
    found = busy.audit.find(Filter(), limit=3)
    assert [e.seq for e in found] == everything[:3]
    assert busy.audit.count(Filter()) == len(everything)


def test_person_and_kind_narrow(busy: Any) -> None:
    """A person's entries leave out the vault's own; a kind keeps exact codes and prefixes."""
    owner = busy.people.owner()
    mine = Filter(person=owner.id)
    assert "vault.create" not in _actions(busy, mine)
    reads = Filter(person=owner.id, actions=KINDS["reads"][1])
    assert _actions(busy, reads) == ["document.read", "document.read"]
    agenda = Filter(actions=("agenda.",))
    assert _actions(busy, agenda) == ["agenda.add"]
    assert busy.audit.count(agenda) == 1


def test_since_and_until_bound_the_times(busy: Any) -> None:
    """`since` is included, `until` excluded (the screen passes the day after the last)."""
    entries = list(busy.audit.entries())
    middle = entries[len(entries) // 2].at
    later = [e.seq for e in busy.audit.find(Filter(since=middle), limit=100)]
    earlier = [e.seq for e in busy.audit.find(Filter(until=middle), limit=100)]
    assert sorted(later + earlier, reverse=True) == [e.seq for e in entries]
    assert min(later) > max(earlier)


@pytest.mark.parametrize("text,expected", [
    ("lipid", ["document.read", "document.import"]),  # the document's title
    ("leo", ["person.add"]),  # a person's name, without its accent
    ("appointment", ["agenda.add"]),  # an action in words
    ("exported", ["document.read"]),  # a way of reading: the export only
    ("100%_", ["document.import", "document.read"]),  # wildcards are plain characters
    ("100%x", []),
])
def test_the_text_filter(busy: Any, text: str, expected: list[str]) -> None:
    assert sorted(_actions(busy, Filter(text=text))) == sorted(expected)


def test_the_export_text_finds_the_export_not_the_text_read(busy: Any) -> None:
    found = busy.audit.find(Filter(text="exported"), limit=10)
    assert [e.detail["how"] for e in found] == ["export"]


def test_record_names(busy: Any) -> None:
    """Documents by title, appointments by title, people by name; other ids are left out."""
    ids = [e.record for e in busy.audit.entries()]
    names = busy.audit.record_names([*ids, None, "unknown"])
    assert set(names.values()) >= {"Bilan lipidique", "Dentiste", "Léo Martin",
                                   "Camille Martin"}
    assert "unknown" not in names
    assert busy.audit.record_names([]) == {}


def test_one_entry_by_number(busy: Any) -> None:
    assert busy.audit.entry(1).action == "vault.create"
    assert busy.audit.entry(10_000) is None


def test_a_forged_detail_does_not_break_the_listing(busy: Any) -> None:
    """A detail that is not a JSON object (a forged row) is shown as text, not a crash."""
    busy.store.conn.execute("UPDATE audit SET detail = 'not json' WHERE seq = 2")
    assert busy.audit.entry(2).detail == {"text": "not json"}
    assert busy.audit.count(Filter()) == len(busy.audit.find(Filter(), limit=100))


def test_verify_apart_runs_in_another_thread(busy: Any) -> None:
    """The screen's worker thread cannot use the vault's connection: verify_apart opens its
    own, and finds the same as verify(), intact and then forged."""
    def in_thread() -> Verification:
        out: list[Verification] = []
        worker = threading.Thread(target=lambda: out.append(busy.audit.verify_apart()))
        worker.start()
        worker.join()
        return out[0]

    assert in_thread() == busy.audit.verify()
    assert in_thread().ok
    busy.store.conn.execute("UPDATE audit SET actor = 'delegate:Eve' WHERE seq = 3")
    forged = in_thread()
    assert (forged.ok, forged.first_bad, forged.reason) == (False, 3, "mac")


def test_every_action_the_services_record_has_words() -> None:
    """An action logged by a service but missing from ACTIONS shows as its raw code."""
    import re
    from pathlib import Path

    import msante
    from msante.activity import ACTIONS

    logged = set()
    for path in Path(msante.__file__).parent.rglob("*.py"):
        logged |= set(re.findall(r"\.log\(\w+, *\"([a-z_.]+)\"", path.read_text()))
    assert {"person.add", "person.rename", "document.import"} <= logged
    assert sorted(logged - set(ACTIONS)) == []


def test_a_prevention_item_marked_done_is_named_in_words() -> None:
    from msante.agenda import prevention
    from msante.tui.screens.activity_view import record_text
    from msante.vault.audit import Entry

    def done(rule: str) -> Entry:
        return Entry(1, "2025-06-01T08:00:00Z", "owner", "agenda.done", "p", None,
                     {"rule": rule, "dose": 1}, "", "")

    label = prevention.rule("dtp_25")
    assert label is not None
    assert record_text(done("dtp_25"), {}) == label.label.get()
    assert record_text(done("gone_rule"), {}) == "gone_rule"  # a rule of an older version
