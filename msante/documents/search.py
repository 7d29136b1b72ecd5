"""Full-text search over the documents' index (FTS5 inside the encrypted database).

The query is parsed by our own grammar (documents/query.py) and quoted into FTS5, so no input
is a syntax error. FTS5 lists the matching rowids, stopping at `RANK_CAP` + 1:

- few matches (at most `RANK_CAP`) are ranked by relevance: a match in the title weighs most,
  then in the tags, then the author, then the text only; ties go to the most recently added.
  The short columns of the few rows are read once (that read also drops hidden-from-search
  rows: trashed, purged, another person's) and the query's own accent-insensitive regular
  expression finds which of them match. FTS5's bm25() is not used: before it scores its first
  row it counts, for each term of the query, every document holding that term, so one common
  word in a query ("bilan lipidique", "troponine -normal") costs a walk over most of the index
  even when three documents match.
- many matches come most recently added first: FTS5 walks its rowids backwards, joined to the
  documents, and stops at the limit.

The chosen rows are read with the start of their text, and a snippet is cut around the first
match.
"""

from __future__ import annotations

import re

from msante.documents.model import COLUMNS, Document
from msante.documents.query import parse
from msante.documents.snippet import SCAN, matcher, snippet
from msante.vault.db import Connection

RANK_CAP = 100
# how much a match in each short column counts (a match in the text only counts 0)
WEIGHTS = {"title": 8, "tags_text": 4, "author": 2}
_VISIBLE = "d.deleted = 0 AND d.trashed_at IS NULL"
_DOC_COLUMNS = ", ".join(f"d.{c.strip()}" for c in COLUMNS.split(","))


def _matching(conn: Connection, expr: str) -> list[int]:
    """The rowids that match, no more than RANK_CAP + 1 of them."""
    return [row[0] for row in conn.execute(
        f"SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? LIMIT {RANK_CAP + 1}",
        (expr,)).fetchall()]


def _ranked(conn: Connection, found: list[int], pattern: re.Pattern[str] | None,
            person_id: str | None, limit: int) -> list[int]:
    """The best `limit` visible rowids among a few matches."""
    sql = (f"SELECT d.n, {', '.join(WEIGHTS)} FROM documents d "
           f"WHERE d.n IN ({','.join('?' * len(found))}) AND {_VISIBLE}")
    args: list[object] = list(found)
    if person_id:
        sql += " AND d.person = ?"
        args.append(person_id)
    scored = []
    for n, *values in conn.execute(sql, args).fetchall():
        score = sum(weight for weight, value in zip(WEIGHTS.values(), values, strict=True)
                    if value and pattern and pattern.search(value))
        scored.append((-score, -n))
    scored.sort()
    return [-neg_n for _score, neg_n in scored[:limit]]


def _rows(conn: Connection, chosen: list[int]) -> list[tuple[object, ...]]:
    """The documents' columns and the start of their text, in the order of `chosen`."""
    rows = conn.execute(f"SELECT {COLUMNS}, substr(text, 1, {SCAN}) FROM documents "
                        f"WHERE n IN ({','.join('?' * len(chosen))})", chosen).fetchall()
    by_n = {row[0]: row for row in rows}
    return [by_n[n] for n in chosen if n in by_n]


def _recent(conn: Connection, expr: str, person_id: str | None,
            limit: int) -> list[tuple[object, ...]]:
    """The rows of the `limit` most recently added visible documents among many matches."""
    sql = (f"SELECT {_DOC_COLUMNS}, substr(d.text, 1, {SCAN}) FROM documents_fts "
           f"JOIN documents d ON d.n = documents_fts.rowid "
           f"WHERE documents_fts MATCH ? AND {_VISIBLE}")
    args: list[object] = [expr]
    if person_id:
        sql += " AND d.person = ?"
        args.append(person_id)
    sql += f" ORDER BY documents_fts.rowid DESC LIMIT {int(limit)}"
    rows: list[tuple[object, ...]] = conn.execute(sql, args).fetchall()
    return rows


def search(conn: Connection, text: str, *, person_id: str | None = None,
           limit: int = 20) -> list[tuple[Document, str]]:
    """(document, snippet) pairs for `text`; snippets mark matches with **…**."""
    query = parse(text)
    expr = query.fts()
    if expr is None or limit <= 0:
        return []
    found = _matching(conn, expr)
    if not found:
        return []
    pattern = matcher(query)
    if len(found) <= RANK_CAP:
        chosen = _ranked(conn, found, pattern, person_id, limit)
        rows = _rows(conn, chosen) if chosen else []
    else:
        rows = _recent(conn, expr, person_id, limit)
    return [(Document.from_row(row[:-1]), snippet(str(row[-1] or ""), pattern)) for row in rows]
