"""The printable summary (PDF) and the emergency card (terminal, QR code): what they hold and in
which order, French text drawn for real, long and many entries, files private and audited, the
QR text's byte budget and what it drops first — through the service and through the CLI."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
import segno
from PIL import Image
from pypdf import PdfReader

from msante import i18n
from msante.errors import AlreadyExistsError, MsanteError
from msante.formats import pdf_out, qr
from msante.profile import summary
from msante.profile.summary import DROP_ORDER, QR_MAX_BYTES, Card, Item

TODAY = dt.date(2026, 11, 23)
FULL = [
    ("allergies", {"substance": "Pénicilline", "reaction": "œdème de Quincke",
                   "severity": "severe", "category": "medication", "since": "2010",
                   "note": "réaction ≥ 2 fois – « grave »"}),
    ("allergies", {"substance": "Arachide", "severity": "mild", "category": "food"}),
    ("treatments", {"medicine": "Lévothyroxine", "dose": "75 µg", "frequency": "1 par jour",
                    "start": "2018-03", "reason": "hypothyroïdie"}),
    ("conditions", {"condition": "Asthme", "status": "active", "onset": "2001"}),
    ("conditions", {"condition": "Appendicectomie", "status": "resolved", "kind": "surgical",
                    "resolved_on": "1999-07"}),
    ("vaccinations", {"vaccine": "DTP (rappel)", "date": "2020-05-04", "dose": "3"}),
    ("blood-group", {"group": "A+"}),
    ("trusted-person", {"name": "Jean Martin", "relation": "époux",
                        "phone": "+33 6 12 34 56 78"}),
    ("directives", {"text": "Pas d'acharnement thérapeutique.", "date": "2024-01-15"}),
]


def fill(vault, entries=FULL):
    owner = vault.people.owner()
    for section, values in entries:
        vault.profile.add(owner, section, values)
    return owner


def pdf_of(vault, tmp_path: Path, name: str = "summary.pdf") -> tuple[Path, int]:
    owner = vault.people.owner()
    path = tmp_path / name
    pages = summary.save_pdf(vault, summary.build_summary(vault, owner, TODAY), path)
    return path, pages


def text_of(path: Path) -> str:
    """The PDF's text, white space collapsed (cells wrap where the column ends)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(path).pages).split())


