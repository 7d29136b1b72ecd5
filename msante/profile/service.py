"""The medical profile: dated, editable entries per person and section, with their history.

Every change is audited in its own transaction. Editing keeps the previous version in
`profile_history`; removing a clinical fact marks it "entered in error" (it stays in the
history and out of summaries) while removing a trusted person or a habit deletes it. "No
known allergy" (medication, problem) is a statement: an entry of its own, superseded by the
first real one.
"""

from __future__ import annotations

import builtins
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NamedTuple

from msante.errors import NotFoundError, UsageError
from msante.i18n import N_, _
from msante.people import People, Person
from msante.profile import fhir_terms, sections
from msante.profile.sections import Section
from msante.vault import db, records
from msante.vault.descriptors import PROFILE_ENTRIES, PROFILE_HISTORY
from msante.vault.store import Store

CODE_SYSTEMS = {
    "snomed": "http://snomed.info/sct",
    "atc": "http://www.whocc.no/atc",
    "cis": "https://smt.esante.gouv.fr/terminologie-bdpm",
    "cvx": "http://hl7.org/fhir/sid/cvx",
    "loinc": "http://loinc.org",
    "icd10": "http://hl7.org/fhir/sid/icd-10",
}
PROVENANCES = ("typed", "fhir", "document", "professional", "prevention")
NONE_SECTIONS = {"allergies": N_("No known allergy"), "treatments": N_("No current treatment"),
                 "conditions": N_("No known medical history")}
STATUS_LABELS = {"current": N_("current"), "entered-in-error": N_("entered in error"),
                 "superseded": N_("superseded")}
_CLINICAL_REMOVED = "entered-in-error"
_URI = re.compile(r"(https?://[^\s|]+|urn:[a-z0-9][a-z0-9-]{0,31}:[^\s|]+)", re.ASCII)
_CODE = re.compile(r"[^\s](?:[^\s]| (?! ))*", re.ASCII)
_COLUMNS = ("id, revision, person, section, data, code_system, code, code_display, status, "
            "provenance, source, sort_date, external_id, created_at, updated_at")


@dataclass(frozen=True)
class Code:
    """A coded concept: system URI, code and its display text."""

    system: str
    code: str
    display: str | None = None

    @classmethod
    def parse(cls, text: str) -> Code:
        """`snomed:91936005` or `http://snomed.info/sct|91936005|display`."""
        if "|" in text:
            system, code, *rest = text.split("|")
            return cls._checked(system.strip(), code.strip(), rest[0].strip() if rest else None,
                                text)
        prefix, sep, code = text.partition(":")
        system = CODE_SYSTEMS.get(prefix.strip().lower(), "")
        if not sep or not system or not code.strip():
            raise UsageError(_("Invalid code '{text}': expected SYSTEM:CODE with a system among "
                               "{systems}, or URI|CODE.").format(
                text=text, systems=", ".join(CODE_SYSTEMS)))
        return cls._checked(system, code.strip(), None, text)

    @classmethod
    def _checked(cls, system: str, code: str, display: str | None, text: str) -> Code:
        """FHIR's rules: a system is an absolute URI, a code has no leading, trailing or
        double spaces."""
        if not _URI.fullmatch(system) or not _CODE.fullmatch(code) or len(code) > 100:
            raise UsageError(_("Invalid code '{text}': expected SYSTEM:CODE or URI|CODE, the "
                               "URI absolute (http://…, urn:…), the code without spaces at its "
                               "ends.").format(text=text))
        return cls(system, code, display or None)


