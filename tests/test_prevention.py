"""The prevention engine: the issue's table of cases (today fixed at 2026-11-23), then each
rule family's semantics — catch-up, fixed-age boosters, campaigns, screening intervals,
ask-your-doctor conditions, brand names, partial dates, items marked done, stable ids — the
child's calendar, the rules file's checks, and speed."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from msante import i18n
from msante.agenda import prevention
from msante.agenda.prevention import Item, PersonFacts, evaluate, plan
from msante.agenda.rules import RULES_FILE, RulesError, default_vaccines, load_rules
from msante.errors import IntegrityError

TODAY = dt.date(2026, 11, 23)
PCV, PPSV = "pneumococcus-conjugate", "pneumococcus-polysaccharide"
PID = "0f1e2d3c-4b5a-4697-8877-665544332211"


def person(born: dt.date, sex: str = "female", *, vaccinations: Any = (), screenings: Any = (),
           done: Any = (), pid: str = PID) -> PersonFacts:
    """A person's facts as the agenda service builds them from the profile."""
    return PersonFacts(id=pid, born=born, sex=sex, vaccinations=list(vaccinations),
                       screenings=list(screenings), done=list(done))


def statuses(items: list[Item]) -> dict[tuple[str, int], str]:
    """(rule, dose) → status of every item."""
    return {(i.rule_id, i.dose): i.status for i in items}


def find(items: list[Item], rule_id: str, dose: int | None = None) -> Item:
    """The item of `rule_id` (and `dose`); fails the test if absent."""
    found = [i for i in items if i.rule_id == rule_id and dose in (None, i.dose)]
    assert found, f"no {rule_id}:{dose} in {sorted(statuses(items))}"
    return found[0]


def rules_of(items: list[Item]) -> set[str]:
    """The rule ids the items come from."""
    return {i.rule_id for i in items}


# -- the issue's table ---------------------------------------------------------------------

BABY = dt.date(2026, 8, 23)  # three months old on TODAY
SIXTY_FIVE = dt.date(1961, 8, 1)

CASES = [
    pytest.param(person(dt.date(1974, 5, 10), screenings=[("mammography", "2023-10-04")]),
                 12, {("screen_breast", 1): "overdue"}, set(),
                 id="woman born 1974, mammography in 2023: overdue now"),
    pytest.param(person(dt.date(1976, 9, 15), "male"), 12,
                 {("screen_colorectal", 1): "due"}, set(),
                 id="man of 50 without a FIT: colorectal screening due"),
    pytest.param(person(BABY), 12,
                 {("infant_menb", 1): "due", ("infant_hexa", 1): "due"}, set(),
                 id="baby born three months ago: MenB and hexavalent due"),
    pytest.param(person(SIXTY_FIVE, "male"), 12,
                 {("pneumo_65", 1): "due", ("zona_65", 1): "due", ("flu_65", 2026): "due"},
                 set(), id="65-year-old: pneumococcus, shingles and this year's influenza"),
    pytest.param(person(dt.date(1975, 3, 10), "male",
                        vaccinations=[("2020-04-01", "Revaxis", None)]), 15 * 12,
                 {("dtp_65", 1): "coming"}, {"dtp_25", "dtp_45"},
                 id="dTP booster at 45: the next is at 65, nothing overdue"),
    pytest.param(person(dt.date(1971, 2, 1), "male"), 12, {("screen_colorectal", 1): "overdue"},
                 {"screen_breast", "screen_cervix_cyto", "screen_cervix_hpv",
                  "pertussis_pregnancy", "rsv_pregnancy"},
                 id="a man gets no breast or cervical screening, no pregnancy question"),
    pytest.param(person(dt.date(1996, 3, 1)), 12,
                 {("pertussis_pregnancy", 1): "ask-doctor", ("rsv_pregnancy", 1): "ask-doctor"},
                 set(), id="woman of 30: pregnancy vaccines are questions for the doctor"),
    pytest.param(person(dt.date(1958, 6, 1), "male"), 12,
                 {("rsv_65_risk", 1): "ask-doctor"}, {"rsv_75"},
                 id="68-year-old: RSV only with risk factors, ask the doctor"),
    pytest.param(person(SIXTY_FIVE, "male", vaccinations=[
        ("2026-08-10", "Prevenar 20", None), ("2026-08-10", "Shingrix", None),
        ("2026-10-10", "SHINGRIX", None)]), 12, {("flu_65", 2026): "due"},
                 {"pneumo_65", "zona_65"}, id="brand names count: Prevenar 20, Shingrix x2"),
    pytest.param(person(dt.date(1974, 6, 1), "male", vaccinations=[("2019", "dTPolio", None)]),
                 12, {}, {"dtp_45", "dtp_25"}, id="a partial date '2019' counts"),
    pytest.param(person(dt.date(1976, 9, 15), "male",
                        done=[("screen_colorectal", 1, "2026-10-01")]), 12, {},
                 {"screen_colorectal"}, id="an item marked done counts"),
]


@pytest.mark.parametrize(("facts", "horizon", "expected", "absent"), CASES)
def test_the_issue_table(facts: PersonFacts, horizon: int, expected: dict[tuple[str, int], str],
                         absent: set[str]) -> None:
    """The cases the issue lists, as a table: each expected (rule, dose) has its status and
    the absent rules yield nothing."""
    items = evaluate(facts, TODAY, horizon_months=horizon)
    got = statuses(items)
    for key, status in expected.items():
        assert got.get(key) == status, (key, got)
    assert not rules_of(items) & absent


def test_a_mammography_in_2023_was_due_in_2025_and_is_overdue_now() -> None:
    """The issue's first case in full: the next test is two years after the last one, its
    window (6 months) is over, and `why` says which test it follows."""
    facts = person(dt.date(1974, 5, 10), screenings=[("mammography", "2023-10-04")])
    item = find(evaluate(facts, TODAY), "screen_breast")
    assert item.due_from == dt.date(2025, 10, 4) and item.status == "overdue"
    assert "50–74" in item.why and "2023-10-04" in item.why and "every 2 years" in item.why
    assert item.catch_up and item.verification == "official-page-verified"
    assert [s.id for s in item.source] == ["AMELI"] and "ameli.fr" in item.source[0].urls[0]


