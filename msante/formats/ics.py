"""iCalendar (RFC 5545): write events and to-dos into a VCALENDAR, read events back.

This module knows iCalendar, not msante's records: the agenda maps its appointments and
prevention items to the neutral `Event` and `Todo` below and gets `Event`s back. Writing uses
the `icalendar` library, with a VTIMEZONE made from zoneinfo, for the span of the events, for
every zone used. Reading accepts what common calendars write (Google, Outlook, Apple): Windows
zone names, floating and UTC times, all-day events, encodings other than UTF-8 and lines folded
in the middle of a character. What cannot become an event is set aside with the reason.

A repetition rule is kept as the agenda expands it, in local wall time: its UNTIL is a local
time without zone. In a file, RFC 5545 wants UNTIL in UTC when DTSTART has a TZID; the
conversion happens here, both ways (an UNTIL too far to convert, such as 9999-12-31, is kept at
the last representable time). A VTIMEZONE lists the zone's changes over the span the events
need: to a repeating event's last occurrence, at least REPEAT_YEARS past today when the rule has
no end, at most COVER_YEARS past.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar
from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

from msante import __version__
from msante.errors import UsageError
from msante.i18n import N_, _

PRODID = f"-//msante//msante {__version__}//EN"
MAX_BYTES = 20 * 1024 * 1024
REPEAT_YEARS = 20  # how far a VTIMEZONE reaches past today for a rule that never ends
COVER_YEARS = 100  # and at most, past today or the first start, for any rule
_FAR = dt.datetime.max.replace(microsecond=0)
_FOLD = re.compile(rb"\r?\n[ \t]")
_KINDS = {"VTODO": N_("a to-do (VTODO)"), "VJOURNAL": N_("a journal entry (VJOURNAL)"),
          "VFREEBUSY": N_("free/busy time (VFREEBUSY)")}


@dataclass(frozen=True)
class Event:
    """An appointment: aware `start`, IANA `tz`, minutes of duration (0: none given) and of
    reminders before the start (largest first), a rule in local wall time."""

    uid: str
    summary: str
    start: dt.datetime
    tz: str
    duration_min: int
    location: str | None = None
    professional: str | None = None
    note: str | None = None
    rrule: str | None = None
    reminders: tuple[int, ...] = ()
    all_day: bool = False


@dataclass(frozen=True)
class Todo:
    """A to-do with a window of days (`start` to `due`, either may be missing)."""

    uid: str
    summary: str
    due: dt.date | None
    start: dt.date | None = None
    description: str | None = None
    priority: int = 0


@dataclass(frozen=True)
class Skipped:
    """Something of a file that did not become an event, or part of one that was left out."""

    what: str
    uid: str | None
    summary: str | None
    reason: str

    def to_json(self) -> dict[str, str | None]:
        """The stable JSON form (docs/cli.md)."""
        return {"what": self.what, "uid": self.uid, "summary": self.summary,
                "reason": self.reason}


@dataclass
class Parsed:
    """What a file held: its events, and what was set aside."""

    events: list[Event] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


# What the parser or the conversions raise on a property they cannot make sense of.
_UNREADABLE = (ValueError, TypeError, AttributeError, KeyError, IndexError, OverflowError)


class _Skip(Exception):
    """An event that cannot be read, with the reason (translated)."""


# == zones ====================================================================================


def known_zone(name: str) -> bool:
    """Whether `name` is an IANA time zone of this machine's database."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return bool(name)


def iana(tzid: str | None) -> str | None:
    """The IANA zone a TZID names: itself, a Windows zone's, or a vendor-prefixed one's."""
    if not tzid:
        return None
    cleaned = tzid.strip().strip('"').strip("/")
    parts = cleaned.split("/")
    candidates = [cleaned, WINDOWS_TO_OLSON.get(cleaned, "")]
    candidates += ["/".join(parts[i:]) for i in range(1, len(parts))]
    return next((name for name in candidates if name and known_zone(name)), None)


# == writing ==================================================================================


