"""The activity history: a hash chain of entries, each MACed under a vault sub-key.

Each entry's MAC covers its fields and the previous entry's MAC, so editing, removing or
reordering any entry breaks the chain from there on. The head (count, last MAC) is also kept,
MACed, in vault.json, so that cutting the newest entries or putting back an older vault.db
is detected too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from msante.i18n import _
from msante.vault.crypto import hex_mac_equal
from msante.vault.db import Connection, now

GENESIS = "0" * 64

SCHEMA = """
CREATE TABLE audit (
    seq INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    person TEXT,
    record TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    prev_mac TEXT NOT NULL,
    mac TEXT NOT NULL
);
CREATE INDEX audit_person ON audit(person, seq);
CREATE INDEX audit_action ON audit(action, seq);
"""


@dataclass(frozen=True)
class Entry:
    """One audit entry as stored."""

    seq: int
    at: str
    actor: str
    action: str
    person: str | None
    record: str | None
    detail: dict[str, Any]
    prev_mac: str
    mac: str

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form of `audit list --json`."""
        return {
            "seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
            "person": self.person, "record": self.record, "detail": self.detail,
            "mac": self.mac,
        }


@dataclass(frozen=True)
class Verdict:
    """The result of verifying the chain."""

    ok: bool
    count: int
    first_bad: int | None = None
    reason: str = ""


def explain(verdict: Verdict) -> str:
    """One plain sentence saying what a verification found."""
    if verdict.ok:
        return _("The activity history is whole: {n} entries, none edited, removed or "
                 "reordered.").format(n=verdict.count)
    texts = {
        "order": _("entry {n} was removed, reordered or inserted"),
        "mac": _("entry {n} was edited or forged"),
        "truncated": _("the newest entries, from {n} on, were removed"),
        "rolled-back": _("vault.db was replaced by an older copy (entry {n} differs from the "
                         "recorded head)"),
        "head-forged": _("the chain head in vault.json was forged (entry {n})"),
        "head-missing": _("the chain head was removed from vault.json, which hides removed "
                          "entries (from {n} on)"),
        "wal-damaged": _("a damaged vault.db-wal lost changes that had been saved (after entry "
                         "{n}); they cannot be read back"),
    }
    return _("The activity history was tampered with: {what}.").format(
        what=texts[verdict.reason].format(n=verdict.first_bad))


def entry_mac(key: bytes, seq: int, at: str, actor: str, action: str, person: str | None,
              record: str | None, detail: str, prev_mac: str) -> str:
    """The MAC of one entry, chained to the previous entry's MAC."""
    msg = json.dumps(
        ["msante/v1/audit", seq, at, actor, action, person, record, detail, prev_mac],
        ensure_ascii=False, separators=(",", ":"),
    ).encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


def append(conn: Connection, key: bytes, *, actor: str, action: str,
           person: str | None = None, record: str | None = None,
           detail: dict[str, Any] | None = None) -> tuple[int, str]:
    """Add an entry inside the caller's write transaction; return (seq, mac)."""
    last = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    at = now()
    text = json.dumps(detail or {}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    mac = entry_mac(key, seq, at, actor, action, person, record, text, prev)
    conn.execute(
        "INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (seq, at, actor, action, person, record, text, prev, mac),
    )
    return seq, mac


def head(conn: Connection) -> tuple[int, str]:
    """(count, last MAC) of the chain as stored."""
    last = conn.execute("SELECT seq, mac FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(last[0]), str(last[1])) if last else (0, GENESIS)


def _rows(conn: Connection) -> Iterator[tuple[Any, ...]]:
    cur = conn.execute("SELECT seq, at, actor, action, person, record, detail, prev_mac, mac "
                       "FROM audit ORDER BY rowid")
    while batch := cur.fetchmany(1000):
        yield from batch


def verify_chain(conn: Connection, key: bytes) -> Verdict:
    """Walk the whole chain; name the first entry that was edited, removed or reordered."""
    expected_seq, prev = 1, GENESIS
    for seq, at, actor, action, person, record, detail, prev_mac, mac in _rows(conn):
        if seq != expected_seq or prev_mac != prev:
            return Verdict(False, expected_seq - 1, min(seq, expected_seq), "order")
        good = entry_mac(key, seq, at, actor, action, person, record, detail, prev_mac)
        if not hex_mac_equal(good, mac):
            return Verdict(False, expected_seq - 1, seq, "mac")
        expected_seq, prev = seq + 1, mac
    return Verdict(True, expected_seq - 1)


def rechain(conn: Connection, key: bytes) -> Iterator[tuple[int, str, str]]:
    """(seq, prev_mac, mac) of every entry MACed again under `key` (for a key rotation)."""
    prev = GENESIS
    for seq, at, actor, action, person, record, detail, _prev, _mac in _rows(conn):
        mac = entry_mac(key, seq, at, actor, action, person, record, detail, prev)
        yield int(seq), prev, mac
        prev = mac


def mac_at(conn: Connection, seq: int) -> str | None:
    """The stored MAC of entry `seq`, if there is one."""
    row = conn.execute("SELECT mac FROM audit WHERE seq = ?", (seq,)).fetchone()
    return str(row[0]) if row else None


def entries(conn: Connection, *, person: str | None = None, since: str | None = None,
            action: str | None = None, limit: int | None = None) -> Iterator[Entry]:
    """Entries newest first, filtered by person id, start time and action (prefix)."""
    where, args = ["1=1"], []  # type: list[str], list[Any]
    if person:
        where.append("person = ?")
        args.append(person)
    if since:
        where.append("at >= ?")
        args.append(since)
    if action:
        where.append("(action = ? OR action LIKE ?)")
        args += [action, action + ".%"]
    sql = f"SELECT * FROM audit WHERE {' AND '.join(where)} ORDER BY seq DESC"
    if limit:
        sql += f" LIMIT {int(limit)}"
    for row in conn.execute(sql, args):
        yield Entry(row[0], row[1], row[2], row[3], row[4], row[5], json.loads(row[6]),
                    row[7], row[8])
