"""The link code (msante/sync/link_code.py): 160 random bits that survive the trip through
words, base32 and QR text in any case and spacing, and every single typo is caught by the
checksum with a clear message — never accepted as another code."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.errors import UsageError
from msante.sync.link_code import (
    CHAR_COUNT,
    CROCKFORD,
    QR_PREFIX,
    SECRET_LEN,
    VALID_FOR,
    WORD_BITS,
    WORD_COUNT,
    BadLinkCode,
    LinkCode,
)
from msante.sync.signing import word_list
from msante.vault.crypto import new_recovery_key

T0 = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
secrets_ = st.binary(min_size=SECRET_LEN, max_size=SECRET_LEN)
QR_ALPHANUMERIC = re.compile(r"[0-9A-Z $%*+\-./:]+")


def code(secret: bytes) -> LinkCode:
    """The code of `secret`, made at T0."""
    return LinkCode(secret, T0)


def test_a_new_code_is_160_random_bits() -> None:
    """At least 128 bits are required; 160 are drawn, and two codes differ."""
    a, b = LinkCode.new(), LinkCode.new()
    assert len(a.secret) * 8 == 160 >= 128
    assert a.secret != b.secret
    assert a.created.utcoffset() is not None


@settings(max_examples=200, deadline=None)
@given(secrets_)
def test_words_base32_and_qr_text_round_trip(secret: bytes) -> None:
    """words ↔ code ↔ QR text ↔ grouped text: each form parses back to the same secret."""
    c = code(secret)
    for text in (c.words(), c.qr_text(), c.text()):
        assert LinkCode.parse(text, T0) == c
    assert LinkCode.parse(LinkCode.parse(c.words()).qr_text()).words() == c.words()


@settings(max_examples=100, deadline=None)
@given(secrets_, st.sampled_from(["  ", "\n", " , ", "\t"]), st.booleans())
def test_parse_forgives_case_and_spacing(secret: bytes, sep: str, upper: bool) -> None:
    """Upper case, extra spaces, commas, line breaks; dashes, spaces and O/I/L in base32."""
    c = code(secret)
    words = sep.join(c.words().split())
    assert LinkCode.parse(f"  {words.upper() if upper else words}  ", T0) == c
    chars = c.qr_text()[len(QR_PREFIX):]
    spaced = " ".join(chars[i:i + 3] for i in range(0, CHAR_COUNT, 3)).lower()
    assert LinkCode.parse(spaced, T0) == c
    assert LinkCode.parse(c.text().replace("0", "o").replace("1", "I"), T0) == c
    assert LinkCode.parse(c.qr_text().lower(), T0) == c


@settings(max_examples=200, deadline=None)
@given(secrets_, st.integers(0, WORD_COUNT - 1), st.integers(1, (1 << WORD_BITS) - 1))
def test_every_single_word_change_is_caught(secret: bytes, position: int, shift: int) -> None:
    """Any word replaced by another word of the list fails the checksum: never another code."""
    words = code(secret).words().split()
    index = word_list().index(words[position])
    words[position] = word_list()[(index + shift) % (1 << WORD_BITS)]
    with pytest.raises(BadLinkCode, match="typo"):
        LinkCode.parse(" ".join(words), T0)


@settings(max_examples=200, deadline=None)
@given(secrets_, st.integers(0, CHAR_COUNT - 1), st.integers(1, 31))
def test_every_single_character_change_is_caught(secret: bytes, position: int,
                                                 shift: int) -> None:
    """Any base32 character replaced by another fails the checksum (or the zero padding)."""
    chars = list(code(secret).qr_text()[len(QR_PREFIX):])
    chars[position] = CROCKFORD[(CROCKFORD.index(chars[position]) + shift) % 32]
    with pytest.raises(BadLinkCode, match="typo"):
        LinkCode.parse("".join(chars), T0)


@settings(max_examples=200, deadline=None)
@given(secrets_, st.integers(0, CHAR_COUNT - 2))
def test_swapping_two_neighbouring_characters_is_caught(secret: bytes, position: int) -> None:
    """A transposition of two different neighbours is caught; of two equal ones, harmless."""
    chars = list(code(secret).qr_text()[len(QR_PREFIX):])
    chars[position], chars[position + 1] = chars[position + 1], chars[position]
    if chars[position] == chars[position + 1]:
        assert LinkCode.parse("".join(chars), T0).secret == secret
        return
    with pytest.raises(BadLinkCode, match="typo"):
        LinkCode.parse("".join(chars), T0)


@pytest.mark.parametrize(("text", "message"), [
    ("", "15 words or 36"),
    ("abacus", "15 words or 36"),
    ("abacus abdomen", "15 words, not 2"),
    ("U" * CHAR_COUNT, "“U” cannot be"),
    ("0" * (CHAR_COUNT + 1), "15 words or 36"),
])
def test_malformed_text_is_a_clear_usage_error(text: str, message: str) -> None:
    """Wrong length, a letter base32 never uses: a BadLinkCode (UsageError and ValueError)."""
    with pytest.raises(BadLinkCode, match=message) as info:
        LinkCode.parse(text, T0)
    assert isinstance(info.value, UsageError) and isinstance(info.value, ValueError)


def test_a_word_outside_the_list_is_named() -> None:
    """A misspelt word is named with its position."""
    words = code(bytes(range(SECRET_LEN))).words().split()
    words[6] = "xylophonez"
    with pytest.raises(BadLinkCode, match="Word 7 .*xylophonez"):
        LinkCode.parse(" ".join(words), T0)
    words[6] = word_list()[5000]  # in the EFF list, but past the 4,096 a code uses
    with pytest.raises(BadLinkCode, match="Word 7"):
        LinkCode.parse(" ".join(words), T0)


def test_a_recovery_key_is_not_a_link_code() -> None:
    """The recovery key's format is alike (36 base32 characters), its checksum is not."""
    refused = 0
    for _i in range(20):
        text, _secret = new_recovery_key()
        try:
            LinkCode.parse(text, T0)
        except BadLinkCode:
            refused += 1
    assert refused >= 19  # a 16-bit checksum: one in 65,536 could pass