class Entry(NamedTuple):
    """One profile entry."""

    id: str
    revision: int
    person: str
    section: str
    data: dict[str, Any]
    code: Code | None
    status: str
    provenance: str
    source: str | None
    sort_date: str | None
    external_id: str | None
    created_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> Entry:
        """Build from a row selected with _COLUMNS."""
        (rid, rev, person, section, data, system, code, display, status, provenance, source,
         sort_date, external_id, created, updated) = row
        return cls(rid, rev, person, section, json.loads(data),
                   Code(system, code, display) if system and code else None, status,
                   provenance, source, sort_date, external_id, created, updated)

    @property
    def is_none_statement(self) -> bool:
        """Whether this is "no known allergy" (treatment, history) rather than a fact."""
        return bool(self.data.get("none"))

    @property
    def shown(self) -> dict[str, Any]:
        """The fields as shown to people: a relation stored as a raw code ("MTH") in words."""
        relation = self.data.get("relation")
        if self.section != "trusted-person" or not isinstance(relation, str):
            return self.data
        system, code = (self.code.system, self.code.code) if self.code else (None, None)
        return self.data | {"relation": fhir_terms.stored_relation(relation, system, code)}

    def text(self) -> str:
        """The entry's main text in the user's language."""
        if self.is_none_statement:
            return _(NONE_SECTIONS[self.section])
        return sections.get(self.section).title_of(self.data)

    def to_json(self, person_name: str | None = None) -> dict[str, Any]:
        """The stable JSON form (docs/cli.md lists the keys)."""
        return {
            "id": self.id, "section": self.section, "person": person_name or self.person,
            "person_id": self.person, "text": self.text(), "fields": self.data,
            "none": self.is_none_statement,
            "code": ({"system": self.code.system, "code": self.code.code,
                      "display": self.code.display} if self.code else None),
            "status": self.status, "provenance": self.provenance, "source": self.source,
            "date": self.sort_date, "revision": self.revision,
            "created_at": self.created_at, "updated_at": self.updated_at,
        }


class Revision(NamedTuple):
    """A previous version of an entry."""

    revision: int
    data: dict[str, Any]
    code: Code | None
    status: str | None
    changed_at: str


