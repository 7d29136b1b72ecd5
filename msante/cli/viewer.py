"""Showing a decrypted document in the system's viewer, then removing the private copy."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

from msante.cli.output import info, is_terminal
from msante.errors import EnvironmentProblem
from msante.i18n import _

WAIT_WITHOUT_TERMINAL_S = 120


def viewer_command() -> list[str]:
    """The command that opens a file: $MSANTE_VIEWER, else xdg-open / open."""
    custom = os.environ.get("MSANTE_VIEWER")
    if custom:
        return shlex.split(custom)
    for name in ("xdg-open", "open"):
        found = shutil.which(name)
        if found:
            return [found]
    raise EnvironmentProblem(_("No program to open files (xdg-open or open); set "
                               "MSANTE_VIEWER, or use 'msante doc export'."))


def view(path: Path) -> None:
    """Open `path`, wait until the person is done, then delete it and its folder."""
    try:
        started = time.monotonic()
        subprocess.run([*viewer_command(), str(path)], check=False,
                       stdin=subprocess.DEVNULL)
        _wait_until_done(started)
    finally:
        path.unlink(missing_ok=True)
        try:
            path.parent.rmdir()
        except OSError:
            pass


def _wait_until_done(started: float) -> None:
    """Launchers like xdg-open return at once: keep the copy until the person is done."""
    if time.monotonic() - started > 2:
        return  # the viewer ran in the foreground and is closed now
    if is_terminal():
        info(_("Press Enter when you have finished reading (the decrypted copy is then "
               "deleted)."))
        sys.stdin.readline()
    else:
        time.sleep(float(os.environ.get("MSANTE_VIEWER_WAIT", WAIT_WITHOUT_TERMINAL_S)))
