"""What the agenda screen writes: list lines and the details of an appointment or a prevention
item (pure functions from the service's objects to styled text)."""

from __future__ import annotations

import datetime as dt

from textual.content import Content

from msante.agenda import times
from msante.agenda.prevention import URGENCY, Item
from msante.agenda.service import Appointment, Occurrence
from msante.i18n import _
from msante.tui import dates
from msante.tui.screens.agenda_forms import span_text
from msante.tui.screens.home import day
from msante.tui.widgets import MUTED, labelled, safe

STATUS_STYLE = {"overdue": "bold $text-error", "due": "bold $text-warning",
                "ask-doctor": "bold $text-secondary", "coming": "bold $text-primary",
                "done": "bold $text-success"}


def status_text(status: str) -> str:
    """A prevention status in the user's language (the CLI's words)."""
    return {"overdue": _("overdue"), "due": _("due"), "coming": _("coming"), "done": _("done"),
            "ask-doctor": _("ask your doctor")}.get(status, status)


def when(occ: Occurrence) -> str:
    """An occurrence's local start as the CLI shows it: 2025-06-20 14:30."""
    return dates.moment(occ.local())


def occurrence_line(occ: Occurrence) -> Content:
    """One line of the appointments list: when, what, where."""
    item = occ.appointment
    where = f"  {item.location}" if item.location else ""
    repeats = " ↻" if item.rrule else ""
    return safe(Content.assemble((when(occ), "bold"), "  ", item.title,
                                 (repeats + where, MUTED)))


def appointment_detail(occ: Occurrence) -> Content:
    """Everything about the highlighted appointment: when (start–end), where, with whom…"""
    item = occ.appointment
    end = (occ.start + dt.timedelta(minutes=item.duration_min)).astimezone(occ.local().tzinfo)
    until = end.strftime("%H:%M") if end.date() == occ.local().date() else dates.moment(end)
    zone = item.tz if item.tz != times.zone().key else ""  # said only when not the usual
    rows = [(_("Time zone"), zone), (_("Where"), item.location or ""),
            (_("With"), item.professional or ""),
            (_("Reminders"), ", ".join(span_text(m) for m in item.reminders)),
            (_("Repeats"), _repeats(item)), (_("Note"), item.note or "")]
    lines = [Content.styled(item.title, "bold"), Content(f"{when(occ)}–{until}")]
    lines += [labelled(label, value) for label, value in rows if value]
    return Content("\n").join(lines)


def _repeats(item: Appointment) -> str:
    if not item.rrule:
        return ""
    return _("{rule}, from {date}").format(rule=item.rrule, date=day(item.local().date()))


def status_heading(status: str) -> Content:
    """The heading of a group of prevention items."""
    return Content.styled(status_text(status).capitalize(), STATUS_STYLE.get(status, "bold"))


def item_line(item: Item) -> Content:
    """One entry of the prevention list: what it is, and when (the core's text: a day or a
    window, "never recorded", nothing for a question about a pregnancy)."""
    when = item.window_text(day)
    return Content.assemble(item.label, (f"  {when}" if when else "", MUTED))


def by_status(items: list[Item]) -> list[tuple[str, list[Item]]]:
    """The items grouped by status, most urgent group first."""
    return [(status, [i for i in items if i.status == status]) for status in URGENCY
            if any(i.status == status for i in items)]


def window(item: Item) -> str:
    """When an item is due: a day, or from → until."""
    return item.window_text(day)


def item_detail(item: Item) -> Content:
    """Everything about the highlighted prevention item: its window, why, its sources."""
    lines = [Content.styled(item.label, "bold"),
             Content.assemble((status_text(item.status), STATUS_STYLE.get(item.status, "")),
                              "  ", window(item)),
             Content(""), Content(item.condition or item.why)]
    if item.catch_up:
        lines += [Content(""), Content(item.catch_up)]
    if item.catch_up_until and item.status == "overdue":
        lines.append(labelled(_("Catch-up until"), day(item.catch_up_until)))
    sources = item.sources_text()
    if sources:
        lines += [Content(""), labelled(_("Sources"), sources)]
    return Content("\n").join(lines)
