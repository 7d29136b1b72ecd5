"""Arguments refused before any command runs: text that is not UTF-8, integers SQLite cannot
hold. Both used to end as exit 1 "Internal error" deep inside a command."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from msante.errors import UsageError
from msante.i18n import _

INT64 = (-(2**63), 2**63 - 1)


def check_text(args: Sequence[str]) -> None:
    """Refuse an argument that is not valid UTF-8, unless it names an existing file."""
    for arg in args:
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            if os.path.lexists(arg):
                continue  # a file name in another encoding: the file system can use it
            shown = os.fsencode(arg).decode("utf-8", "backslashreplace")
            raise UsageError(_("This argument is not valid UTF-8 text: {arg}").format(
                arg=shown)) from None


def bound_integers(command: Any, args: Sequence[str] = ()) -> None:
    """Give every plain integer option and argument of the tree SQLite's 64-bit range.

    Not for --help (the help would say "int range"). Typer ≥ 0.29 describes types itself
    (`type_descriptor`); older ones hand Click a type."""
    if "--help" in args or "-h" in args:
        return
    for param in getattr(command, "params", []):
        _bound(param)
    for sub in getattr(command, "commands", {}).values():
        bound_integers(sub)


def _bound(param: Any) -> None:
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:
        info = descriptor.parameter_info
        if descriptor.annotation is int and info.min is None and info.max is None:
            info.min, info.max = INT64
        return
    kind = getattr(param, "type", None)
    if kind is not None and type(kind).__name__ == "IntParamType":
        import sys

        # the Click the parameter comes from (Typer 0.28 vendors its own as typer._click):
        # another Click's BadParameter would not be a usage error to this one
        types = sys.modules[type(kind).__module__]
        bounded = types.IntRange(*INT64)
        bounded.name = kind.name  # "'x' is not a valid integer.", as before (and translated)
        param.type = bounded
