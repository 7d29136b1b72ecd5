"""Times of the agenda: the local time zone, moments typed by a person, durations, reminders
and repetition rules (RFC 5545 RRULE, or an alias such as `weekly`)."""

from __future__ import annotations

import datetime as dt
import os
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from msante import durations
from msante.dates import parse_moment
from msante.errors import UsageError
from msante.i18n import _

DEFAULT_TZ = "Europe/Paris"
REPEAT_ALIASES = {"daily": "FREQ=DAILY", "weekly": "FREQ=WEEKLY", "monthly": "FREQ=MONTHLY",
                  "yearly": "FREQ=YEARLY", "quotidien": "FREQ=DAILY", "hebdo": "FREQ=WEEKLY",
                  "hebdomadaire": "FREQ=WEEKLY", "mensuel": "FREQ=MONTHLY",
                  "annuel": "FREQ=YEARLY"}


def zone(name: str | None = None) -> ZoneInfo:
    """The named IANA zone, else $MSANTE_TZ, else Europe/Paris; UsageError if unknown."""
    key = name or os.environ.get("MSANTE_TZ") or DEFAULT_TZ
    try:
        return ZoneInfo(key)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(_("Unknown time zone '{name}': expected an IANA name such as "
                           "Europe/Paris.").format(name=key)) from None


def moment(text: str, tz: ZoneInfo) -> dt.datetime:
    """A local date and time typed by a person (2026-12-01 14:30, 01/12/2026 14h30, ISO)."""
    return parse_moment(text, tz)


def minutes(text: str, what: str) -> int:
    """`30m`, `1h30`, `2d` (French `2j`), `1w` (`1sem`) as whole minutes (msante.durations)."""
    return durations.minutes(text, what)


MAX_DURATION_MIN = 7 * 1440  # an appointment lasts at most 7 days
MAX_REMINDER_MIN = 60 * 1440  # a reminder comes at most 60 days before
FIRST_YEAR, LAST_YEAR = 1900, 2200


def check_appointment(*, title: str | None = None, start: dt.datetime | None = None,
                      duration_min: int | None = None,
                      reminders: list[int] | None = None) -> None:
    """Refuse what no appointment may hold (a value left None is not checked): the service
    checks every write with it; the CLI (and the TUI's form) before the passphrase."""
    if title is not None and not title.strip():
        raise UsageError(_("An appointment needs a title."))
    if duration_min is not None and not 0 < duration_min <= MAX_DURATION_MIN:
        raise UsageError(_("The duration must be between 1 minute and 7 days."))
    if reminders is not None and any(not 0 <= r <= MAX_REMINDER_MIN for r in reminders):
        raise UsageError(_("A reminder must come at most 60 days before."))
    if start is not None and not FIRST_YEAR <= start.year <= LAST_YEAR:
        raise UsageError(_("{date} is out of range.").format(date=start.date()))


def reminders(text: str | None) -> list[int]:
    """`1d,2h` as minutes before the start, largest first."""
    if not text:
        return []
    values = {minutes(part, _("reminder")) for part in text.split(",") if part.strip()}
    return sorted(values, reverse=True)


# Occurrences of one appointment in one listing: a daily one over the longest window that
# `agenda list` takes (5 years) fits.
MAX_OCCURRENCES = 2000
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
ALLOWED = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "BYSETPOS",
           "WKST"}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_UNTIL_UTC = re.compile(r"UNTIL=(\d{8}T\d{6})Z", re.ASCII)


