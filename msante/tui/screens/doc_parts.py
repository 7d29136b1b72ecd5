"""What the documents screen shows of its filters and of a document: pure functions, no widget."""

from __future__ import annotations

import datetime as dt

from textual.content import Content

from msante.documents import types
from msante.documents.model import Document
from msante.i18n import _
from msante.tui import dates
from msante.tui.screens.home import day
from msante.tui.widgets import labelled

TYPE_ALIASES = types.MAIN_ALIASES


def type_options() -> list[tuple[str, str]]:
    """The main document types, by label."""
    codes = dict.fromkeys(types.ALIASES[a] for a in TYPE_ALIASES)
    return sorted(((types.get(c).label, c) for c in codes), key=lambda o: o[0].lower())


def as_you_type(text: str) -> str:
    """The query with its last word taken as a prefix while it is being typed ("glyc" → "glyc*").

    Not after a space, inside an open quote, after an operator or on a one-letter word (the
    grammar ignores prefixes under two characters).
    """
    words = text.split()
    if not words or text[-1:].isspace() or sum(text.count(q) for q in '"“”«»') % 2:
        return text
    last = words[-1].lstrip("-")
    if len(last) < 2 or last in ("OR", "AND", "NOT") or not last[-1].isalnum():
        return text
    return text + "*"


PERIODS = {"3m": 91, "12m": 365, "5y": 5 * 365 + 1}


def period_options() -> list[tuple[str, str]]:
    """The date filter's choices (no choice: any date)."""
    return [(_("Last 3 months"), "3m"), (_("Last 12 months"), "12m"),
            (_("Last 5 years"), "5y"), (_("Over 5 years ago"), "older")]


def period_bounds(period: str | None, today: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """(since, until) of a period choice, relative to `today`."""
    if period is None:
        return None, None
    if period == "older":
        return None, today - dt.timedelta(days=PERIODS["5y"] + 1)
    return today - dt.timedelta(days=PERIODS[period]), None


def within(date: dt.date | None, since: dt.date | None, until: dt.date | None) -> bool:
    """Whether a document's date is in the bounds (an undated one only without bounds)."""
    if since is None and until is None:
        return True
    return date is not None and (since is None or date >= since) and (
        until is None or date <= until)


def marks(doc: Document) -> str:
    """The short flags column: hidden from professionals, something wrong with the file."""
    out = _("hidden") if doc.hidden else ""
    if doc.flags:
        out += " ⚠"
    return out.strip()


def metadata(doc: Document) -> Content:
    """What the preview shows of a document without reading its content."""
    guessed = " " + _("(guessed)")  # as the CLI says it
    rows = [(_("Type"), doc.type_label + (guessed if doc.type_guessed else "")),
            (_("Date"), day(doc.date) + (guessed if doc.date_guessed and doc.date else "")),
            (_("Author"), doc.author or ""), (_("Tags"), ", ".join(doc.tags)),
            (_("Pages"), str(doc.pages or "")), (_("Size"), _human_size(doc.size)),
            (_("Warnings"), ", ".join(doc.flag_texts())),
            (_("Hidden"), _("yes, from professionals") if doc.hidden else ""),
            (_("Note"), doc.note or ""), (_("Imported"), dates.iso_day(doc.imported_at)),
            (_("Id"), doc.id[:8])]
    lines = [Content.styled(doc.title, "bold")]
    lines += [labelled(label, value) for label, value in rows if value]
    return Content("\n").join(lines)


def _human_size(size: int) -> str:
    if size < 1024:
        return _("{n} bytes").format(n=size)
    if size < 1024 * 1024:
        return _("{n} KiB").format(n=round(size / 1024))
    return _("{n:.1f} MiB").format(n=size / 1024 / 1024)


def highlighted(snippet: str) -> Content:
    """A search snippet with its `**matches**` stood out (never read as markup)."""
    parts = snippet.split("**")
    return Content.assemble(*((part, "bold reverse") if i % 2 else part
                              for i, part in enumerate(parts)))