def test_a_baby_s_first_hexavalent_dose_is_due_until_three_months_then_overdue() -> None:
    """The 2-month dose is due for a month (the last day at exactly 3 months), then overdue
    with its catch-up; MenB dose 1 starts at 3 months."""
    items = evaluate(person(BABY), TODAY)
    hexa, menb = find(items, "infant_hexa", 1), find(items, "infant_menb", 1)
    assert hexa.due_from == dt.date(2026, 10, 23) and hexa.due_until == TODAY
    assert menb.due_from == TODAY
    later = evaluate(person(BABY), TODAY + dt.timedelta(days=1))
    assert find(later, "infant_hexa", 1).status == "overdue"
    assert find(later, "infant_hexa", 1).catch_up_until == dt.date(2028, 8, 23)


# -- dTP boosters: fixed ages, catch-up, pertussis ---------------------------------------------


def test_a_dtp_booster_at_45_moves_the_next_to_65() -> None:
    """Without a record the 45 booster is overdue (catch-up until 65); with one at 45 the next
    item is the 65 booster, due from the 65th birthday."""
    born = dt.date(1975, 3, 10)
    missing = find(evaluate(person(born, "male"), TODAY), "dtp_45")
    assert missing.status == "overdue" and "65" in (missing.catch_up or "")
    done = evaluate(person(born, "male", vaccinations=[("2020-04-01", "Revaxis", None)]), TODAY,
                    horizon_months=15 * 12)
    nxt = find(done, "dtp_65")
    assert nxt.due_from == dt.date(2040, 3, 10) and nxt.status == "coming"
    assert "2020-04-01" in nxt.why


def test_a_late_booster_is_the_catch_up_and_the_schedule_resumes_by_age() -> None:
    """A booster missed at 45 and given at 50 satisfies it; the next is still at 65, not 70."""
    facts = person(dt.date(1975, 3, 10), "male", vaccinations=[("2025-06-01", "dTPolio", 1)])
    items = evaluate(facts, TODAY, horizon_months=14 * 12)
    assert "dtp_45" not in rules_of(items)
    assert find(items, "dtp_65").due_from == dt.date(2040, 3, 10)


def test_the_25_booster_needs_pertussis_unless_recent_or_after_39() -> None:
    """dtp_25 asks for dTcaPolio; a dTPolio counts after a pertussis dose <5 years before, or
    when given from 40 (the pertussis catch-up ends at 39)."""
    born = dt.date(1998, 1, 1)
    alone = evaluate(person(born, vaccinations=[("2023-02-01", "Revaxis", None)]), TODAY)
    assert find(alone, "dtp_25").status == "overdue"
    recent = [("2020-05-01", "Repevax", None), ("2023-02-01", "Revaxis", None)]
    assert "dtp_25" not in rules_of(evaluate(person(born, vaccinations=recent), TODAY))
    old = dt.date(1985, 1, 1)
    late = evaluate(person(old, vaccinations=[("2025-03-01", "dTPolio", None)]), TODAY)
    assert "dtp_25" not in rules_of(late)


def test_boosters_from_75_come_every_ten_years() -> None:
    """Occurrence 1 at 75 is satisfied by a dose at 76; occurrence 2 is due at 85; a person of
    86 without any dose sees only the latest occurrence, overdue."""
    born = dt.date(1941, 12, 1)
    items = evaluate(person(born, "male", vaccinations=[("2018-01-10", "DTP", None)]), TODAY)
    assert find(items, "dtp_75plus", 2).status == "coming"
    assert ("dtp_75plus", 1) not in statuses(items)
    assert find(items, "dtp_75plus", 2).label.endswith("at 85")
    bare = evaluate(person(dt.date(1940, 1, 1), "male"), TODAY)
    assert statuses(bare).get(("dtp_75plus", 2)) == "overdue"
    assert ("dtp_75plus", 1) not in statuses(bare)


# -- campaigns, once-only vaccines, series -------------------------------------------------


def test_yearly_campaigns_are_numbered_by_year_and_one_dose_counts_once() -> None:
    """flu_65:2026 is this autumn's campaign, flu_65:2027 the next; a shot in October 2026
    closes 2026; a partial '2026' counts for one season only."""
    items = evaluate(person(SIXTY_FIVE, "male"), TODAY)
    assert statuses(items)[("flu_65", 2026)] == "due"
    assert statuses(items)[("flu_65", 2027)] == "coming"
    assert find(items, "flu_65", 2026).due_until == dt.date(2027, 1, 31)
    shot = evaluate(person(SIXTY_FIVE, "male", vaccinations=[("2026-10-20", "Vaxigrip", None)]),
                    TODAY)
    assert ("flu_65", 2026) not in statuses(shot)
    vague = person(dt.date(1950, 1, 1), "male", vaccinations=[
        ("2025-11-02", "grippe", None), ("2026", "Efluelda", None)])
    assert ("flu_65", 2026) not in statuses(evaluate(vague, TODAY))
    only_one = person(dt.date(1950, 1, 1), "male", vaccinations=[("2026", "Efluelda", None)])
    assert ("flu_65", 2026) in statuses(evaluate(only_one, TODAY))


def test_the_second_shingles_dose_follows_the_first_by_two_months() -> None:
    """One Shingrix recorded: dose 2 comes two months later, and `why` names dose 1's day."""
    facts = person(SIXTY_FIVE, vaccinations=[("2026-11-01", "Shingrix", 1)])
    item = find(evaluate(facts, TODAY), "zona_65", 2)
    assert item.due_from == dt.date(2027, 1, 1) and item.status == "coming"
    assert "2026-11-01" in item.why


def test_a_pneumococcal_dose_given_before_64_does_not_replace_the_one_at_65() -> None:
    """A dose given earlier for a risk factor (Pneumovax at 50) leaves the 65 reminder: the
    engine errs towards reminding, the doctor decides; a dose at 64 counts."""
    early = person(SIXTY_FIVE, vaccinations=[("2011-05-01", "Pneumovax", None)])
    assert find(evaluate(early, TODAY), "pneumo_65").status == "due"
    at_64 = person(SIXTY_FIVE, vaccinations=[("2025-12-01", "Prevenar 20", None)])
    assert "pneumo_65" not in rules_of(evaluate(at_64, TODAY))


