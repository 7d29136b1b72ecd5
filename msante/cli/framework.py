"""Run the Typer app and speak the framework's own words (usage, help, errors) in our language.

Typer ≥ 0.16 vendors Click with its English texts written inline, so they cannot come from a
gettext domain of their own. Three mechanisms bring them into our catalog:

- wrappers, installed once per process (`install_patches`): the "Usage: " prefix, the text of
  `--help`, the type labels of the help ("<int>"), and the help renderer, which first sets the
  rich help's constant texts (panel titles, "[default: …]"; `set_help_texts`) — so that
  `typer.rich_utils` is imported only when help is shown. They translate when they are
  called, so they follow the language of the run;
- the command tree, once Typer has built it (`translate_tree`): each command's help is its
  docstring, which `extract_commands` puts in the catalog; the "[OPTIONS]" and
  "COMMAND [ARGS]..." placeholders of the usage line;
- usage errors, caught here: their English text is matched against `ERROR_PATTERNS` (the
  reason after "Invalid value for X:" against `REASON_PATTERNS`, trailing hints against
  `HINT_PATTERNS`) and rendered through our catalog, with our own words around them
  ("Error: …", "Try 'msante --help' for help."); a text no pattern knows stays English.

In English every message is its own translation, so Typer's output stays as it was (a few
error texts are reworded slightly, never in meaning).
"""

from __future__ import annotations

import ast
import copy
import functools
import gc
import io
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

from msante.cli.output import error
from msante.errors import ExitCode, MsanteError, UsageError
from msante.i18n import N_, _

Template = Callable[[], str]
Patterns = list[tuple[str, Template]]

# Whole usage-error messages: (Typer's English, as a regex; our template, same group names).
# Groups named `name`, `names` or `value` hold quoted words ('--x'), requoted for the language;
# a group named `reason` is itself translated with REASON_PATTERNS.
ERROR_PATTERNS: Patterns = [
    (r"No such command (?P<name>.+)\.", lambda: _("No such command {name}.")),
    (r"No such option: (?P<name>.+)", lambda: _("No such option: {name}")),
    (r"Missing command\.", lambda: _("Missing command.")),
    (r"Missing option (?P<name>.+)\.", lambda: _("Missing option {name}.")),
    (r"Missing argument (?P<name>.+)\.", lambda: _("Missing argument {name}.")),
    (r"Missing parameter (?P<name>.+)\.", lambda: _("Missing parameter {name}.")),
    (r"Missing parameter: (?P<name>.+)", lambda: _("Missing parameter {name}.")),
    (r"Option (?P<name>.+) requires an argument\.",
     lambda: _("Option {name} requires an argument.")),
    (r"Option (?P<name>.+) requires (?P<n>\d+) arguments\.",
     lambda: _("Option {name} requires {n} arguments.")),
    (r"Option (?P<name>.+) does not take a value\.",
     lambda: _("Option {name} does not take a value.")),
    (r"Argument (?P<name>.+) takes (?P<n>\d+) values\.",
     lambda: _("Argument {name} takes {n} values.")),
    (r"Got unexpected extra argument(?:\(s\)|s)? \((?P<args>.*)\)",
     lambda: _("Got unexpected extra argument(s) ({args})")),
    (r"Invalid value for (?P<name>.+?): (?P<reason>.+)",
     lambda: _("Invalid value for {name}: {reason}")),
    (r"Invalid value: (?P<reason>.+)", lambda: _("Invalid value: {reason}")),
    (r"Could not open file (?P<name>.+?): (?P<error>.+)",
     lambda: _("Could not open file {name}: {error}")),
]

