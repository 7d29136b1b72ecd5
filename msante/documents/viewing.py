"""The system viewer for a decrypted copy, and removing that copy (the CLI and the TUI share it)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from msante.errors import EnvironmentProblem
from msante.i18n import _

QUICK_S = 2.0
"""A viewer that returns sooner than this was a launcher (xdg-open): the copy is still in use."""

PREFIX = "msante-open-"
"""Private folders of decrypted copies are `msante-open-<pid>-<random>`."""

CATCHABLE = ("SIGTERM", "SIGHUP", "SIGQUIT")
"""Signals that end a process reading a copy and can be caught (SIGINT already raises)."""


def copy_roots() -> list[Path]:
    """Where decrypted copies go: a memory file system when there is one, else the temp dir."""
    roots = [os.environ.get("XDG_RUNTIME_DIR"), "/dev/shm"]
    found = [Path(r) for r in roots if r and os.path.isdir(r) and os.access(r, os.W_OK)]
    return found or [Path(tempfile.gettempdir())]


def new_copy_dir() -> Path:
    """A new private (0700) folder for one decrypted copy, named after this process."""
    return Path(tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-", dir=copy_roots()[0]))


def clean_stale_copies() -> int:
    """Remove the copy folders of processes that died (SIGKILL, power loss); return how many."""
    from msante.vault.fsutil import process_running

    removed = 0
    for root in {*copy_roots(), Path(tempfile.gettempdir())}:
        for folder in root.glob(PREFIX + "*"):
            match = re.match(re.escape(PREFIX) + r"(\d+)-", folder.name)
            if not match or process_running(int(match.group(1))) or _not_ours(folder):
                continue
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed


def _not_ours(folder: Path) -> bool:
    try:
        st = folder.lstat()
    except OSError:
        return True
    return st.st_uid != os.getuid() or not folder.is_dir() or folder.is_symlink()


class Interrupted(SystemExit):
    """A catchable signal arrived: unwind (removing copies in `finally`), then exit 128+n."""


@contextmanager
def exit_cleanly_on_signals() -> Iterator[None]:
    """Turn SIGTERM, SIGHUP and SIGQUIT into an exception for the block, so cleanups run."""
    def handler(signum: int, frame: object) -> None:
        raise Interrupted(128 + signum)

    previous = {}
    for name in CATCHABLE:
        sig = getattr(signal, name, None)
        if sig is not None:
            previous[sig] = signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def viewer_command() -> list[str]:
    """The command that opens a file: $MSANTE_VIEWER, else xdg-open / open."""
    custom = os.environ.get("MSANTE_VIEWER")
    if custom:
        import shlex

        return shlex.split(custom)
    for name in ("xdg-open", "open"):
        found = shutil.which(name)
        if found:
            return [found]
    raise EnvironmentProblem(_("No program to open files (xdg-open or open); set "
                               "MSANTE_VIEWER, or use 'msante doc export'."))


def remove_copy(path: Path) -> None:
    """Delete a decrypted copy made by `Documents.open_copy`, and its private folder."""
    path.unlink(missing_ok=True)
    if path.parent.name.startswith(PREFIX):
        shutil.rmtree(path.parent, ignore_errors=True)
