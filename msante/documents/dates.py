"""Guess a document's date from its text (pure functions, no I/O).

Date (`guess_date`, first 30,000 characters, first 200 dates)
- Formats: dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, d/m/yy, yyyy-mm-dd, "12 mars 2025", "1er mars
  2025", "mardi 12 mars 2025", "12 March 2025"; "March 12, 2025" and "Mar 12 2025" unless the
  text is French. Numeric dates are day-first, except in an English text whose numeric dates
  include a month-first one (03/14/2025) and no day-first one. Two-digit years are 20yy up to
  next year's yy, 19yy above. Dotted dates need a two-digit day and month: "1.2.23" is a
  version number.
- Tier from the cue just before the date: 3 for the exam, collection or end of stay ("prélevé
  le", "examen du", "hospitalisé du X au", "date de sortie", "collected", "date of service");
  2 for the document ("fait le", "Paris, le", "édité le", "compte rendu du", "Date :", "report
  date", "signed on"); 1 without a cue.
- Dropped: dates after birth cues ("né le", "DDN", "DOB"…) or followed by an age ("(45 ans)");
  after validity or appointment cues ("valable jusqu'au", "expire", "prochain rendez-vous",
  "DDR"); impossible ones (31/02); before 1900; after tomorrow.
- Rank = tier, plus 1 in the header area (first 40 lines): a document states its own date at the
  top, dates further down are history. Ties go to the most recent date (the other header dates
  are previous results, the start of a stay or the prescription a lab worked from; the latest is
  when the document was made), then to the first in the text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from msante.folding import _WORD_BYTES, _clip, _flat

DATE_SCAN = 30_000
DATE_HEADER_LINES = 40
CUE_WINDOW = 50
MAX_DATES = 200  # the first ones: a history table's 1,000 dates would only cost time


@dataclass(frozen=True)
class DateGuess:
    """A guessed document date; `alternative`: the other reading of an ambiguous numeric date
    ("2/10/04": 2 October or 10 February) when nothing in the text tells the order."""

    date: dt.date
    evidence: str
    alternative: dt.date | None = None


_MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2,
    "february": 2, "feb": 2, "mars": 3, "march": 3, "mar": 3, "avril": 4, "avr": 4, "april": 4,
    "apr": 4, "mai": 5, "may": 5, "juin": 6, "june": 6, "jun": 6, "juillet": 7, "juil": 7,
    "july": 7, "jul": 7, "aout": 8, "august": 8, "aug": 8, "septembre": 9, "september": 9,
    "sept": 9, "sep": 9, "octobre": 10, "october": 10, "oct": 10, "novembre": 11,
    "november": 11, "nov": 11, "decembre": 12, "december": 12, "dec": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(  # a first digit not glued to a word, then ISO, d/m/y or "12 mars 2025"
    r"(?P<lead>\d)(?<![\w/.\-]\d)(?:(?P<y>\d{3})(?P<s1>[-/])(?P<m>\d\d)(?P=s1)(?P<d>\d\d)(?!\d)"
    r"|(?P<a>\d?)(?P<s2>[/.\-])(?P<b>\d\d?)(?P=s2)(?P<yy>\d{4}|\d\d)(?!\d|[/.\-]\d)"
    rf"|(?P<td>\d?)(?:er|eme|st|nd|rd|th)?\s+(?:de\s+)?(?P<mon>{_MONTH})\b\.?,?\s+(?P<ty>\d{{4}})"
    r"(?!\d))")
_MDY = re.compile(rf"\b(?P<mon>{_MONTH})\b\.?\s+(?P<d>\d\d?)(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})"
                  r"(?!\d)")
_WEEKDAYS = ("lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday"
             "|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun")
_BIRTH = (r"\bnee?\b", r"\bnee\s+[a-z\-]+\s+le", r"\bnee?\s+a\s+[^§\n]{1,30}?\s+le",
          r"\bne\s*\(\s*e\s*\)", r"date\s+de\s+naissance", r"naissance", r"\bddn", r"\bdob",
          r"\bd\.o\.b\b\.?", r"date\s+of\s+birth", r"birth\s*date",
          r"\bborn(?:\s+in\s+[^§\n]{1,30}?)?")
_EXCLUDED = (r"jusqu\w*(?:'|\s)*(?:au|a)?", r"\bvalable", r"\bvalid(?:\s+(?:until|through))?",
             r"expir\w*", r"\bexp", r"prochain\w*(?:\s+[a-z\-]+){0,2}",
             r"\bnext(?:\s+[a-z]+){0,2}", r"revoir", r"\brdv", r"rendez-vous", r"date\s+limite",
             r"\bddr", r"dernieres\s+regles", r"terme(?:\s+prevu)?", r"due\s+date", r"\buntil",
             r"\bavant")
_EXAMS = (r"examen|exam|echographie|radiographie|radio|irm|scanner|mammographie|intervention"
          r"|operation|consultation|vaccination|injection|acte|visite|passage")
_TIER3 = (
    r"prelev\w*(?:\s+(?:effectue|realise)\w*)?",
    rf"\b(?:{_EXAMS})(?:\s+[a-z']+){{0,2}}?\s+(?:du|(?:realise|effectue|pratique)\w*)",
    r"\b(?:realise|effectue|pratique|opere|vaccine|consulte)\w*",
    r"vu\w*\s+en\s+consultation", r"admis\w*\s+aux\s+urgences",
    rf"date\s+(?:de\s+l'\s*|de\s+la\s+|du\s+|de\s+|d'\s*)(?:{_EXAMS}|prelevement|sortie)",
    r"(?:hospitalis|sejour|admis|admitted|stay|hospitaliz)\w*[^§\n]{0,30}?\b(?:du|from)\s+§+"
    r"\s*(?:au|to|until|-)",
    r"\bsorti\w*", r"discharge(?:d|\s+date)?", r"date\s+of\s+discharge", r"collect\w*",
    r"date\s+of\s+(?:service|exam\w*|procedure|visit|collection|surgery|vaccination)",
    r"(?:exam|examination|study|procedure|service|visit|collection|surgery|test)\s+date",
    r"performed",
)
_TIER2 = (
    r"\bfait\b(?:\s+a\s+[^§\n,]{1,40})?", r"(?:\A|\n)\s*[a-z][a-z\-' ]{1,40},\s*le",
    r"(?:\A|\n)\s*le", r"date\s+(?:d'\s*)?(?:edition|impression|emission|redaction|validation)",
    r"date\s+du\s+(?:compte[\s\-]rendu|cr|document|rapport|jour)",
    r"\b(?:edite|imprime|redige|valide|signe|dicte)\w*(?:\s+electroniquement)?"
    r"(?:\s+par\s+[^§\n]{1,40}?)?",
    r"\b(?:compte[\s\-]rendu|cr|rapport|ordonnance|lettre|courrier|certificat)\s+du",
    r"report\s+date", r"date\s+of\s+report", r"reported", r"signed", r"dated", r"printed",
    r"\bdate",
)
_END = rf"[\s:,.\-]*(?:\b(?:le|du|on)\b[\s:,.\-]*)?(?:\b(?:{_WEEKDAYS})\b[\s:,.\-]*)?\Z"
_SKIP = re.compile("(?:" + "|".join(_BIRTH + _EXCLUDED) + ")" + _END)
_CUE = re.compile(  # the cue that ends right before a date; the leftmost one wins
    "(?:(?P<t3>" + "|".join(_TIER3) + ")|(?P<t2>" + "|".join(_TIER2) + "))" + _END)
_AGE_AFTER = re.compile(r"[\s(\-,]*(?:age\s*:?\s*)?\d{1,3}\s*(?:ans|years?\s+old|yo|y/o)\b")
_EN_WORDS = frozenset(b"the and of with was is to for by dob collected report physician name "
                      b"exam findings impression signed discharge admission".split())
_FR_WORDS = frozenset(b"le la les des du et est avec pour une au aux dans sur ne nee examen "
                      b"resultat resultats compte rendu".split())


@dataclass(frozen=True)
class _Dated:
    """A valid date found in the text, before its cue is read."""

    date: dt.date
    match: re.Match[str]
    in_header: bool

    def bound(self) -> tuple[int, dt.date, int]:
        """The best rank this date could get (its cue is not read yet)."""
        return 3 + self.in_header, self.date, -self.match.start()


def _english(flat: str) -> int:
    """How much more English than French the text's opening is (words counted)."""
    words = flat[:5_000].encode().translate(_WORD_BYTES).split()
    return sum(word in _EN_WORDS for word in words) - sum(word in _FR_WORDS for word in words)


