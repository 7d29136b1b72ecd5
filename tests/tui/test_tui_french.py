"""The TUI in French: its modules imported afresh after `--lang fr`, as `msante tui` does.

Binding descriptions and screen titles are translated when the TUI's modules are imported
(the CLI imports them after choosing the language). The rest of the suite has them in English,
so these tests import a second copy under French and put the English one back afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from textual.pilot import Pilot

from msante import i18n
from tests.tui.helpers import SIZE, frozen_clock, sync, until


@pytest.fixture
def french_app_module() -> Iterator[ModuleType]:
    """msante.tui.app, imported under French."""
    english = {n: m for n, m in sys.modules.items() if n.startswith("msante.tui")}
    for name in english:
        del sys.modules[name]
    i18n.setup("fr")
    try:
        import msante.tui.app as french

        yield french
    finally:
        for name in [n for n in sys.modules if n.startswith("msante.tui")]:
            del sys.modules[name]
        sys.modules.update(english)
        i18n.setup("en")


def _screen_loaded(pilot: Pilot[None]) -> bool:
    screen = pilot.app.screen
    return bool(getattr(screen, "loaded", False))


@sync
async def test_the_frame_and_the_documents_screen_speak_french(
        french_app_module: ModuleType, filled: Any) -> None:
    app = french_app_module.MsanteApp(filled.path, filled, clock=frozen_clock())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: _screen_loaded(pilot))
        nav = str(app.screen.query_one("NavBar").render())
        assert "1 Accueil" in nav and "2 Documents" in nav
        await pilot.press("2")
        await until(pilot, lambda: _screen_loaded(pilot))
        described = [d for _key, d in app.keys_of(app.screen)]
        assert {"Rechercher", "Importer", "Corbeille", "Quitter", "Champ suivant"} <= set(
            described), described
        assert described.index("Importer") < described.index("Champ suivant")


def test_the_documents_screen_in_french(french_app_module: ModuleType, filled: Any,
                                        snap_compare: Any) -> None:
    async def documents(pilot: Pilot[None]) -> None:
        await until(pilot, lambda: _screen_loaded(pilot))
        await pilot.press("2")
        await until(pilot, lambda: _screen_loaded(pilot))

    app = french_app_module.MsanteApp(filled.path, filled, clock=frozen_clock())
    assert snap_compare(app, terminal_size=SIZE, run_before=documents)
