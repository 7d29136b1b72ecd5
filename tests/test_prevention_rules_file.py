"""The shipped prevention rules against the shipped reference data: every row of
`fr_prevention_rules_2025.csv` has its rule in `prevention_rules.json` (same id, domain, sex,
starting age, sources and verification status), every source is documented, and the vaccine
table can satisfy every rule. DESIGN.md: "the project ships its own copy of the data it uses,
with the sources, and tests its rules against them"."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

import pytest

from msante.agenda.rules import DATA, Span, default_rules, default_vaccines
from msante.profile.sections import SCREENINGS

CSV_FILE = DATA / "fr_prevention_rules_2025.csv"
SOURCES_FILE = DATA / "PREVENTION_SOURCES.md"
RULES_JSON = DATA / "prevention_rules.json"


def _rows() -> list[dict[str, str]]:
    with open(CSV_FILE, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


ROWS = _rows()


def _json_rule(rule_id: str) -> dict[str, Any]:
    data = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    return next(r for r in data["rules"] if r["id"] == rule_id)


def test_the_reference_csv_is_shipped_whole() -> None:
    """The copy in the package is the reference the rules were built from: its 29 rules plus
    the four the review found missing (infant MenC before ACWY, rotavirus, the infant RSV
    antibody, influenza in pregnancy), the columns of the shared data plus when each rule came
    into force and ended."""
    assert len(ROWS) == 33
    assert list(ROWS[0]) == ["id", "domain", "target_sex", "age_min_years", "age_max_years",
                             "item", "schedule_or_interval", "conditions_notes", "status",
                             "sources", "in_force_from", "in_force_until"]


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_each_rule_keeps_its_row_s_dates_in_force(row: dict[str, str]) -> None:
    """The dates a rule came into force and ended are the row's (part 1: infant MenB
    2022-04-25, MenACWY 2025-01-01 replacing MenC, rotavirus 2022-06-23, nirsevimab
    2023-09-15)."""
    rule = default_rules().get(row["id"])
    assert rule is not None
    start, end = rule.in_force
    assert (start.isoformat() if start else "") == row["in_force_from"]
    assert (end.isoformat() if end else "") == row["in_force_until"]


def test_every_csv_row_has_a_rule_and_no_rule_is_invented() -> None:
    """A rule dropped, renamed or added without its reference row is caught here."""
    assert {r["id"] for r in ROWS} == {r.id for r in default_rules().rules}


@pytest.mark.parametrize("row", ROWS, ids=[r["id"] for r in ROWS])
def test_each_rule_keeps_its_row_s_facts(row: dict[str, str]) -> None:
    """Same domain, target sex, sources (in order) and verification status as the CSV row;
    the rule starts at the row's minimum age (in whole years) when the row gives one."""
    rule = default_rules().get(row["id"])
    assert rule is not None
    assert rule.domain == row["domain"]
    assert rule.sex == row["target_sex"]
    assert list(rule.sources) == row["sources"].split(";")
    assert rule.status == row["status"]
    start = rule.start_age()
    if row["age_min_years"] and start is not None:
        assert _years(start) == int(row["age_min_years"])


def _years(span: Span) -> int:
    return span.years + span.months // 12


@pytest.mark.parametrize("row", [r for r in ROWS if r["domain"] == "screening"],
                         ids=lambda r: r["id"])
def test_screening_age_ranges_match_the_rows(row: dict[str, str]) -> None:
    """Screening ages are inclusive in the CSV (50–74): the rule ends at the next birthday."""
    rule = default_rules().get(row["id"])
    assert rule is not None and rule.age_from and rule.age_until
    assert _years(rule.age_from) == int(row["age_min_years"])
    assert _years(rule.age_until) == int(row["age_max_years"]) + 1
    assert {kind for kind, _spans in rule.tests} <= set(SCREENINGS)