def last_audit(vault) -> tuple[str, dict]:
    action, detail = vault.store.conn.execute(
        "SELECT action, detail FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    return action, json.loads(detail or "{}")


# -- the PDF ----------------------------------------------------------------------------------

def test_the_pdf_draws_french_text_and_puts_allergies_first(vault, tmp_path) -> None:
    """The text read back from the PDF has its accents, œ, ≥, – and guillemets (the embedded
    Unicode font draws them) and the sections come in the order a doctor reads them."""
    fill(vault)
    path, pages = pdf_of(vault, tmp_path)
    text = text_of(path)
    for word in ("Pénicilline", "œdème de Quincke", "≥ 2 fois", "–", "« grave »",
                 "Lévothyroxine", "Appendicectomie", "+33 6 12 34 56 78", "A+",
                 "Pas d'acharnement thérapeutique."):
        assert word in text, word
    order = [text.index(t) for t in ("Identity", "Allergies and intolerances", "Treatments",
                                     "Medical and surgical history", "Vaccinations",
                                     "Latest measurements", "Trusted person",
                                     "Advance directives")]
    assert order == sorted(order)
    assert text.index("Asthme") < text.index("History") < text.index("Appendicectomie")
    assert f"Page 1/{pages}" in text and "Issued on November 23, 2026" in text


def test_identity_shows_name_birth_date_age_and_sex(vault, tmp_path) -> None:
    """The identity block a printed summary starts with (age on the date of issue)."""
    path, _pages = pdf_of(vault, tmp_path)
    text = text_of(path)
    assert "Camille Martin" in text and "June 2, 1985" in text
    assert "41 years" in text and "female" in text and "Not recorded" in text


def test_empty_sections_say_so_rather_than_vanish(vault, tmp_path) -> None:
    """An empty profile still lists allergies and treatments, with "None recorded", and a
    stated "no known allergy" is printed as such."""
    path, _pages = pdf_of(vault, tmp_path, "empty.pdf")
    text = text_of(path)
    assert "Allergies and intolerances None recorded" in text
    assert "Treatments None recorded" in text
    vault.profile.add_none(vault.people.owner(), "allergies")
    path, _pages = pdf_of(vault, tmp_path, "none.pdf")
    assert "Allergies and intolerances No known allergy" in text_of(path)


def test_the_date_of_issue_and_dates_follow_the_language(vault, tmp_path) -> None:
    """In French, dates are written the French way by Babel ("23 novembre 2026")."""
    fill(vault)
    i18n.setup("fr")
    made = summary.build_summary(vault, vault.people.owner(), TODAY)
    assert "23 novembre 2026" in made.document.footer
    assert made.document.language == "fr"
    summary.save_pdf(vault, made, tmp_path / "fr.pdf")
    text = text_of(tmp_path / "fr.pdf")
    assert "2 juin 1985" in text and "mars 2018" in text and "4 mai 2020" in text


def test_latest_measurements_come_with_the_bmi(vault, tmp_path) -> None:
    """The latest value of each kind (not older ones), and the BMI the measures module gives."""
    owner = vault.people.owner()
    vault.measures.add(owner, "weight", "80", at="2025-01-01")
    vault.measures.add(owner, "height", "170")
    vault.measures.add(owner, "weight", "72.5")
    made = summary.build_summary(vault, owner, TODAY)
    assert made.counts["measurements"] == 2
    path = tmp_path / "m.pdf"
    summary.save_pdf(vault, made, path)
    text = text_of(path)
    assert "72.5 kg" in text and "80 kg" not in text and "25.1 kg/m²" in text


def test_the_pdf_is_private_audited_and_carries_metadata(vault, tmp_path) -> None:
    """Plaintext leaving the vault: mode 0600, one `summary.pdf` audit entry naming the file
    (not its content), and the title, author and creation date a PDF reader shows."""
    fill(vault)
    path, pages = pdf_of(vault, tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert last_audit(vault) == ("summary.pdf", {"file": "summary.pdf", "pages": pages})
    meta = PdfReader(path).metadata
    assert meta.title == "Health summary" and meta.author == "msante"
    assert meta.creation_date.date() >= dt.date.today() - dt.timedelta(days=1)
    assert [p.name for p in tmp_path.iterdir()] == ["summary.pdf"]  # no temp file left


def test_a_file_that_cannot_be_written_leaves_nothing_and_no_audit(vault, tmp_path) -> None:
    """An existing file is never replaced; a missing folder is a clean error; either way no
    file appears and nothing is recorded as having left the vault."""
    made = summary.build_summary(vault, vault.people.owner(), TODAY)
    before = vault.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0]
    (tmp_path / "taken.pdf").write_bytes(b"mine")
    with pytest.raises(AlreadyExistsError):
        summary.save_pdf(vault, made, tmp_path / "taken.pdf")
    with pytest.raises(MsanteError, match="Cannot write"):
        summary.save_pdf(vault, made, tmp_path / "missing" / "s.pdf")
    assert (tmp_path / "taken.pdf").read_bytes() == b"mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.pdf"]
    assert vault.store.conn.execute("SELECT count(*) FROM audit").fetchone()[0] == before