def _date_matches(flat: str, english: int) -> list[re.Match[str]]:
    """The first MAX_DATES date-like matches, in text order, without overlaps."""
    found = list(_DATE.finditer(flat))
    if english >= 0:
        found = sorted([*found, *_MDY.finditer(flat)], key=lambda m: m.start())
    kept: list[re.Match[str]] = []
    for match in found:
        if not kept or match.start() >= kept[-1].end():
            kept.append(match)
    return kept[:MAX_DATES]


def _mask(flat: str, matches: list[re.Match[str]]) -> str:
    """`flat` with every date replaced by "§" signs of the same length."""
    parts, pos = [], 0
    for match in matches:
        parts += [flat[pos:match.start()], "§" * (match.end() - match.start())]
        pos = match.end()
    return "".join(parts) + flat[pos:]


def _pairs(matches: list[re.Match[str]]) -> list[tuple[int, int]]:
    """The two first numbers of each numeric d/m/y or m/d/y date."""
    return [(int(m["lead"] + m["a"]), int(m["b"])) for m in matches if m.re is _DATE and m["b"]]


def _month_first(matches: list[re.Match[str]], english: int) -> bool:
    """Whether numeric dates read month first: an English text showing 03/14/2025, no 14/03."""
    pairs = _pairs(matches)
    us = any(a <= 12 < b for a, b in pairs)
    return english > 0 and us and not any(b <= 12 < a for a, b in pairs)


