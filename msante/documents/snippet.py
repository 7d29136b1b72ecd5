"""Search-result snippets, cut in Python around the first match in the document's text.

The text is first folded as the index is (msante/folding.py: NFKC, Arabic marks out, CJK
characters apart); matches are found in the fold and marked in the original text, each span
mapped back to the clusters it covers, so that a ligature or a word with its vowel marks is
marked whole. A text that folds to itself (nearly all) is not copied and needs no map.

FTS5's snippet() re-tokenizes each result's columns; here each included term of the query
becomes a regular expression run by the C regex engine that ignores case and accents the way
the index does on Latin letters (e finds é, è, ê, ë, É…; "oe" also finds œ and Œ, "ae" æ and
Æ). Matches in a window around the first one are marked with `**`. A document matched only by
its title, author or tags shows the start of its text.

The same matches are found in one of two ways, chosen by the query:

- Folded (when every word of the query folds to ASCII letters, digits or _, nearly always): the
  text is first folded to one byte per character, in C: encoded as Latin-1 (or as cp1252 when
  it has ’, “, –, œ…; the few characters cp1252 lacks go through `_unencodable`), then each
  byte translated by a 256-byte table to its lower-case unaccented letter (É → e, ª → a);
  œ/Œ and æ/Æ become the stand-ins Q and X, other letters and digits (ß, ø, ², Greek…) Z,
  and signs stay signs, so that word boundaries stay where they were. Each term is then a
  regular expression of plain letters over those bytes, which the regex engine finds with a
  fast literal scan, and positions in the folded bytes are positions in the text. A long
  text is folded a chunk at a time, only until the first match is certain (`_first`), and
  `snippet_of_start` cuts the snippet from the start of a text alone when that start settles
  it (search.py reads the rest of a text only otherwise).
- Plain (a query word with letters that fold to nothing ASCII: Greek, ø, ł…): one regular
  expression over the text itself, each letter a class of its accented forms (e → [eéèêë…]),
  ignoring case. It is the reference: a test checks that the fold and the classes agree on
  every character of Unicode.
"""

from __future__ import annotations

import codecs
import re
import string
import unicodedata
from functools import cache
from itertools import accumulate, pairwise
from typing import NamedTuple

from msante.documents.query import Query, Term
from msante.folding import LATIN1_KEPT, Folded, fold_map, search_fold
from msante.text import fold

SCAN = 20_000  # characters of a document's text looked at for its snippet
BEFORE, AFTER = 50, 110
MARK = "**"
CHUNK = 2048  # characters of a long text folded at first (see _first)

# The letter pairs that also match their ligature, and the folded stand-in of the ligature.
PAIRS = {"oe": ("œŒ", "Q"), "ae": ("æÆ", "X")}
OTHER = "Z"  # what any other letter or digit folds to (never part of a folded query word)
# Characters that re.IGNORECASE also matches with a letter's class, besides its listed forms
# (dotless ı with i, the Kelvin and Ångström signs with k and å). A test checks this against
# the regex engine over all of Unicode.
CASE_TWINS = {"\u0131": "i", "\u212a": "k", "\u212b": "a"}
_ERRORS = "msante-snippet-fold"


@cache
def _forms() -> dict[str, frozenset[str]]:
    """For each base letter, its accented forms in both cases (and itself)."""
    forms: dict[str, set[str]] = {}
    for code in range(0x41, 0x250):
        char = chr(code)
        base = fold(char)
        if len(base) == 1 and base.isalpha():
            # one character each: 'İ'.lower() and 'ǰ'.upper() are two (a letter and a mark)
            forms.setdefault(base, {base}).update(
                c for c in (char, char.lower(), char.upper()) if len(c) == 1)
    return {b: frozenset(f) for b, f in forms.items()}


@cache
def _variants() -> dict[str, str]:
    """For each base letter, a regex class of its forms; for oe and ae, either the pair (ë
    included, as in Noël) or the ligature."""
    classes = {b: "[" + "".join(sorted(re.escape(c) for c in f)) + "]"
               for b, f in _forms().items()}
    pairs = {k: f"(?:{classes[k[0]]}{classes[k[1]]}|[{v}])" for k, (v, _q) in PAIRS.items()}
    return classes | pairs


