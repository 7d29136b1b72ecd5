"""The schema as numbered migrations; each is recorded in `schema_migrations` when applied.

Never edit a migration that has shipped: add the next one. A migration gets the connection
(inside its own write transaction) and the unlocked keys, for data migrations.
"""

from __future__ import annotations

from collections.abc import Callable

from msante.vault import audit, records
from msante.vault.db import Connection
from msante.vault.keys import Keys

Migration = Callable[[Connection, Keys], None]


def m001_initial(conn: Connection, keys: Keys) -> None:
    """Meta, spaces, people, the change log and the audit chain."""
    script = (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "CREATE TABLE spaces (id TEXT PRIMARY KEY, wrapped_key BLOB NOT NULL, "
        "  key_version INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);"
        f"CREATE TABLE people ({records.SYNC_COLUMNS}, name TEXT, name_key TEXT, born TEXT, "
        "  sex TEXT, relation TEXT, majority TEXT);"
        "CREATE UNIQUE INDEX people_name ON people(name_key) WHERE deleted = 0;"
        + records.SCHEMA + audit.SCHEMA
    )
    run_script(conn, script)


def run_script(conn: Connection, script: str) -> None:
    """Execute `;`-separated DDL inside the current transaction (executescript would commit).

    SQLite itself says where each statement ends (`complete_statement`), so a trigger body's
    inner `;`, a string holding `end;` or a column named `begin` split nothing wrongly.
    """
    for statement in _statements(script):
        conn.execute(statement)


def _statements(script: str) -> list[str]:
    from msante.vault.db import complete_statement as complete

    out: list[str] = []
    current = ""
    for part in script.split(";"):
        current += part + ";"
        if complete(current):
            if current.strip(" \n\t;"):
                out.append(current.strip())
            current = ""
    if current.strip(" \n\t;"):
        out.append(current.strip())  # an unfinished last statement: SQLite will say why
    return out


def m002_identities(conn: Connection, keys: Keys) -> None:
    """Each person's X25519 and Ed25519 key pairs (private halves wrapped by the space key)."""
    from msante.vault import identity

    conn.execute(
        "CREATE TABLE identities (space TEXT PRIMARY KEY REFERENCES spaces(id), "
        "x25519_public BLOB NOT NULL, x25519_private BLOB NOT NULL, "
        "ed25519_public BLOB NOT NULL, ed25519_private BLOB NOT NULL, created_at TEXT NOT NULL)"
    )
    for (space_id,) in conn.execute("SELECT id FROM spaces").fetchall():
        identity.create(conn, keys, space_id)


DOCUMENT_FTS_COLUMNS = "title, author, tags_text, text"


def m003_documents(conn: Connection, keys: Keys) -> None:
    """Stored documents and their full-text index (kept in step by triggers).

    The schema lives here with the others (the vault applies every migration in order); the
    logic of documents lives in msante/documents. `n` is a stable integer rowid for FTS5's
    external content (a rowid without INTEGER PRIMARY KEY could be renumbered by VACUUM).
    """
    cols = DOCUMENT_FTS_COLUMNS
    new = ", ".join(f"new.{c.strip()}" for c in cols.split(","))
    old = ", ".join(f"old.{c.strip()}" for c in cols.split(","))
    sync = records.SYNC_COLUMNS.replace("id TEXT PRIMARY KEY", "id TEXT NOT NULL UNIQUE")
    run_script(conn, (
        f"CREATE TABLE documents (n INTEGER PRIMARY KEY, {sync}, person TEXT, "
        "blob_id TEXT, wrapped_key BLOB, sha256 TEXT, size INTEGER, mime TEXT, filename TEXT, "
        "title TEXT, author TEXT, doc_date TEXT, date_guessed INTEGER NOT NULL DEFAULT 0, "
        "type_code TEXT, type_guessed INTEGER NOT NULL DEFAULT 0, pages INTEGER, "
        "flags TEXT NOT NULL DEFAULT '[]', reason TEXT, tags TEXT NOT NULL DEFAULT '[]', "
        "tags_text TEXT NOT NULL DEFAULT '', note TEXT, text TEXT, pdf_created TEXT, "
        "pdf_modified TEXT, hidden INTEGER NOT NULL DEFAULT 0, trashed_at TEXT);"
        "CREATE INDEX documents_recent ON documents(doc_date, n) "
        "WHERE deleted = 0 AND trashed_at IS NULL;"
        "CREATE INDEX documents_person ON documents(person, doc_date, n) "
        "WHERE deleted = 0 AND trashed_at IS NULL;"
        "CREATE INDEX documents_sha ON documents(person, sha256);"
        "CREATE INDEX documents_blob ON documents(blob_id);"
        f"CREATE VIRTUAL TABLE documents_fts USING fts5({cols}, content='documents', "
        "content_rowid='n', tokenize='unicode61 remove_diacritics 2', prefix='2 3');"
        "CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN "
        f"INSERT INTO documents_fts(rowid, {cols}) VALUES (new.n, {new}); END;"
        "CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN "
        f"INSERT INTO documents_fts(documents_fts, rowid, {cols}) "
        f"VALUES ('delete', old.n, {old}); END;"
        f"CREATE TRIGGER documents_au AFTER UPDATE OF {cols} ON documents BEGIN "
        f"INSERT INTO documents_fts(documents_fts, rowid, {cols}) "
        f"VALUES ('delete', old.n, {old}); "
        f"INSERT INTO documents_fts(rowid, {cols}) VALUES (new.n, {new}); END"
    ))