def add_many(vault, owner, n: int, measures: int = 0) -> None:
    """`n` entries over four sections (and `measures` measurements) in one transaction."""
    now = dt.datetime.now(dt.UTC)
    kinds = [("weight", "70"), ("height", "170"), ("blood-pressure", "120/80"),
             ("glucose", "1.0")]
    with vault.store.write() as tx:
        for i in range(n):
            section, values = [
                ("allergies", {"substance": f"Substance {i} œ", "severity": "severe"}),
                ("treatments", {"medicine": f"Médicament {i}", "dose": "1 mg"}),
                ("conditions", {"condition": f"Maladie {i}", "status": "active"}),
                ("vaccinations", {"vaccine": f"Vaccin {i}", "date": "2020-01-01"}),
            ][i % 4]
            vault.profile.add_in(tx, owner, section, values)
        for i in range(measures):
            kind, value = kinds[i % 4]
            vault.measures.add_in(tx, owner, kind, value, at=now - dt.timedelta(minutes=i))
        vault.store.log(tx, "test.fill")


def test_a_thousand_entries_paginate_with_every_row(vault, tmp_path) -> None:
    """A long profile flows over many pages, each with its header and "Page x/y", and no
    entry is lost at a page break."""
    add_many(vault, vault.people.owner(), 1000)
    path, pages = pdf_of(vault, tmp_path)
    reader = PdfReader(path)
    assert pages == len(reader.pages) >= 20
    last = " ".join(reader.pages[-1].extract_text().split())
    assert f"Page {pages}/{pages}" in last and "Camille Martin, born June 2, 1985" in last
    text = text_of(path)
    assert all(f"Substance {i} œ" in text for i in range(0, 1000, 4))
    assert all(f"Vaccin {i}" in text for i in range(3, 1000, 4))


def best_time(func, runs: int = 5) -> float:
    times = []
    for _run in range(runs):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def test_the_summary_does_not_read_every_measurement(vault, monkeypatch) -> None:
    """Only the latest value of each kind is read (one query): 10,000 measurements cost about
    what one per kind costs, and the listing and streaming reads are never called."""
    owner = vault.people.owner()
    add_many(vault, owner, 1000, measures=4)
    baseline = best_time(lambda: summary.build_summary(vault, owner, TODAY))
    add_many(vault, owner, 0, measures=10_000)
    for name in ("list", "stream", "chart_series"):
        monkeypatch.setattr(vault.measures, name, _refuse)
    full = best_time(lambda: summary.build_summary(vault, owner, TODAY))
    assert summary.build_summary(vault, owner, TODAY).counts["measurements"] == 4
    assert full <= 3 * baseline + 0.01, (full, baseline)


def _refuse(*args: object, **kwargs: object) -> None:
    raise AssertionError("the summary must not read every measurement")


def test_overlong_cells_and_missing_glyphs_still_render(vault, tmp_path) -> None:
    """A 2,000-character note would make a table row taller than a page: it is cut with a
    mark and printed whole after the table; a character the font lacks becomes "?"."""
    fill(vault, [("allergies", {"substance": "Latex", "note": "mot " * 500}),
                 ("treatments", {"medicine": "x" * 2000}),
                 ("conditions", {"condition": "漢字 \U0001F9EC"})])
    path, _pages = pdf_of(vault, tmp_path)
    text = text_of(path)
    assert "… [1]" in text and "[1] " + " ".join(["mot"] * 500) in text
    runs = sum(map(len, re.findall("x{10,}", text)))
    assert runs == 240 + 2000  # the cut cell, then the whole note over a page break
    assert "Condition ??" in text


def test_cut_long_cells_numbers_the_notes() -> None:
    """Short cells are left alone; long ones point to their numbered note, in order."""
    rows, notes = pdf_out.cut_long_cells([["a", "b" * 400], ["c" * 301, "d"]])
    assert rows[0][0] == "a" and rows[0][1].endswith("… [1]") and rows[1][0].endswith("[2]")
    assert notes == [(1, "b" * 400), (2, "c" * 301)]


