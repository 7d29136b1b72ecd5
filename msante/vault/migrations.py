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
    """Execute `;`-separated DDL inside the current transaction (executescript would commit)."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


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


MIGRATIONS: list[tuple[str, Migration]] = [
    ("initial", m001_initial),
    ("identities", m002_identities),
]
