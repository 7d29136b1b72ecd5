"""What msante makes of a file's extraction: its title, author, date and type, and which of
them are guesses. One analysis serves `doc import` and `doc unlock-pdf`, so that a protected
PDF unlocked later gets the same description as one imported with its password.

- Title: the one given, else the PDF's Title (unless generic: "Untitled", "Document"…), else
  the file name without its extension, underscores as spaces, spaces collapsed.
- Author: the one given, else the PDF's Author.
- Date: the one given, else the date the text shows (`classify.guess_date`), else the PDF's
  creation date. A numeric date that reads two ways ("2/10/04") and that the text does not
  settle is read the way the PDF's own creation date confirms (the other reading within
  `AGREEMENT` of it, nearer than the first), since the metadata date is unambiguous.
- Type: the one given, else guessed from the text, the title and the file name.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from msante.documents import classify, types
from msante.formats.pdf_in import Extraction

GENERIC_TITLES = {"untitled", "sans titre", "document", "microsoft word", "scan"}
AGREEMENT = dt.timedelta(days=31)
IMAGE_TYPE = "52040-3"


@dataclass(frozen=True)
class Given:
    """What the person said (None: to be found from the file)."""

    type_code: str | None = None
    date: dt.date | None = None
    title: str | None = None
    author: str | None = None


@dataclass(frozen=True)
class Analysis:
    """A file's description, with what was guessed."""

    title: str
    author: str | None
    date: dt.date | None
    date_guessed: bool
    type_code: str
    type_guessed: bool


def analyse(ex: Extraction, filename: str, mime: str, given: Given = Given()) -> Analysis:
    """Describe a file from its extraction, its name and its type of content."""
    title = given.title or title_from(ex.title, filename)
    day, day_guessed = (given.date, False) if given.date else guess_day(ex)
    code, code_guessed = (given.type_code, False) if given.type_code else guess_type(
        ex, filename, mime)
    return Analysis(title, given.author or clean_meta(ex.author), day, day_guessed, code,
                    code_guessed)


def title_from(meta: str | None, filename: str) -> str:
    """The PDF's own title when it names something, else the file's name."""
    found = clean_meta(meta)
    if found and found.casefold() not in GENERIC_TITLES:
        return found
    return name_title(filename)


def name_title(filename: str) -> str:
    """A title from a file name: "compte__rendu_2024.pdf" → "compte rendu 2024"."""
    stem = filename.rsplit(".", 1)[0] if "." in filename.lstrip(".") else filename
    return " ".join(stem.replace("_", " ").split()) or filename


def clean_meta(value: str | None) -> str | None:
    """A metadata value on one line, at most 300 characters; None when empty."""
    text = " ".join((value or "").split())
    return text[:300] or None


def guess_day(ex: Extraction) -> tuple[dt.date | None, bool]:
    """The document's date from its text, else from the PDF's creation date."""
    created = _day(ex.created)
    guess = classify.guess_date(ex.text)
    if guess is None:
        return created, created is not None
    other = guess.alternative
    if other and created and abs(other - created) <= AGREEMENT and abs(
            other - created) < abs(guess.date - created):
        return other, True
    return guess.date, True


def guess_type(ex: Extraction, filename: str, mime: str) -> tuple[str, bool]:
    """The LOINC document type the text, title and file name suggest."""
    guess = classify.guess_type(ex.text, title=ex.title, filename=filename)
    if guess is None and mime.startswith("image/"):
        return IMAGE_TYPE, True
    return (guess.code if guess else types.OTHER), True


def _day(iso: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(iso[:10]) if iso else None
    except ValueError:
        return None
