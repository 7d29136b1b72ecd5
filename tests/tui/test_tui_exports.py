"""Writing out of the vault from the TUI, as the CLI does: the PDF summary, the emergency card
and its QR code, the calendar (.ics), the backup. Each file is new, 0600 and in the history."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from textual.pilot import Pilot
from textual.widgets import Checkbox, Input, Static

from msante.tui.paths import complete, in_words, system_error
from msante.tui.screens.base import MainScreen
from msante.tui.screens.exports import CardScreen, ExportForm
from tests.tui.helpers import app_for, sync, until


async def _form(pilot: Pilot[None], key: str) -> ExportForm:
    await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen)
                and pilot.app.screen.loaded)
    await pilot.press(key)
    await until(pilot, lambda: isinstance(pilot.app.screen, ExportForm))
    form = pilot.app.screen
    assert isinstance(form, ExportForm)
    return form


async def _write(pilot: Pilot[None], form: ExportForm, path: Path) -> str:
    form.query_one("#path", Input).value = str(path)
    await pilot.press("enter")
    await until(pilot, lambda: form.said is not None or not form.running
                and bool(str(form.query_one("#message", Static).render()).strip()))
    await until(pilot, lambda: not form.running)
    return str(form.query_one("#message", Static).render())


def _actions(vault: Any) -> list[str]:
    return [e.action for e in vault.audit.entries()]


def _private(path: Path) -> bool:
    return path.stat().st_mode & 0o777 == 0o600


@sync
async def test_the_pdf_summary_is_written_0600_and_audited(filled: Any, tmp_path: Path) -> None:
    out = tmp_path / "resume.pdf"
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "S")
        said = await _write(pilot, form, out)
        assert "Summary written to" in said, said
        await pilot.press("enter")  # Close
        await until(pilot, lambda: not isinstance(pilot.app.screen, ExportForm))
    assert out.read_bytes().startswith(b"%PDF") and _private(out)
    assert "summary.pdf" in _actions(filled)


@sync
async def test_an_existing_file_is_refused_in_the_form(filled: Any, tmp_path: Path) -> None:
    out = tmp_path / "there.pdf"
    out.write_bytes(b"mine")
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "S")
        said = await _write(pilot, form, out)
        assert "already exists" in said and form.said is None, said
    assert out.read_bytes() == b"mine"


@sync
async def test_a_missing_folder_is_said_in_words(filled: Any, tmp_path: Path) -> None:
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "B")
        said = await _write(pilot, form, tmp_path / "nope" / "b.msb")
        assert "no such file or folder" in said, said


@sync
async def test_the_calendar_of_everyone_is_written(filled: Any, tmp_path: Path) -> None:
    out = tmp_path / "agenda.ics"
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "C")
        form.query_one("#option", Checkbox).value = True
        said = await _write(pilot, form, out)
        assert ": 1 appointment, " in said, said
    assert b"BEGIN:VCALENDAR" in out.read_bytes() and b"Dentiste" in out.read_bytes()
    assert _private(out)
    assert "agenda.export" in _actions(filled)


@sync
async def test_the_backup_is_written_and_audited(filled: Any, tmp_path: Path) -> None:
    out = tmp_path / "b.msb"
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        form = await _form(pilot, "B")
        said = await _write(pilot, form, out)
        assert "Backup written to" in said and "5 document files" in said, said
    assert out.stat().st_size > 0 and _private(out)
    assert "backup.create" in _actions(filled)


@sync
async def test_the_emergency_card_shows_and_writes_its_qr(filled: Any, tmp_path: Path) -> None:
    filled.profile.add(filled.people.owner(), "allergies", {"substance": "Pénicilline"})
    out = tmp_path / "card.png"
    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen)
                    and pilot.app.screen.loaded)
        await pilot.press("E")
        await until(pilot, lambda: isinstance(pilot.app.screen, CardScreen))
        card = pilot.app.screen
        assert "Pénicilline" in str(card.query_one("#card").query_one(Static).render())
        card.query_one("#path", Input).value = str(out)
        await pilot.press("enter")
        said = str(card.query_one("#message", Static).render())
        assert "QR code written to" in said, said
    assert out.read_bytes().startswith(b"\x89PNG") and _private(out)
    assert "summary.emergency" in _actions(filled)


@sync
async def test_the_palette_finds_another_screens_action_and_runs_it_there(filled: Any) -> None:
    from msante.tui.commands import MsanteCommands
    from msante.tui.screens.doc_import import ImportScreen

    async with app_for(filled).run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen)
                    and pilot.app.screen.loaded)
        provider = MsanteCommands(pilot.app.screen)
        names = {name: run for name, run, _help in provider._commands()}
        for wanted in ("Documents: Import", "Agenda: Add", "Profile: None known",
                       "PDF summary", "Emergency card and QR code",
                       "Export the calendar (.ics)", "Back up the vault"):
            assert wanted in names, sorted(names)
        await pilot.press("ctrl+p", *"documents: import")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(pilot.app.screen, ImportScreen))
        assert getattr(pilot.app.screen_stack[-2], "NAME", "") == "documents"


def test_path_completion_and_system_errors_in_words(tmp_path: Path) -> None:
    (tmp_path / "Téléchargements").mkdir()
    (tmp_path / "bilan.pdf").write_bytes(b"x")
    (tmp_path / ".cache").mkdir()
    assert complete(f"{tmp_path}/T") == f"{tmp_path}/Téléchargements/"
    assert complete(f"{tmp_path}/b") == f"{tmp_path}/bilan.pdf"
    assert complete(f"{tmp_path}/.c") == f"{tmp_path}/.cache/"
    assert complete(f"{tmp_path}/z") is None
    (tmp_path / "bilans").mkdir()
    assert complete(f"{tmp_path}/b") == f"{tmp_path}/bilans/"  # a folder first
    assert complete(f"{tmp_path}/nope/x") is None
    assert in_words(f"failed: /nope ({os.strerror(2)})") == "failed: /nope (no such file or folder)"
    error = FileNotFoundError(2, os.strerror(2))
    assert system_error(Path("/nope"), error) == "Cannot write /nope: no such file or folder"


def test_a_system_error_is_said_in_french() -> None:
    """`échec : /nope (No such file or directory)` becomes `(fichier ou dossier introuvable)`."""
    from msante import i18n

    i18n.setup("fr")
    try:
        line = i18n._("{status}: {path}").format(status=i18n._("failed"), path="/nope")
        said = in_words(f"{line} ({os.strerror(2)})")
        assert said == "échec\u202f: /nope (fichier ou dossier introuvable)", said
    finally:
        i18n.setup("en")
