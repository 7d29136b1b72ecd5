"""The documents screen, continued: import with a file picker, edit, open, the trash, dates.

Each flow is driven with keys and checked in the vault afterwards.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

from textual.widgets import Button, Input, Select, Static

from msante.tui.screens.dialogs import ConfirmScreen, DoneScreen
from msante.tui.screens.doc_edit import EditDocumentScreen
from msante.tui.screens.doc_import import ImportScreen
from msante.tui.screens.documents import DocumentsScreen
from tests import pdfgen
from tests.tui.helpers import SIZE, app_for, fixed_id, sync, until


async def _documents(pilot: Any) -> DocumentsScreen:
    await pilot.press("2")
    screen = pilot.app.screen
    assert isinstance(screen, DocumentsScreen)
    await until(pilot, lambda: screen.loaded)
    return screen


def _titles(screen: DocumentsScreen) -> list[str]:
    return [d.title for d in screen.docs.values()]


def _actions(vault: Any, action: str) -> int:
    return len(list(vault.audit.entries(action=action)))


@sync
async def test_import_a_folder_through_the_picker(filled: Any, tmp_path: Path) -> None:
    """i, a folder typed in the path box, Enter: every file stored, one flagged, a report."""
    folder = tmp_path / "courrier"
    folder.mkdir()
    (folder / "bilan.pdf").write_bytes(pdfgen.lab_report(sampled="03/04/2025"))
    (folder / "ordonnance.pdf").write_bytes(pdfgen.prescription())
    (folder / "abime.pdf").write_bytes(pdfgen.truncated_pdf())
    (folder / ".cache").write_bytes(b"skipped")
    before = len(filled.documents.list(limit=None))
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        await pilot.press("i")
        dialog = app.screen
        assert isinstance(dialog, ImportScreen)
        dialog.query_one("#path", Input).value = str(folder)
        dialog.query_one("#path", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: dialog.outcome is not None, seconds=60)
        counts = dialog.outcome.summary.counts
        assert counts == {"imported": 2, "duplicate": 0, "flagged": 1, "failed": 0}
        message = str(dialog.query_one("#message", Static).render())
        assert "2 imported" in message and "1 flagged" in message
        assert dialog.query_one("#go", Button).label.plain == "Close"
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen)
        assert "Compte rendu d'examens biologiques" in _titles(screen)
    docs = filled.documents.list(limit=None)
    assert len(docs) == before + 3
    assert _actions(filled, "document.import") >= 3 + 5  # the fixture's 5, then these 3


@sync
async def test_import_of_a_path_that_does_not_exist_says_so(filled: Any, tmp_path: Path) -> None:
    before = len(filled.documents.list(limit=None))
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _documents(pilot)
        await pilot.press("i")
        dialog = app.screen
        dialog.query_one("#path", Input).value = str(tmp_path / "nowhere")
        dialog.query_one("#path", Input).focus()
        await pilot.press("enter")
        assert "No such file or folder" in str(dialog.query_one("#message", Static).render())
        assert isinstance(app.screen, ImportScreen) and dialog.outcome is None
    assert len(filled.documents.list(limit=None)) == before


@sync
async def test_edit_refuses_a_bad_date_in_the_form_then_saves(filled: Any) -> None:
    """A wrong date stays in the form with the core's message; nothing is written until fixed."""
    rid = fixed_id(1)
    edits = _actions(filled, "document.edit")
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        table = screen.query_one("#table")
        table.move_cursor(row=table.get_row_index(rid))
        await pilot.press("e")
        form = app.screen
        assert isinstance(form, EditDocumentScreen)
        form.query_one("#title", Input).value = "Bilan lipidique de mars"
        form.query_one("#date", Input).value = "31/02/2025"
        form.query_one("#tags", Input).value = "cœur, suivi"
        await pilot.click("#yes")
        assert isinstance(app.screen, EditDocumentScreen)
        assert str(form.query_one("#error", Static).render())
        assert _actions(filled, "document.edit") == edits
        assert filled.documents.get(rid).title == "Bilan lipidique"
        form.query_one("#date", Input).value = "2025-03-14"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen,
                    message=lambda: str(form.query_one("#error", Static).render()))
    doc = filled.documents.get(rid)
    assert (doc.title, doc.date.isoformat(), list(doc.tags)) == (
        "Bilan lipidique de mars", "2025-03-14", ["cœur", "suivi"])
    assert not doc.date_guessed
    assert _actions(filled, "document.edit") == edits + 1


@sync
async def test_saving_the_form_confirms_a_guessed_type_and_date(filled: Any) -> None:
    """The person saw the guesses in the form and saved: they are no longer guesses."""
    from tests.tui.helpers import add_document

    rid = add_document(filled, filled.people.owner().id, 20, title="Compte rendu",
                       text="Scanner thoracique", type_code="18748-4", date="2025-04-02",
                       guessed=True)
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        table = screen.query_one("#table")
        table.move_cursor(row=table.get_row_index(rid))
        await pilot.press("e")
        assert isinstance(app.screen, EditDocumentScreen)
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen)
    doc = filled.documents.get(rid)
    assert (doc.type_code, doc.date.isoformat()) == ("18748-4", "2025-04-02")
    assert not doc.type_guessed and not doc.date_guessed


@sync
async def test_edit_with_nothing_changed_writes_nothing(filled: Any) -> None:
    edits = _actions(filled, "document.edit")
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        await pilot.press("e")
        await pilot.click("#yes")
        await until(pilot, lambda: app.screen is screen)
    assert _actions(filled, "document.edit") == edits