# Why a value was refused: the checks of the vendored Click (types, ranges, paths, choices).
REASON_PATTERNS: Patterns = [
    (r"(?P<value>.+) is not a valid int(?:eger)?\.", lambda: _("{value} is not a whole number.")),
    (r"(?P<value>.+) is not a valid float\.", lambda: _("{value} is not a number.")),
    (r"(?P<value>.+) is not a valid boolean\.(?: Recognized values: .*)?",
     lambda: _("{value} is not yes or no (true/false).")),
    (r"(?P<value>.+) is not a valid UUID\.", lambda: _("{value} is not a valid UUID.")),
    (r"(?P<value>.+) is not in the range (?P<range>.+)\.",
     lambda: _("{value} is not in the range {range}.")),
    (r"(?P<value>.+) is not one of (?P<names>.+)\.", lambda: _("{value} is not one of {names}.")),
    (r"(?P<value>.+) does not match the formats? (?P<formats>.+)\.",
     lambda: _("{value} does not match the formats {formats}.")),
    (r"(?P<n>\d+) values are required, but (?P<given>\d+) given\.",
     lambda: _("{n} values are required, but {given} given.")),
    (r"Value must be an iterable\.", lambda: _("Value must be an iterable.")),
    (r"(?P<kind>File|Directory|Path) (?P<name>.+) does not exist\.",
     lambda: _("{kind} {name} does not exist.")),
    (r"(?P<kind>File|Directory|Path) (?P<name>.+) is a file\.",
     lambda: _("{kind} {name} is a file.")),
    (r"(?P<kind>File|Directory|Path) (?P<name>.+) is a directory\.",
     lambda: _("{kind} {name} is a directory.")),
    (r"(?P<kind>File|Directory|Path) (?P<name>.+) is not readable\.",
     lambda: _("{kind} {name} is not readable.")),
    (r"(?P<kind>File|Directory|Path) (?P<name>.+) is not writable\.",
     lambda: _("{kind} {name} is not writable.")),
]

# Hints the framework appends to a message (a leading space or newline is part of the match).
HINT_PATTERNS: Patterns = [
    (r" Did you mean (?P<names>.+)\?", lambda: _("Did you mean {names}?")),
    (r" \(Possible options: (?P<names>.+)\)", lambda: _("(Possible options: {names})")),
    (r" Choose from:(?P<choices>\n\t.*)", lambda: _("Choose from:{choices}")),
]

# The `kind` of a path in the path checks above.
PATH_KINDS = {
    # TRANSLATORS: starts "{kind} {name} does not exist." and the other path checks.
    "File": N_("the file"), "Directory": N_("the directory"), "Path": N_("the path"),
}

# What an option's value is, shown after its name in the help (`--limit INTEGER`), by the
# framework's type name; a flag shows nothing, a choice its choices, an argument only its name.
PLACEHOLDERS = {
    # TRANSLATORS: the value an option takes, in capitals after its name in the help.
    "str": N_("TEXT"), "text": N_("TEXT"), "int": N_("INTEGER"), "int range": N_("INTEGER"),
    "float": N_("NUMBER"), "float range": N_("NUMBER"), "file": N_("FILE"),
    "filename": N_("FILE"), "directory": N_("FOLDER"), "path": N_("PATH"),
    "datetime": N_("DATE"), "uuid": "UUID",
}

# The root's completion options, which Typer adds with English help.
COMPLETION_HELP: dict[str, Template] = {
    "install_completion": lambda: _(
        "Install completion of commands and options for your shell (bash, zsh or fish)."),
    "show_completion": lambda: _(
        "Print the completion script for your shell, to install it yourself."),
}
SHELLS = ("bash", "zsh", "fish")
# The words of the command line being run: Typer's completion options are flags (the shell is
# detected), so `--install-completion zsh` would silently install for the detected shell.
LINE: list[str] = []

QUOTED_GROUPS = ("name", "names", "value")
_QUOTED = re.compile(r"'([^']*)'|\"([^\"]*)\"")


def requote(text: str) -> str:
    """Put the language's quotes around the framework's quoted words ('--x' → « --x »)."""
    # TRANSLATORS: the quotes around a name the framework quoted ('--limit', 'people').
    quoted = _("'{name}'")
    return _QUOTED.sub(lambda m: quoted.format(name=m.group(1) or m.group(2) or ""), text)


