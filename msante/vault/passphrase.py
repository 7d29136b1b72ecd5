"""Passphrase rules: long enough, not common, not made of the person's own details."""

from __future__ import annotations

import re
import unicodedata

from msante.errors import UsageError
from msante.i18n import _
from msante.text import fold

MIN_LENGTH = 12
SEQUENCES = ("azertyuiopqsdfghjklmwxcvbn", "qwertyuiopasdfghjklzxcvbnm",
             "qwertzuiopasdfghjklyxcvbnm", "abcdefghijklmnopqrstuvwxyz", "0123456789")


def normalize(text: str) -> str:
    """Strip one trailing newline and NFC-normalise, as every passphrase source does."""
    if text.endswith("\r\n"):
        text = text[:-2]
    elif text.endswith("\n"):
        text = text[:-1]
    return unicodedata.normalize("NFC", text)


def _common() -> set[str]:
    from importlib import resources  # only when a passphrase is chosen: a costly import

    raw = resources.files("msante").joinpath("data/common_passphrases.txt").read_text("utf-8")
    return {line.strip() for line in raw.splitlines() if line.strip() and line[0] != "#"}


def _core(text: str) -> str:
    return re.sub(r"[\W\d_]+", "", fold(text))


def _is_walk(text: str) -> bool:
    """Whether `text` (letters and digits only) runs along a keyboard row or the alphabet."""
    bare = re.sub(r"[\W_]+", "", fold(text))
    return any(bare in seq or bare in seq[::-1] for seq in SEQUENCES)


def check_strength(passphrase: str, personal: tuple[str, ...] = ()) -> None:
    """Refuse a weak passphrase with the reason (too short, too common, too simple)."""
    if len(passphrase) < MIN_LENGTH:
        raise UsageError(_("Passphrase too short: use at least {n} characters, for example "
                           "four unrelated words.").format(n=MIN_LENGTH))
    core = _core(passphrase)
    if len(set(passphrase)) < 5 or not core or core in _common() or _is_walk(passphrase):
        raise UsageError(_("Passphrase too common or too simple: choose something nobody "
                           "would guess, for example four unrelated words."))
    for item in personal:
        if item and _core(item) and _core(passphrase) == _core(item):
            raise UsageError(_("Passphrase too easy to guess: do not use your own name or "
                               "birth date."))