def repeat_rule(text: str | None, start: dt.datetime) -> str | None:
    """An RRULE value (without `RRULE:`) from an alias or a rule; UsageError if invalid.

    The rule must repeat daily at most and happen within 5 years of the start; a UTC UNTIL
    (the form RFC 5545 requires beside a time zone) is stored in the start's local time, as
    the agenda repeats in local wall time.
    """
    if not text:
        return None
    raw = text.strip()
    rule = REPEAT_ALIASES.get(raw.lower()) or raw.upper().removeprefix("RRULE:")
    rule = _UNTIL_UTC.sub(lambda m: _local_until(m[1], start), rule)
    if "\n" in rule or "\r" in rule or not _first(rule, start):
        raise UsageError(_("Invalid repetition '{text}': use daily, weekly, monthly, yearly "
                           "or an RFC 5545 rule such as FREQ=WEEKLY;BYDAY=MO;COUNT=10.")
                         .format(text=text))
    return rule


def _local_until(value: str, start: dt.datetime) -> str:
    """A UTC UNTIL (20270325T080000) in the start's local wall time."""
    try:
        moment = dt.datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=dt.UTC)
        return "UNTIL=" + moment.astimezone(start.tzinfo).strftime("%Y%m%dT%H%M%S")
    except (ValueError, OverflowError):
        return f"UNTIL={value}Z"  # left as is: the check below refuses it


def _feasible(parts: dict[str, str]) -> bool:
    """Whether the BY parts can ever meet (dateutil would search until the year 9999 for
    "the 30th of February"): a month holds the day; BYSETPOS within a month's weekdays."""
    try:
        months = [int(m) for m in parts["BYMONTH"].split(",")] if "BYMONTH" in parts else \
            list(range(1, 13))
        days = [int(d) for d in parts["BYMONTHDAY"].split(",")] if "BYMONTHDAY" in parts \
            else []
        positions = [int(n) for n in parts["BYSETPOS"].split(",")] if "BYSETPOS" in parts \
            else []
    except ValueError:
        return False
    if any(not 1 <= m <= 12 for m in months) or any(not 1 <= abs(d) <= 31 for d in days):
        return False
    if days and not any(abs(d) <= _MONTH_DAYS[m - 1] for m in months for d in days):
        return False
    return not positions or (parts["FREQ"] in ("MONTHLY", "YEARLY") and "BYDAY" in parts
                             and all(1 <= abs(n) <= 4 for n in positions))


def _first(rule: str, start: dt.datetime) -> bool:
    """Whether the rule is one dateutil reads, at most daily, with an occurrence in 5 years."""
    from dateutil.rrule import rrule, rrulestr

    parts = dict(p.partition("=")[::2] for p in rule.split(";"))
    if parts.get("FREQ") not in FREQUENCIES or not set(parts) <= ALLOWED or not _feasible(
            parts):
        return False
    local = start.replace(tzinfo=None)
    try:
        recurrence = rrulestr(rule, dtstart=local)
        if not isinstance(recurrence, rrule):
            return False
        probe = recurrence.replace(until=local.replace(year=local.year + 5), count=None)
        return next(iter(probe), None) is not None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return False


def occurrences(start_utc: dt.datetime, tz: ZoneInfo, rule: str | None, begin: dt.datetime,
                end: dt.datetime, limit: int = MAX_OCCURRENCES) -> list[dt.datetime]:
    """The item's starts (UTC) in [begin, end), expanded in local wall time (DST-safe)."""
    if not rule:
        return [start_utc] if begin <= start_utc < end else []
    from dateutil.rrule import rrule, rruleset, rrulestr

    local = start_utc.astimezone(tz).replace(tzinfo=None)
    recurrence = rruleset()
    try:
        parsed = rrulestr(rule, dtstart=local)
        if not isinstance(parsed, rrule):
            raise ValueError(rule)
        recurrence.rrule(parsed)
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
        return occurrences(start_utc, tz, None, begin, end)  # an unreadable rule: once
    recurrence.rdate(local)  # RFC 5545: the start is always the first occurrence
    lo = begin.astimezone(tz).replace(tzinfo=None)
    hi = end.astimezone(tz).replace(tzinfo=None)
    out = []
    for when in recurrence.xafter(lo, count=limit, inc=True):
        if when >= hi:
            break
        out.append(when.replace(tzinfo=tz).astimezone(dt.UTC))
    return out
