"""Editing what the person says of a document: title, type, date, tags, note.

The same service call as `msante doc edit`; its refusals (a bad date, an empty title) are shown
in the form, which stays open with what was typed, and nothing is written.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from msante.api import Vault
from msante.documents import types
from msante.documents.model import Document
from msante.errors import MsanteError, UsageError
from msante.i18n import _
from msante.text import parse_date
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import Plain, one_line


def tag_list(text: str) -> list[str]:
    """Tags typed as "a, b, c" (empty parts dropped, order kept, no repeats)."""
    return list(dict.fromkeys(t.strip() for t in text.split(",") if t.strip()))


def type_choices(current: str) -> list[tuple[str, str]]:
    """Every document type by label (the value set is short enough for a list)."""
    return sorted(((t.label, t.code) for t in types.all_types().values()),
                  key=lambda o: (o[1] != current, o[0].lower()))


class EditDocumentScreen(ModalScreen[Document | None]):
    """A form over one document; the changed document when saved, None when cancelled."""

    DEFAULT_CSS = DIALOG_CSS.format(name="EditDocumentScreen") + """
    EditDocumentScreen > Vertical { width: 80; max-height: 100%; padding: 0 1; }
    EditDocumentScreen #fields { grid-size: 2; grid-columns: 14 1fr; grid-rows: 3;
                                 height: auto; }
    EditDocumentScreen Label { padding-top: 1; color: $text-muted; }
    EditDocumentScreen #error { color: $error; text-style: bold; height: auto; }
    EditDocumentScreen .buttons { margin-top: 0; }
    """
    BINDINGS = [Binding("escape", "cancel", _("Cancel")),
                Binding("ctrl+s", "save", _("Save"))]

    def __init__(self, vault: Vault, doc: Document) -> None:
        super().__init__()
        self.vault, self.doc = vault, doc

    def compose(self) -> ComposeResult:
        doc = self.doc
        with Vertical() as box:
            box.border_title = _("Edit the document")
            with Grid(id="fields"):
                yield Label(_("Title"))
                yield Input(one_line(doc.title), id="title")
                yield Label(_("Type"))
                yield Select(type_choices(doc.type_code), value=doc.type_code,
                             allow_blank=False, id="type")
                yield Label(_("Date"))
                yield Input(doc.date.isoformat() if doc.date else "", id="date",
                            placeholder=_("YYYY-MM-DD"))
                yield Label(_("Tags"))
                yield Input(one_line(", ".join(doc.tags)), id="tags",
                            placeholder=_("separated by commas"))
                yield Label(_("Note"))
                yield Input(one_line(doc.note or ""), id="note")
            yield Plain("", id="error")
            with Horizontal(classes="buttons"):
                yield Button(_("Cancel"), id="no")
                yield Button(_("Save"), id="yes", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#title", Input).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "yes":
            self.action_save()
        else:
            self.action_cancel()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_save()

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)

    def _value(self, name: str) -> str:
        return self.query_one(f"#{name}", Input).value.strip()

    def action_save(self) -> None:
        """Save what changed; a refusal stays in the form."""
        doc = self.doc
        title = self._value("title")
        date_text = self._value("date")
        chosen = self.query_one("#type", Select).value
        tags = tag_list(self._value("tags"))
        note = self._value("note")
        try:
            date = parse_date(date_text) if date_text else None
            if date is None and doc.date is not None:
                raise UsageError(_("A document keeps its date: type one as YYYY-MM-DD."))
            changes = {  # a guess the person saw in the form and saved is confirmed
                "title": title if title != doc.title else None,
                "type_ref": chosen if isinstance(chosen, str) and (
                    chosen != doc.type_code or doc.type_guessed) else None,
                "date": date if date != doc.date or doc.date_guessed else None,
                "add_tags": tuple(t for t in tags if t not in doc.tags),
                "remove_tags": tuple(t for t in doc.tags if t not in tags),
                "note": note if note != (doc.note or "") else None,
            }
            if not any(changes.values()):
                self.dismiss(None)  # nothing changed: nothing to write or to audit
                return
            changed = self.vault.documents.edit(doc, **changes)  # type: ignore[arg-type]
        except MsanteError as exc:
            self.query_one("#error", Static).update(exc.message)
            return
        self.dismiss(changed)
