"""Folding text for matching: a length-preserving fold, word sets, short evidence."""

from __future__ import annotations

import re

from msante.text import fold

EVIDENCE_MAX = 80

def _flat_table() -> dict[str, str]:
    """One folded character for each accented Latin letter and typographic sign."""
    table = {chr(c): fold(chr(c)) for c in range(0x80, 0x250)}
    table = {c: f for c, f in table.items() if len(f) == 1 and f != c}
    table.update(dict.fromkeys("\u00a0\u2007\u202f", " "))
    table.update(dict.fromkeys("\u2018\u2019\u02bc\u00b4`", "'"))
    table.update(dict.fromkeys("\u00ab\u00bb\u201c\u201d", '"'))
    table.update(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2212\u2022\u25aa\u25ba", "-"))
    return table


_FLAT = _flat_table()
_NUMBER = re.compile(r"(?<![\w\-])\d")
_WORD_BYTES = bytes(b if 48 <= b <= 57 or 97 <= b <= 122 or b >= 128 else 32 for b in range(256))


def _flat(text: str) -> str:
    """Lower case without accents, one character for one (positions map back to `text`)."""
    for char in {c for c in set(text) if c in _FLAT}:
        text = text.replace(char, _FLAT[char])
    return text.lower()


def _words(flat: str) -> frozenset[bytes]:
    """The words (letters and digits) of a folded text."""
    return frozenset(flat.encode().translate(_WORD_BYTES).split())


def _clip(text: str) -> str:
    """`text` on one line, at most EVIDENCE_MAX characters."""
    words = " ".join(text.split())
    return words if len(words) <= EVIDENCE_MAX else words[:EVIDENCE_MAX - 1] + "…"