def test_a_cell_of_many_lines_or_characters_never_makes_a_row_taller_than_a_page(
        vault, tmp_path) -> None:
    """A note of 140 short lines made fpdf2 refuse the row ("too high"): line breaks in a cell
    are drawn as " / ", so it is cut by characters like a 5,000-character one (longer than a
    profile note may be, so drawn directly), and the notes follow the table whole."""
    lines = "\n".join(f"ligne {i}" for i in range(140))
    fill(vault, [("allergies", {"substance": "Latex", "note": lines})])
    path, pages = pdf_of(vault, tmp_path)
    text = text_of(path)
    assert "ligne 0 / ligne 1 / ligne 2" in text and "… [1]" in text
    assert "[1] ligne 0 ligne 1" in text and "ligne 139" in text
    assert pages == len(PdfReader(path).pages)
    table = pdf_out.Table(("Medicine", "Note"), [("Lévothyroxine", "y" * 5000), ("b", lines)])
    doc = pdf_out.Document("T", "S", [pdf_out.Section("Treatments", [table] * 3)])
    (tmp_path / "direct.pdf").write_bytes(pdf_out.render(doc).data)
    text = text_of(tmp_path / "direct.pdf")
    assert sum(map(len, re.findall("y{10,}", text))) == 3 * (240 + 5000)


def test_line_breaks_in_cells_become_slashes() -> None:
    """Blank lines go; a short cell of several lines stays whole on one line, no note."""
    rows, notes = pdf_out.cut_long_cells([["a\r\nb\n\n  c  ", "d"]])
    assert rows == [["a / b / c", "d"]] and notes == []
    rows, notes = pdf_out.cut_long_cells([["x\n" * 200]])
    assert rows[0][0].startswith("x / x / x") and rows[0][0].endswith("… [1]")
    assert len(rows[0][0]) < pdf_out.CELL_MAX and notes == [(1, "x\n" * 200)]


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler) missing")
def test_a_rendered_page_is_not_blank(vault, tmp_path) -> None:
    """Poppler draws the first page: there is ink on it (text and rules), but mostly paper."""
    fill(vault)
    path, _pages = pdf_of(vault, tmp_path)
    subprocess.run(["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(path),
                    str(tmp_path / "page")], check=True, capture_output=True)
    with Image.open(next(tmp_path.glob("page*.png"))) as image:
        histogram = image.convert("L").histogram()
    dark = sum(histogram[:128]) / sum(histogram)
    assert 0.005 < dark < 0.2, dark


# -- the emergency card -------------------------------------------------------------------------

def test_the_card_holds_what_a_rescuer_needs(vault) -> None:
    """Name, birth date, blood group, allergies (severe first), treatments, current
    conditions (not resolved ones) and the trusted person with relation and phone."""
    owner = fill(vault)
    card = summary.emergency_card(vault, owner)
    text = card.text()
    for word in ("Camille Martin", "June 2, 1985", "Blood group: A+",
                 "Pénicilline (severe, œdème de Quincke, réaction ≥ 2 fois – « grave »)",
                 "Lévothyroxine (75 µg, 1 par jour)", "Asthme",
                 "Jean Martin (époux) +33 6 12 34 56 78"):
        assert word in text, word
    assert "Appendicectomie" not in text
    assert text.index("Pénicilline") < text.index("Arachide")
    assert card.fit() == (text, ())


def test_an_empty_card_says_what_is_not_known(vault) -> None:
    """No entry is not the same as "no known allergy": both are said, never left blank."""
    owner = vault.people.owner()
    vault.profile.add_none(owner, "allergies")
    text = summary.emergency_card(vault, owner).text()
    assert "Allergies: No known allergy" in text and "Treatments: None recorded" in text
    assert "Blood group: not recorded" in text and "Trusted person: None recorded" in text


def test_french_card_lists_take_a_narrow_no_break_space_before_semicolons(vault) -> None:
    """French typography puts U+202F before ";": the card's lists must too (issue 11, 5)."""
    owner = fill(vault)
    i18n.setup("fr")
    text = summary.emergency_card(vault, owner).text()
    allergies = next(line for line in text.splitlines() if line.startswith("Allergies"))
    assert "\u202f; Arachide" in allergies, allergies
    assert " ;" not in text and re.search(r"[^\u202f];", text) is None, text