def test_hpv_two_or_three_doses_by_age_at_first_dose() -> None:
    """Started at 13: the 2-dose schedule (dose 2 ≥ 5 months later); started at 16: the
    3-dose catch-up; not started at 17 or 22: dose 1 of the matching catch-up, overdue."""
    at_13 = person(dt.date(2012, 1, 1), vaccinations=[("2025-03-01", "Gardasil 9", None)])
    items = evaluate(at_13, TODAY)
    assert find(items, "hpv_11_14", 2).due_from == dt.date(2025, 8, 1)
    assert not {"hpv_catchup_15_19", "hpv_catchup_20_26"} & rules_of(items)
    at_16 = person(dt.date(2009, 1, 1), "male", vaccinations=[("2025-03-01", "Gardasil", None)])
    items = evaluate(at_16, TODAY)
    assert {("hpv_catchup_15_19", 2), ("hpv_catchup_15_19", 3)} <= set(statuses(items))
    assert "hpv_11_14" not in rules_of(items)
    for born, rule_id in ((dt.date(2009, 6, 1), "hpv_catchup_15_19"),
                          (dt.date(2004, 6, 1), "hpv_catchup_20_26")):
        item = find(evaluate(person(born), TODAY), rule_id, 1)
        assert item.status == "overdue" and item.catch_up
    assert "hpv_11_14" in rules_of(evaluate(person(dt.date(2016, 1, 1)), TODAY,
                                            horizon_months=12))


def test_menacwy_catch_up_takes_over_at_15_and_is_silent_before() -> None:
    """A 13-year-old is due the 11–14 dose and sees no catch-up item; a 16-year-old without
    it is overdue on the catch-up; a dose at 12 satisfies both."""
    young = evaluate(person(dt.date(2013, 5, 1)), TODAY, horizon_months=36)
    assert statuses(young)[("menacwy_11_14", 1)] == "due"
    assert "menacwy_catchup" not in rules_of(young)
    older = evaluate(person(dt.date(2010, 5, 1)), TODAY)
    assert statuses(older)[("menacwy_catchup", 1)] == "overdue"
    vaccinated = person(dt.date(2010, 5, 1), vaccinations=[("2022-09-01", "Nimenrix", None)])
    assert not {"menacwy_11_14", "menacwy_catchup"} & rules_of(evaluate(vaccinated, TODAY))


def test_an_mmr_dose_before_12_months_does_not_count() -> None:
    """The 3rd-dose rule: two MMR doses of which the first before 12 months leave one due."""
    facts = person(dt.date(2015, 1, 1), vaccinations=[
        ("2015-10-01", "Priorix", None), ("2016-05-01", "ROR", None)])
    assert statuses(evaluate(facts, TODAY))[("mmr_born_1980", 2)] == "overdue"
    two = person(dt.date(2015, 1, 1), vaccinations=[
        ("2016-01-05", "Priorix", None), ("2016-05-01", "M-M-RVaxPro", None)])
    assert "mmr_born_1980" not in rules_of(evaluate(two, TODAY))
    before_1980 = person(dt.date(1979, 6, 1))
    assert "mmr_born_1980" not in rules_of(evaluate(before_1980, TODAY))


def test_a_recorded_dose_number_implies_the_earlier_doses() -> None:
    """Someone who records only 'Infanrix hexa, dose 3' (with its Prevenar) is done."""
    facts = person(dt.date(2025, 1, 10), vaccinations=[
        ("2025-12-10", "Infanrix hexa + Prevenar 13", 3)])
    assert "infant_hexa" not in rules_of(evaluate(facts, TODAY))
    tracked = plan(facts, TODAY)
    assert find(tracked, "infant_hexa", 1).status == "done"
    assert "date not recorded" in find(tracked, "infant_hexa", 1).why


# -- screening ---------------------------------------------------------------------------------


def test_cervical_screening_two_cytologies_a_year_apart_then_three_years_then_hpv() -> None:
    """25–29: a cytology, the next a year later, then three years; from 30 the HPV test comes
    three years after the last cytology."""
    born = dt.date(2000, 1, 1)
    one = evaluate(person(born, screenings=[("cervical-cytology", "2025-02-01")]), TODAY)
    assert find(one, "screen_cervix_cyto", 2).due_from == dt.date(2026, 2, 1)
    two = evaluate(person(born, screenings=[("cervical-cytology", "2025-02-01"),
                                            ("cervical-cytology", "2026-02-01")]), TODAY, 60)
    assert find(two, "screen_cervix_cyto", 3).due_from == dt.date(2029, 2, 1)
    assert find(two, "screen_cervix_hpv", 1).due_from == dt.date(2030, 1, 1)
    later = person(dt.date(1995, 1, 1), screenings=[("cervical-cytology", "2024-03-01")])
    assert find(evaluate(later, TODAY, 60), "screen_cervix_hpv").due_from == dt.date(2027, 3, 1)
    hpv = person(dt.date(1985, 1, 1), screenings=[("cervical-hpv", "2024-03-01")])
    assert find(evaluate(hpv, TODAY, 60), "screen_cervix_hpv").due_from == dt.date(2029, 3, 1)


def test_screening_ends_with_its_age_range() -> None:
    """At 76 there is no breast or colorectal screening any more; at 49½ it is coming."""
    assert not {"screen_breast", "screen_colorectal"} & rules_of(
        evaluate(person(dt.date(1950, 1, 1)), TODAY, 60))
    items = evaluate(person(dt.date(1977, 5, 1)), TODAY)
    assert statuses(items)[("screen_breast", 1)] == "coming"


def test_a_person_of_other_sex_is_asked_rather_than_skipped() -> None:
    """msante does not know who has a cervix or breasts: the female-only screenings become
    ask-your-doctor items saying so, never silently dropped."""
    items = evaluate(person(dt.date(1970, 1, 1), "other"), TODAY)
    breast = find(items, "screen_breast")
    assert breast.status == "ask-doctor" and "women aged 50–74" in (breast.condition or "")


# -- ask-your-doctor ---------------------------------------------------------------------------


def test_ask_doctor_items_carry_their_condition_and_are_never_applied() -> None:
    """Pregnancy and risk-factor rules show their condition; a recorded RSV dose closes the
    risk-factor question, a pertussis dose does not close the pregnancy one."""
    woman = evaluate(person(dt.date(1996, 3, 1), vaccinations=[
        ("2025-01-01", "Repevax", None)]), TODAY)
    assert "pregnant" in (find(woman, "pertussis_pregnancy").condition or "")
    assert "32 and 36" in (find(woman, "rsv_pregnancy").condition or "")
    old = evaluate(person(dt.date(1958, 6, 1)), TODAY)
    assert "chronic respiratory or cardiac" in (find(old, "rsv_65_risk").condition or "")
    given = person(dt.date(1958, 6, 1), vaccinations=[("2025-10-01", "Arexvy", None)])
    assert "rsv_65_risk" not in rules_of(evaluate(given, TODAY))
    teen = evaluate(person(dt.date(2009, 1, 1), "male"), TODAY)
    assert find(teen, "menb_15_24").status == "ask-doctor"


