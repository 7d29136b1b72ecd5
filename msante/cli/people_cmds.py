"""`msante people`: the people whose records you keep (yourself, your children, others)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from msante.cli import output, session
from msante.cli.options import ForceOpt, check_out
from msante.cli.vault_cmds import JsonOpt
from msante.i18n import _

app = typer.Typer(help=_("The people whose records you keep: yourself and those you care for."),
                  no_args_is_help=True)


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(metavar=_("NAME"),
                                        help=_("Their name (unique in the vault)."))],
    born: Annotated[str, typer.Option(help=_("Birth date: 2019-04-27 or 27/04/2019."))],
    sex: Annotated[str, typer.Option(help=_(
        "female, male or other (F, M; femme, homme, autre)."))],
    relation: Annotated[str, typer.Option(help=_("child or other (enfant, autre)."))]
    = "child",
    json_: JsonOpt = False,
) -> None:
    """Add a person (a child until majority, or another loved one).

    Example: msante people add "Léo Martin" --born 2019-04-27 --sex male --relation child
    """
    from msante.people import relation_key, validate

    validate(name, born, sex)  # every typed value read before the passphrase
    relation_key(relation)
    with session.open_vault() as vault:
        person = vault.people.add(name, born, sex, relation)
    if json_:
        output.print_json(person.to_json())
    else:
        output.info(_("{name} added.").format(name=person.name))


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List the people of the vault.

    Example: msante people list --json
    """
    with session.open_vault() as vault:
        people = vault.people.list()
    if json_:
        output.print_json([p.to_json() for p in people])
        return
    output.table([_("Name"), _("Born"), _("Relation"), _("Majority")], [
        [p.name, p.born.isoformat(), p.relation_label,
         p.majority.isoformat() if p.majority else "—"]
        for p in people])


@app.command("show")
def show(
    name: Annotated[str, typer.Argument(metavar=_("NAME"), help=_("Name or id."))],
    json_: JsonOpt = False,
) -> None:
    """Show one person, with their key fingerprint.

    Example: msante people show "Léo Martin"
    """
    with session.open_vault() as vault:
        person = vault.people.get(name)
        data = person.to_json() | {"fingerprint": vault.people.fingerprint(person)}
    if json_:
        output.print_json(data)
        return
    from msante.people import SEX_LABELS

    output.fields([
        (_("Name"), person.name), (_("Born"), person.born.isoformat()),
        (_("Sex"), _(SEX_LABELS[person.sex])), (_("Relation"), person.relation_label),
        (_("Majority"), person.majority.isoformat() if person.majority else "—"),
        (_("Fingerprint"), data["fingerprint"] or "—"), ("Id", person.id)])
    if person.read_only():
        output.echo(_("Read-only: came of age; hand the profile over with 'msante people "
                      "handover'."))


@app.command("remove")
def remove(
    name: Annotated[str, typer.Argument(metavar=_("NAME"), help=_("Name or id."))],
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
) -> None:
    """Remove a person and erase their records for good (after confirmation).

    Example: msante people remove "Léo Martin" --yes
    """
    with session.open_vault() as vault:
        person = vault.people.get(name)
        output.confirm(_("Remove {name} and erase their records for good?")
                       .format(name=person.name), yes=yes)
        vault.people.remove(person.id)
    output.info(_("{name} removed.").format(name=person.name))


@app.command("handover")
def handover(
    name: Annotated[str, typer.Argument(metavar=_("NAME"), help=_("The now-adult's name."))],
    out: Annotated[Path, typer.Option("--out", help=_("The archive to write."))],
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Hand a child's profile over once they are adult: an archive sealed by a one-time code.

    Example: msante people handover "Léo Martin" --out leo.msh
    """
    from msante.handover import export_space

    check_out(out, force)
    with session.open_vault() as vault:
        code = export_space(vault, vault.people.get(name), out, overwrite=force)
    if json_:
        output.print_json({"file": str(out), "code": code})
        return
    output.info(_("Archive written to {path}. Give it with this one-time code (shown only "
                  "now); they import it with 'msante backup restore FILE --merge':")
                .format(path=out))
    output.echo(f"\n    {code}\n")