@cache
def _letters() -> dict[str, str]:
    """Every character a class of an ASCII letter matches (ignoring case), with that letter."""
    forms = _forms()
    return {c: b for b in string.ascii_lowercase for c in forms[b]} | CASE_TWINS


def _folded_char(char: str) -> str:
    """The ASCII character `char` folds to (a sign outside ASCII stays itself)."""
    letter = _letters().get(char)
    if letter:
        return letter
    if char.isascii():  # a digit, _ or a sign
        return char
    for ligatures, stand_in in PAIRS.values():
        if char in ligatures:
            return stand_in
    if char.isalnum() or char == "_":  # what the regex engine calls a word character
        return OTHER
    return char


@cache
def _table(codec: str) -> bytes:
    """For each byte of `codec`, the byte its character folds to."""
    out = bytearray()
    for byte in range(256):
        char = bytes([byte]).decode(codec, errors="replace")  # cp1252's 5 unused bytes: �
        folded = _folded_char(char)
        out.append(ord(folded) if folded.isascii() else byte)
    return bytes(out)


@cache
def _quick_table() -> bytes:
    """The Latin-1 folding table, with NUL for each character that NFKC changes."""
    return bytes(folded if byte in LATIN1_KEPT and byte else 0
                 for byte, folded in enumerate(_table("latin-1")))


def _unencodable(error: UnicodeError) -> tuple[str, int]:
    """Replace each character cp1252 lacks by one that folds as it does (a letter of its
    class, ß for another letter or digit, ? for a sign)."""
    assert isinstance(error, UnicodeEncodeError)
    out = []
    for char in error.object[error.start:error.end]:
        folded = _folded_char(char)
        out.append("ß" if folded == OTHER else folded if folded.isascii() else "?")
    return "".join(out), error.end


codecs.register_error(_ERRORS, _unencodable)


def fold_bytes(text: str) -> bytes:
    """`text` folded to one ASCII-or-sign byte per character (see the module's docstring)."""
    try:
        return text.encode("latin-1").translate(_table("latin-1"))
    except UnicodeEncodeError:
        return text.encode("cp1252", _ERRORS).translate(_table("cp1252"))


def _tokens(term: Term) -> list[str]:
    """The words of a term, each letter folded as the index folds it: a Latin letter to its
    unaccented lower case (é → e, œ → oe), any other letter to its lower case (Greek tonos
    and Arabic hamza are letters of their own for the index, and so here)."""
    text = unicodedata.normalize("NFC", term.text)
    folded = fold(text)
    if not folded.isascii():  # letter by letter: those beyond Latin keep their marks
        folded = "".join(_token_letter(c) for c in text)
    return re.findall(r"\w+", folded)


def _token_letter(char: str) -> str:
    if not char.isalnum():
        return char
    folded = fold(char)
    return folded if folded.isascii() else char.lower()


# -- the plain regular expression over the text ---------------------------------------------

def _token_regex(token: str) -> str:
    classes = _variants()
    out, i = [], 0
    while i < len(token):
        pair = token[i:i + 2]
        if pair in PAIRS:  # also the ligatures œ, æ
            out.append(classes[pair])
            i += 2
            continue
        out.append(classes.get(token[i], re.escape(token[i])))
        i += 1
    return "".join(out)


def _plain(terms: list[tuple[list[str], bool]]) -> re.Pattern[str]:
    """One regex over the text for `terms` ((tokens, is a prefix)), ignoring case, accents."""
    parts = [rf"\b{body}" + (r"\w*" if prefix else r"\b")
             for tokens, prefix in terms if (body := r"\W+".join(map(_token_regex, tokens)))]
    return re.compile("|".join(parts), re.IGNORECASE)


# -- the folded regular expressions over the folded bytes -----------------------------------