@pytest.mark.parametrize("rule_id", ["pertussis_pregnancy", "rsv_pregnancy", "flu_pregnancy"])
def test_a_pregnancy_question_shows_the_question_not_a_window_from_age_18(rule_id: str) -> None:
    """Asked of women 18–49 only because msante knows of no pregnancy: a window from the 18th
    birthday to the 50th ("2003-06-02 → 2035-06-01") or "since 2003" means nothing for a
    pregnancy, so no date is shown, the question only; an age-window question keeps its
    window."""
    item = find(evaluate(person(dt.date(1985, 6, 2)), TODAY), rule_id)
    assert item.status == "ask-doctor" and item.undated
    assert (item.window_text(), item.since_text()) == ("", "")
    assert item.to_json()["since"] is None and item.to_json()["undated"] is True
    assert "pregnant" in (item.condition or "")
    teen = find(evaluate(person(dt.date(2009, 1, 1), "male"), TODAY), "menb_15_24")
    assert not teen.undated and "2024-01-01" in teen.window_text()


@pytest.mark.parametrize("rule_id", ["pertussis_pregnancy", "rsv_pregnancy"])
@pytest.mark.parametrize(("done_on", "today", "shown"), [
    ("2026-11-20", TODAY, False),  # marked three days ago: not asked again at once
    ("2026-04-01", TODAY, False),  # the pregnancy's 9 months are not over
    ("2026-02-01", TODAY, True),  # over since 2026-11-01: asked again for a next pregnancy
    ("2026-11-20", dt.date(2027, 8, 20), True),
])
def test_a_pregnancy_question_marked_done_is_silent_for_nine_months(
        rule_id: str, done_on: str, today: dt.date, shown: bool) -> None:
    """'One dose each pregnancy': a done mark must not bring the question straight back (it
    repeats); 9 months after the day marked it asks again (dose 2), dose 1 stays done."""
    facts = person(dt.date(2000, 1, 1), done=[(rule_id, 1, done_on)])
    got = statuses(evaluate(facts, today, horizon_months=0))
    assert (got.get((rule_id, 2)) == "ask-doctor") is shown, got
    assert (rule_id, 1) not in got


@pytest.mark.parametrize(("born", "asked"), [
    (dt.date(2010, 1, 1), False), (dt.date(2009, 11, 24), False), (dt.date(2008, 11, 23), True),
    (dt.date(1977, 1, 1), True), (dt.date(1976, 11, 23), False)])
def test_pregnancy_questions_are_for_women_aged_18_to_49(born: dt.date, asked: bool) -> None:
    """Not shown to a girl of 16 or 17 (msante's chosen range starts at 18, adults)."""
    got = rules_of(evaluate(person(born), TODAY, horizon_months=0))
    assert ({"pertussis_pregnancy", "rsv_pregnancy"} <= got) is asked
    assert not ({"pertussis_pregnancy", "rsv_pregnancy"} & got) or asked


# -- review fixes: minimum intervals, separate tracks, missed infant doses, PPSV23, results --

TEEN = dt.date(2012, 1, 1)  # 13 in 2025


@pytest.mark.parametrize(("facts", "expected", "early"), [
    pytest.param(person(TEEN, vaccinations=[("2025-03-01", "Gardasil 9", None),
                                            ("2025-04-01", "Gardasil 9", None)]),
                 {("hpv_11_14", 2): "overdue"}, "2025-04-01",
                 id="Gardasil one month apart: the second does not count, another is due"),
    pytest.param(person(TEEN, vaccinations=[("2025-03-01", "Gardasil 9", 1),
                                            ("2025-04-01", "Gardasil 9", 2)]),
                 {("hpv_11_14", 2): "overdue"}, "2025-04-01",
                 id="a recorded dose number does not make a too-early dose count"),
    pytest.param(person(TEEN, vaccinations=[("2025-03-01", "Gardasil 9", None),
                                            ("2025-04-01", "Gardasil 9", None),
                                            ("2025-09-01", "Gardasil 9", None)]),
                 {}, None, id="Gardasil: the dose given 6 months after the first completes"),
    pytest.param(person(TEEN, vaccinations=[("2025-03-01", "Gardasil 9", None),
                                            ("2025-08-01", "Gardasil 9", None)]),
                 {}, None, id="Gardasil exactly 5 months apart counts"),
    pytest.param(person(SIXTY_FIVE, vaccinations=[("2026-08-10", "Shingrix", None),
                                                  ("2026-08-24", "Shingrix", None)]),
                 {("zona_65", 2): "due"}, "2026-08-24",
                 id="Shingrix two weeks apart: dose 2 still due from 2 months after dose 1"),
    pytest.param(person(dt.date(2015, 1, 1), vaccinations=[("2016-01-05", "Priorix", None),
                                                           ("2016-01-19", "ROR", None)]),
                 {("mmr_born_1980", 2): "overdue"}, "2016-01-19",
                 id="MMR two weeks apart: the second does not count"),
])
def test_a_dose_given_too_soon_does_not_count(facts: PersonFacts,
                                              expected: dict[tuple[str, int], str],
                                              early: str | None) -> None:
    """The CSV's minimum gaps ('2 doses >=5 months apart', '2 months apart'): a dose given
    sooner after the previous one is ignored for the next slot, and `why` says so."""
    items = evaluate(facts, TODAY)
    rule_id = next(iter(expected), ("hpv_11_14",))[0]
    assert {k: v for k, v in statuses(items).items() if k[0] == rule_id} == expected
    for rule_id, dose in expected:
        assert early and f"{early} came too soon" in find(items, rule_id, dose).why


def test_a_too_soon_shingles_dose_leaves_dose_2_due_two_months_after_dose_1() -> None:
    """The slot's window is still counted from dose 1, not from the ignored dose."""
    facts = person(SIXTY_FIVE, vaccinations=[("2026-08-10", "Shingrix", None),
                                             ("2026-08-24", "Shingrix", None)])
    item = find(evaluate(facts, TODAY), "zona_65", 2)
    assert item.due_from == dt.date(2026, 10, 10) and "dose 1 on 2026-08-10" in item.why


