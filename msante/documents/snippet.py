"""Search-result snippets, cut in Python around the first match in the document's text.

FTS5's snippet() re-tokenizes each result's columns; here the query's terms become one regular
expression that ignores case and accents by itself (each letter a class of its accented forms:
e → [eéèêë…]), run by the C regex engine over the original text: no folding pass, no
tokenizing. Matches in the window are marked with `**`. A document matched only by its title,
author or tags shows the start of its text.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from msante.documents.query import Query, Term
from msante.text import fold

SCAN = 20_000  # characters of a document's text looked at for its snippet
BEFORE, AFTER = 50, 110
MARK = "**"


@cache
def _variants() -> dict[str, str]:
    """For each base letter, a regex class of it and its accented forms (both cases)."""
    forms: dict[str, set[str]] = {}
    for code in range(0x41, 0x250):
        char = chr(code)
        base = fold(char)
        if len(base) == 1 and base.isalpha():
            forms.setdefault(base, {base}).update({char, char.lower(), char.upper()})
    extra = {"oe": "œŒ", "ae": "æÆ"}
    classes = {b: "[" + "".join(sorted(re.escape(c) for c in f)) + "]" for b, f in forms.items()}
    return classes | {k: f"(?:{k}|[{v}])" for k, v in extra.items()}


def _token_regex(token: str) -> str:
    classes = _variants()
    out, i = [], 0
    while i < len(token):
        pair = token[i:i + 2]
        if pair in ("oe", "ae"):  # also the ligatures œ, æ
            out.append(classes[pair])
            i += 2
            continue
        out.append(classes.get(token[i], re.escape(token[i])))
        i += 1
    return "".join(out)


def _term_regex(term: Term) -> str:
    tokens = re.findall(r"\w+", fold(unicodedata.normalize("NFC", term.text)))
    if not tokens:
        return ""
    body = r"\W+".join(_token_regex(t) for t in tokens)
    return rf"\b{body}" + (r"\w*" if term.kind == "prefix" else r"\b")


def matcher(query: Query) -> re.Pattern[str] | None:
    """One regex matching any included term of `query`, ignoring case and accents."""
    parts = [regex for term in query.terms if not term.negated and (regex := _term_regex(term))]
    return re.compile("|".join(parts), re.IGNORECASE) if parts else None


def snippet(text: str, pattern: re.Pattern[str] | None) -> str:
    """A short passage of `text` around the first match, matches marked with **…**."""
    first = pattern.search(text, 0, SCAN) if pattern else None
    if first is None:
        head = text[:BEFORE + AFTER]
        return _squeeze(head) + ("…" if len(text) > len(head) else "")
    start, end = max(0, first.start() - BEFORE), min(len(text), first.end() + AFTER)
    if start:  # begin on a whole word
        space = text.find(" ", start, first.start())
        start = space + 1 if space >= 0 else first.start()
    out, pos = [], start
    for match in pattern.finditer(text, start, end):  # type: ignore[union-attr]
        out += [text[pos:match.start()], MARK, match.group(), MARK]
        pos = match.end()
    out.append(text[pos:end])
    return ("…" if start else "") + _squeeze("".join(out)) + ("…" if end < len(text) else "")


def _squeeze(text: str) -> str:
    return " ".join(text.split())