def test_rows_that_need_a_fact_msante_lacks_are_questions_for_the_doctor() -> None:
    """Pregnancy, chronic disease and 'may be offered' rows are never applied silently (rows
    whose note says the condition is 'not modelled' keep their main rule)."""
    needs_fact = {r["id"] for r in ROWS if re.search(
        r"pregnan|only with|may be offered", r["conditions_notes"] + r["schedule_or_interval"]
        + r["item"]) and "not modelled" not in r["conditions_notes"]
        and "not needed when" not in r["conditions_notes"]}  # the default is to give it
    assert needs_fact == {"rsv_65_risk", "menb_15_24", "pertussis_pregnancy", "rsv_pregnancy",
                          "flu_pregnancy"}
    for rule_id in needs_fact:
        rule = default_rules().get(rule_id)
        assert rule is not None and rule.kind == "ask-doctor" and rule.condition is not None


def test_the_csv_notes_are_kept_with_the_rules() -> None:
    """Each row's conditions and notes travel with its rule (the `note` field), so a
    reviewer re-checking a rule sees what the reference said."""
    for row in ROWS:
        assert _json_rule(row["id"]).get("note", "") == row["conditions_notes"], row["id"]


def test_every_cited_source_is_documented_with_its_address() -> None:
    """Each source a rule cites is in the JSON (title, addresses) and in
    PREVENTION_SOURCES.md under the same id with the same addresses."""
    text = SOURCES_FILE.read_text(encoding="utf-8")
    lines = {m[1]: m[2] for m in re.finditer(r"^- ([A-Z][A-Z0-9]+) +(.+)$", text, re.M)}
    cited = {s for rule in default_rules().rules for s in rule.sources + rule.shown}
    assert cited == set(lines) == set(default_rules().sources)
    for sid in cited:
        source = default_rules().sources[sid]
        assert source.title and source.urls
        for url in source.urls:
            assert url.split("://", 1)[1] in lines[sid], (sid, url)
    for status in ("official-page-verified", "regional-official-verified",
                   "secondary-verified", "secondary-only"):
        assert f"`{status}`" in text


def test_every_rule_can_be_satisfied_by_some_vaccine_name() -> None:
    """An antigen group no name in the vaccine table covers would leave a rule due forever."""
    table = default_vaccines()
    covered = set(table.names.values())
    for rule in default_rules().all():
        for group in rule.antigens:
            assert any(group <= antigens for antigens in covered), (rule.id, group)


@pytest.mark.parametrize("row", [r for r in ROWS if re.search(
    r"(\d+) months? apart", r["schedule_or_interval"])], ids=lambda r: r["id"])
def test_the_minimum_gap_a_row_states_is_the_rule_s(row: dict[str, str]) -> None:
    """'2 doses >=5 months apart', '2 months apart', '>=1 month apart': a later dose counts
    only from that gap after the previous one, so each later dose's `after` is that gap."""
    rule = default_rules().get(row["id"])
    match = re.search(r"(\d+) months? apart", row["schedule_or_interval"])
    assert rule is not None and match and len(rule.doses) >= 2
    assert {d.after for d in rule.doses[1:]} == {Span(months=int(match[1]))}


def test_the_infant_row_s_two_vaccines_are_two_tracks() -> None:
    """The infant_hexa row names the hexavalent '+ pneumocoque conjugué': both are followed,
    apart, on the row's schedule (2, 4, 11 months), each with its own label."""
    row = next(r for r in ROWS if r["id"] == "infant_hexa")
    assert "hexavalent" in row["item"] and "pneumocoque conjugué" in row["item"]
    rule = default_rules().get("infant_hexa")
    assert rule is not None and [t.id for t in rule.tracks] == ["infant_hexa.pcv"]
    track = rule.tracks[0]
    assert default_rules().get("infant_hexa.pcv") == track
    assert track.antigens == (frozenset({"pneumococcus-conjugate"}),)
    assert "pneumococcus-conjugate" not in rule.antigens[0]
    for one in (rule, track):
        assert [d.age for d in one.doses] == [Span(months=m) for m in (2, 4, 11)]
    assert rule.missed_ask_until == Span(years=18)
    assert track.missed_ask_until == Span(years=2)  # not given to a healthy child from 2
    assert track.late is not None and len(track.late.doses) == 2  # 2 doses from 12 months
    assert track.label.fr.startswith("Pneumocoque, vaccin conjugué")


