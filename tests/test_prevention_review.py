"""The review of issue 11 (part 1) as table tests: each rule applies only to a child who was
in its age window while it was in force (a child born before and after each start), the
rules the review found missing (rotavirus, the infant RSV antibody, influenza in pregnancy),
catch-up started between 12 and 23 months, the pneumococcal question ending at 2, the HPV
dose after one given too soon, and the abbreviations a parent meets explained in words."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from msante import i18n
from msante.agenda.prevention import Item, PersonFacts, evaluate, plan
from msante.agenda.rules import default_rules

PID = "0f1e2d3c-4b5a-4697-8877-665544332211"
TODAY = dt.date(2026, 11, 23)


def person(born: dt.date, sex: str = "female", vaccinations: Any = ()) -> PersonFacts:
    """A person's facts as the agenda builds them from the profile."""
    return PersonFacts(id=PID, born=born, sex=sex, vaccinations=list(vaccinations))


def of(items: list[Item], rule_id: str) -> list[Item]:
    """The items of one rule."""
    return [i for i in items if i.rule_id == rule_id]


# -- in force: a child born before and after each rule's start ---------------------------------

IN_FORCE = [
    # rule, born, today, applies
    ("infant_menb", dt.date(2019, 6, 1), TODAY, False),  # the issue's child born in 2019
    ("infant_menb", dt.date(2020, 3, 1), TODAY, False),  # 2 on 2022-03-01, before 2022-04-25
    ("infant_menb", dt.date(2020, 6, 1), TODAY, True),   # still under 2 when it began
    ("infant_menb", dt.date(2022, 6, 1), TODAY, True),
    ("infant_menacwy", dt.date(2019, 6, 1), TODAY, False),
    ("infant_menacwy", dt.date(2022, 12, 1), TODAY, False),  # 2 on 2024-12-01
    ("infant_menacwy", dt.date(2023, 2, 1), TODAY, True),
    ("infant_menacwy", dt.date(2025, 3, 1), TODAY, True),
    ("infant_menc", dt.date(2014, 12, 1), TODAY, False),  # 2 before the 2017 calendar
    ("infant_menc", dt.date(2019, 6, 1), TODAY, True),    # what applied before ACWY
    ("infant_menc", dt.date(2024, 6, 1), TODAY, False),   # ACWY took over
    ("infant_menc", dt.date(2025, 3, 1), TODAY, False),
    ("infant_rotavirus", dt.date(2022, 2, 1), dt.date(2022, 5, 1), False),  # before June 2022
    ("infant_rotavirus", dt.date(2022, 6, 1), dt.date(2022, 8, 5), True),
    ("menacwy_11_14", dt.date(2009, 1, 1), dt.date(2024, 12, 1), False),  # before 2025
    ("menacwy_11_14", dt.date(2012, 1, 1), dt.date(2024, 12, 1), False),
    ("menacwy_11_14", dt.date(2012, 1, 1), TODAY, True),
    ("infant_rsv_antibody", dt.date(2023, 1, 15), dt.date(2023, 10, 1), False),
    ("infant_rsv_antibody", dt.date(2023, 3, 1), dt.date(2023, 10, 1), True),
]


@pytest.mark.parametrize(("rule_id", "born", "today", "applies"), IN_FORCE,
                         ids=[f"{r}-born-{b}" for r, b, _t, _a in IN_FORCE])
def test_a_rule_applies_only_to_a_child_in_its_age_window_while_in_force(
        rule_id: str, born: dt.date, today: dt.date, applies: bool) -> None:
    """No "missed infant" MenB or MenACWY dose for a child born in 2019; MenC instead."""
    items = evaluate(person(born), today, horizon_months=0)
    assert bool(of(items, rule_id)) == applies, [i.id for i in items]


def test_a_child_born_in_2019_is_asked_about_menc_not_menb_or_menacwy() -> None:
    """The issue's case in full: the missed-dose question is MenC's, the rule of the time."""
    items = evaluate(person(dt.date(2019, 6, 1)), TODAY, horizon_months=0)
    assert not of(items, "infant_menb") and not of(items, "infant_menacwy")
    [menc] = of(items, "infant_menc")
    assert menc.status == "ask-doctor"


# -- the rules the review found missing --------------------------------------------------------

