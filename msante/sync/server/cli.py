"""`msante-server`: run, migrate, status (argparse: the server is a separate, light program)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from msante import i18n
from msante.errors import ExitCode
from msante.i18n import _
from msante.sync.server.settings import DB_ENV, Settings, default_data_dir


class _Formatter(argparse.HelpFormatter):
    """argparse's help with the "usage:" prefix translated."""

    def add_usage(self, usage: str | None, actions: Any, groups: Any,
                  prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, _("usage: ") if prefix is None else prefix)


def _localised(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Translate argparse's own headings and the help option of `p`."""
    p.formatter_class = _Formatter
    p._positionals.title = _("arguments")
    p._optionals.title = _("options")
    p.add_argument("-h", "--help", action="help", help=_("show this help and exit"))
    return p


def _common() -> argparse.ArgumentParser:
    """The options every command takes: --db and --data."""
    import os

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", default=os.environ.get(DB_ENV, ""), metavar="URL",
                        help=_("database URL (default: SQLite in the data folder; "
                               "postgresql+psycopg://… for PostgreSQL)"))
    common.add_argument("--data", type=Path, default=None, metavar="DIR",
                        help=_("data folder (blobs, SQLite database); default: {path}").format(
                            path=default_data_dir()))
    return common


def parser() -> argparse.ArgumentParser:
    """The command line."""
    root = _localised(argparse.ArgumentParser(
        prog="msante-server", add_help=False,
        description=_("The msante reference sync server (stores only ciphertext)."),
        epilog=_("Example: msante-server run --port 8765")))
    sub = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    common = _common()
    run = _localised(sub.add_parser(
        "run", parents=[common], add_help=False, help=_("start the server"),
        epilog=_("Example: msante-server run --host 0.0.0.0 --ssl-keyfile key.pem "
                 "--ssl-certfile cert.pem")))
    run.add_argument("--host", default="127.0.0.1", help=_("address to listen on"))
    run.add_argument("--port", type=int, default=8765, help=_("port to listen on"))
    run.add_argument("--ssl-keyfile", default=None, metavar="FILE",
                     help=_("TLS private key (passed to uvicorn)"))
    run.add_argument("--ssl-certfile", default=None, metavar="FILE",
                     help=_("TLS certificate chain (passed to uvicorn)"))
    _localised(sub.add_parser(
        "migrate", parents=[common], add_help=False,
        help=_("bring the database schema up to date"),
        epilog=_("Example: msante-server migrate --db postgresql+psycopg://host/db")))
    status = _localised(sub.add_parser(
        "status", parents=[common], add_help=False,
        help=_("show the database and its contents"),
        epilog=_("Example: msante-server status --json")))
    status.add_argument("--json", action="store_true", help=_("print one JSON object"))
    return root


def settings_of(args: argparse.Namespace) -> Settings:
    """The settings the options ask for."""
    data = args.data if args.data is not None else default_data_dir()
    return Settings(data_dir=data.expanduser(), db_url=args.db)


def cmd_run(args: argparse.Namespace) -> None:
    """Migrate, then serve until interrupted."""
    import uvicorn

    from msante.sync.server.app import create_app

    app = create_app(settings_of(args))
    print(_("msante-server listening on {host}:{port}").format(host=args.host, port=args.port),
          file=sys.stderr)
    uvicorn.run(app, host=args.host, port=args.port, ssl_keyfile=args.ssl_keyfile,
                ssl_certfile=args.ssl_certfile, log_level="info")


def cmd_migrate(args: argparse.Namespace) -> None:
    """Create or upgrade the schema."""
    from msante.sync.server.db import make_engine, migrate, schema_revisions
    from msante.sync.server.logkey import open_log_key

    settings = settings_of(args)
    settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    engine = make_engine(settings.database_url)
    try:
        migrate(engine)
        open_log_key(settings, engine)  # the log's signing key, made the first time
        current, _head = schema_revisions(engine)
    finally:
        engine.dispose()
    print(_("Schema up to date (revision {rev}).").format(rev=current), file=sys.stderr)


def status_of(settings: Settings) -> dict[str, Any]:
    """What `status` shows: where, which schema revision, how much is stored."""
    from sqlalchemy.engine import make_url

    from msante.sync.server.db import make_engine, schema_revisions
    from msante.sync.server.logstore import log_status
    from msante.sync.server.store import counts

    engine = make_engine(settings.database_url)
    try:
        current, head = schema_revisions(engine)
        stored = counts(engine) if current == head else None
        log = log_status(engine, settings.log_id) if current == head else None
    finally:
        engine.dispose()
    return {"database": make_url(settings.database_url).render_as_string(hide_password=True),
            "data": str(settings.data_dir), "schema": current, "schema_head": head,
            "up_to_date": current == head, "counts": stored, "log": log}


def cmd_status(args: argparse.Namespace) -> None:
    """Print the status, as text or JSON."""
    info = status_of(settings_of(args))
    if args.json:
        print(json.dumps(info))
        return
    print(_("Database: {db}").format(db=info["database"]))
    print(_("Data folder: {path}").format(path=info["data"]))
    print(_("Schema: {rev} (newest: {head})").format(rev=info["schema"] or _("none"),
                                                     head=info["schema_head"]))
    if not info["up_to_date"]:
        print(_("The schema is not up to date: run msante-server migrate."))
        return
    for name, value in info["counts"].items():
        print(f"{name}: {value}")
    if info["log"]:
        print(_("Log: {size} entries, verifier key {key}").format(**info["log"]))


COMMANDS = {"run": cmd_run, "migrate": cmd_migrate, "status": cmd_status}


def main(argv: list[str] | None = None) -> int:
    """Run one command; an expected failure is one line on stderr and exit 1."""
    i18n.setup()
    args = parser().parse_args(argv)
    try:
        COMMANDS[args.command](args)
    except KeyboardInterrupt:
        return ExitCode.ERROR
    except Exception as exc:  # a database that cannot be reached, a folder not writable…
        print(_("msante-server: {error}").format(error=_describe(exc)), file=sys.stderr)
        return ExitCode.ERROR
    return ExitCode.OK


def _describe(exc: Exception) -> str:
    """One line about an error, without a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    if isinstance(exc, SQLAlchemyError):
        first = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        reason = first[0] if first else type(exc).__name__
        return _("database error: {reason}").format(reason=reason)
    return str(exc) or type(exc).__name__


def run() -> None:
    """The console script's entry point."""
    sys.exit(main())
