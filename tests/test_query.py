"""The search grammar (documents/query.py) against a real FTS5 table: what it finds, and that no
input string, however broken, makes FTS5 raise."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlcipher3
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.documents.query import MAX_TERMS, Query, Term, parse

ROWS = [
    (1, "Glycémie à jeun", "Glycémie à jeun : 0,95 g/L. Prélevé le 12/03/2025."),
    (2, "Protéine C-réactive (CRP)", "CRP : 3 mg/L, protéine c-réactive normale."),
    (3, "Créatininémie", "Créatinine 80 µmol/L ; DFG estimé."),
    (4, "Échographie abdominale", "Foie de taille normale, pas de lithiase."),
    (5, "Ordonnance : Doliprane 1000 mg", "Paracétamol 3 fois par jour ; créatine kinase."),
    (6, "scanner thoracique", "Pas de nodule. Scanner sans injection."),
    (7, "IRM cérébrale", "Séquences T1, T2, FLAIR : normales."),
    (8, "Hémoglobine glyquée HbA1c", "HbA1c : 6,1 %"),
    (9, "Lab note", "The lab is near the station."),
    (10, "Note bilingue", "Results and comments."),
    (11, "Citation", 'Le patient dit « j\'ai "mal" au dos ».'),
    (12, "Bilan lipidique", "Protéine totale 70 g/L ; C réactive à contrôler."),
    (13, "Radio du genou", "Not broken, or so it seems."),
]

# Inputs that are FTS5 syntax or broken syntax if passed through raw.
NASTY = [
    '"', '""', '"""', '""""', "*", "**", "-", "-*", "--", "-\"", "(", ")", "()", "AND", "OR",
    "NOT", "NEAR", "NOT x", "x NOT", "x AND", "AND x", "OR x", "x OR", "x OR OR y", "title:x",
    "-title:x", "{title body}:x", "^x", "^", "x NEAR y", "NEAR(", "NEAR(x y, 2)", "'", "\\",
    "x + y", "+", ":", ",", "\0", "x\0y", '"x\0y"', "\ud800", "x\udfff", "\x1b[31m", "😀",
    "🇫🇷 x", "e\u0301", "\u0301", "\u200b", "\ufeff", "\ufffe", "\uffff", "ᦰ", "x ᦰ OR ᦱ",
    "x" * 1000, "é" * 2000, " ".join(["mot"] * 200), " OR ".join(["mot"] * 200),
    " ".join(["-mot"] * 200), '"' + "a " * 600, "c* c-r* créat-*", "-\"a b\" -c",
]


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlcipher3.Connection]:
    """An in-memory FTS5 table with the documents' tokenizer and prefix indexes."""
    db = sqlcipher3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(title, body, "
               "tokenize=\"unicode61 remove_diacritics 2\", prefix='2 3')")
    db.executemany("INSERT INTO t(rowid, title, body) VALUES (?, ?, ?)", ROWS)
    yield db
    db.close()


def found(conn: sqlcipher3.Connection, text: str) -> set[int]:
    """Rowids matching `text` parsed by our grammar (nothing when there is no expression)."""
    expr = parse(text).fts()
    if expr is None:
        return set()
    return {r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,))}


def match_raw(conn: sqlcipher3.Connection, expr: str) -> set[int]:
    """Rowids matching a raw FTS5 expression, to pin what FTS5 itself does."""
    return {r[0] for r in conn.execute("SELECT rowid FROM t WHERE t MATCH ?", (expr,))}


