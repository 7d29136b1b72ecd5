"""The root Typer application, built for what the command line asks for.

Typer builds a validator for every parameter of every registered command, which costs start-up
time for each command that exists. So the root app is assembled from a registry, with only the
command or group named on the line (all of them for the root help or an unknown name).
Imported only after the language is chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence

import typer

from msante.i18n import _

# name → "module:function" for a command, or "module" (whose `app` is a group)
REGISTRY: dict[str, str] = {
    "init": "msante.cli.vault_cmds:init",
    "status": "msante.cli.vault_cmds:status",
    "unlock": "msante.cli.vault_cmds:unlock",
    "lock": "msante.cli.vault_cmds:lock",
    "passwd": "msante.cli.vault_cmds:passwd",
    "recover": "msante.cli.vault_cmds:recover",
    "close": "msante.cli.vault_cmds:close",
    "people": "msante.cli.people_cmds",
    "doc": "msante.cli.doc_cmds",
    "profile": "msante.cli.profile_cmds",
    "measure": "msante.cli.measure_cmds",
    "summary": "msante.cli.summary_cmds:summary",
    "fhir": "msante.cli.fhir_cmds",
    "agenda": "msante.cli.agenda_cmds",
    "remind": "msante.cli.agenda_cmds:remind",
    "tui": "msante.cli.tui_cmds:tui",
    "backup": "msante.cli.backup_cmds",
    "audit": "msante.cli.audit_cmds",
}


def _root_callback() -> None:
    """Keeps the root a group even when it holds a single command."""


def root() -> typer.Typer:
    """An empty root application."""
    app = typer.Typer(
        name="msante",
        help=_("msante — your encrypted personal health record, in the terminal.\n\n"
               "Global options (anywhere on the line): --lang fr|en, --passphrase-stdin."),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["--help", "-h"]},
    )
    app.callback()(_root_callback)
    return app


def register(app: typer.Typer, name: str) -> None:
    """Add the command or group `name` to `app`."""
    target = REGISTRY[name]
    if ":" in target:
        module, func = target.split(":")
        app.command(name)(getattr(importlib.import_module(module), func))
    else:
        app.add_typer(importlib.import_module(target).app, name=name)


def first_word(args: Sequence[str]) -> str | None:
    """The command named on the line (the first argument that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)


def build(args: Sequence[str]) -> typer.Typer:
    """The root app with the command named in `args`, or with every command."""
    app = root()
    name = first_word(args)
    for each in [name] if name in REGISTRY else list(REGISTRY):
        register(app, str(each))
    return app
