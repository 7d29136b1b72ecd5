"""The command palette (ctrl+p): every screen, every person and every action of the screen."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from msante.i18n import _
from msante.text import fold
from msante.tui.keys import offered

if TYPE_CHECKING:
    from msante.tui.app import MsanteApp

Command = tuple[str, Callable[[], Any], str]


class MsanteCommands(Provider):
    """Screens by name, "Show <person>", and the bindings active on the current screen."""

    def _commands(self) -> Iterator[Command]:
        app = cast("MsanteApp", self.app)
        if app.session is not None:
            for name, label in app.screen_names().items():
                yield (_("Go to {screen}").format(screen=label), partial(app.go, name),
                       _("Open the {screen} screen").format(screen=label))
            for person in app.vault.people.list():
                yield (_("Show {name}").format(name=person.name),
                       partial(app.choose_person, person.id),
                       _("Make {name} the person every screen shows").format(name=person.name))
        for active, description in offered(self.screen):
            if active.enabled:
                binding = active.binding
                yield (description, partial(app.run_action, binding.action, active.node),
                       binding.tooltip or app.get_key_display(binding))

    async def discover(self) -> Hits:
        for name, run, help_text in self._commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(fold(query))  # "leo" finds "Léo"
        for name, run, help_text in self._commands():
            score = matcher.match(fold(name))
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)
