"""The profile's entry form: one input per field of a section, built from `sections.SECTIONS`.

Nothing here knows a particular section. Text, dates, numbers and phones are inputs (with the
accepted forms as placeholder), enumerations and documents are selects. Save runs the service
through the callback the screen gives; an error of the core stays in the form, under the field
it names (found by checking the typed fields one by one) or under the form, and what was typed
stays there: nothing is written until the core accepts the whole entry.
"""

from __future__ import annotations

from collections.abc import Callable

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widget import Widget
from textual.widgets import Button, Input, Select, Static

from msante.errors import MsanteError
from msante.i18n import _
from msante.profile import sections
from msante.profile.sections import Field, Section
from msante.profile.service import Entry
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import Plain, one_line, safe

Save = Callable[[dict[str, object]], Entry]
"""What Save runs: the typed fields (all of them to add, the changed ones to edit) → the entry."""

Choices = list[tuple[str, str]]
Options = list[tuple[str | Content, str]]
"""(label, value) options of a select."""


def placeholder(spec: Field) -> str:
    """What an empty input shows: the accepted forms of its kind."""
    return {
        "date": _("2019, 2019-03, 2019-03-12 or 12/03/2019"),
        "int": _("a number from 1 to 99"),
        "phone": "+33 6 12 34 56 78",
    }.get(spec.kind, "")


def choice_label(value: object) -> str:
    """An enumeration's value in the user's language (other values as they are)."""
    label = sections.CHOICE_LABELS.get(str(value))
    return _(label) if label else str(value)


def field_label(spec: Field) -> str:
    """The field's label as a form shows it: capitalised, `*` when required."""
    text = _(spec.label)
    return text[:1].upper() + text[1:] + (" *" if spec.required else "")


