"""The keys a screen offers, as the help and the command palette list them.

Textual adds general keys of its own to every screen (tab, shift+tab, ctrl+c, ctrl+p) with
English descriptions; they are described here in the user's language and listed after the
screen's own keys, which are what a person opened the help for.
"""

from __future__ import annotations

from collections.abc import Iterator

from textual.app import App
from textual.binding import ActiveBinding
from textual.screen import Screen

from msante.i18n import _


def general_keys() -> dict[str, str]:
    """Textual's own actions, described in the user's language."""
    return {
        "app.focus_next": _("Next field"),
        "app.focus_previous": _("Previous field"),
        "screen.copy_text": _("Copy the selected text"),
        "command_palette": _("Command palette: every action by name"),
    }


def offered(screen: Screen[object]) -> Iterator[tuple[ActiveBinding, str]]:
    """(active binding, description) once per action: the screen's own keys, then the general.

    A widget's hidden bindings (a table's cursor keys) are left out: they are the usual keys,
    and they would push the screen's own below the fold.
    """
    general = general_keys()
    later: list[tuple[ActiveBinding, str]] = []
    seen: set[str] = set()
    for active in screen.active_bindings.values():
        binding = active.binding
        if binding.action in seen:
            continue
        if not binding.show and not isinstance(active.node, (Screen, App)):
            continue
        seen.add(binding.action)
        if binding.action in general:
            later.append((active, general[binding.action]))
        elif binding.description:
            yield active, binding.description
    yield from later
