"""Sync conflicts: records changed on two devices, both versions side by side; keep one.

Opened from Home or the palette (`K`). The table lists the open conflicts (type, person, what
differs, the other device); below it, both versions of the one under the cursor. `m` keeps
this device's version, `t` the other device's, after a confirmation; the choice is written
now and reaches the other devices at their next sync (`Vault.resolve_conflict`).
"""

from __future__ import annotations

from typing import Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.widgets import DataTable, Header

from msante.errors import MsanteError
from msante.i18n import _
from msante.tui.footer import MsanteFooter
from msante.tui.screens.base import MainScreen
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.sync_view import row, type_label, versions
from msante.tui.widgets import Plain, PlainTable


class ConflictsScreen(MainScreen):
    """The open sync conflicts and both versions of the selected one."""

    NAME = "conflicts"
    SUB_TITLE = _("Sync conflicts")
    DEFAULT_CSS = """
    ConflictsScreen PlainTable { height: auto; max-height: 45%; }
    ConflictsScreen #versions { height: 1fr; border: round $primary-darken-1; padding: 0 1; }
    ConflictsScreen #empty { padding: 1 2; color: $text-muted; }
    """
    BINDINGS = [
        Binding("m", "keep('mine')", _("Keep mine")),
        Binding("t", "keep('theirs')", _("Keep theirs")),
        Binding("escape", "back", _("Back")),
    ]

    conflicts: list[dict[str, Any]] = []

    def compose(self) -> ComposeResult:
        yield Header()
        yield PlainTable(cursor_type="row", zebra_stripes=True)
        yield Plain(_("No conflict: every record is the same on every device."), id="empty")
        with VerticalScroll(id="versions"):
            yield Plain(id="detail")
        yield MsanteFooter()

    def name_the_person(self) -> None:
        """The conflicts are everyone's: the header names the screen only."""
        self.sub_title = self.msante.with_sync_state(self.label())

    def on_resize(self, event: events.Resize) -> None:
        super().on_resize(event)
        if self.loaded:
            self.call_after_refresh(self.reload)

    def _columns(self, table: PlainTable[str]) -> None:
        """Type, person, what differs, and the other device in what is left."""
        table.clear(columns=True)
        widths = (16, 18, 16)
        rest = max(12, self.app.size.width - sum(widths) - 2 * (len(widths) + 1) - 2)
        for label, width in zip((_("Type"), _("Person"), _("What differs"), _("Other device")),
                                (*widths, rest), strict=True):
            table.add_column(label, width=width)

    def reload(self) -> None:
        self.conflicts = self.vault.sync_conflicts()
        table = self.query_one(PlainTable)
        self._columns(table)
        for conflict in self.conflicts:
            table.add_row(*row(conflict), key=str(conflict["id"]))
        empty = not self.conflicts
        self.query_one("#empty").display = empty
        table.display = not empty
        self.query_one("#versions").display = not empty
        self._show_current()

    @property
    def current(self) -> dict[str, Any] | None:
        """The conflict under the cursor."""
        table = self.query_one(PlainTable)
        if not self.conflicts or not 0 <= table.cursor_row < len(self.conflicts):
            return None
        return self.conflicts[table.cursor_row]

    @on(DataTable.RowHighlighted)
    def _show_current(self) -> None:
        conflict = self.current
        if conflict is not None:
            self.query_one("#detail", Plain).update(versions(conflict))
            self.query_one("#versions").border_title = type_label(conflict["type"])

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "keep":
            return self.current is not None
        return True

    def action_keep(self, keep: str) -> None:
        """Keep one version (after a confirmation)."""
        conflict = self.current
        if conflict is None:
            return
        question = (_("Keep this device's version and replace the other one everywhere?")
                    if keep == "mine" else
                    _("Keep the other device's version and replace this one everywhere?"))
        yes = _("Keep mine") if keep == "mine" else _("Keep theirs")
        self.app.push_screen(ConfirmScreen(question, yes),
                             lambda ok: self._resolve(conflict["id"], keep) if ok else None)

    def _resolve(self, conflict_id: int, keep: str) -> None:
        try:
            self.vault.resolve_conflict(conflict_id, keep)
        except MsanteError as exc:
            self.app.notify(exc.message, severity="error")
            return
        self.app.notify(_("Resolved: the version kept goes to your other devices at the next "
                          "sync."))
        self.reload()
        self.msante.refresh_sync()

    def action_back(self) -> None:
        """Back to the screen before."""
        self.app.pop_screen()
