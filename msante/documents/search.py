"""Full-text search over the documents' index (FTS5 inside the encrypted database).

The query is parsed by our own grammar (documents/query.py) and quoted into FTS5, so no input
is a syntax error. Ranking: when the matches are few (at most `RANK_CAP`), by relevance (bm25,
the title weighing most); when they are many, ranking them all would be slow, so the most
recently added come first (FTS5 walks its index backwards and stops at the limit).
"""

from __future__ import annotations

from msante.documents.model import COLUMNS, Document
from msante.documents.query import parse
from msante.documents.snippet import SCAN, matcher, snippet
from msante.vault.db import Connection

RANK_CAP = 250
# bm25 weights of title, author, tags_text, text
WEIGHTS = "10.0, 4.0, 6.0, 1.0"
_DOC_COLUMNS = ", ".join(f"d.{c.strip()}" for c in COLUMNS.split(","))


def _count_capped(conn: Connection, expr: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM (SELECT rowid FROM documents_fts WHERE documents_fts MATCH ? "
        f"LIMIT {RANK_CAP + 1})", (expr,)).fetchone()
    return int(row[0])


def search(conn: Connection, text: str, *, person_id: str | None = None,
           limit: int = 20) -> list[tuple[Document, str]]:
    """(document, snippet) pairs for `text`; snippets mark matches with **…**."""
    query = parse(text)
    expr = query.fts()
    if expr is None:
        return []
    matches = _count_capped(conn, expr)
    if matches == 0:
        return []
    order = f"bm25(documents_fts, {WEIGHTS})" if matches <= RANK_CAP else "documents_fts.rowid DESC"
    where = "documents_fts MATCH ? AND d.deleted = 0 AND d.trashed_at IS NULL"
    args: list[object] = [expr]
    if person_id:
        where += " AND d.person = ?"
        args.append(person_id)
    sql = (f"SELECT {_DOC_COLUMNS}, substr(d.text, 1, {SCAN}) FROM documents_fts "
           f"JOIN documents d ON d.n = documents_fts.rowid WHERE {where} "
           f"ORDER BY {order} LIMIT {int(limit)}")
    pattern = matcher(query)
    return [(Document.from_row(r[:-1]), snippet(r[-1] or "", pattern))
            for r in conn.execute(sql, args).fetchall()]
