"""Search beyond plain Latin text: ligatures, Arabic marks and presentation forms, Chinese,
Japanese and Korean words inside runs, Greek, Cyrillic, Hebrew, Devanagari — found through
the index (folded by its triggers), and marked in the snippet at the right place of the
ORIGINAL text, whatever the fold did to its length."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from msante.api import Vault
from msante.documents.search import search
from msante.vault import migrations, records, store
from tests.conftest import run_cli
from tests.helpers_vault import keys_of, make_vault


def _add(vault: Any, text: str, title: str = "Document") -> None:
    owner = vault.people.owner().id
    with vault.store.write() as tx:
        records.insert(tx, "documents", {
            "person": owner, "blob_id": "0" * 32, "wrapped_key": b"", "sha256": "0" * 64,
            "size": 1, "mime": "application/pdf", "title": title, "doc_date": "2025-01-01",
            "type_code": "11502-2", "text": text}, device=vault.store.device)
        vault.store.log(tx, "test.insert")


def _hits(vault: Any, query: str) -> list[tuple[str, str]]:
    return [(doc.title, snip) for doc, snip in search(vault.store.conn, query)]


# (text of a document, query, what the snippet marks: the original's own characters)
CASES = [
    # Latin: ligatures as PDFs extract them (U+FB01, U+FB02), both ways round
    ("A speciﬁc test.", "specific", "speciﬁc"),
    ("Pas de ﬁèvre, insufﬁsance rénale, inﬂammation.", "fievre", "ﬁèvre"),
    ("Pas de ﬁèvre, insufﬁsance rénale, inﬂammation.", "insuffisance", "insufﬁsance"),
    ("Pas de ﬁèvre, insufﬁsance rénale, inﬂammation.", "inflammation", "inﬂammation"),
    ("Pas de fièvre ce jour.", "ﬁèvre", "fièvre"),
    ("Pas de fièvre ce jour.", "FIEVRE", "fièvre"),
    ("Re\u0301sultat normal.", "résultat", "Re\u0301sultat"),   # decomposed accent
    ("Patient ＤＵＰＯＮＴ, dossier １２３.", "dupont", "ＤＵＰＯＮＴ"),
    # Arabic: vowel marks either side, presentation forms, the lam-alef ligature, tatweel
    ("قال حَبِيبِي اليوم", "حبيبي", "حَبِيبِي"),
    ("قال حبيبي اليوم", "حَبيبي", "حبيبي"),
    ("ﻗﺎﻝ ﺣﺒﻴﺒﻲ ﺍﻟﻴﻮﻡ", "حبيبي", "ﺣﺒﻴﺒﻲ"),
    ("ﻻ ﻳﻮﺟﺪ ﺍﻟﺘﻬﺎﺏ", "لا", "ﻻ"),
    ("تحليل الدم الطبـــيعي", "الطبيعي", "الطبـــيعي"),
    # Chinese, Japanese, Korean: a word inside a run
    ("你好世界，今天天气很好。", "世界", "世界"),
    ("日本語テストの結果は正常です。", "日本語", "日本語"),
    ("日本語テストの結果は正常です。", "テスト", "テスト"),
    ("日本語テストの結果は正常です。", "結果", "結果"),
    ("ｶﾀｶﾅのﾃｽﾄ", "テスト", "ﾃｽﾄ"),                      # half-width katakana
    ("血液検査: ヘモグロビン正常", "ﾍﾓｸﾞﾛﾋﾞﾝ", "ヘモグロビン"),
    ("한국어를 배우고 있습니다", "한국어", "한국어"),
    ("X線検査で異常なし", "X線", "X線"),
    # Greek, Cyrillic, Hebrew, Devanagari: words of their own, case ignored
    ("Η ΚΑΡΔΙΆ είναι φυσιολογική", "καρδιά", "ΚΑΡΔΙΆ"),
    ("Анализ крови: ГЕМОГЛОБИН в норме", "гемоглобин", "ГЕМОГЛОБИН"),
    ("בדיקת דָּם תקינה", "דם", "דָּם"),
    ("रक्त परीक्षण सामान्य है", "परीक्षण", "परीक्षण"),
]


@pytest.mark.parametrize(("text", "query", "marked"), CASES)
def test_a_word_is_found_and_marked_in_the_original_text(vault: Any, text: str, query: str,
                                                         marked: str) -> None:
    _add(vault, text)
    hits = _hits(vault, query)
    assert len(hits) == 1, hits
    snip = hits[0][1]
    assert f"**{marked}**" in snip
    assert snip.replace("**", "") == " ".join(text.split())  # nothing else changed


@pytest.mark.parametrize(("text", "query"), [
    ("你好世界", "世"), ("日本語テスト", "本語テ"), ("한국어를", "국어"),
])
def test_any_part_of_a_cjk_run_is_found(vault: Any, text: str, query: str) -> None:
    _add(vault, text)
    assert len(_hits(vault, query)) == 1


@pytest.mark.parametrize(("text", "query"), [
    ("日本語テスト", "日本人"),       # characters not adjacent in that order
    ("你好世界", "界世"),
    ("रक्त परीक्षण", "रक"),            # a Devanagari word is one token, not cut at its signs
    ("ﻗﺎﻝ ﺣﺒﻴﺒﻲ", "حب"),              # no more than the word
])
def test_the_fold_finds_no_more_than_the_words(vault: Any, text: str, query: str) -> None:
    _add(vault, text)
    assert _hits(vault, query) == []


def test_a_cjk_prefix_phrase_and_exclusion_keep_their_meaning(vault: Any) -> None:
    _add(vault, "日本語テスト", title="a")
    _add(vault, "日本の歴史", title="b")
    assert sorted(t for t, _s in _hits(vault, "日本*")) == ["a", "b"]
    assert [t for t, _s in _hits(vault, '"日本語"')] == ["a"]
    assert [t for t, _s in _hits(vault, "日本 -テスト")] == ["b"]


def test_titles_are_folded_too_and_rank_first(vault: Any) -> None:
    """The title, author and tags go through the same fold: a ligature in a title ranks it."""
    _add(vault, "rien", title="Bilan speciﬁque")
    _add(vault, "un bilan spécifique")
    assert [t for t, _s in _hits(vault, "specifique")] == ["Bilan speciﬁque", "Document"]


def test_a_long_text_marks_the_match_past_many_folded_characters(vault: Any) -> None:
    """Folding lengthens (ﬁ → fi, CJK spaced) or shortens (marks) the text before the match:
    the mark still lands on the match."""
    text = "ﬁ ﬂ 日本 حَبِيبِي " * 300 + "ferritine basse " + "ﬁn " * 40
    _add(vault, text)
    (_title, snip), = _hits(vault, "ferritine")
    assert snip.startswith("…") and "**ferritine** basse" in snip


def test_doc_search_finds_a_ligature_from_the_command_line(vault: Any, home: Path) -> None:
    """`msante doc search specific` finds the PDF text with "speciﬁc"; same --json keys."""
    _add(vault, "The speciﬁc gravity of urine is normal.", title="Urine")
    vault.close()
    from tests.conftest import PASSPHRASE
    pfile = home.parent / "search-pass"
    pfile.write_text(PASSPHRASE)
    pfile.chmod(0o600)
    result = run_cli("doc", "search", "specific", "--json",
                     env_extra={"MSANTE_PASSPHRASE_FILE": str(pfile)})
    assert result.returncode == 0, result.stderr
    (hit,) = json.loads(result.stdout)
    assert hit["title"] == "Urine" and "**speciﬁc**" in hit["snippet"]


FULL = list(migrations.MIGRATIONS)


def test_a_vault_made_before_the_fold_is_reindexed_on_open(
        home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Documents stored by the previous schema (index over the raw text) are found by the
    fold once the vault is opened by this version, and the index checks out."""
    before = FULL[:[m[0] for m in FULL].index("search_fold")]  # a vault of the version before
    monkeypatch.setattr(migrations, "MIGRATIONS", before)
    monkeypatch.setattr(store, "MIGRATIONS", before)
    vault, _rk = make_vault(home)
    for text in ["A speciﬁc test.", "قال حَبِيبِي اليوم", "日本語テスト"]:
        _add(vault, text, title=text)
    assert _hits(vault, "specific") == [] and _hits(vault, "日本語") == []
    vault.close()
    monkeypatch.undo()
    with Vault.open(home, keys_of(home)) as reopened:
        assert reopened.schema_version() == len(FULL)
        assert [t for t, _s in _hits(reopened, "specific")] == ["A speciﬁc test."]
        assert [t for t, _s in _hits(reopened, "حبيبي")] == ["قال حَبِيبِي اليوم"]
        assert [t for t, _s in _hits(reopened, "日本語")] == ["日本語テスト"]
        conn = reopened.store.conn
        conn.execute("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')")


def test_the_index_follows_edits_and_deletes_of_folded_text(vault: Any) -> None:
    """Triggers delete what they indexed (the same fold), so edits leave no stale words."""
    _add(vault, "ﬁèvre", title="Note")
    conn = vault.store.conn
    with vault.store.write() as tx:
        tx.execute("UPDATE documents SET text = 'ﬂux' WHERE title = 'Note'")
        vault.store.log(tx, "test.update")
    assert _hits(vault, "fievre") == [] and len(_hits(vault, "flux")) == 1
    with vault.store.write() as tx:
        tx.execute("DELETE FROM documents")
        vault.store.log(tx, "test.delete")
    assert _hits(vault, "flux") == []
    conn.execute("INSERT INTO documents_fts(documents_fts) VALUES ('integrity-check')")
