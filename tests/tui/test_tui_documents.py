"""The documents screen: search as you type, preview, hide, trash, export; checked in the vault."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.widgets import Input, Static

from msante.tui.screens.dialogs import ConfirmScreen, PathScreen
from msante.tui.screens.documents import DocumentsScreen
from tests.tui.helpers import SIZE, app_for, fixed_id, sync


async def _documents(pilot: Any) -> DocumentsScreen:
    await pilot.press("2")
    screen = pilot.app.screen
    assert isinstance(screen, DocumentsScreen)
    return screen


async def _settled(pilot: Any, screen: DocumentsScreen, before: int) -> None:
    """Wait until the debounced filter has refilled the table."""
    for _ in range(100):
        if screen.shown > before:
            return
        await pilot.pause(0.02)
    raise AssertionError("the table was not refreshed")


def reads(vault: Any) -> int:
    return len(list(vault.audit.entries(action="document.read")))


@sync
async def test_typing_in_the_filter_searches_the_text(filled: Any) -> None:
    """A word found only in a document's text, typed letter by letter, leaves that one row."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        assert len(screen.docs) == 4  # the owner's, not the child's
        await pilot.press("slash")
        before = screen.shown
        await pilot.press(*"doliprane")
        assert screen.shown == before  # debounced: nothing yet, keystrokes are not queries
        await _settled(pilot, screen, before)
        assert [d.title for d in screen.docs.values()] == ["Ordonnance Dr Lefèvre"]
        assert screen.query_one("#table").row_count == 1
        before = screen.shown
        await pilot.press("ctrl+u")  # clear the box: every document again
        await _settled(pilot, screen, before)
        assert len(screen.docs) == 4


@sync
async def test_the_preview_of_a_search_result_shows_the_matching_words(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        await pilot.press("slash")
        before = screen.shown
        await pilot.press(*"triglycerides")
        await _settled(pilot, screen, before)
        assert [d.title for d in screen.docs.values()] == ["Bilan lipidique"]
        shown = screen.query_one("#text", Static).render()
        assert "Triglycérides 0,85" in str(shown), shown
        assert "**" not in str(shown)
        spans = [str(shown)[s.start:s.end] for s in shown.spans]  # type: ignore[attr-defined]
        assert "Triglycérides" in spans, spans


@sync
async def test_nothing_matches_says_so(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        await pilot.press("slash", *'"zzz', "enter")
        assert screen.docs == {}
        assert "No document matches" in str(screen.query_one("#count", Static).render())


@sync
async def test_moving_shows_metadata_and_only_enter_reads_the_text(filled: Any) -> None:
    """Reading the text is audited (DESIGN.md), so it takes an explicit Enter."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        start = reads(filled)
        await pilot.press("down", "down")
        assert "Ordonnance Dr Lefèvre" in str(screen.query_one("#meta", Static).render())
        assert reads(filled) == start
        await pilot.press("enter")
        assert "Doliprane" in str(screen.query_one("#text", Static).render())
        assert reads(filled) == start + 1


@sync
async def test_hide_then_show_a_document(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        doc = screen.current
        assert doc is not None and not doc.hidden
        await pilot.press("h")
        assert filled.documents.get(doc.id).hidden
        assert screen.current is not None and screen.current.id == doc.id  # cursor stays
        await pilot.press("h")
        assert not filled.documents.get(doc.id).hidden


@sync
async def test_delete_asks_first_and_moves_to_the_trash(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        doc = screen.current
        assert doc is not None
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert filled.documents.get(doc.id).trashed_at is None
        await pilot.press("delete", "y")
        assert filled.documents.get(doc.id).trashed_at is not None
        assert doc.id not in screen.docs and len(screen.docs) == 3


@sync
async def test_export_writes_the_original_bytes_where_asked(filled: Any, tmp_path: Path) -> None:
    app = app_for(filled)
    target = tmp_path / "copie.pdf"
    async with app.run_test(size=SIZE) as pilot:
        await _documents(pilot)
        await pilot.press("x")
        assert isinstance(app.screen, PathScreen)
        app.screen.query_one("#path", Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
    assert target.read_bytes().startswith(b"%PDF-1.4 Bilan lipidique")
    assert target.stat().st_mode & 0o777 == 0o600


@sync
async def test_the_type_filter_narrows_the_list(filled: Any) -> None:
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        screen.query_one("#type").value = "57833-6"  # prescriptions
        await pilot.pause()
        assert list(screen.docs) == [fixed_id(2)]
