"""`msante agenda` and `msante remind`: appointments, prevention reminders, iCalendar."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.agenda_view import horizon_months, item_json, print_items
from msante.cli.options import (
    AllOpt,
    ForceOpt,
    FromAlias,
    PersonOpt,
    SinceOpt,
    ToAlias,
    UntilOpt,
    check_in,
    check_out,
    check_person_choice,
    one_of,
    people_for,
)
from msante.cli.vault_cmds import JsonOpt
from msante.errors import PartialError, UsageError
from msante.i18n import _

if TYPE_CHECKING:
    from msante.agenda.prevention import Item
    from msante.agenda.service import Appointment, Occurrence

app = typer.Typer(help=_("The agenda: appointments, and vaccination and screening reminders "
                         "from the French schedule."), no_args_is_help=True)

WhoseOpt = Annotated[str | None, typer.Option(help=_("Whose agenda (default: the owner)."))]
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
    person: WhoseOpt = None,
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
    zone = _zone(tz)  # every typed value is read before the passphrase is asked
    start = times.moment(at, zone)
    minutes = times.minutes(duration or "30m", _("duration"))
    alarms, rule = times.reminders(remind), times.repeat_rule(repeat, start)
    times.check_appointment(title=title, start=start, duration_min=minutes, reminders=alarms)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        item = vault.agenda.add(
            who, title, start, tz=zone.key, duration_min=minutes, location=where,
            professional=with_, reminders=alarms, rrule=rule, note=note)
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
    from msante.dates import has_time

    if not text:
        return None
    moment = times.moment(text, zone)
    if not times.FIRST_YEAR <= moment.year <= times.LAST_YEAR:
        raise UsageError(_("{date} is out of range.").format(date=text))
    return moment + dt.timedelta(days=1) if end and not has_time(text) else moment


DEFAULT_DAYS = 90  # the default window of `agenda list`
MAX_YEARS = 5  # the longest window (a daily appointment: 1,827 occurrences at most)


def _period(since: str | None, until: str | None) -> tuple[dt.datetime, dt.datetime]:
    """The period of `agenda list`: from --since (default: now) for 90 days, or to --until."""
    zone = _zone(None)
    start = _day(since, zone) or dt.datetime.now(zone)
    end = _day(until, zone, end=True) or start + dt.timedelta(days=DEFAULT_DAYS)
    if end <= start:
        raise UsageError(_("--until is before --since."))
    if end - start > dt.timedelta(days=366 * MAX_YEARS):
        raise UsageError(_("A listing covers at most {n} years: narrow --since and --until.")
                         .format(n=MAX_YEARS))
    return start, end


LimitOpt = Annotated[int, typer.Option(min=0, max=100_000, help=_(
    "At most this many (0: all)."))]


@app.command("list")
def list_(
    since: SinceOpt = None,
    until: UntilOpt = None,
    person: PersonOpt = None,
    all_: AllOpt = False,
    limit: LimitOpt = 20,
    json_: JsonOpt = False,
    from_: FromAlias = None,
    to: ToAlias = None,
) -> None:
    """List appointments, soonest first (each occurrence of a repeating one), for 90 days.

    Example: msante agenda list --since 2026-12-01 --until 31/12/2026 --all
    """
    start, end = _period(one_of(since, from_, "--since"), one_of(until, to, "--until"))
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        people = people_for(vault, person, all_)
        occurrences = [o for p in people for o in vault.agenda.list(p, start, end)]
        occurrences.sort(key=lambda o: (o.start, o.appointment.title))
        names = {p.id: p.name for p in people}
    shown = occurrences[:limit] if limit else occurrences
    _print_occurrences(shown, names, json_)
    if len(shown) < len(occurrences):
        output.info(_("… {n} more; use --until or --limit.").format(
            n=len(occurrences) - len(shown)))


def _print_occurrences(occurrences: list[Occurrence], names: dict[str, str],
                       json_: bool) -> None:
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
    if tz is not None:
        changes["tz"] = _zone(tz).key
    if duration is not None:
        changes["duration_min"] = times.minutes(duration, _("duration"))
    if remind is not None:
        changes["reminders"] = times.reminders(remind)
    times.check_appointment(  # before the passphrase; the start is placed in the item's zone
        title=title, start=times.moment(at, _zone(tz)) if at is not None else None,
        duration_min=changes.get("duration_min"), reminders=changes.get("reminders"))
    if not changes and at is None:
        raise UsageError(_("Nothing to change: give --title, --at, --duration, --where, "
                           "--with, --remind, --repeat, --tz or --note."))
    with session.open_vault() as vault:
        item = vault.agenda.get(ref)
        if at is not None:
            changes["start"] = times.moment(at, _zone(tz or item.tz))
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
    product: Annotated[str | None, typer.Option(help=_(
        "For a vaccine dose: the vaccine given (e.g. Infanrix hexa)."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Mark a prevention item (a vaccine dose, a screening) done.

    The dose becomes a vaccination of the profile (the test, a screening), so that
    `profile show`, the summary, the emergency card and the FHIR export list it.

    Example: msante agenda done infant_hexa:1:1a2b3c4d --date 2026-11-02 --product Hexyon
    """
    from msante.agenda.prevention import parse_item_id
    from msante.text import parse_date

    day = parse_date(date, what=_("date")) if date else None
    if parse_item_id(item_id) is None:  # read before the passphrase, as the date is
        raise UsageError(_("'{id}' is not a prevention item id (see msante agenda due).")
                         .format(id=item_id))
    if day is not None and day > dt.date.today():
        raise UsageError(_("{date} is not a day it could have been done.").format(date=day))
    with session.open_vault() as vault:
        who, rule, dose = vault.agenda.done(item_id, day, note=note, product=product)
    if json_:
        output.print_json({"item": item_id, "person": who.name, "rule": rule, "dose": dose,
                           "date": (day or dt.date.today()).isoformat()})
    else:
        output.info(_("Marked done: {item} for {name}.").format(item=item_id, name=who.name))


