"""The single-use code that links a new device: 160 random bits, as words or as QR text.

The code is a 20-byte secret. Its **codeword** is the secret followed by a CRC-16 (CCITT,
polynomial 0x1021, initial value 0xFFFF) over ``b"msante/v1/link-code\\0" + secret``: 176 bits,
then 4 zero bits, 180 bits in all, written two ways:

* **words**: 15 words of 12 bits each, read big-endian, from the first 4,096 words of the EFF
  large list (the list `VerifyKey.fingerprint` uses: `msante.sync.signing.word_list`);
* **QR text**: ``MSANTE-LINK:`` then 36 Crockford base32 characters (5 bits each), all in the
  QR code's alphanumeric set; `text()` is the same 36 characters in groups of four.

Both forms put each symbol on its own bits, so the CRC catches every single mistyped word or
character (a burst of at most 12 bits) and every swap of two neighbouring characters.
`LinkCode.parse` takes either form, in any case, with any spacing (and, for base32, dashes and
O/I/L for 0/1/1); a word outside the list, a wrong length or a failed checksum is a
`BadLinkCode` (a UsageError and a ValueError) saying what is wrong. The code is valid ten
minutes from its `created` time, kept by the device that showed it.
"""

from __future__ import annotations

import binascii
import hmac
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache

from msante.errors import UsageError
from msante.i18n import _
from msante.sync.signing import word_list

SECRET_LEN = 20
VALID_FOR = timedelta(minutes=10)
CLOCK_SKEW = timedelta(minutes=1)
WORD_BITS = 12
WORD_COUNT = 15
CHAR_COUNT = 36
PAD_BITS = 4
QR_PREFIX = "MSANTE-LINK:"
CRC_LABEL = b"msante/v1/link-code\0"
CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_CONFUSABLES = str.maketrans({"O": "0", "I": "1", "L": "1"})
_WORD_SEPARATORS = re.compile(r"[\s,;.]+")
_BASE32_JUNK = re.compile(r"[\s\-\u2010-\u2014]+")


class BadLinkCode(UsageError, ValueError):
    """Text that is not a link code (exit 2); the message says what is wrong."""


def _checksum(secret: bytes) -> bytes:
    """The CRC-16 of the labelled secret, 2 bytes big-endian."""
    return binascii.crc_hqx(CRC_LABEL + secret, 0xFFFF).to_bytes(2, "big")


def _codeword(secret: bytes) -> int:
    """Secret, checksum and 4 zero bits as one 180-bit number."""
    return int.from_bytes(secret + _checksum(secret), "big") << PAD_BITS


def _secret_of(number: int) -> bytes:
    """The secret inside a 180-bit codeword; BadLinkCode if the checksum fails."""
    data = (number >> PAD_BITS).to_bytes(SECRET_LEN + 2, "big")
    secret = data[:SECRET_LEN]
    if number & (1 << PAD_BITS) - 1 or not hmac.compare_digest(data[SECRET_LEN:],
                                                                _checksum(secret)):
        raise BadLinkCode(_("This link code has a typo: compare it with the code the other "
                            "device shows."))
    return secret


@cache
def _word_index() -> dict[str, int]:
    """Word → its 12-bit value (the first 4,096 words of the list)."""
    return {word: i for i, word in enumerate(word_list()[:1 << WORD_BITS])}


def _parse_words(tokens: list[str]) -> int:
    """The codeword of 15 words; BadLinkCode naming a word outside the list."""
    if len(tokens) != WORD_COUNT:
        raise BadLinkCode(_("A link code is {count} words, not {given}.").format(
            count=WORD_COUNT, given=len(tokens)))
    index = _word_index()
    number = 0
    for position, word in enumerate(tokens, 1):
        if word not in index:
            raise BadLinkCode(_("Word {position} of the link code, “{word}”, is not one of "
                                "its words: check its spelling.").format(
                                    position=position, word=word[:32]))
        number = number << WORD_BITS | index[word]
    return number


def _parse_base32(chars: str) -> int:
    """The codeword of 36 Crockford base32 characters; BadLinkCode otherwise."""
    if len(chars) != CHAR_COUNT:
        raise BadLinkCode(_("A link code is {words} words or {chars} letters and digits.")
                          .format(words=WORD_COUNT, chars=CHAR_COUNT))
    wrong = next((c for c in chars if c not in CROCKFORD), None)
    if wrong is not None:
        raise BadLinkCode(_("“{char}” cannot be in a link code: check that character.")
                          .format(char=wrong))
    number = 0
    for c in chars:
        number = number << 5 | CROCKFORD.index(c)
    return number


def _now() -> datetime:
    """The current time, timezone-aware."""
    return datetime.now(UTC)


def _aware(moment: datetime) -> datetime:
    """`moment` if timezone-aware; ValueError otherwise (a naive time has no meaning here)."""
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise ValueError("a link code's times are timezone-aware datetimes")
    return moment


@dataclass(frozen=True)
class LinkCode:
    """A link code: its secret and when it was made (never printed by repr)."""

    secret: bytes = field(repr=False)
    created: datetime

    def __post_init__(self) -> None:
        if not isinstance(self.secret, bytes) or len(self.secret) != SECRET_LEN:
            raise ValueError(f"a link code's secret is {SECRET_LEN} bytes")
        _aware(self.created)

    @classmethod
    def new(cls, now: datetime | None = None) -> LinkCode:
        """A fresh code of 160 random bits, made `now`."""
        return cls(secrets.token_bytes(SECRET_LEN), _aware(now) if now else _now())

    @classmethod
    def parse(cls, text: str, now: datetime | None = None) -> LinkCode:
        """The code of `text` (words or QR/base32 text, as typed); BadLinkCode otherwise."""
        if not isinstance(text, str):
            raise BadLinkCode(_("A link code is text."))
        text = text.strip()
        if text.upper().startswith(QR_PREFIX):
            text = text[len(QR_PREFIX):]
        tokens = [t for t in _WORD_SEPARATORS.split(text.lower()) if t]
        chars = _BASE32_JUNK.sub("", text).upper().translate(_CONFUSABLES)
        if len(chars) == CHAR_COUNT or len(tokens) < 2:  # 15 words are at least 45 letters
            number = _parse_base32(chars)
        else:
            number = _parse_words(tokens)
        return cls(_secret_of(number), _aware(now) if now else _now())

    def words(self) -> str:
        """The 15 words, separated by spaces."""
        number, words = _codeword(self.secret), word_list()
        mask = (1 << WORD_BITS) - 1
        return " ".join(words[number >> WORD_BITS * i & mask]
                        for i in reversed(range(WORD_COUNT)))

    def text(self) -> str:
        """The 36 base32 characters in groups of four, dash-separated."""
        chars = self._base32()
        return "-".join(chars[i:i + 4] for i in range(0, CHAR_COUNT, 4))

    def qr_text(self) -> str:
        """``MSANTE-LINK:`` and the 36 base32 characters: QR alphanumeric mode, one line."""
        return QR_PREFIX + self._base32()

    def _base32(self) -> str:
        """The codeword in 36 Crockford base32 characters."""
        number = _codeword(self.secret)
        return "".join(CROCKFORD[number >> 5 * i & 31] for i in reversed(range(CHAR_COUNT)))

    def expires(self) -> datetime:
        """When the code stops being valid: ten minutes after it was made."""
        return self.created + VALID_FOR

    def expired(self, now: datetime | None = None) -> bool:
        """Whether the code is past its ten minutes at `now` (or `now` is before it was made)."""
        age = _aware(now or _now()) - self.created
        return age >= VALID_FOR or age < -CLOCK_SKEW
