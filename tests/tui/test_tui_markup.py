"""Text from the vault is shown as it is, never read as Textual markup.

A title, a name or a note may hold square brackets ("[/x]", "[link=…]"): parsed as markup, one
raises MarkupError and brings the app down, another turns into a link or restyles the screen.
Each screen is visited with such text in every place it shows, and the actions that repeat a
name or a title (switching person, confirming a deletion) are run.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.pilot import Pilot

from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import HomeScreen
from tests.tui.helpers import SIZE, app_for, fill_every_text, sync, until

HOSTILE = "[/x] [link='https://evil.example']clic[/link] [b]gras"


@pytest.fixture
def hostile(vault: Any) -> Any:
    """A vault whose every user-written text holds markup."""
    return fill_every_text(vault, HOSTILE, sep=" ")


async def _visit(pilot: Pilot[None], key: str) -> None:
    await pilot.press(key)
    screen = pilot.app.screen
    await until(pilot, lambda: getattr(screen, "loaded", True))
    await pilot.pause()


@sync
async def test_brackets_in_the_vault_are_shown_not_parsed(hostile: Any) -> None:
    app = app_for(hostile)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        for round_ in range(2):  # the owner, then the child (whose name holds markup)
            for key in "1234567":
                await _visit(pilot, key)
                assert app.return_code is None, f"screen {key} crashed"
                if key in "2":
                    await pilot.press("enter")  # read the text into the preview
                    await pilot.pause()
            await pilot.press("p")  # 'Showing …' names the person
            await pilot.pause()
            assert app.return_code is None, f"round {round_}: switching person crashed"
        await pilot.press("p")  # the child, whose name the import dialog's title quotes
        await _visit(pilot, "2")
        await pilot.press("i")
        await until(pilot, lambda: type(app.screen).__name__ == "ImportScreen")
        assert app.return_code is None
        await pilot.press("escape")
        await until(pilot, lambda: type(app.screen).__name__ == "DocumentsScreen")
        await pilot.press("delete")  # the question quotes the title
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        text = " ".join(str(w.render()) for w in app.screen.query("Static"))
        assert "[/x]" in text and "[link=" in text
        await pilot.press("y")
        await pilot.pause()
        assert app.return_code is None
    assert app._exception is None