class EntryForm(ModalScreen[Entry | None]):
    """Add or edit one entry of `section`; dismissed with the saved entry, or None."""

    DEFAULT_CSS = DIALOG_CSS.format(name="EntryForm") + """
    EntryForm > Vertical { width: 78; max-height: 100%; padding: 0 1; }
    EntryForm #fields { height: auto; max-height: 60vh; margin-top: 1; }
    EntryForm .field { height: auto; }
    EntryForm.-tall .field { margin-bottom: 1; }
    EntryForm.-short #fields { margin-bottom: 1; }
    EntryForm .row { height: auto; }
    EntryForm .label { width: 26; padding-right: 1; }
    EntryForm Input, EntryForm Select { width: 1fr; }
    EntryForm Input { background: $boost; }
    EntryForm Select > SelectCurrent { background: $boost; }
    EntryForm .error { color: $text-error; padding-left: 26; display: none; }
    EntryForm #error { padding-left: 0; margin-bottom: 1; }
    EntryForm .error.-shown { display: block; }
    EntryForm .note { color: $text-warning; }
    EntryForm .hint { color: $text-muted; }
    """
    VERTICAL_BREAKPOINTS = [(0, "-short"), (30, "-tall")]
    BINDINGS = [Binding("ctrl+s", "save", _("Save")),
                Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, section: Section, save: Save, *, entry: Entry | None = None,
                 documents: Choices | None = None, note: str = "") -> None:
        super().__init__()
        self.section, self.save, self.entry = section, save, entry
        self.documents, self.note = documents or [], note
        self.initial = {f.name: _text(entry.data.get(f.name)) if entry else ""
                        for f in section.fields}

    @property
    def title_text(self) -> str:
        """The dialog's title: the section, and what is being done to it."""
        what = _("change an entry") if self.entry else _("new entry")
        return f"{_(self.section.label)} — {what}"

    def compose(self) -> ComposeResult:
        with Vertical() as box:
            box.border_title = self.title_text
            if self.note:
                yield Plain(self.note, classes="note")
            with VerticalScroll(id="fields"):
                for spec in self.section.fields:
                    with Vertical(classes="field"):
                        with Horizontal(classes="row"):
                            yield Plain(field_label(spec), classes="label")
                            yield self._widget(spec)
                        yield Plain(id=f"e-{spec.name}", classes="error")
            yield Plain(id="error", classes="error")
            yield Plain(_("* required · Enter or ctrl+s: save · Escape: cancel"),
                         classes="hint")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel", compact=True)
                yield Button(_("Save"), id="save", variant="primary", compact=True)

    def _widget(self, spec: Field) -> Widget:
        value = self.initial[spec.name]
        wid = f"f-{spec.name}"
        if spec.kind in ("enum", "doc"):
            options = self._options(spec)
            known = value in {v for _label, v in options}
            return Select[str](options, prompt="—", value=value if known else Select.NULL,
                               compact=True, id=wid)
        return Input(one_line(value), placeholder=placeholder(spec), compact=True, id=wid)

    def _options(self, spec: Field) -> Options:
        if spec.kind == "enum":
            return [(choice_label(c), c) for c in spec.choices]
        current = self.initial[spec.name]
        options: Options = [(safe(Content(label)), v) for label, v in self.documents]  # titles
        if current and current not in {v for _label, v in options}:
            options.insert(0, (_("document {id}").format(id=current[:8]), current))
        return options

    def on_mount(self) -> None:
        self.query_one("#fields").query(".row > Input, .row > Select").first().focus()

    # -- saving ----------------------------------------------------------------------------

    def typed(self) -> dict[str, str]:
        """Every field's text as it is in the form ("" when empty)."""
        out = {}
        for spec in self.section.fields:
            widget = self.query_one(f"#f-{spec.name}")
            if isinstance(widget, Select):
                out[spec.name] = "" if widget.is_blank() else str(widget.value)
            else:
                assert isinstance(widget, Input)
                out[spec.name] = widget.value
        return out

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#save")
    def _save_pressed(self) -> None:
        self.action_save()

    @on(Button.Pressed, "#cancel")
    def _cancel_pressed(self) -> None:
        self.action_cancel()

    def action_save(self) -> None:
        """Run the service with what was typed; keep the form open on an error."""
        self.clear_errors()
        typed = self.typed()
        missing = [f for f in self.section.fields if f.required and not typed[f.name].strip()]
        if missing:
            for spec in missing:
                self.show_error(_("The {field} is required.").format(field=_(spec.label)),
                                spec.name)
            self.query_one(f"#f-{missing[0].name}").focus()
            return
        values: dict[str, object] = dict(typed) if self.entry is None else {
            name: text for name, text in typed.items() if text != self.initial[name]}
        try:
            entry = self.save(values)
        except MsanteError as exc:
            field = self.field_in_error(values)
            self.show_error(exc.message, field)
            if field:
                self.query_one(f"#f-{field}").focus()
            return
        self.dismiss(entry)

    def field_in_error(self, values: dict[str, object]) -> str | None:
        """The first typed field the core refuses on its own (None: the entry as a whole)."""
        for name, raw in values.items():
            if str(raw).strip():
                try:
                    sections.check_field(self.section, name, raw)
                except MsanteError:
                    return name
        return None

    def show_error(self, message: str, field: str | None = None) -> None:
        """Show `message` under `field`, or under the form."""
        where = self.query_one(f"#e-{field}" if field else "#error", Static)
        where.update(Content.assemble(("⚠ ", "bold"), message))
        where.add_class("-shown")
        if field:
            self.query_one(f"#f-{field}").add_class("-invalid")

    def clear_errors(self) -> None:
        """Take every error message away."""
        for error in self.query(".error"):
            error.remove_class("-shown")
        for widget in self._inputs():
            widget.remove_class("-invalid")

    def _inputs(self) -> list[Widget]:
        return list(self.query(".row > Input, .row > Select"))

    def errors(self) -> dict[str, str]:
        """The messages shown, by field name ("" for the form's own line); for tests."""
        return {(error.id or "")[2:] if (error.id or "").startswith("e-") else "":
                str(error.render()) for error in self.query(".error.-shown")}

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)


def _text(value: object) -> str:
    return "" if value is None else str(value)