@app.command("due")
def due(
    person: PersonOpt = None,
    all_: AllOpt = False,
    horizon: Annotated[str, typer.Option(help=_(
        "How far ahead to look for what is coming: 12mo, 2y (12mois, 2a)."))] = "12mo",
    json_: JsonOpt = False,
) -> None:
    """What prevention is overdue, due now or coming, with its rule and source.

    Example: msante agenda due --all --horizon 6mo
    """
    months = horizon_months(horizon)
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        people = people_for(vault, person, all_)
        rows = [(p.name, item) for p in people for item in vault.agenda.due(p,
                                                                           horizon_months=months)]
    if json_:
        output.print_json([item_json(item, name) for name, item in rows])
    elif rows:
        print_items(rows)
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
        output.print_json([item_json(item, who.name) for item in items])
    else:
        print_items([(who.name, item) for item in items],
                     title=_("Vaccination calendar of {name}").format(name=who.name))


@app.command("export")
def export(
    ics: Annotated[Path, typer.Option("--ics", metavar=_("FILE"), help=_(
        "The iCalendar file to write (new, mode 0600)."))],
    person: PersonOpt = None,
    all_: AllOpt = False,
    force: ForceOpt = False,
    json_: JsonOpt = False,
) -> None:
    """Write appointments and due prevention items as iCalendar (RFC 5545).

    Example: msante agenda export --ics agenda.ics --all
    """
    from msante.agenda.ics import export_ics

    check_person_choice(person, all_)
    check_out(ics, force)
    with session.open_vault() as vault:
        who = None if all_ else vault.people.get(person)
        done_ = export_ics(vault, ics, person=who, overwrite=force)
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
    person: WhoseOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Import appointments from an iCalendar file; what cannot be read is reported.

    Example: msante agenda import --ics ~/Téléchargements/rendez-vous.ics
    """
    from msante.agenda.ics import import_ics

    check_in(ics)
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
    all_: AllOpt = False,
    notify: Annotated[bool, typer.Option("--notify", help=_(
        "Also raise a desktop notification where one is available."))] = False,
    json_: JsonOpt = False,
) -> None:
    """What needs attention today: appointments whose reminder is due, overdue prevention.

    Prints nothing when there is nothing, and exits 0 either way, even when the vault is
    locked (one line on stderr then): made for cron or a login script. To get reminders while
    the vault would be locked, keep the agent running ('msante unlock --timeout 7d', each
    use restarts its idle time) or point MSANTE_PASSPHRASE_FILE at a file that only this
    user can read (chmod 600).

    Example: msante remind --all --notify
    """
    from msante.errors import LockedError

    try:
        with session.open_vault() as vault:
            people = vault.people.list() if all_ else [vault.people.owner()]
            soon, overdue = _attention(vault, people)
    except LockedError:
        output.info(_("msante remind: the vault is locked, no reminders this time (see "
                      "'msante remind --help')."))
        return
    names = {p.id: p.name for p in people}
    lines = [_reminder_line(o, names) for o in soon] + [
        _("Overdue for {name}: {label} ({since}).").format(
            name=name, label=i.label, since=i.since_text()) for name, i in overdue]
    if json_:
        output.print_json({"appointments": [o.appointment.to_json(
            names.get(o.appointment.person), o.start) for o in soon],
            "overdue": [item_json(i, name) for name, i in overdue]})
    elif lines:
        output.echo("\n".join(lines))
    if notify and lines:
        _notify(lines)


def _attention(vault: Any, people: list[Any]) -> tuple[list[Occurrence], list[tuple[str, Item]]]:
    """The occurrences whose reminder is due now, and the overdue prevention items."""
    soon = vault.agenda.reminders_due(dt.datetime.now(dt.UTC), people)
    overdue = [(p.name, i) for p in people for i in vault.agenda.due(p, horizon_months=0)
               if i.status == "overdue"]
    return soon, overdue


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

