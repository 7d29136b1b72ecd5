"""`msante summary`: the printable PDF summary of the profile, or the emergency card and its QR."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from msante.cli import output, session
from msante.cli.options import ForceOpt, check_out
from msante.cli.vault_cmds import JsonOpt
from msante.errors import UsageError
from msante.i18n import _, ngettext

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.people import Person
    from msante.profile.summary import Card, Fitted


def summary(
    pdf: Annotated[Path | None, typer.Option("--pdf", metavar=_("FILE"), help=_(
        "Write a printable A4 PDF of the profile to this new file (mode 0600)."))] = None,
    emergency: Annotated[bool, typer.Option("--emergency", help=_(
        "Show the emergency card: allergies, treatments, blood group, conditions, trusted "
        "person."))] = False,
    qr: Annotated[Path | None, typer.Option("--qr", metavar=_("FILE.png"), help=_(
        "With --emergency: also write the card as a QR code image to this new file "
        "(mode 0600)."))] = None,
    person: Annotated[str | None, typer.Option(help=_(
        "Whose summary (default: the owner)."))] = None,
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """A printable summary of the medical profile (PDF), or the emergency card (and its QR code).

    The files hold health data in clear: they are written 0600 and recorded in the history.

    Example: msante summary --pdf resume.pdf
    """
    if (pdf is None) == (not emergency):
        raise UsageError(_("Choose one of --pdf FILE or --emergency."))
    if qr is not None and not emergency:
        raise UsageError(_("--qr goes with --emergency."))
    for path in (pdf, qr):
        if path is not None:
            check_out(path, force)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        if pdf is not None:
            _pdf(vault, who, pdf, json_, force)
        else:
            _emergency(vault, who, qr, json_, force)


def _pdf(vault: Vault, who: Person, path: Path, json_: bool, force: bool) -> None:
    from msante.profile.summary import build_summary, save_pdf

    made = build_summary(vault, who)
    pages = save_pdf(vault, made, path, overwrite=force)
    if json_:
        output.print_json({"file": str(path), "person": who.name, "pages": pages,
                           "issued": made.issued.isoformat(), "sections": made.counts})
    else:
        output.info(ngettext("Summary written to {path} ({pages} page).",
                             "Summary written to {path} ({pages} pages).", pages).format(
            path=path, pages=pages))


def _emergency(vault: Vault, who: Person, qr: Path | None, json_: bool, force: bool) -> None:
    from msante.profile.summary import emergency_card, save_qr

    card = emergency_card(vault, who)
    fitted = save_qr(vault, who, card, qr, overwrite=force) if qr is not None else card.fit()
    if json_:
        output.print_json(card.to_json() | {
            "file": str(qr) if qr is not None else None, "qr_text": fitted.text,
            "qr_bytes": fitted.size,
            "dropped": [{"what": d.what, "count": d.number} for d in fitted.dropped]})
        return
    _panel(card)
    if qr is not None:
        _qr_lines(qr, fitted)


def _panel(card: Card) -> None:
    from rich.panel import Panel
    from rich.text import Text

    lines = card.text().splitlines()
    body = Text("\n".join(lines[1:]))
    output.console().print(Panel(body, title=lines[0], title_align="left", expand=False,
                                 border_style="red"))


def _qr_lines(path: Path, fitted: Fitted) -> None:
    from msante.profile.summary import QR_MAX_BYTES, describe

    output.info(_("QR code written to {path} ({n} bytes of text).").format(
        path=path, n=fitted.size))
    if fitted.dropped:
        output.info(_("Left out of the QR code to fit in {n} bytes: {items}.").format(
            n=QR_MAX_BYTES, items=", ".join(describe(d) for d in fitted.dropped)))
