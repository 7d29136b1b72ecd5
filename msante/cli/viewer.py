"""Showing a decrypted document in the system's viewer, then removing the private copy."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from msante.cli.output import info, is_terminal
from msante.documents.viewing import QUICK_S, remove_copy, viewer_command
from msante.i18n import _

WAIT_WITHOUT_TERMINAL_S = 120


def view(path: Path) -> None:
    """Open `path`, wait until the person is done, then delete it and its folder."""
    try:
        started = time.monotonic()
        subprocess.run([*viewer_command(), str(path)], check=False,
                       stdin=subprocess.DEVNULL)
        _wait_until_done(started)
    finally:
        remove_copy(path)


def _wait_until_done(started: float) -> None:
    """Launchers like xdg-open return at once: keep the copy until the person is done."""
    if time.monotonic() - started > QUICK_S:
        return  # the viewer ran in the foreground and is closed now
    if is_terminal():
        info(_("Press Enter when you have finished reading (the decrypted copy is then "
               "deleted)."))
        sys.stdin.readline()
    else:
        time.sleep(float(os.environ.get("MSANTE_VIEWER_WAIT", WAIT_WITHOUT_TERMINAL_S)))
