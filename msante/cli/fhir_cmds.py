"""`msante fhir`: export an International Patient Summary, import FHIR R4 bundles."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.options import ForceOpt, check_in, check_out
from msante.cli.vault_cmds import JsonOpt
from msante.errors import PartialError
from msante.i18n import _

app = typer.Typer(help=_("FHIR: export a patient summary (IPS) for a professional, import "
                         "FHIR R4 bundles."), no_args_is_help=True)

PersonOpt = Annotated[str | None, typer.Option(help=_("Whose profile (default: the owner)."))]


@app.command("export")
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help=_("The JSON file to write (a new "
                                                            "file)."))],
    person: PersonOpt = None,
    all_measurements: Annotated[bool, typer.Option("--all-measurements", help=_(
        "Every measurement, not only the latest of each kind."))] = False,
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Write the profile and latest measurements as a FHIR R4 International Patient Summary.

    The file is new, mode 0600, and the export is recorded in the history. A stored code
    that FHIR R4 refuses is left out (the entry's text stays) and shown as a warning.

    Example: msante fhir export --out resume-patient.json --person "Léo Martin"
    """
    from msante.profile.fhir import export_ips

    check_out(out, force)
    with session.open_vault() as vault:
        result = export_ips(vault, vault.people.get(person), out,
                            all_measurements=all_measurements, overwrite=force)
    if json_:
        output.print_json(result)
        return
    for warning in result["warnings"]:
        output.info(_("{section} {entry}: its code {code} was left out, FHIR R4 refuses it "
                      "({reason}).").format(**warning))
    output.info(_("Patient summary of {person} written to {path} ({n} resources).").format(
        person=result["person"], path=result["file"], n=result["resources"]))


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(metavar=_("FILE"), help=_(
        "A FHIR R4 Bundle in JSON: a patient summary, a collection, a search result…"))],
    person: PersonOpt = None,
    force: Annotated[bool, typer.Option("--force", help=_(
        "Import even if the file's patient is not this person."))] = False,
    json_: JsonOpt = False,
) -> None:
    """Import a FHIR R4 bundle into the profile and the measurements.

    Exit 0 when every resource was imported or was already there; 8 when any was not mapped.

    Example: msante fhir import ~/Téléchargements/synthese.json --person "Léo Martin"
    """
    from msante.profile.fhir import import_bundle

    check_in(file)
    with session.open_vault() as vault:
        report = import_bundle(vault, vault.people.get(person), file, force=force)
    if json_:
        output.print_json(report)
    else:
        _report(report)
    if report["unmapped"]:
        raise PartialError(_("Some resources were not imported (see above)."))


def _report(report: dict[str, Any]) -> None:
    """Counts per kind, then what was not imported and why."""
    from msante.profile import sections

    added = report["added"]
    for name, n in added.items():
        label = _("Measurements") if name == "measurements" else _(sections.get(name).label)
        output.info(_("{label}: {n} added").format(label=label, n=n))
    if not added:
        output.info(_("Nothing added."))
    if report["unchanged"]:
        output.info(_("{n} already there (unchanged).").format(n=report["unchanged"]))
    for miss in report["unmapped"]:
        output.info(_("not imported: {resource} {id} — {reason}").format(**miss))
