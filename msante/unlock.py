"""Where the vault key comes from, in the order every command shares.

1. `--passphrase-stdin`; 2. the file named by `MSANTE_PASSPHRASE_FILE`; 3. the running agent;
4. a prompt, only when a terminal is there. Otherwise LockedError saying how to unlock.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from msante.errors import EnvironmentProblem, LockedError, UsageError
from msante.i18n import _
from msante.vault import agent, header
from msante.vault.keys import Keys
from msante.vault.passphrase import normalize

PASSPHRASE_FILE_ENV = "MSANTE_PASSPHRASE_FILE"


@dataclass
class Sources:
    """How this process may obtain a passphrase."""

    stdin: bool = False
    prompt: Callable[[str], str] | None = None
    confirm: Callable[[str], bool] | None = None  # a yes/no question, only on a terminal
    warn: Callable[[str], None] = lambda message: None
    stream: TextIO = field(default_factory=lambda: sys.stdin)
    _stdin_used: str | None = None

    def read_stdin(self) -> str:
        """The passphrase read from stdin (once; later calls return the same text)."""
        if self._stdin_used is None:
            self._stdin_used = normalize(self.stream.readline())
        return self._stdin_used


def read_passphrase_file(path: Path, warn: Callable[[str], None]) -> str:
    """The passphrase in `path`, warning when others may read the file."""
    try:
        st = path.stat()
        text = path.read_text("utf-8")
    except OSError as exc:
        raise UsageError(_("Cannot read the passphrase file {path}: {error}")
                         .format(path=path, error=exc.strerror)) from None
    if st.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        warn(_("Warning: {path} can be read by other users; make it private with "
               "'chmod 600 {path}'.").format(path=path))
    return normalize(text)


def passphrase(sources: Sources) -> str | None:
    """A passphrase from stdin or the passphrase file, if either is set."""
    if sources.stdin:
        return sources.read_stdin()
    env = os.environ.get(PASSPHRASE_FILE_ENV)
    if env:
        return read_passphrase_file(Path(env), sources.warn)
    return None


def locked_message() -> str:
    """How to unlock, for a process that cannot ask."""
    return _("The vault is locked. Run 'msante unlock' first, or give the passphrase with "
             "--passphrase-stdin or MSANTE_PASSPHRASE_FILE.")


def keys_from_agent(base: Path, *, touch: bool = True,
                    warn: Callable[[str], None] | None = None) -> Keys | None:
    """The key held by this vault's agent, if one runs for this very vault.

    An unsafe runtime directory is not trusted: with `warn`, it is reported and the agent is
    skipped (the caller falls back to the other sources); without, the error propagates.
    """
    try:
        got = agent.get_key(base, touch=touch)
    except EnvironmentProblem as exc:
        if warn is None:
            raise
        warn(exc.message)
        return None
    if got is None:
        return None
    vault_id, key = got
    return Keys(vault_id, key) if vault_id == header.load(base).vault_id else None


def obtain_keys(base: Path, sources: Sources, *, agent_ok: bool = True) -> Keys:
    """The vault's keys from the first source that has them."""
    from msante.vault import store

    given = passphrase(sources)
    if given is not None:
        return store.unlock_with_passphrase(base, given, sources.confirm)
    if agent_ok:
        keys = keys_from_agent(base, warn=sources.warn)
        if keys is not None:
            return keys
    header.load(base)
    if sources.prompt is None:
        raise LockedError(locked_message())
    given = normalize(sources.prompt(_("Passphrase: ")))
    return store.unlock_with_passphrase(base, given, sources.confirm)
