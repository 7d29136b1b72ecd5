"""Folding text for matching: the search fold (index, queries, snippets), and for the
classifier a length-preserving fold, word sets, short evidence."""

from __future__ import annotations

import bisect
import re
import unicodedata
from functools import cache, lru_cache
from typing import NamedTuple

from msante.text import fold

EVIDENCE_MAX = 80


@cache
def _flat_table() -> dict[str, str]:
    """One folded character for each accented Latin letter and typographic sign."""
    table = {chr(c): fold(chr(c)) for c in range(0x80, 0x250)}
    table = {c: f for c, f in table.items() if len(f) == 1 and f != c}
    table.update(dict.fromkeys("\u00a0\u2007\u202f", " "))
    table.update(dict.fromkeys("\u2018\u2019\u02bc\u00b4`", "'"))
    table.update(dict.fromkeys("\u00ab\u00bb\u201c\u201d", '"'))
    table.update(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\u2022\u25aa\u25ba", "-"))
    return table


_NUMBER = re.compile(r"(?<![\w\-])\d")
_WORD_BYTES = bytes(b if 48 <= b <= 57 or 97 <= b <= 122 or b >= 128 else 32 for b in range(256))


def _flat(text: str) -> str:
    """Lower case without accents, one character for one (positions map back to `text`)."""
    table = _flat_table()  # built on first use: the search needs none of it
    for char in {c for c in set(text) if c in table}:
        text = text.replace(char, table[char])
    return text.lower()


def _words(flat: str) -> frozenset[bytes]:
    """The words (letters and digits) of a folded text."""
    return frozenset(flat.encode().translate(_WORD_BYTES).split())


def _clip(text: str) -> str:
    """`text` on one line, at most EVIDENCE_MAX characters."""
    words = " ".join(text.split())
    return words if len(words) <= EVIDENCE_MAX else words[:EVIDENCE_MAX - 1] + "…"


# -- the search fold: one function for the index, the queries and the snippets ---------------
#
# search_fold(text) is NFKC (ligatures such as ﬁ become fi, Arabic presentation forms become
# the standard letters, full-width Latin becomes ASCII…), without Arabic and Hebrew vowel
# marks and tatweel, and with a space on each side of every CJK character (Han, kana,
# Hangul…) so that the tokenizer makes each of them a token and a word inside a run is a
# phrase of them. Case and Latin accents stay: the tokenizer folds those (unicode61,
# remove_diacritics 2). The text is folded cluster by cluster — a character with the marks
# that combine with it — so that each piece of the result comes from a known piece of the
# text (snippets mark the original text) and a text that needs nothing costs two C scans.

# Vowel marks and other signs written above or below the letters: Arabic (harakat, Quranic
# annotation, extended-A marks), tatweel, Hebrew points and cantillation.
_MARKS = ("\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7\u0610-\u061a\u0640\u064b-\u065f"
          "\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed\u08d3-\u08e1\u08e3-\u08ff")
# Scripts written without spaces between words: Hangul jamo and syllables, CJK radicals,
# ideographic marks (々〆〇…), kana, bopomofo, Han (unified, extensions, compatibility).
_CJK = ("\u1100-\u11ff\u2e80-\u2fdf\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c"
        "\u3041-\u3096\u309d-\u309f\u30a1-\u30fa\u30fc-\u30ff\u3105-\u312f\u3131-\u318e"
        "\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua960-\ua97f\uac00-\ud7a3"
        "\ud7b0-\ud7ff\uf900-\ufaff\U0001b000-\U0001b16f\U00020000-\U0003134f")
_MARK_SET = frozenset(c for a, b in re.findall(r"(.)(?:-(.))?", _MARKS)
                      for c in map(chr, range(ord(a), ord(b or a) + 1)))
_NO_MARKS = dict.fromkeys(map(ord, _MARK_SET))
# (first, last) code points of each CJK range, flat and in order, for bisect
_CJK_BOUNDS = [ord(c) for a, b in re.findall(r"(.)(?:-(.))?", _CJK) for c in (a, b or a)]
_CJK_EDGES = frozenset(_CJK_BOUNDS)
# Kinds of characters (see _kind): unchanged starters, starters that fold, characters that
# belong to the cluster of the character before them.
_SAFE, _FOLDS, _JOINS = 0, 1, 2
_KINDS: dict[str, int] = {}
_HANGUL_VT = frozenset(map(chr, [*range(0x1161, 0x1176), *range(0x11A8, 0x11C3)]))


def search_fold(text: str) -> str:
    """`text` as the index and the queries see it (see the comment above)."""
    if _unchanged(text):
        return text
    return "".join(_pieces(text, _clusters(text)))


def is_cjk(char: str) -> bool:
    """Whether `char` is of a script written without spaces (each of them a token)."""
    code = ord(char)
    return bisect.bisect_left(_CJK_BOUNDS, code) % 2 == 1 or code in _CJK_EDGES


def _unchanged(text: str) -> bool:
    """Whether `text` folds to itself, checked in C: nearly every text is ASCII, or Latin-1
    without the few characters NFKC changes (no-break space, ², ½…), or in NFKC with no
    character of a page (256 code points) that holds a mark or a CJK character."""
    if text.isascii():
        return True
    try:
        return not text.encode("latin-1").translate(None, LATIN1_KEPT)
    except UnicodeEncodeError:
        pass
    if not unicodedata.is_normalized("NFKC", text):
        return False
    pages = text.encode("utf-16-le", "surrogatepass")[1::2]  # the high byte of each unit
    return not pages.translate(None, _CLEAN_PAGES) or not _extra().search(text)


@cache
def _extra() -> re.Pattern[str]:
    """What folds even in a text already in NFKC: a mark or a CJK character (compiled on
    first use: its ranges take the regex compiler tens of milliseconds)."""
    return re.compile(f"[{_MARKS}{_CJK}]")


def _clean_pages() -> bytes:
    """The pages (high bytes of UTF-16 units) that hold no mark or CJK character."""
    dirty = set(range(0xD8, 0xE0))  # surrogates: characters past U+FFFF
    for a, b in re.findall(r"(.)(?:-(.))?", _MARKS + _CJK):
        dirty.update(range(ord(a) >> 8, (min(ord(b or a), 0xFFFF) >> 8) + 1))
    return bytes(sorted(set(range(256)) - dirty))


_CLEAN_PAGES = _clean_pages()
# the characters of Latin-1 that NFKC keeps as they are (all but ª, ², ½, NBSP…)
LATIN1_KEPT = bytes(b for b in range(256)
                     if unicodedata.normalize("NFKC", chr(b)) == chr(b))


class Folded(NamedTuple):
    """A text folded for search, and where each part of the fold comes from."""

    text: str  # the folded text
    # (folded start, folded end, original start, original end) of each cluster that folds
    # to something else, in order; between them, the folded text is the original's
    changes: tuple[tuple[int, int, int, int], ...] = ()

    def start(self, i: int) -> int:
        """The original position where the folded character at `i` comes from."""
        change = self._before(i, end=False)
        if change is None:
            return i
        fs, fe, os_, oe = change
        return os_ if i < fe else i - fe + oe

    def end(self, i: int) -> int:
        """The original position just past what the folded text up to `i` comes from."""
        change = self._before(i, end=True)
        if change is None:
            return i
        fs, fe, os_, oe = change
        return oe if i <= fe else i - fe + oe

    def folded(self, j: int) -> int:
        """The folded position of the original position `j` (a cluster's start for a
        position inside it)."""
        k = bisect.bisect_right(self.changes, j, key=lambda c: c[2]) - 1
        if k < 0:
            return j
        fs, fe, os_, oe = self.changes[k]
        return fs if j < oe else j - oe + fe

    def _before(self, i: int, *, end: bool) -> tuple[int, int, int, int] | None:
        """The last change starting at or before folded position `i` (before it: `end`)."""
        k = (bisect.bisect_left if end else bisect.bisect_right)(
            self.changes, i, key=lambda c: c[0]) - 1
        return self.changes[k] if k >= 0 else None


def fold_map(text: str) -> Folded:
    """`search_fold(text)` with the positions it comes from."""
    if _unchanged(text):
        return Folded(text)
    clusters = _clusters(text)
    pieces, changes, f, o = [], [], 0, 0
    for match, folded in zip(clusters, _folds(clusters), strict=True):
        s, e = match.span()
        pieces += [text[o:s], folded]
        f += s - o
        changes.append((f, f + len(folded), s, e))
        f, o = f + len(folded), e
    pieces.append(text[o:])
    return Folded("".join(pieces), tuple(changes))


def _clusters(text: str) -> list[re.Match[str]]:
    """The clusters of `text` that fold to something else (and a few that do not)."""
    for char in set(text) - _KINDS.keys():
        _KINDS[char] = _kind(char)
    joins = "".join(re.escape(c) for c in set(text) if _KINDS[c] == _JOINS)
    folds = "".join(re.escape(c) for c in set(text) if _KINDS[c] == _FOLDS)
    parts = ([f"[^{joins}]?[{joins}]+"] if joins else []) + ([f"[{folds}]"] if folds else [])
    return list(re.finditer("|".join(parts), text)) if parts else []


def _folds(clusters: list[re.Match[str]]) -> list[str]:
    return [_fold_cluster(m.group()) for m in clusters]


def _pieces(text: str, clusters: list[re.Match[str]]) -> list[str]:
    """The folded text in pieces: unchanged stretches and folded clusters."""
    pieces, o = [], 0
    for match, folded in zip(clusters, _folds(clusters), strict=True):
        pieces += [text[o:match.start()], folded]
        o = match.end()
    pieces.append(text[o:])
    return pieces


@cache
def _composing() -> frozenset[str]:
    """Starters that compose with the character before them (Hangul vowels and final
    consonants, Indic two-part vowels…): they belong to that character's cluster."""
    found = set(_HANGUL_VT)
    for code in (*range(0x900, 0x1D00), *range(0x11000, 0x12000)):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            second = chr(int(parts[1], 16))
            if not unicodedata.combining(second):
                found.add(second)
    return frozenset(found)


def _kind(char: str) -> int:
    """Whether `char` is an unchanged starter, a starter that folds, or joins the cluster of
    the character before it (a combining mark, or what composes with its predecessor)."""
    first = unicodedata.normalize("NFKD", char)[:1]
    if (unicodedata.combining(char) or char in _composing() or first in _composing()
            or (first and unicodedata.combining(first))):
        return _JOINS
    return _FOLDS if _fold_cluster(char) != char else _SAFE


@lru_cache(maxsize=4096)
def _fold_cluster(cluster: str) -> str:
    """One cluster folded: NFKC, marks and tatweel removed, CJK characters spaced apart."""
    text = unicodedata.normalize("NFKC", cluster)
    spacing = unicodedata.normalize("NFKC", cluster[0])
    if spacing[:1] == " " and spacing[1:2] in _MARK_SET:
        text = text[1:]  # the spacing form of a mark (U+FE76 → space + fatha): not a space
    return "".join(f" {c} " if is_cjk(c) else c for c in text.translate(_NO_MARKS))