def m004_profile_measures(conn: Connection, keys: Keys) -> None:
    """The medical profile's entries (with their edit history) and measurements.

    A profile entry keeps its section's fields as a JSON object (`data`); the columns beside it
    are what every section shares: an optional code, a status (`entered-in-error` replaces
    deleting a clinical fact), a provenance, a sortable (possibly partial) date and, for what
    came from outside, the id it had there (so re-importing changes nothing). Measurements are
    immutable: a value in its kind's canonical unit (`value2`: the diastolic pressure).
    """
    sync = records.SYNC_COLUMNS.replace("id TEXT PRIMARY KEY", "id TEXT NOT NULL UNIQUE")
    run_script(conn, (
        f"CREATE TABLE profile_entries ({records.SYNC_COLUMNS}, person TEXT NOT NULL, "
        "section TEXT NOT NULL, data TEXT NOT NULL, code_system TEXT, code TEXT, "
        "code_display TEXT, status TEXT NOT NULL DEFAULT 'current', "
        "provenance TEXT NOT NULL, source TEXT, sort_date TEXT, external_id TEXT);"
        "CREATE INDEX profile_person ON profile_entries(person, section, sort_date) "
        "WHERE deleted = 0;"
        "CREATE UNIQUE INDEX profile_external ON profile_entries(person, external_id) "
        "WHERE external_id IS NOT NULL AND deleted = 0;"
        "CREATE TABLE profile_history (entry TEXT NOT NULL, revision INTEGER NOT NULL, "
        "data TEXT NOT NULL, code_system TEXT, code TEXT, code_display TEXT, status TEXT, "
        "changed_at TEXT NOT NULL, PRIMARY KEY (entry, revision));"
        f"CREATE TABLE measurements (n INTEGER PRIMARY KEY, {sync}, person TEXT NOT NULL, "
        "kind TEXT NOT NULL, value REAL NOT NULL, value2 REAL, unit TEXT NOT NULL, "
        "at TEXT NOT NULL, note TEXT, entered TEXT, provenance TEXT NOT NULL, "
        "external_id TEXT);"
        "CREATE INDEX measurements_person ON measurements(person, at, n) WHERE deleted = 0;"
        "CREATE INDEX measurements_kind ON measurements(person, kind, at, n) "
        "WHERE deleted = 0;"
        "CREATE UNIQUE INDEX measurements_external ON measurements(person, external_id) "
        "WHERE external_id IS NOT NULL AND deleted = 0"
    ))