def test_only_conjugate_pneumococcal_vaccines_count_for_pcv_rules() -> None:
    """The pneumo_65 row says VPC20 / Prevenar 20: the polysaccharide vaccine (Pneumovax 23)
    has its own antigen, required by no rule."""
    table = default_vaccines()
    assert table.antigens_of("Pneumovax 23") == {"pneumococcus-polysaccharide"}
    assert table.antigens_of("Prevenar 20") == {"pneumococcus-conjugate"}
    needed = {a for rule in default_rules().all() for g in rule.antigens for a in g}
    assert "pneumococcus-polysaccharide" not in needed
    rule = default_rules().get("pneumo_65")
    assert rule is not None and rule.antigens == (frozenset({"pneumococcus-conjugate"}),)


def test_pregnancy_questions_start_at_18_and_pause_after_done() -> None:
    """The rows give no age: msante asks women from 18 to 49 and, once marked done, not again
    for 9 months (each pregnancy); both choices are written in the rule."""
    for rule_id in ("pertussis_pregnancy", "rsv_pregnancy"):
        rule = default_rules().get(rule_id)
        assert rule is not None and rule.age_from == Span(years=18)
        assert rule.repeat and rule.pause == Span(months=9)
        assert "18–49" in _json_rule(rule_id)["choices"]


def test_the_data_files_are_package_data() -> None:
    """pyproject ships msante/data/* — the rules, the brand table, the CSV and its sources."""
    pyproject = (Path(__file__).resolve().parent.parent / "pyproject.toml").read_text()
    assert '"data/*"' in pyproject
    for name in ("prevention_rules.json", "vaccine_brands.json", "fr_prevention_rules_2025.csv",
                 "PREVENTION_SOURCES.md"):
        assert (DATA / name).is_file()


def test_french_texts_follow_the_catalog_s_typography() -> None:
    """The rules' French texts bypass the catalog, so its rule is checked here: a space
    before « : ; ? ! »."""
    data = json.loads(RULES_JSON.read_text(encoding="utf-8"))
    texts = [v["fr"] for rule in data["rules"] for v in rule.values()
             if isinstance(v, dict) and "fr" in v]
    assert len(texts) > 100
    assert [t for t in texts if re.search(r"[^\s][:;?!](?=\s|$)", t)] == []


@pytest.mark.parametrize("rule", list(default_rules().all()), ids=lambda r: r.id)
def test_a_person_is_shown_official_sources_only_with_publisher_title_and_year(rule) -> None:
    """Part 1: the HAS recommendations and the Ministry's calendar (INCa and ameli for
    screening), never a secondary page; each vaccination rule cites the Ministry's calendar
    of its year; the secondary sources stay in `sources` for the team."""
    sources = default_rules().sources
    shown = [sources[s] for s in rule.shown]
    assert shown and all(s.official and s.publisher and s.title for s in shown)
    if rule.domain == "vaccination":
        assert "MS2025" in rule.shown and sources["MS2025"].year == 2025
    assert all(s.year for s in shown if s.publisher.startswith(("Haute", "Ministère")))


def test_official_sources_carry_their_year_unless_documented_as_undated() -> None:
    """Issue 11 part 1: sources are shown with their year. Where the reference data gives none
    (the ameli.fr, INCa and vaccination-info-service pages), none is invented: those are listed
    in PREVENTION_SOURCES.md, and no other official source may lack one."""
    sources = json.loads(RULES_JSON.read_text(encoding="utf-8"))["sources"]
    undated = {key for key, s in sources.items() if s.get("official") and not s.get("year")}
    doc = (DATA / "PREVENTION_SOURCES.md").read_text(encoding="utf-8")
    listed = re.search(r"Without a year: (.*?) are web pages", doc)
    assert listed is not None
    assert undated == set(re.findall(r"[A-Z0-9]+", listed[1])), undated