PAST_AND_CURRENT = [
    ("treatments", {"medicine": "Lévothyroxine", "start": "2018-03"}),
    ("treatments", {"medicine": "Amoxicilline", "start": "2026-11-10", "end": "2026-11-22"}),
    ("treatments", {"medicine": "Ancien", "start": "2020", "end": "2025"}),
    ("treatments", {"medicine": "Octobre", "start": "2026-10", "end": "2026-10"}),
    ("treatments", {"medicine": "Ce mois", "start": "2026-11", "end": "2026-11"}),
    ("treatments", {"medicine": "Cette année", "start": "2026", "end": "2026"}),
    ("treatments", {"medicine": "Jusqu'à ce soir", "start": "2026-11-01",
                    "end": "2026-11-23"}),
    ("conditions", {"condition": "Asthme", "status": "active", "onset": "2001"}),
    ("conditions", {"condition": "Diabète", "onset": "2015"}),
    ("conditions", {"condition": "Appendicectomie", "kind": "surgical", "status": "active"}),
    ("conditions", {"condition": "Varicelle", "status": "resolved"}),
    ("conditions", {"condition": "Fracture", "resolved_on": "2010-05"}),
]
CURRENT_TREATMENTS = ["Lévothyroxine", "Ce mois", "Cette année", "Jusqu'à ce soir"]
PAST_TREATMENTS = ["Amoxicilline", "Ancien", "Octobre"]


def test_the_card_lists_only_current_treatments_and_conditions(vault) -> None:
    """A rescuer reading the card must not think a stopped antibiotic is still taken, nor
    that an appendectomy or a healed fracture is a current condition: a treatment whose end
    (the end of that year or month when partial) is before today is left out, and so are
    surgical, resolved and resolved-on conditions."""
    owner = fill(vault, PAST_AND_CURRENT)
    card = summary.emergency_card(vault, owner, TODAY)
    assert sorted(i.text for i in card.lists["treatments"]) == sorted(CURRENT_TREATMENTS)
    assert sorted(i.text for i in card.lists["conditions"]) == ["Asthme", "Diabète"]
    text = card.text()
    for gone in PAST_TREATMENTS + ["Appendicectomie", "Varicelle", "Fracture"]:
        assert gone not in text, gone
    assert len(card.to_json()["treatments"]) == len(CURRENT_TREATMENTS)


def test_a_card_with_only_past_entries_says_none_current(vault) -> None:
    """Only stopped treatments and surgical history: "None current", not "None recorded"."""
    owner = fill(vault, PAST_AND_CURRENT[1:4] + PAST_AND_CURRENT[9:])
    text = summary.emergency_card(vault, owner, TODAY).text()
    assert "Treatments: None current" in text and "Current conditions: None current" in text


def captions(made: summary.Summary, title: str) -> list[tuple[str | None, list[str]]]:
    """(caption, first cells sorted) of each table of a section of the summary."""
    section = next(s for s in made.document.sections if s.title == title)
    return [(t.caption, sorted(row[0] for row in t.rows)) for t in section.parts
            if isinstance(t, pdf_out.Table)]


def test_the_summary_splits_current_and_past_by_the_cards_rules(vault) -> None:
    """The PDF keeps past treatments for the doctor, under "Past" after the current ones; the
    surgical history goes under "History" even when marked active."""
    owner = fill(vault, PAST_AND_CURRENT)
    made = summary.build_summary(vault, owner, TODAY)
    assert captions(made, "Treatments") == [("Current", sorted(CURRENT_TREATMENTS)),
                                            ("Past", sorted(PAST_TREATMENTS))]
    assert captions(made, "Medical and surgical history") == [
        ("Current", ["Asthme", "Diabète"]),
        ("History", ["Appendicectomie", "Fracture", "Varicelle"])]
    assert made.counts["treatments"] == 7


