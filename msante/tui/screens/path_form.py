"""What the import and export forms share: a path field and a Go button that start the work,
any other button that closes, and one message line under them."""

from __future__ import annotations

from typing import TypeVar

from textual import on
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Static

T = TypeVar("T")


class PathForm(ModalScreen[T]):
    """A form whose `#path` field (Enter) and `#go` button call `_start`."""

    @on(Input.Submitted, "#path")
    def _submitted(self) -> None:
        self._start()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "go":
            self._start()
        else:
            self.action_close()

    def _say(self, text: str, *, error: bool = False) -> None:
        message = self.query_one("#message", Static)
        message.update(text)
        message.set_class(error, "error")

    def _start(self) -> None:
        """Begin the form's work (each form says what)."""
        raise NotImplementedError

    def action_close(self) -> None:
        """Close the form (each form says when it may)."""
        raise NotImplementedError
