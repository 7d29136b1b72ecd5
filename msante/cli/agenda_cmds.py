"""`msante agenda` and `msante remind`: appointments, prevention reminders, iCalendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.vault_cmds import JsonOpt
from msante.errors import PartialError, UsageError
from msante.i18n import N_, _
from msante.text import clean

if TYPE_CHECKING:
    from msante.agenda.prevention import Item
    from msante.agenda.service import Appointment, Occurrence

app = typer.Typer(help=_("The agenda: appointments, and vaccination and screening reminders "
                         "from the French schedule."), no_args_is_help=True)

PersonOpt = Annotated[str | None, typer.Option(help=_("Whose agenda (default: the owner)."))]
IdArg = Annotated[str, typer.Argument(metavar="ID", help=_("Appointment id (or its first "
                                                           "characters)."))]
AtOpt = Annotated[str | None, typer.Option("--at", help=_(
    "Date and time, local: 2026-12-01 14:30 or 01/12/2026 14h30."))]
DurationOpt = Annotated[str | None, typer.Option(help=_("How long: 30m, 1h, 1h30."))]
WhereOpt = Annotated[str | None, typer.Option("--where", help=_("Place."))]
WithOpt = Annotated[str | None, typer.Option("--with", help=_("Health professional."))]
RemindOpt = Annotated[str | None, typer.Option("--remind", help=_(
    "Reminders before the start: 1d,2h (none: empty)."))]
RepeatOpt = Annotated[str | None, typer.Option("--repeat", help=_(
    "daily, weekly, monthly, yearly, or an RFC 5545 rule (FREQ=WEEKLY;COUNT=10)."))]
TzOpt = Annotated[str | None, typer.Option("--tz", help=_(
    "Time zone (default: $MSANTE_TZ, else Europe/Paris)."))]
NoteOpt = Annotated[str | None, typer.Option(help=_("A note."))]
STATUS_LABELS = {"overdue": N_("overdue"), "due": N_("due"), "coming": N_("coming"),
                 "done": N_("done"), "ask-doctor": N_("ask your doctor")}


def _zone(tz: str | None) -> Any:
    from msante.agenda import times

    return times.zone(tz)


@app.command("add")
def add(
    title: Annotated[str, typer.Argument(metavar=_("TITLE"), help=_("What it is."))],
    at: AtOpt = None,
    duration: DurationOpt = "30m",
    where: WhereOpt = None,
    with_: WithOpt = None,
    person: PersonOpt = None,
    remind: RemindOpt = None,
    repeat: RepeatOpt = None,
    tz: TzOpt = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add an appointment.

    Example: msante agenda add "Dentiste" --at "2026-12-03 14:30" --duration 45m --remind 1d,2h
    """
    from msante.agenda import times

    if not at:
        raise UsageError(_("Give the date and time with --at, e.g. --at \"2026-12-01 14:30\"."))
    zone = _zone(tz)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        item = vault.agenda.add(
            who, title, times.moment(at, zone), tz=zone.key,
            duration_min=times.minutes(duration or "30m", _("duration")), location=where,
            professional=with_, reminders=times.reminders(remind), rrule=repeat, note=note)
    _done(item, who.name, json_, _("Added {title}, {when} ({id})."))


def _when(item: Appointment, occurrence: dt.datetime | None = None) -> str:
    return item.local(occurrence).strftime("%Y-%m-%d %H:%M")


def _done(item: Appointment, name: str, json_: bool, message: str) -> None:
    if json_:
        output.print_json(item.to_json(name))
    else:
        output.info(message.format(title=item.title, when=_when(item), id=item.id[:8]))


def _day(text: str | None, zone: Any, end: bool = False) -> dt.datetime | None:
    from msante.agenda import times

    if not text:
        return None
    moment = times.moment(text, zone)
    if not 1900 <= moment.year <= 2200:
        raise UsageError(_("{date} is out of range.").format(date=text))
    return moment + dt.timedelta(days=1) if end and len(text.strip()) <= 10 else moment