def m005_agenda(conn: Connection, keys: Keys) -> None:
    """Appointments and prevention items marked done.

    An appointment keeps its start in UTC with the time zone it was made in (shown in local
    time, repeated by an RFC 5545 rule), reminders as minutes before, and for an imported one
    its iCalendar UID. A prevention item marked done names its rule and dose (the engine's
    stable item id) and the day it was done.
    """
    run_script(conn, (
        f"CREATE TABLE agenda_items ({records.SYNC_COLUMNS}, person TEXT NOT NULL, "
        "title TEXT NOT NULL, starts_at TEXT NOT NULL, tz TEXT NOT NULL, "
        "duration_min INTEGER NOT NULL DEFAULT 30, location TEXT, professional TEXT, "
        "reminders TEXT NOT NULL DEFAULT '[]', rrule TEXT, note TEXT, uid TEXT, "
        "provenance TEXT NOT NULL DEFAULT 'typed');"
        "CREATE INDEX agenda_person ON agenda_items(person, starts_at) WHERE deleted = 0;"
        "CREATE INDEX agenda_starts ON agenda_items(starts_at) WHERE deleted = 0;"
        "CREATE UNIQUE INDEX agenda_uid ON agenda_items(person, uid) "
        "WHERE uid IS NOT NULL AND deleted = 0;"
        f"CREATE TABLE prevention_done ({records.SYNC_COLUMNS}, person TEXT NOT NULL, "
        "rule TEXT NOT NULL, dose INTEGER NOT NULL, done_on TEXT NOT NULL, note TEXT);"
        "CREATE UNIQUE INDEX prevention_done_item ON prevention_done(person, rule, dose) "
        "WHERE deleted = 0"
    ))


def m006_search_fold(conn: Connection, keys: Keys) -> None:
    """The full-text index rebuilt over folded text (msante/folding.py: NFKC, without
    Arabic and Hebrew vowel marks, each CJK character a token), read through a view.

    Triggers index `msante_fold()` of each column (a function every connection registers,
    vault/db.py); the index's content table is the view `documents_folded`, which gives the
    same folded values, so that FTS5's snippet(), 'rebuild' and 'integrity-check' see what
    was indexed. Marks (M*) are token characters, so that a word of a script with combining
    vowel signs (Devanagari, Thai…) is one token instead of being cut at each sign.
    """
    cols = [c.strip() for c in DOCUMENT_FTS_COLUMNS.split(",")]
    names = ", ".join(cols)

    def folded(prefix: str) -> str:
        return ", ".join(f"msante_fold({prefix}{c})" for c in cols)
    view = ", ".join(f"msante_fold({c}) AS {c}" for c in cols)
    for statement in (
        "DROP TRIGGER documents_ai", "DROP TRIGGER documents_ad", "DROP TRIGGER documents_au",
        "DROP TABLE documents_fts",
        f"CREATE VIEW documents_folded AS SELECT n, {view} FROM documents",
        f"CREATE VIRTUAL TABLE documents_fts USING fts5({names}, content='documents_folded', "
        "content_rowid='n', tokenize=\"unicode61 remove_diacritics 2 categories 'L* N* Co M*'\", "
        "prefix='2 3')",
        "CREATE TRIGGER documents_ai AFTER INSERT ON documents BEGIN "
        f"INSERT INTO documents_fts(rowid, {names}) VALUES (new.n, {folded('new.')}); END",
        "CREATE TRIGGER documents_ad AFTER DELETE ON documents BEGIN "
        f"INSERT INTO documents_fts(documents_fts, rowid, {names}) "
        f"VALUES ('delete', old.n, {folded('old.')}); END",
        f"CREATE TRIGGER documents_au AFTER UPDATE OF {names} ON documents BEGIN "
        f"INSERT INTO documents_fts(documents_fts, rowid, {names}) "
        f"VALUES ('delete', old.n, {folded('old.')}); "
        f"INSERT INTO documents_fts(rowid, {names}) VALUES (new.n, {folded('new.')}); END",
        "INSERT INTO documents_fts(documents_fts) VALUES ('rebuild')",
    ):
        conn.execute(statement)


