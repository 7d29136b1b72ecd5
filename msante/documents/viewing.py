"""The system viewer for a decrypted copy, and removing that copy (the CLI and the TUI share it)."""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path

from msante.errors import EnvironmentProblem
from msante.i18n import _

QUICK_S = 2.0
"""A viewer that returns sooner than this was a launcher (xdg-open): the copy is still in use."""


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


def remove_copy(path: Path) -> None:
    """Delete a decrypted copy made by `Documents.open_copy`, and its private folder."""
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()
    except OSError:
        pass
