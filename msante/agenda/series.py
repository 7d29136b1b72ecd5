"""The series kind of the prevention engine: the doses of a schedule, counted from the
recorded vaccinations and the items marked done, with minimum intervals, late-start schedules,
the dates a rule was in force, catch-up rules and the question about missed infant doses."""

from __future__ import annotations

import dataclasses
import datetime as dt

from msante.agenda.facts import ONE_DAY
from msante.agenda.rules import Rule
from msante.agenda.slots import (
    FOREVER,
    Count,
    Ctx,
    Slot,
    any_recorded,
    done_history,
    in_force,
    last_recorded,
)
from msante.i18n import _


def series(ctx: Ctx, rule: Rule) -> list[Slot]:
    rule = effective(ctx, rule)
    if not series_applies(ctx, rule):
        return []
    count = _counted(ctx, rule)
    upto, dates = count.upto, count.dates
    total, born = len(rule.doses), ctx.facts.person.born
    slots: list[Slot] = []
    prev: dt.date | None = None
    for n, dose in enumerate(rule.doses, 1):
        start = dose.age.after(born) if dose.age else (prev or born)
        if dose.after and prev:
            start = max(start, dose.after.after(prev))
        if dose.after_early and n in count.early:  # a dose came too soon: wait after it too
            start = max(start, dose.after_early.after(count.early[n]))
        until = dose.window.after(start)
        end = FOREVER if dose.no_limit else (
            ctx.age(dose.catch_up_until) if dose.catch_up_until else until)
        slot = Slot(n, start, until, end, n <= upto, dates.get(n))
        slot.suffix = _("dose {n} of {total}").format(n=n, total=total) if total > 1 else ""
        slot.history = _series_history(ctx, rule, slot, dates.get(n - 1), count.early.get(n))
        slot.recorded = bool(dates) or any_recorded(ctx, rule)
        slots.append(slot)
        prev = (dates.get(n) or start) if slot.done else max(start, ctx.today)
    ended = rule.in_force[1]
    if ended is not None:  # a dose due once the rule ended belongs to its successor
        slots = [s for s in slots if s.done or s.due_from < ended]
        if _replaced(ctx, rule, ended):
            slots = [s for s in slots if s.done]
    return _missed(ctx, rule, _catch_up_slots(ctx, rule, slots) if rule.catch_up_of else slots)


def _replaced(ctx: Ctx, rule: Rule, ended: dt.date) -> bool:
    """Whether the rule that took over (ACWY after MenC) applies to the person now: then
    what this one left undone is the successor's to ask."""
    other = ctx.rules.get(rule.replaced_by) if rule.replaced_by else None
    return other is not None and ctx.today >= ended and series_applies(
        ctx, effective(ctx, other))


def effective(ctx: Ctx, rule: Rule) -> Rule:
    """The rule with its late schedule when the series starts late: the first dose given (or,
    none given, today) at the late schedule's age or after."""
    late = rule.late
    if late is None:
        return rule
    counts_from = ctx.age(rule.counts_from) if rule.counts_from else None
    given = [f.first for f in ctx.facts.matching(rule, rule.antigens[0], counts_from)]
    given += ctx.facts.done.get(rule.id, {}).values()
    first = min(given, default=ctx.today)
    return dataclasses.replace(rule, doses=late.doses) if first >= ctx.age(late.from_age) \
        else rule


def _age_window(ctx: Ctx, rule: Rule) -> tuple[dt.date, dt.date]:
    """From the first dose's age to the last age a dose of the series can be caught up."""
    assert rule.doses[0].age is not None
    ends = [ctx.age(d.catch_up_until) if d.catch_up_until else FOREVER
            for d in rule.doses if d.no_limit or d.catch_up_until]
    end = max(ends, default=FOREVER)
    if rule.first_dose_until:  # a series that cannot start later: its first dose's window
        end = min(end, ctx.age(rule.first_dose_until))
    return ctx.age(rule.doses[0].age), end


def _missed(ctx: Ctx, rule: Rule, slots: list[Slot]) -> list[Slot]:
    """Once their catch-up is over, a series' missed doses are one ask-your-doctor item until
    `missed_ask_until`, numbered as the last dose: marking it done closes the series."""
    missed = [s for s in slots if not s.done]
    if rule.missed_ask_until is None or not missed or ctx.today <= missed[0].catch_up_end:
        return slots
    end, last = ctx.age(rule.missed_ask_until) - ONE_DAY, slots[-1]
    ask = Slot(last.dose, missed[0].due_from, end, end, ask=True, history=missed[0].history,
                recorded=missed[0].recorded, missed=True,
                condition=_("missed infant dose: a catch-up schedule is decided by your doctor"))
    ask.suffix = last.suffix if len(missed) == 1 else _(
        "missed doses {first} to {last} of {total}").format(
        first=missed[0].dose, last=last.dose, total=last.dose)
    return [s for s in slots if s.done] + [ask]


