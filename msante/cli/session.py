"""The process-wide state of a command: passphrase sources and the vault it opens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from msante import paths
from msante.api import Vault
from msante.cli.output import ask_yes_no, error, is_terminal
from msante.errors import LockedError, UsageError
from msante.i18n import _
from msante.unlock import Sources, obtain_keys
from msante.vault.keys import Keys
from msante.vault.store import accept_hint

STATE = {"passphrase_stdin": False}


def prompt_secret(question: str) -> str:
    """Ask for a secret on the terminal, without echo."""
    import getpass

    return getpass.getpass(question, stream=sys.stderr)


def sources() -> Sources:
    """The passphrase sources of this process."""
    there = is_terminal()
    return Sources(stdin=bool(STATE["passphrase_stdin"]), prompt=prompt_secret if there else None,
                   confirm=ask_yes_no if there else None, warn=error)


def read_secret_file(path: Path) -> str:
    """The text of a file holding a secret (recovery key, one-time code), stripped."""
    try:
        return path.read_text("utf-8").strip()
    except OSError as exc:
        raise UsageError(_("Cannot read {path}: {error}").format(
            path=path, error=exc.strerror)) from None


def secret(file: Path | None, question: str, no_terminal: str) -> str:
    """A secret from `file`, else asked on the terminal; LockedError(`no_terminal`) if neither."""
    if file is not None:
        return read_secret_file(file)
    if not is_terminal():
        raise LockedError(no_terminal)
    return prompt_secret(question)


def home() -> Path:
    """The vault's directory."""
    return paths.home()


def keys(*, agent_ok: bool = True) -> Keys:
    """The vault's keys from the first source that has them (the process hardened first)."""
    from msante.vault.hardening import protect_process

    protect_process()
    return obtain_keys(home(), sources(), agent_ok=agent_ok)


@contextmanager
def open_vault() -> Iterator[Vault]:
    """The unlocked vault, closed afterwards."""
    vault = Vault.open(home(), keys())
    if vault.store.problem:
        error(vault.store.problem + " " + accept_hint())
    try:
        yield vault
    finally:
        vault.close()
