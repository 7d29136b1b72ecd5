"""How the last sync went, and what the background sync child says of itself.

Light on purpose (no httpx, no engine): `msante status` reads it. Two places:

- the vault's `sync_runs` row (migration 13): the last sync of this vault, whoever ran it
  (the TUI, the agent's background child, a script), and its error message if it failed.
  Written in a plain transaction, not audited: it is not the person's data (a sync that
  changed something is audited by the engine, `sync.run`).
- the background child's status file, beside the agent's socket in the private runtime
  directory (0600): its pid, interval, when it last ran and how. It also holds the errors that
  happen before the vault opens (busy, damaged), which the vault cannot hold.

An error message is what a person would have been shown (an `MsanteError`'s message) or the
name of an unexpected exception's class: never a key, a token or a record's content.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msante import paths
from msante.errors import BusyError, IntegrityError, MsanteError
from msante.i18n import _
from msante.text import clean
from msante.vault import db
from msante.vault.fsutil import write_private

if TYPE_CHECKING:
    from msante.vault.store import Store

MAX_ERROR = 300
BY = ("tui", "background", "cli", "script")


def error_text(exc: BaseException) -> str:
    """What a failed sync says: the user-facing message, one line, bounded; never a secret."""
    if isinstance(exc, MsanteError):
        text = exc.message
    else:  # an unexpected failure: its kind only (its text could quote anything)
        text = _("unexpected error ({kind})").format(kind=type(exc).__name__)
    text = clean(text)
    return text if len(text) <= MAX_ERROR else text[:MAX_ERROR - 1] + "…"


def record(store: Store, by: str, error: str | None) -> None:
    """Remember this attempt (best effort: a busy or refusing vault keeps the older row)."""
    try:
        with db.write(store.conn) as tx:
            tx.execute("INSERT INTO sync_runs (one, at, by, error) VALUES (1, ?, ?, ?) "
                       "ON CONFLICT(one) DO UPDATE SET at = excluded.at, by = excluded.by, "
                       "error = excluded.error", (db.now(), by, error))
    except (BusyError, IntegrityError):
        pass


def last(store: Store) -> dict[str, Any] | None:
    """The last attempt: `at`, `by`, `ok`, `error`; None before the first."""
    row = store.conn.execute("SELECT at, by, error FROM sync_runs").fetchone()
    if row is None:
        return None
    return {"at": row[0], "by": row[1], "ok": row[2] is None, "error": row[2]}


def background_file(base: Path) -> Path:
    """The background child's status file, beside the agent's socket."""
    sock = paths.agent_socket(base)
    return sock.with_name(sock.stem + ".sync.json")


def write_background(base: Path, state: dict[str, Any]) -> None:
    """Replace the child's status (atomic, 0600)."""
    write_private(background_file(base), json.dumps(state, sort_keys=True).encode())


def read_background(base: Path) -> dict[str, Any] | None:
    """The child's last status, or None (none written, or unreadable)."""
    try:
        data = json.loads(background_file(base).read_bytes())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def background(base: Path, agent_status: dict[str, Any] | None) -> dict[str, Any]:
    """Background sync as `status` shows it: on or off, its interval, its last run."""
    every = (agent_status or {}).get("sync_every")
    if not every:
        return {"on": False, "every": None, "last_run": None, "error": None}
    every = int(every) if float(every).is_integer() else every
    state = read_background(base) or {}
    mine = state.get("agent") == agent_status.get("pid") if agent_status else False
    return {"on": True, "every": every, "last_run": state.get("last_run") if mine else None,
            "error": state.get("error") if mine else None}
