"""What every screen shares: whose record it shows, a footer that fits, the global palette."""

from __future__ import annotations

from typing import Any

import pytest
from rich.cells import cell_len
from textual.widgets._footer import FooterKey

from msante.tui.footer import MsanteFooter, key_width, palette_width
from msante.tui.screens.base import MainScreen
from msante.tui.screens.people import PeopleScreen
from tests.tui.helpers import app_for, open_screen, sync, until

KEYS = "1234567"


def _footer_width(screen: MainScreen) -> int:
    """The cells the footer's keys take, as they are laid out."""
    footer = screen.query_one(MsanteFooter)
    keys = list(footer.query(FooterKey))
    return sum(palette_width(k) if k.has_class("-command-palette") else key_width(k)
               for k in keys)


@sync
async def test_every_screen_names_the_person_it_shows_and_follows_p(filled: Any) -> None:
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        for key in KEYS:
            screen = await open_screen(pilot, key, MainScreen)
            assert str(screen.sub_title).endswith("· Camille Martin"), (key, screen.sub_title)
        await pilot.press("p")
        await until(pilot, lambda: pilot.app.person is not None
                    and pilot.app.person.name == "Léo Martin")
        for key in KEYS:
            screen = await open_screen(pilot, key, MainScreen)
            await until(pilot, lambda: str(pilot.app.screen.sub_title).endswith("· Léo Martin"),
                        message=lambda: str(pilot.app.screen.sub_title))


@sync
async def test_after_p_the_people_pane_shows_the_new_person(filled: Any) -> None:
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        screen = await open_screen(pilot, "7", PeopleScreen)
        assert screen.current is not None and screen.current.name == "Camille Martin"
        await pilot.press("p")
        await until(pilot, lambda: screen.current is not None
                    and screen.current.name == "Léo Martin")
        assert str(screen.query_one("#details").border_title) == "Léo Martin"


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
@sync
async def test_every_footer_fits_whole_and_keeps_help_and_palette(filled: Any,
                                                                   size: tuple[int, int]) -> None:
    async with app_for(filled).run_test(size=size) as pilot:
        for key in KEYS:
            screen = await open_screen(pilot, key, MainScreen)
            await pilot.pause()
            footer = screen.query_one(MsanteFooter)
            shown = [k.description for k in footer.query(FooterKey)]
            assert _footer_width(screen) <= size[0], (key, shown)
            assert "Help" in shown and shown[-1] == "palette", (key, shown)
            assert all(cell_len(d) > 0 for d in shown)



def test_a_plausibility_message_writes_a_decimal_comma_in_french(vault: Any) -> None:
    """The measurement form shows the core's message: "entre 0,2 et 350 kg" in French."""
    from msante import i18n
    from msante.errors import UsageError

    owner = vault.people.owner()
    i18n.setup("fr")
    try:
        with pytest.raises(UsageError) as refused:
            vault.measures.add(owner, "weight", "999")
    finally:
        i18n.setup("en")
    assert "entre 0,2 et 350 kg" in refused.value.message, refused.value.message
    with pytest.raises(UsageError) as english:
        vault.measures.add(owner, "weight", "999")
    assert "between 0.2 and 350 kg" in english.value.message, english.value.message


def test_dates_in_the_french_form_in_french() -> None:
    import datetime as dt

    from msante import i18n
    from msante.tui import dates

    when = dt.datetime(2025, 6, 16, 14, 30, 5)
    assert (dates.day(when.date()), dates.moment(when)) == ("2025-06-16", "2025-06-16 14:30")
    i18n.setup("fr")
    try:
        assert dates.day(when.date()) == "16/06/2025"
        assert dates.moment(when, seconds=True) == "16/06/2025 14:30:05"
        assert dates.iso_day("2025-06-16T08:00:00Z") == "16/06/2025"
        assert dates.day(None) == "sans date"
    finally:
        i18n.setup("en")