@pytest.mark.parametrize(("text", "rows"), [
    ("glycemie", {1}),                          # accents are ignored
    ("GLYCÉMIE", {1}),                          # and case
    ("glycémie jeun", {1}),                     # words are ANDed
    ("glycémie scanner", set()),
    ('"protéine c-réactive"', {2}),             # a phrase: adjacent, in order
    ("protéine c-réactive", {2, 12}),           # two terms, anywhere
    ("c-réactive", {2, 12}),                    # a hyphenated word is a phrase, not syntax
    ('"protéine c-réactive', {2}),              # an unclosed quote runs to the end
    ("créat*", {3, 5}),                         # prefix
    ("créat* -ordonnance", {3}),                # exclusion
    ('créat* -"créatine kinase"', {3}),         # excluded phrase
    ("-ordonnance créat*", {3}),                # the exclusion may come first
    ("scanner OR IRM", {6, 7}),
    ("cérébrale scanner OR IRM", {7}),          # OR binds tighter than AND
    ("near", {9}),                              # FTS5 keywords in lower case are words
    ("and", {10}),
    ("or", {13}),
    ("not", {13}),
    ("NEAR", {9}),                              # and in capitals too (only OR is ours)
    ("hba1c", {8}),
    ("echographie", {4}),
    ("Échographie", {4}),
    ('"mal"', {11}),
    ("doliprane 1000", {5}),
    ("1000 mg", {5}),
    ("t1 flair", {7}),
    ("µmol", {3}),
    ("title:scanner", set()),                   # not a column filter: the phrase "title scanner"
    ("^scanner", {6}),                          # not an initial-token query
    ("(scanner)", {6}),                         # parentheses are punctuation
    ("glycémie %", {1}),                        # a symbol-only word is dropped, not required
    ("créat-*", {3, 5}),                        # a prefix ending in punctuation still works
])
def test_finds(conn: sqlcipher3.Connection, text: str, rows: set[int]) -> None:
    """What a person types finds what they mean, insensitive to case and accents."""
    assert found(conn, text) == rows


@pytest.mark.parametrize(("text", "expr"), [
    ("glycémie jeun", '"glycémie" "jeun"'),
    ('"protéine c-réactive" créat* -ordonnance',
     '"protéine c-réactive" "créat"* NOT "ordonnance"'),
    ("thorax scanner OR IRM", '"thorax" AND ("scanner" OR "IRM")'),
    ("a OR b OR c d OR e -f", '("a" OR "b" OR "c") AND ("d" OR "e") NOT "f"'),
    ("C-réactive AND NEAR(x) title:y ^z", '"C-réactive" "NEAR(x)" "title:y" "^z"'),
    ('a"b c"', '"a" "b c"'),
    ('«  protéine   c  » d', '"protéine c" "d"'),
    ("x OR -y", '"x" NOT "y"'),
    ("-x OR y", '"y" NOT "x"'),
    ("OR x OR", '"x"'),
    ("a\0b", '"a" "b"'),
    ("ca-r* créat**", '"créat"*'),
    ("l'échographie", "\"l'échographie\""),
    ("e\u0301cho", '"\u00e9cho"'),              # NFC
])
def test_fts_snapshots(text: str, expr: str) -> None:
    """The exact expressions, so that any change in quoting or layout is noticed."""
    assert parse(text).fts() == expr


def test_terms() -> None:
    """The parsed terms the documents service may show (kinds, exclusions, OR links)."""
    assert parse('glycémie "à jeun" créat* -"ordonnance x" scanner OR IRM').terms == (
        Term("glycémie", "word"),
        Term("à jeun", "phrase"),
        Term("créat", "prefix"),
        Term("ordonnance x", "phrase", negated=True),
        Term("scanner", "word"),
        Term("IRM", "word", or_previous=True),
    )


@pytest.mark.parametrize("text", ["", "   ", '""', '" "', "*", "-", "-*", "c*", "é*", "%",
                                  "— · …", "😀", "OR", "OR OR", '"*"', "\0\x01"])
def test_nothing_searchable(text: str) -> None:
    """Ignored items leave an empty query: no expression, and is_empty() says so."""
    q = parse(text)
    assert q.fts() is None
    assert q.is_empty()


def test_only_exclusions() -> None:
    """FTS5 cannot start with NOT: exclusions alone give no expression but are not empty."""
    q = parse('-ordonnance -"a b" -créat*')
    assert q.fts() is None
    assert not q.is_empty()
    assert all(t.negated for t in q.terms)


