"""The prevention engine: what vaccinations and screenings a person is due, from the rules.

Pure and fast: the caller passes the facts (`PersonFacts`: birth, sex, the vaccinations and
screenings of the profile, the items marked done) and the day; nothing is read from a vault.
The rules and the vaccine table are read once per process (`rules.default_rules`), vaccine
texts and partial dates are parsed once (`functools.lru_cache`).

Every rule yields *slots* — one per dose (a series), per occurrence (fixed-age repeats,
yearly campaigns) or the next test (a screening) — with a window: `due_from`, `due_until`
(still "due"), then "overdue" until its catch-up ends, then dropped — or, for a series with
`missed_ask_until` (the infant ones), one ask-your-doctor item for the missed doses until that
age. A dose counts for the next slot of a series only if given at least that slot's `after`
interval after the previous counted dose; one given sooner is named in `why`. A positive or
abnormal screening result makes the next test an ask-your-doctor item; an ask-your-doctor
rule with a `pause` (pregnancy) is silent that long after it is marked done. The algorithm
and the choices behind each rule are described in docs/architecture.md (Prevention rules)
and in each rule's `choices`.

An item's id is `RULE:DOSE:PERSON8` (`dtp_45:1:1a2b3c4d`): the rule, the dose (1-based in a
series; the occurrence from the first in fixed-age repeats; the campaign's first year for a
yearly campaign, `flu_65:2026:…` for 2026–2027; the next test's number for a screening) and
the first 8 characters of the person's id. A series' track is a rule of its own,
`RULE.TRACK` (`infant_hexa.pcv:1:1a2b3c4d`, the pneumococcal conjugate doses given with the
hexavalent `infant_hexa:1:1a2b3c4d`); the missed-doses question of an infant series takes
the number of its last dose (`infant_hexa:3:…`). The same facts give the same ids.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from msante.agenda.facts import ONE_DAY, PersonFacts, index
from msante.agenda.rules import Rule, RuleSet, Source, Span, default_rules, default_vaccines
from msante.agenda.series import series
from msante.agenda.slots import (
    FOREVER,
    Ctx,
    Slot,
    any_recorded,
    done_history,
    in_force,
    last_recorded,
)
from msante.i18n import _
from msante.profile.sections import CHOICE_LABELS

Status = Literal["overdue", "due", "coming", "done", "ask-doctor"]
URGENCY: tuple[Status, ...] = ("overdue", "due", "ask-doctor", "coming", "done")
_ITEM_ID = re.compile(r"^([a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?):(\d{1,4}):([0-9a-f-]{4,})$")

__all__ = ["URGENCY", "Item", "PersonFacts", "Status", "antigens_of", "evaluate", "item_id",
           "parse_item_id", "plan", "rule"]


@dataclass(frozen=True)
class Item:
    """One thing to do (or done): a vaccine dose, a screening test, a question for the doctor."""

    id: str
    rule_id: str
    dose: int
    label: str
    status: Status
    due_from: dt.date
    due_until: dt.date | None
    catch_up: str | None
    why: str
    source: tuple[Source, ...]
    verification: str
    condition: str | None = None
    domain: str = "vaccination"
    catch_up_until: dt.date | None = None  # None: no end
    done_on: dt.date | None = None
    since: dt.date | None = None  # due or overdue since; None: never recorded, long overdue
    undated: bool = False  # a question about an event msante does not know (a pregnancy)

    def since_text(self, show: Callable[[dt.date], str] = dt.date.isoformat) -> str:
        """"since DATE" (due since, or overdue since), or "never recorded" when the item is
        long overdue and nothing of it was ever recorded: the one text every view shows."""
        if self.since is None:
            return _("never recorded") if self.status in ("overdue", "ask-doctor") \
                and not self.undated else ""
        return _("since {date}").format(date=show(self.since))

    def to_json(self) -> dict[str, Any]:
        """The item as JSON-ready data (ISO dates, sources as objects)."""
        def iso(day: dt.date | None) -> str | None:
            return day.isoformat() if day else None

        return {"id": self.id, "rule": self.rule_id, "dose": self.dose, "label": self.label,
                "status": self.status, "domain": self.domain, "due_from": iso(self.due_from),
                "due_until": iso(self.due_until), "catch_up": self.catch_up,
                "catch_up_until": iso(self.catch_up_until), "done_on": iso(self.done_on),
                "since": iso(self.since), "undated": self.undated,
                "why": self.why, "condition": self.condition, "verification": self.verification,
                "source": [{"id": s.id, "title": s.title, "publisher": s.publisher,
                            "year": s.year, "urls": list(s.urls), "text": s.cite()}
                           for s in self.source]}

    def window_text(self, show: Callable[[dt.date], str] = dt.date.isoformat) -> str:
        """When it is due: "FROM → UNTIL" (or a day), "never recorded" for an item long
        overdue of which nothing is recorded (not a window decades ago); nothing for a
        question about a pregnancy (its condition says when)."""
        if self.undated and self.status == "ask-doctor":
            return ""
        if self.status in ("overdue", "ask-doctor") and self.since is None:
            return self.since_text(show)
        if self.due_until and self.due_until != self.due_from:
            return f"{show(self.due_from)} → {show(self.due_until)}"
        return show(self.due_from)

    def sources_text(self) -> str:
        """The official sources in words ("Ministère de la Santé, « Calendrier… » (2025)")."""
        return _("; ").join(s.cite() for s in self.source)


# -- public helpers --------------------------------------------------------------------------


def item_id(rule_id: str, dose: int, person_id: str) -> str:
    """The stable id of a rule's dose for a person: `RULE:DOSE:PERSON8`."""
    return f"{rule_id}:{dose}:{person_id[:8]}"