def _folded(tokens: list[str], prefix: bool) -> str:
    """The regex of one term over folded bytes. It begins with the term's first plain letters
    (the regex engine scans for such a literal prefix quickly) and checks the word boundary
    before them with a lookbehind (a \\b in front would hide the prefix)."""
    body = r"\W+".join(tokens)
    pairs = [i for pair in PAIRS if (i := tokens[0].find(pair)) >= 0]
    lead = min(pairs, default=len(tokens[0]))  # how many plain letters the term begins with
    for pair, (_ligatures, stand_in) in PAIRS.items():  # pairs cannot overlap (both end in e)
        body = body.replace(pair, f"(?:{pair}|{stand_in})")
    end = r"\w*" if prefix else r"\b"
    if not lead:  # the term begins with oe or ae
        return rf"\b{body}{end}"
    return rf"{body[:lead]}(?<=\b.{{{lead}}}){body[lead:]}{end}"


class Matcher(NamedTuple):
    """How to find a query's included terms in a text (see the module's docstring)."""

    plain: re.Pattern[str] | None  # the plain way; None when the folded way is taken
    terms: tuple[re.Pattern[bytes], ...] = ()  # folded: one per term, in the query's order
    any: re.Pattern[bytes] | None = None  # folded: any of the terms
    settled: re.Pattern[bytes] | None = None  # folded: see _first
    pieces: re.Pattern[bytes] | None = None  # folded: any of the terms, as a group (_quick)

    def found(self, text: str) -> bool:
        """Whether any term matches somewhere in `text`."""
        text = search_fold(text)
        if self.plain:
            return self.plain.search(text) is not None
        assert self.any
        return self.any.search(fold_bytes(text)) is not None


def matcher(query: Query, *, folded: bool = True) -> Matcher | None:
    """How to find the included terms of `query`, ignoring case and accents (`folded=False`:
    the plain way whatever the query, as tests compare the two)."""
    terms = [(tokens, term.kind == "prefix") for term in query.terms
             if not term.negated and (tokens := _tokens(term))]
    if not terms:
        return None
    if not folded or not all(t.isascii() for tokens, _prefix in terms for t in tokens):
        return Matcher(_plain(terms))
    patterns = [_folded(tokens, prefix) for tokens, prefix in terms]
    most = max(len(tokens) for tokens, _prefix in terms)
    anyone = "|".join(patterns)
    return Matcher(None, tuple(re.compile(p.encode()) for p in patterns),
                   re.compile(anyone.encode()),
                   re.compile(rf"(?:\w+\W+){{{most}}}\w".encode()),
                   re.compile(f"({anyone})".encode()))


def snippet(text: str, pattern: Matcher | None) -> str:
    """A short passage of `text` around the first match, matches marked with **…**."""
    out = _quick(text, pattern, whole=True) or _snippet(text, pattern, whole=True)
    assert out is not None
    return out


def snippet_of_start(text: str, pattern: Matcher | None) -> str | None:
    """The snippet of a text of which `text` is only the start (longer than BEFORE + AFTER);
    None when the rest is needed: no match is certain yet, or the window runs past `text`."""
    return _quick(text, pattern, whole=False) or _snippet(text, pattern, whole=False)


def _quick(text: str, m: Matcher | None, *, whole: bool) -> str | None:
    """The snippet the general way (`_snippet`) gives, for the common case only: a text of
    at most CHUNK characters, in Latin-1 and folding to itself, a query taken the folded way,
    a first match that is certain. Its matches are cut in C (the pieces between and of the
    matches, split by the regex, then measured); None in any other case."""
    if m is None or m.pieces is None or len(text) > CHUNK:
        return None
    try:
        folded = text.encode("latin-1").translate(_quick_table())
    except UnicodeEncodeError:
        return None
    if b"\0" in folded:  # a character that NFKC changes (or a NUL): the general way
        return None
    assert m.any and m.settled
    first = m.any.search(folded)
    if first is None or not (whole or m.settled.match(folded, first.start())):
        return None
    s, e = first.span()
    start, end = max(0, s - BEFORE), min(len(text), e + AFTER)
    if not whole and e + AFTER >= len(text):
        return None
    if start:  # begin on a whole word
        space = text.find(" ", start, s)
        start = space + 1 if space >= 0 else s
    cuts = list(accumulate(map(len, m.pieces.split(folded[start:end])), initial=start))
    marked = MARK.join(map(text.__getitem__, map(slice, cuts, cuts[1:])))
    return ("…" if start else "") + _squeeze(marked) + ("…" if end < len(text) else "")


