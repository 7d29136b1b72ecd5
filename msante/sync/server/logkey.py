"""The log's note signing key: made at first migrate, kept 0600 in the data folder, never in
the database.

The key signs every checkpoint (C2SP signed note, Ed25519). It lives in `log-<log id>.key` in
the data folder (text: Go's `PRIVATE+KEY+<name>+<id>+<base64>`); its name is the log's origin,
`msante-server/<server id>/<log id>`. The database keeps only the public verifier key, in the
log's `logs` row, so a database dump (or a stolen PostgreSQL backup) cannot sign a checkpoint,
and a key file that does not belong to the database is refused at start. Without the key file
a log that already exists refuses to start: a new key would be a new log identity, which every
client refuses (by design). Operators back the key file up with the blob folder; several API
processes over one PostgreSQL share the same file (docs/architecture.md).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
from pathlib import Path

from sqlalchemy import Engine, insert, select
from sqlalchemy.exc import IntegrityError

from msante.i18n import _
from msante.sync.note import NoteError, NoteSigner
from msante.sync.server import schema as t
from msante.sync.server.db import reading, writing
from msante.sync.server.settings import Limits, Settings
from msante.sync.server.store import AccountStore, now


class LogKeyError(Exception):
    """The log key is missing, unreadable, too open, or not this database's."""


def origin_of(server_id: str, log_id: str) -> str:
    """A log's origin line (and its key's name)."""
    return f"msante-server/{server_id}/{log_id}"


def stored_verifier(engine: Engine, log_id: str) -> str | None:
    """The verifier key the database holds for `log_id` (None before the first migrate)."""
    with reading(engine) as conn:
        found = conn.scalar(select(t.logs.c.verifier).where(t.logs.c.log_id == log_id))
    return str(found) if found is not None else None


def open_log_key(settings: Settings, engine: Engine) -> NoteSigner:
    """The signer of `settings.log_id`'s checkpoints, made with the log the first time."""
    path = settings.log_key_file
    known = stored_verifier(engine, settings.log_id)
    if path.exists():
        signer = load(path)
        _register(engine, settings.log_id, signer, known)
        return signer
    if known is not None:
        raise LogKeyError(_(
            "The log's signing key {path} is missing. Restore it from a backup: a new key "
            "would make every client refuse this server.").format(path=path))
    server_id = AccountStore(engine, Limits()).server_id()
    signer = NoteSigner.generate(origin_of(server_id, settings.log_id))
    if not _write_new(path, signer.skey()):
        return open_log_key(settings, engine)  # another process made it first
    _register(engine, settings.log_id, signer, None)
    return signer


def load(path: Path) -> NoteSigner:
    """The key in `path`; LogKeyError if others may read it or it is not a signer key."""
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise LogKeyError(_("The log's signing key {path} may be read by others (mode {mode}): "
                            "run chmod 600 on it.").format(path=path, mode=f"{mode:o}"))
    try:
        return NoteSigner.from_skey(path.read_text(encoding="ascii").strip())
    except (NoteError, UnicodeDecodeError):
        raise LogKeyError(_("The log's signing key {path} is damaged.").format(
            path=path)) from None


def _register(engine: Engine, log_id: str, signer: NoteSigner, known: str | None) -> None:
    """Create the log's row with the key's verifier, or check the row names this key."""
    vkey = signer.verifier().vkey()
    if known is None:
        try:
            with writing(engine) as conn:
                conn.execute(insert(t.logs).values(log_id=log_id, size=0, verifier=vkey,
                                                   created_at=now()))
            return
        except IntegrityError:
            known = stored_verifier(engine, log_id)  # another process registered it first
    if known != vkey:
        raise LogKeyError(_("The log's signing key does not belong to this database: its "
                            "log is signed by another key ({vkey}).").format(vkey=known))


def _write_new(path: Path, text: str) -> bool:
    """Write `text` to a new file `path`, 0600, whole or not at all; False if it exists."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        os.write(fd, (text + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink()
    _fsync_dir(path.parent)
    return True


def _fsync_dir(folder: Path) -> None:
    """Make a new directory entry durable."""
    fd = os.open(folder, os.O_RDONLY)
    with contextlib.suppress(OSError):
        os.fsync(fd)
    os.close(fd)

