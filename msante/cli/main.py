"""Entry point: pick the language, parse the global options, run, turn errors into exit codes.

The language must be set before the command modules are imported, because their help texts
are translated when they are defined.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Sequence

from msante import i18n
from msante.errors import ExitCode, MsanteError


def split_globals(argv: Sequence[str]) -> tuple[str | None, bool, list[str]]:
    """(--lang value, --passphrase-stdin given, the remaining arguments)."""
    lang, stdin, rest = None, False, []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg == "--passphrase-stdin":
            stdin = True
        elif arg == "--lang" and i + 1 < len(args):
            lang, i = args[i + 1], i + 1
        elif arg.startswith("--lang="):
            lang = arg.split("=", 1)[1]
        else:
            rest.append(arg)
        i += 1
    return lang, stdin, rest


def main(argv: Sequence[str] | None = None) -> int:
    """Run msante with `argv`; return the exit code.

    The garbage collector waits while the framework and the command are imported (their
    objects live as long as the process; collecting them over and over was a twentieth of
    the start-up); the framework turns it back on before the command runs, after moving
    them out of its sight (`gc.freeze`: the first collections would otherwise walk them all,
    another twelfth of `msante status`).
    """
    gc.disable()
    try:
        return _main(argv)
    finally:
        gc.enable()


def _main(argv: Sequence[str] | None) -> int:
    lang, stdin, rest = split_globals(sys.argv[1:] if argv is None else argv)
    if lang is not None and lang not in i18n.LANGUAGES:
        i18n.setup(None)
        _error(i18n._("Unknown language '{lang}': choose fr or en.").format(lang=lang))
        return ExitCode.USAGE
    i18n.setup(lang)
    from msante.cli import framework, session

    session.STATE["passphrase_stdin"] = stdin
    if not rest and opens_tui(stdin):
        rest = ["tui"]
    return framework.invoke(rest)


def opens_tui(passphrase_stdin: bool) -> bool:
    """Whether plain `msante` opens the TUI: on a terminal, with a vault to open.

    Elsewhere (a pipe, a script, no vault yet, the shell asking for completions) it prints the
    help, as before.
    """
    import os

    from msante import paths

    if passphrase_stdin or "_MSANTE_COMPLETE" in os.environ:
        return False
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        return False
    try:
        return paths.header_path(paths.home()).is_file()
    except MsanteError:
        return False


def run() -> None:
    """Console-script entry point."""
    try:
        code = main()
    except MsanteError as exc:  # raised before the framework took over
        _error(exc.message)
        code = exc.exit_code
    sys.exit(code)


def internal_error(exc: BaseException) -> int:
    """Report a bug in one line (the traceback only with MSANTE_DEBUG=1)."""
    import os
    import traceback

    if os.environ.get("MSANTE_DEBUG"):
        traceback.print_exception(exc)
    _error(i18n._("Internal error ({kind}: {error}). Nothing was half-written: every change is "
                  "transactional. Please report it; MSANTE_DEBUG=1 shows details.").format(
        kind=type(exc).__name__, error=exc))
    return ExitCode.ERROR


def _error(message: str) -> None:
    """One message on stderr, through the one place the CLI writes (no control character)."""
    from msante.cli import output

    output.error(message)
