"""Handing a child's profile over at majority: an archive sealed by a one-time code.

The caregiver exports the person's space (their medical profile with its edit history, their
measurements, their documents and their activity history); the now-adult imports it
into their own vault with `msante backup restore FILE --merge`, where it is re-keyed under their
own keys. The code is random (160 bits, with a checksum against typos) and shown only once.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from msante.errors import AlreadyExistsError, UsageError
from msante.formats import archive
from msante.i18n import _
from msante.people import Person
from msante.text import fold
from msante.vault import crypto, db
from msante.vault.fsutil import check_new_file, new_private_file

if TYPE_CHECKING:
    from msante.api import Vault


def _key(secret: bytes, archive_id: str) -> bytes:
    return crypto.hkdf(secret, "handover", salt=archive_id.encode())


def export_space(vault: Vault, person: Person, out: Path, *, overwrite: bool = False) -> str:
    """Write `person`'s handover archive to `out`; return the one-time code."""
    if person.relation != "child" or not person.read_only():
        raise UsageError(
            _("Only a child who has come of age can be handed over ({name}: majority on {date}).")
            .format(name=person.name, date=person.majority or "—"))
    check_new_file(out, overwrite=overwrite)
    code, secret = crypto.new_recovery_key()
    archive_id = str(uuid.uuid4())
    env = archive.make_envelope("handover", {"archive_id": archive_id, "created": db.now()})
    history = [e.to_json() for e in vault.audit.entries(person=person.id)]
    with new_private_file(out, overwrite=overwrite) as f:
        with archive.writer(f, env, _key(secret, archive_id)) as tar:
            archive.add_bytes(tar, "person.json", json.dumps(_person_json(person)).encode())
            archive.add_bytes(tar, "history.jsonl", "\n".join(
                json.dumps(h, ensure_ascii=False) for h in history).encode())
            records_out = _add_records(vault, person, tar)
            count = _add_documents(vault, person, tar)
        with vault.store.write() as tx:  # recorded once the archive is whole, before it appears
            vault.store.log(tx, "person.handover", person=person.id, record=person.id,
                            detail={"archive_id": archive_id, "documents": count,
                                    **records_out})
    return code


DOC_FIELDS = ("title", "author", "doc_date", "date_guessed", "type_code", "type_guessed",
              "pages", "flags", "reason", "tags", "tags_text", "note", "text", "pdf_created",
              "pdf_modified", "hidden", "mime", "filename", "sha256", "size")


# The person's records carried as JSON lines: member → (table, columns, the person's rows).
RECORDS = {
    "profile.jsonl": ("profile_entries", (
        "id", "section", "data", "code_system", "code", "code_display", "status", "provenance",
        "source", "sort_date", "external_id"), "person = ?"),
    "profile_history.jsonl": ("profile_history", (
        "entry", "revision", "data", "code_system", "code", "code_display", "status",
        "changed_at"), "entry IN (SELECT id FROM profile_entries WHERE person = ?)"),
    "measurements.jsonl": ("measurements", (
        "id", "kind", "value", "value2", "unit", "at", "note", "entered", "provenance",
        "external_id"), "person = ?"),
}


def _add_records(vault: Vault, person: Person, tar: Any) -> dict[str, int]:
    """The profile, its edit history and the measurements, one JSON object per line."""
    counts = {}
    for member, (table, columns, where) in RECORDS.items():
        rows = vault.store.conn.execute(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {where}"
            + (" AND deleted = 0" if table != "profile_history" else ""),
            (person.id,)).fetchall()
        archive.add_bytes(tar, member, "\n".join(json.dumps(
            dict(zip(columns, row, strict=True)), ensure_ascii=False) for row in rows).encode())
        counts[table] = len(rows)
    return counts


def _add_documents(vault: Vault, person: Person, tar: Any) -> int:
    """Each document: its record (JSON) then its original bytes, streamed from the blob."""
    import tarfile

    from msante.vault import files

    docs = vault.documents.list(person=person, limit=None)
    for doc in docs:
        row = vault.store.conn.execute(f"SELECT {', '.join(DOC_FIELDS)} FROM documents "
                                       "WHERE id = ?", (doc.id,)).fetchone()
        archive.add_bytes(tar, f"documents/{doc.id}.json",
                          json.dumps(dict(zip(DOC_FIELDS, row, strict=True))).encode())
        info = tarfile.TarInfo(f"documents/{doc.id}.bin")
        info.size, info.mode = doc.size, 0o600
        ref = files.FileRef(doc.person, doc.id, doc.revision, doc.blob_id, doc.wrapped_key)
        with files.open_stream(vault.store, ref) as stream:
            tar.addfile(info, stream)
    return len(docs)


def _person_json(person: Person) -> dict[str, Any]:
    return {"name": person.name, "born": person.born.isoformat(), "sex": person.sex}


def import_space(vault: Vault, src: BinaryIO, env: archive.Envelope, code: str) -> dict[str, Any]:
    """Import a handover archive into `vault`; return what was imported."""
    if env.kind != "handover":
        raise UsageError(_("--merge imports a handover archive; this is a full backup."))
    archive_id = str(env.data["archive_id"])
    if any(e.detail.get("archive_id") == archive_id
           for e in vault.audit.entries(action="person.handover_import")):
        raise AlreadyExistsError(_("This handover archive was already imported."))
    key = _key(crypto.parse_recovery_key(code), str(env.data["archive_id"]))
    with archive.reader(src, env, key) as tar:
        return _Merge(vault, archive_id).run(tar)


