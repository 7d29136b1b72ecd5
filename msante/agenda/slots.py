"""What the prevention engine's rule kinds share: the evaluation context, a slot (one dose,
occurrence or test with its window), a series' count, and the texts that say what is
recorded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from msante.agenda.facts import Fact, Facts
from msante.agenda.rules import Rule, RuleSet, Span
from msante.i18n import _

FOREVER = dt.date.max


@dataclass
class Ctx:
    """One evaluation: the person's facts, the day, the horizon, the rules, counts so far."""

    facts: Facts
    today: dt.date
    horizon: dt.date
    rules: RuleSet
    counted: dict[str, Count] = field(default_factory=dict)

    def age(self, span: Span) -> dt.date:
        """The day the person reaches the age `span`."""
        return self.facts.age(span)




@dataclass
class Count:
    """A series' doses done: how many, the day of each known one, and per slot the last dose
    given too soon after the previous one to count for it."""

    upto: int
    dates: dict[int, dt.date] = field(default_factory=dict)
    early: dict[int, dt.date] = field(default_factory=dict)


@dataclass
class Slot:
    dose: int
    due_from: dt.date
    due_until: dt.date
    catch_up_end: dt.date
    done: bool = False
    done_on: dt.date | None = None
    ask: bool = False
    condition: str | None = None
    suffix: str = ""
    history: str = ""
    recorded: bool = False  # something of it is recorded (a previous dose, a test)
    missed: bool = False  # the question about missed infant doses


def done_history(day: dt.date | None) -> str:
    if day is None:
        return _("done, date not recorded")
    return _("done on {date}").format(date=day.isoformat())


def last_recorded(ctx: Ctx, rule: Rule) -> str:
    last = ctx.facts.last_of(rule.antigens[0] - (rule.waive.antigens if rule.waive
                                                  else frozenset()))
    text = _("none recorded") if last is None else _("last recorded: {date} ({vaccine})").format(
        date=_shown(last), vaccine=last.text)
    other = ctx.facts.last_of(rule.not_counted) if rule.not_counted else None
    if other is not None:
        text += _("; ") + _("{vaccine} ({date}) does not count for this vaccine").format(
            vaccine=other.text, date=_shown(other))
    return text


def _shown(fact: Fact) -> str:
    return fact.first.isoformat() if fact.first == fact.last else _span_text(fact)


def _span_text(fact: Fact) -> str:
    return fact.first.isoformat()[:4 if fact.first.month == 1 and fact.last.month == 12 else 7]


def any_recorded(ctx: Ctx, rule: Rule) -> bool:
    """Whether any vaccination of the rule's antigens is recorded."""
    return any(ctx.facts.last_of(group) is not None for group in rule.antigens)


def in_force(ctx: Ctx, rule: Rule, begin: dt.date, end: dt.date) -> bool:
    """Whether the rule is in force today (or was, and ended) and the person was in its age
    window [begin, end] while it was in force."""
    start, until = rule.in_force
    return (start is None or (end >= start and ctx.today >= start)) and (
        until is None or begin < until)
