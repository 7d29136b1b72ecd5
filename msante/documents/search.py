"""Full-text search over the documents' index (FTS5 inside the encrypted database).

The query is parsed by our own grammar (documents/query.py) and quoted into FTS5, so no input
is a syntax error. Matches are counted up to `RANK_CAP` + 1. When they are few, their bm25
scores (the title weighing most) are read in one pass and ranked in Python; when they are many,
ranking them all would be slow, so the most recently added come first (FTS5 walks its index
backwards and stops at the limit). Only then are the chosen documents read, with a snippet
cut around their first match.
"""

from __future__ import annotations

from msante.documents.model import COLUMNS, Document
from msante.documents.query import parse
from msante.documents.snippet import SCAN, matcher, snippet
from msante.vault.db import Connection

RANK_CAP = 250
# bm25 weights of title, author, tags_text, text
WEIGHTS = "10.0, 4.0, 6.0, 1.0"
_VISIBLE = "deleted = 0 AND trashed_at IS NULL"


def _count(conn: Connection, expr: str) -> int:
    """How many documents match, counting no further than RANK_CAP + 1."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? "
        f"LIMIT {RANK_CAP + 1})", (expr,)).fetchone()
    return int(row[0])


def _scored(conn: Connection, expr: str) -> list[tuple[int, float]]:
    """Every match with its bm25 score (only called when they are few)."""
    rows = conn.execute(f"SELECT rowid, bm25(documents_fts, {WEIGHTS}) FROM documents_fts "
                        "WHERE documents_fts MATCH ?", (expr,)).fetchall()
    return [(int(n), float(score)) for n, score in rows]


def _ranked(conn: Connection, scored: list[tuple[int, float]], person_id: str | None,
            limit: int) -> list[int]:
    """The best `limit` visible rowids of a few scored matches (bm25: lower is better)."""
    ranked = [n for n, _score in sorted(scored, key=lambda r: r[1])]
    marks = ",".join("?" * len(ranked))
    sql = f"SELECT n FROM documents WHERE n IN ({marks}) AND {_VISIBLE}"
    args: list[object] = list(ranked)
    if person_id:
        sql += " AND person = ?"
        args.append(person_id)
    visible = {row[0] for row in conn.execute(sql, args).fetchall()}
    return [n for n in ranked if n in visible][:limit]


def _recent(conn: Connection, expr: str, person_id: str | None, limit: int) -> list[int]:
    """The `limit` most recently added visible documents among many matches."""
    sql = (f"SELECT d.n FROM documents_fts JOIN documents d ON d.n = documents_fts.rowid "
           f"WHERE documents_fts MATCH ? AND d.{_VISIBLE.replace(' AND ', ' AND d.')}")
    args: list[object] = [expr]
    if person_id:
        sql += " AND d.person = ?"
        args.append(person_id)
    sql += f" ORDER BY documents_fts.rowid DESC LIMIT {int(limit)}"
    return [row[0] for row in conn.execute(sql, args).fetchall()]


def search(conn: Connection, text: str, *, person_id: str | None = None,
           limit: int = 20) -> list[tuple[Document, str]]:
    """(document, snippet) pairs for `text`; snippets mark matches with **…**."""
    query = parse(text)
    expr = query.fts()
    if expr is None:
        return []
    matches = _count(conn, expr)
    if not matches:
        return []
    chosen = (_ranked(conn, _scored(conn, expr), person_id, limit) if matches <= RANK_CAP
              else _recent(conn, expr, person_id, limit))
    if not chosen:
        return []
    rows = conn.execute(f"SELECT {COLUMNS}, substr(text, 1, {SCAN}) FROM documents "
                        f"WHERE n IN ({','.join('?' * len(chosen))})", chosen).fetchall()
    by_n = {row[0]: row for row in rows}
    pattern = matcher(query)
    return [(Document.from_row(by_n[n][:-1]), snippet(by_n[n][-1] or "", pattern))
            for n in chosen if n in by_n]
