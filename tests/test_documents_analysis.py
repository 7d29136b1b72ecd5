"""What an import makes of a PDF, and that unlocking a protected PDF later makes the same:
title, author, date and type. Also titles made from file names, and a numeric date that reads
two ways, settled by the PDF's own creation date."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from msante.documents import analysis
from msante.documents.dates import guess_date
from tests import pdfgen

DESCRIBED = ("title", "author", "date", "date_guessed", "type", "type_guessed")


def doc_import(cli, made, path: Path, *args) -> dict:
    r = cli("doc", "import", path, *args, "--json", pfile=made)
    assert r.code in (0, 8), r.err
    return dict(r.lines()[0])


def described(cli, made, doc_id: str) -> dict:
    shown = cli("doc", "show", doc_id, "--json", pfile=made).json()
    return {k: shown[k] for k in DESCRIBED}


def test_unlocking_later_describes_the_pdf_as_an_import_with_its_password(cli, made, tmp_path):
    """Before, unlock-pdf found no date (the import had guessed none, so there was nothing to
    "guess again") and no author, and kept the file name as the title."""
    pdf = tmp_path / "resultats_proteges.pdf"
    pdf.write_bytes(pdfgen.encrypted_pdf(user_password="s3cret"))
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    assert cli("people", "add", "Léo Martin", "--born", "2015-01-01", "--sex", "male",
               pfile=made).code == 0
    with_password = doc_import(cli, made, pdf, "--person", "Léo Martin", "--password-file",
                               password)
    locked = doc_import(cli, made, pdf)
    assert locked["flags"] == ["encrypted"] and locked["date"] is None
    r = cli("doc", "unlock-pdf", locked["id"], "--password-file", password, pfile=made)
    assert r.code == 0, r.err
    unlocked = described(cli, made, locked["id"])
    assert unlocked == described(cli, made, with_password["id"])
    assert unlocked["author"] == "Laboratoire Bioaccess" and unlocked["date"] == "2025-03-12"
    assert unlocked["title"] == "Résultats protégés"


def test_unlocking_keeps_what_the_person_set(cli, made, tmp_path):
    pdf = tmp_path / "p.pdf"
    pdf.write_bytes(pdfgen.encrypted_pdf(user_password="s3cret"))
    password = tmp_path / "pw"
    password.write_text("s3cret\n")
    doc_id = doc_import(cli, made, pdf, "--title", "Mon bilan", "--date", "2025-03-20")["id"]
    assert cli("doc", "unlock-pdf", doc_id, "--password-file", password, pfile=made).code == 0
    shown = described(cli, made, doc_id)
    assert (shown["title"], shown["date"], shown["date_guessed"]) == (
        "Mon bilan", "2025-03-20", False)
    assert shown["author"] == "Laboratoire Bioaccess"


@pytest.mark.parametrize("name, title", [
    ("compte__rendu_IRM.pdf", "compte rendu IRM"), ("  _bilan_ 2024_.pdf", "bilan 2024"),
    ("scan.2024.03.pdf", "scan.2024.03"), ("__.pdf", "__.pdf")])
def test_a_title_from_a_file_name_has_single_spaces(name, title):
    """`__` became a double space in the title."""
    assert analysis.name_title(name) == title


def test_a_title_from_a_file_name_through_an_import(cli, made, tmp_path):
    pdf = tmp_path / "ordonnance__Dr_Martin.pdf"
    pdf.write_bytes(pdfgen.plain_pdf(["Ordonnance", "Doliprane 1000 mg"]))
    assert doc_import(cli, made, pdf)["title"] == "ordonnance Dr Martin"


def footer_pdf(created: str, *lines: str) -> bytes:
    return pdfgen.plain_pdf(["Compte rendu de consultation", "Patient vu pour une toux.",
                             *lines, "Page 1 - 2/10/04"], created=created)


@pytest.mark.parametrize("created, expected", [
    ("D:20040210093000+01'00'", "2004-02-10"),  # the metadata says February: month first
    ("D:20040211170000+01'00'", "2004-02-10"),  # made the next day: still February 10
    ("D:20041002093000+01'00'", "2004-10-02"),  # the metadata agrees with day first
    ("D:20240110093000+01'00'", "2004-10-02"),  # scanned years later: it says nothing
])
def test_an_ambiguous_date_is_read_the_way_the_metadata_confirms(cli, made, tmp_path,
                                                                  created, expected):
    """A footer "2/10/04" was read day first (2 October) against a PDF made on 10 February:
    when the text cannot tell the order and the PDF's own date confirms the other reading,
    that reading wins."""
    pdf = tmp_path / "cr.pdf"
    pdf.write_bytes(footer_pdf(created))
    found = doc_import(cli, made, pdf)
    assert (found["date"], found["date_guessed"]) == (expected, True)


def test_a_text_that_shows_its_order_is_not_overruled(cli, made, tmp_path):
    """14/03/04 elsewhere in the text shows day-first dates: 2/10/04 is 2 October."""
    pdf = tmp_path / "cr.pdf"
    pdf.write_bytes(footer_pdf("D:20040210093000+01'00'", "Vu le 14/03/04 pour la même toux."))
    assert doc_import(cli, made, pdf)["date"] == "2004-10-02"


def test_the_other_reading_is_offered_only_when_there_is_one():
    today = dt.date(2025, 6, 1)
    assert guess_date("le 2/10/04", today=today).alternative == dt.date(2004, 2, 10)
    assert guess_date("le 2/2/04", today=today).alternative is None
    assert guess_date("le 13/10/04", today=today).alternative is None
    assert guess_date("le 2004-10-02", today=today).alternative is None