def build(events: Iterable[Event], todos: Iterable[Todo], *, stamp: dt.datetime,
          name: str | None = None) -> bytes:
    """A VCALENDAR holding the events and to-dos, with a VTIMEZONE for every zone used."""
    events, todos = list(events), list(todos)
    cal = icalendar.Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("method", "PUBLISH")
    if name:
        cal.add("x-wr-calname", name)
    for event in events:
        cal.add_component(_vevent(event, stamp))
    for todo in todos:
        cal.add_component(_vtodo(todo, stamp))
    if events:
        cal.add_missing_timezones(*_span(events, stamp))
    return bytes(cal.to_ical())


def _span(events: list[Event], stamp: dt.datetime) -> tuple[dt.date, dt.date]:
    """The days a VTIMEZONE must cover: every start and end, and years ahead for repeats."""
    first = min(e.start.date() for e in events) - dt.timedelta(days=1)
    ends = [_end(e).date() for e in events]
    ends += [_rule_end(e, stamp) for e in events if e.rrule]
    return first, max(ends) + dt.timedelta(days=1)


def _end(event: Event) -> dt.datetime:
    """When the (first) event ends, counted in real time across a DST change."""
    return event.start.astimezone(dt.UTC) + dt.timedelta(minutes=event.duration_min)


def _rule_end(event: Event, stamp: dt.datetime) -> dt.date:
    """The last day a repeating event needs its zone: its UNTIL or last counted occurrence
    within COVER_YEARS, or REPEAT_YEARS past today (or its start) when the rule has no end."""
    base = max(event.start.date(), stamp.date())
    cap = base + dt.timedelta(days=366 * COVER_YEARS)
    rule = (event.rrule or "").upper()
    until = re.search(r"(?:^|;)UNTIL=(\d{8})", rule)
    if until:
        last = min(_day(until[1]) or cap, cap)
    elif re.search(r"(?:^|;)COUNT=", rule):
        last = _last_counted(event, cap)
    else:
        last = base + dt.timedelta(days=366 * REPEAT_YEARS)
    return last + dt.timedelta(days=event.duration_min // 1440 + 1)


def _day(text: str) -> dt.date | None:
    """A YYYYMMDD day, or None when it is no day."""
    try:
        return dt.datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        return None


def _last_counted(event: Event, cap: dt.date) -> dt.date:
    """The last occurrence of a rule with COUNT, or `cap` when it is later or unreadable."""
    from dateutil.rrule import rrulestr

    local = event.start.astimezone(ZoneInfo(event.tz)).replace(tzinfo=None)
    try:
        found = rrulestr(event.rrule or "", dtstart=local).before(
            dt.datetime.combine(cap, dt.time()), inc=True)
    except _UNREADABLE:
        return cap
    return (found or local).date()


def _vevent(event: Event, stamp: dt.datetime) -> icalendar.Event:
    zone = ZoneInfo(event.tz)
    out = icalendar.Event()
    out.add("uid", event.uid)
    out.add("dtstamp", stamp.astimezone(dt.UTC))
    out.add("dtstart", event.start.astimezone(zone))
    out.add("dtend", _end(event).astimezone(zone))
    out.add("summary", event.summary)
    for key, value in (("location", event.location), ("description", _description(event)),
                       ("x-msante-professional", event.professional)):
        if value:
            out.add(key, value)
    if event.rrule:
        out.add("rrule", utc_rule(event.rrule, zone))
    for minutes in event.reminders:
        out.add_component(_valarm(minutes, event.summary))
    return out


def _description(event: Event) -> str:
    """The professional on the first line, then the note."""
    who = [_("With: {professional}").format(professional=event.professional)]
    return "\n".join([*(who if event.professional else []), *([event.note] if event.note else [])])


def _valarm(minutes: int, summary: str) -> icalendar.Alarm:
    alarm = icalendar.Alarm()
    alarm.add("action", "DISPLAY")
    alarm.add("trigger", -dt.timedelta(minutes=minutes))
    alarm.add("description", _("Reminder: {title}").format(title=summary))
    return alarm


def _vtodo(todo: Todo, stamp: dt.datetime) -> icalendar.Todo:
    out = icalendar.Todo()
    out.add("uid", todo.uid)
    out.add("dtstamp", stamp.astimezone(dt.UTC))
    out.add("summary", todo.summary)
    out.add("status", "NEEDS-ACTION")
    due = todo.due
    if todo.start and (due is None or todo.start <= due):
        out.add("dtstart", todo.start)
        if due is not None and due <= todo.start:  # DUE must come after DTSTART (§3.8.2.3)
            due = todo.start + dt.timedelta(days=1)
    if due:
        out.add("due", due)
    if todo.description:
        out.add("description", todo.description)
    if todo.priority:
        out.add("priority", todo.priority)
    return out


def utc_rule(rule: str, zone: ZoneInfo) -> icalendar.vRecur:
    """A stored rule for a file: a local UNTIL (time or day) becomes a UTC time; ValueError
    for a rule that cannot be written (no FREQ, a line break or another control character)."""
    if any(ord(char) < 32 or ord(char) == 127 for char in rule):
        raise ValueError("a repetition rule with a control character")
    recur: icalendar.vRecur = icalendar.vRecur.from_ical(rule)
    if "FREQ" not in recur:
        raise ValueError("a repetition rule without FREQ")
    until = recur.get("UNTIL")
    if until:
        value = until[0]
        if not isinstance(value, dt.datetime):
            value = dt.datetime.combine(value, dt.time())
        if value.tzinfo is None:
            value = value.replace(tzinfo=zone)
        recur["UNTIL"] = [_moved(value, dt.UTC)]
    return recur


def _moved(value: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    """An aware time in another zone; the last representable time when it is too far."""
    try:
        return value.astimezone(zone)
    except OverflowError:
        return _FAR.replace(tzinfo=zone)


def local_rule(recur: icalendar.vRecur, zone: ZoneInfo) -> str:
    """A file's rule as stored: a UTC (or zoned) UNTIL becomes local wall time."""
    copy: Any = icalendar.vRecur(recur)
    until = copy.get("UNTIL")
    if until and isinstance(until[0], dt.datetime) and until[0].tzinfo is not None:
        copy["UNTIL"] = [_moved(until[0], zone).replace(tzinfo=None)]
    return str(copy.to_ical().decode("ascii"))


# == reading ==================================================================================


def read(data: bytes, default_tz: str) -> Parsed:
    """The events of an iCalendar file; UsageError for what is not one."""
    if len(data) > MAX_BYTES:
        raise UsageError(_("This file is too large for a calendar (more than {n} MB).")
                         .format(n=MAX_BYTES // 2**20))
    out = Parsed()
    with warnings.catch_warnings():  # icalendar warns when it guesses a zone: we report
        warnings.simplefilter("ignore")
        for cal in _calendars(decode(data)):
            _Reader(_calendar_zone(cal, default_tz), cal, out).read()
    return out


def decode(data: bytes) -> str:
    """The text of a file: lines unfolded as bytes (a fold may split a character), then
    UTF-8, else Windows-1252, else Latin-1."""
    raw = _FOLD.sub(b"", data.removeprefix(b"\xef\xbb\xbf"))
    for encoding in ("utf-8", "cp1252"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _calendars(text: str) -> list[icalendar.Calendar]:
    """Every VCALENDAR of the text; UsageError when there is none or the text is broken."""
    if not text.strip():
        raise UsageError(_("This file is empty: there is no calendar to import."))
    try:
        found = icalendar.Calendar.from_ical(text, multiple=True)
    except Exception as exc:  # the parser itself slips on some odd input (AttributeError…)
        raise UsageError(_("This is not a valid iCalendar file: {error}").format(
            error=str(exc)[:200])) from None
    calendars = [c for c in found if c.name == "VCALENDAR"]
    if not calendars:
        raise UsageError(_("This is not an iCalendar file: no complete "
                           "BEGIN:VCALENDAR … END:VCALENDAR in it."))
    return calendars


def _calendar_zone(cal: icalendar.Calendar, default_tz: str) -> str:
    """The zone of the calendar's floating and UTC times: its X-WR-TIMEZONE, else ours."""
    return iana(str(cal.get("X-WR-TIMEZONE", ""))) or default_tz


def _text(value: Any) -> str | None:
    """A property's text, or None when absent or blank."""
    if isinstance(value, list):
        value = value[0] if value else None
    text = str(value).strip() if value is not None else ""
    return text or None


def _prop(comp: icalendar.cal.Component, name: str) -> Any:
    """A property of a component (a list when repeated), or None."""
    return comp.get(name)


def _broken(comp: icalendar.cal.Component, name: str) -> bool:
    """Whether the parser found the property unreadable (kept as broken, or dropped)."""
    return any(error[0] == name for error in getattr(comp, "errors", []))


def _one(comp: icalendar.cal.Component, name: str) -> Any:
    """A property that may appear once; _Skip when it is there several times or broken."""
    value = _prop(comp, name)
    if isinstance(value, list):
        raise _Skip(_("its {name} is given more than once").format(name=name))
    if _broken(comp, name) or (value is not None and not hasattr(value, "dt")):
        raise _Skip(_("its {name} cannot be read").format(name=name))
    return value


def _aware(value: dt.date, zone: str) -> dt.datetime:
    """A date (at midnight), a floating time or a zoned time, as an aware time."""
    if not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time(), ZoneInfo(zone))
    return value if value.tzinfo else value.replace(tzinfo=ZoneInfo(zone))


def _made_uid(comp: icalendar.cal.Component) -> str:
    """A UID for an event that has none, the same each time the same event is read."""
    parts = [comp.get(k) for k in ("DTSTART", "DTEND", "DURATION", "SUMMARY", "LOCATION",
                                    "RRULE")]
    seed = "\n".join(p.to_ical().decode() if hasattr(p, "to_ical") else "" for p in parts)
    return hashlib.sha256(seed.encode()).hexdigest()[:32] + "@no-uid.msante"


class _Reader:
    """Reads the components of one VCALENDAR into `out`."""

    def __init__(self, zone: str, cal: icalendar.Calendar, out: Parsed) -> None:
        self.zone, self.cal, self.out = zone, cal, out
        self.cancel = str(cal.get("METHOD", "")).upper() == "CANCEL"
        self.seen = {e.uid for e in out.events}

    def skip(self, what: str, uid: str | None, summary: str | None, reason: str) -> None:
        """Set something aside with the reason."""
        self.out.skipped.append(Skipped(what, uid, summary, reason))

    def read(self) -> None:
        """Every top-level component: events are read, others set aside."""
        for comp in self.cal.subcomponents:
            if comp.name == "VEVENT":
                self.event(comp)
            elif comp.name != "VTIMEZONE":
                kind = _(_KINDS[comp.name]) if comp.name in _KINDS else comp.name
                self.skip(str(comp.name), _text(comp.get("UID")), _text(comp.get("SUMMARY")),
                          _("{kind}: only events (VEVENT) become appointments").format(kind=kind))

    def event(self, comp: icalendar.cal.Component) -> None:
        """One VEVENT, added to the events or set aside."""
        uid, summary = _text(comp.get("UID")), _text(comp.get("SUMMARY"))
        try:
            self._refuse(comp, uid)
            event = self._event(comp, uid or _made_uid(comp), summary or "")
        except _Skip as why:
            self.skip("VEVENT", uid, summary, str(why))
        except _UNREADABLE as exc:
            self.skip("VEVENT", uid, summary, _("it cannot be read: {error}").format(
                error=str(exc)[:200]))
        else:
            self.seen.add(event.uid)
            self.out.events.append(event)

    def _refuse(self, comp: icalendar.cal.Component, uid: str | None) -> None:
        """_Skip for events the agenda does not take."""
        if self.cancel or str(comp.get("STATUS", "")).upper() == "CANCELLED":
            raise _Skip(_("it is cancelled"))
        if "RECURRENCE-ID" in comp:
            raise _Skip(_("it changes one occurrence of a repeating event, which the agenda "
                          "cannot hold: the series is imported as it repeats"))
        if _broken(comp, "DTSTART"):
            raise _Skip(_("its start (DTSTART) cannot be read"))
        if "DTSTART" not in comp:
            raise _Skip(_("it has no start (DTSTART)"))
        if uid and uid in self.seen:
            raise _Skip(_("an earlier event of the file has the same UID"))

    def _event(self, comp: icalendar.cal.Component, uid: str, summary: str) -> Event:
        start_prop = _one(comp, "DTSTART")
        raw = start_prop.dt
        all_day = not isinstance(raw, dt.datetime)
        tz = iana(start_prop.params.get("TZID")) or self.zone
        self._unknown_zone(start_prop, tz, uid, summary)
        start = _aware(raw, tz).astimezone(ZoneInfo(tz))
        duration = _duration(comp, raw, start, tz)
        professional = _text(comp.get("X-MSANTE-PROFESSIONAL"))
        return Event(uid=uid, summary=summary, start=start, tz=tz, duration_min=duration,
                     location=_text(comp.get("LOCATION")), professional=professional,
                     note=_note(_text(comp.get("DESCRIPTION")), professional),
                     rrule=self._rule(comp, tz, uid, summary),
                     reminders=self._reminders(comp, duration, uid, summary), all_day=all_day)

    def _unknown_zone(self, start: Any, tz: str, uid: str, summary: str) -> None:
        """Report a TZID that is neither known nor defined by a VTIMEZONE of the file (the
        parser then leaves the time without zone): it is read in `tz`."""
        tzid = start.params.get("TZID")
        if tzid and iana(tzid) is None and isinstance(start.dt, dt.datetime) \
                and start.dt.tzinfo is None:
            self.skip("TZID", uid, summary, _("unknown time zone {tzid}: read as {tz}").format(
                tzid=tzid, tz=tz))

    def _rule(self, comp: icalendar.cal.Component, tz: str, uid: str,
              summary: str) -> str | None:
        """The event's RRULE as stored; the dates the agenda cannot hold are reported."""
        rule = _prop(comp, "RRULE")
        if _broken(comp, "RRULE"):
            raise _Skip(_("its repetition rule (RRULE) cannot be read"))
        if isinstance(rule, list):
            self.skip("RRULE", uid, summary, _("only the first of its repetition rules is "
                                               "kept"))
            rule = rule[0]
        for name in ("EXDATE", "RDATE"):
            if name in comp and rule is not None:
                self.skip(name, uid, summary, _(
                    "the agenda repeats an appointment without exceptions or extra dates: "
                    "its {name} is ignored").format(name=name))
        return local_rule(rule, ZoneInfo(tz)) if rule is not None else None

    def _reminders(self, comp: icalendar.cal.Component, duration: int, uid: str,
                   summary: str) -> tuple[int, ...]:
        """Minutes before the start of each alarm that counts back from the event."""
        found = set()
        for alarm in _alarms(comp):
            try:
                found.add(_before(alarm, duration))
            except _Skip as why:
                self.skip("VALARM", uid, summary, str(why))
        return tuple(sorted(found, reverse=True))


def _alarms(comp: icalendar.cal.Component) -> Iterator[icalendar.cal.Component]:
    """The event's alarms that do something (not Apple's ACTION:NONE placeholders)."""
    for sub in comp.subcomponents:
        if sub.name == "VALARM" and str(sub.get("ACTION", "")).upper() != "NONE":
            yield sub


def _before(alarm: icalendar.cal.Component, duration: int) -> int:
    """How many minutes before the start an alarm rings; _Skip for those the agenda cannot
    hold (a fixed time, after the start)."""
    trigger = _prop(alarm, "TRIGGER")
    if trigger is None or _broken(alarm, "TRIGGER") or not hasattr(trigger, "dt"):
        raise _Skip(_("an alarm without a readable TRIGGER is ignored"))
    if not isinstance(trigger.dt, dt.timedelta):
        raise _Skip(_("an alarm at a fixed time (absolute TRIGGER) is ignored: reminders "
                      "count back from the start"))
    before = -trigger.dt
    if str(trigger.params.get("RELATED", "START")).upper() == "END":
        before -= dt.timedelta(minutes=duration)
    if before < dt.timedelta(0):
        raise _Skip(_("an alarm after the start is ignored"))
    return int(before.total_seconds() // 60)


def _duration(comp: icalendar.cal.Component, first: dt.date, start: dt.datetime,
              tz: str) -> int:
    """Minutes from DTEND or DURATION; 0 when neither is given (a whole day for a date)."""
    end, length = _one(comp, "DTEND"), _one(comp, "DURATION")
    all_day = not isinstance(first, dt.datetime)
    if end is not None and all_day and not isinstance(end.dt, dt.datetime):
        minutes = int((end.dt - first).days) * 1440
    elif end is not None:
        ends = _aware(end.dt, tz).astimezone(dt.UTC)  # in UTC: a DST change counts
        minutes = int((ends - start.astimezone(dt.UTC)).total_seconds() // 60)
    elif length is not None and isinstance(length.dt, dt.timedelta):
        minutes = int(length.dt.total_seconds() // 60)
    else:
        minutes = 1440 if all_day else 0
    if minutes < 0:
        raise _Skip(_("it ends before it starts"))
    return minutes


def _note(description: str | None, professional: str | None) -> str | None:
    """The description less the professional's line our export put first."""
    if description and professional:
        first, _sep, rest = description.partition("\n")
        if professional in first:
            return rest.strip() or None
    return description


# == checking =================================================================================


def problems(data: bytes) -> list[str]:
    """The RFC 5545 rules a calendar we wrote breaks (empty when it is fine)."""
    out = _line_problems(data)
    cal = icalendar.Calendar.from_ical(data)
    for key in ("VERSION", "PRODID"):
        if key not in cal:
            out.append(f"VCALENDAR has no {key}")
    zones = {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
    for comp in cal.walk():
        out += _component_problems(comp)
        out += [f"{comp.name} uses TZID {tzid} without its VTIMEZONE"
                for tzid in sorted(_tzids(comp) - zones)]
    return out


def _line_problems(data: bytes) -> list[str]:
    """Lines end with CRLF and hold at most 75 octets."""
    lines = data.split(b"\r\n")
    out = [f"line {n} is longer than 75 octets" for n, line in enumerate(lines, 1)
           if len(line) > 75]
    if b"\n" in b"".join(lines) or lines[-1] != b"":
        out.append("a line does not end with CRLF")
    return out


def _tzids(comp: icalendar.cal.Component) -> set[str]:
    """The TZID parameters of the component's own properties."""
    values = [v for value in comp.values() for v in (value if isinstance(value, list)
                                                     else [value])]
    return {str(v.params["TZID"]) for v in values if "TZID" in getattr(v, "params", {})}


def _component_problems(comp: icalendar.cal.Component) -> list[str]:
    """UID, DTSTAMP in UTC, DTSTART, one end; an alarm's ACTION, TRIGGER and DESCRIPTION."""
    out = []
    if comp.name in ("VEVENT", "VTODO"):
        out += [f"{comp.name} has no {key}" for key in ("UID", "DTSTAMP") if key not in comp]
        stamp = _prop(comp, "DTSTAMP")
        if stamp is not None and stamp.dt.utcoffset() != dt.timedelta(0):
            out.append(f"{comp.name} has a DTSTAMP not in UTC")
        end = "DTEND" if comp.name == "VEVENT" else "DUE"
        if end in comp and "DURATION" in comp:
            out.append(f"{comp.name} has both {end} and DURATION")
        if end in comp and "DTSTART" in comp and _prop(comp, end).dt <= _prop(comp, "DTSTART").dt:
            out.append(f"{comp.name} has {end} not after DTSTART")
    if comp.name == "VEVENT" and "DTSTART" not in comp:
        out.append("VEVENT has no DTSTART")
    if comp.name == "VALARM":
        out += [f"VALARM has no {key}" for key in ("ACTION", "TRIGGER") if key not in comp]
        if str(comp.get("ACTION", "")).upper() == "DISPLAY" and "DESCRIPTION" not in comp:
            out.append("a DISPLAY VALARM has no DESCRIPTION")
    return out
