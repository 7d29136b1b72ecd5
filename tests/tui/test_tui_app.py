"""The app's frame: quitting, help, the palette, themes, person switching, small terminals."""

from __future__ import annotations

from typing import Any

from textual.widgets import Static, Tabs

from msante.tui.app import MsanteApp
from msante.tui.screens.documents import DocumentsScreen
from msante.tui.screens.help import HelpScreen
from msante.tui.screens.home import HomeScreen
from tests.tui.helpers import SIZE, app_for, sync


def text_of(app: MsanteApp, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


@sync
async def test_ctrl_q_quits_from_any_screen(filled: Any) -> None:
    """ctrl+q is a priority binding: it works from inside the search box and from a dialog."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2", "slash")
        assert isinstance(app.screen, DocumentsScreen)
        await pilot.press("question_mark")  # typed into the search box, not help
        await pilot.press("escape", "question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("ctrl+q")
    assert app.return_code == 0 and not app.is_running


@sync
async def test_help_lists_the_bindings_of_the_current_screen(filled: Any) -> None:
    """The help is built from the screen's active bindings, so it cannot go stale."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {d for _key, d in app.screen.keys}
        assert {"Hide", "Export", "Delete", "Search", "Read", "Quit", "Home"} <= described
        await pilot.press("escape")
        assert isinstance(app.screen, DocumentsScreen)
        await pilot.press("1", "question_mark")
        assert "Hide" not in {d for _key, d in app.screen.keys}


@sync
async def test_switching_person_changes_what_home_shows(filled: Any) -> None:
    """The person is app state: Home's select, `p` and the palette all change it."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, HomeScreen)
        assert "Bilan lipidique" in text_of(app, "#documents")
        assert "Weight" in text_of(app, "#measures")
        await pilot.press("p")
        assert app.current_person.name == "Léo Martin"
        assert "Carnet de vaccination" in text_of(app, "#documents")
        assert "Bilan lipidique" not in text_of(app, "#documents")
        assert "Height" in text_of(app, "#measures")
        assert app.screen.query_one("#person", Tabs).active == f"p-{app.current_person.id}"
        await pilot.press("2")
        assert [d.title for d in app.screen.docs.values()] == ["Carnet de vaccination"]


@sync
async def test_choosing_a_tab_switches_person(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        leo = filled.people.get("Léo Martin")
        app.screen.query_one("#person", Tabs).active = f"p-{leo.id}"
        await pilot.pause()
        assert app.current_person == leo
        assert "Carnet de vaccination" in text_of(app, "#documents")


@sync
async def test_home_shows_what_needs_attention_and_the_next_appointment(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE):
        agenda = text_of(app, "#agenda")
        assert "2025-06-20 14:30 Dentiste" in agenda  # 12:30 UTC, in Paris time
        assert "overdue" in text_of(app, "#attention") or "due" in text_of(app, "#attention")


@sync
async def test_the_theme_toggles_between_light_and_dark(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        assert app.current_theme.dark
        await pilot.press("ctrl+t")
        assert not app.current_theme.dark
        await pilot.press("ctrl+t")
        assert app.current_theme.dark


@sync
async def test_the_palette_offers_screens_people_and_actions(filled: Any) -> None:
    """Typing a screen's name in the palette and Enter goes there."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"go to documents")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, DocumentsScreen)
        await pilot.press("ctrl+p", *"show leo")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert app.current_person.name == "Léo Martin"


@sync
async def test_every_screen_fits_in_80_by_24(filled: Any) -> None:
    """The panels and the table stay on screen (inside 80×24) with the footer visible."""
    app = app_for(filled)
    async with app.run_test(size=(80, 24)) as pilot:
        for selector in ("#person", "#attention", "#agenda", "#documents", "#measures"):
            region = app.screen.query_one(selector).region
            assert region.height > 0 and region.right <= 80 and region.bottom <= 23, selector
        await pilot.press("2")
        for selector in ("#filter", "#table", "#preview", "#count"):
            region = app.screen.query_one(selector).region
            assert region.height > 0 and region.right <= 80 and region.bottom <= 23, selector


def test_msante_tui_without_a_vault_is_a_clear_error(cli) -> None:
    """`msante tui` where there is no vault says so (exit 5) instead of opening a window."""
    from msante.errors import ExitCode

    r = cli("tui")
    assert r.code == ExitCode.NOT_FOUND, r.err
    assert "Traceback" not in r.err and "msante init" in r.err


class _Tty:
    def isatty(self) -> bool:
        return True


def test_plain_msante_on_a_terminal_opens_the_tui(monkeypatch, made) -> None:
    """No arguments, a terminal, a vault: the TUI (most people never type a subcommand)."""
    from msante.cli.main import main

    opened: list[object] = []
    monkeypatch.setattr("msante.tui.app.main", opened.append)
    monkeypatch.setattr("sys.stdin", _Tty())
    monkeypatch.setattr("sys.stdout", _Tty())
    assert main([]) == 0
    assert len(opened) == 1


def test_plain_msante_elsewhere_prints_the_help(cli, monkeypatch, home) -> None:
    """In a pipe, or on a terminal without a vault yet, plain `msante` still prints the help."""
    opened: list[object] = []
    monkeypatch.setattr("msante.tui.app.main", opened.append)
    r = cli()  # stdin is not a terminal
    assert r.code == 0 and "doc" in r.out and not opened
    monkeypatch.setattr("sys.stdin", _Tty())
    monkeypatch.setattr("sys.stdout", _Tty())
    from msante.cli.main import opens_tui

    assert not opens_tui(False)  # no vault at `home`


@sync
async def test_help_puts_the_screen_s_keys_before_textual_s_own_in_the_user_s_language(
        filled: Any) -> None:
    """Textual's tab / ctrl+c come last, in French under --lang fr, not "Focus Next" first."""
    from msante import i18n

    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        described = [d for _key, d in app.keys_of(app.screen)]
        assert described.index("Hide") < described.index("Quit") < described.index("Next field")
        assert "Focus Next" not in described and "Copy selected text" not in described
        i18n.setup("fr")
        try:
            described = [d for _key, d in app.keys_of(app.screen)]
        finally:
            i18n.setup("en")
        assert "Champ suivant" in described


@sync
async def test_the_palette_offers_no_screenshot(filled: Any) -> None:
    """Textual's screenshot writes the screen, health data included, in the clear to disk."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        names = [c.title for c in app.get_system_commands(app.screen)]
        assert names and not any("creenshot" in n for n in names)


@sync
async def test_a_screen_hidden_during_a_resize_lays_itself_out_when_shown(filled: Any) -> None:
    """Textual resizes only the screen in front; the others take the new size on return."""
    from textual.widgets import Select

    from msante.tui.screens.activity import ActivityScreen
    from msante.tui.screens.profile import ProfileScreen

    app = app_for(filled)
    async with app.run_test(size=(110, 32)) as pilot:
        for key in "36":
            await pilot.press(key)
            await pilot.pause()
        assert not app.screen.has_class("narrow")
        await pilot.press("1")
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        assert isinstance(app.screen, ProfileScreen) and app.screen.has_class("-narrow")
        await pilot.press("6")
        await pilot.pause()
        assert isinstance(app.screen, ActivityScreen) and app.screen.has_class("narrow")
        who = app.screen.query_one("#who", Select)
        assert who.region.height == 3, "the person's name wraps in its box"
