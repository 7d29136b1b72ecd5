"""Dates and times as the screens show them: ISO in English (2025-06-16 14:30), the French
form in French (16/06/2025 14:30). Both are as wide, so the tables keep their columns."""

from __future__ import annotations

import datetime as dt

from msante.i18n import _, current


def day_format() -> str:
    """The strftime format of a day in the user's language."""
    return "%d/%m/%Y" if current() == "fr" else "%Y-%m-%d"


def day(value: dt.date | None) -> str:
    """A date as the screens show it; "undated" when there is none."""
    return value.strftime(day_format()) if value else _("undated")


def moment(value: dt.datetime, *, seconds: bool = False) -> str:
    """A date and time as the screens show it (the time as it is: convert first)."""
    return value.strftime(day_format() + (" %H:%M:%S" if seconds else " %H:%M"))


def iso_day(text: str) -> str:
    """The start of an ISO timestamp (2025-06-16T…) as a day, or the text as it is."""
    try:
        return day(dt.date.fromisoformat(text[:10]))
    except ValueError:
        return text[:10]
