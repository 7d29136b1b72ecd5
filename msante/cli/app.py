"""The root Typer application; imported only after the language is chosen."""

from __future__ import annotations

import typer

from msante.cli import audit_cmds, backup_cmds, people_cmds, vault_cmds
from msante.i18n import _

app = typer.Typer(
    name="msante",
    help=_("msante — your encrypted personal health record, in the terminal.\n\n"
           "Global options (anywhere on the line): --lang fr|en, --passphrase-stdin."),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["--help", "-h"]},
)

for func in (vault_cmds.init, vault_cmds.status, vault_cmds.unlock, vault_cmds.lock,
             vault_cmds.passwd, vault_cmds.recover, vault_cmds.close):
    app.command(func.__name__)(func)
app.add_typer(people_cmds.app, name="people")
app.add_typer(backup_cmds.app, name="backup")
app.add_typer(audit_cmds.app, name="audit")
