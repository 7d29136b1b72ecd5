"""People in the vault: the owner and the people they care for, each in a space of their own.

A child's profile records its majority date (the 18th birthday); from that date the caregiver
may still read it but no longer change it, and can hand it over to the now-adult.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from msante.errors import AlreadyExistsError, NotFoundError, ReadOnlyError, UsageError
from msante.i18n import N_, _
from msante.text import add_years, fold, parse_date
from msante.vault import db, identity, records, spaces
from msante.vault.store import Store

SEXES = ("female", "male", "other")
RELATIONS = ("owner", "child", "other")
RELATION_LABELS = {"owner": N_("owner"), "child": N_("child"), "other": N_("other")}
SEX_LABELS = {"female": N_("female"), "male": N_("male"), "other": N_("other")}
MAJORITY_YEARS = 18
CONTENT = ["name", "name_key", "born", "sex", "relation", "majority"]


@dataclass(frozen=True)
class Person:
    """A person of the vault."""

    id: str
    name: str
    born: dt.date
    sex: str
    relation: str
    majority: dt.date | None
    revision: int

    @property
    def relation_label(self) -> str:
        """The relation in the user's language."""
        return _(RELATION_LABELS[self.relation])

    def read_only(self, today: dt.date | None = None) -> bool:
        """Whether the caregiver may only read this profile (a child who came of age)."""
        return self.majority is not None and (today or dt.date.today()) >= self.majority

    def to_json(self, today: dt.date | None = None) -> dict[str, Any]:
        """Stable JSON form."""
        return {
            "id": self.id, "name": self.name, "born": self.born.isoformat(), "sex": self.sex,
            "relation": self.relation,
            "majority": self.majority.isoformat() if self.majority else None,
            "read_only": self.read_only(today), "revision": self.revision,
        }


def _row_to_person(row: Any) -> Person:
    majority = dt.date.fromisoformat(row[5]) if row[5] else None
    return Person(row[0], row[1], dt.date.fromisoformat(row[2]), row[3], row[4], majority, row[6])


def validate(name: str, born: str | dt.date, sex: str,
             today: dt.date | None = None) -> tuple[str, dt.date, str]:
    """Clean name, birth date and sex, or UsageError with the reason."""
    clean = " ".join(name.split())
    if not clean or len(clean) > 100:
        raise UsageError(_("A name must have between 1 and 100 characters."))
    day = born if isinstance(born, dt.date) else parse_date(born, what=_("birth date"))
    if day > (today or dt.date.today()) or day.year < 1900:
        raise UsageError(_("Invalid birth date {date}: it must be between 1900 and today.")
                         .format(date=day.isoformat()))
    if sex not in SEXES:
        raise UsageError(_("Invalid sex '{sex}': choose female, male or other.").format(sex=sex))
    return clean, day, sex


def check_child(born: dt.date, today: dt.date | None = None) -> None:
    """Refuse to add as a child someone already of age (their profile would be read-only)."""
    if add_years(born, MAJORITY_YEARS) <= (today or dt.date.today()):
        raise UsageError(
            _("Someone born on {date} is already of age: add them with the relation 'other'.")
            .format(date=born.isoformat()))