def test_partial_end_dates_mean_the_end_of_their_year_or_month() -> None:
    """2024 ends on Dec 31, 2024-02 on Feb 29 (a leap year); an unreadable date is unknown."""
    assert summary.last_day("2024") == dt.date(2024, 12, 31)
    assert summary.last_day("2024-02") == dt.date(2024, 2, 29)
    assert summary.last_day("2024-02-10") == dt.date(2024, 2, 10)
    assert summary.last_day("2024-13") is None and summary.last_day("") is None


def big_card(allergies: int = 200) -> list:
    entries = [("allergies", {"substance": f"Allergène numéro {i}", "reaction": "urticaire",
                              "severity": "severe" if i % 50 == 7 else "mild",
                              "note": "noté par le Dr Dupont"}) for i in range(allergies)]
    entries += [("treatments", {"medicine": f"Médicament {i}", "dose": "10 mg",
                                "frequency": "matin et soir"}) for i in range(30)]
    entries += [("conditions", {"condition": f"Affection {i}", "status": "active"})
                for i in range(30)]
    return entries + [("blood-group", {"group": "AB-"}),
                      ("trusted-person", {"name": "Léa Martin", "phone": "06 98 76 54 32"}),
                      ("trusted-person", {"name": "Jean Martin", "relation": "époux",
                                          "phone": "+33 6 12 34 56 78"})]  # listed first


def test_two_hundred_allergies_fit_and_keep_the_vital_fields(vault) -> None:
    """However long the profile, the QR text stays within 1,000 bytes, keeps the blood group,
    the first trusted person's phone and the severe allergies, and says how many are left out."""
    owner = fill(vault, big_card())
    fitted = summary.emergency_card(vault, owner).fit(QR_MAX_BYTES)
    assert fitted.size <= QR_MAX_BYTES
    text = fitted.text
    assert "Blood group: AB-" in text and "+33 6 12 34 56 78" in text
    assert "Camille Martin" in text and "June 2, 1985" in text
    assert all(f"Allergène numéro {i}" in text for i in (7, 57, 107, 157))
    dropped = dict(fitted.dropped)
    assert list(dropped) == [d for d in DROP_ORDER if d in dropped]
    kept = 200 - dropped["allergies"]
    assert kept > 4 and f"+{dropped['allergies']} more" in text
    assert dropped["conditions"] == 30 and dropped["treatments"] == 30
    assert dropped["trusted-persons"] == 1 and "Léa" not in text
    assert "urticaire" not in text and "noté" not in text and "10 mg" not in text


def a_card(**lists: tuple[Item, ...]) -> Card:
    base = {"allergies": (), "treatments": (), "conditions": (), "trusted-persons": ()}
    empty = dict.fromkeys(base, "none")
    return Card("Camille Martin", dt.date(1985, 6, 2), "O+", base | lists, empty)


def test_things_are_dropped_in_the_documented_order() -> None:
    """As the budget shrinks, what is left out grows, always in DROP_ORDER: notes, reactions,
    doses, shortened texts, then conditions, other trusted persons, treatments, allergies."""
    card = a_card(
        allergies=tuple(Item(f"Allergie {i} " + "x" * 50, (("severity", "severe"),
                                                           ("reaction", "choc"),
                                                           ("note", "note"))) for i in range(5)),
        treatments=tuple(Item(f"Traitement {i}", (("dose", "1 mg"), ("frequency", "soir"),
                                                  ("note", "n"))) for i in range(5)),
        conditions=tuple(Item(f"Affection {i}", (("note", "n"),)) for i in range(5)),
        **{"trusted-persons": (Item("Jean", (("relation", "époux"), ("phone", "0612"))),
                               Item("Léa", (("phone", "0698"),)))})
    full = card.fit(None)
    seen: list[str] = []
    for budget in range(full.size, 0, -7):
        try:
            fitted = card.fit(budget)
        except MsanteError:
            break
        steps = [d.what for d in fitted.dropped]
        assert fitted.size <= budget and "Blood group: O+" in fitted.text
        assert steps == [s for s in DROP_ORDER if s in steps]
        assert set(seen) <= set(steps), (seen, steps)
        assert "Jean (époux) 0612" in fitted.text or "Jean 0612" not in fitted.text
        assert "0612" in fitted.text
        seen = steps
    assert seen == list(DROP_ORDER) and budget < 250  # the fixed lines, tetanus line included