def m007_record_rules(conn: Connection, keys: Keys) -> None:
    """Spaces, identities and the profile's edit history become records like the others.

    Each gets the sync columns (an identity its own id; a history row its own id, the person
    it belongs to and `entry_revision`, formerly `revision`), its content columns may be NULL
    (a tombstone's), and every existing row is logged in the change log as inserted, so that
    a second device will receive them. Rows keep their creation time.
    """
    device_row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
    device = str(device_row[0]) if device_row else ""
    run_script(conn, (
        f"CREATE TABLE spaces_v7 ({records.SYNC_COLUMNS}, wrapped_key BLOB, "
        "key_version INTEGER NOT NULL DEFAULT 1);"
        f"CREATE TABLE identities_v7 ({records.SYNC_COLUMNS}, space TEXT NOT NULL, "
        "x25519_public BLOB, x25519_private BLOB, ed25519_public BLOB, ed25519_private BLOB);"
        f"CREATE TABLE profile_history_v7 ({records.SYNC_COLUMNS}, person TEXT, "
        "entry TEXT NOT NULL, entry_revision INTEGER NOT NULL, data TEXT, code_system TEXT, "
        "code TEXT, code_display TEXT, status TEXT, changed_at TEXT)"
    ))
    _copy_v7(conn, device, "spaces", "id, wrapped_key, key_version, created_at",
             "SELECT id, wrapped_key, key_version, created_at FROM spaces")
    _copy_v7(conn, device, "identities", "id, space, x25519_public, x25519_private, "
             "ed25519_public, ed25519_private, created_at",
             "SELECT lower(hex(randomblob(16))), space, x25519_public, x25519_private, "
             "ed25519_public, ed25519_private, created_at FROM identities")
    _copy_v7(conn, device, "profile_history", "id, person, entry, entry_revision, data, "
             "code_system, code, code_display, status, changed_at, created_at",
             "SELECT lower(hex(randomblob(16))), e.person, h.entry, h.revision, h.data, "
             "h.code_system, h.code, h.code_display, h.status, h.changed_at, "
             "h.changed_at AS created_at "
             "FROM profile_history h LEFT JOIN profile_entries e ON e.id = h.entry")
    run_script(conn, (
        "DROP TABLE identities; DROP TABLE spaces; DROP TABLE profile_history;"
        "ALTER TABLE spaces_v7 RENAME TO spaces;"
        "ALTER TABLE identities_v7 RENAME TO identities;"
        "ALTER TABLE profile_history_v7 RENAME TO profile_history;"
        "CREATE UNIQUE INDEX identities_space ON identities(space) WHERE deleted = 0;"
        "CREATE UNIQUE INDEX profile_history_entry ON profile_history(entry, entry_revision) "
        "WHERE deleted = 0;"
        "CREATE INDEX profile_history_person ON profile_history(person) WHERE deleted = 0"
    ))


def _copy_v7(conn: Connection, device: str, table: str, columns: str, select: str) -> None:
    """Copy `table`'s rows into its v7 twin at revision 1, each logged as an insert."""
    conn.execute(f"INSERT INTO {table}_v7 (revision, base_revision, device, deleted, "
                 f"updated_at, {columns}) SELECT 1, 0, ?, 0, created_at, * FROM ({select})",
                 (device,))
    conn.execute("INSERT INTO changes (tbl, record_id, revision, op, device, at) "
                 f"SELECT ?, id, 1, 'insert', ?, created_at FROM {table}_v7",
                 (table, device))


def m008_sync_device(conn: Connection, keys: Keys) -> None:
    """This device's sync identity: its server, account, device id and private keys.

    At most one row. It is not a record (no sync columns, no change log): it never leaves this
    vault, and the private keys are kept only here, inside the SQLCipher database. The keys are
    made by `msante sync setup` (msante/sync/device.py), not here: a vault that never syncs has
    none. `state` is 'pending' until the server has registered the device, then 'ready';
    `pushed_seq` is the last row of the change log the server has.
    """
    conn.execute(
        "CREATE TABLE sync_device (one INTEGER PRIMARY KEY CHECK (one = 1), "
        "server TEXT NOT NULL, server_id TEXT NOT NULL, insecure INTEGER NOT NULL DEFAULT 0, "
        "account TEXT NOT NULL, device TEXT NOT NULL, space TEXT NOT NULL, "
        "signing_key BLOB NOT NULL, seal_key BLOB NOT NULL, state TEXT NOT NULL, "
        "pushed_seq INTEGER NOT NULL DEFAULT 0, last_sync TEXT, created_at TEXT NOT NULL)")


