"""The root Typer application, built for what the command line asks for.

Typer builds a validator for every parameter of every registered command, which costs start-up
time for each command that exists. So the root app is assembled from a registry, with only the
command or group named on the line (all of them for the root help or an unknown name).
Imported only after the language is chosen.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Annotated

import typer

from msante import __version__
from msante.i18n import N_, _

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
    "sync": "msante.cli.sync_cmds",
    "devices": "msante.cli.devices_cmds",
}


# The example that ends each group's help (a command's own ends its docstring).
GROUP_EXAMPLES: dict[str, str] = {
    "people": N_('Example: msante people add "Léo Martin" --born 2019-04-27 --sex male'),
    "doc": N_("Example: msante doc import ~/Downloads/resultats.pdf --type lab"),
    "profile": N_('Example: msante profile show --person "Léo Martin"'),
    "measure": N_("Example: msante measure add weight 72.5"),
    "fhir": N_("Example: msante fhir export --out resume-patient.json"),
    "agenda": N_("Example: msante agenda due --all"),
    "backup": N_("Example: msante backup create --out ~/msante.msb"),
    "audit": N_("Example: msante audit verify"),
    "sync": N_("Example: msante sync setup https://sync.example.org"),
    "devices": N_("Example: msante devices link"),
}

# Root options that need no command: the app is built without any for them.
STANDALONE = ("--version", "--install-completion", "--show-completion")


def _show_version(value: bool) -> None:
    if value:
        from msante.cli import output

        output.echo(f"msante {__version__}")
        raise typer.Exit()


def _root_callback(
    version: Annotated[bool, typer.Option(
        "--version", help=_("Show the version and exit."), callback=_show_version,
        is_eager=True)] = False,
) -> None:
    """Keeps the root a group even when it holds a single command."""


def root() -> typer.Typer:
    """An empty root application."""
    app = typer.Typer(
        name="msante",
        help=_("msante — your encrypted personal health record, in the terminal.\n\n"
               "Global options (anywhere on the line): --lang fr|en, --passphrase-stdin.\n\n"
               "Example: msante doc search glycemie"),
        no_args_is_help=True,
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
        group = importlib.import_module(target).app
        app.add_typer(group, name=name,
                      help=f"{group.info.help}\n\n{_(GROUP_EXAMPLES[name])}")


def first_word(args: Sequence[str]) -> str | None:
    """The command named on the line (the first argument that is not an option)."""
    return next((a for a in args if not a.startswith("-")), None)


def build(args: Sequence[str]) -> typer.Typer:
    """The root app with the command named in `args`, or with every command."""
    app = root()
    name = first_word(args)
    if name is None and any(a.split("=")[0] in STANDALONE for a in args):
        return app
    for each in [name] if name in REGISTRY else list(REGISTRY):
        register(app, str(each))
    return app
