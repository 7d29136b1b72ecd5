"""The agenda's dialogs: an appointment's form (add and edit) and marking a prevention item done.

Each field is read by the functions the CLI uses (`msante.agenda.times`, `msante.text`), so the
messages are the CLI's; an error shows under its field, and nothing is written until every
field reads and the service accepts the whole (its own refusal shows under the form).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from msante.agenda import times
from msante.agenda.service import Appointment
from msante.errors import MsanteError, UsageError
from msante.i18n import _, current
from msante.text import parse_date
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import Plain, one_line

T = TypeVar("T")
Values = dict[str, str]

FORM_CSS = DIALOG_CSS + """
{name} > Vertical {{ width: 72; padding: 0 1; max-height: 100%; overflow-y: auto; }}
{name} .heading {{ text-style: bold; margin-bottom: 1; }}
{name} .row {{ height: 1; }}
{name} .row Label {{ width: 13; color: $text-muted; }}
{name} .row Input {{ width: 1fr; background: $boost; }}
{name} .row Input:focus {{ background: $primary 30%; }}
{name} .error {{ color: $text-error; margin-left: 13; display: none; }}
{name} #error {{ margin: 0; }}
{name} .error.shown {{ display: block; }}
{name} .buttons {{ margin-top: 0; }}
"""


def appointment_fields() -> dict[str, tuple[str, str]]:
    """The appointment form's fields: name → (label, placeholder)."""
    return {
        "title": (_("Title"), _("What it is, e.g. Dentist")),
        "date": (_("Date"), _("2026-12-01 or 01/12/2026")),
        "time": (_("Time"), _("14:30 or 14h30")),
        "duration": (_("Duration"), _("30m, 1h, 1h30")),
        "where": (_("Where"), _("Place")),
        "with": (_("With"), _("Health professional")),
        "remind": (_("Reminders"), _("Before the start: 1d,2h (empty: none)")),
        "repeat": (_("Repeats"), _("weekly, monthly, FREQ=WEEKLY;COUNT=10 (empty: once)")),
        "tz": (_("Time zone"), times.DEFAULT_TZ),
        "note": (_("Note"), ""),
    }


def span_text(minutes: int) -> str:
    """Minutes as the form shows them and `times.minutes` reads them back: 2d (2j in
    French), 1h30, 45m."""
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    if hours and mins and not days:
        return f"{hours}h{mins:02d}"
    day_unit = "j" if current() == "fr" else "d"
    text = (f"{days}{day_unit}" if days else "") + (f"{hours}h" if hours else "")
    return text + (f"{mins}m" if mins or not text else "")


def blank_values(day: dt.date, title: str = "") -> Values:
    """A new appointment's form: the day chosen in the month, the default zone and duration."""
    return {"title": title, "date": day.isoformat(), "time": "", "duration": "30m",
            "where": "", "with": "", "remind": "", "repeat": "", "tz": times.zone().key,
            "note": ""}


def values_of(item: Appointment) -> Values:
    """An appointment's form (a repeating one: its first occurrence)."""
    local = item.local()
    return {"title": item.title, "date": local.date().isoformat(),
            "time": local.strftime("%H:%M"), "duration": span_text(item.duration_min),
            "where": item.location or "", "with": item.professional or "",
            "remind": ",".join(span_text(m) for m in item.reminders),
            "repeat": item.rrule or "", "tz": item.tz, "note": item.note or ""}


def parse(values: Values) -> tuple[dict[str, Any], dict[str, str]]:
    """(the fields `Agenda.edit` takes, the error of each field that does not read)."""
    errors: dict[str, str] = {}

    def read(name: str, reader: Callable[[], T]) -> T | None:
        try:
            return reader()
        except UsageError as exc:
            errors[name] = exc.message
            return None

    zone = read("tz", lambda: times.zone(values["tz"].strip() or None)) or times.zone()
    start = _start(values["date"].strip(), values["time"].strip(), zone, errors)
    fields: dict[str, Any] = {
        "title": values["title"], "start": start, "tz": zone.key,
        "duration_min": read("duration", lambda: times.minutes(
            values["duration"].strip() or "30m", _("duration"))),
        "reminders": read("remind", lambda: times.reminders(values["remind"])),
        "location": values["where"], "professional": values["with"], "note": values["note"],
    }
    if start is not None:
        fields["rrule"] = read("repeat", lambda: times.repeat_rule(values["repeat"], start))
    return fields, errors


