"""Full-text search over the documents' index (FTS5 inside the encrypted database).

The query is parsed by our own grammar (documents/query.py) and quoted into FTS5, so no input
is a syntax error. FTS5 lists the matching rowids, newest first, stopping at `RANK_CAP` + 1:

- few matches (at most `RANK_CAP`) are ranked by relevance: a match in the title weighs most,
  then in the tags, then the author, then the text only; ties go to the most recently added.
  The short columns of the few rows are read once (that read also drops hidden-from-search
  rows: trashed, purged, another person's) and the query's own accent-insensitive matcher
  (documents/snippet.py) finds which of them match; when all of them are shown, the whole
  rows are read at once instead. FTS5's bm25() is not used: before it scores its first row
  it counts, for each term of the query, every document holding that term, so one common
  word in a query ("bilan lipidique", "troponine -normal") costs a walk over most of the
  index even when three documents match.
- many matches come most recently added first: the newest listed rowids are the answer,
  read from the documents; only when hidden rows leave too few of them is the index walked
  backwards, joined to the documents, to the limit.

The chosen rows are read with the start of their text (FIRST_READ characters), and a snippet
is cut around the first match; the rest of a text, up to SCAN characters, is read only for
the rows whose start does not settle their snippet.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from msante.documents.model import COLUMNS, Document
from msante.documents.query import parse
from msante.documents.snippet import SCAN, Matcher, matcher, snippet, snippet_of_start
from msante.vault.db import Connection

RANK_CAP = 100
FIRST_READ = 2_048  # characters of each result's text read at first (then up to SCAN)
# how much a match in each short column counts (a match in the text only counts 0)
WEIGHTS = {"title": 8, "tags_text": 4, "author": 2}
_VISIBLE = "d.deleted = 0 AND d.trashed_at IS NULL"
_NAMES = [c.strip() for c in COLUMNS.split(",")]
_DOC_COLUMNS = ", ".join(f"d.{c}" for c in _NAMES)
# the start of a text: the text itself when its bytes are few enough (their count is known
# without reading them, and substr costs more than the short text it cuts, the common case)
_START = (f"iif(length(CAST(d.text AS BLOB)) <= {FIRST_READ}, d.text, "
          f"substr(d.text, 1, {FIRST_READ}))")
_TITLE, _AUTHOR = _NAMES.index("title"), _NAMES.index("author")


def _matching(conn: Connection, expr: str) -> list[str]:
    """The rowids that match, newest first, no more than RANK_CAP + 1 of them, as text.

    They come as one comma-separated value (the listing's order: SQLite feeds an aggregate
    the rows of a subquery with ORDER BY … LIMIT in that order) rather than as 101 rows: a
    row costs the Python driver more than FTS5 costs to find it. Only the rowids used are
    turned into numbers (see `_among`)."""
    found = conn.execute(
        "SELECT group_concat(rowid) FROM (SELECT rowid FROM documents_fts "
        f"WHERE documents_fts MATCH ? ORDER BY rowid DESC LIMIT {RANK_CAP + 1})",
        (expr,)).fetchone()[0]
    return found.split(",") if found else []


def _among(ns: Sequence[int | str], person_id: str | None) -> tuple[str, list[object]]:
    """The WHERE clause (and its arguments) of the visible documents among rowids `ns`."""
    where = f"d.n IN ({','.join('?' * len(ns))}) AND {_VISIBLE}"
    args: list[object] = list(map(int, ns))
    if person_id:
        where += " AND d.person = ?"
        args.append(person_id)
    return where, args


def _read(conn: Connection, ns: Sequence[int | str], person_id: str | None, *,
          limit: int | None = None, extra: str = "") -> list[tuple[object, ...]]:
    """The visible documents among rowids `ns`, newest first (at most `limit`): their columns,
    then `extra` columns, then the start of their text."""
    where, args = _among(ns, person_id)
    sql = (f"SELECT {_DOC_COLUMNS}{extra}, {_START} FROM documents d "
           f"WHERE {where} ORDER BY d.n DESC")
    sql += f" LIMIT {int(limit)}" if limit is not None else ""
    rows: list[tuple[object, ...]] = conn.execute(sql, args).fetchall()
    return rows


def _score(pattern: Matcher | None, *values: object) -> int:
    """How much the short columns (title, tags, author) that match weigh."""
    return sum(weight for weight, value in zip(WEIGHTS.values(), values, strict=True)
               if value and pattern and pattern.found(str(value)))


def _ranked(conn: Connection, found: list[str], pattern: Matcher | None,
            person_id: str | None, limit: int) -> list[tuple[object, ...]]:
    """The rows of the best `limit` visible documents among a few matches."""
    if len(found) <= limit:  # all of them are shown: read them whole at once
        rows = _read(conn, found, person_id, extra=", d.tags_text")
        rows.sort(key=lambda r: -_score(pattern, r[_TITLE], r[-2], r[_AUTHOR]))  # stable
        return [row[:-2] + row[-1:] for row in rows]
    where, args = _among(found, person_id)
    sql = f"SELECT d.n, {', '.join(WEIGHTS)} FROM documents d WHERE {where}"
    scored = sorted((-_score(pattern, *values), -n)
                    for n, *values in conn.execute(sql, args).fetchall())
    chosen = [-neg_n for _score, neg_n in scored[:limit]]
    by_n = {row[0]: row for row in _read(conn, chosen, person_id)} if chosen else {}
    return [by_n[n] for n in chosen if n in by_n]


def _recent(conn: Connection, expr: str, person_id: str | None,
            limit: int) -> list[tuple[object, ...]]:
    """The rows of the `limit` most recently added visible documents among many matches."""
    sql = (f"SELECT {_DOC_COLUMNS}, {_START} FROM documents_fts "
           f"JOIN documents d ON d.n = documents_fts.rowid "
           f"WHERE documents_fts MATCH ? AND {_VISIBLE}")
    args: list[object] = [expr]
    if person_id:
        sql += " AND d.person = ?"
        args.append(person_id)
    sql += f" ORDER BY documents_fts.rowid DESC LIMIT {int(limit)}"
    rows: list[tuple[object, ...]] = conn.execute(sql, args).fetchall()
    return rows


@lru_cache(maxsize=64)
def _prepared(text: str) -> tuple[str | None, Matcher | None]:
    """The FTS5 expression and the matcher of a query (kept for the next searches of the same
    text: the screen's search runs again on each change of filter, and parsing and compiling
    cost a search about as much as reading its rows)."""
    query = parse(text)
    return query.fts(), matcher(query)


def search(conn: Connection, text: str, *, person_id: str | None = None,
           limit: int = 20) -> list[tuple[Document, str]]:
    """(document, snippet) pairs for `text`; snippets mark matches with **…**."""
    expr, pattern = _prepared(text)
    if expr is None or limit <= 0:
        return []
    found = _matching(conn, expr)
    if not found:
        return []
    if len(found) <= RANK_CAP:
        rows = _ranked(conn, found, pattern, person_id, limit)
    else:  # the newest visible: among the newest listed, unless too many of them are hidden
        rows = _read(conn, found[:limit], person_id)
        if len(rows) < limit:
            rows = _read(conn, found, person_id, limit=limit)
        if len(rows) < limit:
            rows = _recent(conn, expr, person_id, limit)
    return list(zip(Document.from_rows(rows),
                    _snippets(conn, rows, pattern), strict=True))


def _snippets(conn: Connection, rows: list[tuple[object, ...]],
              pattern: Matcher | None) -> list[str]:
    """The rows' snippets, from the start of their text read with them; the rest of a text is
    read, for all such rows at once, only when its start does not settle its snippet."""
    out: list[str | None] = []
    rest: dict[object, int] = {}  # rowid → index of the row whose text is needed whole
    for i, row in enumerate(rows):
        text = str(row[-1] or "")
        out.append(snippet(text, pattern) if len(text) < FIRST_READ
                   else snippet_of_start(text, pattern))
        if out[-1] is None:
            rest[row[0]] = i
    if rest:
        more = dict(conn.execute(
            f"SELECT n, substr(text, {FIRST_READ + 1}, {SCAN - FIRST_READ}) FROM documents "
            f"WHERE n IN ({','.join('?' * len(rest))})", list(rest)).fetchall())
        for n, i in rest.items():  # (a row deleted meanwhile: the start is all there is)
            out[i] = snippet(str(rows[i][-1]) + str(more.get(n) or ""), pattern)
    return [text or "" for text in out]
