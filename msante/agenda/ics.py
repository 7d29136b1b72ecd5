"""The iCalendar mapping of the agenda: appointments and prevention items out, events in.

Export writes each appointment as a VEVENT whose UID is the one it was imported with, else
`<record id>@msante`, and each prevention item that is due or overdue as a VTODO (DUE and
DTSTART as dates, STATUS:NEEDS-ACTION) whose UID is `<item id>@msante`: stable across exports,
so a calendar that reads a newer file updates the to-do instead of adding a second one.
Without a person it covers everyone in the vault, each summary followed by the person's name
when there are several; a stored rule that cannot be written (a line break in it) is left out
of its event and reported in `skipped`. Import reads the events of any calendar
(msante.formats.ics) into one person's appointments, in one transaction audited as
`agenda.import`; an event whose UID the person already has (or one of our own exports'
`<id>@msante`) is counted unchanged: the appointment in the vault wins. An alarm earlier
than the agenda keeps (MAX_REMINDER_MIN) is reported and left out; its event is imported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from msante.agenda import times
from msante.errors import NotFoundError, UsageError
from msante.formats import ics
from msante.i18n import _
from msante.people import Person

if TYPE_CHECKING:
    from msante.agenda.prevention import Item
    from msante.agenda.service import Appointment
    from msante.api import Vault

UID_SUFFIX = "@msante"
EXPORTED = ("overdue", "due")
DEFAULT_DURATION = 30
MAX_REMINDER_MIN = 60 * 1440  # the earliest reminder the agenda keeps (agenda.service)
FIRST, LAST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC), dt.datetime(2201, 1, 1, tzinfo=dt.UTC)
Json = dict[str, Any]


# == export ===================================================================================


def export_ics(vault: Vault, path: Path, person: Person | None = None,
               today: dt.date | None = None, *, overwrite: bool = False) -> Json:
    """Write the appointments and due prevention items of `person` (default: everyone) to a
    new 0600 .ics file, audited as `agenda.export`; what was written."""
    people = [person] if person else vault.people.list()
    named = {p.id: p.name for p in people} if len(people) > 1 else {}
    skipped: list[ics.Skipped] = []
    events = [_event(a, named.get(a.person), skipped) for a in _appointments(vault, person)]
    todos = [_todo(item, named.get(who.id)) for who in people
             for item in vault.agenda.due(who, today or dt.date.today())
             if item.status in EXPORTED]
    data = ics.build(events, todos, stamp=dt.datetime.now(dt.UTC), name=_calendar_name(person))
    problems = ics.problems(data)
    if problems:  # a bug of ours: never write a calendar that breaks RFC 5545
        raise RuntimeError("; ".join(problems))
    vault.store.export(path, data, "agenda.export", person=person.id if person else None,
                       detail={"file": path.name, "events": len(events), "todos": len(todos)},
                       overwrite=overwrite)
    return {"file": str(path), "person": person.name if person else None,
            "events": len(events), "todos": len(todos),
            "skipped": [s.to_json() for s in skipped]}


def _appointments(vault: Vault, person: Person | None) -> list[Appointment]:
    """Every appointment of the person (or of everyone) once, by first start."""
    seen: dict[str, Appointment] = {}
    for occurrence in vault.agenda.list(person, FIRST, LAST):
        seen.setdefault(occurrence.appointment.id, occurrence.appointment)
    return sorted(seen.values(), key=lambda a: (a.starts_at, a.id))


def _titled(title: str, name: str | None) -> str:
    """The title, followed by whose it is when the calendar covers several people."""
    return f"{title} ({name})" if name else title


def _event(item: Appointment, name: str | None, skipped: list[ics.Skipped]) -> ics.Event:
    uid, summary = item.uid or f"{item.id}{UID_SUFFIX}", _titled(item.title, name)
    return ics.Event(
        uid=uid, summary=summary, start=item.start, tz=item.tz,
        duration_min=item.duration_min, location=item.location,
        professional=item.professional, note=item.note,
        rrule=_writable_rule(item, uid, summary, skipped), reminders=tuple(item.reminders))


def _writable_rule(item: Appointment, uid: str, summary: str,
                   skipped: list[ics.Skipped]) -> str | None:
    """The stored rule, or None (reported) when it cannot be written into a valid file."""
    if not item.rrule:
        return None
    try:
        ics.utc_rule(item.rrule, ZoneInfo(item.tz))
    except (ValueError, TypeError):
        skipped.append(ics.Skipped("RRULE", uid, summary, _(
            "its repetition rule cannot be written to a calendar file and is left out: "
            "{rule}").format(rule=item.rrule.encode("unicode_escape").decode("ascii"))))
        return None
    return item.rrule


def _todo(item: Item, name: str | None) -> ics.Todo:
    sources = item.sources_text()
    text = [item.why, item.catch_up or "",
            _("Source: {source}").format(source=sources) if sources else ""]
    return ics.Todo(uid=f"{item.id}{UID_SUFFIX}", summary=_titled(item.label, name),
                    due=item.due_until, start=item.due_from,
                    description="\n".join(line for line in text if line) or None,
                    priority=1 if item.status == "overdue" else 5)


def _calendar_name(person: Person | None) -> str:
    return f"msante – {person.name}" if person else "msante"


# == import ===================================================================================


class _NothingAdded(Exception):
    """Roll back a transaction in which no event could be added."""


def import_ics(vault: Vault, path: Path, person: Person) -> Json:
    """Add the events of an .ics file as the person's appointments; what was done."""
    parsed = ics.read(_read(path), times.zone().key)
    vault.people.check_writable(person)
    events, repeated = _once(parsed.events)
    known = _known(vault, person, [e.uid for e in events])
    new = [e for e in events if e.uid not in known]
    report: Json = {"file": str(path), "person": person.name, "added": 0,
                    "unchanged": len(events) - len(new),
                    "skipped": [s.to_json() for s in [*parsed.skipped, *repeated]]}
    if new:
        _write(vault, person, new, report, path.name)
    return report