@pytest.mark.parametrize(("vaccinations", "done", "expected"), [
    pytest.param([("2026-10-23", "Infanrix hexa", None)], [],
                 {("infant_hexa.pcv", 1): "due"}, id="hexavalent only: the PCV dose is due"),
    pytest.param([("2026-10-23", "Prevenar 13", None)], [],
                 {("infant_hexa", 1): "due"}, id="Prevenar only: the hexavalent dose is due"),
    pytest.param([("2026-10-23", "Infanrix hexa + Prevenar 13", None)], [], {},
                 id="both in one record"),
    pytest.param([("2026-10-23", "Hexyon", None), ("2026-10-23", "Vaxneuvance", None)], [],
                 {}, id="both as two records"),
    pytest.param([("2026-10-23", "Infanrix hexa", None)], [("infant_hexa.pcv", 1, "2026-10-24")],
                 {}, id="the PCV dose marked done by its own id"),
    pytest.param([("2026-10-23", "Infanrix hexa + Pneumovax", None)], [],
                 {("infant_hexa.pcv", 1): "due"},
                 id="a polysaccharide vaccine is not the conjugate dose"),
])
def test_hexavalent_and_pneumococcal_doses_are_followed_apart(
        vaccinations: list[Any], done: list[Any], expected: dict[tuple[str, int], str]) -> None:
    """A baby with the hexavalent at 2 months but no Prevenar is due the PCV dose, not a
    second hexavalent (and the other way round); each item names its vaccine."""
    items = evaluate(person(BABY, vaccinations=vaccinations, done=done), TODAY)
    got = {k: v for k, v in statuses(items).items() if k[0].startswith("infant_hexa")
           and k[1] == 1}
    assert got == expected
    if ("infant_hexa.pcv", 1) in expected:
        item = find(items, "infant_hexa.pcv", 1)
        assert item.label.startswith("Pneumococcal conjugate") and "Hexavalent" not in item.label
        assert item.id == "infant_hexa.pcv:1:0f1e2d3c"
    if ("infant_hexa", 1) in expected:
        assert "pneumococ" not in find(items, "infant_hexa", 1).label.lower()


def test_track_ids_parse_and_name_a_rule() -> None:
    """`agenda done infant_hexa.pcv:1:…` must find its rule; malformed track ids do not."""
    assert prevention.parse_item_id("infant_hexa.pcv:1:0f1e2d3c") == (
        "infant_hexa.pcv", 1, "0f1e2d3c")
    track = prevention.rule("infant_hexa.pcv")
    assert track is not None and track.antigens == (frozenset({PCV}),)
    assert prevention.rule("infant_hexa.nope") is None
    for bad in ("infant_hexa.:1:0f1e2d3c", "a.b.c:1:0f1e2d3c", ".pcv:1:0f1e2d3c"):
        assert prevention.parse_item_id(bad) is None


ASK = "missed infant dose: a catch-up schedule is decided by your doctor"


@pytest.mark.parametrize(("born", "vaccinations", "expected", "absent"), [
    pytest.param(dt.date(2023, 6, 1), [],
                 {("infant_hexa", 3): "ask-doctor", ("infant_menb", 3): "ask-doctor",
                  ("infant_menacwy", 1): "ask-doctor", ("mmr_born_1980", 1): "overdue"},
                 {"infant_hexa.pcv", "infant_menc"},
                 id="3-year-old with nothing: every missed series is a question (not the "
                    "pneumococcal one after 2, nor MenC which ACWY replaced)"),
    pytest.param(dt.date(2023, 6, 1), [("2024-05-01", "Infanrix hexa + Prevenar 13", 3)],
                 {("infant_menb", 3): "ask-doctor"}, {"infant_hexa", "infant_hexa.pcv"},
                 id="a complete series is not asked about"),
    pytest.param(dt.date(2024, 11, 24), [], {("infant_hexa", 1): "overdue"}, set(),
                 id="the day before 2: still overdue, not a question"),
    pytest.param(dt.date(2014, 6, 1), [], {("infant_hexa", 3): "ask-doctor"},
                 {"infant_menacwy", "infant_menb", "infant_menc"},
                 id="12-year-old: MenACWY is menacwy_11_14's from 11; MenB and MenC came "
                    "after their infancy"),
    pytest.param(dt.date(2010, 6, 1), [], {("infant_hexa", 3): "ask-doctor"},
                 {"infant_menb"}, id="16-year-old: MenB is menb_15_24's from 15"),
    pytest.param(dt.date(2008, 6, 1), [], {},
                 {"infant_hexa", "infant_hexa.pcv", "infant_menb", "infant_menacwy"},
                 id="18-year-old: no infant question any more"),
])
def test_missed_infant_doses_become_a_question_for_the_doctor(
        born: dt.date, vaccinations: list[Any], expected: dict[tuple[str, int], str],
        absent: set[str]) -> None:
    """After the catch-up window (2 years) a missed infant dose must not vanish: one
    ask-your-doctor item per series, until 18 or a later rule covering it."""
    items = evaluate(person(born, vaccinations=vaccinations), TODAY, horizon_months=0)
    got = statuses(items)
    for key, status in expected.items():
        assert got.get(key) == status, (key, got)
        if status == "ask-doctor":
            assert find(items, *key).condition == ASK
    assert not rules_of(items) & absent
    infant = [k for k in got if k[0].startswith("infant_")]
    assert len(infant) == len({k[0] for k in infant})  # one item per series, not per dose


def test_the_missed_dose_question_closes_when_marked_done_and_lists_the_doses() -> None:
    """Marking the question done (its id carries the last dose) closes the series."""
    born = dt.date(2023, 6, 1)
    item = find(evaluate(person(born), TODAY), "infant_hexa", 3)
    assert item.id == "infant_hexa:3:0f1e2d3c" and "missed doses 1 to 3" in item.label
    assert "none recorded" in item.why
    done = evaluate(person(born, done=[("infant_hexa", 3, "2026-11-01")]), TODAY)
    assert "infant_hexa" not in rules_of(done) and "infant_menb" in rules_of(done)
    assert find(plan(person(born), TODAY), "infant_hexa", 3).status == "ask-doctor"