def _order_shown(matches: list[re.Match[str]]) -> bool:
    """Whether a numeric date of the text can be read only one way (14/03 or 03/14)."""
    return any(a <= 12 < b or b <= 12 < a for a, b in _pairs(matches))


def _other_reading(match: re.Match[str], month_first: bool, today: dt.date) -> dt.date | None:
    """The date read in the other order, when both orders give a valid, different date."""
    if match.re is not _DATE or not match["b"]:
        return None
    a, b = int(match["lead"] + match["a"]), int(match["b"])
    if a == b or a > 12 or b > 12:
        return None
    return _parse(match, not month_first, today)


def _year(digits: str, today: dt.date) -> int:
    """A full year from 4 digits, or from 2 (20yy up to next year's yy, 19yy above)."""
    year = int(digits)
    if len(digits) == 4:
        return year
    return 2000 + year if year <= today.year % 100 + 1 else 1900 + year


def _ymd(match: re.Match[str], month_first: bool, today: dt.date) -> tuple[int, int, int]:
    """Year, month and day of a date match (not yet validated)."""
    if match.re is _MDY:
        return int(match["y"]), _MONTHS[match["mon"]], int(match["d"])
    if match["mon"]:
        return int(match["ty"]), _MONTHS[match["mon"]], int(match["lead"] + match["td"])
    if match["y"]:
        return int(match["lead"] + match["y"]), int(match["m"]), int(match["d"])
    a, b = int(match["lead"] + match["a"]), int(match["b"])
    if match["s2"] == "." and min(len(match["a"]) + 1, len(match["b"])) < 2:
        raise ValueError("1.2.23 is a version number; dotted dates write 01.02.23")
    month, day = (a, b) if month_first else (b, a)
    return _year(match["yy"], today), month, day


def _parse(match: re.Match[str], month_first: bool, today: dt.date) -> dt.date | None:
    """The calendar date of a match; None when invalid, before 1900 or after tomorrow."""
    try:
        date = dt.date(*_ymd(match, month_first, today))
    except ValueError:
        return None
    if date.year < 1900 or date > today + dt.timedelta(days=1):
        return None
    return date


def _window_start(masked: str, start: int) -> int:
    """Where a date's cue may start: its line, or the line above when the date opens its line."""
    line = masked.rfind("\n", 0, start) + 1
    if line > 0 and not masked[line:start].strip():
        line = masked.rfind("\n", 0, line - 1) + 1
    return max(line, start - CUE_WINDOW)


def _tier(window: str) -> tuple[int, int] | None:
    """A date's tier and where its cue starts in `window`; None for birth and validity dates."""
    tail = window.rstrip(" \t\r\n:,.-")
    if not tail or not (tail[-1].isalpha() or tail[-1] == "§"):  # every cue ends so
        return 1, len(window)
    if _SKIP.search(window):
        return None
    cue = _CUE.search(window)
    if cue is None:
        return 1, len(window)
    return (3 if cue["t3"] is not None else 2), cue.start() + (cue.group()[0] == "\n")


def _dated(match: re.Match[str], flat: str, month_first: bool, today: dt.date,
           header: int) -> _Dated | None:
    """A valid date, not followed by an age, or None."""
    date = _parse(match, month_first, today)
    if date is None or _AGE_AFTER.match(flat, match.end()):
        return None
    return _Dated(date, match, match.start() < header)


def _rank(item: _Dated, masked: str) -> tuple[tuple[int, dt.date, int], int] | None:
    """A date's rank key and where its cue starts; None for birth and validity dates."""
    start = item.match.start()
    begin = _window_start(masked, start)
    tier = _tier(masked[begin:start])
    if tier is None:
        return None
    return (tier[0] + item.in_header, item.date, -start), begin + tier[1]


def _best(dated: list[_Dated], masked: str) -> tuple[_Dated, int] | None:
    """The best-ranked date and its cue start, reading cues only while one could still win."""
    best: tuple[_Dated, int] | None = None
    key = (0, dt.date.min, 0)
    for item in sorted(dated, key=_Dated.bound, reverse=True):
        if item.bound() <= key:
            break
        if (ranked := _rank(item, masked)) and ranked[0] > key:
            key, best = ranked[0], (item, ranked[1])
    return best


def _line_offset(text: str, lines: int) -> int:
    """Offset of the end of the first `lines` lines."""
    pos = 0
    for _ in range(lines):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return len(text)
    return pos


def guess_date(text: str, *, today: dt.date | None = None) -> DateGuess | None:
    """The likely date of the document or exam in `text`, or None when it shows none."""
    today = today or dt.date.today()
    scan = text[:DATE_SCAN]
    flat = _flat(scan)
    english = _english(flat)
    matches = _date_matches(flat, english)
    month_first = _month_first(matches, english)
    header = _line_offset(flat, DATE_HEADER_LINES)
    dated = [d for m in matches if (d := _dated(m, flat, month_first, today, header))]
    best = _best(dated, _mask(flat, matches))
    if best is None:
        return None
    item, cue_start = best
    other = None if _order_shown(matches) else _other_reading(item.match, month_first, today)
    return DateGuess(item.date, _clip(scan[cue_start:item.match.end()]), other)