def parse_item_id(text: str) -> tuple[str, int, str] | None:
    """(rule id, dose, person id prefix) of an item id, or None if it is not one."""
    match = _ITEM_ID.match(text.strip().lower())
    return (match[1], int(match[2]), match[3]) if match else None


def rule(rule_id: str) -> Rule | None:
    """The shipped rule or track (`infant_hexa.pcv`) called `rule_id`, if any."""
    return default_rules().get(rule_id)


def antigens_of(vaccine: str) -> frozenset[str]:
    """The antigens a vaccination's text names (brands and generic names); empty if unknown."""
    return default_vaccines().antigens_of(vaccine)


def evaluate(person: PersonFacts, today: dt.date, horizon_months: int = 12,
             rules: RuleSet | None = None) -> list[Item]:
    """Overdue, due, ask-your-doctor and coming (within the horizon) items, most urgent first."""
    horizon = Span(months=max(0, horizon_months)).after(today)
    ctx = _context(person, today, horizon, rules or default_rules())
    items = list(_items(ctx, with_done=False))
    return sorted(items, key=lambda i: (URGENCY.index(i.status), i.due_from, i.rule_id, i.dose))


def plan(person: PersonFacts, today: dt.date, rules: RuleSet | None = None, *,
         until_years: int = 18) -> list[Item]:
    """A child's vaccination calendar from birth to 18: done, overdue, due, coming, by date."""
    end = Span(years=until_years).after(person.born) - ONE_DAY
    ctx = _context(person, today, end, rules or default_rules())
    items = [i for i in _items(ctx, with_done=True)
             if i.domain == "vaccination" and i.due_from <= end]
    return sorted(items, key=lambda i: (i.due_from, i.rule_id, i.dose))


def _context(person: PersonFacts, today: dt.date, horizon: dt.date, rules: RuleSet) -> Ctx:
    return Ctx(index(person, rules), today, horizon, rules)


# -- slots -------------------------------------------------------------------------------------


def _items(ctx: Ctx, *, with_done: bool) -> Iterator[Item]:
    for rule in ctx.rules.all():
        if not with_done and _out_of_reach(ctx, rule):
            continue
        for slot in _slots(ctx, rule):
            status = _status(ctx, slot)
            if status is not None and (with_done or status != "done"):
                yield _item(ctx, rule, slot, status)


def _out_of_reach(ctx: Ctx, rule: Rule) -> bool:
    """A series none of whose doses can be pending now or within the horizon (a shortcut)."""
    if rule.kind != "series":
        return False
    assert rule.doses[0].age is not None
    if ctx.age(rule.doses[0].age) > ctx.horizon:
        return True
    if rule.missed_ask_until and ctx.age(rule.missed_ask_until) > ctx.today:
        return False
    ends = [d.catch_up_until for d in rule.doses]
    if any(d.no_limit for d in rule.doses) or None in ends:
        return False
    return all(ctx.age(end) < ctx.today for end in ends if end is not None)


