"""The command palette (ctrl+p): every screen, every person, and every action of every screen.

The current screen's actions come first under their own names (its table's, its fields');
another screen's are named with the screen ("Documents: Import") and, once chosen, show that
screen and run there. The app's own (the PDF summary, the emergency card, the calendar, the
backup, lock, theme) are offered from anywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from msante.i18n import _
from msante.text import fold
from msante.tui.keys import offered

if TYPE_CHECKING:
    from msante.tui.app import MsanteApp
    from msante.tui.screens.base import MainScreen

Command = tuple[str, Callable[[], Any], str]


def screen_actions(screen: MainScreen) -> Iterator[Binding]:
    """The screen's own bindings that do something by name, once per action."""
    seen: set[str] = set()
    for binding in type(screen).BINDINGS:
        if isinstance(binding, Binding) and binding.description and binding.action not in seen:
            seen.add(binding.action)
            yield binding


async def run_on(app: MsanteApp, name: str, action: str) -> None:
    """Show the screen `name`, then run `action` there."""
    await app.go(name)
    screen = app.get_screen(name)
    if screen.check_action(action, ()) is not False:
        await app.run_action(action, screen)


class MsanteCommands(Provider):
    """Screens by name, "Show <person>", the current screen's keys, then every other screen's
    actions by "<screen>: <action>"."""

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
        yield from self._elsewhere(app)

    def _elsewhere(self, app: MsanteApp) -> Iterator[Command]:
        """The actions of the main screens not in front."""
        for name, screen in app.open_screens().items():
            if screen is self.screen:
                continue
            for binding in screen_actions(screen):
                label = _("{screen}: {action}").format(screen=screen.label(),
                                                        action=binding.description)
                key = app.get_key_display(binding)
                yield (label, partial(run_on, app, name, binding.action),
                       _("{key} on the {screen} screen").format(key=key, screen=screen.label()))

    async def discover(self) -> Hits:
        for name, run, help_text in self._commands():
            yield DiscoveryHit(name, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(fold(query))  # "leo" finds "Léo"
        for name, run, help_text in self._commands():
            score = matcher.match(fold(name))
            if score > 0:
                yield Hit(score, matcher.highlight(name), run, help=help_text)
