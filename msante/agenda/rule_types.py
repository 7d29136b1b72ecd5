"""The building blocks of a prevention rule: calendar spans, texts in two languages, sources,
doses and their late-start schedule, fixed-age repeats, campaigns and waivers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

from msante import i18n


@dataclass(frozen=True)
class Span:
    """A calendar duration in years, months and days (`P1Y6M`, `P2W`)."""

    years: int = 0
    months: int = 0
    days: int = 0

    def after(self, day: dt.date) -> dt.date:
        """`day` moved forward by the span (a day missing from the month becomes the next 1st)."""
        return _shift(day, self.years * 12 + self.months, self.days)

    def before(self, day: dt.date) -> dt.date:
        """`day` moved back by the span."""
        return _shift(day, -(self.years * 12 + self.months), -self.days)


def _shift(day: dt.date, months: int, days: int) -> dt.date:
    total = day.year * 12 + day.month - 1 + months
    year, month = divmod(total, 12)
    try:
        moved = dt.date(year, month + 1, day.day)
    except ValueError:
        moved = dt.date(year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return moved + dt.timedelta(days=days)


@dataclass(frozen=True)
class Text:
    """A text shown to people, in English and French."""

    en: str
    fr: str

    def get(self) -> str:
        """The text in the language in use."""
        return self.fr if i18n.current() == "fr" else self.en


class Source(NamedTuple):
    """A source cited by rules: its id (S1…, MS2025…), title, addresses and what it says; an
    official one (the Ministry's calendar, HAS, INCa, ameli) also its publisher and year."""

    id: str
    title: str
    urls: tuple[str, ...]
    note: str = ""
    publisher: str = ""
    year: int | None = None
    official: bool = False

    def cite(self) -> str:
        """The source in words, as a person is shown it: publisher, title, year."""
        year = f" ({self.year})" if self.year else ""
        return f"{self.publisher}, « {self.title} »{year}" if self.publisher \
            else self.title + year


@dataclass(frozen=True)
class Dose:
    """One dose of a series: due from an age and/or an interval after the previous dose."""

    age: Span | None
    after: Span | None
    window: Span
    catch_up_until: Span | None  # age; None = no catch-up once the window is over
    no_limit: bool = False  # caught up at any age
    after_early: Span | None = None  # at least this long after a dose given too soon


@dataclass(frozen=True)
class Late:
    """The catch-up schedule of a series started late: when the first dose is given (or,
    with none, today) at `from_age` or later, these doses replace the usual ones."""

    from_age: Span
    doses: tuple[Dose, ...]


@dataclass(frozen=True)
class Every:
    """Fixed-age repeats: at `first`, then every `interval`; a dose `early` before counts."""

    first: Span
    interval: Span
    window: Span
    early: Span


@dataclass(frozen=True)
class Campaign:
    """A yearly campaign: its window (month, day) and the day its season starts."""

    season_starts: tuple[int, int]
    start: tuple[int, int]
    until: tuple[int, int]


@dataclass(frozen=True)
class Waiver:
    """Antigens a dose may lack if given recently before it, or when given from an age."""

    antigens: frozenset[str]
    within: Span | None
    from_age: Span | None