@pytest.mark.parametrize(("vaccinations", "due"), [
    pytest.param([], True, id="nothing recorded"),
    pytest.param([("2026-01-10", "Pneumovax 23", None)], True, id="PPSV23 only"),
    pytest.param([("2026-01-10", "VPP23", None)], True, id="VPP23 only"),
    pytest.param([("2026-01-10", "Prevenar 20", None)], False, id="PCV20"),
    pytest.param([("2026-01-10", "Capvaxive", None)], False, id="PCV21"),
    pytest.param([("2026-01-10", "Pneumovax 23", None), ("2026-03-10", "Prevenar 20", None)],
                 False, id="PPSV23 then PCV20"),
])
def test_only_a_conjugate_pneumococcal_vaccine_counts_at_65(vaccinations: list[Any],
                                                            due: bool) -> None:
    """Pneumovax 23 (polysaccharide) is not the PCV20 dose the 2025 schedule asks for; the
    reminder says why it does not count."""
    items = evaluate(person(SIXTY_FIVE, "male", vaccinations=vaccinations), TODAY)
    assert ("pneumo_65" in rules_of(items)) is due
    if due and vaccinations:
        why = find(items, "pneumo_65").why
        assert "none recorded" in why and f"{vaccinations[0][1]} (2026-01-10) does not count" in why


SCREEN_ASK = ("a positive or abnormal result is followed up by your doctor, not by routine "
              "screening")
WOMAN_52 = dt.date(1974, 5, 10)


@pytest.mark.parametrize(("born", "screenings", "rule_id", "status", "due_from"), [
    pytest.param(WOMAN_52, [("mammography", "2025-10-04", "Positive")], "screen_breast",
                 "ask-doctor", dt.date(2025, 10, 4), id="positive mammography"),
    pytest.param(WOMAN_52, [("mammography", "2025-10-04", "ACR 4, ANORMALE")],
                 "screen_breast", "ask-doctor", dt.date(2025, 10, 4), id="anormale, capitals"),
    pytest.param(WOMAN_52, [("mammography", "2025-10-04", "abnormal")], "screen_breast",
                 "ask-doctor", dt.date(2025, 10, 4), id="abnormal"),
    pytest.param(WOMAN_52, [("colorectal-fit", "2025-10-04", "test POSITIF")],
                 "screen_colorectal", "ask-doctor", dt.date(2025, 10, 4), id="positive FIT"),
    pytest.param(dt.date(1990, 1, 1), [("cervical-hpv", "2024-03-01", "HPV-HR positif")],
                 "screen_cervix_hpv", "ask-doctor", dt.date(2024, 3, 1), id="positive HPV"),
    pytest.param(WOMAN_52, [("mammography", "2025-10-04", "négatif")], "screen_breast",
                 "coming", dt.date(2027, 10, 4), id="negative: routine"),
    pytest.param(WOMAN_52, [("mammography", "2025-10-04", "normale")], "screen_breast",
                 "coming", dt.date(2027, 10, 4), id="normal: routine"),
    pytest.param(WOMAN_52, [("mammography", "2025-10-04", None)], "screen_breast",
                 "coming", dt.date(2027, 10, 4), id="no result: routine"),
    pytest.param(WOMAN_52, [("mammography", "2025-10-04")], "screen_breast",
                 "coming", dt.date(2027, 10, 4), id="two-element tuple: routine"),
    pytest.param(WOMAN_52, [("mammography", "2023-10-04", "anormal"),
                            ("mammography", "2025-10-04", "normal")], "screen_breast",
                 "coming", dt.date(2027, 10, 4), id="a later normal test resumes the routine"),
])
def test_a_positive_or_abnormal_screening_is_followed_by_the_doctor(
        born: dt.date, screenings: list[Any], rule_id: str, status: str,
        due_from: dt.date) -> None:
    """A positive FIT means a colonoscopy, not another FIT in 2 years: the item asks the
    doctor; the result text is matched whatever its case or accents."""
    items = evaluate(person(born, screenings=screenings), TODAY, horizon_months=60)
    item = find(items, rule_id)
    assert (item.status, item.due_from) == (status, due_from)
    assert (item.condition == SCREEN_ASK) is (status == "ask-doctor")
    if status == "ask-doctor":
        assert "result: " in item.why


# -- names, dates, done, ids ----------------------------------------------------------------


@pytest.mark.parametrize(("text", "antigens"), [
    ("Prevenar 20", {PCV}), ("PRÉVENAR-20", {PCV}), ("prevenar20 (lot X12)", {PCV}),
    ("Shingrix", {"shingles"}), ("zona", {"shingles"}),
    ("Infanrix hexa", {"diphtheria", "tetanus", "pertussis", "polio", "hib", "hepatitis-b"}),
    ("Hexyon", {"diphtheria", "tetanus", "pertussis", "polio", "hib", "hepatitis-b"}),
    ("Vaxelis", {"diphtheria", "tetanus", "pertussis", "polio", "hib", "hepatitis-b"}),
    ("Boostrixtetra", {"diphtheria", "tetanus", "pertussis", "polio"}),
    ("Boostrix Tetra", {"diphtheria", "tetanus", "pertussis", "polio"}),
    ("Repevax", {"diphtheria", "tetanus", "pertussis", "polio"}),
    ("Revaxis", {"diphtheria", "tetanus", "polio"}), ("dT-Polio", {"diphtheria", "tetanus",
                                                                   "polio"}),
    ("DTP", {"diphtheria", "tetanus", "polio"}),
    ("Priorix", {"measles", "mumps", "rubella"}), ("M-M-RVaxPro", {"measles", "mumps", "rubella"}),
    ("ROR", {"measles", "mumps", "rubella"}), ("Gardasil 9", {"hpv"}), ("HPV", {"hpv"}),
    ("Bexsero", {"meningococcus-b"}), ("Trumenba", {"meningococcus-b"}),
    ("Nimenrix", {"meningococcus-acwy"}), ("MenQuadfi", {"meningococcus-acwy"}),
    ("Menveo", {"meningococcus-acwy"}), ("Neisvac", {"meningococcus-c"}),
    ("Menjugate", {"meningococcus-c"}), ("Vaxigrip Tetra", {"influenza"}),
    ("Influvac", {"influenza"}), ("Efluelda", {"influenza"}), ("vaccin grippe", {"influenza"}),
    ("Comirnaty", {"covid-19"}), ("Spikevax", {"covid-19"}), ("Abrysvo", {"rsv"}),
    ("Arexvy", {"rsv"}), ("mRESVIA", {"rsv"}), ("Prevenar 13", {PCV}),
    ("Vaxneuvance", {PCV}), ("Capvaxive", {PCV}), ("pneumocoque", {PCV}),
    ("Pneumovax", {PPSV}), ("Pneumovax 23", {PPSV}), ("VPP23", {PPSV}), ("PPSV23", {PPSV}),
    ("Infanrix hexa + Prevenar 13", {"diphtheria", "tetanus", "pertussis", "polio", "hib",
                                     "hepatitis-b", PCV}),
    ("Zostavax", set()), ("vitamine D", set()), ("", set()),
])
def test_vaccine_names_map_to_antigens(text: str, antigens: set[str]) -> None:
    """Brand and generic names, whatever their case, accents, spaces or punctuation, name the
    antigens that decide which rules a recorded vaccination counts for."""
    assert prevention.antigens_of(text) == antigens