def _render(patterns: Patterns, text: str) -> str | None:
    for pattern, template in patterns:
        match = re.fullmatch(pattern, text, flags=re.S)
        if match:
            groups = {k: v or "" for k, v in match.groupdict().items()}
            for key in QUOTED_GROUPS:
                if key in groups:
                    groups[key] = requote(groups[key])
            if "reason" in groups:
                groups["reason"] = _render(REASON_PATTERNS, groups["reason"]) or groups["reason"]
            if "kind" in groups:
                kind = PATH_KINDS[groups["kind"]]
                groups["kind"] = _(kind)
            return template().format(**groups)
    return None


def _trailing_hint(text: str) -> re.Match[str] | None:
    for pattern, _template in HINT_PATTERNS:
        match = re.search(pattern + r"\Z", text, flags=re.S)
        if match:
            return match
    return None


def translate_error(message: str) -> str:
    """The framework's English error `message` in the current language."""
    text, hints = message.strip(), list[str]()
    while match := _trailing_hint(text):
        hints.insert(0, _render(HINT_PATTERNS, match.group()) or match.group())
        text = text[:match.start()]
    return " ".join([_render(ERROR_PATTERNS, text) or text, *hints])


def set_help_texts() -> None:
    """Set the rich help's constant texts to the current language (before each help)."""
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
    usage = rf"(?P<usage>{re.escape(_('Usage: '))})"
    rich_utils.highlighter.highlights = [  # type: ignore[misc]
        usage if "(?P<usage>" in h else h for h in rich_utils.highlighter.highlights]


