"""Search snippets: a window around the first match, matches marked, case and accents ignored,
whatever the query's spelling."""

from __future__ import annotations

import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.documents.query import parse
from msante.documents.snippet import (
    AFTER,
    BEFORE,
    CHUNK,
    PAIRS,
    _variants,
    fold_bytes,
    matcher,
    snippet,
    snippet_of_start,
)

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


# -- the folded way (one byte per character) against the plain way (a class per letter) ------

def _both(text: str, query: str) -> tuple[str, str]:
    """The snippet the folded way and the plain way (the reference)."""
    parsed = parse(query)
    return (snippet(text, matcher(parsed)), snippet(text, matcher(parsed, folded=False)))


@pytest.mark.parametrize("text,query,marked", [
    ("Le cœur et l'œdème du CŒUR.", "coeur", ["**cœur**", "**CŒUR**"]),
    ("Bilan : ŒDÈME des membres, œdème léger.", "oedeme", ["**ŒDÈME**", "**œdème**"]),
    ("Ætas, æquo et AEQUO.", "aequo", ["**æquo**", "**AEQUO**"]),
    ("Noël à Israël, canoë.", "noel OR israel OR canoe", ["**Noël**", "**Israël**", "**canoë**"]),
    ("l’examen du patient « stable » – 12 €", "patient", ["**patient**"]),  # cp1252
    ("Łódź, Brașov : glycémie ≤ 5,5 → normale", "brasov glycemie",  # beyond cp1252
     ["**Brașov**", "**glycémie**"]),
    ("x² et 2 et ²", "2", ["**2**"]),
])
def test_ligatures_and_signs_keep_their_place(text: str, query: str, marked: list[str]) -> None:
    """œ, æ and characters outside Latin-1 fold to one byte each: the marks land where the
    matches are in the original text, and the text around them is untouched."""
    folded, plain = _both(text, query)
    assert folded == plain
    assert all(m in folded for m in marked)
    assert folded.replace("**", "") == " ".join(text.split())


def test_the_first_match_far_in_a_long_text() -> None:
    """A text longer than a chunk whose only match is past it: found, the window around it."""
    text = "rien à signaler " * 400 + "ferritine basse " + "fin " * 50
    assert len(text) > 3 * CHUNK
    folded, plain = _both(text, "ferritine")
    assert folded == plain and folded.startswith("…") and "**ferritine**" in folded


def test_a_match_settled_only_past_the_chunk() -> None:
    """A later word inside the first chunk is not the first match while an earlier phrase of
    the same query runs past the chunk's end: the chunk grows until it is certain."""
    head = "mot " * ((CHUNK - 20) // 4)
    text = head + "bilan lipidique " + " " * (CHUNK - len(head) - 14) + "normal" + " suite" * 30
    assert text.index("lipidique") < CHUNK < text.index("normal")
    folded, plain = _both(text, '"bilan lipidique normal" OR lipidique')
    assert folded == plain
    assert "**bilan lipidique normal**" in folded


def test_the_fold_matches_the_letter_classes_on_all_of_unicode() -> None:
    """Per character, a folded byte matches a query letter exactly when the plain way's class
    (ignoring case) matches the character, and it is a word character exactly when the
    character is: so the two ways find the same matches in any text."""
    every = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    folded = fold_bytes(every)
    assert len(folded) == len(every)
    classes = _variants()
    atoms = [(classes[b], re.escape(b)) for b in string.ascii_lowercase]
    atoms += [(re.escape(c), re.escape(c)) for c in string.digits + "_"]
    atoms += [(classes[pair], f"(?:{pair}|{stand_in})") for pair, (_lig, stand_in) in PAIRS.items()]
    atoms += [(r"\w", r"\w")]
    for plain, fast in atoms:
        assert ([m.start() for m in re.finditer(plain, every, re.IGNORECASE)]
                == [m.start() for m in re.finditer(fast.encode(), folded)]), plain


WORDS = ["patient", "PATIENT", "glycémie", "Glycemie", "Œstradiol", "oestradiol", "cœur", "coeur",
         "Noël", "ætas", "AEtas", "protéine", "C-réactive", "créatinine", "n1234", "n12345", "ıi",
         "İnci", "\u212aelvin", "ß", "Ørsted", "łódź", "α", "x²", "2", "_x_", "ſoin", "ﬁn", "naïve",
         "l’examen", "bilan", "lipidique", "normal", "e\u0301", "ǰour", "i\u0307n", "…", "€", "—"]
SEPARATORS = [" ", " ", ", ", ". ", "-", "’", "\n", "\u00a0", "", "  —  "]
QUERIES = ["patient", "glycemie", "oestradiol", "œstradiol", "coeur", "noel", "aetas", "ae*",
           '"proteine c-reactive"', "creat*", "n1234*", "in", "jour", "kelvin", "k*", "ss",
           "orsted", "lodz", "α", "x2", "2", "_x_", "soin", "fin", "naive", "l examen",
           '"bilan lipidique"', "bilan OR normal", "normal OR bilan", '"normal bilan"', "e"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=60),
       st.lists(st.sampled_from(QUERIES), min_size=1, max_size=3), st.integers(0, 3 * CHUNK))
