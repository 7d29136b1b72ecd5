"""The People screen's forms: add a person (a child by default) and rename one.

The form writes nothing itself: it hands what was typed to `save`, a call into the core that
validates and writes (the CLI's own checks and messages). When `save` raises a MsanteError,
its message appears inside the form, which stays open with what was typed; nothing is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from msante.errors import MsanteError, UsageError
from msante.i18n import _
from msante.people import SEX_LABELS, SEXES, Person
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import Plain, one_line

RELATIONS = ("child", "other")


class FieldError(UsageError):
    """A refusal about one field of the form, which gets the cursor."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class PersonFields:
    """What the add form holds (sex is "" until one is chosen)."""

    name: str
    born: str
    sex: str
    relation: str


class PersonForm(ModalScreen[Person | None]):
    """Add a person, or rename `person`; the new or renamed Person, None when cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="PersonForm") + """
    PersonForm #title { text-style: bold; margin-bottom: 1; }
    PersonForm Grid {
        grid-size: 2; grid-columns: auto 1fr; grid-rows: 1; grid-gutter: 1 2; height: auto;
    }
    PersonForm Label { color: $text-muted; }
    PersonForm #error {
        color: $text-error; text-style: bold; margin-top: 1; height: auto; display: none;
    }
    """
    BINDINGS = [Binding("escape", "cancel", _("Cancel"))]

    def __init__(self, title: str, save: Callable[[PersonFields], Person], *,
                 person: Person | None = None, ok: str = "") -> None:
        super().__init__()
        self.title_text, self.save, self.person = title, save, person
        self.ok = ok or _("Add")

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Plain(Content(self.title_text), id="title")
            with Grid():
                yield Label(_("Name"))
                yield Input(one_line(self.person.name if self.person else ""), id="name",
                            compact=True)
                if self.person is None:
                    yield Label(_("Birth date"))
                    yield Input(placeholder=_("YYYY-MM-DD, e.g. 2019-04-27"), id="born",
                                compact=True)
                    yield Label(_("Sex"))
                    yield Select[str]([(_(SEX_LABELS[s]), s) for s in SEXES], id="sex",
                                      prompt=_("choose"), compact=True)
                    yield Label(_("Relation"))
                    yield Select[str]([(_("child (until majority)"), "child"),
                                       (_("other (an adult)"), "other")],
                                      value="child", allow_blank=False, id="relation",
                                      compact=True)
            yield Plain(id="error")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="cancel")
                yield Button(self.ok, id="ok", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#name", Input).focus()

    def fields(self) -> PersonFields:
        """What is typed and chosen."""
        if self.person is not None:
            return PersonFields(self.query_one("#name", Input).value, "", "", "")
        sex = self.query_one("#sex", Select).value
        relation = self.query_one("#relation", Select).value
        return PersonFields(self.query_one("#name", Input).value,
                            self.query_one("#born", Input).value,
                            sex if isinstance(sex, str) else "",
                            relation if isinstance(relation, str) else "child")

    @property
    def error(self) -> str:
        """The message shown in the form ("" when none)."""
        return str(self.query_one("#error", Static).content)

    def show_error(self, message: str) -> None:
        """Show a validation message inside the form."""
        error = self.query_one("#error", Static)
        error.update(Content(message))
        error.display = bool(message)

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        if event.input.id == "name" and self.person is None:
            self.query_one("#born", Input).focus()  # Enter moves on; the last field saves
            return
        self.submit()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "ok":
            self.submit()
        else:
            self.dismiss(None)

    def submit(self) -> None:
        """Save through the core; on a refusal keep the form open with its message."""
        try:
            person = self.save(self.fields())
        except MsanteError as exc:
            self.show_error(exc.message)
            if isinstance(exc, FieldError):
                self.query_one(f"#{exc.field}").focus()
            return
        self.dismiss(person)

    def action_cancel(self) -> None:
        """Close without writing."""
        self.dismiss(None)