def _catch_up_slots(ctx: Ctx, rule: Rule, slots: list[Slot]) -> list[Slot]:
    """A catch-up rule is silent before its start; doses given before it belong to the
    rule it catches up (listed there)."""
    begin = slots[0].due_from
    if ctx.today < begin:
        return []
    return [s for s in slots if not (s.done_on and s.done_on < begin)]


def _series_history(ctx: Ctx, rule: Rule, slot: Slot, previous: dt.date | None,
                    early: dt.date | None) -> str:
    if slot.done:
        return done_history(slot.done_on)
    if previous is None:
        return last_recorded(ctx, rule)
    text = _("dose {n} on {date}").format(n=slot.dose - 1, date=previous.isoformat())
    if early is not None:
        text += _("; ") + _("the dose of {date} came too soon after it to count").format(
            date=early.isoformat())
    return text


def _counted(ctx: Ctx, rule: Rule) -> Count:
    """How many of a series' doses are done, the day of each whose day is known, and the
    doses given too soon to count."""
    if rule.id in ctx.counted:
        return ctx.counted[rule.id]
    rule = effective(ctx, rule)
    total = len(rule.doses)
    counts_from = ctx.age(rule.counts_from) if rule.counts_from else None
    count = Count(total)
    for group in rule.antigens:
        n, seen = _count_group(ctx, rule, group, counts_from, count.early)
        count.upto = min(count.upto, n)
        for k, day in seen.items():
            count.dates[k] = max(count.dates.get(k, day), day)
    for k, day in ctx.facts.done.get(rule.id, {}).items():
        if 1 <= k <= total:
            count.upto, count.dates[k] = max(count.upto, k), day
    _carried_over(ctx, rule, count)
    ctx.counted[rule.id] = count
    return count


def _carried_over(ctx: Ctx, rule: Rule, count: Count) -> None:
    """Doses of the rule this one replaced, given while it was in force, start this series
    (a MenC dose before 2025 is the first of the ACWY ones), leaving at least its last dose
    to give."""
    for old in ctx.rules.all():
        ended = old.in_force[1]
        if old.replaced_by != rule.id or ended is None:
            continue
        given = sorted(d for d in _counted(ctx, old).dates.values() if d < ended)
        carried = min(len(given), len(rule.doses) - 1)
        if carried > count.upto:
            count.upto = carried
            count.dates.update({n: given[n - 1] for n in range(1, carried + 1)})


def _count_group(ctx: Ctx, rule: Rule, group: frozenset[str], counts_from: dt.date | None,
                 early: dict[int, dt.date]) -> tuple[int, dict[int, dt.date]]:
    """The doses of one antigen group: each fills the next slot if given at least that slot's
    `after` interval after the previous one (else it is noted in `early`); a recorded dose
    number skips ahead (the doses before it are taken as given)."""
    total, n, seen = len(rule.doses), 0, dict[int, dt.date]()
    for fact in ctx.facts.matching(rule, group, counts_from):
        if n >= total:
            break
        slot = max(n + 1, min(fact.dose or 0, total))
        gap = rule.doses[slot - 1].after
        if slot == n + 1 and n in seen and gap and fact.last < gap.after(seen[n]):
            early[slot] = fact.first
            continue
        n = slot
        seen[n] = fact.first
    return n, seen


def series_applies(ctx: Ctx, rule: Rule) -> bool:
    if rule.born_from and ctx.facts.person.born < rule.born_from:
        return False
    if not in_force(ctx, rule, *_age_window(ctx, rule)):
        return False
    other = ctx.rules.get(rule.catch_up_of) if rule.catch_up_of else None
    if other is not None and _counted(ctx, other).upto >= len(other.doses):
        return False
    if rule.first_dose_from is None and rule.first_dose_until is None:
        return True
    started = min(_counted(ctx, rule).dates.values(), default=ctx.today)
    low = ctx.age(rule.first_dose_from) if rule.first_dose_from else ctx.facts.person.born
    high = ctx.age(rule.first_dose_until) if rule.first_dose_until else FOREVER
    return low <= started < high