class People:
    """The people service: add, list, find, rename, remove."""

    SELECT = "SELECT id, name, born, sex, relation, majority, revision FROM people"

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, name: str, born: str | dt.date, sex: str, relation: str = "child") -> Person:
        """Add a person in a new space of their own."""
        if relation not in RELATIONS:
            raise UsageError(
                _("Invalid relation '{rel}': choose child or other.").format(rel=relation))
        clean, day, sex = validate(name, born, sex)
        majority = add_years(day, MAJORITY_YEARS) if relation == "child" else None
        fields = {"name": clean, "name_key": fold(clean), "born": day.isoformat(), "sex": sex,
                  "relation": relation, "majority": majority.isoformat() if majority else None}
        with self.store.write() as tx:
            if relation == "owner" and self._owner_row(tx):
                raise AlreadyExistsError(_("This vault already has an owner."))
            if tx.execute("SELECT 1 FROM people WHERE name_key = ? AND deleted = 0",
                          (fields["name_key"],)).fetchone():
                raise AlreadyExistsError(
                    _("A person named {name} already exists.").format(name=clean))
            pid = records.insert(tx, "people", fields, device=self.store.device)
            spaces.create(tx, self.store.keys, pid)
            self.store.log(tx, "person.add", person=pid, record=pid,
                           detail={"relation": relation})
        return self.get(pid)

    def _owner_row(self, conn: Any) -> Any:
        return conn.execute(self.SELECT + " WHERE relation = 'owner' AND deleted = 0").fetchone()

    def owner(self) -> Person:
        """The vault's owner."""
        row = self._owner_row(self.store.conn)
        if not row:
            raise NotFoundError(_("This vault has no owner profile."))
        return _row_to_person(row)

    def list(self) -> list[Person]:
        """Everyone, the owner first, then by name."""
        rows = self.store.conn.execute(
            self.SELECT + " WHERE deleted = 0 ORDER BY relation != 'owner', name_key").fetchall()
        return [_row_to_person(r) for r in rows]

    def get(self, name_or_id: str | None) -> Person:
        """A person by name (ignoring case and accents), id or id prefix; None is the owner."""
        if name_or_id is None:
            return self.owner()
        conn = self.store.conn
        row = conn.execute(self.SELECT + " WHERE deleted = 0 AND name_key = ?",
                           (fold(name_or_id),)).fetchone()
        if row:
            return _row_to_person(row)
        key = fold(name_or_id).replace("%", "").replace("_", "")
        rows = conn.execute(self.SELECT + " WHERE deleted = 0 AND (name_key LIKE ? OR "
                            "(length(?) >= 4 AND id LIKE ?))",
                            (key + "%", key, key + "%")).fetchall()
        if len(rows) == 1 and key:
            return _row_to_person(rows[0])
        if len(rows) > 1:
            raise UsageError(_("'{name}' could be {names}: give the full name.").format(
                name=name_or_id, names=", ".join(r[1] for r in rows)))
        raise NotFoundError(_("No person named '{name}' in this vault.").format(name=name_or_id))

    def check_writable(self, person: Person, today: dt.date | None = None) -> None:
        """Refuse a change to a profile that is read-only (a child who came of age)."""
        if person.read_only(today):
            raise ReadOnlyError(
                _("{name} came of age on {date}: their profile is now read-only. "
                  "Hand it over with 'msante people handover'.")
                .format(name=person.name, date=person.majority)
            )

    def rename(self, person: Person, name: str, today: dt.date | None = None) -> Person:
        """Give a person a new name; refused for a child who came of age (read-only)."""
        self.check_writable(person, today)
        clean, _day, _sex = validate(name, person.born, person.sex)
        key = fold(clean)
        with self.store.write() as tx:
            if tx.execute("SELECT 1 FROM people WHERE name_key = ? AND deleted = 0 AND id != ?",
                          (key, person.id)).fetchone():
                raise AlreadyExistsError(
                    _("A person named {name} already exists.").format(name=clean))
            records.update(tx, "people", person.id, {"name": clean, "name_key": key},
                           device=self.store.device, base_revision=person.revision)
            self.store.log(tx, "person.rename", person=person.id, record=person.id)
        return self.get(person.id)

    def remove(self, name_or_id: str) -> Person:
        """Remove a person: their record becomes a tombstone and their space key is erased."""
        person = self.get(name_or_id)
        if person.relation == "owner":
            raise UsageError(
                _("The owner cannot be removed; use 'msante close' to wipe the vault."))
        with self.store.write() as tx:
            records.tombstone(tx, "people", person.id, CONTENT, device=self.store.device,
                              base_revision=person.revision)
            spaces.destroy(tx, person.id)
            _erase_records(tx, person.id, self.store.device)
            self.store.log(tx, "person.remove", person=person.id, record=person.id)
        db.checkpoint(self.store.conn)  # erased for good: nothing left to read in the WAL
        return person

    def fingerprint(self, person: Person) -> str | None:
        """The fingerprint of the person's public keys."""
        keys = identity.public_keys(self.store.conn, person.id)
        return identity.fingerprint(*keys) if keys else None


# What a removed person's records keep: nothing but their ids (each column blanked).
_ERASE = {
    "documents": "title = '', author = NULL, tags_text = '', tags = '[]', text = NULL, "
                 "filename = NULL, note = NULL, reason = NULL, wrapped_key = NULL",
    "profile_entries": "section = '', data = '{}', status = '', code_system = NULL, "
                       "code = NULL, code_display = NULL, source = NULL, sort_date = NULL, "
                       "external_id = NULL",
    "measurements": "kind = '', value = 0, value2 = NULL, unit = '', at = '', note = NULL, "
                    "entered = NULL, external_id = NULL",
    "agenda_items": "title = '', starts_at = '', tz = '', location = NULL, "
                    "professional = NULL, reminders = '[]', rrule = NULL, note = NULL, "
                    "uid = NULL",
    "prevention_done": "rule = '', dose = 0, done_on = '', note = NULL",
}


def _erase_records(tx: Any, person_id: str, device: str) -> None:
    """Erase a removed person's records: documents' text, profile, measurements, agenda.

    Each becomes a tombstone (a new revision, logged as a deletion for sync) in bulk. Their
    files need no such pass: each file's key is wrapped by the space key just destroyed.
    """
    at = db.now()
    tx.execute("DELETE FROM profile_history WHERE entry IN "
               "(SELECT id FROM profile_entries WHERE person = ?)", (person_id,))
    for table, blank in _ERASE.items():
        tx.execute("INSERT INTO changes (tbl, record_id, revision, op, device, at) "
                   f"SELECT ?, id, revision + 1, 'delete', ?, ? FROM {table} "
                   "WHERE person = ? AND deleted = 0", (table, device, at, person_id))
        tx.execute(f"UPDATE {table} SET {blank}, base_revision = revision, "
                   "revision = revision + 1, device = ?, updated_at = ?, deleted = 1 "
                   "WHERE person = ? AND deleted = 0", (device, at, person_id))