def _start(date: str, time: str, zone: Any, errors: dict[str, str]) -> dt.datetime | None:
    """The start from the date and time fields; the error goes under the field at fault."""
    if not date:
        errors["date"] = _("Give the date, e.g. 2026-12-01 or 01/12/2026.")
        return None
    try:
        alone = times.moment(date, zone)
    except UsageError as exc:  # a day alone is asked for here: say so, not "date and time"
        errors["date"] = (_("Invalid date '{text}': expected e.g. 2026-12-01 or 01/12/2026.")
                          .format(text=date) if len(date) <= 10 else exc.message)
        return None
    if not time:
        if len(date) <= 10:  # a day without a time: not midnight by accident
            errors["time"] = _("Give the time, e.g. 14:30.")
            return None
        return alone
    try:
        return times.moment(f"{date} {time}", zone)
    except UsageError as exc:
        errors["time"] = exc.message
        return None


class FormScreen(ModalScreen[T]):
    """A modal form of one-line fields, each with its error line under it."""

    BINDINGS = [Binding("escape", "cancel", _("Cancel")),
                Binding("ctrl+s", "save", _("Save"))]

    def __init__(self, heading: str, fields: dict[str, tuple[str, str]], values: Values,
                 save_label: str) -> None:
        super().__init__()
        self.heading, self.fields, self.values = heading, fields, values
        self.save_label = save_label

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(self.heading, classes="heading")
            for name, (label, hint) in self.fields.items():
                with Horizontal(classes="row"):
                    yield Label(label)
                    yield Input(one_line(self.values.get(name, "")), placeholder=hint, id=name,
                                compact=True)
                yield Plain(id=f"{name}-error", classes="error")
            yield Plain(id="error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(self.save_label, id="save", variant="primary", compact=True)

    def typed(self) -> Values:
        """What the fields hold now."""
        return {name: self.query_one(f"#{name}", Input).value for name in self.fields}

    def show_errors(self, errors: dict[str, str], general: str = "") -> None:
        """Show each error under its field (and `general` under the form); focus the first."""
        for name in [*self.fields, ""]:
            text = errors.get(name, "") if name else general
            line = self.query_one(f"#{name}-error" if name else "#error", Static)
            line.update(text)
            line.set_class(bool(text), "shown")
            if name:
                self.query_one(f"#{name}", Input).set_class(bool(text), "-invalid")
        wrong = [name for name in self.fields if name in errors]
        if wrong:
            self.query_one(f"#{wrong[0]}", Input).focus()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "save":
            self.action_save()
        else:
            self.action_cancel()

    def action_cancel(self) -> None:
        """Close without writing anything."""
        self.dismiss(None)

    def action_save(self) -> None:
        """Check the fields and write (each form says how)."""


class AppointmentForm(FormScreen[Appointment | None]):
    """Add or change an appointment; the result is the stored appointment, None if cancelled."""

    DEFAULT_CSS = FORM_CSS.format(name="AppointmentForm")

    def __init__(self, heading: str, values: Values,
                 save: Callable[[dict[str, Any]], Appointment]) -> None:
        super().__init__(heading, appointment_fields(), values, _("Save"))
        self.save = save

    def action_save(self) -> None:
        """Read every field; if all read, hand them to the service."""
        fields, errors = parse(self.typed())
        if errors:
            self.show_errors(errors)
            return
        try:
            item = self.save(fields)
        except MsanteError as exc:
            self.show_errors({}, exc.message)
            return
        self.dismiss(item)


class DoneForm(FormScreen[bool | None]):
    """Mark a prevention item done on a day (today unless told), with an optional note."""

    DEFAULT_CSS = FORM_CSS.format(name="DoneForm")

    def __init__(self, heading: str, today: dt.date,
                 save: Callable[[dt.date, str], object]) -> None:
        fields = {"date": (_("Done on"), "YYYY-MM-DD"),
                  "note": (_("Note"), _("e.g. the vaccine's brand and lot"))}
        super().__init__(heading, fields, {"date": today.isoformat()}, _("Mark done"))
        self.save = save

    def action_save(self) -> None:
        """Read the date; if it reads, mark the item done through the service."""
        values = self.typed()
        try:
            day = parse_date(values["date"], what=_("date"))
        except UsageError as exc:
            self.show_errors({"date": exc.message})
            return
        try:
            self.save(day, values["note"])
        except MsanteError as exc:
            self.show_errors({}, exc.message)
            return
        self.dismiss(True)
