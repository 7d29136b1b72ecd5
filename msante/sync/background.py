"""Background sync: the agent's child process (`python -m msante.sync.background`).

Started by the unlock agent when `msante unlock --sync 5m` asked for it; never by a person.
Its stdin is a pipe from the agent: the first line is its configuration (the vault's
directory, the interval, the language: no key), and the pipe's end is how it learns that the
agent is gone, whatever the reason (locked, idle, killed). Every interval it asks the agent for
the key WITHOUT counting as use (`peek_key`: the agent's idle clock keeps running), opens the
vault, syncs (msante.sync.runner), closes, and drops its references to the key: it holds the
key only while syncing. A failed sync is kept (the vault's `sync_runs`, the status file of
msante.sync.lastrun) and the child carries on; no agent, no key: it exits.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from msante import i18n
from msante.vault.db import now

MAX_CONFIG = 4096


class Stopped(BaseException):
    """The agent asked the child to stop (SIGTERM), or went away."""


def wait_for_agent_end(fd: int, seconds: float) -> bool:
    """Sleep up to `seconds`; True as soon as the agent's end of the pipe is closed."""
    readable, _w, _x = select.select([fd], [], [], max(0.0, seconds))
    if not readable:
        return False
    return os.read(fd, 1) == b""  # anything else on the pipe is ignored


def sync_once(home: Path, agent_pid: int | None) -> bool:
    """One sync with the key the agent holds; False when there is no agent (or key) left."""
    from msante.api import Vault
    from msante.sync import lastrun
    from msante.unlock import keys_from_agent

    keys = keys_from_agent(home, touch=False)
    if keys is None:
        return False
    error: str | None = None
    try:
        with Vault.open(home, keys) as vault:
            del keys
            vault.sync_now(by="background")
    except Exception as exc:  # kept and shown by `status`, never fatal to the child
        error = lastrun.error_text(exc)
    _report(home, agent_pid, error)
    return True


def _report(home: Path, agent_pid: int | None, error: str | None) -> None:
    from msante.sync import lastrun

    try:
        lastrun.write_background(home, {"agent": agent_pid, "pid": os.getpid(),
                                        "last_run": now(), "error": error})
    except OSError:
        pass


def serve(config: dict[str, Any], fd: int) -> int:
    """Sync now, then every `every` seconds, until the agent is gone."""
    home, every = Path(config["home"]), float(config["every"])
    agent_pid = config.get("agent")
    while True:
        if not sync_once(home, agent_pid):
            return 0
        if wait_for_agent_end(fd, every):
            return 0


def _stop(signum: int, frame: FrameType | None) -> None:
    raise Stopped


def _first_line(fd: int) -> bytes:
    """The configuration line the agent wrote on the pipe."""
    data = b""
    while b"\n" not in data and len(data) < MAX_CONFIG:
        chunk = os.read(fd, MAX_CONFIG)
        if not chunk:
            break
        data += chunk
    return data.split(b"\n", 1)[0]


def main() -> int:
    """Read the configuration line, harden, and serve."""
    from msante.vault.hardening import protect_process

    protect_process()  # holds the key while syncing: no core dump, no same-user ptrace
    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, _stop)
    fd = sys.stdin.fileno()
    try:
        config = json.loads(_first_line(fd))
        i18n.setup(str(config.get("lang", "")))
        return serve(config, fd)
    except Stopped:
        return 0
    except (ValueError, KeyError, TypeError):
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