def _slots(ctx: Ctx, rule: Rule) -> list[Slot]:
    sex = ctx.facts.person.sex
    if rule.sex != "any" and sex != rule.sex and sex in ("female", "male"):
        return []
    slots = _KINDS[rule.kind](ctx, rule)
    if rule.sex != "any" and sex != rule.sex:
        condition = rule.condition.get() if rule.condition else _(
            "recommended for {who}: ask your doctor whether it applies to you").format(
            who=rule.who.get())
        for slot in slots:
            slot.ask, slot.condition = True, slot.condition or condition
    return slots


def _status(ctx: Ctx, slot: Slot) -> Status | None:
    today = ctx.today
    if slot.done:
        return "done"
    if slot.due_from > ctx.horizon or today > slot.catch_up_end:
        return None
    if slot.ask:
        return "ask-doctor" if today >= slot.due_from else None
    if today < slot.due_from:
        return "coming"
    return "due" if today <= slot.due_until else "overdue"


def _item(ctx: Ctx, rule: Rule, slot: Slot, status: Status) -> Item:
    label = rule.label.get() + (f", {slot.suffix}" if slot.suffix else "")
    why = f"{rule.who.get()}, {rule.schedule.get()}" + (f"; {slot.history}" if slot.history
                                                          else "")
    return Item(
        id=item_id(rule.id, slot.dose, ctx.facts.person.id), rule_id=rule.id, dose=slot.dose,
        label=label, status=status, due_from=slot.due_from, due_until=slot.due_until,
        catch_up=rule.catch_up.get() if rule.catch_up and status == "overdue" else None,
        why=why, source=tuple(ctx.rules.sources[s] for s in rule.shown),
        verification=rule.status, condition=slot.condition if status == "ask-doctor" else None,
        domain=rule.domain, done_on=slot.done_on, since=_since(ctx, rule, slot, status),
        catch_up_until=None if slot.catch_up_end == FOREVER else slot.catch_up_end,
        undated=rule.event_question)


def _since(ctx: Ctx, rule: Rule, slot: Slot, status: Status) -> dt.date | None:
    """Since when an item is due (its start) or overdue (the day after its window); None for
    an item overdue for over a year of which nothing is recorded ("never recorded" is meant,
    not a date decades ago) and for a question about a pregnancy (no date means anything)."""
    if rule.event_question and status == "ask-doctor":
        return None
    if status == "due" or (status == "ask-doctor" and not slot.missed):
        return slot.due_from
    if status not in ("overdue", "ask-doctor"):
        return None
    day = slot.due_from if slot.missed else slot.due_until + ONE_DAY
    return day if slot.recorded or day > Span(years=1).before(ctx.today) else None


# -- fixed-age repeats, campaigns, screenings, questions for the doctor ----------------------


def _every(ctx: Ctx, rule: Rule) -> list[Slot]:
    every = rule.every
    assert every is not None
    marked = ctx.facts.done.get(rule.id, {})
    facts = ctx.facts.matching(rule, rule.antigens[0])
    slots = []
    for k in range(100):
        start = ctx.age(_times(every.first, every.interval, k))
        if start > ctx.horizon:
            break
        end = ctx.age(_times(every.first, every.interval, k + 1)) - ONE_DAY
        early = every.early.before(start)
        given = marked.get(k + 1) or next((f.first for f in facts if f.last >= early), None)
        slot = Slot(k + 1, start, every.window.after(start), end, given is not None, given)
        slot.suffix = _("at {age}").format(age=every.first.years + k * every.interval.years)
        slot.history = done_history(given) if given else last_recorded(ctx, rule)
        slot.recorded = any_recorded(ctx, rule)
        slots.append(slot)
    return slots


def _times(first: Span, step: Span, k: int) -> Span:
    return Span(first.years + k * step.years, first.months + k * step.months,
                first.days + k * step.days)


