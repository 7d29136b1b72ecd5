"""The documents service: find, read, export, edit, hide, trash and purge stored documents.

Every read of a document's content (text, export, open) and every change is audited in the
same transaction as the change; listings and search results are not (DESIGN.md, Audit).
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from msante.documents import types
from msante.documents.model import COLUMNS, Document
from msante.errors import NotFoundError, UsageError
from msante.i18n import _
from msante.people import People, Person
from msante.text import fold
from msante.vault import db, files, records
from msante.vault.descriptors import DOCUMENTS
from msante.vault.fsutil import new_private_file
from msante.vault.store import Store

SELECT = f"SELECT {COLUMNS} FROM documents"


class Documents:
    """Stored documents of every person of the vault."""

    def __init__(self, store: Store, people: People) -> None:
        self.store = store
        self.people = people
        files.recover_pending(store, self.blob_referenced)

    def blob_referenced(self, blob_id: str) -> bool:
        """Whether a live document's row names this blob."""
        row = self.store.conn.execute(
            "SELECT 1 FROM documents WHERE blob_id = ? AND deleted = 0", (blob_id,)).fetchone()
        return row is not None

    # -- finding ---------------------------------------------------------------------------

    def stored(self, person: Person, sha256: str) -> str | None:
        """The id of the person's document with these bytes (SHA-256), if one is stored."""
        row = self.store.conn.execute(
            "SELECT id FROM documents WHERE person = ? AND sha256 = ? AND deleted = 0",
            (person.id, sha256)).fetchone()
        return str(row[0]) if row else None

    def get(self, ref: str) -> Document:
        """A document by id or unique id prefix (at least 4 characters), trashed ones too."""
        rows = records.by_prefix(self.store.conn, SELECT + " WHERE deleted = 0", ref)
        if len(rows) == 1:
            return Document.from_row(rows[0])
        if len(rows) > 1:
            raise UsageError(_("'{ref}' matches several documents: give more of the id.")
                             .format(ref=ref))
        raise NotFoundError(_("No document '{ref}'.").format(ref=ref))

    def list(self, *, person: Person | None = None, type_code: str | None = None,
             since: dt.date | None = None, until: dt.date | None = None,
             tag: str | None = None, author: str | None = None, flag: str | None = None,
             trashed: bool = False, limit: int | None = 50) -> builtins.list[Document]:
        """Documents newest first, filtered; the trash only with `trashed`."""
        where, args = self._filters(person, type_code, since, until, trashed)
        if tag:
            where.append("EXISTS (SELECT 1 FROM json_each(tags) WHERE value = ?)")
            args.append(tag)
        if author:
            where.append("author LIKE ?")
            args.append(f"%{author}%")
        if flag:
            where.append("EXISTS (SELECT 1 FROM json_each(flags) WHERE value = ?)")
            args.append(flag)
        sql = SELECT + " WHERE " + " AND ".join(where) + " ORDER BY doc_date DESC, n DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return Document.from_rows(self.store.conn.execute(sql, args).fetchall())

    def count(self, *, person: Person | None = None) -> int:
        """How many documents (out of the trash) `list` gives without a limit."""
        where, args = self._filters(person, None, None, None, False)
        sql = "SELECT count(*) FROM documents WHERE " + " AND ".join(where)
        return int(self.store.conn.execute(sql, args).fetchone()[0])

    @staticmethod
    def _filters(person: Person | None, type_code: str | None, since: dt.date | None,
                 until: dt.date | None,
                 trashed: bool) -> tuple[builtins.list[str], builtins.list[Any]]:
        where = ["deleted = 0", "trashed_at IS NOT NULL" if trashed else "trashed_at IS NULL"]
        args: builtins.list[Any] = []
        for clause, value in (("person = ?", person.id if person else None),
                              ("type_code = ?", type_code),
                              ("doc_date >= ?", since.isoformat() if since else None),
                              ("doc_date <= ?", until.isoformat() if until else None)):
            if value is not None:
                where.append(clause)
                args.append(value)
        return where, args

    def search(self, query: str, *, person: Person | None = None,
               limit: int = 20) -> builtins.list[tuple[Document, str]]:
        """Documents matching `query`, with a highlighted snippet (see documents/search.py)."""
        from msante.documents.search import search

        return search(self.store.conn, query, person_id=person.id if person else None,
                      limit=limit)

    # -- reading (audited) -----------------------------------------------------------------

    def _ref(self, doc: Document) -> files.FileRef:
        return files.FileRef(doc.person, doc.id, doc.revision, doc.blob_id, doc.wrapped_key)

    def _audit_read(self, doc: Document, how: str) -> None:
        with self.store.write() as tx:
            self.store.log(tx, "document.read", person=doc.person, record=doc.id,
                           detail={"how": how})

    def text(self, doc: Document) -> str:
        """The extracted text of a document (audited as a read)."""
        row = self.store.conn.execute("SELECT text FROM documents WHERE id = ?",
                                      (doc.id,)).fetchone()
        self._audit_read(doc, "text")
        return str(row[0] or "")

    def export(self, doc: Document, dst: Path, *, overwrite: bool = False) -> Path:
        """Write the original bytes to `dst` (a new 0600 file, or a new one in the folder
        `dst`; `overwrite`: replace one), checked against their SHA-256."""
        target = dst / export_name(doc) if dst.is_dir() else dst
        self._write_copy(doc, target, audit_as="export", overwrite=overwrite)
        return target

    def _write_copy(self, doc: Document, target: Path, *, audit_as: str | None,
                    overwrite: bool = False) -> None:
        """Decrypt into a new private file; audit before it appears (when `audit_as`)."""
        import hashlib

        with new_private_file(target, overwrite=overwrite) as out:
            hashing = _HashingWriter(out, hashlib.sha256())
            files.read(self.store, self._ref(doc), hashing)  # type: ignore[arg-type]
            if hashing.digest.hexdigest() != doc.sha256:
                from msante.errors import IntegrityError

                raise IntegrityError(_("The stored file of {id} does not match its SHA-256.")
                                     .format(id=doc.id))
            if audit_as:
                self._audit_read(doc, audit_as)

    def open_copy(self, doc: Document) -> Path:
        """Decrypt into a private temporary file (on a tmpfs when there is one).

        Whatever stops the decryption (a failure, a signal made an exception) removes the
        folder; `viewing.clean_stale_copies` removes those of processes that were killed."""
        from msante.documents.viewing import new_copy_dir

        folder = new_copy_dir()
        target = folder / export_name(doc)
        try:
            self._write_copy(doc, target, audit_as="open")
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        return target

    # -- changing (audited) ----------------------------------------------------------------

    def adopt_in(self, tx: db.Connection, person: Person,
                 rows: builtins.list[dict[str, Any]], *, source: str) -> None:
        """Add documents whose files were sealed already (a handover), in the caller's
        transaction: each row its id and DOCUMENTS' columns; each import audited."""
        for row in rows:
            fields = {c: row[c] for c in DOCUMENTS.content if c in row} | {"person": person.id}
            rid = records.insert(tx, DOCUMENTS.table, fields, device=self.store.device,
                                 rid=str(row["id"]))
            self.store.log(tx, "document.import", person=person.id, record=rid,
                           detail={"source": source})

    def _update(self, doc: Document, fields: dict[str, Any], action: str,
                detail: dict[str, Any] | None = None) -> Document:
        self.people.check_writable(self.people.get(doc.person))
        with self.store.write() as tx:
            revision = records.update(tx, "documents", doc.id, fields | self._rewrap(doc),
                                      device=self.store.device, base_revision=doc.revision)
            self.store.log(tx, action, person=doc.person, record=doc.id,
                           detail=(detail or {}) | {"revision": revision})
        return self.get(doc.id)

    def _rewrap(self, doc: Document) -> dict[str, Any]:
        """The data key wrapped for the next revision (the key is bound to the revision)."""
        return {"wrapped_key": files.rewrap(self.store, self._ref(doc), doc.revision + 1)}

    def edit(self, doc: Document, *, title: str | None = None, type_ref: str | None = None,
             date: dt.date | None = None, add_tags: tuple[str, ...] = (),
             remove_tags: tuple[str, ...] = (), note: str | None = None) -> Document:
        """Change what the person says of a document; a given type or date is no longer a guess."""
        fields: dict[str, Any] = {}
        if title is not None:
            fields["title"] = _clean_title(title)
        if type_ref is not None:
            fields |= {"type_code": types.resolve(type_ref).code, "type_guessed": 0}
        if date is not None:
            fields |= {"doc_date": date.isoformat(), "date_guessed": 0}
        if add_tags or remove_tags:
            tags = merge_tags(doc.tags, add_tags, remove_tags)
            fields |= {"tags": json.dumps(tags, ensure_ascii=False), "tags_text": " ".join(tags)}
        if note is not None:
            fields["note"] = note.strip() or None
        if not fields:
            raise UsageError(_("Nothing to change: give --title, --type, --date, --tag, --untag "
                               "or --note."))
        return self._update(doc, fields, "document.edit", {"fields": sorted(fields)})

    def set_hidden(self, doc: Document, hidden: bool) -> Document:
        """Hide a document from professionals (or show it again)."""
        action = "document.hide" if hidden else "document.unhide"
        return self._update(doc, {"hidden": int(hidden)}, action)

    def trash(self, doc: Document) -> Document:
        """Move a document to the trash (reversible)."""
        return self._update(doc, {"trashed_at": db.now()}, "document.delete")

    def restore(self, doc: Document) -> Document:
        """Take a document out of the trash."""
        if doc.trashed_at is None:
            raise UsageError(_("Document {id} is not in the trash.").format(id=doc.id[:8]))
        return self._update(doc, {"trashed_at": None}, "document.restore")

    def purge(self, doc: Document) -> None:
        """Erase a document for good: its key, its row's content, its index entry, its blob."""
        self.people.check_writable(self.people.get(doc.person))
        with self.store.write() as tx:
            records.tombstone(tx, DOCUMENTS, doc.id, device=self.store.device,
                              base_revision=doc.revision)
            self.store.log(tx, "document.purge", person=doc.person, record=doc.id)
        self.store.blobs.delete(doc.blob_id)
        db.checkpoint(self.store.conn)

    def purge_trash(self, older_than: dt.timedelta | None = None) -> builtins.list[Document]:
        """Purge what is in the trash (only what was put there before `older_than` ago)."""
        limit = dt.datetime.now(dt.UTC) - older_than if older_than else None
        victims = [d for d in self.list(trashed=True, limit=None)
                   if limit is None or dt.datetime.fromisoformat(d.trashed_at or "") <= limit]
        for doc in victims:
            self.purge(doc)
        return victims

    def unlock_pdf(self, doc: Document, password: str) -> Document:
        """Read a protected PDF with its password and describe it as an import with the
        password would have: its text, and what was guessed (title from the file name, author,
        date, type) guessed again; what the person set is kept."""
        from msante.errors import WrongKeyError

        if "encrypted" not in doc.flags:
            raise UsageError(_("Document {id} is not a protected PDF waiting for its password.")
                             .format(id=doc.id[:8]))
        ex = self._extract_stored(doc, password)
        if "encrypted" in ex.flags:
            raise WrongKeyError(_("Wrong password for this PDF. Nothing was changed."))
        fields = {"text": ex.text, "pages": ex.pages, "flags": json.dumps(list(ex.flags)),
                  "reason": ex.reason, "pdf_created": ex.created, "pdf_modified": ex.modified}
        return self._update(doc, fields | _reanalysed(doc, ex), "document.unlock")

    def _extract_stored(self, doc: Document, password: str) -> Any:
        """Extract a stored PDF through one limited worker, from a private temporary copy."""
        from msante.documents.viewing import new_copy_dir
        from msante.formats.extract_pool import ExtractionPool

        copy = new_copy_dir() / "protected.pdf"
        try:
            self._write_copy(doc, copy, audit_as=None)  # the unlock itself is audited
            with ExtractionPool(workers=1) as pool:
                pool.submit(copy, password)
                return next(iter(pool.results()))[1]
        finally:
            shutil.rmtree(copy.parent, ignore_errors=True)