@settings(max_examples=50, deadline=None)
@given(st.text(max_size=200))
def test_random_text_is_only_ever_a_bad_link_code(text: str) -> None:
    """Whatever is typed: a code or BadLinkCode, nothing else."""
    try:
        LinkCode.parse(text, T0)
    except BadLinkCode:
        pass


def test_the_qr_text_is_qr_alphanumeric_and_the_words_are_the_fingerprint_list() -> None:
    """The QR text fits the QR alphanumeric mode; words come from the EFF list's first 4,096."""
    c = LinkCode.new()
    assert QR_ALPHANUMERIC.fullmatch(c.qr_text()) and c.qr_text().startswith(QR_PREFIX)
    words = c.words().split()
    assert len(words) == WORD_COUNT
    assert all(w in word_list()[:1 << WORD_BITS] for w in words)


def test_the_code_expires_after_ten_minutes() -> None:
    """Valid from its creation to 9:59.999; expired at 10:00, and if the clock went back."""
    c = code(bytes(SECRET_LEN))
    assert VALID_FOR == timedelta(minutes=10) and c.expires() == T0 + VALID_FOR
    assert not c.expired(T0) and not c.expired(T0 + VALID_FOR - timedelta(milliseconds=1))
    assert c.expired(T0 + VALID_FOR) and c.expired(T0 + timedelta(hours=3))
    assert c.expired(T0 - timedelta(minutes=2))
    with pytest.raises(ValueError, match="timezone"):
        c.expired(datetime(2026, 12, 7, 23, 5))  # noqa: DTZ001 - the naive time is the test


def test_the_secret_never_shows_in_repr() -> None:
    """A code printed in a log or a traceback does not give itself away."""
    c = LinkCode.new()
    assert c.secret.hex() not in repr(c) and str(c.secret) not in repr(c)
    assert c.words() not in repr(c) and c.text() not in repr(c)


def test_a_secret_of_the_wrong_size_is_refused() -> None:
    """A code is exactly 20 bytes made at an aware time."""
    with pytest.raises(ValueError, match="20 bytes"):
        LinkCode(bytes(16), T0)
    with pytest.raises(ValueError, match="timezone"):
        LinkCode(bytes(SECRET_LEN), datetime(2026, 1, 1))  # noqa: DTZ001