ROTA = [
    # days old, vaccinations, expected statuses of (dose 1, dose 2) (None: absent)
    (50, [], ("coming", "coming")),        # from 2 months
    (70, [], ("due", "coming")),
    (100, [], ("overdue", "coming")),      # still possible up to 16 weeks (112 days)
    (113, [], (None, None)),               # too late to start: nothing left to propose
    (130, [(70, "Rotarix", 1)], (None, "overdue")),  # dose 2 until 6 months
    (200, [(70, "Rotarix", 1)], (None, None)),       # past 6 months
]


@pytest.mark.parametrize(("days", "given", "expected"), ROTA)
def test_rotavirus_for_every_infant_the_first_dose_only_up_to_16_weeks(
        days: int, given: list[Any], expected: tuple[str | None, str | None]) -> None:
    """Recommended since June 2022; time-critical: the first dose up to 16 weeks."""
    born = TODAY - dt.timedelta(days=days)
    facts = person(born, vaccinations=[((born + dt.timedelta(days=d)).isoformat(), v, n)
                                       for d, v, n in given])
    items = of(evaluate(facts, TODAY, horizon_months=2), "infant_rotavirus")
    got = tuple(next((i.status for i in items if i.dose == n), None) for n in (1, 2))
    assert got == expected


@pytest.mark.parametrize(("born", "vaccinations", "status"), [
    pytest.param(dt.date(2026, 11, 1), [], "due", id="born in the season: now"),
    pytest.param(dt.date(2026, 3, 1), [], "due", id="born in spring: before its first season"),
    pytest.param(dt.date(2026, 6, 1), [("2026-10-02", "Beyfortus", None)], None,
                 id="given: done"),
    pytest.param(dt.date(2025, 10, 1), [], None, id="first season over: not proposed again"),
])
def test_the_infant_rsv_antibody_in_the_first_season(born: dt.date, vaccinations: list[Any],
                                                      status: str | None) -> None:
    """Nirsévimab for a newborn's first RSV season (from 15 September to 31 January)."""
    items = of(evaluate(person(born, vaccinations=vaccinations), TODAY), "infant_rsv_antibody")
    assert (items[0].status if items else None) == status
    if items:
        assert "Abrysvo" in items[0].why  # the condition: the mother was not vaccinated


@pytest.mark.parametrize(("sex", "asked"), [("female", True), ("male", False)])
def test_influenza_in_pregnancy_is_one_of_the_pregnancy_questions(sex: str, asked: bool) -> None:
    """Beside pertussis and RSV: influenza, whatever the stage of pregnancy."""
    items = evaluate(person(dt.date(1996, 3, 1), sex), TODAY)
    flu = of(items, "flu_pregnancy")
    assert bool(flu) == asked
    if asked:
        assert flu[0].status == "ask-doctor" and "pregnant" in (flu[0].condition or "")


# -- catch-up started between 12 and 23 months -------------------------------------------------

FIFTEEN_MONTHS = dt.date(2025, 8, 23)


def test_menacwy_started_after_12_months_is_one_dose() -> None:
    items = of(plan(person(FIFTEEN_MONTHS), TODAY), "infant_menacwy")
    assert [(i.dose, i.status) for i in items] == [(1, "overdue")]
    assert "dose" not in items[0].label  # a single dose: no "dose 1 of 2"


def test_menacwy_started_before_12_months_keeps_two_doses() -> None:
    born = dt.date(2025, 11, 1)
    given = [("2026-05-02", "Nimenrix", None)]
    items = of(plan(person(born, vaccinations=given), TODAY), "infant_menacwy")
    assert [(i.dose, i.status) for i in items] == [(1, "done"), (2, "due")]


def test_menb_started_after_12_months_two_doses_then_the_booster_12_to_23_months_later(
        ) -> None:
    given = [("2026-08-25", "Bexsero", None), ("2026-10-26", "Bexsero", None)]
    items = of(plan(person(FIFTEEN_MONTHS, vaccinations=given), TODAY), "infant_menb")
    assert [(i.dose, i.status) for i in items] == [(1, "done"), (2, "done"), (3, "coming")]
    booster = items[2]
    assert booster.due_from == dt.date(2027, 10, 26)
    assert booster.due_until == dt.date(2028, 9, 26)  # 23 months after the second dose


