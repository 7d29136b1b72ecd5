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
from msante.people import Person, validate
from msante.text import fold
from msante.vault import crypto, db, files, records
from msante.vault.descriptors import DOCUMENTS, MEASUREMENTS, PROFILE_ENTRIES, PROFILE_HISTORY
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


# A document's record as the archive carries it: its content, without what belongs to this
# vault's keys and blobs (a new blob and key are made on import) nor the trash mark.
DOC_FIELDS = tuple(c for c in DOCUMENTS.content if c not in ("blob_id", "wrapped_key",
                                                             "trashed_at"))

# The person's records carried as JSON lines (member → descriptor), serialised by descriptor.
RECORDS = {"profile.jsonl": PROFILE_ENTRIES, "profile_history.jsonl": PROFILE_HISTORY,
           "measurements.jsonl": MEASUREMENTS}


def _add_records(vault: Vault, person: Person, tar: Any) -> dict[str, int]:
    """The profile, its edit history and the measurements, one JSON object per line."""
    counts = {}
    for member, desc in RECORDS.items():
        rows = records.serialised(vault.store.conn, desc, person.id)
        archive.add_bytes(tar, member, "\n".join(
            json.dumps(row, ensure_ascii=False) for row in rows).encode())
        counts[desc.table] = len(rows)
    return counts


def _add_documents(vault: Vault, person: Person, tar: Any) -> int:
    """Each document: its record (JSON) then its original bytes, streamed from the blob."""
    import tarfile

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
    """Import a handover archive into `vault`, all or nothing; return what was imported.

    The whole archive is read and authenticated (to its final segment) before anything is
    written: its files are sealed into new blobs meanwhile (removed again if anything fails),
    then the person, the records and the import are written in one transaction.
    """
    if env.kind != "handover":
        raise UsageError(_("--merge imports a handover archive; this is a full backup."))
    archive_id = str(env.data["archive_id"])
    if any(e.detail.get("archive_id") == archive_id
           for e in vault.audit.entries(action="person.handover_import")):
        raise AlreadyExistsError(_("This handover archive was already imported."))
    key = _key(crypto.parse_recovery_key(code), archive_id)
    merge = _Merge(vault, archive_id)
    try:
        with archive.reader(src, env, key) as tar:
            merge.read(tar)
        return merge.commit()
    except BaseException:
        merge.discard()
        raise


class _Merge:
    """Reads a handover archive as a stream (the person first, then each document), then
    writes it all at once."""

    def __init__(self, vault: Vault, archive_id: str) -> None:
        self.vault, self.archive_id = vault, archive_id
        self.target: Person | None = None  # the person already here, if any
        self.new: dict[str, Any] | None = None  # else the one to add on commit
        self.person_id = ""
        self.space_key: bytes | None = None  # the new person's, made before their space
        self.entries = 0
        self.docs: list[dict[str, Any]] = []
        self.records: dict[str, list[dict[str, Any]]] = {}
        self.meta: dict[str, Any] | None = None
        self.pending = files.PendingBlobs(vault.store)

    def read(self, tar: Any) -> None:
        """Read every member; documents are sealed into blobs, nothing is written."""
        for member in tar:
            name = archive.safe_member(member, ("person.json", "history.jsonl", *RECORDS,
                                                "documents/"))
            self._member(name, tar.extractfile(member))

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
        elif self.meta is not None and self.person_id:
            self._document(self.meta, stream)
            self.meta = None

    def _person(self, data: dict[str, Any]) -> None:
        self.target = _matching_person(self.vault, data)
        if self.target is not None:
            self.person_id = self.target.id
            return
        validate(data["name"], data["born"], data["sex"])
        self.new, self.person_id = data, records.new_id()
        self.space_key = crypto.random_key()

    def _document(self, meta: dict[str, Any], stream: Any) -> None:
        if self.target is not None and self.vault.documents.stored(self.target, meta["sha256"]):
            return  # already there (an earlier import, or the same file added since)
        rid = records.new_id()
        sealed = files.seal(self.vault.store, self.person_id, rid, 1, stream,
                            journal=self.pending, space_key=self.space_key)
        fields = {c: meta[c] for c in DOC_FIELDS if c in meta}
        self.docs.append(fields | {"id": rid, "blob_id": sealed.blob_id,
                                   "wrapped_key": sealed.wrapped_key})

    def commit(self) -> dict[str, Any]:
        """Write the person (if new), the documents, the records and the import at once."""
        store = self.vault.store
        self.pending.sync()
        with store.write() as tx:
            person = self._person_in(tx)
            self.vault.documents.adopt_in(tx, person, self.docs, source="handover")
            added = {
                "profile_entries": self.vault.profile.adopt_in(
                    tx, person, self.records.get("profile.jsonl", []),
                    self.records.get("profile_history.jsonl", [])),
                "measurements": self.vault.measures.adopt_in(
                    tx, person, self.records.get("measurements.jsonl", [])),
            }
            store.log(tx, "person.handover_import", person=person.id, record=person.id,
                      detail={"history_entries": self.entries, "new_person": self.created,
                              "archive_id": self.archive_id, "documents": len(self.docs),
                              **added})
        self.pending.clear()
        return {"person": person.name, "created": self.created,
                "history_entries": self.entries, "documents": len(self.docs), **added}

    @property
    def created(self) -> bool:
        """Whether the archive's person is new to this vault."""
        return self.new is not None

    def _person_in(self, tx: db.Connection) -> Person:
        if self.target is not None:
            return self.target
        if self.new is None:
            from msante.errors import IntegrityError

            raise IntegrityError(_("This handover archive holds no person."))
        self.vault.people.add_in(tx, self.new["name"], self.new["born"], self.new["sex"],
                                 relation="other", rid=self.person_id,
                                 space_key=self.space_key)
        return self.vault.people.get(self.person_id)

    def discard(self) -> None:
        """Remove the blobs sealed for a merge that did not commit (any that a committed row
        references stay: a failure after the commit, such as the chain head's update)."""
        self.pending.discard(self.vault.documents.blob_referenced)


def _matching_person(vault: Vault, data: dict[str, Any]) -> Person | None:
    for person in vault.people.list():
        if fold(person.name) == fold(data["name"]) and person.born.isoformat() == data["born"]:
            return person
    return None
