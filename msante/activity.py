"""The activity history service: list entries, verify the chain (the vault's audit log)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from msante import paths
from msante.i18n import N_, _
from msante.text import fold
from msante.vault import audit, db
from msante.vault.store import Store


@dataclass(frozen=True)
class Verification:
    """What `audit verify` found, with a sentence for people."""

    ok: bool
    count: int
    first_bad: int | None
    reason: str

    def explain(self) -> str:
        """One plain sentence saying what was found."""
        return audit.explain(audit.Verdict(self.ok, self.count, self.first_bad, self.reason))


class Activity:
    """Reading and checking the audit log."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def entries(self, *, person: str | None = None, since: str | None = None,
                action: str | None = None, limit: int | None = None) -> Iterator[audit.Entry]:
        """Entries newest first, filtered."""
        return audit.entries(self.store.conn, person=person, since=since, action=action,
                             limit=limit)

    def verify(self) -> Verification:
        """Check the chain and the head kept in vault.json."""
        v = self.store.verify()
        return Verification(v.ok, v.count, v.first_bad, v.reason)

    # -- for the screens (see the end of this module) ------------------------------------------

    def find(self, where: Filter, *, limit: int) -> list[audit.Entry]:
        """At most `limit` entries matching `where`, newest first."""
        return _find(self.store, where, limit)

    def count(self, where: Filter) -> int:
        """How many entries match `where`."""
        return _count(self.store, where)

    def entry(self, seq: int) -> audit.Entry | None:
        """Entry number `seq` as stored now, if there is one."""
        return _entry_at(self.store, seq)

    def record_names(self, ids: Iterable[str | None]) -> dict[str, str]:
        """The title or name of each record that has one (documents, appointments, people)."""
        return _record_names(self.store, ids)

    def verify_apart(self) -> Verification:
        """`verify()` on a connection of its own, so that a worker thread can run it (writes
        meanwhile are no false alarm: `Store.verify` reads the head before the walk)."""
        conn = db.connect(paths.db_path(self.store.base), self.store.keys.db, check=False)
        with Store(self.store.base, self.store.keys, conn) as own:
            return Activity(own).verify()


# -- for the screens: actions in words, filters, counts, record names -------------------------

ACTIONS: dict[str, str] = {
    "vault.create": N_("Vault created"),
    "vault.passwd": N_("Passphrase changed"),
    "vault.preference": N_("Import folder remembered"),
    "sync.device.create": N_("Sync identity created"),
    "sync.device.ready": N_("Registered with the sync server"),
    "sync.chain.account": N_("Account chain started"),
    "sync.space.create": N_("Space published for sync"),
    "sync.chain.posted": N_("Chain entries sent to the sync server"),
    "sync.checkpoint": N_("Sync server's log checked"),
    "sync.chain.space": N_("Space chain entries received"),
    "sync.push.requeue": N_("Changes sent again after an unexplained refusal"),
    "sync.checkpoint.skipped": N_("Sync server's log check already kept by another process"),
    "sync.chain.accept": N_("Account changes made elsewhere accepted"),
    "sync.device.link": N_("New device linked"),
    "sync.device.join": N_("Joined an account as a new device"),
    "sync.device.revoke": N_("Device revoked"),
    "sync.device.space": N_("Owner's space set for sync"),
    "sync.space.writer": N_("Device allowed to write to a space"),
    "sync.space.join": N_("Space keys received"),
    "sync.apply": N_("Change made on another device"),
    "sync.pull": N_("Changes received from other devices"),
    "sync.push.prepare": N_("Changes sealed for the other devices"),
    "sync.push": N_("Changes sent to the sync server"),
    "sync.conflict": N_("Record changed on two devices: both versions kept"),
    "sync.conflict.resolve": N_("Sync conflict resolved"),
    "sync.run": N_("Synced with the other devices"),
    "sync.chain.fetched": N_("Chain entries received from the sync server"),
    "sync.recovery.key": N_("Recovery key's public key kept for sync"),
    "sync.recovery.device": N_("Account recovery device made"),
    "sync.recovery.sealed": N_("Account recovery bundle sealed"),
    "sync.recovery.recovered": N_("Account recovered with the recovery key"),
    "backup.create": N_("Backup made"),
    "backup.restore": N_("Backup restored"),
    "person.add": N_("Person added"),
    "person.rename": N_("Person renamed"),
    "person.remove": N_("Person removed"),
    "person.handover": N_("Space handed over"),
    "person.handover_import": N_("Handed-over space received"),
    "document.import": N_("Document imported"),
    "document.read": N_("Document read"),
    "document.edit": N_("Document edited"),
    "document.hide": N_("Document hidden from professionals"),
    "document.unhide": N_("Document visible to professionals again"),
    "document.delete": N_("Document moved to the trash"),
    "document.restore": N_("Document restored from the trash"),
    "document.purge": N_("Document erased for good"),
    "document.unlock": N_("Document unlocked"),
    "profile.add": N_("Profile entry added"),
    "profile.edit": N_("Profile entry edited"),
    "profile.supersede": N_("Profile entry replaced"),
    "profile.remove": N_("Profile entry removed"),
    "fhir.import": N_("Health summary imported (FHIR)"),
    "fhir.export": N_("Health summary exported (FHIR)"),
    "summary.pdf": N_("Summary exported as PDF"),
    "summary.emergency": N_("Emergency card exported"),
    "measure.add": N_("Measurement added"),
    "measure.remove": N_("Measurement removed"),
    "measure.import": N_("Measurements imported"),
    "agenda.add": N_("Appointment added"),
    "agenda.edit": N_("Appointment edited"),
    "agenda.remove": N_("Appointment removed"),
    "agenda.done": N_("Prevention item marked done"),
    "agenda.convert": N_("Prevention marks of an earlier version moved into the profile"),
    "agenda.import": N_("Appointments imported"),
    "agenda.export": N_("Agenda exported"),
}
"""Each action code the services record, in words."""