def m009_sync_spaces(conn: Connection, keys: Keys) -> None:
    """The synced spaces' keys and this device's copy of the chains it wrote or verified.

    `sync_spaces`: one row per (space, key version): the four scope keys, the space's inbox
    key and signing key, as the canonical JSON a wrap carries (msante/sync/spaces.py). Inside
    SQLCipher only, like the device's own keys. `sync_chains`: chain entries (account and
    space chains) as their canonical bytes, with whether the server has confirmed them: an
    entry is kept here before it is posted, so a setup or a link cut short posts the very same
    bytes again (a retry, not a second entry at that number). Neither is a record.
    """
    conn.execute(
        "CREATE TABLE sync_spaces (space TEXT NOT NULL, key_version INTEGER NOT NULL, "
        "keys BLOB NOT NULL, created_at TEXT NOT NULL, PRIMARY KEY (space, key_version))")
    conn.execute(
        "CREATE TABLE sync_chains (chain TEXT NOT NULL, seq INTEGER NOT NULL, "
        "entry BLOB NOT NULL, posted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (chain, seq))")


def m010_sync_engine(conn: Connection, keys: Keys) -> None:
    """The sync engine's own state (msante/sync/engine): what it pushed, pulled and kept.

    `sync_revisions` (the lineage): one row per revision id of a synced record known here —
    pushed from here (`pending` until the server answers, then `stored`, or `stale`), pulled
    and applied (`pulled`, with the local integer revision it became, so it is never pushed
    back), kept aside as a conflict's other side (`conflict`), or a local revision replaced
    before the server took it (`superseded`). A pending item keeps its signed envelope and
    ciphertext until the server has it, so a retry after a lost answer is the same bytes.
    `sync_cursor`: per space, the pull's sync token, the change-log position pushed, and this
    device's next item number and previous item hash there. `sync_logs`: per space and
    writing device, where its item chain stands (`DeviceLog.state()`). `sync_conflicts`:
    both versions of a record edited on two devices, until the person chooses.
    The profile's history index stops being unique: two devices may each keep a snapshot of
    the same revision of an entry. None of these is a record; they never leave the vault.
    """
    run_script(conn, (
        "CREATE TABLE sync_revisions (space TEXT NOT NULL, tbl TEXT NOT NULL, "
        "  record TEXT NOT NULL, revision TEXT NOT NULL, base TEXT, device BLOB NOT NULL, "
        "  deleted INTEGER NOT NULL DEFAULT 0, local_revision INTEGER, status TEXT NOT NULL, "
        "  seq INTEGER, envelope BLOB, ciphertext BLOB, blob TEXT, created_at TEXT NOT NULL, "
        "  PRIMARY KEY (space, revision));"
        "CREATE INDEX sync_revisions_record ON sync_revisions(space, tbl, record);"
        "CREATE INDEX sync_revisions_status ON sync_revisions(space, status, seq);"
        "CREATE TABLE sync_cursor (space TEXT PRIMARY KEY, token TEXT, "
        "  pushed INTEGER NOT NULL DEFAULT 0, seq INTEGER NOT NULL DEFAULT 0, prev BLOB);"
        "CREATE TABLE sync_logs (space TEXT NOT NULL, device BLOB NOT NULL, "
        "  state TEXT NOT NULL, PRIMARY KEY (space, device));"
        "CREATE TABLE sync_conflicts (id INTEGER PRIMARY KEY AUTOINCREMENT, "
        "  space TEXT NOT NULL, tbl TEXT NOT NULL, record TEXT NOT NULL, local_revision TEXT, "
        "  local_fields TEXT, local_deleted INTEGER NOT NULL DEFAULT 0, "
        "  incoming_revision TEXT NOT NULL, incoming_fields TEXT NOT NULL, "
        "  incoming_deleted INTEGER NOT NULL DEFAULT 0, device BLOB NOT NULL, "
        "  device_name TEXT NOT NULL, kept TEXT NOT NULL DEFAULT 'mine', at TEXT NOT NULL, "
        "  resolved_at TEXT, resolution TEXT);"
        "CREATE INDEX sync_conflicts_record ON sync_conflicts(space, record);"
        "DROP INDEX profile_history_entry;"
        "CREATE INDEX profile_history_entry ON profile_history(entry, entry_revision) "
        "WHERE deleted = 0"
    ))


