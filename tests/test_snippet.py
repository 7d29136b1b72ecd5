"""Search snippets: a window around the first match, matches marked, case and accents ignored,
whatever the query's spelling."""

from __future__ import annotations

import pytest

from msante.documents.query import parse
from msante.documents.snippet import matcher, snippet

TEXT = ("Laboratoire Bioaccess — Prélevé le 12/03/2025 à 08:15, à jeun. Glycémie à jeun : "
        "0,92 g/L. Protéine C-réactive (CRP) : 3,1 mg/L. Œstradiol : 154 pg/mL. "
        "Créatinine : 68 µmol/L. " + "Commentaire sans particularité. " * 20)


@pytest.mark.parametrize("query,marked", [
    ("glycemie", "**Glycémie**"),
    ("GLYCÉMIE", "**Glycémie**"),
    ('"proteine c-reactive"', "**Protéine C-réactive**"),
    ("C-réactive", "**C-réactive**"),
    ("creat*", "**Créatinine**"),
    ("oestradiol", "**Œstradiol**"),
])
def test_matches_are_marked_whatever_the_spelling(query: str, marked: str) -> None:
    """Accents, case, phrases, prefixes and the œ ligature are all found and marked."""
    assert marked in snippet(TEXT, matcher(parse(query)))


def test_the_window_is_short_starts_on_a_word_and_says_it_is_cut() -> None:
    """Around the first match only, starting on a whole word, with … where it is cut."""
    text = snippet(TEXT, matcher(parse("créatinine")))
    assert text.startswith("…") and text.endswith("…") and len(text) < 220
    assert text[1:].split()[0] in TEXT.split()


def test_excluded_terms_are_not_marked_and_no_match_shows_the_start() -> None:
    """-word is not highlighted; a document matched by its title shows its first words."""
    assert "**" not in snippet(TEXT, matcher(parse("-glycemie")))
    assert snippet(TEXT, matcher(parse("zzz"))).startswith("Laboratoire Bioaccess")
    assert snippet("", matcher(parse("x"))) == ""
