"""Dates and times typed by a person: one parser and one error message for every command and
every form.

A day is ISO `2026-12-01` or French `01/12/2026` (day and month of one or two digits). Where a
time is meant it may follow, after a space or a `T`: `14:30`, `14h30`, `14h`, or ISO with
seconds and an offset (`2026-12-01T14:30:00+01:00`). The TUI's forms call these functions too.
"""

from __future__ import annotations

import datetime as dt
import re
from datetime import tzinfo

from msante.errors import UsageError
from msante.i18n import _

_DAY = (r"(?:(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"
        r"|(?P<d2>\d{1,2})/(?P<m2>\d{1,2})/(?P<y2>\d{4}))")
_TIME = r"(?P<H>\d{1,2})[:hH](?:(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.\d{1,6})?)?)?"
_OFFSET = r"(?P<tz>Z|[+-]\d{2}:?\d{2})?"
_DAY_ONLY = re.compile(_DAY, re.ASCII)
_MOMENT = re.compile(_DAY + r"(?:(?:\s+|T)" + _TIME + _OFFSET + r")?", re.ASCII)


def invalid(text: str, what: str, *, with_time: bool = False) -> UsageError:
    """The one message for a date (or date and time) that cannot be read."""
    if with_time:
        return UsageError(_("Invalid {what} '{text}': expected a date such as 2026-12-01 or "
                            "01/12/2026, with a time if needed (2026-12-01 14:30, 01/12/2026 "
                            "14h30).").format(what=what, text=text))
    return UsageError(_("Invalid {what} '{text}': expected a date such as 2026-12-01 or "
                        "01/12/2026.").format(what=what, text=text))


def parse_day(text: str, *, what: str | None = None) -> dt.date:
    """A calendar day, ISO or French; UsageError with the one message otherwise."""
    label = what or _("date")
    match = _DAY_ONLY.fullmatch(text.strip())
    if match is None:
        raise invalid(text, label)
    try:
        return _day_of(match)
    except ValueError:
        raise invalid(text, label) from None


def parse_moment(text: str, tz: tzinfo | None = None, *, what: str | None = None) -> dt.datetime:
    """A day with an optional time (midnight without one), aware: in `tz` (default: the
    local zone) unless the text gives an offset; UsageError with the one message otherwise."""
    label = what or _("date")
    match = _MOMENT.fullmatch(text.strip())
    if match is None:
        raise invalid(text, label, with_time=True)
    try:
        moment = dt.datetime.combine(_day_of(match), _time_of(match))
        if match.group("tz"):
            return moment.replace(tzinfo=_offset(match.group("tz")))
        return moment.replace(tzinfo=tz) if tz is not None else moment.astimezone()
    except (ValueError, OverflowError):
        raise invalid(text, label, with_time=True) from None


def has_time(text: str) -> bool:
    """Whether a typed date also gives a time of day (`2026-12-01 14:30`)."""
    match = _MOMENT.fullmatch(text.strip())
    return bool(match and match.group("H"))


def _day_of(match: re.Match[str]) -> dt.date:
    if match.group("y"):
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    return dt.date(int(match["y2"]), int(match["m2"]), int(match["d2"]))


def _time_of(match: re.Match[str]) -> dt.time:
    hour, minute, second = (int(match[g]) if match[g] else 0 for g in ("H", "M", "S"))
    return dt.time(hour, minute, second)


def _offset(text: str) -> dt.tzinfo:
    if text == "Z":
        return dt.UTC
    sign = -1 if text[0] == "-" else 1
    digits = text[1:].replace(":", "")
    return dt.timezone(sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
