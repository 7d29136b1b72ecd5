"""Importing files into the vault: by hand or by script, thousands at a time, robust to any file.

For each file: hash it (a file already stored for that person is a duplicate: nothing more is
done), type it by content, send PDFs to long-lived extraction workers (formats/extract_pool.py)
while the main process goes on hashing, then encrypt it into a blob, classify it and insert it.
Inserts are committed in batches (one transaction, one audit entry per document); a file is
reported only once its batch is committed. Every file that can be stored is stored, flagged
when it could not be read.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import stat
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from msante.documents import analysis, types
from msante.documents.service import Documents, merge_tags
from msante.formats.pdf_in import Extraction
from msante.formats.sniff import sniff
from msante.i18n import _
from msante.people import Person
from msante.text import clean
from msante.vault import files, records, spaces

BATCH_FILES = 64
BATCH_SECONDS = 0.5
TEXT_FILE_LIMIT = 5_000_000


@dataclass(frozen=True)
class Options:
    """What the person said about the files being imported."""

    person: Person
    type_ref: str | None = None
    date: dt.date | None = None
    title: str | None = None
    author: str | None = None
    tags: tuple[str, ...] = ()
    password: str | None = None
    recursive: bool = False


@dataclass(frozen=True)
class Result:
    """What happened to one file."""

    path: str
    status: str  # imported | duplicate | flagged | failed
    id: str | None = None
    reason: str | None = None
    flags: tuple[str, ...] = ()
    type_code: str | None = None
    type_guessed: bool = False
    date: str | None = None
    date_guessed: bool = False
    title: str | None = None

    def to_json(self) -> dict[str, Any]:
        """One JSON line of `doc import --json`."""
        return {"file": self.path, "status": self.status, "id": self.id, "reason": self.reason,
                "flags": list(self.flags), "type": self.type_code,
                "type_guessed": self.type_guessed, "date": self.date,
                "date_guessed": self.date_guessed, "title": self.title}

    def describe(self) -> str:
        """One line for a person: what was imported and guessed, or why a file was not (no
        control character from a file's name or title)."""
        return clean(self._describe())

    def _describe(self) -> str:
        from msante.documents.model import FLAG_TEXTS

        if self.status == "imported":
            guessed = " " + _("(guessed)")
            kind = types.get(self.type_code or types.OTHER).label + (
                guessed if self.type_guessed else "")
            date = (self.date or "—") + (guessed if self.date_guessed else "")
            return _("imported: {title} — {type}, {date} [{id}]").format(
                title=self.title, type=kind, date=date, id=(self.id or "")[:8])
        status = {"duplicate": _("duplicate"), "flagged": _("flagged"),
                  "failed": _("failed")}[self.status]
        flags = ", ".join(_(FLAG_TEXTS.get(f, f)) for f in self.flags)
        why = " — ".join(x for x in (flags, self.reason or "") if x)
        return _("{status}: {path}").format(status=status, path=self.path) + (
            f" ({why})" if why else "")


@dataclass
class _Item:
    path: Path
    sha256: str
    size: int
    mime: str
    extraction: Extraction | None = None


@dataclass
class Summary:
    """Counts by status, for the final summary line."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("imported", "duplicate", "flagged", "failed"), 0))

    def add(self, result: Result) -> None:
        """Count one result."""
        self.counts[result.status] += 1

    @property
    def partial(self) -> bool:
        """Whether any file was flagged or failed (exit 8)."""
        return bool(self.counts["flagged"] or self.counts["failed"])

    def describe(self) -> str:
        """The summary line: how many files of each status."""
        return _("{imported} imported, {duplicate} duplicates, {flagged} flagged, "
                 "{failed} failed.").format(**self.counts)


def walk(paths: Iterable[Path], recursive: bool) -> Iterator[tuple[Path, str | None]]:
    """Files to import, with an error instead when a path cannot be used.

    A folder's regular files are taken; its sub-folders only when `recursive`; dot-files,
    FIFOs, sockets, devices and symlinked folders are skipped.
    """
    for path in paths:
        try:
            st = os.stat(path)
        except OSError as exc:
            yield path, exc.strerror or str(exc)
            continue
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_dir(path, recursive)
        elif stat.S_ISREG(st.st_mode):
            yield path, None
        else:
            yield path, _("not a regular file")


def _walk_dir(folder: Path, recursive: bool) -> Iterator[tuple[Path, str | None]]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as exc:
        yield folder, exc.strerror or str(exc)
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        if entry.is_dir(follow_symlinks=False):
            if recursive:
                yield from _walk_dir(Path(entry.path), recursive)
        elif entry.is_file(follow_symlinks=True):
            yield Path(entry.path), None


def hash_file(path: Path) -> tuple[str, int, bytes]:
    """(SHA-256 hex, size, first 2 KiB) of a file, read once, streamed."""
    digest, size, head = hashlib.sha256(), 0, b""
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            if not head:
                head = chunk[:2048]
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size, head


class Importer:
    """One import run: `run(paths)` yields a Result per file as its batch commits."""

    def __init__(self, docs: Documents, options: Options) -> None:
        self.docs = docs
        self.store = docs.store
        self.options = options
        self.type_code = types.resolve(options.type_ref).code if options.type_ref else None
        self.seen: dict[str, str] = {}
        self.batch: list[tuple[dict[str, Any], Result]] = []
        self.batch_started = 0.0
        self.pending = files.PendingBlobs(self.store)
        self.space_key = spaces.key(self.store.conn, self.store.keys, options.person.id)

    def run(self, paths: Iterable[Path]) -> Iterator[Result]:
        """Import every file under `paths`."""
        return self.run_walked(walk(paths, self.options.recursive))

    def run_walked(self, walked: Iterable[tuple[Path, str | None]]) -> Iterator[Result]:
        """Import files already listed by `walk` (so a caller can count them first)."""
        from msante.formats.extract_pool import ExtractionPool

        self.docs.people.check_writable(self.options.person)
        with ExtractionPool() as pool:
            waiting: dict[Any, _Item] = {}
            for path, error in walked:
                yield from self._one(pool, waiting, path, error)
            for ticket, extraction in pool.results():
                item = waiting.pop(ticket)
                item.extraction = extraction
                yield from self._store(item)
        yield from self.flush()

    def _one(self, pool: Any, waiting: dict[Any, _Item], path: Path,
             error: str | None) -> Iterator[Result]:
        if error is not None:
            yield Result(str(path), "failed", reason=error)
            return
        try:
            sha, size, head = hash_file(path)
        except OSError as exc:
            yield Result(str(path), "failed", reason=exc.strerror or str(exc))
            return
        duplicate = self._duplicate(path, sha)
        if duplicate:
            yield duplicate
            return
        self.seen[sha] = ""
        item = _Item(path, sha, size, sniff(head))
        if item.mime == "application/pdf":
            waiting[pool.submit(path, self.options.password)] = item
        else:
            yield from self._store(item)

    def _duplicate(self, path: Path, sha: str) -> Result | None:
        """A duplicate's result when these bytes are stored already or met earlier in this run."""
        stored = self.seen.get(sha)  # "" while the first copy is still being extracted
        if stored is None:
            stored = self.docs.stored(self.options.person, sha) or ""
            if not stored:
                return None
        reason = (_("already stored as {id}").format(id=stored[:8]) if stored
                  else _("same file as one earlier in this import"))
        return Result(str(path), "duplicate", id=stored or None, reason=reason)

    def _store(self, item: _Item) -> Iterator[Result]:
        rid = records.new_id()
        try:
            sealed = self._seal(item, rid)
        except OSError as exc:
            yield Result(str(item.path), "failed", reason=exc.strerror or str(exc))
            return
        fields, result = self._describe(item, rid, sealed)
        self.seen[item.sha256] = rid
        if not self.batch:
            self.batch_started = time.monotonic()
        self.batch.append((fields, result))
        if len(self.batch) >= BATCH_FILES or time.monotonic() - self.batch_started > BATCH_SECONDS:
            yield from self.flush()

    def _seal(self, item: _Item, rid: str) -> files.SealedFile:
        with open(item.path, "rb") as src:
            return files.seal(self.store, self.options.person.id, rid, 1, src,
                              journal=self.pending, space_key=self.space_key)

    def flush(self) -> Iterator[Result]:
        """Commit the batch; then report its files."""
        if not self.batch:
            return
        batch, self.batch = self.batch, []
        self.pending.sync()  # the blobs are on disk before the rows that reference them
        with self.store.write() as tx:
            for fields, result in batch:
                records.insert(tx, "documents", fields, device=self.store.device,
                               rid=fields.pop("id"))
                self.store.log(tx, "document.import", person=self.options.person.id,
                               record=result.id, detail={"status": result.status})
        self.pending.clear()
        yield from (result for _fields, result in batch)

    def _describe(self, item: _Item, rid: str,
                  sealed: files.SealedFile) -> tuple[dict[str, Any], Result]:
        ex = item.extraction or _other_file(item)
        o = self.options
        found = analysis.analyse(ex, item.path.name, item.mime, analysis.Given(
            self.type_code, o.date, o.title, o.author))
        day = found.date.isoformat() if found.date else None
        tags = merge_tags((), self.options.tags, ())
        fields = {
            "id": rid, "person": self.options.person.id, "blob_id": sealed.blob_id,
            "wrapped_key": sealed.wrapped_key, "sha256": sealed.info.sha256,
            "size": sealed.info.size, "mime": item.mime, "filename": item.path.name,
            "title": found.title, "author": found.author, "doc_date": day,
            "date_guessed": int(found.date_guessed), "type_code": found.type_code,
            "type_guessed": int(found.type_guessed), "pages": ex.pages,
            "flags": json.dumps(list(ex.flags)), "reason": ex.reason,
            "tags": json.dumps(tags, ensure_ascii=False), "tags_text": " ".join(tags),
            "text": ex.text, "pdf_created": ex.created, "pdf_modified": ex.modified,
        }
        status = "flagged" if ex.flags else "imported"
        return fields, Result(str(item.path), status, rid, ex.reason, ex.flags,
                              found.type_code, found.type_guessed, day, found.date_guessed,
                              found.title)


def _other_file(item: _Item) -> Extraction:
    """What is known of a file that is not a PDF: text files are indexed, the rest stored."""
    if item.path.suffix.lower() == ".pdf":
        reason = _("not a PDF (its content is {mime})").format(mime=item.mime)
        return _extraction(flags=("unreadable",), reason=reason)
    text = ""
    if item.mime == "text/plain":
        with open(item.path, "rb") as f:
            text = f.read(TEXT_FILE_LIMIT).decode("utf-8", errors="replace")
    return _extraction(text=text)


def _extraction(text: str = "", flags: tuple[str, ...] = (), reason: str | None = None
                ) -> Extraction:
    return Extraction(text=text, pages=None, title=None, author=None, subject=None,
                      created=None, modified=None, flags=flags, reason=reason)
