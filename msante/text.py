"""Text helpers shared by the services: name matching keys and date parsing."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

# C0 and C1 control characters (and DEL): those that move words apart become a space.
_CONTROLS = {c: None for c in (*range(0x20), *range(0x7F, 0xA0))} | {
    ord(c): " " for c in "\t\n\v\f\r\x85"}
_CONTROLS_BUT_NEWLINE = _CONTROLS | {ord("\n"): "\n"}


def clean(text: str, *, lines: bool = False) -> str:
    """`text` without control characters, so that it cannot drive a terminal (`lines`: keep
    its line breaks)."""
    if lines:
        return text.replace("\r\n", "\n").translate(_CONTROLS_BUT_NEWLINE)
    return text.translate(_CONTROLS)


# What may reach a terminal: no C0 or C1 control (ESC starts CSI, OSC, DCS… sequences; C1 has
# one-byte CSI, OSC, DCS) and no DEL; a text view keeps its tabs and line breaks.
TERMINAL_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_TERMINAL = {c: None for c in (*range(0x20), *range(0x7F, 0xA0))} | {
    ord("\t"): "\t", ord("\n"): "\n", ord("\v"): "\n", ord("\f"): "\n", ord("\r"): "\n",
    0x85: "\n"}


def for_terminal(text: str) -> str:
    """`text` as it may be written to a terminal: without a control character that could clear
    the screen, move the cursor, set the title or plant a link; tabs and line breaks kept
    (a form feed, CR or NEL becomes a line break)."""
    if not TERMINAL_CONTROLS.search(text):
        return text
    return text.replace("\r\n", "\n").translate(_TERMINAL)


def without_controls(text: str) -> str:
    """`text` with its control characters removed, tabs and line breaks excepted (for text
    already laid out, where a new line break would break the layout)."""
    return TERMINAL_CONTROLS.sub("", text)


def fold(text: str) -> str:
    """Case- and accent-insensitive key of `text` ("Élodie  Martin" → "elodie martin")."""
    if text.isascii():  # NFKD keeps ASCII as it is, with no combining mark
        return " ".join(text.casefold().split())
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(bare.casefold().split())


def parse_date(text: str, *, what: str | None = None) -> dt.date:
    """A calendar date typed by a person (2026-12-01 or 01/12/2026): `dates.parse_day`."""
    from msante.dates import parse_day

    return parse_day(text, what=what)


def local_day_start_utc(day: dt.date) -> str:
    """The UTC ISO time at which `day` starts in the local time zone."""
    local = dt.datetime.combine(day, dt.time()).astimezone()
    return local.astimezone(dt.UTC).isoformat(timespec="microseconds")


def add_years(day: dt.date, years: int) -> dt.date:
    """`day` moved by whole years (29 February becomes 1 March in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, month=3, day=1)