def install_patches() -> None:
    """Wrap the framework where its words are written inline (once per process)."""
    from typer import core
    from typer._click import decorators, formatting

    if hasattr(formatting.HelpFormatter.write_usage, "__wrapped__"):
        return  # `functools.wraps` marks our wrappers: already installed (even by a reload)
    write_usage = formatting.HelpFormatter.write_usage
    option = decorators.option

    @functools.wraps(write_usage)
    def usage_in_our_words(self: Any, prog: str, args: str = "", prefix: str | None = None) -> None:
        write_usage(self, prog, args, _("Usage: ") if prefix is None else prefix)

    @functools.wraps(option)
    def option_in_our_words(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("help") == "Show this message and exit.":
            kwargs["help"] = _("Show this message and exit.")
        return option(*args, **kwargs)

    formatting.HelpFormatter.write_usage = usage_in_our_words  # type: ignore[method-assign]
    decorators.option = option_in_our_words
    for cls in (core.TyperCommand, core.TyperGroup):
        _set_texts_before_help(cls)


def _set_texts_before_help(cls: Any) -> None:
    format_help = cls.format_help

    @functools.wraps(format_help)
    def format_help_in_our_words(self: Any, ctx: Any, formatter: Any) -> None:
        set_help_texts()
        format_help(self, ctx, formatter)

    cls.format_help = format_help_in_our_words


def translate_tree(command: Any) -> None:
    """Translate the help (docstring) and usage placeholders of `command` and its subcommands.

    Each paragraph of a help is made one line, so that the terminal wraps it (a docstring's
    own line breaks would cut sentences in the middle); the value placeholders are set.
    """
    if command.help:
        command.help = reflow(_(command.help))
    if getattr(command, "options_metavar", None) == "[OPTIONS]":
        command.options_metavar = _("[OPTIONS]")
    if getattr(command, "subcommand_metavar", None) == "COMMAND [ARGS]...":
        command.subcommand_metavar = _("COMMAND [ARGS]...")
    for param in command.params:
        set_placeholder(param)
        if param.name in COMPLETION_HELP:
            param.help = COMPLETION_HELP[param.name]()
        if param.name == "install_completion":
            param.callback = install_completion
        if param.name == "show_completion":
            param.callback = show_completion
    for sub in getattr(command, "commands", {}).values():
        translate_tree(sub)


def reflow(text: str) -> str:
    """`text` with each paragraph on one line (a paragraph starting with \\b is kept as is)."""
    import re

    # ASCII white space only: str.split() would also take French's no-break spaces (U+202F)
    return "\n\n".join(p if p.startswith("\b") else re.sub(r"[ \t\r\n]+", " ", p).strip()
                         for p in text.split("\n\n"))


def set_placeholder(param: Any) -> None:
    """What the help shows after a parameter's name: a word for an option's value, no type."""
    kind = getattr(param.type, "name", "")
    if param.param_type_name == "option":
        if not (param.is_flag or param.count or param.metavar) and kind in PLACEHOLDERS:
            param.metavar = _(PLACEHOLDERS[kind])
    elif param.param_type_name == "argument" and kind in PLACEHOLDERS:
        quiet = copy.copy(param.type)  # the help shows the argument's name alone
        quiet.get_metavar = lambda *args, **kwargs: ""
        param.type = quiet


def install_completion(ctx: Any, param: Any, value: Any) -> Any:
    """--install-completion: write the completion script of the user's shell, and say where."""
    import typer
    from typer import _completion_shared as shared

    if not value or ctx.resilient_parsing:
        return value
    shell = named_shell(value, "--install-completion")
    if shell not in SHELLS:
        raise UsageError(_("Cannot install completion for this shell ({shell}): bash, zsh and "
                           "fish are supported.").format(shell=shell or _("unknown")))
    path = shared.install(shell=shell, prog_name="msante")[1]
    from msante.cli import output

    output.echo(_("Completion for {shell} installed in {path}; it works in new terminals.")
                .format(shell=shell, path=path))
    raise typer.Exit()


def show_completion(ctx: Any, param: Any, value: Any) -> Any:
    """--show-completion [SHELL]: print the script (of the named shell, else the detected one)."""
    from typer.completion import show_callback

    if not value or ctx.resilient_parsing:
        return value
    return show_callback(ctx, param, named_shell(value, "--show-completion"))


def named_shell(value: Any, option: str) -> str | None:
    """The shell named after `option` on the line, else Typer's value or the detected one."""
    from typer import _completion_shared as shared

    after = LINE[LINE.index(option) + 1:] if option in LINE else []
    if after and not after[0].startswith("-"):
        return after[0]
    return value if isinstance(value, str) else shared._get_shell_name()


def extract_commands(fileobj: IO[bytes], keywords: Any, comment_tags: Any,
                     options: Any) -> Iterator[tuple[Any, ...]]:
    """Babel extractor: a command module's `_()` strings and its commands' docstrings.

    A command is a public module-level function whose docstring has an "Example:" paragraph
    (the house rule for command help); Typer shows the docstring, cleaned as by
    `inspect.getdoc`, which is the msgid `translate_tree` looks up.
    """
    from babel.messages.extract import extract_python

    data = fileobj.read()
    yield from extract_python(io.BytesIO(data), keywords, comment_tags, options)
    for node in ast.parse(data).body:
        if isinstance(node, ast.FunctionDef) and not node.name.startswith("_"):
            doc = ast.get_docstring(node)
            if doc and "\nExample" in doc:
                yield node.lineno, None, doc, []


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
    from msante.cli.argcheck import bound_integers, check_text

    install_patches()
    LINE[:] = args
    command = typer.main.get_command(build(args))
    translate_tree(command)
    if not gc.get_freeze_count():  # once: what was imported lives as long as the process
        gc.freeze()
    gc.enable()  # turned off by main() while the app was imported and built
    bound_integers(command, args)
    try:
        check_text(args)
        rv = command.main(args=list(args), prog_name="msante", standalone_mode=False)
    except click_exc.NoArgsIsHelpError as exc:
        if exc.message:  # the help, rendered when raised; rich prints it then and leaves ""
            print(exc.message)
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
    except Exception as exc:  # a corrupt database, or a bug: one line, not a traceback
        return _unexpected(exc)
    return int(rv) if isinstance(rv, int) else ExitCode.OK


def _unexpected(exc: Exception) -> int:
    """A raw database error stands for corruption or a busy vault; anything else is a bug."""
    from msante.cli.main import internal_error
    from msante.vault.db import as_msante_error

    mapped = as_msante_error(exc)
    if mapped is None:
        return internal_error(exc)
    error(mapped.message)
    return mapped.exit_code