class Profile:
    """The profile entries of every person in the vault."""

    def __init__(self, store: Store, people: People) -> None:
        self.store, self.people = store, people

    def get(self, id_or_prefix: str) -> Entry:
        """The entry with this id or unique id prefix (at least 4 characters)."""
        rows = records.by_prefix(
            self.store.conn, f"SELECT {_COLUMNS} FROM profile_entries WHERE deleted = 0",
            id_or_prefix)
        if len(rows) > 1:
            raise UsageError(_("'{ref}' matches several profile entries: give more of the id.")
                             .format(ref=id_or_prefix))
        if not rows:
            raise NotFoundError(_("No profile entry '{ref}'.").format(ref=id_or_prefix))
        return Entry.from_row(rows[0])

    def list(self, person: Person, section: str | None = None, *,
             everything: bool = False) -> list[Entry]:
        """A person's entries, by section then newest first (`everything`: removed too)."""
        sql = f"SELECT {_COLUMNS} FROM profile_entries WHERE deleted = 0 AND person = ?"
        args: list[object] = [person.id]
        if section:
            sql += " AND section = ?"
            args.append(sections.get(section).name)
        if not everything:
            sql += " AND status = 'current'"
        rows = self.store.conn.execute(sql + " ORDER BY sort_date DESC, created_at DESC",
                                       args).fetchall()
        order = {s.name: i for i, s in enumerate(sections.SECTIONS)}
        return sorted((Entry.from_row(r) for r in rows), key=lambda e: order[e.section])

    def counts(self, person: Person) -> dict[str, int]:
        """How many current entries each section holds ("no known …" statements left out)."""
        rows = self.store.conn.execute(
            "SELECT section, count(*) FROM profile_entries WHERE deleted = 0 AND person = ? "
            "AND status = 'current' AND json_extract(data, '$.none') IS NULL GROUP BY section",
            (person.id,)).fetchall()
        return {section: n for section, n in rows}

    def none_stated(self, person: Person) -> set[str]:
        """The sections whose current word is a "no known …" statement."""
        rows = self.store.conn.execute(
            "SELECT DISTINCT section FROM profile_entries WHERE deleted = 0 AND person = ? "
            "AND status = 'current' AND json_extract(data, '$.none') IS NOT NULL",
            (person.id,)).fetchall()
        return {section for (section,) in rows}

    def history(self, entry: Entry) -> builtins.list[Revision]:
        """The previous versions of `entry`, oldest first."""
        rows = self.store.conn.execute(
            "SELECT entry_revision, data, code_system, code, code_display, status, changed_at "
            "FROM profile_history WHERE entry = ? AND deleted = 0 ORDER BY entry_revision",
            (entry.id,)).fetchall()
        return [Revision(r[0], json.loads(r[1]), Code(r[2], r[3], r[4]) if r[2] else None, r[5],
                         r[6]) for r in rows]

    def add(self, person: Person, section: str, values: dict[str, object], *,
            code: Code | None = None) -> Entry:
        """Add an entry typed by the person."""
        self.people.check_writable(person)
        with self.store.write() as tx:
            rid = self.add_in(tx, person, section, values, code=code)
        return self.get(rid)

    def add_none(self, person: Person, section: str) -> Entry:
        """State "no known allergy" (medication, history) for a person."""
        self.people.check_writable(person)
        with self.store.write() as tx:
            rid = self.add_none_in(tx, person, section)
        return self.get(rid)

    def add_none_in(self, tx: db.Connection, person: Person, section: str, *,
                    provenance: str = "typed", source: str | None = None,
                    external_id: str | None = None) -> str:
        """The same inside the caller's transaction (audited); return the entry's id."""
        spec = sections.get(section)
        if spec.name not in NONE_SECTIONS:
            raise UsageError(_("Only allergies, treatments and conditions take --none."))
        if self._current(tx, person, spec.name, facts=True):
            raise UsageError(_("{section} already lists entries: remove them first.")
                             .format(section=_(spec.label)))
        if self._current(tx, person, spec.name, facts=False):
            raise UsageError(_("This is already stated."))
        return self._insert(tx, person, spec, {"none": True}, None, provenance, source,
                            external_id)

    def add_in(self, tx: db.Connection, person: Person, section: str,
               values: dict[str, object], *, code: Code | None = None,
               provenance: str = "typed", source: str | None = None,
               external_id: str | None = None) -> str:
        """Add an entry inside the caller's transaction (audited); return its id."""
        spec = sections.get(section)
        data = sections.validate(spec, values)
        if provenance not in PROVENANCES:
            raise ValueError(provenance)
        if spec.single or spec.name in NONE_SECTIONS:
            self._supersede(tx, person, spec)
        return self._insert(tx, person, spec, data, code, provenance, source, external_id)

    def _insert(self, tx: db.Connection, person: Person, spec: Section, data: dict[str, Any],
                code: Code | None, provenance: str, source: str | None,
                external_id: str | None) -> str:
        rid = records.insert(tx, "profile_entries", {
            "person": person.id, "section": spec.name, "data": _dump(data),
            **_code_columns(code), "status": "current", "provenance": provenance,
            "source": source, "sort_date": _sort_date(spec, data), "external_id": external_id,
        }, device=self.store.device)
        self.store.log(tx, "profile.add", person=person.id, record=rid,
                       detail={"section": spec.name, "provenance": provenance})
        return rid

    def _current(self, tx: db.Connection, person: Person, section: str, *,
                 facts: bool) -> builtins.list[Entry]:
        """The current facts, or "no known …" statements, of a section (filtered in SQL: an
        import adds entries one by one and must not decode the whole section each time)."""
        none = "IS NULL" if facts else "IS NOT NULL"
        rows = tx.execute(f"SELECT {_COLUMNS} FROM profile_entries WHERE deleted = 0 AND "
                          "person = ? AND section = ? AND status = 'current' AND "
                          f"json_extract(data, '$.none') {none}",
                          (person.id, section)).fetchall()
        return [Entry.from_row(r) for r in rows]

    def _supersede(self, tx: db.Connection, person: Person, spec: Section) -> None:
        """A new blood group replaces the old; a real allergy ends "no known allergy"."""
        for entry in self._current(tx, person, spec.name, facts=spec.single):
            self._change(tx, entry, status="superseded", action="profile.supersede")

    def edit(self, id_or_prefix: str, values: dict[str, object], *, revision: int,
             code: Code | None = None) -> Entry:
        """Change some fields of the entry at `revision`, the one the caller read (the previous
        version is kept); ConflictError if it changed meanwhile."""
        entry = self.get(id_or_prefix)
        self._check_editable(entry)
        if entry.is_none_statement:
            raise UsageError(_("A \"no known …\" statement has no fields to change: add the "
                               "entry itself, it replaces the statement."))
        spec = sections.get(entry.section)
        data = sections.validate(spec, values, base=entry.data)
        if data == entry.data and code in (None, entry.code):
            raise UsageError(_("Nothing to change."))
        with self.store.write() as tx:
            self._change(tx, entry, data=data, code=code, action="profile.edit", base=revision)
        return self.get(entry.id)

    def edit_in(self, tx: db.Connection, entry: Entry, values: dict[str, object]) -> bool:
        """Change some fields of a current entry inside the caller's transaction (audited);
        whether anything changed."""
        data = sections.validate(sections.get(entry.section), values, base=entry.data)
        if data == entry.data:
            return False
        self._change(tx, entry, data=data, action="profile.edit")
        return True

    def linked(self, person: Person, section: str, prefix: str) -> builtins.list[Entry]:
        """The person's entries of `section` (removed ones too) whose external id starts with
        `prefix`: those another service made and keeps track of."""
        rows = self.store.conn.execute(
            f"SELECT {_COLUMNS} FROM profile_entries WHERE deleted = 0 AND person = ? AND "
            "section = ? AND substr(external_id, 1, ?) = ?",
            (person.id, sections.get(section).name, len(prefix), prefix)).fetchall()
        return [Entry.from_row(r) for r in rows]

    def remove(self, id_or_prefix: str) -> Entry:
        """Mark a clinical fact entered in error, or delete a non-clinical entry."""
        entry = self.get(id_or_prefix)
        self._check_editable(entry)
        with self.store.write() as tx:
            if sections.get(entry.section).clinical:
                self._change(tx, entry, status=_CLINICAL_REMOVED, action="profile.remove")
            else:
                records.erase(tx, PROFILE_HISTORY, entry.id, device=self.store.device,
                              column="entry")
                records.tombstone(tx, PROFILE_ENTRIES, entry.id, device=self.store.device,
                                  base_revision=entry.revision)
                self.store.log(tx, "profile.remove", person=entry.person, record=entry.id,
                               detail={"section": entry.section, "deleted": True})
        return entry

    def _check_editable(self, entry: Entry) -> None:
        self.people.check_writable(self.people.get(entry.person))
        if entry.status != "current":
            raise UsageError(_("This entry is {status}: it can no longer change.")
                             .format(status=_(STATUS_LABELS.get(entry.status, entry.status))))

    def _change(self, tx: db.Connection, entry: Entry, *, action: str,
                data: dict[str, Any] | None = None, code: Code | None = None,
                status: str | None = None, base: int | None = None) -> None:
        """A new revision of `entry`, based on `base` (default: the revision `entry` has)."""
        self._snapshot(tx, entry)
        spec = sections.get(entry.section)
        fields: dict[str, Any] = {"status": status or entry.status}
        if data is not None:
            fields |= {"data": _dump(data), "sort_date": _sort_date(spec, data)}
        if code is not None:
            fields |= _code_columns(code)
        records.update(tx, "profile_entries", entry.id, fields, device=self.store.device,
                       base_revision=entry.revision if base is None else base)
        self.store.log(tx, action, person=entry.person, record=entry.id,
                       detail={"section": entry.section, "status": fields["status"]})

    def _snapshot(self, tx: db.Connection, entry: Entry) -> None:
        system, code, display = _code_values(entry.code)
        records.insert(tx, "profile_history", {
            "person": entry.person, "entry": entry.id, "entry_revision": entry.revision,
            "data": _dump(entry.data), "code_system": system, "code": code,
            "code_display": display, "status": entry.status, "changed_at": db.now()},
            device=self.store.device)

    def adopt_in(self, tx: db.Connection, person: Person,
                 entries: builtins.list[dict[str, Any]],
                 history: builtins.list[dict[str, Any]]) -> int:
        """Add serialised entries and their edit history (a handover archive) as the person's,
        in the caller's transaction (audited by it); skip entries already here (the same id,
        or the same outside item); return how many entries were added."""
        added = set(records.adopt(tx, PROFILE_ENTRIES, person.id, entries,
                                  device=self.store.device))
        kept = [row | {"id": row.get("id") or records.new_id(),
                       "entry_revision": row.get("entry_revision", row.get("revision"))}
                for row in history if row.get("entry") in added]  # older archives: `revision`
        records.adopt(tx, PROFILE_HISTORY, person.id, kept, device=self.store.device)
        return len(added)

    def known_ids(self, person: Person, ids: builtins.list[str]) -> set[str]:
        """Which of `ids` are the person's profile entries, removed ones included."""
        return records.known_ids(self.store.conn, "profile_entries", person.id, ids)

    def by_external_id(self, person: Person, external_ids: Iterable[str]) -> dict[str, Entry]:
        """The person's entries that came from outside with these ids."""
        rows = records.rows_in(
            self.store.conn, f"SELECT {_COLUMNS} FROM profile_entries WHERE deleted = 0 AND "
            "person = ? AND external_id IN", [person.id], list(external_ids))
        return {e.external_id: e for e in map(Entry.from_row, rows) if e.external_id}


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, sort_keys=True)


def _code_values(code: Code | None) -> tuple[str | None, str | None, str | None]:
    return (code.system, code.code, code.display) if code else (None, None, None)


def _code_columns(code: Code | None) -> dict[str, Any]:
    return dict(zip(("code_system", "code", "code_display"), _code_values(code), strict=True))


def _sort_date(spec: Section, data: dict[str, Any]) -> str | None:
    value = data.get(spec.date_field) if spec.date_field else None
    return str(value) if value else None
