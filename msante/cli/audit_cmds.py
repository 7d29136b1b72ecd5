"""`msante audit`: the activity history, and its verification."""

from __future__ import annotations

from typing import Annotated

import typer

from msante.cli import output, session
from msante.cli.vault_cmds import JsonOpt
from msante.errors import IntegrityError
from msante.i18n import _

app = typer.Typer(help=_("The activity history: every access and every action."),
                  no_args_is_help=True)


def local_time(iso: str) -> str:
    """A stored UTC time shown in the local time zone."""
    import datetime as dt

    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@app.command("list")
def list_(
    person: Annotated[str | None, typer.Option(help=_("Only this person's entries."))] = None,
    since: Annotated[str | None, typer.Option(help=_("Only entries from this date (YYYY-MM-DD)."))]
    = None,
    action: Annotated[str | None, typer.Option(help=_("Only this action (e.g. person.add)."))]
    = None,
    limit: Annotated[int, typer.Option(help=_("At most this many entries (0: all)."))] = 50,
    json_: JsonOpt = False,
) -> None:
    """List the activity history, newest first.

    Example: msante audit list --since 2026-01-01 --json
    """
    from msante.text import local_day_start_utc, parse_date

    since_iso = local_day_start_utc(parse_date(since, what=_("date"))) if since else None
    with session.open_vault() as vault:
        pid = vault.people.get(person).id if person else None
        names = {p.id: p.name for p in vault.people.list()}
        items = list(vault.audit.entries(person=pid, since=since_iso, action=action,
                                         limit=limit or None))
    if json_:
        output.print_json([e.to_json() | {"person_name": names.get(e.person or "")}
                           for e in items])
        return
    output.table(["#", _("When"), _("Who"), _("Action"), _("Person")], [
        [str(e.seq), local_time(e.at), e.actor, e.action, names.get(e.person or "", "")]
        for e in items])


@app.command("verify")
def verify(json_: JsonOpt = False) -> None:
    """Check that no entry of the history was edited, removed or reordered (exit 6 if so).

    Example: msante audit verify
    """
    with session.open_vault() as vault:
        result = vault.audit.verify()
    if json_:
        output.print_json({"ok": result.ok, "count": result.count,
                           "first_bad": result.first_bad, "reason": result.reason or None})
    elif result.ok:
        output.echo(result.explain())
    if not result.ok:
        raise IntegrityError(result.explain())


@app.command("accept")
def accept(
    yes: Annotated[bool, typer.Option("--yes", help=_("Do not ask for confirmation."))] = False,
    json_: JsonOpt = False,
) -> None:
    """After a rollback, a cut or a lost WAL was found: go on with the vault as it is now.

    The finding is kept as an audit entry; reading documents and writing work again. Restore
    a backup instead if you have a more recent one.

    Example: msante audit accept
    """
    with session.open_vault() as vault:
        state = vault.store.state()
        if not state.ok:
            output.confirm(_("Keep the vault as it is now, with the missing changes lost?"),
                           yes=yes)
        found = vault.store.accept_state()
    if json_:
        output.print_json({"accepted": not found.ok, "reason": found.reason or None})
    elif found.ok:
        output.info(_("Nothing to accept: the history agrees with vault.json."))
    else:
        output.info(_("Accepted; the finding is recorded in the activity history."))