class _HashingWriter:
    """Writes through to `out` while hashing what passes."""

    def __init__(self, out: Any, digest: Any) -> None:
        self.out, self.digest = out, digest

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        return int(self.out.write(data))


def _reanalysed(doc: Document, ex: Any) -> dict[str, Any]:
    """The fields an import would have set that the person did not: what was guessed, the
    author when none, the title when it is still the file name's."""
    from msante.documents import analysis

    given = analysis.Given(
        type_code=None if doc.type_guessed else doc.type_code,
        date=None if doc.date_guessed else doc.date,
        title=None if doc.title in _name_titles(doc.filename or "") else doc.title,
        author=doc.author)
    found = analysis.analyse(ex, doc.filename or "", doc.mime, given)
    return {"title": found.title, "author": found.author,
            "doc_date": found.date.isoformat() if found.date else None,
            "date_guessed": int(found.date_guessed), "type_code": found.type_code,
            "type_guessed": int(found.type_guessed)}


def _name_titles(filename: str) -> set[str]:
    """The titles an import makes from a file name (and the one older versions made)."""
    from msante.documents import analysis

    return {analysis.name_title(filename), Path(filename).stem.replace("_", " ").strip()}


def export_name(doc: Document) -> str:
    """A file name for an exported document: date, title, short id, extension."""
    from msante.formats.sniff import extension_for

    safe = "".join(c if c.isalnum() or c in " -_." else "_" for c in doc.title)[:60].strip()
    date = doc.date.isoformat() if doc.date else "undated"
    return f"{date} {safe} {doc.id[:8]}{extension_for(doc.mime)}"


def _clean_title(title: str) -> str:
    clean = " ".join(title.split())
    if not clean or len(clean) > 300:
        raise UsageError(_("A title must have between 1 and 300 characters."))
    return clean


def merge_tags(current: tuple[str, ...], add: tuple[str, ...],
               remove: tuple[str, ...]) -> list[str]:
    """Tags after adding and removing some (compared ignoring case and accents)."""
    gone = {fold(t) for t in remove}
    kept = [t for t in current if fold(t) not in gone]
    for tag in add:
        clean = " ".join(tag.split())
        if clean and fold(clean) not in {fold(t) for t in kept}:
            kept.append(clean)
    return kept
