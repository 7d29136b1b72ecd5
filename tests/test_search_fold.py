"""The search fold (msante/folding.py): one function for the index, the queries and the
snippets, in every script — and the map from the folded text back to the original, which the
snippets' marks rely on."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.folding import (
    _CJK,
    _MARK_SET,
    _MARKS,
    _composing,
    _unchanged,
    fold_map,
    is_cjk,
    search_fold,
)


@pytest.mark.parametrize(("text", "folded"), [
    ("speciﬁc", "specific"),                                # ﬁ (U+FB01)
    ("ﬁèvre, insufﬁsance, inﬂammation", "fièvre, insuffisance, inflammation"),
    ("ﬀ ﬃ ﬄ ﬆ", "ff ffi ffl st"),
    ("e\u0301cole", "école"),                               # decomposed accents compose
    ("Ｐａｔｉｅｎｔ １２", "Patient 12"),                     # full-width Latin
    ("حَبِيبِي", "حبيبي"),                                  # Arabic vowel marks
    ("ﺣﺒﻴﺒﻲ", "حبيبي"),                                     # presentation forms (U+FExx)
    ("ﻻ", "لا"),                                            # the lam-alef ligature
    ("بـــيت", "بيت"),                                      # tatweel
    ("شَلוֹם שָׁלוֹם", "شلום שלום"),                         # Hebrew points
    ("日本語テスト", " 日  本  語  テ  ス  ト "),              # each CJK character a token
    ("ﾃｽﾄ", " テ  ス  ト "),                                 # half-width katakana
    ("ｶﾞ", " ガ "),                                         # and its voiced mark
    ("한국어를", " 한  국  어  를 "),                         # Hangul syllables
    ("\u1100\u1161", " 가 "),                               # conjoining jamo compose
    ("καρδιά Москва", "καρδιά Москва"),                     # Greek, Cyrillic: unchanged
    ("patient", "patient"),
])
def test_the_fold_in_each_script(text: str, folded: str) -> None:
    assert search_fold(text) == folded
    assert fold_map(text).text == folded


# Characters that fold, combine or compose, mixed with plain ones: ligatures, marks, Arabic
# letters and forms, Hebrew points, CJK, kana (half-width and its voiced marks), Hangul
# syllables and jamo, an Indic two-part vowel, compatibility digits, spaces.
ALPHABET = list("aeéfi ﬁﬂĳ½²\u00a0\u0301\u0327\u0308حبيﺣﺒﻴلاﻻ\u064e\u0650\u0651\u0670ـ"
                "ש\u05b8\u05c1日本語テｶﾞﾃ\u3099한\u1100\u1161\u11a8ㄱ\u0b47\u0b3e\u0b4bΩΆаӣ-.")


def _reference(text: str) -> str:
    """What the fold means, done on the whole text at once."""
    nfkc = unicodedata.normalize("NFKC", text)
    cjk = re.compile(f"[{_CJK}]")
    return cjk.sub(r" \g<0> ", "".join(c for c in nfkc if c not in _MARK_SET))


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_folding_cluster_by_cluster_is_folding_the_whole_text(text: str) -> None:
    """Each cluster (a character and what combines with it) folds alone, so the fold is
    NFKC of the whole text (then marks out, CJK apart), however marks and jamo fall."""
    assert search_fold(text) == _reference(text)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
def test_each_part_of_the_fold_comes_from_a_known_part_of_the_text(text: str) -> None:
    """Between changes the folded text is the original; each change is the fold of its
    cluster; and positions map back and forth in order."""
    folded = fold_map(text)
    assert folded.text == search_fold(text)
    o = f = 0
    for fs, fe, os_, oe in folded.changes:
        assert folded.text[f:fs] == text[o:os_]
        assert folded.text[fs:fe] == search_fold(text[os_:oe])
        f, o = fe, oe
    assert folded.text[f:] == text[o:]
    starts = [folded.start(i) for i in range(len(folded.text) + 1)]
    ends = [folded.end(i) for i in range(len(folded.text) + 1)]
    assert starts == sorted(starts) and ends == sorted(ends)
    # a span of the fold maps to a span of the text that is not empty (a whole cluster)
    assert all(starts[a] < ends[a + 1] for a in range(len(folded.text)))
    assert ends[-1] <= len(text)
    assert [folded.folded(j) for j in range(len(text) + 1)] == sorted(
        folded.folded(j) for j in range(len(text) + 1))


def test_a_span_of_the_fold_maps_to_the_original_words() -> None:
    """A word found in the folded text is the original's, ligature or marks included."""
    text = "Le test speciﬁc de حَبيبي et 日本語テスト."
    folded = fold_map(text)
    for word, original in [("specific", "speciﬁc"), ("حبيبي", "حَبيبي"), ("日  本  語", "日本語")]:
        i = folded.text.index(word)
        assert text[folded.start(i):folded.end(i + len(word))] == original


def test_a_text_with_nothing_to_fold_is_returned_as_is() -> None:
    """Nearly every text: no copy, no map (the snippets' fast path)."""
    text = "Glycémie à jeun : 0,92 g/L – œdème, « stable »"
    assert search_fold(text) is text
    assert fold_map(text).changes == ()


def test_what_composes_with_the_character_before_it_is_found_on_all_of_unicode() -> None:
    """The starters that compose with their predecessor (looked for in a few blocks) are all
    of them in this Python's Unicode."""
    every = set()
    for code in range(0x110000):
        parts = unicodedata.decomposition(chr(code)).split()
        if len(parts) == 2 and not parts[0].startswith("<"):
            second = chr(int(parts[1], 16))
            if not unicodedata.combining(second):
                every.add(second)
    assert every <= _composing()


def test_cjk_characters_are_told_apart() -> None:
    assert all(map(is_cjk, "日本語テストひらがな한글中文〇々"))
    assert not any(map(is_cjk, "abcé αβγ абв حب ש 1 。、！"))


def test_the_quick_check_never_skips_a_text_that_folds() -> None:
    """A text is taken as folding to itself (no copy, no map) only when it does: checked for
    every character up to U+3100 and at the edges of every CJK and mark range, after an
    ASCII, a Latin-1 and a cp1252-only character (each takes another path of the check)."""
    edges = {ord(c) + d for c in re.findall(r"[^-]", _CJK + _MARKS) for d in (-1, 0, 1)}
    for code in sorted(set(range(0x80, 0x3100)) | edges):
        if 0xD800 <= code < 0xE000:
            continue
        char = chr(code)
        for before in ("a", "é", "’"):
            text = before + char
            assert _unchanged(text) is (search_fold(text) == text), hex(code)


def test_the_ascii_shortcut_of_text_fold_is_the_full_fold() -> None:
    """msante.text.fold takes a shortcut for ASCII text: it gives what NFKD and the removal
    of combining marks give, for every ASCII character and for mixed strings."""
    import unicodedata

    from msante.text import fold as key

    def full(text: str) -> str:
        bare = "".join(c for c in unicodedata.normalize("NFKD", text)
                       if not unicodedata.combining(c))
        return " ".join(bare.casefold().split())

    every = "".join(map(chr, range(128)))
    for text in (every, "  Élodie  MARTIN ", "Jean-Pierre\tDUPONT\n", "ß", ""):
        assert key(text) == full(text)