@app.command("list")
def list_(
    from_: Annotated[str | None, typer.Option("--from", help=_(
        "From this date (default: now)."))] = None,
    to: Annotated[str | None, typer.Option("--to", help=_(
        "Until this date, included (default: a year later)."))] = None,
    person: Annotated[str | None, typer.Option(help=_("Only this person's (default: "
                                                      "everyone's)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """List appointments, soonest first (each occurrence of a repeating one).

    Example: msante agenda list --from 2026-12-01 --to 2026-12-31
    """
    zone = _zone(None)
    with session.open_vault() as vault:
        who = vault.people.get(person) if person else None
        occurrences = vault.agenda.list(who, _day(from_, zone), _day(to, zone, end=True))
        names = {p.id: p.name for p in vault.people.list()}
    if json_:
        output.print_json([o.appointment.to_json(names.get(o.appointment.person), o.start)
                           for o in occurrences])
        return
    output.table(["Id", _("When"), _("What"), _("Where"), _("With"), _("Person")], [
        [o.appointment.id[:8], _when(o.appointment, o.start), o.appointment.title,
         o.appointment.location or "", o.appointment.professional or "",
         names.get(o.appointment.person, "")] for o in occurrences])


@app.command("show")
def show(ref: IdArg, json_: JsonOpt = False) -> None:
    """Show one appointment.

    Example: msante agenda show 3f2a
    """
    with session.open_vault() as vault:
        item = vault.agenda.get(ref)
        name = vault.people.get(item.person).name
    if json_:
        output.print_json(item.to_json(name))
        return
    output.fields([(_("Title"), item.title), (_("When"), f"{_when(item)} ({item.tz})"),
                   (_("Duration"), f"{item.duration_min} min"),
                   (_("Where"), item.location or "—"), (_("With"), item.professional or "—"),
                   (_("Person"), name),
                   (_("Reminders"), ", ".join(f"{m} min" for m in item.reminders) or "—"),
                   (_("Repeats"), item.rrule or "—"), (_("Note"), item.note or "—"),
                   ("Id", item.id)])


@app.command("edit")
def edit(
    ref: IdArg,
    title: Annotated[str | None, typer.Option(help=_("New title."))] = None,
    at: AtOpt = None,
    duration: DurationOpt = None,
    where: WhereOpt = None,
    with_: WithOpt = None,
    remind: RemindOpt = None,
    repeat: RepeatOpt = None,
    tz: TzOpt = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change an appointment (an empty value clears an optional field).

    Example: msante agenda edit 3f2a --at "2026-12-04 09:00" --where "Cabinet du Parc"
    """
    from msante.agenda import times

    changes: dict[str, Any] = {k: v for k, v in (
        ("title", title), ("location", where), ("professional", with_), ("note", note),
        ("rrule", repeat)) if v is not None}
    with session.open_vault() as vault:
        item = vault.agenda.get(ref)
        zone = _zone(tz or item.tz)
        if tz is not None:
            changes["tz"] = zone.key
        if at is not None:
            changes["start"] = times.moment(at, zone)
        if duration is not None:
            changes["duration_min"] = times.minutes(duration, _("duration"))
        if remind is not None:
            changes["reminders"] = times.reminders(remind)
        if not changes:
            raise UsageError(_("Nothing to change: give --title, --at, --duration, --where, "
                               "--with, --remind, --repeat, --tz or --note."))
        item = vault.agenda.edit(item.id, changes, revision=item.revision)
        name = vault.people.get(item.person).name
    _done(item, name, json_, _("Changed {title}, {when} ({id})."))


@app.command("remove")
def remove(ref: IdArg, json_: JsonOpt = False) -> None:
    """Remove an appointment.

    Example: msante agenda remove 3f2a
    """
    with session.open_vault() as vault:
        item = vault.agenda.remove(ref)
        name = vault.people.get(item.person).name
    _done(item, name, json_, _("Removed {title}, {when} ({id})."))


@app.command("done")
def done(
    item_id: Annotated[str, typer.Argument(metavar=_("ITEM"), help=_(
        "A prevention item's id, as `msante agenda due` shows it."))],
    date: Annotated[str | None, typer.Option(help=_("When it was done (default: "
                                                    "today)."))] = None,
    note: NoteOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Mark a prevention item (a vaccine dose, a screening) done.

    Example: msante agenda done screen_breast:3:1a2b3c4d --date 2026-11-02
    """
    from msante.text import parse_date

    day = parse_date(date, what=_("date")) if date else None
    with session.open_vault() as vault:
        who, rule, dose = vault.agenda.done(item_id, day, note=note)
    if json_:
        output.print_json({"item": item_id, "person": who.name, "rule": rule, "dose": dose,
                           "date": (day or dt.date.today()).isoformat()})
    else:
        output.info(_("Marked done: {item} for {name}.").format(item=item_id, name=who.name))


def _horizon(text: str) -> int:
    raw = text.strip().lower()
    number = raw.rstrip("my")
    if not number.isdigit() or not raw or raw[-1] not in "my" or not 0 < int(number) <= 240:
        raise UsageError(_("Invalid horizon '{text}': expected e.g. 12m or 2y.").format(
            text=text))
    return int(number) * (12 if raw.endswith("y") else 1)


def _item_json(item: Item, name: str) -> dict[str, Any]:
    return item.to_json() | {"person": name}


def _iso(day: dt.date | None) -> str | None:
    return day.isoformat() if day else None


_STYLES = {"overdue": "bold red", "due": "yellow", "coming": "cyan", "done": "green",
           "ask-doctor": "magenta"}


def _print_items(rows: list[tuple[str, Item]], title: str | None = None) -> None:
    """One block per item, grouped by person: status, label, window; why; id to mark done."""
    from rich.markup import escape

    con = output.console()
    if title:
        con.print(f"[bold]{escape(title)}[/]")
    person = None
    for name, item in rows:
        if name != person and not title:
            con.print(f"\n[bold]{escape(name)}[/]")
        person = name
        status = _(STATUS_LABELS.get(item.status, item.status))
        window = _window(item)
        con.print(f"  [{_STYLES.get(item.status, '')}]{escape(status):<12}[/] "
                  f"{escape(item.label)}  [dim]{escape(window)}[/]")
        con.print(f"    {escape(item.condition or item.why)}", highlight=False)
        if item.catch_up and item.status == "overdue":
            con.print(f"    {escape(item.catch_up)}", highlight=False)
        sources = ", ".join(s.id for s in item.source)
        con.print(f"    [dim]{escape(item.id)} · {escape(sources)}[/]", highlight=False)


def _window(item: Item) -> str:
    if item.status == "done" and item.done_on:
        return _("done on {date}").format(date=item.done_on.isoformat())
    if item.due_until and item.due_from != item.due_until:
        return f"{item.due_from.isoformat()} → {item.due_until.isoformat()}"
    return item.due_from.isoformat()


@app.command("due")
def due(
    person: PersonOpt = None,
    all_: Annotated[bool, typer.Option("--all", help=_("Everyone in the vault."))] = False,
    horizon: Annotated[str, typer.Option(help=_(
        "How far ahead to look for what is coming: 12m, 2y."))] = "12m",
    json_: JsonOpt = False,
) -> None:
    """What prevention is overdue, due now or coming, with its rule and source.

    Example: msante agenda due --all --horizon 6m
    """
    months = _horizon(horizon)
    if all_ and person:
        raise UsageError(_("Give --person or --all, not both."))
    with session.open_vault() as vault:
        people = vault.people.list() if all_ else [vault.people.get(person)]
        rows = [(p.name, item) for p in people for item in vault.agenda.due(p,
                                                                           horizon_months=months)]
    if json_:
        output.print_json([_item_json(item, name) for name, item in rows])
    elif rows:
        _print_items(rows)
    else:
        output.info(_("Nothing due."))


@app.command("plan")
def plan(
    person: Annotated[str, typer.Option(help=_("Whose vaccination calendar."))],
    json_: JsonOpt = False,
) -> None:
    """A child's whole vaccination calendar: done, overdue, due and coming.

    Example: msante agenda plan --person "Léo Martin"
    """
    with session.open_vault() as vault:
        who = vault.people.get(person)
        items = vault.agenda.plan(who)
    if json_:
        output.print_json([_item_json(item, who.name) for item in items])
    else:
        _print_items([(who.name, item) for item in items],
                     title=_("Vaccination calendar of {name}").format(name=who.name))


@app.command("export")
def export(
    ics: Annotated[Path, typer.Option("--ics", metavar=_("FILE"), help=_(
        "The iCalendar file to write (new, mode 0600)."))],
    person: Annotated[str | None, typer.Option(help=_(
        "Only this person's (default: everyone's)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Write appointments and due prevention items as iCalendar (RFC 5545).

    Example: msante agenda export --ics agenda.ics
    """
    from msante.agenda.ics import export_ics

    with session.open_vault() as vault:
        who = vault.people.get(person) if person else None
        done_ = export_ics(vault, ics, person=who)
    if json_:
        output.print_json(done_)
        return
    for skipped in done_.get("skipped", []):
        output.info(_("left out {what} {summary}: {reason}").format(
            what=skipped["what"], summary=skipped.get("summary") or "", reason=skipped["reason"]))
    output.info(_("Written to {path}.").format(path=ics))


@app.command("import")
def import_(
    ics: Annotated[Path, typer.Option("--ics", metavar=_("FILE"), help=_(
        "The iCalendar file to read."))],
    person: PersonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import appointments from an iCalendar file; what cannot be read is reported.

    Example: msante agenda import --ics ~/Téléchargements/rendez-vous.ics
    """
    from msante.agenda.ics import import_ics

    with session.open_vault() as vault:
        who = vault.people.get(person)
        report = import_ics(vault, ics, who)
    if json_:
        output.print_json(report)
    else:
        _print_report(report)
    if report["skipped"]:
        raise PartialError(_("Parts of the file were not imported (see above)."))


def _print_report(report: dict[str, Any]) -> None:
    for skipped in report["skipped"]:
        output.info(_("skipped {what} {summary}: {reason}").format(
            what=skipped["what"], summary=skipped.get("summary") or "", reason=skipped["reason"]))
    output.info(_("{added} added, {unchanged} already there, {skipped} skipped.").format(
        added=report["added"], unchanged=report["unchanged"], skipped=len(report["skipped"])))


def remind(
    all_: Annotated[bool, typer.Option("--all", help=_("Everyone in the vault (default: "
                                                       "the owner)."))] = False,
    notify: Annotated[bool, typer.Option("--notify", help=_(
        "Also raise a desktop notification where one is available."))] = False,
    json_: JsonOpt = False,
) -> None:
    """What needs attention today: appointments whose reminder is due, overdue prevention.

    Prints nothing when there is nothing, and exits 0 either way: made for cron or a login
    script.

    Example: msante remind --all --notify
    """
    now = dt.datetime.now(dt.UTC)
    with session.open_vault() as vault:
        people = vault.people.list() if all_ else [vault.people.owner()]
        soon = vault.agenda.reminders_due(now, people)
        overdue = [(p.name, i) for p in people for i in vault.agenda.due(p, horizon_months=0)
                   if i.status == "overdue"]
        names = {p.id: p.name for p in people}
    lines = [_reminder_line(o, names) for o in soon] + [
        _("Overdue for {name}: {label} (since {date}).").format(
            name=name, label=i.label, date=_iso(i.due_until) or "—") for name, i in overdue]
    if json_:
        output.print_json({"appointments": [o.appointment.to_json(
            names.get(o.appointment.person), o.start) for o in soon],
            "overdue": [_item_json(i, name) for name, i in overdue]})
    elif lines:
        print(clean("\n".join(lines), lines=True))
    if notify and lines:
        _notify(lines)


def _reminder_line(occ: Occurrence, names: dict[str, str]) -> str:
    item = occ.appointment
    return _("{when} {title} ({name}){where}").format(
        when=_when(item, occ.start), title=item.title, name=names.get(item.person, ""),
        where=f" — {item.location}" if item.location else "")


def _notify(lines: list[str]) -> None:
    """A desktop notification with notify-send when there is one (silently none else)."""
    import shutil
    import subprocess

    tool = shutil.which("notify-send")
    if tool:
        subprocess.run([tool, "msante", "\n".join(lines[:10])], check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=10)

