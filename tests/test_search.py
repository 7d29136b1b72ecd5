"""Search ranking: few matches by where they match, many by recency; filters hold on both paths.

Documents are inserted through the records layer (their index built by the triggers), as an
import would leave them, without the cost of making PDFs.
"""

from __future__ import annotations

from typing import Any

import pytest

from msante.documents import search as search_mod
from msante.documents.query import parse
from msante.documents.search import FIRST_READ, RANK_CAP, search
from msante.documents.snippet import SCAN, matcher, snippet
from msante.vault import records


def _add(vault: Any, person: str, *, title: str, text: str, author: str | None = None,
         tags: str = "", trashed: bool = False) -> int:
    """Insert one document row; its rowid `n` (later rows are more recent)."""
    with vault.store.write() as tx:
        rid = records.insert(tx, "documents", {
            "person": person, "blob_id": "0" * 32, "wrapped_key": b"", "sha256": "0" * 64,
            "size": 1, "mime": "application/pdf", "title": title, "author": author,
            "tags_text": tags, "doc_date": "2025-01-01", "type_code": "11502-2", "text": text,
            "trashed_at": "2025-02-01T00:00:00Z" if trashed else None,
        }, device=vault.store.device)
        vault.store.log(tx, "test.insert")
    return int(vault.store.conn.execute("SELECT n FROM documents WHERE id = ?",
                                        (rid,)).fetchone()[0])


def _titles(vault: Any, query: str, **kwargs: Any) -> list[str]:
    return [doc.title for doc, _snippet in search(vault.store.conn, query, **kwargs)]


def test_few_matches_rank_title_then_tags_then_author_then_text(vault) -> None:
    owner = vault.people.owner().id
    _add(vault, owner, title="Titre", text="la ferritine est basse")  # text only, oldest
    _add(vault, owner, title="Bilan martial", text="rien", tags="ferritine")
    _add(vault, owner, title="Compte rendu", text="rien", author="Labo Ferritine")
    _add(vault, owner, title="Ferritine sérique", text="rien")
    _add(vault, owner, title="Autre", text="ferritine normale")  # text only, newest
    assert _titles(vault, "ferritine") == [
        "Ferritine sérique", "Bilan martial", "Compte rendu", "Autre", "Titre"]


def test_many_matches_come_newest_first_whatever_the_title(vault, monkeypatch) -> None:
    monkeypatch.setattr(search_mod, "RANK_CAP", 3)
    owner = vault.people.owner().id
    _add(vault, owner, title="Glycémie à jeun", text="glycémie 0,95 g/L")  # title match, oldest
    for i in range(4):
        _add(vault, owner, title=f"Bilan {i}", text="glycémie normale")
    assert _titles(vault, "glycemie", limit=3) == ["Bilan 3", "Bilan 2", "Bilan 1"]


@pytest.mark.parametrize("cap", [RANK_CAP, 1])
def test_trashed_and_other_peoples_documents_are_left_out_on_both_paths(vault, monkeypatch,
                                                                        cap: int) -> None:
    monkeypatch.setattr(search_mod, "RANK_CAP", cap)
    owner = vault.people.owner().id
    child = vault.people.add("Léo Martin", "2019-04-01", "male").id
    _add(vault, owner, title="Vaccin grippe", text="vaccin antigrippal")
    _add(vault, child, title="Vaccin ROR", text="vaccin rougeole")
    _add(vault, owner, title="Vaccin jeté", text="vaccin", trashed=True)
    assert sorted(_titles(vault, "vaccin")) == ["Vaccin ROR", "Vaccin grippe"]
    assert _titles(vault, "vaccin", person_id=child) == ["Vaccin ROR"]
    assert _titles(vault, "vaccin -rougeole") == ["Vaccin grippe"]


def test_snippets_mark_every_match_in_the_window_ignoring_accents(vault) -> None:
    owner = vault.people.owner().id
    _add(vault, owner, title="CRP", text="Dosage de la protéine C-réactive : 3 mg/L. "
         "La PROTEINE c réactive est normale.")
    (_doc, snippet), = search(vault.store.conn, '"proteine c reactive"')
    assert snippet.count("**") == 4
    assert "**protéine C-réactive**" in snippet and "**PROTEINE c réactive**" in snippet


def test_a_limit_of_zero_or_a_query_of_nothing_finds_nothing(vault) -> None:
    _add(vault, vault.people.owner().id, title="Ordonnance", text="paracétamol")
    assert search(vault.store.conn, "paracetamol", limit=0) == []
    assert search(vault.store.conn, '" - * "') == []


