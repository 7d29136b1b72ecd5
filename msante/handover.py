"""Handing a child's profile over at majority: an archive sealed by a one-time code.

The caregiver exports the person's space (their profile and history); the now-adult imports it
into their own vault with `msante backup restore FILE --merge`, where it is re-keyed under their
own keys. The code is random (160 bits, with a checksum against typos) and shown only once.
"""

from __future__ import annotations

import io
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
from msante.vault.fsutil import new_private_file

if TYPE_CHECKING:
    from msante.api import Vault


def _key(secret: bytes, archive_id: str) -> bytes:
    return crypto.hkdf(secret, "handover", salt=archive_id.encode())


def export_space(vault: Vault, person: Person, out: Path) -> str:
    """Write `person`'s handover archive to `out`; return the one-time code."""
    if person.relation != "child" or not person.read_only():
        raise UsageError(
            _("Only a child who has come of age can be handed over ({name}: majority on {date}).")
            .format(name=person.name, date=person.majority or "—"))
    if out.exists():
        raise AlreadyExistsError(_("{path} already exists: choose a new file.").format(path=out))
    code, secret = crypto.new_recovery_key()
    archive_id = str(uuid.uuid4())
    env = archive.make_envelope("handover", {"archive_id": archive_id, "created": db.now()})
    history = [e.to_json() for e in vault.audit.entries(person=person.id)]
    with new_private_file(out) as f:
        with archive.writer(f, env, _key(secret, archive_id)) as tar:
            archive.add_bytes(tar, "person.json", json.dumps(_person_json(person)).encode())
            archive.add_bytes(tar, "history.jsonl", "\n".join(
                json.dumps(h, ensure_ascii=False) for h in history).encode())
        with vault.store.write() as tx:  # recorded once the archive is whole, before it appears
            vault.store.log(tx, "person.handover", person=person.id, record=person.id,
                            detail={"archive_id": archive_id})
    return code


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
    parts: dict[str, bytes] = {}
    with archive.reader(src, env, key) as tar:
        for member in tar:
            name = archive.safe_member(member, ("person.json", "history.jsonl"))
            extracted = tar.extractfile(member)
            parts[name] = extracted.read() if extracted else b""
    return _merge(vault, json.loads(parts["person.json"]), parts.get("history.jsonl", b""),
                  archive_id)


def _merge(vault: Vault, data: dict[str, Any], history: bytes,
           archive_id: str) -> dict[str, Any]:
    target = _matching_person(vault, data)
    created = target is None
    if target is None:
        target = vault.people.add(data["name"], data["born"], data["sex"], relation="other")
    entries = len([line for line in io.BytesIO(history).read().splitlines() if line.strip()])
    with vault.store.write() as tx:
        vault.store.log(tx, "person.handover_import", person=target.id, record=target.id,
                        detail={"history_entries": entries, "new_person": created,
                                "archive_id": archive_id})
    return {"person": target.name, "created": created, "history_entries": entries}


def _matching_person(vault: Vault, data: dict[str, Any]) -> Person | None:
    for person in vault.people.list():
        if fold(person.name) == fold(data["name"]) and person.born.isoformat() == data["born"]:
            return person
    return None
