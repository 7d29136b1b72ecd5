"""What the prevention engine knows of a person, indexed for it.

Vaccinations become periods and antigens (a partial date `2019` is the period 2019-01-01 to
2019-12-31; the vaccine text is matched against the vaccine table), grouped by antigen and
sorted by date; screening tests are grouped by kind, with the results that say positive or
abnormal kept apart; items marked done are kept by (rule, dose) and also count as the
vaccination or the test they stand for. Parsing is cached, so
evaluating the same records again costs little.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from msante.agenda.rules import TEST_KINDS, Rule, RuleSet, Span, VaccineTable, default_vaccines
from msante.text import fold

Day = dt.date | str
ONE_DAY = dt.timedelta(days=1)
Screening = tuple[str, Day] | tuple[str, Day, str | None]  # (kind, date[, result text])
ABNORMAL = ("positi", "anormal", "abnormal")  # in a folded result: follow-up, not screening


@dataclass(frozen=True)
class PersonFacts:
    """What the engine is told of a person; dates may be partial (`2019`, `2019-03`)."""

    id: str
    born: dt.date
    sex: str  # female, male or other
    vaccinations: Sequence[tuple[Day, str, int | None]] = ()  # (date, vaccine text, dose)
    screenings: Sequence[Screening] = ()  # (kind, date) or (kind, date, result)
    done: Sequence[tuple[str, int, Day]] = ()  # (rule id, dose, day) marked done


@dataclass(frozen=True)
class Fact:
    """A vaccination: the period it was given in, its antigens, dose number and text."""

    first: dt.date
    last: dt.date
    antigens: frozenset[str]
    dose: int | None
    text: str


@dataclass
class Facts:
    """A person's facts indexed for the rules, with the ages already computed."""

    person: PersonFacts
    by_antigen: dict[str, list[Fact]] = field(default_factory=dict)  # by date
    tests: dict[str, list[dt.date]] = field(default_factory=dict)  # kind → days, by date
    abnormal: dict[tuple[str, dt.date], str] = field(default_factory=dict)  # → result text
    done: dict[str, dict[int, dt.date]] = field(default_factory=dict)  # rule → dose → day
    _ages: dict[Span, dt.date] = field(default_factory=dict)
    _matched: dict[tuple[object, ...], list[Fact]] = field(default_factory=dict)

    def age(self, span: Span) -> dt.date:
        """The day the person reaches the age `span`."""
        day = self._ages.get(span)
        if day is None:
            day = self._ages[span] = span.after(self.person.born)
        return day

    def matching(self, rule: Rule, group: frozenset[str],
                 counts_from: dt.date | None = None) -> list[Fact]:
        """The vaccinations that count for an antigen group of `rule`, by date, one a day."""
        key = (group, rule.waive, counts_from)
        if key not in self._matched:
            self._matched[key] = _match(self, rule, group, counts_from)
        return self._matched[key]

    def last_of(self, group: frozenset[str]) -> Fact | None:
        """The latest vaccination covering `group`, if any."""
        return next((f for f in reversed(self.by_antigen.get(min(group), ()))
                     if group <= f.antigens), None)


def index(person: PersonFacts, rules: RuleSet) -> Facts:
    """Parse and index a person's records for `rules`."""
    facts = Facts(person)
    table = default_vaccines()
    found = [f for f in (_fact(*v, table) for v in person.vaccinations) if f is not None]
    found += _marked(facts, rules)
    for fact in sorted(found, key=_by_date):
        for antigen in fact.antigens:
            facts.by_antigen.setdefault(antigen, []).append(fact)
    for kind, day, *result in person.screenings:
        span = period(day)
        if span and kind in TEST_KINDS:
            facts.tests.setdefault(kind, []).append(span[0])
            if result and is_abnormal(result[0]):
                facts.abnormal[kind, span[0]] = str(result[0])
    for days in facts.tests.values():
        days.sort()
    return facts


def is_abnormal(result: object) -> bool:
    """Whether a screening's result text says positive or abnormal (any case or accents)."""
    text = fold(str(result or ""))
    return any(word in text for word in ABNORMAL)


def period(day: Day) -> tuple[dt.date, dt.date] | None:
    """The first and last day a full or partial date stands for (None if unreadable)."""
    if isinstance(day, dt.date):
        return day, day
    return _parse_period(str(day).strip())


@functools.lru_cache(maxsize=8192)
def _parse_period(text: str) -> tuple[dt.date, dt.date] | None:
    parts = text.split("-")
    try:
        if len(parts) == 1:
            return dt.date(int(parts[0]), 1, 1), dt.date(int(parts[0]), 12, 31)
        if len(parts) == 2:
            first = dt.date(int(parts[0]), int(parts[1]), 1)
            return first, Span(months=1).after(first) - ONE_DAY
        day = dt.date.fromisoformat(text)
    except ValueError:
        return None
    return day, day


@functools.lru_cache(maxsize=65536)
def _fact(day: Day, text: str, dose: int | None, table: VaccineTable) -> Fact | None:
    span = period(day)
    antigens = table.antigens_of(text)
    if span is None or not antigens:
        return None
    return Fact(span[0], span[1], antigens, dose if isinstance(dose, int) else None, text)


_by_date = operator.attrgetter("first", "last")


def _marked(facts: Facts, rules: RuleSet) -> list[Fact]:
    found = []
    for rule_id, dose, day in facts.person.done:
        span, rule = period(day), rules.get(rule_id)
        if span is None or rule is None:
            continue
        facts.done.setdefault(rule_id, {})[dose] = span[0]
        if rule.kind == "screening":
            facts.tests.setdefault(rule.tests[0][0], []).append(span[0])
        elif rule.count_vaccinations:
            found.append(Fact(span[0], span[1], frozenset().union(*rule.antigens),
                              dose if rule.kind == "series" else None, rule.label.get()))
    return found


def _match(facts: Facts, rule: Rule, group: frozenset[str],
           counts_from: dt.date | None) -> list[Fact]:
    needed = group - rule.waive.antigens if rule.waive else group
    rarest = min(needed or group, key=lambda a: len(facts.by_antigen.get(a, ())))
    out: list[Fact] = []
    for fact in facts.by_antigen.get(rarest, ()):
        if counts_from and fact.last < counts_from or not _covers(facts, rule, group, fact):
            continue
        if not out or out[-1].first != fact.first:
            out.append(fact)
    return out


def _covers(facts: Facts, rule: Rule, group: frozenset[str], fact: Fact) -> bool:
    """Whether `fact` covers `group`, or all of it but antigens the rule lets it lack."""
    if group <= fact.antigens:
        return True
    waive = rule.waive
    if waive is None or not group - waive.antigens <= fact.antigens:
        return False
    if waive.from_age and fact.last >= facts.age(waive.from_age):
        return True
    if waive.within is None:
        return False
    since = waive.within.before(fact.first)
    return all(any(since <= g.last and g.first <= fact.last
                   for g in facts.by_antigen.get(a, ())) for a in waive.antigens)
