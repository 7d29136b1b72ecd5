"""Durations typed by a person: one reader and one error message for every command (unlock
--timeout, doc purge --older-than, agenda --duration, --remind and --horizon) and the TUI.

A duration is numbers with units, largest first, each unit once: `90s`, `15m`, `1h30` (the
minutes after hours may go without their unit), `2h30m`, `1d2h`, `3w`, `6mo`, `1y`. The units
are read in English and in French, whatever the language: seconds `s`/`sec`, minutes
`m`/`min`/`mn`, hours `h`/`heure`, days `d`/`j`/`jour`, weeks `w`/`sem`/`semaine`, months
`mo`/`mois`, years `y`/`a`/`an`/`année` (plural words too). `m` is always minutes, `s` always
seconds: months are `mo` or `mois`, weeks `w` or `sem`. Where a fixed length is needed, a month
counts 30 days and a year 365 days.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

from msante.errors import UsageError
from msante.i18n import _, ngettext

MINUTE, HOUR, DAY = 60, 3600, 86400
MONTH_DAYS, YEAR_DAYS = 30, 365

# unit word → (rank: larger units first, calendar months, seconds)
_WORDS: dict[tuple[str, ...], tuple[int, int, int]] = {
    ("y", "yr", "yrs", "year", "years", "a", "an", "ans", "année", "années", "annee",
     "annees"): (6, 12, 0),
    ("mo", "mos", "month", "months", "mois"): (5, 1, 0),
    ("w", "wk", "wks", "week", "weeks", "sem", "semaine", "semaines"): (4, 0, 7 * DAY),
    ("d", "day", "days", "j", "jour", "jours"): (3, 0, DAY),
    ("h", "hr", "hrs", "hour", "hours", "heure", "heures"): (2, 0, HOUR),
    ("m", "min", "mins", "minute", "minutes", "mn"): (1, 0, MINUTE),
    ("s", "sec", "secs", "second", "seconds", "seconde", "secondes"): (0, 0, 1),
}
UNITS = {word: value for words, value in _WORDS.items() for word in words}
_PART = re.compile(r"([0-9]+)([^\W\d_]*)")
MAX_LENGTH = 40


class Duration(NamedTuple):
    """A typed duration: calendar months (a year is 12) and a fixed part in seconds."""

    months: int
    seconds: int

    def fixed_seconds(self) -> int:
        """The whole duration in seconds, a month counting 30 days and a year 365."""
        years, months = divmod(self.months, 12)
        return (years * YEAR_DAYS + months * MONTH_DAYS) * DAY + self.seconds


def invalid(text: str, what: str) -> UsageError:
    """The one message for a duration that cannot be read."""
    return UsageError(_("Invalid {what} '{text}': expected a duration such as 90s, 15m, 1h30, "
                        "2d (2j), 3w (3sem), 6mo (6mois) or 1y (1a).")
                      .format(what=what, text=text))


def parse(text: str, what: str, *, bare_seconds: bool = False) -> Duration:
    """Read a duration; a number alone is seconds if `bare_seconds`; UsageError otherwise."""
    raw = "".join(text.split()).lower()
    if not raw or len(raw) > MAX_LENGTH:
        raise invalid(text, what)
    if bare_seconds and raw.isascii() and raw.isdigit():
        return Duration(0, int(raw))
    months = seconds = end = 0
    rank = 7
    for match in _PART.finditer(raw):
        if match.start() != end:
            raise invalid(text, what)
        end = match.end()
        unit = match[2] or ("m" if rank == 2 and end == len(raw) else "")
        if unit not in UNITS or UNITS[unit][0] >= rank:
            raise invalid(text, what)
        rank, in_months, in_seconds = UNITS[unit]
        months += int(match[1]) * in_months
        seconds += int(match[1]) * in_seconds
    if end != len(raw):
        raise invalid(text, what)
    return Duration(months, seconds)


def seconds(text: str, what: str, *, low: int, high: int, bare_seconds: bool = False) -> int:
    """A duration in seconds, between `low` and `high` seconds (included)."""
    total = parse(text, what, bare_seconds=bare_seconds).fixed_seconds()
    _check_range(total, text, what, low, high)
    return total


def minutes(text: str, what: str, *, low: int = 0, high: int | None = None) -> int:
    """A duration in whole minutes, between `low` and `high` minutes (included, if given)."""
    total = parse(text, what).fixed_seconds()
    if high is not None:
        _check_range(total, text, what, low * MINUTE, high * MINUTE)
    if total % MINUTE:
        raise UsageError(_("The {what} '{text}' must be whole minutes (seconds are s; weeks "
                           "are w or sem).").format(what=what, text=text))
    return total // MINUTE


def months(text: str, what: str, *, high: int) -> int:
    """A horizon in calendar months (a part in weeks or days rounds up to a month), between
    one day and `high` months."""
    duration = parse(text, what)
    total = duration.months + math.ceil(duration.seconds / (MONTH_DAYS * DAY))
    fixed = duration.fixed_seconds()
    if fixed < DAY or total > high:
        raise UsageError(_("The {what} '{text}' must be between 1 day and {high} (months are "
                           "mo or mois, as in 6mo or 6mois; m is minutes).").format(
            what=what, text=text, high=_unit_words(high, 5)))
    return total


def out_of_range(text: str, what: str, low: int, high: int) -> UsageError:
    """The one message for a duration too short or too long (limits in seconds)."""
    return UsageError(_("The {what} '{text}' must be between {low} and {high}.").format(
        what=what, text=text, low=_words(low), high=_words(high)))


def _check_range(total: int, text: str, what: str, low: int, high: int) -> None:
    if not low <= total <= high:
        raise out_of_range(text, what, low, high)


def _words(total: int) -> str:
    """A number of seconds in the largest unit that divides it (weeks as days): '7 days'."""
    for size, rank in ((YEAR_DAYS * DAY, 6), (DAY, 3), (HOUR, 2), (MINUTE, 1)):
        if total and total % size == 0:
            return _unit_words(total // size, rank)
    return _unit_words(total, 0)


def _unit_words(n: int, rank: int) -> str:
    if rank == 5 and n % 12 == 0:
        n, rank = n // 12, 6
    forms = {
        0: ngettext("{n} second", "{n} seconds", n), 1: ngettext("{n} minute", "{n} minutes", n),
        2: ngettext("{n} hour", "{n} hours", n), 3: ngettext("{n} day", "{n} days", n),
        4: ngettext("{n} week", "{n} weeks", n), 5: ngettext("{n} month", "{n} months", n),
        6: ngettext("{n} year", "{n} years", n)}
    return forms[rank].format(n=n)
