"""Terminal escapes from received files never reach the terminal through the TUI.

A document's title or text, an appointment's summary or place, a measurement's note, a name:
each may carry ESC or C1 sequences (clear the screen, move the cursor, set the title, plant an
OSC 8 link). Every screen is visited with such text in every place it shows, and what the app
would write to the terminal is read back: only the app's own sequences are in it.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from textual.pilot import Pilot

from msante.tui.screens.home import HomeScreen
from msante.tui.widgets import Plain, plain, safe
from tests.tui.helpers import SIZE, app_for, fill_every_text, sync, until

HOSTILE = "\x1b]0;pwned\x07\x1b[2J\x9b1;1H\x1b]8;;https://evil.example\x1b\\clic\x1bP1$q\x1b\\"
# What Textual writes itself: SGR styles and cursor moves; anything else is the data's.
OURS = re.compile(r"\x1b\[[0-9;]*[mH]")
CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.fixture
def hostile(vault: Any) -> Any:
    """A vault whose every user-written text holds terminal controls."""
    return fill_every_text(vault, HOSTILE)


def _written(pilot: Pilot[None]) -> str:
    """What the app would write to the terminal to draw the whole screen now."""
    update = pilot.app.screen._compositor.render_update(full=True)
    return str(update.render_segments(pilot.app.console))


def _foreign(text: str) -> list[str]:
    rest = OURS.sub("", text)
    return [rest[max(0, m.start() - 30):m.end() + 30] for m in CONTROLS.finditer(rest)]


@sync
async def test_every_screen_draws_hostile_text_without_its_controls(hostile: Any) -> None:
    app = app_for(hostile)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: isinstance(app.screen, HomeScreen) and app.screen.loaded)
        found: list[tuple[int, str, str]] = []
        said: list[str] = []
        forms: list[str] = []
        for round_ in range(2):  # the owner, then the child (whose name holds controls)
            for key in "1234567":
                await pilot.press(key)
                screen = app.screen
                await until(pilot, lambda: getattr(screen, "loaded", True))  # noqa: B023
                if key == "2":
                    await pilot.press("enter")  # read the text into the preview
                await pilot.pause()
                found += [(round_, key, f) for f in _foreign(_written(pilot))]
            await pilot.press("p")  # 'Showing …' names the person in a notification
            await pilot.pause()
            said += [str(n.message) for n in app._notifications]
        # the edit forms show the stored text in their fields; a deletion question quotes it
        for screen_key, key in (("2", "e"), ("2", "delete"), ("3", "e"), ("5", "e"),
                                ("7", "e")):
            await pilot.press(screen_key)
            await until(pilot, lambda: getattr(app.screen, "loaded", True))
            await pilot.press(key)
            await pilot.pause(0.3)
            found += [(2, screen_key + key, f) for f in _foreign(_written(pilot))]
            forms += [type(app.screen).__name__]
            await pilot.press("escape")
            await pilot.pause(0.3)
        assert found == [], "\n".join(map(repr, found))
        assert len(set(forms)) == 5, forms  # each form and the question did open
        assert "pwned" in " ".join(said) and not CONTROLS.search(" ".join(said))
    assert app._exception is None


def test_the_shared_widgets_clean_strings_text_and_content() -> None:
    """Plain, table cells and labelled() values drop controls, keep styles and line breaks."""
    from rich.text import Text
    from textual.content import Content

    from msante.tui.widgets import labelled

    assert safe(f"a{HOSTILE}\n\tb") == "a]0;pwned[2J1;1H]8;;https://evil.example\\clicP1$q\\\n\tb"
    styled = safe(Text.assemble(("x\x1b[2J", "bold"), "y\x07"))
    bold = {i for span in styled.spans if span.style == "bold"
            for i in range(span.start, span.end)}
    assert styled.plain == "x[2Jy" and bold == {0, 1, 2, 3}
    assert plain("a\x1b[2J\nb").plain == "a[2J b"
    assert not CONTROLS.search(labelled("Titre", f"t{HOSTILE}").plain)
    assert not CONTROLS.search(safe(Content(f"c{HOSTILE}")).plain)
    widget = Plain(f"w{HOSTILE}")
    assert not CONTROLS.search(str(widget.content))
    widget.update(f"u{HOSTILE}")
    assert not CONTROLS.search(str(widget.content))
