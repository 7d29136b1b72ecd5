"""The database engine (SQLite in WAL mode, or PostgreSQL) and its Alembic migrations."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_MS = 10000
# FastAPI runs the (synchronous) routes on AnyIO's thread pool, 40 threads by default: one
# PostgreSQL connection each, kept open. A smaller pool opened and closed a session every few
# requests under load (bench/sync_server.py: about 1,070 sessions in a run against 41).
PG_POOL = 40


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout, foreign keys and real BEGINs."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, pool_size=PG_POOL, max_overflow=0)
    if parsed.database and parsed.database != ":memory:":
        _private_file(Path(parsed.database))
    engine = create_engine(url, connect_args={"timeout": BUSY_MS / 1000})
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _sqlite_begin)
    return engine


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 in a 0700 folder before SQLite does (with the umask)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    """Per connection: our own transactions, WAL, foreign keys, a busy timeout."""
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA busy_timeout={BUSY_MS}")
    cur.close()


def _sqlite_begin(conn: Connection) -> None:
    """BEGIN IMMEDIATE for writers (so two writers never deadlock), BEGIN for readers."""
    immediate = conn.get_execution_options().get("immediate", False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """A write transaction: committed on success, rolled back on any exception."""
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A read transaction (one consistent snapshot)."""
    with engine.connect() as conn, conn.begin():
        yield conn


def alembic_config(conn: Connection | None = None) -> Any:
    """The Alembic configuration of the migrations shipped in this package."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = conn
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema up to date (creates it on an empty database)."""
    from alembic import command

    with engine.connect().execution_options(immediate=True) as conn:
        command.upgrade(alembic_config(conn), "head")
        conn.commit()


def schema_revisions(engine: Engine) -> tuple[str | None, str]:
    """The database's schema revision (None when empty) and the newest this code knows."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    with engine.connect() as conn:
        current = MigrationContext.configure(conn).get_current_revision()
    return current, head or ""