def test_pneumococcal_started_after_12_months_is_two_doses() -> None:
    items = of(plan(person(FIFTEEN_MONTHS), TODAY), "infant_hexa.pcv")
    assert [i.dose for i in items] == [1, 2]
    assert items[1].due_from >= items[0].due_from + dt.timedelta(days=59)


@pytest.mark.parametrize(("born", "asked"), [
    pytest.param(dt.date(2025, 6, 1), True, id="17 months: overdue, still given"),
    pytest.param(dt.date(2023, 6, 1), False, id="3 years: not given to a healthy child"),
    pytest.param(dt.date(2012, 6, 1), False, id="14 years: no question until 18"),
])
def test_the_missed_pneumococcal_dose_is_not_asked_after_2(born: dt.date, asked: bool) -> None:
    items = of(evaluate(person(born), TODAY, horizon_months=0), "infant_hexa.pcv")
    assert bool(items) == asked


# -- HPV after a dose given too soon -----------------------------------------------------------


@pytest.mark.parametrize(("second", "next_from"), [
    pytest.param("2026-04-10", dt.date(2026, 7, 10), id="3 months after the early dose"),
    pytest.param("2026-02-10", dt.date(2026, 6, 10), id="5 months after dose 1"),
])
def test_an_hpv_dose_after_an_early_second_dose_waits_at_least_3_months(
        second: str, next_from: dt.date) -> None:
    """Dose 1, then one too soon (under 5 months): the next at least 3 months after it."""
    given = [("2026-01-10", "Gardasil 9", None), (second, "Gardasil 9", None)]
    items = evaluate(person(dt.date(2013, 6, 1), vaccinations=given), TODAY)
    [dose2] = [i for i in of(items, "hpv_11_14") if i.dose == 2]
    assert dose2.due_from == next_from


# -- abbreviations in words ----------------------------------------------------------------------

GLOSSES = {  # an abbreviation → a word that must be in the same text, per language
    "en": {"Hexavalent": "diphtheria", "Tdap-IPV": "pertussis", "Td-IPV": "tetanus",
           "PCV20": "conjugate vaccine against 20", "HPV-HR": "high-risk",
           "amenorrhoea": "last period"},
    "fr": {"hexavalent": "diphtérie", "dTcaPolio": "coqueluche", "DTCaPolio": "coqueluche",
           "dTPolio": "tétanos", "VPC20": "vaccin conjugué contre 20",
           "HPV-HR": "haut risque", "aménorrhée": "dernières règles"},
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_abbreviations_a_parent_meets_are_explained(lang: str) -> None:
    """hexavalent, dTcaPolio, VPC20, HPV-HR, semaines d'aménorrhée… each with its words."""
    i18n.setup(lang)
    try:
        seen = set()
        for rule in default_rules().all():
            for text in (rule.label, rule.who, rule.schedule, rule.condition):
                shown = text.get() if text else ""
                for abbreviation, gloss in GLOSSES[lang].items():
                    if re.search(re.escape(abbreviation), shown, re.I):
                        seen.add(abbreviation)
                        assert gloss.lower() in shown.lower(), (rule.id, shown)
        assert seen == set(GLOSSES[lang])
    finally:
        i18n.setup("en")


@pytest.mark.parametrize(("born", "menc", "today", "expected"), [
    pytest.param(dt.date(2024, 7, 1), ["2024-12-02"], dt.date(2025, 3, 1),
                 [(1, "done"), (2, "coming")],
                 id="MenC at 5 months in 2024: the 12-month dose with ACWY"),
    pytest.param(dt.date(2023, 12, 1), ["2024-05-02", "2024-12-02"], dt.date(2025, 3, 1),
                 [(1, "overdue")], id="MenC complete in 2024, 15 months: one ACWY dose"),
    pytest.param(dt.date(2025, 1, 10), [], dt.date(2025, 3, 1),
                 [(1, "coming"), (2, "coming")], id="born in 2025: ACWY at 6 and 12 months"),
])
def test_what_applied_before_menacwy_counts_in_the_transition(
        born: dt.date, menc: list[str], today: dt.date,
        expected: list[tuple[int, str]]) -> None:
    """Infants who had a MenC dose before 1 January 2025 get the next one with ACWY."""
    facts = person(born, vaccinations=[(day, "Neisvac", None) for day in menc])
    items = of(plan(facts, today), "infant_menacwy")
    assert [(i.dose, i.status) for i in items] == expected
