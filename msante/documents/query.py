"""Our free-text search grammar, quoted into an FTS5 MATCH expression.

The grammar is forgiving: every input string parses, and the expression it gives is never an
FTS5 syntax error.

- Words separated by white space are all required (AND): ``glycémie jeun``.
- ``"protéine c-réactive"`` is a phrase: its words, adjacent and in that order. ``« »`` and
  ``“ ”`` delimit phrases too (any of these quotes closes any other). An unclosed quote runs to
  the end of the input; an empty phrase (``""``) is ignored. A quote always ends a word:
  ``a"b c"`` is the word ``a`` and the phrase ``b c``.
- ``créat*`` is a prefix. A ``*`` counts only at the end of a word (elsewhere, and after a
  phrase, it is punctuation); a lone ``*`` is ignored, and so is a prefix whose last token is
  shorter than 2 characters (``c*``, ``c-r*``) rather than matching half the index.
- ``-word``, ``-créat*`` and ``-"a phrase"`` exclude (FTS5 NOT); a lone ``-`` is ignored.
  FTS5 cannot start with NOT, so a query of exclusions only has no expression: ``fts()`` is
  None although ``is_empty()`` is False (the caller decides what that lists).
- ``OR`` in capitals between two included items means either of them: ``scanner OR IRM``.
  It binds tighter than the implicit AND: ``thorax scanner OR IRM`` is thorax AND (scanner OR
  IRM). An OR without an included item on both sides is ignored. ``AND`` in capitals is
  ignored (words are required anyway) and ``NOT x`` means ``-x``, as people type them. Every
  other word, ``or``, ``and``, ``not``, ``NEAR`` included, is an ordinary word.
- Every term goes to FTS5 as a string in double quotes (embedded quotes doubled), so
  ``C-réactive``, ``title:x``, ``^x``, ``NEAR(``, ``+`` or ``(`` are never FTS5 syntax: the
  tokenizer (unicode61, remove_diacritics 2, marks part of words) splits the string into
  tokens that form a phrase, and ``c-réactive`` finds "C-réactive". A term without a letter,
  digit or other token character (``%``, ``—``, an emoji) is dropped, since the tokenizer
  would keep nothing of it.
- Normalisation: control characters and lone surrogates become spaces, then NFKC; only the
  first 1,000 characters and the first 64 terms count, to bound the work. Each term's text is
  then folded as the index is (msante/folding.py: ligatures, Arabic marks, presentation
  forms…); a CJK word becomes its characters apart, which FTS5 takes as a phrase (日本語 →
  "日 本 語", found inside 日本語テスト), and a CJK prefix (日本*) is the word itself, each CJK
  character being a whole token.

The expression has the shape ``"a" "b"* AND ("c" OR "d") NOT "e" NOT "f"``: single terms
(implicit AND), then each OR group in parentheses, then the exclusions.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Literal

from msante.folding import is_cjk, search_fold

Kind = Literal["word", "prefix", "phrase"]

MAX_CHARS = 1000
MAX_TERMS = 64
MIN_PREFIX = 2
QUOTES = frozenset('"“”«»')
OR = "OR"
AND = "AND"
NOT = "NOT"

# What unicode61 keeps as token characters: letters, numbers, private use, and code points it
# does not know (its tables are Unicode 6.1's, so Python's newer ones differ on a few thousand
# rare symbols and marks; a term it keeps nothing of becomes an empty phrase, which FTS5
# ignores in an implicit AND and after NOT, and which at worst makes an OR group match nothing:
# the difference never makes an error).
_TOKEN_CATEGORIES = frozenset({"Co", "Cn"})
_BLANKED_CATEGORIES = frozenset({"Cc", "Cs"})


@dataclass(frozen=True)
class Term:
    """One searched item: a word, a prefix (its text without the *) or a phrase."""

    text: str
    kind: Kind = "word"
    negated: bool = False
    or_previous: bool = False  # an alternative to the included term before it (OR)

    def fts(self) -> str:
        """This term as an FTS5 string (with its * when a prefix), without any NOT."""
        quoted = '"' + self.text.replace("\0", "").replace('"', '""') + '"'
        return quoted + "*" if self.kind == "prefix" else quoted


@dataclass(frozen=True)
class Query:
    """A parsed search: its terms in the order typed."""

    terms: tuple[Term, ...] = ()

    def fts(self) -> str | None:
        """The FTS5 MATCH expression; None when no included term remains."""
        groups = self._groups()
        if not groups:
            return None
        singles = " ".join(group[0].fts() for group in groups if len(group) == 1)
        ors = ["(" + " OR ".join(t.fts() for t in group) + ")" for group in groups
               if len(group) > 1]
        included = " AND ".join([singles, *ors] if singles else ors)
        return included + "".join(f" NOT {t.fts()}" for t in self.terms if t.negated)

    def is_empty(self) -> bool:
        """Whether nothing at all is searched (not even an exclusion)."""
        return not self.terms

    def _groups(self) -> list[list[Term]]:
        """The included terms, those joined by OR in one group."""
        groups: list[list[Term]] = []
        for term in self.terms:
            if term.negated:
                continue
            if term.or_previous and groups:
                groups[-1].append(term)
            else:
                groups.append([term])
        return groups


def parse(text: str) -> Query:
    """Parse free text by the grammar of this module; never raises."""
    terms: list[Term] = []
    pending_or = pending_not = False
    for kind, raw, negated in _lex(_normalise(text)):
        if kind == "word" and raw == OR and not negated:
            pending_or = bool(terms) and not terms[-1].negated
            continue
        if kind == "word" and raw in (AND, NOT) and not negated:
            pending_not = raw == NOT  # AND is what words mean anyway; NOT x is -x
            continue
        negated, pending_not = negated or pending_not, False
        term = _term(kind, raw, negated)
        if term is None:
            continue
        if pending_or and not negated:
            term = replace(term, or_previous=True)
        pending_or = False
        terms.append(term)
        if len(terms) == MAX_TERMS:
            break
    return Query(tuple(terms))


def _normalise(text: str) -> str:
    """Control characters and lone surrogates as spaces, NFKC, at most MAX_CHARS characters."""
    head = text[: MAX_CHARS * 4]
    blanked = "".join(" " if unicodedata.category(c) in _BLANKED_CATEGORIES else c
                      for c in head)
    return unicodedata.normalize("NFKC", blanked)[:MAX_CHARS]


def _lex(text: str) -> Iterator[tuple[Literal["word", "phrase"], str, bool]]:
    """(kind, text, negated) of each word or phrase, in order."""
    i, n = 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        negated = text[i] == "-" and i + 1 < n and not text[i + 1].isspace()
        i += negated
        if text[i] in QUOTES:
            end = _phrase_end(text, i + 1)
            yield "phrase", text[i + 1:end], negated
            i = end + 1  # past the closing quote
        else:
            end = _word_end(text, i)
            yield "word", text[i:end], negated
            i = end


def _phrase_end(text: str, start: int) -> int:
    """Index of the quote closing a phrase that starts at `start`, or the end of the text."""
    return next((j for j in range(start, len(text)) if text[j] in QUOTES), len(text))


def _word_end(text: str, start: int) -> int:
    """Index just past a word starting at `start`: at white space, a quote or the end."""
    end = start
    while end < len(text) and not text[end].isspace() and text[end] not in QUOTES:
        end += 1
    return end


def _term(kind: Literal["word", "phrase"], raw: str, negated: bool) -> Term | None:
    """The term for one lexed item, or None when it searches nothing. Its text is folded as
    the index is (a CJK word becomes its characters apart: a phrase of them)."""
    if kind == "phrase":
        text = _folded(raw)
        return Term(text, "phrase", negated) if _searchable(text) else None
    if raw.endswith("*"):
        stem = _folded(raw.rstrip("*"))
        if stem and is_cjk(stem[-1]):  # a CJK character is a whole token: nothing to extend
            return Term(stem, "word", negated)
        return Term(stem, "prefix", negated) if _last_token_len(stem) >= MIN_PREFIX else None
    text = _folded(raw)
    return Term(text, "word", negated) if _searchable(text) else None


def _folded(text: str) -> str:
    """`text` folded for search, its white space squeezed."""
    return " ".join(search_fold(text).split())


def _is_token_char(char: str) -> bool:
    """Whether unicode61 keeps `char` in a token (rather than treating it as a separator)."""
    category = unicodedata.category(char)
    return category[0] in "LNM" or category in _TOKEN_CATEGORIES


def _searchable(text: str) -> bool:
    """Whether the tokenizer would keep at least one token of `text`."""
    return any(_is_token_char(c) for c in text)


def _last_token_len(text: str) -> int:
    """Length in characters of the last token of `text` (0 when it has none)."""
    length = 0
    for char in reversed(text):
        if _is_token_char(char):
            length += 1
        elif length:
            break
    return length