@sync
async def test_the_trash_cycle_delete_restore_erase(filled: Any) -> None:
    """Delete (confirmed) → t shows the trash → r restores; Delete there erases for good."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        first = screen.current
        assert first is not None
        await pilot.press("delete")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await until(pilot, lambda: first.title not in _titles(screen))
        await pilot.press("t")
        assert screen.in_trash and _titles(screen) == [first.title]
        await pilot.press("r")
        await until(pilot, lambda: _titles(screen) == [])
        assert filled.documents.get(first.id).trashed_at is None
        await pilot.press("t")
        assert first.title in _titles(screen)
        await pilot.press("delete", "y", "t")  # to the trash again, then into the trash
        await until(pilot, lambda: _titles(screen) == [first.title])
        await pilot.press("delete")
        assert "for good" in str(app.screen.query_one(Static).render())
        await pilot.press("y")
        await until(pilot, lambda: _titles(screen) == [])
    assert _actions(filled, "document.purge") == 1
    assert first.id not in {d.id for d in filled.documents.list(limit=None)}


@sync
async def test_the_date_filter_keeps_the_period(filled: Any) -> None:
    """Last 3 months of Mon 16 June 2025: from 17 March; older than 5 years: none."""
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        period = screen.query_one("#period", Select)
        before = screen.shown
        period.value = "12m"
        await until(pilot, lambda: screen.shown > before)
        assert sorted(_titles(screen)) == ["Bilan lipidique", "Certificat de sport",
                                           "Ordonnance Dr Lefèvre", "Échographie abdominale"]
        before = screen.shown
        period.value = "3m"
        await until(pilot, lambda: screen.shown > before)
        assert _titles(screen) == []  # the latest is 12 March
        assert "No document matches" in str(screen.query_one("#count", Static).render())
        before = screen.shown
        period.value = "5y"
        await until(pilot, lambda: screen.shown > before)
        await pilot.press("slash", *"tennis")
        await until(pilot, lambda: _titles(screen) == ["Certificat de sport"])


@sync
async def test_open_hands_a_private_copy_to_the_viewer_and_removes_it(
        filled: Any, tmp_path: Path, monkeypatch: Any) -> None:
    """The viewer gets the exact bytes; once the person says they are done, the copy is gone."""
    seen = tmp_path / "seen.pdf"
    where = tmp_path / "where"
    script = f'cp "$0" {shlex.quote(str(seen))}; echo "$0" > {shlex.quote(str(where))}'
    monkeypatch.setenv("MSANTE_VIEWER", f"sh -c {shlex.quote(script)}")
    rid = fixed_id(2)
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        screen = await _documents(pilot)
        table = screen.query_one("#table")
        table.move_cursor(row=table.get_row_index(rid))
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen))  # a quick "launcher"
        copy = Path(where.read_text().strip())
        assert copy.exists() and screen.copies == {copy}
        await pilot.press("enter")
        await until(pilot, lambda: not copy.exists())
        assert not copy.parent.exists() and not screen.copies
    assert seen.read_bytes() == b"%PDF-1.4 Ordonnance Dr Lefevre\n".replace(
        b"Lefevre", "Lefèvre".encode()) + b"Doliprane 1000 mg, 3 fois par jour pendant 5 jours.\n"
    opened = [e for e in filled.audit.entries(action="document.read")
              if e.detail.get("how") == "open" and e.record == rid]
    assert len(opened) == 1


@sync
async def test_a_copy_still_open_is_removed_when_the_app_quits(
        filled: Any, tmp_path: Path, monkeypatch: Any) -> None:
    where = tmp_path / "where"
    monkeypatch.setenv("MSANTE_VIEWER", f"sh -c {shlex.quote('echo $0 > ' + str(where))}")
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _documents(pilot)
        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, DoneScreen))
        copy = Path(where.read_text().strip())
        assert copy.exists()
        await pilot.press("ctrl+q")
    assert not copy.exists()


@sync
async def test_the_picker_starts_where_the_last_import_was_in_an_earlier_session(
        filled: Any, tmp_path: Path) -> None:
    """Issue 11 part 5: the folder of the last import outlives the app (kept encrypted in the
    vault, its change audited), and the next session's picker starts there."""
    from msante.api import Vault
    from tests.helpers_vault import keys_of

    folder = tmp_path / "courrier"
    folder.mkdir()
    (folder / "ordonnance.pdf").write_bytes(pdfgen.prescription())
    app = app_for(filled)
    async with app.run_test(size=SIZE) as pilot:
        await _documents(pilot)
        await pilot.press("i")
        dialog = app.screen
        dialog.query_one("#path", Input).value = str(folder)
        dialog.query_one("#path", Input).focus()
        await pilot.press("enter")
        await until(pilot, lambda: dialog.outcome is not None, seconds=60)
        await pilot.press("escape")
    home = filled.path
    filled.close()
    assert str(folder).encode() not in (home / "vault.db").read_bytes()  # encrypted at rest
    again = Vault.open(home, keys_of(home))
    try:
        assert _actions(again, "vault.preference") == 1
        app = app_for(again)
        async with app.run_test(size=SIZE) as pilot:
            await _documents(pilot)
            await pilot.press("i")
            dialog = app.screen
            assert isinstance(dialog, ImportScreen)
            assert dialog.query_one("#path", Input).value == str(folder) + "/"
    finally:
        again.close()
