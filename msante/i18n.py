"""Language selection and message translation (gettext catalogs compiled into the package).

The language is decided once, before the command modules are imported: the `--lang` root
option, else `LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`. Only French and English exist; any
other locale falls back to English. Strings are translated when they are used, so a message
built after `setup()` is in the chosen language.
"""

from __future__ import annotations

import gettext as _gettext
import os
from pathlib import Path

LANGUAGES = ("en", "fr")
DOMAIN = "msante"
LOCALE_DIR = Path(__file__).parent / "locale"

_translation: _gettext.NullTranslations = _gettext.NullTranslations()
_current = "en"


def detect_language(env: dict[str, str] | None = None) -> str:
    """The language the environment asks for: 'fr' or 'en'."""
    env = dict(os.environ) if env is None else env
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if not value:
            continue
        first = value.split(":")[0].strip().lower()
        if first in ("c", "posix", "c.utf-8"):
            return "en"
        return "fr" if first.startswith("fr") else "en"
    return "en"


def setup(lang: str | None = None) -> str:
    """Install the catalog for `lang` (or the environment's language); return the language."""
    global _translation, _current
    chosen = lang if lang in LANGUAGES else detect_language()
    if chosen == "en":
        _translation = _gettext.NullTranslations()
    else:
        _translation = _gettext.translation(DOMAIN, LOCALE_DIR, languages=[chosen], fallback=True)
    _current = chosen
    return chosen


def current() -> str:
    """The language in use."""
    return _current


def _(message: str) -> str:
    """Translate `message` into the current language."""
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """Translate a message with a plural form."""
    return _translation.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction without translating it now."""
    return message