class _Unsettled(Exception):
    """The start of a text does not tell its first match."""


def _snippet(text: str, pattern: Matcher | None, *, whole: bool) -> str | None:
    folded = fold_map(text) if pattern else Folded(text)
    try:
        first = _first(pattern, folded.text, whole) if pattern else None
    except _Unsettled:
        return None
    if pattern is None or first is None:  # the start of the text
        head = text[:BEFORE + AFTER]
        if not whole and len(head) == len(text):
            return None  # whether to end with … depends on the rest
        return _squeeze(head) + ("…" if len(text) > len(head) else "")
    same = not folded.changes  # the text folds to itself (nearly always): no mapping
    s, e = first[:2] if same else (folded.start(first[0]), folded.end(first[1]))
    if not whole and e + AFTER >= len(text):
        return None
    start, end = max(0, s - BEFORE), min(len(text), e + AFTER)
    if start:  # begin on a whole word
        space = text.find(" ", start, s)
        start = space + 1 if space >= 0 else s
    spans = (_spans(pattern, folded.text, first[2], start, end) if same else
             _spans(pattern, folded.text, first[2], folded.folded(start), folded.folded(end)))
    if not same:  # back to the text itself: a span covers the clusters it touches
        spans = [folded.end(x) if i % 2 else folded.start(x) for i, x in enumerate(spans)]
    # between cuts: unmarked, marked, unmarked… text, so the marks join the pieces
    marked = MARK.join([text[a:b] for a, b in pairwise([start, *spans, end])])
    return ("…" if start else "") + _squeeze(marked) + ("…" if end < len(text) else "")


def _spans(pattern: Matcher, text: str, done: bytes, start: int, end: int) -> list[int]:
    """Start and end of every match between `start` and `end` of the folded text (`done`:
    its bytes folded so far), one after the other. The regex sees `end` as the end of the
    text, as it sees SCAN when looking for the first match."""
    if pattern.plain:
        return [i for m in pattern.plain.finditer(text, start, end) for i in m.span()]
    assert pattern.any
    if len(done) < end:
        done += fold_bytes(text[len(done):end])
    return [i for m in pattern.any.finditer(done, start, end) for i in m.span()]


def _first(m: Matcher, text: str, whole: bool) -> tuple[int, int, bytes] | None:
    """The span of the first match in the first SCAN characters of `text`, with the folded
    bytes of (at least) what was searched (empty the plain way). _Unsettled when `text` is
    not `whole` and its end could change the answer.

    Folding 20,000 characters costs more than finding an early match, so a long text is
    folded a chunk at a time (CHUNK characters, then 4 times as many, and so on). A match
    found in what is folded is the first in the text when, from its start, the folded part
    still holds more words than any term has: a match of a term that starts there or earlier
    covers at most that many consecutive words (a term is words separated by non-word
    characters, each word of the text matching one word of the term), so it cannot run past
    the folded part, and the answer there is the text's.
    """
    if m.plain:
        if not whole:
            raise _Unsettled
        found = m.plain.search(text, 0, SCAN)
        return (found.start(), found.end(), b"") if found else None
    assert m.settled and m.any
    limit = min(len(text), SCAN)
    if limit == len(text) <= CHUNK and whole:  # one chunk: any term, the first on a tie
        folded = fold_bytes(text)
        found_bytes = m.any.search(folded)
        return (found_bytes.start(), found_bytes.end(), folded) if found_bytes else None
    folded, size = b"", CHUNK
    while True:
        folded += fold_bytes(text[len(folded):min(size, limit)])
        best = None
        for term in m.terms:  # the earliest match, the first term's on a tie
            match = term.search(folded)
            if match and (best is None or match.start() < best.start()):
                best = match
        if len(folded) == limit and whole:
            return (best.start(), best.end(), folded) if best else None
        if best and m.settled.match(folded, best.start()):
            return best.start(), best.end(), folded
        if len(folded) == limit:
            raise _Unsettled
        size *= 4


def _squeeze(text: str) -> str:
    """`text` with each run of white space made one space, and none at either end."""
    if text.isprintable() and "  " not in text:  # (any other white space is unprintable)
        return text.strip(" ")
    return " ".join(text.split())