READS = {"text": N_("Document text read"), "export": N_("Document exported"),
         "open": N_("Document opened")}

KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "reads": (N_("Reads and exports"), ("document.read", "agenda.export", "fhir.export",
                                        "summary.pdf", "summary.emergency", "backup.create")),
    "documents": (N_("Documents"), ("document.",)),
    "profile": (N_("Medical profile"), ("profile.", "fhir.")),
    "measures": (N_("Measurements"), ("measure.",)),
    "agenda": (N_("Agenda"), ("agenda.",)),
    "people": (N_("People"), ("person.",)),
    "vault": (N_("Vault and backups"), ("vault.", "backup.")),
}
"""Kinds of action to filter on: a label, and action codes (or prefixes ending with ".")."""


def action_label(action: str, detail: dict[str, Any] | None = None) -> str:
    """An action in words ("document.read" → "Document read"); unknown codes as they are."""
    if action == "document.read" and (detail or {}).get("how") in READS:
        return _(READS[str((detail or {})["how"])])
    return _(ACTIONS[action]) if action in ACTIONS else action


@dataclass(frozen=True)
class Filter:
    """Which entries to show: every field narrows (UTC ISO times; `until` is excluded)."""

    person: str | None = None
    actions: tuple[str, ...] = ()
    since: str | None = None
    until: str | None = None
    text: str = ""


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _text_clause(text: str) -> tuple[str, list[Any]]:
    """Match the text in the raw fields, the actions in words and the names of records."""
    like, folded = _like(text), fold(text)
    raw = " OR ".join(f"{c} LIKE ? ESCAPE '\\'" for c in ("actor", "action", "record", "detail"))
    names = ("SELECT id FROM documents WHERE title LIKE ? ESCAPE '\\' "
             "UNION SELECT id FROM agenda_items WHERE title LIKE ? ESCAPE '\\' "
             "UNION SELECT id FROM people WHERE name_key LIKE ? ESCAPE '\\'")
    codes = [c for c in ACTIONS if folded in fold(_(ACTIONS[c]))]
    hows = [how for how, label in READS.items() if folded in fold(_(label))]
    sql = (f"({raw} OR record IN ({names}) OR person IN "
           "(SELECT id FROM people WHERE name_key LIKE ? ESCAPE '\\') "
           f"OR action IN ({','.join('?' * len(codes)) or 'NULL'}) "
           "OR (action = 'document.read' AND json_extract(detail, '$.how') IN "
           f"({','.join('?' * len(hows)) or 'NULL'})))")
    return sql, [like] * 4 + [like, like, _like(folded), _like(folded)] + codes + hows


def _where(where: Filter) -> tuple[str, list[Any]]:
    parts, args = ["1=1"], []  # type: list[str], list[Any]
    if where.person:
        parts.append("person = ?")
        args.append(where.person)
    if where.actions:
        kinds = ["substr(action, 1, ?) = ?" if a.endswith(".") else "action = ?"
                 for a in where.actions]
        parts.append("(" + " OR ".join(kinds) + ")")
        for a in where.actions:
            args += [len(a), a] if a.endswith(".") else [a]
    for op, value in ((">=", where.since), ("<", where.until)):
        if value:
            parts.append(f"at {op} ?")
            args.append(value)
    if where.text.strip():
        sql, more = _text_clause(where.text.strip())
        parts.append(sql)
        args += more
    return " AND ".join(parts), args


def _entry(row: tuple[Any, ...]) -> audit.Entry:
    """An entry as stored; a detail that is not a JSON object (a forged row) is kept as text."""
    try:
        detail = json.loads(row[6])
    except (TypeError, ValueError):
        detail = None
    if not isinstance(detail, dict):
        detail = {"text": str(row[6])}
    return audit.Entry(row[0], row[1], row[2], row[3], row[4], row[5], detail, row[7], row[8])


def _find(store: Store, where: Filter, limit: int) -> list[audit.Entry]:
    sql, args = _where(where)
    rows = store.conn.execute(
        f"SELECT * FROM audit WHERE {sql} ORDER BY seq DESC LIMIT ?", (*args, int(limit)))
    return [_entry(row) for row in rows]


def _count(store: Store, where: Filter) -> int:
    sql, args = _where(where)
    return int(store.conn.execute(f"SELECT count(*) FROM audit WHERE {sql}", args).fetchone()[0])


def _entry_at(store: Store, seq: int) -> audit.Entry | None:
    row = store.conn.execute("SELECT * FROM audit WHERE seq = ?", (seq,)).fetchone()
    return _entry(row) if row else None


def _record_names(store: Store, ids: Iterable[str | None]) -> dict[str, str]:
    wanted = sorted({i for i in ids if i})
    if not wanted:
        return {}
    marks = ",".join("?" * len(wanted))
    sql = " UNION ALL ".join(
        f"SELECT id, {col} FROM {table} WHERE id IN ({marks}) AND {col} IS NOT NULL"
        for table, col in (("documents", "title"), ("agenda_items", "title"), ("people", "name")))
    return {str(i): str(name) for i, name in store.conn.execute(sql, wanted * 3)}