def test_limits() -> None:
    """At most 64 terms and the first 1,000 characters count, to bound the work."""
    assert len(parse(" ".join(f"w{i}" for i in range(200))).terms) == MAX_TERMS
    assert parse(" ".join(f"w{i}" for i in range(200))).terms[-1].text == "w63"
    long_word = parse("a" * 5000).terms
    assert long_word == (Term("a" * 1000),)
    assert parse("x" * 1000 + " after").terms == (Term("x" * 1000),)


def test_term_quotes_its_own_quotes() -> None:
    """A Term built by hand with quotes or NUL still gives a valid FTS5 string."""
    expr = Query((Term('say "hi"\0'),)).fts()
    assert expr == '"say ""hi"""'


@pytest.mark.parametrize(("expr", "rows"), [
    ('""', set()),                              # an empty string matches nothing…
    ('"-"', set()),                             # …nor does one the tokenizer empties
    ('"glycemie" ""', {1}),                     # ignored in an implicit AND…
    ('"glycemie" "-"', {1}),
    ('"glycemie" AND "-"', set()),              # …but an explicit AND matches nothing
    ('"glycemie" NOT "-"', {1}),                # excluding it excludes nothing
    ('"-" OR "glycemie"', {1}),
    ('"c-reactive"', {2, 12}),                  # a quoted string is a phrase of its tokens
    ('"c-r"*', {2, 12}),                        # prefix applies to the last token
])
def test_fts5_behaviours(conn: sqlcipher3.Connection, expr: str, rows: set[int]) -> None:
    """What FTS5 itself does with empty strings, which our expression layout relies on."""
    assert match_raw(conn, expr) == rows


@pytest.mark.parametrize("expr", ["NOT x", "x AND", '"a\0b"', "(x) y", 'x ("a" OR "b")',
                                  '"x', "NEAR(", "nosuchcol:x"])
def test_fts5_raw_syntax_errors(conn: sqlcipher3.Connection, expr: str) -> None:
    """Raw text FTS5 rejects: why every term is quoted and OR groups are joined by AND."""
    with pytest.raises(sqlcipher3.OperationalError):
        match_raw(conn, expr)


@pytest.mark.parametrize("text", NASTY)
def test_nasty_inputs(conn: sqlcipher3.Connection, text: str) -> None:
    """Classic breakers of FTS5 queries: each parses, and its expression runs."""
    found(conn, text)


SYNTAX = st.sampled_from(['"', "*", "-", "(", ")", ":", "^", "+", ",", "{", "}", "OR", "AND",
                          "NOT", "NEAR", "or", "-\"", '""', "\0", "\\", "'", "«", "»", "é",
                          "c-réactive", "x", " ", "\t", "\n", "😀"])
ANY_CHAR = st.characters(exclude_categories=())  # surrogates and control characters too


@settings(max_examples=500, deadline=2000)
@given(st.text(ANY_CHAR, max_size=60))
def test_any_text_is_valid_fts5(conn: sqlcipher3.Connection, text: str) -> None:
    """For any string at all, fts() is None or an expression FTS5 accepts."""
    found(conn, text)


@settings(max_examples=500, deadline=2000)
@given(st.lists(st.one_of(SYNTAX, st.text(ANY_CHAR, max_size=4)), max_size=30).map("".join))
def test_syntax_soup_is_valid_fts5(conn: sqlcipher3.Connection, text: str) -> None:
    """Strings dense in FTS5 syntax (quotes, operators, stars, dashes) never make FTS5 raise."""
    q = parse(text)
    assert len(q.terms) <= MAX_TERMS
    assert all(t.text.strip() for t in q.terms)
    found(conn, text)


@pytest.mark.parametrize("text,expr", [
    ("glycémie AND jeun", '"glycémie" "jeun"'),
    ("glycémie NOT jeun", '"glycémie" NOT "jeun"'),
    ("glycémie not jeun", '"glycémie" "not" "jeun"'),
    ("NOT jeun", None),
])
def test_capital_and_not_read_as_people_type_them(text: str, expr: str | None) -> None:
    """AND in capitals is the default anyway; NOT x excludes x; lower-case stays a word."""
    assert parse(text).fts() == expr
