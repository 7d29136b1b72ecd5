"""The "add a measurement" form: a kind, a value typed as a person writes it, a time, a note.

The form does not check anything itself: it hands what was typed to the core (the same call as
`msante measure add`) and shows the core's refusal under the fields, staying open, so that an
implausible value, a glucose without its unit or a bad date is fixed where it was typed.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from msante.errors import MsanteError
from msante.i18n import _, current
from msante.measures import kinds
from msante.measures.service import Measurement
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import MUTED, Plain

Save = Callable[[str, str, str, str], Measurement]
"""Records (kind, value, when, note) and returns the measurement; MsanteError if refused."""

EXAMPLES = {
    "weight": "72.5", "height": "1.68 m", "blood-pressure": "120/80", "heart-rate": "64",
    "glucose": "5.4 mmol/L", "temperature": "37.2", "spo2": "97", "waist": "82",
    "respiratory-rate": "16", "hba1c": "6.1", "steps": "8042",
}
"""What a person of each kind might type (the decimal point follows the language)."""


def example(kind: kinds.Kind) -> str:
    """A value of `kind` as a person would type it, with the language's decimal separator."""
    point = kinds.format_number(1.5, 1, current())[1]
    return EXAMPLES.get(kind.name, "1").replace(".", point)


def units_hint(kind: kinds.Kind) -> str:
    """Which units the value may be written in."""
    if kind.pair:
        return _("Systolic/diastolic, in {units}; {unit} when no unit is written.").format(
            units=kind.unit_names(), unit=kind.unit)
    if len(kind.units) == 1:
        return _("In {unit}.").format(unit=kind.unit)
    return _("In {units}; {unit} when no unit is written.").format(
        units=kind.unit_names(), unit=kind.unit)


class AddMeasureScreen(ModalScreen[Measurement | None]):
    """Add one measurement; returns it, or None when cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="AddMeasureScreen") + """
    AddMeasureScreen > Vertical { width: 70; max-height: 100%; padding: 0 2; }
    AddMeasureScreen #title { text-style: bold; margin-bottom: 1; }
    AddMeasureScreen Grid {
        grid-size: 2; grid-columns: 10 1fr; grid-rows: auto; grid-gutter: 1 1; height: auto;
    }
    AddMeasureScreen Label { color: $text-muted; }
    AddMeasureScreen Input, AddMeasureScreen SelectCurrent { background: $boost; }
    AddMeasureScreen Input:focus { background: $primary 25%; }
    AddMeasureScreen .field { height: auto; }
    AddMeasureScreen #hint { color: $text-muted; height: auto; }
    AddMeasureScreen #error { color: $text-error; height: auto; margin-top: 1; }
    """
    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, who: str, kind: str, now: str, save: Save) -> None:
        super().__init__()
        self.who, self.kind, self.now, self.save = who, kinds.get(kind), now, save

    def compose(self) -> ComposeResult:
        options = [(k.label, k.name) for k in kinds.all_kinds()]
        with Vertical():
            yield Plain(Content(_("Add a measurement for {name}").format(name=self.who)),
                         id="title")
            with Grid():
                yield Label(_("Kind"))
                yield Select[str](options, value=self.kind.name, allow_blank=False,
                                  compact=True, id="kind")
                yield Label(_("Value"))
                with Vertical(classes="field"):
                    yield Input(id="value", compact=True)
                    yield Plain(id="hint")
                yield Label(_("When"))
                yield Input(self.now, id="when", compact=True,
                            placeholder=_("YYYY-MM-DD HH:MM or DD/MM/YYYY HH:MM"))
                yield Label(_("Note"))
                yield Input(id="note", compact=True, placeholder=_("optional"))
            yield Plain(id="error")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("Add"), id="add", variant="primary", compact=True)

    def on_mount(self) -> None:
        self._describe()
        self.query_one("#value", Input).focus()

    @on(Select.Changed, "#kind")
    def _kind_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str):
            self.kind = kinds.get(event.value)
            self._describe()

    def _describe(self) -> None:
        self.query_one("#value", Input).placeholder = _("e.g. {example}").format(
            example=example(self.kind))
        self.query_one("#hint", Static).update(Content.styled(units_hint(self.kind), MUTED))

    @on(Input.Changed)
    def _typing(self) -> None:
        self.query_one("#error", Static).update("")

    @on(Input.Submitted)
    @on(Button.Pressed, "#add")
    def _add(self) -> None:
        value = self.query_one("#value", Input).value.strip()
        if not value:
            self._refuse(_("Type the value, e.g. {example}.").format(example=example(self.kind)))
            self.query_one("#value", Input).focus()
            return
        when = self.query_one("#when", Input).value.strip()
        note = self.query_one("#note", Input).value
        try:
            made = self.save(self.kind.name, value, when, note)
        except MsanteError as exc:
            self._refuse(exc.message)
            return
        self.dismiss(made)

    def _refuse(self, message: str) -> None:
        self.query_one("#error", Static).update(Content(message))

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        """Close without recording anything."""
        self.dismiss(None)