def test_the_folded_way_gives_the_plain_ways_snippets(words: list[tuple[str, str]],
                                                     queries: list[str], pad: int) -> None:
    """Any text (short, or pushed past the first chunk), any query: the same snippet."""
    text = " " * pad + "".join(w + sep for w, sep in words)
    folded, plain = _both(text, " ".join(queries))
    assert folded == plain


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=80),
       st.lists(st.sampled_from(QUERIES), min_size=1, max_size=3), st.integers(0, 2 * CHUNK),
       st.integers(BEFORE + AFTER + 1, 3 * CHUNK))
def test_the_start_of_a_text_gives_its_snippet_or_asks_for_the_rest(
        words: list[tuple[str, str]], queries: list[str], pad: int, cut: int) -> None:
    """From only the start of a text, the snippet is the whole text's, or None (read more)."""
    text = "x " * (pad // 2) + "".join(w + sep for w, sep in words)
    for pattern in (matcher(parse(" ".join(queries))),
                    matcher(parse(" ".join(queries)), folded=False)):
        start = snippet_of_start(text[:cut], pattern)
        assert start is None or start == snippet(text, pattern)


def test_the_start_of_a_text_is_enough_for_an_early_match() -> None:
    text = "Ferritine basse. " + "rien " * 1000
    pattern = matcher(parse("ferritine"))
    assert snippet_of_start(text[:CHUNK], pattern) == snippet(text, pattern)
    assert snippet_of_start(text[:CHUNK], matcher(parse("absent"))) is None
    assert snippet_of_start(text[:CHUNK], None) == snippet(text, None)


def test_the_quick_way_takes_the_common_text_and_agrees_with_the_general_way() -> None:
    """A short Latin-1 text that folds to itself is cut the quick way (in C), to the same
    snippet as the general way; a text NFKC changes or one beyond Latin-1 is left to it."""
    from msante.documents.snippet import _quick, _snippet

    for query in ("glycemie", "creat*", '"proteine c-reactive"', "oestradiol", "zzz"):
        pattern = matcher(parse(query))
        text = TEXT.replace("—", "-").replace("Œ", "Oe").replace("µ", "u")[:CHUNK]
        quick = _quick(text, pattern, whole=True)
        assert (quick is None) == (query == "zzz")  # no match: the start, the general way
        if quick is not None:
            assert quick == _snippet(text, pattern, whole=True)
    pattern = matcher(parse("glycemie"))
    for changed in ("x\u00a0Glycémie", "ﬁn Glycémie", "Łódź Glycémie", "a\0 Glycémie"):
        assert _quick(changed, pattern, whole=True) is None
        assert "**Glycémie**" in snippet(changed, pattern)


def test_squeezing_white_space_the_quick_way_is_the_slow_way() -> None:
    """Every white-space character but the space is unprintable, which the quick squeeze
    relies on; and both ways give the same text."""
    from msante.documents.snippet import _squeeze

    spaces = [chr(c) for c in range(0x110000) if chr(c).isspace()]
    assert all(not c.isprintable() for c in spaces if c != " ")
    for text in (" a b ", "a  b", "a\u00a0b", "a\nb", "a\u2028b c", "  ", ""):
        assert _squeeze(text) == " ".join(text.split())
