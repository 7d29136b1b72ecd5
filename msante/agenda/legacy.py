"""Marks of prevention items that earlier versions kept in `prevention_done`, made profile
entries when the vault is opened (docs/architecture.md: Upgrades on open).

Each live row becomes the entry `Agenda.done` makes now (provenance `prevention`, external id
`prevention:RULE:DOSE`, the item id as source, the day and the note), then a tombstone, all in
one audited write transaction. The rows are read again inside that transaction (under
SQLite's write lock), so two processes opening the vault together convert each mark once.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from msante.errors import UsageError
from msante.vault import db, records
from msante.vault.descriptors import PREVENTION_DONE

if TYPE_CHECKING:
    from msante.agenda.service import Agenda
    from msante.people import Person



class _NothingLeft(Exception):
    """Another process converted every mark meanwhile: roll back, nothing to record."""


def pending(conn: db.Connection) -> bool:
    """Whether a mark of an earlier version is left (one read of a small indexed table)."""
    return conn.execute("SELECT 1 FROM prevention_done WHERE deleted = 0 LIMIT 1"
                        ).fetchone() is not None


def convert(agenda: Agenda) -> int:
    """Make every mark left a profile entry, in one audited transaction; how many.

    A mark whose rule this version does not know, or of a person no longer in the vault,
    is kept as it is (nothing tells what entry to make); the agenda still reads it."""
    people = {p.id: p for p in agenda.people.list()}
    done: dict[str, int] = {}
    try:
        with agenda.store.write() as tx:
            for row in tx.execute("SELECT id, person, rule, dose, done_on, note, revision FROM "
                                  "prevention_done WHERE deleted = 0 ORDER BY created_at"
                                  ).fetchall():
                person = people.get(row[1])
                if person is not None and _convert(agenda, tx, person, row):
                    done[person.id] = done.get(person.id, 0) + 1
            if not done:
                raise _NothingLeft
            for person_id, count in done.items():
                agenda.store.log(tx, "agenda.convert", person=person_id,
                                 detail={"marks": count})
    except _NothingLeft:
        return 0
    return sum(done.values())


def _convert(agenda: Agenda, tx: db.Connection, person: Person, row: Any) -> bool:
    """One mark: its entry (unless one made since links the item), then its tombstone."""
    from msante.agenda import prevention
    from msante.agenda.service import LINK, entry_values

    rid, _person, rule_id, dose, done_on, note, revision = row
    rule = prevention.rule(rule_id)
    if rule is None:
        return False
    try:
        section, values = entry_values(rule, int(dose), dt.date.fromisoformat(done_on),
                                       note or None, None)
        if not agenda.entries_of(person, section, rule_id, int(dose)):
            agenda.profile.add_in(tx, person, section, values, provenance="prevention",
                                  source=prevention.item_id(rule_id, int(dose), person.id),
                                  external_id=f"{LINK}{rule_id}:{int(dose)}")
    except (UsageError, ValueError):
        return False  # a day or a note the profile refuses: kept as it is
    records.tombstone(tx, PREVENTION_DONE, rid, device=agenda.store.device,
                      base_revision=revision)
    return True
