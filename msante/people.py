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
from msante.vault import db, descriptors, identity, records, spaces
from msante.vault.db import Connection
from msante.vault.descriptors import PEOPLE
from msante.vault.store import Store

SEXES = ("female", "male", "other")
RELATIONS = ("owner", "child", "other")
RELATION_LABELS = {"owner": N_("owner"), "child": N_("child"), "other": N_("other")}
SEX_LABELS = {"female": N_("female"), "male": N_("male"), "other": N_("other")}
# The words a person may type for a sex or a relation, in either language (folded).
SEX_WORDS = {"f": "female", "female": "female", "woman": "female", "femme": "female",
             "feminin": "female", "m": "male", "male": "male", "man": "male", "h": "male",
             "homme": "male", "masculin": "male", "other": "other", "autre": "other"}
RELATION_WORDS = {"child": "child", "enfant": "child", "other": "other", "autre": "other",
                  "owner": "owner", "titulaire": "owner"}
MAJORITY_YEARS = 18


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
    key = SEX_WORDS.get(fold(sex))
    if key is None:
        raise UsageError(_("Invalid sex '{sex}': choose female, male or other.").format(sex=sex))
    return clean, day, key


def relation_key(text: str) -> str:
    """The relation typed in either language (child, enfant, other, autre) as its key."""
    key = RELATION_WORDS.get(fold(text))
    if key is None:
        raise UsageError(_("Invalid relation '{rel}': choose child or other.").format(rel=text))
    return key


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
        with self.store.write() as tx:
            pid = self.add_in(tx, name, born, sex, relation)
        return self.get(pid)

    def add_in(self, tx: Connection, name: str, born: str | dt.date, sex: str,
               relation: str = "child", *, rid: str | None = None,
               space_key: bytes | None = None) -> str:
        """Add inside the caller's transaction (audited), with the id and space key a caller
        chose already (a handover sealed files for them); return the person's id."""
        relation = relation_key(relation)
        clean, day, sex = validate(name, born, sex)
        majority = add_years(day, MAJORITY_YEARS) if relation == "child" else None
        fields = {"name": clean, "name_key": fold(clean), "born": day.isoformat(), "sex": sex,
                  "relation": relation, "majority": majority.isoformat() if majority else None}
        if relation == "owner" and self._owner_row(tx):
            raise AlreadyExistsError(_("This vault already has an owner."))
        if tx.execute("SELECT 1 FROM people WHERE name_key = ? AND deleted = 0",
                      (fields["name_key"],)).fetchone():
            raise AlreadyExistsError(
                _("A person named {name} already exists.").format(name=clean))
        pid = records.insert(tx, "people", fields, device=self.store.device, rid=rid)
        spaces.create(tx, self.store.keys, pid, device=self.store.device, space_key=space_key)
        self.store.log(tx, "person.add", person=pid, record=pid, detail={"relation": relation})
        return pid

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
            records.tombstone(tx, PEOPLE, person.id, device=self.store.device,
                              base_revision=person.revision)
            spaces.destroy(tx, person.id, device=self.store.device)
            _erase_records(tx, person.id, self.store.device)
            self.store.log(tx, "person.remove", person=person.id, record=person.id)
        db.checkpoint(self.store.conn)  # erased for good: nothing left to read in the WAL
        return person

    def fingerprint(self, person: Person) -> str | None:
        """The fingerprint of the person's public keys."""
        keys = identity.public_keys(self.store.conn, person.id)
        return identity.fingerprint(*keys) if keys else None


def _erase_records(tx: Connection, person_id: str, device: str) -> None:
    """Erase a removed person's records: documents, profile and its history, measurements,
    agenda. Each becomes a tombstone (a new revision, logged as a deletion for sync) in bulk,
    blanked as its descriptor says. Their files need no such pass: each file's key is wrapped
    by the space key just destroyed.
    """
    for desc in descriptors.ALL:
        if desc.table not in ("people", "spaces", "identities"):
            records.erase(tx, desc, person_id, device=device)
