"""Run the Typer app and speak the framework's own words (usage, help, errors) in our language.

Typer ≥ 0.16 vendors Click with its English texts written inline, so they cannot come from a
gettext domain of their own: the help panel titles are module constants we set, the usage prefix
and the help option text are small patches, and usage errors are caught here, their English
text matched against known patterns and rendered through our own catalog.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from msante.cli.output import error
from msante.errors import ExitCode, MsanteError
from msante.i18n import _

# (English pattern of the framework, our translatable template with the same named groups)
ERROR_PATTERNS: list[tuple[str, Callable[[], str]]] = [
    (r"No such option: (?P<name>\S+)(?: Did you mean (?P<hint>.+)\?)?",
     lambda: _("No such option: {name}")),
    (r"No such command '(?P<name>.+)'\.", lambda: _("No such command '{name}'.")),
    (r"Missing option '(?P<name>.+)'\.(?P<rest>.*)", lambda: _("Missing option '{name}'.")),
    (r"Missing argument '(?P<name>.+)'\.(?P<rest>.*)", lambda: _("Missing argument '{name}'.")),
    (r"Missing parameter: (?P<name>.+)", lambda: _("Missing parameter: {name}")),
    (r"Missing command\.", lambda: _("Missing command.")),
    (r"Option '(?P<name>.+)' requires an argument\.",
     lambda: _("Option '{name}' requires an argument.")),
    (r"Option '(?P<name>.+)' requires (?P<n>\d+) arguments\.",
     lambda: _("Option '{name}' requires {n} arguments.")),
    (r"Option '(?P<name>.+)' does not take a value\.",
     lambda: _("Option '{name}' does not take a value.")),
    (r"Got unexpected extra arguments? \((?P<args>.+)\)",
     lambda: _("Unexpected extra arguments: {args}")),
    (r"Invalid value for (?P<name>.+?): (?P<value>'.*?') is not a valid integer\.?",
     lambda: _("Invalid value for {name}: {value} is not a whole number.")),
    (r"Invalid value for (?P<name>.+?): (?P<value>'.*?') is not one of (?P<choices>.+)\.",
     lambda: _("Invalid value for {name}: {value} is not one of {choices}.")),
    (r"Invalid value for (?P<name>.+?): (?P<reason>.+)", lambda: _("Invalid value for {name}: "
                                                                    "{reason}")),
]


def translate_error(message: str) -> str:
    """The framework's English error `message` in the current language."""
    for pattern, template in ERROR_PATTERNS:
        match = re.fullmatch(pattern, message.strip(), flags=re.S)
        if match:
            return template().format(**{k: v or "" for k, v in match.groupdict().items()})
    return message


def wants_help(args: Sequence[str]) -> bool:
    """Whether the line asks for help (the only case that needs the rich help renderer)."""
    return not args or any(a in ("--help", "-h") for a in args)


def patch_framework(help_too: bool = True) -> None:
    """Put our translations into the framework's words (the help renderer's when `help_too`)."""
    from typer._click import decorators, formatting

    usage = _("Usage: ")
    _patch_usage(formatting, usage)
    _patch_help_option(decorators)
    if help_too:
        _patch_rich_help(usage)


def _patch_rich_help(usage: str) -> None:
    from typer import rich_utils

    rich_utils.ARGUMENTS_PANEL_TITLE = _("Arguments")
    rich_utils.OPTIONS_PANEL_TITLE = _("Options")
    rich_utils.COMMANDS_PANEL_TITLE = _("Commands")
    rich_utils.ERRORS_PANEL_TITLE = _("Error")
    rich_utils.ABORTED_TEXT = _("Aborted.")
    rich_utils.DEFAULT_STRING = _("[default: {}]")
    rich_utils.REQUIRED_LONG_STRING = _("[required]")
    rich_utils.ENVVAR_STRING = _("[env var: {}]")
    rich_utils.DEPRECATED_STRING = _("(deprecated) ")
    rich_utils.highlighter.highlights = [h.replace("Usage: ", usage)
                                         for h in rich_utils.highlighter.highlights]


def _patch_usage(formatting: Any, usage: str) -> None:
    original = formatting.HelpFormatter.write_usage

    def write_usage(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        original(self, prog, args, usage if prefix is None else prefix)

    formatting.HelpFormatter.write_usage = write_usage


def _patch_help_option(decorators: Any) -> None:
    original = decorators.option

    def option(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("help") == "Show this message and exit.":
            kwargs["help"] = _("Show this message and exit.")
        return original(*args, **kwargs)

    decorators.option = option


def show_usage_error(exc: Any) -> None:
    """Print a usage error the way Click does, in our language."""
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        error(ctx.get_usage())
        if ctx.command.get_help_option(ctx) is not None:
            error(_("Try '{command} --help' for help.").format(command=ctx.command_path))
    error(_("Error: {message}").format(message=translate_error(exc.format_message())))


def invoke(args: Sequence[str]) -> int:
    """Run the app on `args`; every expected failure becomes one line and an exit code."""
    import typer
    from typer import exceptions as typer_exc
    from typer._click import exceptions as click_exc

    from msante.cli.app import build

    patch_framework(wants_help(args))
    command = typer.main.get_command(build(args))
    try:
        rv = command.main(args=list(args), prog_name="msante", standalone_mode=False)
    except click_exc.NoArgsIsHelpError as exc:
        print(exc.ctx.get_help() if exc.ctx else "")
        return ExitCode.OK
    except MsanteError as exc:
        error(exc.message)
        return exc.exit_code
    except click_exc.UsageError as exc:
        show_usage_error(exc)
        return ExitCode.USAGE
    except (typer_exc.Abort, KeyboardInterrupt, EOFError):
        error(_("Aborted."))
        return ExitCode.ERROR
    except typer_exc.Exit as exc:
        return int(exc.exit_code or 0)
    except BrokenPipeError:
        sys.stderr.close()
        return ExitCode.ERROR
    except Exception as exc:  # a bug: one line, not a traceback
        from msante.cli.main import internal_error

        return internal_error(exc)
    return int(rv) if isinstance(rv, int) else ExitCode.OK