def m013_sync_runs(conn: Connection, keys: Keys) -> None:
    """How the last sync of this vault went, whoever ran it (msante/sync/lastrun.py).

    One row at most: when, run by what (`tui`, `background`, `cli`, `script`) and the error's
    message when it failed (NULL when it went well; never a secret: the message a person
    would have been shown). Not a record and not audited: it is not the person's data, and a
    sync that changed something is audited by the engine itself (`sync.run`). `IF NOT EXISTS`:
    a vault made by a development build before this migration was renumbered opens too.
    """
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sync_runs (one INTEGER PRIMARY KEY CHECK (one = 1), "
        "at TEXT NOT NULL, by TEXT NOT NULL, error TEXT)")

def m011_sync_checkpoints(conn: Connection, keys: Keys) -> None:
    """What this device checked of each server's transparency log (msante/sync/logstate.py).

    `sync_checkpoints`: per server id, the log's note key pinned on first use, the last
    checkpoint seen (its signed note, size and root) and when; it only moves forward; how far
    the log's leaves were read (`scanned`) and the right border of the tree there (`border`:
    the hashes of its complete subtrees, concatenated), from which the next scan goes on.
    `sync_log_heads`: per server id and sequence (a chain id, or `events:<space>`), how many
    entries the last walk proved in the log and a digest of them, so that a later walk sees a
    shortened or rewritten history. Device-local facts, not records: never synced.
    """
    run_script(conn, (
        "CREATE TABLE sync_checkpoints (server_id TEXT PRIMARY KEY, log_key TEXT NOT NULL, "
        "origin TEXT NOT NULL, note TEXT NOT NULL, size INTEGER NOT NULL, "
        "root BLOB NOT NULL, scanned INTEGER NOT NULL DEFAULT 0, "
        "border BLOB NOT NULL DEFAULT x'', checked_at TEXT NOT NULL);"
        "CREATE TABLE sync_log_heads (server_id TEXT NOT NULL, stream TEXT NOT NULL, "
        "count INTEGER NOT NULL, digest BLOB NOT NULL, checked_at TEXT NOT NULL, "
        "PRIMARY KEY (server_id, stream))"
    ))


def m012_sync_recovery(conn: Connection, keys: Keys) -> None:
    """What sync needs of the recovery key: its derived public key, its lookup, and the
    account's recovery device as only the recovery key can open it.

    One row at most (msante/vault/recovery_keys.py, msante/sync/recovery.py): `open_key`, the
    public half of the HPKE key derived from the recovery key, and `lookup`, the id the server
    keeps the recovery bundle under; then, once `sync setup` made the account's recovery
    device: its account, server device id, key id, and its private keys SEALED to `open_key`
    (`device_sealed`: this vault cannot open them); `posted_lookup`, the lookup its bundle was
    last stored under (deleted on the server when the key changes); `sealed_versions`, the key
    versions it held then (JSON), so a sync re-seals only when they moved. Never the recovery key,
    never a private key in the clear. Not a record: it never leaves the vault.
    """
    conn.execute(
        "CREATE TABLE sync_recovery (one INTEGER PRIMARY KEY CHECK (one = 1), "
        "open_key BLOB NOT NULL, lookup TEXT NOT NULL, account TEXT, device TEXT, "
        "device_key_id BLOB, device_sealed BLOB, posted_lookup TEXT, sealed_versions TEXT, "
        "created_at TEXT NOT NULL)")


MIGRATIONS: list[tuple[str, Migration]] = [
    ("initial", m001_initial),
    ("identities", m002_identities),
    ("documents", m003_documents),
    ("profile_measures", m004_profile_measures),
    ("agenda", m005_agenda),
    ("search_fold", m006_search_fold),
    ("record_rules", m007_record_rules),
    ("sync_device", m008_sync_device),
    ("sync_spaces", m009_sync_spaces),
    ("sync_checkpoints", m011_sync_checkpoints),
    ("sync_engine", m010_sync_engine),
    ("sync_recovery", m012_sync_recovery),
    ("sync_runs", m013_sync_runs),
]