def test_even_the_longest_texts_fit_the_budget() -> None:
    """Names and relations of 2,000 four-byte characters are shortened: the card still fits
    with the phone whole."""
    huge = "\U0001F600" * 2000
    card = a_card(allergies=(Item(huge, (("severity", huge),)),) * 3,
                  **{"trusted-persons": (Item(huge, (("relation", huge),
                                                     ("phone", "+33 6 12 34 56 78"))),)})
    fitted = card.fit(QR_MAX_BYTES)
    assert fitted.size <= QR_MAX_BYTES and "+33 6 12 34 56 78" in fitted.text
    dropped = dict(fitted.dropped)
    assert dropped["shortened"] == 3 * 2 + 2 and "Blood group: O+" in fitted.text
    assert summary.describe(summary.Dropped("shortened", 7)) == "7 long texts shortened"


def test_dropped_items_are_described_in_words() -> None:
    """What the terminal says was left out, with plurals."""
    assert summary.describe(summary.Dropped("notes", 1)) == "1 note"
    assert summary.describe(summary.Dropped("allergies", 12)) == "12 allergies"
    assert summary.describe(summary.Dropped("doses", 2)) == \
        "the doses and frequencies of 2 treatments"


def module_matrix(png: bytes, size: int) -> list[list[int]]:
    """The dark (1) and light (0) modules read back from the image, quiet zone included."""
    with Image.open(io.BytesIO(png)) as opened:
        image = opened.convert("L")
    scale = image.width // size
    return [[int(image.getpixel((x * scale + scale // 2, y * scale + scale // 2)) < 128)
             for x in range(size)] for y in range(size)]


def test_the_qr_png_holds_the_card_text(vault, tmp_path) -> None:
    """The PNG's modules are exactly the QR code of the text (error correction M, a 4-module
    quiet zone), large enough for a phone; zbarimg, when installed, decodes the same text."""
    owner = fill(vault)
    card = summary.emergency_card(vault, owner)
    path = tmp_path / "card.png"
    fitted = summary.save_qr(vault, owner, card, path)
    assert fitted.text == card.text()
    code = qr.make(fitted.text)
    assert code.error == "M" and code.mode == "byte"
    width, _height = code.symbol_size(scale=1, border=qr.BORDER)
    expected = [list(map(int, row)) for row in segno.make_qr(
        fitted.text, error="m", boost_error=False, encoding="utf-8").matrix_iter(
        border=qr.BORDER)]
    assert module_matrix(path.read_bytes(), width) == expected
    with Image.open(path) as image:
        assert image.width >= 600
    if shutil.which("zbarimg"):
        out = subprocess.run(["zbarimg", "-q", "--raw", str(path)], capture_output=True,
                             check=True)
        assert out.stdout.decode("utf-8").rstrip("\n") == fitted.text


def test_the_qr_file_is_private_and_audited(vault, tmp_path) -> None:
    """The QR code is plaintext leaving the vault: 0600 and one `summary.emergency` entry
    with the file name, the size and counts of what was left out (no health data)."""
    owner = fill(vault, big_card(50))
    path = tmp_path / "card.png"
    fitted = summary.save_qr(vault, owner, summary.emergency_card(vault, owner), path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    action, detail = last_audit(vault)
    assert action == "summary.emergency" and detail["file"] == "card.png"
    assert detail["bytes"] == fitted.size and detail["dropped"] == dict(fitted.dropped)
    assert "Allergène" not in json.dumps(detail)


# -- through the CLI ------------------------------------------------------------------------------

def test_cli_needs_exactly_one_of_pdf_or_emergency(cli, vault, passphrase_file,
                                                   tmp_path) -> None:
    """Neither, both, or --qr without --emergency: a usage error (exit 2) and no file."""
    for args in ([], ["--pdf", tmp_path / "a.pdf", "--emergency"],
                 ["--pdf", tmp_path / "a.pdf", "--qr", tmp_path / "a.png"]):
        r = cli("summary", *args, pfile=passphrase_file)
        assert r.code == 2 and "--" in r.err, (args, r.err)
    assert list(tmp_path.iterdir()) == [passphrase_file]


def test_cli_pdf_json(cli, vault, passphrase_file, tmp_path) -> None:
    """`--pdf --json` gives the file, pages and per-section counts for scripts."""
    fill(vault)
    r = cli("summary", "--pdf", tmp_path / "s.pdf", "--json", pfile=passphrase_file)
    assert r.code == 0, r.err
    data = r.json()
    assert data["file"] == str(tmp_path / "s.pdf") and data["pages"] >= 1
    assert data["sections"]["allergies"] == 2 and data["sections"]["measurements"] == 0
    assert data["person"] == "Camille Martin"
    r = cli("summary", "--pdf", tmp_path / "s.pdf", pfile=passphrase_file)
    assert r.code == 1 and "already exists" in r.err


def test_cli_emergency_panel_qr_and_what_was_left_out(cli, vault, passphrase_file,
                                                      tmp_path) -> None:
    """The card is shown in the terminal; with --qr the PNG is written and the terminal says
    what the QR code had to leave out; --json gives the card, the QR text and the drops."""
    fill(vault, big_card(60))
    r = cli("summary", "--emergency", pfile=passphrase_file)
    assert r.code == 0, r.err
    shown = " ".join(r.out.replace("│", " ").split())  # the panel wraps long lines
    assert "EMERGENCY CARD" in shown and "Blood group: AB-" in shown
    assert "Allergène numéro 59 (mild, urticaire, noté par le Dr Dupont)" in shown
    r = cli("summary", "--emergency", "--qr", tmp_path / "c.png", pfile=passphrase_file)
    assert r.code == 0, r.err
    assert "QR code written to" in r.err and "Left out of the QR code" in r.err
    assert "notes" in r.err and (tmp_path / "c.png").exists()
    r = cli("summary", "--emergency", "--json", pfile=passphrase_file)
    data = r.json()
    assert data["blood_group"] == "AB-" and len(data["allergies"]) == 60
    assert data["trusted_persons"][0] == {"name": "Jean Martin", "relation": "époux",
                                          "phone": "+33 6 12 34 56 78"}
    assert data["file"] is None and data["qr_bytes"] <= QR_MAX_BYTES
    assert len(data["qr_text"].encode()) == data["qr_bytes"]
    assert {"what": "notes", "count": 60} in data["dropped"]


def test_cli_summary_of_another_person(cli, vault, passphrase_file, tmp_path) -> None:
    """--person picks whose summary; an unknown person is exit 5."""
    child = vault.people.add("Léo Martin", "2019-04-27", "male")
    vault.profile.add(child, "allergies", {"substance": "Lait de vache"})
    r = cli("summary", "--emergency", "--person", "leo", "--json", pfile=passphrase_file)
    assert r.code == 0, r.err
    assert r.json()["name"] == "Léo Martin" and r.json()["allergies"][0]["text"] == \
        "Lait de vache"
    assert cli("summary", "--emergency", "--person", "nobody",
               pfile=passphrase_file).code == 5