def _campaign(ctx: Ctx, rule: Rule) -> list[Slot]:
    campaign, eligible = rule.campaign, ctx.age(rule.age_from or Span())
    assert campaign is not None
    born = ctx.facts.person.born
    if rule.born_from and born < rule.born_from:
        return []
    marked = ctx.facts.done.get(rule.id, {})
    facts = list(ctx.facts.matching(rule, rule.antigens[0]))
    slots = []
    for year in _seasons(ctx, rule, eligible):
        start = dt.date(year, *campaign.start)
        until = _campaign_end(rule, year)
        if until < eligible or not in_force(ctx, rule, start, until):
            continue
        season = dt.date(year, *campaign.season_starts)
        season = Span(years=1).before(season) if season > start else season
        season = born if rule.first_season else season  # any dose since birth counts
        season_end = Span(years=1).after(season) - ONE_DAY
        fact = next((f for f in facts if f.last >= season and f.first <= season_end), None)
        if fact is not None:
            facts.remove(fact)  # a dose counts for one season ("2026" for the first open one)
        given = marked.get(year) or (fact.first if fact else None)
        slot = Slot(year, max(start, eligible), until, until, given is not None, given)
        slot.suffix = _("{start}–{end} campaign").format(start=year, end=year + 1)
        slot.history = done_history(given) if given else last_recorded(ctx, rule)
        slots.append(slot)
    return slots


def _campaign_end(rule: Rule, year: int) -> dt.date:
    campaign = rule.campaign
    assert campaign is not None
    return dt.date(year + (campaign.until < campaign.start), *campaign.until)


def _seasons(ctx: Ctx, rule: Rule, eligible: dt.date) -> range:
    """The campaigns' first years to look at: around today, or the first of one's life."""
    if not rule.first_season:
        return range(max(ctx.today.year, eligible.year) - 1, ctx.horizon.year + 1)
    year = eligible.year - 1
    while _campaign_end(rule, year) < eligible:
        year += 1
    return range(year, year + 1)


def _screening(ctx: Ctx, rule: Rule) -> list[Slot]:
    assert rule.age_from and rule.age_until and rule.grace
    begin, end = ctx.age(rule.age_from), ctx.age(rule.age_until)
    intervals = dict(rule.tests)
    tests = sorted((day, kind) for kind in intervals for day in ctx.facts.tests.get(kind, ()))
    in_range = [t for t in tests if t[0] >= begin]
    last = tests[-1] if tests else None
    result = ctx.facts.abnormal.get((last[1], last[0])) if last else None
    due = begin
    if last:
        spans = intervals[last[1]]
        step = spans[min(max(len(in_range) - 1, 0), len(spans) - 1)]
        due = max(last[0] if result else step.after(last[0]), begin)
    if due >= end:
        return []
    slot = Slot(len(in_range) + 1, due, rule.grace.after(due), end - ONE_DAY,
                 recorded=last is not None)
    slot.history = _test_history(last, rule.tests[0][0], result)
    if result:
        slot.ask, slot.condition = True, _(
            "a positive or abnormal result is followed up by your doctor, not by routine "
            "screening")
    return [slot]


def _test_history(last: tuple[dt.date, str] | None, kind: str, result: str | None) -> str:
    if last is None:
        return _("none recorded: {test}").format(test=_(CHOICE_LABELS[kind]))
    text = _("last test: {test}, {date}").format(test=_(CHOICE_LABELS[last[1]]),
                                                 date=last[0].isoformat())
    return text + (_("; ") + _("result: {result}").format(result=result) if result else "")


def _ask_doctor(ctx: Ctx, rule: Rule) -> list[Slot]:
    assert rule.age_from and rule.age_until and rule.condition
    begin, end = ctx.age(rule.age_from), ctx.age(rule.age_until) - ONE_DAY
    marked = dict(ctx.facts.done.get(rule.id, {}))
    if rule.count_vaccinations and not marked:
        counts_from = ctx.age(rule.counts_from) if rule.counts_from else None
        given = ctx.facts.matching(rule, rule.antigens[0], counts_from)
        if given:
            marked[1] = given[0].first
    slots = [Slot(n, begin, end, end, True, day, history=done_history(day))
             for n, day in sorted(marked.items())]
    if rule.repeat or not marked:
        start = begin
        if marked and rule.pause:  # asked again only once the pause after the last is over
            start = max(begin, rule.pause.after(max(marked.values())))
        slots.append(Slot(max(marked, default=0) + 1, start, end, end, ask=True,
                           condition=rule.condition.get()))
    return slots


_KINDS = {"series": series, "every": _every, "campaign": _campaign,
          "screening": _screening, "ask-doctor": _ask_doctor}