def test_unreadable_records_are_ignored_not_fatal() -> None:
    """A date the engine cannot read or a vaccine it does not know is skipped; marks for a
    rule that no longer exists are ignored."""
    facts = person(dt.date(1975, 3, 10), vaccinations=[
        ("someday", "Revaxis", None), ("2020-04-01", "potion magique", None)],
        screenings=[("other", "2024-01-01"), ("mammography", "n/a")],
        done=[("gone_rule", 1, "2025-01-01"), ("dtp_45", 1, "not a date")])
    assert find(evaluate(facts, TODAY), "dtp_45").status == "overdue"


def test_marked_done_items_count_and_stand_for_the_vaccination() -> None:
    """A done mark closes its (rule, dose), moves a screening's next test two years on, sets
    the day the next dose counts from (a 2-month dose given 2 days late pushes the 4-month one
    by 2 days), and counts as a vaccination for the other rules (a dTP marked at 50 satisfies
    the 45 one)."""
    born = dt.date(1976, 9, 15)
    items = evaluate(person(born, "male", done=[("screen_colorectal", 1, "2026-10-01")]), TODAY,
                     horizon_months=24)
    nxt = find(items, "screen_colorectal")
    assert (nxt.dose, nxt.status, nxt.due_from) == (2, "coming", dt.date(2028, 10, 1))
    baby = evaluate(person(BABY, done=[("infant_hexa", 1, "2026-10-25")]), TODAY)
    assert ("infant_hexa", 1) not in statuses(baby)
    assert find(baby, "infant_hexa", 2).due_from == dt.date(2026, 12, 25)
    late = evaluate(person(dt.date(1975, 3, 10), done=[("dtp_25", 1, "2026-01-05")]), TODAY)
    assert not {"dtp_25", "dtp_45"} & rules_of(late)


def test_item_ids_are_stable_and_name_rule_dose_and_person() -> None:
    """The CLI marks an item done by its id: the same facts give the same ids, another person
    or dose another id, and the id parses back to (rule, dose, person prefix)."""
    one = person(BABY)
    first, again = evaluate(one, TODAY), evaluate(one, TODAY)
    assert [i.id for i in first] == [i.id for i in again]
    other = evaluate(person(BABY, pid="99aa88bb-0000-4000-8000-000000000000"), TODAY)
    assert not {i.id for i in first} & {i.id for i in other}
    ids = [i.id for i in first]
    assert len(ids) == len(set(ids))
    assert "infant_hexa:1:0f1e2d3c" in ids and "infant_hexa:2:0f1e2d3c" in ids
    assert prevention.parse_item_id(" Flu_65:2026:0F1E2D3C ") == ("flu_65", 2026, "0f1e2d3c")
    for bad in ("nonsense", "flu_65::0f1e", "flu_65:1", "FLU 65:1:0f1e2d3c", "x:1:zz"):
        assert prevention.parse_item_id(bad) is None


def test_the_horizon_decides_what_is_coming() -> None:
    """A zero horizon (the `remind` command) keeps only what needs doing now."""
    items = evaluate(person(BABY), TODAY, horizon_months=0)
    assert items and {i.status for i in items} <= {"overdue", "due", "ask-doctor"}
    assert len(evaluate(person(BABY), TODAY, horizon_months=24)) > len(items)


def test_items_sort_most_urgent_first_and_serialise_to_json() -> None:
    """Overdue before due before questions before coming; to_json gives stable keys, ISO
    dates and sources as objects."""
    items = evaluate(person(dt.date(1958, 6, 1)), TODAY)
    order = [prevention.URGENCY.index(i.status) for i in items]
    assert order == sorted(order)
    data = json.loads(json.dumps([i.to_json() for i in items]))
    assert set(data[0]) == {"id", "rule", "dose", "label", "status", "domain", "due_from",
                            "due_until", "catch_up", "catch_up_until", "done_on", "why",
                            "condition", "verification", "source", "since",
                            "undated"}
    assert data[0]["source"][0].keys() == {"id", "title", "publisher", "year", "urls", "text"}


def test_texts_follow_the_language() -> None:
    """Labels, who and schedule come from the rules file in the language in use."""
    try:
        i18n.setup("fr")
        item = find(evaluate(person(dt.date(1974, 5, 10)), TODAY), "screen_breast")
        assert item.label.startswith("Dépistage organisé du cancer du sein")
        assert item.why.startswith("femmes de 50 à 74 ans, tous les 2 ans")
    finally:
        i18n.setup("en")


# -- the child's calendar --------------------------------------------------------------------


def test_a_child_s_plan_lists_every_dose_from_birth_to_18_by_date() -> None:
    """The plan shows done doses with their day, what is overdue or due, and every dose to
    come until 18 — vaccinations only, in date order, each catch-up rule once."""
    facts = person(dt.date(2019, 5, 1), "male", vaccinations=[
        ("2019-07-01", "Infanrix hexa + Prevenar 13", 1), ("2019-09-02", "Hexyon", 2),
        ("2019-09-02", "Prevenar 13", 2), ("2020-04-01", "Vaxelis", 3),
        ("2020-04-01", "Prevenar 13", 3), ("2020-05", "Priorix", None)])
    items = plan(facts, TODAY)
    got = statuses(items)
    assert [got[("infant_hexa", n)] for n in (1, 2, 3)] == ["done"] * 3
    assert find(items, "infant_hexa", 2).done_on == dt.date(2019, 9, 2)
    assert got[("infant_mmr", 1)] == "done" and got[("mmr_born_1980", 2)] == "overdue"
    assert ("mmr_born_1980", 1) not in got  # the dose at 12 months is listed under infant_mmr
    assert got[("child_dtcap_6", 1)] == "overdue"
    assert got[("child_dtcap_11_13", 1)] == "coming" and got[("hpv_11_14", 2)] == "coming"
    assert all(i.domain == "vaccination" and i.due_from < dt.date(2037, 5, 1) for i in items)
    assert [i.due_from for i in items] == sorted(i.due_from for i in items)


