"""The document record as the services and interfaces see it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any, NamedTuple

from msante.documents import types
from msante.i18n import N_, _

FLAG_TEXTS = {
    "encrypted": N_("encrypted — not indexed"),
    "unreadable": N_("unreadable"),
    "no-text": N_("no text layer"),
    "limits": N_("too large or too complex to read — not indexed"),
    "partial": N_("partly unreadable"),
}

COLUMNS = ("n, id, revision, person, blob_id, wrapped_key, sha256, size, mime, filename, title, "
           "author, doc_date, date_guessed, type_code, type_guessed, pages, flags, reason, tags, "
           "note, pdf_created, pdf_modified, hidden, trashed_at, created_at, updated_at")


class Document(NamedTuple):
    """One stored document (its text is fetched apart: it can be long).

    A named tuple rather than a frozen dataclass: searches and lists build many of them, and a
    tuple is built in a fraction of the time.
    """

    n: int
    id: str
    revision: int
    person: str
    blob_id: str
    wrapped_key: bytes
    sha256: str
    size: int
    mime: str
    filename: str | None
    title: str
    author: str | None
    date: dt.date | None
    date_guessed: bool
    type_code: str
    type_guessed: bool
    pages: int | None
    flags: tuple[str, ...]
    reason: str | None
    tags: tuple[str, ...]
    note: str | None
    pdf_created: str | None
    pdf_modified: str | None
    hidden: bool
    trashed_at: str | None
    imported_at: str
    updated_at: str

    @classmethod
    def from_row(cls, row: Any) -> Document:
        """Build from a row selected with COLUMNS."""
        return cls.from_rows([row])[0]

    @classmethod
    def from_rows(cls, rows: Iterable[Any]) -> list[Document]:
        """Build from rows selected with COLUMNS, each maybe followed by other columns (left
        out). One loop rather than a call per row, and tuple.__new__ rather than cls(…): a
        search builds 20 of them, and the named tuple's own __new__ binds 27 arguments by
        name first."""
        new, day, loads = tuple.__new__, dt.date.fromisoformat, json.loads
        return [new(cls, (
            n, id_, rev, person, blob_id, bytes(wrapped), sha, size, mime, filename, title,
            author, day(date) if date else None, bool(dguess), code, bool(tguess), pages,
            () if flags == "[]" else tuple(loads(flags)), reason,
            () if tags == "[]" else tuple(loads(tags)), note, pcreated, pmodified,
            bool(hidden), trashed, created, updated))
            for (n, id_, rev, person, blob_id, wrapped, sha, size, mime, filename, title, author,
                 date, dguess, code, tguess, pages, flags, reason, tags, note, pcreated,
                 pmodified, hidden, trashed, created, updated, *_more) in rows]

    @property
    def type_label(self) -> str:
        """The type's name in the user's language."""
        return types.get(self.type_code).label

    def flag_texts(self) -> list[str]:
        """The flags in the user's language."""
        return [_(FLAG_TEXTS.get(f, f)) for f in self.flags]

    def to_json(self, person_name: str | None = None) -> dict[str, Any]:
        """The stable JSON form (docs/cli.md lists the keys)."""
        return {
            "id": self.id, "title": self.title, "type": self.type_code,
            "type_label": self.type_label, "type_guessed": self.type_guessed,
            "date": self.date.isoformat() if self.date else None,
            "date_guessed": self.date_guessed, "person": person_name or self.person,
            "person_id": self.person, "author": self.author, "flags": list(self.flags),
            "reason": self.reason, "tags": list(self.tags), "hidden": self.hidden,
            "trashed": self.trashed_at is not None, "trashed_at": self.trashed_at,
            "mime": self.mime, "size": self.size, "sha256": self.sha256, "pages": self.pages,
            "filename": self.filename, "note": self.note, "imported_at": self.imported_at,
            "revision": self.revision,
        }