class _Merge:
    """Reads a handover archive as a stream: the person first, then each document."""

    def __init__(self, vault: Vault, archive_id: str) -> None:
        from msante.vault import files

        self.vault, self.archive_id = vault, archive_id
        self.target: Person | None = None
        self.created = False
        self.entries = 0
        self.rows: list[dict[str, Any]] = []
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.meta: dict[str, Any] | None = None
        self.pending = files.PendingBlobs(vault.store)

    def run(self, tar: Any) -> dict[str, Any]:
        """Import every member, then commit the documents and the import in one transaction."""
        for member in tar:
            name = archive.safe_member(member, ("person.json", "history.jsonl", *RECORDS,
                                                "documents/"))
            stream = tar.extractfile(member)
            self._member(name, stream)
        return self._commit()

    def _member(self, name: str, stream: Any) -> None:
        if name == "person.json":
            self._person(json.loads(stream.read()))
        elif name == "history.jsonl":
            self.entries = len([line for line in stream.read().splitlines() if line.strip()])
        elif name in RECORDS:
            self.records[name] = [json.loads(line) for line in stream.read().splitlines()
                                  if line.strip()]
        elif name.endswith(".json"):
            self.meta = json.loads(stream.read())
        elif self.meta is not None and self.target is not None:
            self._document(self.meta, stream)
            self.meta = None

    def _person(self, data: dict[str, Any]) -> None:
        self.target = _matching_person(self.vault, data)
        if self.target is None:
            self.created = True
            self.target = self.vault.people.add(data["name"], data["born"], data["sex"],
                                                relation="other")

    def _document(self, meta: dict[str, Any], stream: Any) -> None:
        from msante.vault import files, records

        assert self.target is not None
        if self.vault.store.conn.execute(
                "SELECT 1 FROM documents WHERE person = ? AND sha256 = ? AND deleted = 0",
                (self.target.id, meta["sha256"])).fetchone():
            return  # already there (an earlier import, or the same file added since)
        rid = records.new_id()
        sealed = files.seal(self.vault.store, self.target.id, rid, 1, stream,
                            journal=self.pending)
        self.rows.append(meta | {"id": rid, "person": self.target.id,
                                 "blob_id": sealed.blob_id, "wrapped_key": sealed.wrapped_key})

    def _commit(self) -> dict[str, Any]:
        from msante.vault import records

        assert self.target is not None
        store = self.vault.store
        self.pending.sync()
        with store.write() as tx:
            for row in self.rows:
                rid = row.pop("id")
                records.insert(tx, "documents", row, device=store.device, rid=rid)
                store.log(tx, "document.import", person=self.target.id, record=rid,
                          detail={"source": "handover"})
            added = self._insert_records(tx)
            store.log(tx, "person.handover_import", person=self.target.id,
                      record=self.target.id,
                      detail={"history_entries": self.entries, "new_person": self.created,
                              "archive_id": self.archive_id, "documents": len(self.rows),
                              **added})
        self.pending.clear()
        return {"person": self.target.name, "created": self.created,
                "history_entries": self.entries, "documents": len(self.rows), **added}

    def _insert_records(self, tx: db.Connection) -> dict[str, int]:
        """The profile, its history and the measurements (those not already there)."""
        from msante.vault import records

        assert self.target is not None
        added = {"profile_entries": 0, "measurements": 0}
        inserted: set[str] = set()
        for member in ("profile.jsonl", "measurements.jsonl"):
            table = RECORDS[member][0]
            for row in self.records.get(member, []):
                rid = str(row.pop("id"))
                if self._present(tx, table, rid, row.get("external_id")):
                    continue
                records.insert(tx, table, row | {"person": self.target.id},
                               device=self.vault.store.device, rid=rid)
                inserted.add(rid)
                added[table] += 1
        for row in self.records.get("profile_history.jsonl", []):
            if row["entry"] not in inserted:
                continue
            cols = RECORDS["profile_history.jsonl"][1]
            tx.execute(f"INSERT OR IGNORE INTO profile_history ({', '.join(cols)}) VALUES "
                       f"({', '.join('?' * len(cols))})", [row[c] for c in cols])
        return added

    def _present(self, tx: db.Connection, table: str, rid: str, external_id: Any) -> bool:
        """Already here: the same record, or the same outside item (a FHIR file or a device
        export both vaults imported)."""
        assert self.target is not None
        if tx.execute(f"SELECT 1 FROM {table} WHERE id = ?", (rid,)).fetchone():
            return True
        return bool(external_id) and tx.execute(
            f"SELECT 1 FROM {table} WHERE person = ? AND external_id = ? AND deleted = 0",
            (self.target.id, external_id)).fetchone() is not None


def _matching_person(vault: Vault, data: dict[str, Any]) -> Person | None:
    for person in vault.people.list():
        if fold(person.name) == fold(data["name"]) and person.born.isoformat() == data["born"]:
            return person
    return None