def test_a_newborn_s_plan_is_the_whole_calendar() -> None:
    """From birth: 3 hexavalent, 3 pneumococcal conjugate, 3 MenB, 2 MenACWY, 2 rotavirus,
    2 MMR, the boosters at 6 and 11–13, HPV and MenACWY at 11 — all coming; the RSV antibody
    of a baby born in the RSV season is due now."""
    items = plan(person(dt.date(2026, 11, 1), "male"), TODAY)
    counts: dict[str, int] = {}
    for item in items:
        counts[item.rule_id] = counts.get(item.rule_id, 0) + 1
    assert counts == {"infant_hexa": 3, "infant_hexa.pcv": 3, "infant_menb": 3,
                      "infant_menacwy": 2, "infant_mmr": 2, "child_dtcap_6": 1,
                      "child_dtcap_11_13": 1, "hpv_11_14": 2, "menacwy_11_14": 1,
                      "infant_rotavirus": 2, "infant_rsv_antibody": 1}
    assert {i.status for i in items if i.rule_id != "infant_rsv_antibody"} == {"coming"}
    assert find(items, "infant_rsv_antibody").status == "due"


# -- the rules file's checks, speed ----------------------------------------------------------


def _broken(tmp_path: Path, change: Any) -> Path:
    data = json.loads(RULES_FILE.read_text(encoding="utf-8"))
    change(data["rules"][0])
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("change", "message"), [
    (lambda r: r.update(doses=[{"age": "2 months", "window": "P1M"}]), "not a duration"),
    (lambda r: r.update(antigens=[["unicorn-pox"]]), "unknown antigens"),
    (lambda r: r.update(window="P1M"), "unknown keys"),
    (lambda r: r.update(sources=["S99"]), "unknown sources"),
    (lambda r: r.update(status="trust-me"), "verification status"),
    (lambda r: r.pop("label"), "label"),
    (lambda r: r.update(label={"en": "only English"}), "English and a French"),
    (lambda r: r.update(catch_up_of="nope"), "catch_up_of"),
])
def test_a_broken_rules_file_is_refused_naming_the_rule(tmp_path: Path, change: Any,
                                                       message: str) -> None:
    """A typo in the data must not silently drop or change a recommendation."""
    with pytest.raises(RulesError, match=message) as info:
        load_rules(_broken(tmp_path, change), default_vaccines())
    assert "infant_hexa" in str(info.value) or "rules file" in str(info.value)
    assert isinstance(info.value, IntegrityError)



# -- one date for every view (issue 11, part 1) ----------------------------------------------


def test_an_overdue_item_has_one_since_date_the_day_after_its_window() -> None:
    """Home and `remind` read the same `since`: the day after the window; due items are due
    since their start."""
    facts = person(dt.date(1974, 5, 10), screenings=[("mammography", "2023-10-04")])
    item = find(evaluate(facts, TODAY), "screen_breast")
    assert item.status == "overdue" and item.since == item.due_until + dt.timedelta(days=1)
    assert item.since_text() == f"since {item.since.isoformat()}"
    assert item.to_json()["since"] == item.since.isoformat()
    due = find(evaluate(person(dt.date(1976, 9, 15), "male"), TODAY), "screen_colorectal")
    assert due.status == "due" and due.since == due.due_from


@pytest.mark.parametrize(("facts", "rule_id"), [
    pytest.param(person(dt.date(1990, 6, 2)), "screen_cervix_hpv", id="no cervical test ever"),
    pytest.param(person(dt.date(1985, 6, 2)), "mmr_born_1980", id="no MMR dose since 1987"),
])
def test_long_overdue_and_never_recorded_says_so_rather_than_a_date(
        facts: PersonFacts, rule_id: str) -> None:
    """"overdue since 1987" is not what is meant when nothing was ever recorded."""
    item = find(evaluate(facts, TODAY), rule_id)
    assert item.status == "overdue" and item.since is None
    assert item.since_text() == "never recorded"


def test_a_recent_or_recorded_overdue_item_keeps_its_date() -> None:
    """A baby's dose overdue for days, or a test recorded long ago, keeps "since DATE"."""
    baby = find(evaluate(person(BABY), TODAY + dt.timedelta(days=5)), "infant_hexa", 1)
    assert baby.status == "overdue" and baby.since == TODAY + dt.timedelta(days=1)
    old = person(dt.date(1960, 3, 1), "male", vaccinations=[("1990-05-01", "Revaxis", None)])
    dtp = find(evaluate(old, TODAY), "dtp_65")
    assert dtp.status == "overdue" and dtp.since == dtp.due_until + dt.timedelta(days=1)


def test_a_missed_infant_dose_question_of_years_ago_says_never_recorded() -> None:
    """A 12-year-old with no infant dose: not a window from 2014 but "never recorded"; with
    a dose recorded, the window stays."""
    item = find(evaluate(person(dt.date(2014, 6, 1)), TODAY), "infant_hexa", 3)
    assert item.status == "ask-doctor" and item.since is None
    assert item.window_text() == "never recorded" and "2014" not in item.window_text()
    given = person(dt.date(2014, 6, 1), vaccinations=[("2014-08-01", "Infanrix hexa", 1)])
    item = find(evaluate(given, TODAY), "infant_hexa", 3)
    assert item.since is not None and "→" in item.window_text()
    pregnancy = find(evaluate(person(dt.date(1996, 3, 1)), TODAY), "pertussis_pregnancy")
    assert pregnancy.since is None and pregnancy.since_text() == ""  # not a missed dose


def test_french_lists_of_sources_take_a_narrow_no_break_space_before_semicolons() -> None:
    """Two sources are joined with "; " in English and " ; " (U+202F) in French."""
    import datetime as dt

    from msante import i18n
    from msante.agenda.prevention import Item
    from msante.agenda.rule_types import Source

    sources = (Source("A", "Calendrier", (), publisher="Ministère", year=2025, official=True),
               Source("B", "Recommandation", (), publisher="HAS", year=2024, official=True))
    item = Item("R:1:P", "R", 1, "x", "due", dt.date(2026, 1, 1), None, None, "", sources, "")
    try:
        i18n.setup("fr")
        assert "2025)\u202f; HAS" in item.sources_text()
        i18n.setup("en")
        assert "2025); HAS" in item.sources_text()
    finally:
        i18n.setup("en")
