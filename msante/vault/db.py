"""The SQLCipher connection: build check, keying, pragmas, write transactions, migrations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from msante.errors import (
    BusyError,
    EnvironmentProblem,
    IntegrityError,
    MsanteError,
    UnsupportedError,
)
from msante.i18n import _

BUSY_TIMEOUT_MS = 10_000
MIN_CIPHER_MAJOR = 4

Connection = Any  # sqlcipher3.dbapi2.Connection (the module ships no type information)


def now() -> str:
    """The current UTC time as ISO 8601 with microseconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _sqlcipher() -> Any:
    try:
        import sqlcipher3
    except ImportError as exc:
        raise EnvironmentProblem(
            _("SQLCipher is not installed (python package sqlcipher3): {error}").format(error=exc)
        ) from None
    return sqlcipher3


def complete_statement(sql: str) -> bool:
    """Whether `sql` ends with a whole SQL statement (SQLite's own tokenizer decides)."""
    return bool(_sqlcipher().complete_statement(sql))


def errors() -> tuple[type[Exception], type[Exception]]:
    """(OperationalError, DatabaseError) of the SQLCipher module."""
    mod = _sqlcipher()
    return mod.OperationalError, mod.DatabaseError


def as_msante_error(exc: BaseException) -> MsanteError | None:
    """The MsanteError that a raw SQLCipher error stands for (None if it is not one).

    A page that fails its HMAC or a malformed image surfaces from whichever query reads it,
    long after the connection was opened: it is an integrity failure, not a bug.
    """
    try:
        operational, database = errors()
    except EnvironmentProblem:
        return None
    text = str(exc)
    if isinstance(exc, operational):
        if "locked" in text or "busy" in text:
            return BusyError(_("The vault is busy: another msante process is writing."))
        if "disk I/O" not in text and "malformed" not in text:
            return None
    # Constraint violations and misuse (IntegrityError, ProgrammingError…) are bugs, not damage.
    if type(exc) is database or isinstance(exc, operational):
        return IntegrityError(
            _("vault.db is corrupt or was tampered with ({error}). Restore a backup.")
            .format(error=exc))
    return None


def check_build(conn: Connection) -> str:
    """Refuse an SQLCipher build older than 4 or without FTS5; return cipher_version."""
    row = conn.execute("PRAGMA cipher_version").fetchone()
    version = row[0] if row else ""
    major = int(version.split(".")[0]) if version and version[0].isdigit() else 0
    if major < MIN_CIPHER_MAJOR:
        raise EnvironmentProblem(
            _("This SQLCipher build ({version}) is too old or not SQLCipher; 4 or later is needed.")
            .format(version=version or "?")
        )
    fts5 = conn.execute("SELECT sqlite_compileoption_used('ENABLE_FTS5')").fetchone()[0]
    if not fts5:
        raise EnvironmentProblem(_("This SQLCipher build has no FTS5 full-text search."))
    return str(version)


_FACTORY: list[Any] = []


def _factory() -> Any:
    """A Connection class whose errors are ours: corruption → IntegrityError, busy → BusyError."""
    if _FACTORY:
        return _FACTORY[0]
    mod = _sqlcipher()

    def guard(func: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except mod.DatabaseError as exc:
                raise (as_msante_error(exc) or exc) from None
        return call

    class Cursor(mod.Cursor):  # type: ignore[misc, name-defined]
        execute = guard(mod.Cursor.execute)
        executemany = guard(mod.Cursor.executemany)
        fetchone = guard(mod.Cursor.fetchone)
        fetchmany = guard(mod.Cursor.fetchmany)
        fetchall = guard(mod.Cursor.fetchall)
        __next__ = guard(mod.Cursor.__next__)

    class Conn(mod.Connection):  # type: ignore[misc, name-defined]
        def cursor(self, factory: Any = Cursor) -> Any:
            return super().cursor(factory)

        def execute(self, sql: str, params: Any = ()) -> Any:
            return self.cursor().execute(sql, params)

        def executemany(self, sql: str, seq: Any) -> Any:
            return self.cursor().executemany(sql, seq)

    _FACTORY.append(Conn)
    return Conn


def connect(path: Path, db_key: bytes, *, check: bool = True) -> Connection:
    """Open `path` keyed with the raw 256-bit `db_key`; IntegrityError if the key does not fit."""
    from msante.vault.fsutil import create_private

    mod = _sqlcipher()
    create_private(path)  # 0600 before SQLite makes it (and its -wal/-shm, same mode)
    conn = mod.connect(str(path), isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                       factory=_factory())
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute(f"PRAGMA key = \"x'{db_key.hex()}'\"")
        if check:
            check_build(conn)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        _pragmas(conn)
        _functions(conn)
    except (mod.DatabaseError, IntegrityError) as exc:
        conn.close()
        raise IntegrityError(
            _("vault.db cannot be opened with the vault key: it is corrupt or was replaced "
              "({error}).").format(error=exc)
        ) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _fold(value: object) -> object:
    """SQL msante_fold(x): the search fold of a text (the full-text index's triggers call it)."""
    from msante.folding import search_fold

    return search_fold(value) if isinstance(value, str) else value


def _functions(conn: Connection) -> None:
    """The SQL functions the schema uses (the index's triggers and view)."""
    conn.create_function("msante_fold", 1, _fold, deterministic=True)


def _pragmas(conn: Connection) -> None:
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA secure_delete = ON")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA temp_store = MEMORY")


@contextmanager
def write(conn: Connection) -> Iterator[Connection]:
    """A write transaction (BEGIN IMMEDIATE): all of it is committed, or none of it."""
    operational, _db = errors()
    try:
        conn.execute("BEGIN IMMEDIATE")
    except operational as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise BusyError(_("The vault is busy: another msante process is writing.")) from None
        raise
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def checkpoint(conn: Connection) -> None:
    """Fold the WAL into the database and truncate it (after purges and before copies)."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# -- migrations -------------------------------------------------------------------------------

Migration = Callable[..., None]


def schema_version(conn: Connection) -> int:
    """The highest migration recorded in the database (0 for a new one)."""
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'"
    ).fetchone()
    if not exists:
        return 0
    row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
    return int(row[0] or 0)


def pending(conn: Connection, migrations: list[tuple[str, Migration]]) -> int:
    """How many migrations are still to apply; UnsupportedError if the vault is newer."""
    current = schema_version(conn)
    if current > len(migrations):
        raise UnsupportedError(
            _("This vault's schema ({found}) is newer than this msante knows ({ours}). "
              "Upgrade msante.").format(found=current, ours=len(migrations))
        )
    return len(migrations) - current


def migrate(conn: Connection, migrations: list[tuple[str, Migration]], *args: Any) -> list[str]:
    """Apply the missing migrations, each in its own transaction (called with `args`)."""
    done: list[str] = []
    current = schema_version(conn)
    for number, (name, func) in enumerate(migrations, start=1):
        if number <= current:
            continue
        with write(conn):
            if number == 1:
                conn.execute(
                    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, "
                    "name TEXT NOT NULL, applied_at TEXT NOT NULL)"
                )
            func(conn, *args)
            conn.execute(
                "INSERT INTO schema_migrations VALUES (?, ?, ?)", (number, name, now())
            )
        done.append(name)
    return done