def test_many_matches_whose_newest_are_hidden_still_give_the_newest_visible(vault,
                                                                             monkeypatch) -> None:
    """The newest listed matches are read first; when trashed or another person's documents
    leave too few, the whole list is read, then the index walked: same answer every time."""
    monkeypatch.setattr(search_mod, "RANK_CAP", 2)
    reads: list[int] = []
    read, walk = search_mod._read, search_mod._recent
    monkeypatch.setattr(search_mod, "_read", lambda *a, **k: reads.append(1) or read(*a, **k))
    monkeypatch.setattr(search_mod, "_recent", lambda *a, **k: reads.append(2) or walk(*a, **k))
    owner = vault.people.owner().id
    child = vault.people.add("Léo Martin", "2019-04-01", "male").id
    for i in range(3):
        _add(vault, owner, title=f"Ancien {i}", text="ferritine")
    _add(vault, child, title="Léo", text="ferritine")
    _add(vault, owner, title="Jeté", text="ferritine", trashed=True)
    _add(vault, owner, title="Récent", text="ferritine")  # listed: Récent, Jeté, Léo

    def titles(**kwargs: Any) -> tuple[list[str], list[int]]:
        reads.clear()
        return _titles(vault, "ferritine", **kwargs), list(reads)
    assert titles(limit=1) == (["Récent"], [1])  # the newest suffice
    assert titles(limit=2) == (["Récent", "Léo"], [1, 1])  # the whole list
    assert titles(limit=3) == (["Récent", "Léo", "Ancien 2"], [1, 1, 2])  # the index
    assert titles(person_id=owner, limit=2) == (["Récent", "Ancien 2"], [1, 1, 2])
    assert titles(person_id=child) == (["Léo"], [1, 1, 2])


def test_few_matches_beyond_the_limit_keep_the_ranking(vault) -> None:
    """More matches than shown (but few): ranked on the short columns, then only the chosen
    rows read, in the ranked order."""
    owner = vault.people.owner().id
    _add(vault, owner, title="Ferritine", text="rien")
    for i in range(3):
        _add(vault, owner, title=f"Texte {i}", text="ferritine")
    _add(vault, owner, title="Bilan", text="rien", tags="ferritine")
    assert _titles(vault, "ferritine", limit=3) == ["Ferritine", "Bilan", "Texte 2"]


def test_a_match_far_in_a_long_text_is_the_snippets_center(vault) -> None:
    """Only match past the first chunk of a long text: the snippet is cut around it."""
    owner = vault.people.owner().id
    _add(vault, owner, title="Long", text="Rien à signaler. " * 600 + "Ferritine à 12 µg/L.")
    (_doc, snippet), = search(vault.store.conn, "ferritine")
    assert snippet.startswith("…") and "**Ferritine** à 12 µg/L." in snippet


@pytest.mark.parametrize("where", [10, FIRST_READ - 60, FIRST_READ - 4, FIRST_READ + 500, None])
def test_long_texts_are_read_further_only_as_needed(vault, where: int | None) -> None:
    """The start of each text is read with the rows, the rest only when the snippet needs it
    (match past the start, window running past it, no match in the text): the snippet is
    always the one of the whole text."""
    owner = vault.people.owner().id
    filler = "rien à signaler " * (2 * FIRST_READ // 16)
    text = filler if where is None else filler[:where] + " ferritine basse " + filler[where:]
    _add(vault, owner, title="Ferritine" if where is None else "Bilan", text=text)
    (_doc, found), = search(vault.store.conn, "ferritine")
    assert found == snippet(text[:SCAN], matcher(parse("ferritine")))
    assert ("**ferritine**" in found) is (where is not None)


def test_a_query_searched_again_reuses_its_matcher_and_finds_the_same(vault) -> None:
    """The parsed query and its compiled matcher are kept per text: a second search of the
    same text (the screen re-runs it on each filter change) gives the same answer."""
    owner = vault.people.owner().id
    _add(vault, owner, title="Ferritine", text="ferritine basse")
    _add(vault, owner, title="Autre", text="la ferritine remonte")
    first = search(vault.store.conn, "ferritine")
    assert search_mod._prepared("ferritine") is search_mod._prepared("ferritine")
    assert search(vault.store.conn, "ferritine") == first
    assert [d.title for d, _s in first] == ["Ferritine", "Autre"]


@pytest.mark.parametrize("text", [
    "a" * FIRST_READ, "a" * (FIRST_READ + 1), "é" * (FIRST_READ // 2), "é" * (FIRST_READ // 2 + 1),
    "é" * FIRST_READ, "é" * (FIRST_READ + 1), "x" * (FIRST_READ - 1) + "é", "𝄞" * 600, ""])
def test_the_start_of_a_text_read_with_its_row_is_its_first_characters(vault, text: str) -> None:
    """A text short in bytes is read whole, a longer one cut: either way its first FIRST_READ
    characters, whatever the characters' sizes in UTF-8."""
    n = _add(vault, vault.people.owner().id, title="T", text=text)
    (row,) = search_mod._read(vault.store.conn, [n], None)
    assert row[-1] == text[:FIRST_READ]
