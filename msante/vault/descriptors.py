"""One descriptor per record type: its table, content columns, person column and blanks.

Tombstones, erasing a person, the handover archive, backups (and later sync) read these instead
of keeping their own column lists. They are plain data in the vault layer, beside the schema
(migrations.py creates every table, the domains' ones included): the vault needs them to erase
a person without knowing the services above it, and each service imports its own descriptor.
A column added by a migration is added here in the same change.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Descriptor:
    """What every layer needs to know of one record type."""

    table: str
    content: tuple[str, ...]
    """Every column that carries the record's content (all but the sync columns and `person`,
    and `n`): what sync serialises and what erasing blanks."""
    person: str | None = "person"
    """The column naming the person (the space) whose record it is."""
    blanks: Mapping[str, Any] = field(default_factory=dict)
    """What erasing writes in NOT NULL content columns; the others become NULL."""
    binary: frozenset[str] = frozenset()
    """Content columns holding bytes (base64 once serialised)."""
    refs: tuple[str, ...] = ()
    """Columns a tombstone keeps (a reference to another record, a key's version); serialised
    with the content."""

    def erased(self) -> dict[str, Any]:
        """The content columns of a tombstone: NULL or their blank."""
        return {c: None for c in self.content} | dict(self.blanks)

    def serialise(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """A record's id and content as JSON values (bytes in base64)."""
        out = {"id": row["id"]} if "id" in row else {}
        for column in (*self.refs, *self.content):
            value = row.get(column)
            out[column] = base64.b64encode(bytes(value)).decode() \
                if column in self.binary and value is not None else value
        return out

    def deserialise(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """The columns of a serialised record (those of this type only; bytes decoded)."""
        out: dict[str, Any] = {}
        for column in (*self.refs, *self.content):
            if column in data:
                value = data[column]
                out[column] = base64.b64decode(value) \
                    if column in self.binary and value is not None else value
        return out


PEOPLE = Descriptor("people", ("name", "name_key", "born", "sex", "relation", "majority"),
                    person="id")
SPACES = Descriptor("spaces", ("wrapped_key",), person="id", binary=frozenset({"wrapped_key"}),
                    refs=("key_version",))
_KEYS = ("x25519_public", "x25519_private", "ed25519_public", "ed25519_private")
IDENTITIES = Descriptor("identities", _KEYS, person="space", binary=frozenset(_KEYS))
DOCUMENTS = Descriptor(
    "documents",
    ("blob_id", "wrapped_key", "sha256", "size", "mime", "filename", "title", "author",
     "doc_date", "date_guessed", "type_code", "type_guessed", "pages", "flags", "reason", "tags",
     "tags_text", "note", "text", "pdf_created", "pdf_modified", "hidden", "trashed_at"),
    blanks={"date_guessed": 0, "type_guessed": 0, "flags": "[]", "tags": "[]",
            "tags_text": "", "hidden": 0},
    binary=frozenset({"wrapped_key"}))
PROFILE_ENTRIES = Descriptor(
    "profile_entries",
    ("section", "data", "code_system", "code", "code_display", "status", "provenance", "source",
     "sort_date", "external_id"),
    blanks={"section": "", "data": "{}", "status": "", "provenance": ""})
PROFILE_HISTORY = Descriptor(
    "profile_history",
    ("data", "code_system", "code", "code_display", "status", "changed_at"),
    refs=("entry", "entry_revision"))
MEASUREMENTS = Descriptor(
    "measurements",
    ("kind", "value", "value2", "unit", "at", "note", "entered", "provenance", "external_id"),
    blanks={"kind": "", "value": 0.0, "unit": "", "at": "", "provenance": ""})
AGENDA_ITEMS = Descriptor(
    "agenda_items",
    ("title", "starts_at", "tz", "duration_min", "location", "professional", "reminders",
     "rrule", "note", "uid", "provenance"),
    blanks={"title": "", "starts_at": "", "tz": "", "duration_min": 0, "reminders": "[]",
            "provenance": ""})
PREVENTION_DONE = Descriptor("prevention_done", ("rule", "dose", "done_on", "note"),
                             blanks={"rule": "", "dose": 0, "done_on": ""})

ALL: tuple[Descriptor, ...] = (PEOPLE, SPACES, IDENTITIES, DOCUMENTS, PROFILE_ENTRIES,
                               PROFILE_HISTORY, MEASUREMENTS, AGENDA_ITEMS, PREVENTION_DONE)
"""Every record type, in the order of the schema."""
BY_TABLE = {d.table: d for d in ALL}


def of(table: str) -> Descriptor:
    """The descriptor of `table` (KeyError for a table that holds no records)."""
    return BY_TABLE[table]