def _once(events: list[ics.Event]) -> tuple[list[ics.Event], list[ics.Skipped]]:
    """The events less those that repeat an earlier one (two events without a UID with the
    same start, end, summary and place get the same made-up UID), each reported."""
    seen: set[str] = set()
    kept, repeated = [], []
    for event in events:
        if event.uid in seen:
            repeated.append(ics.Skipped("VEVENT", None, event.summary, _(
                "it is the same as an earlier event of the file")))
        else:
            seen.add(event.uid)
            kept.append(event)
    return kept, repeated


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise NotFoundError(_("No file {path}.").format(path=path)) from None
    except OSError as exc:
        raise UsageError(_("Cannot read {path}: {error}").format(
            path=path, error=exc.strerror)) from None


def _known(vault: Vault, person: Person, uids: list[str]) -> set[str]:
    """The UIDs the person has already: imported ones, and our own `<id>@msante`."""
    known = set(vault.agenda.by_uid(person, uids))
    ours = {uid.removesuffix(UID_SUFFIX): uid for uid in uids
            if uid.endswith(UID_SUFFIX) and uid not in known}
    return known | {ours[record] for record in _own(vault, person, list(ours))}


def _own(vault: Vault, person: Person, records: list[str]) -> set[str]:
    """Those of the record ids that are the person's appointments, removed ones too (so that
    importing an older export does not bring them back); a query per 500 ids."""
    from msante.vault.records import known_ids

    return known_ids(vault.store.conn, "agenda_items", person.id, records)


def _write(vault: Vault, person: Person, events: list[ics.Event], report: Json,
           source: str) -> None:
    """Add the events in one audited transaction; those the agenda refuses are reported."""
    try:
        with vault.store.write() as tx:
            for event in events:
                try:
                    _add(vault, tx, person, _kept_alarms(event, report))
                except UsageError as exc:
                    report["skipped"].append(ics.Skipped(
                        "VEVENT", event.uid, event.summary, exc.message).to_json())
                    continue
                report["added"] += 1
            if not report["added"]:
                raise _NothingAdded
            vault.store.log(tx, "agenda.import", person=person.id, detail={
                "file": source, "added": report["added"], "unchanged": report["unchanged"],
                "skipped": len(report["skipped"])})
    except _NothingAdded:
        pass


def _kept_alarms(event: ics.Event, report: Json) -> ics.Event:
    """The event less the alarms earlier than the agenda keeps, each reported."""
    kept = tuple(m for m in event.reminders if m <= MAX_REMINDER_MIN)
    for minutes in sorted(set(event.reminders) - set(kept), reverse=True):
        report["skipped"].append(ics.Skipped("VALARM", event.uid, event.summary, _(
            "an alarm {days} days before the start is ignored: reminders come at most "
            "{limit} days before").format(days=minutes // 1440, limit=MAX_REMINDER_MIN // 1440),
        ).to_json())
    return dataclasses.replace(event, reminders=kept) if kept != event.reminders else event


def _add(vault: Vault, tx: Any, person: Person, event: ics.Event) -> str:
    """One event as an appointment (an event without an end lasts the default 30 minutes)."""
    return vault.agenda.add_in(
        tx, person, event.summary or _("(untitled)"), event.start, tz=event.tz,
        duration_min=event.duration_min or DEFAULT_DURATION, location=event.location,
        professional=event.professional, reminders=list(event.reminders), rrule=event.rrule,
        note=event.note, uid=event.uid, provenance="ics")
