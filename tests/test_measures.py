"""Measurements: kinds and units as data, plausibility, French input, BMI, lists and streaming,
charts, CSV import, removal — each write audited, a grown-up child's profile read-only."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from msante.errors import ExitCode, NotFoundError, ReadOnlyError, UsageError
from msante.measures import kinds
from msante.measures.service import Duplicate, Measurement, measured_at, since_utc

JSON_KEYS = ["id", "kind", "kind_label", "value", "value2", "unit", "display", "at", "person",
             "person_id", "note", "provenance", "entered", "bmi"]


def local(*args: int) -> str:
    """A local wall-clock time as the stored ISO UTC text."""
    return dt.datetime(*args).astimezone(dt.UTC).isoformat(timespec="microseconds")


def actions(vault: Any) -> list[str]:
    return [e.action for e in vault.audit.entries()]


# -- kinds and values ------------------------------------------------------------------------

GOOD_AND_BAD = [
    # kind, good input, canonical value(s), bad input, words of the refusal
    ("weight", "72,5", (72.5, None), "500", "not plausible"),
    ("height", "168", (168.0, None), "1200", "not plausible"),
    ("bp", "120/80", (120.0, 80.0), "80/120", "higher than the diastolic"),
    ("heart-rate", "64", (64.0, None), "400", "not plausible"),
    ("glucose", "0,95", (0.95, None), "12", "not plausible"),
    ("temperature", "37,2", (37.2, None), "50", "not plausible"),
    ("spo2", "97", (97.0, None), "101", "not plausible"),
    ("waist", "82", (82.0, None), "-82", "cannot be negative"),
    ("respiratory-rate", "16", (16.0, None), "16 kg", "not a unit"),
    ("hba1c", "6,1", (6.1, None), "six", "not a number"),
    ("steps", "8042", (8042.0, None), "1000000", "not plausible"),
]


@pytest.mark.parametrize("kind, good, stored, bad, reason", GOOD_AND_BAD)
def test_every_kind_stores_a_good_value_and_refuses_a_bad_one(measures, owner, vault, kind,
                                                             good, stored, bad, reason):
    """Each kind of the table is usable end to end, and its bounds and units are enforced."""
    made = measures.add(owner, kind, good)
    assert (made.value, made.value2) == stored and made.kind == kinds.get(kind).name
    assert made.unit == kinds.get(kind).unit and made.provenance == "typed"
    with pytest.raises(UsageError, match=reason):
        measures.add(owner, kind, bad)
    assert len(measures.list(owner)) == 1 and actions(vault)[0] == "measure.add"


def test_the_kinds_table_is_consistent():
    """Aliases never collide, the canonical unit comes first, and FHIR has codes for each."""
    names = [k.name for k in kinds.all_kinds()]
    aliases = [a for k in kinds.all_kinds() for a in k.aliases]
    assert len(set(names + aliases)) == len(names) + len(aliases)
    for kind in kinds.all_kinds():
        assert kind.units[0].name == kind.unit and kind.units[0].factor == 1
        assert kind.low < kind.high and kind.loinc and kind.ucum
        assert kinds.get(kind.name.upper()) is kind
        assert kinds.find_unit(kind, kind.ucum) == kind.units[0]  # FHIR gives UCUM codes
        if kind.guess:  # a bare value refused as "probably another unit" is otherwise valid
            assert kind.low <= kind.guess.low < kind.guess.high <= kind.high
            unit = kinds.find_unit(kind, kind.guess.unit)
            assert kind.low <= kind.guess.high * unit.factor + unit.offset <= kind.high
    bp = kinds.get("bp")
    assert (bp.loinc, bp.parts, bp.ucum) == ("85354-9", ("8480-6", "8462-4"), "mm[Hg]")
    assert kinds.get("Glycémie").loinc == "2339-0" and kinds.get("temperature").ucum == "Cel"
    assert kinds.BMI_LOINC == "39156-5"


@pytest.mark.parametrize("kind, text, unit, canonical", [
    ("glucose", "5,5 mmol/L", None, 0.991),
    ("glucose", "1", "mmol/l", 0.18),
    ("glucose", "99", "mg/dL", 0.99),
    ("temperature", "98.6", "°F", 37.0),
    ("temperature", "100,4 F", None, 38.0),
    ("temperature", "37.5", "C", 37.5),
    ("weight", "160", "lb", 72.575),
    ("weight", "3450", "g", 3.45),
    ("height", "1,68", "m", 168.0),
    ("height", "70", "in", 177.8),
    ("bp", "12/8", "cmHg", 120.0),
    ("hba1c", "48", "mmol/mol", 6.54),
])
def test_units_convert_to_the_canonical_one(kind, text, unit, canonical):
    """Other units are converted (glucose 1 g/L = 5.551 mmol/L; °F affine); what was typed is
    kept as entered."""
    reading = kinds.read(kinds.get(kind), text, unit)
    assert reading.value == pytest.approx(canonical, abs=0.01)
    assert reading.entered.startswith(text)


def test_glucose_displays_in_g_per_litre_both_ways():
    """mmol/L in, g/L out (as in France); and g/L back to mmol/L gives what was typed."""
    glucose = kinds.get("glucose")
    reading = kinds.read(glucose, "5,5", "mmol/L")
    assert kinds.display(glucose, reading.value, None) == "0.99 g/L"
    assert reading.value * 5.551 == pytest.approx(5.5, abs=0.001)
    assert kinds.display(glucose, reading.value, None, "fr") == "0,99 g/L"


@pytest.mark.parametrize("kind, text, unit, reason", [
    ("weight", "500", None, "500 kg is not plausible"),
    ("temperature", "50", None, "50 °C is not plausible"),
    ("weight", "-3", None, "cannot be negative"),
    ("weight", "70", "mmol/L", "not a unit for this measurement; use kg, g, lb"),
    ("weight", "70 kg", "lb", "Two different units"),
    ("bp", "120/120", None, "higher than the diastolic"),
    ("bp", "120", None, "systolic/diastolic"),
    ("bp", "12/8", None, "cmHg"),
    ("bp", "250/210", None, "Diastolic pressure"),
    ("spo2", "", None, "not a number"),
])
def test_implausible_values_are_refused_with_a_reason(kind, text, unit, reason):
    """A typo must not enter the record: each refusal says why."""
    with pytest.raises(UsageError, match=reason):
        kinds.read(kinds.get(kind), text, unit)


@pytest.mark.parametrize("text", ["5.5", "5,5", "2", "10", "7.2"])
def test_glucose_without_a_unit_in_the_mmol_range_is_refused_with_a_hint(text):
    """"glucose 5.5" meant mmol/L but was stored as 5.5 g/L (a dangerous reading): a bare value
    from 2 to 10 is refused and the message says how to write either unit."""
    glucose = kinds.get("glucose")
    with pytest.raises(UsageError, match=f"write '{text} mmol/L' .*or '{text} g/L'"):
        kinds.read(glucose, text)
    assert kinds.read(glucose, text, "g/L").value == kinds.number(text)
    assert kinds.read(glucose, f"{text} mmol/L").value < 2


def test_glucose_without_a_unit_below_the_guess_is_g_per_litre():
    """Ordinary g/L readings are still typed bare; the hint shows the converted value."""
    glucose = kinds.get("glucose")
    assert kinds.read(glucose, "0,95").value == 0.95 and kinds.read(glucose, "1.99").value == 1.99
    with pytest.raises(UsageError, match=r"\(= 0\.99 g/L\)"):
        kinds.read(glucose, "5.5")
    with pytest.raises(UsageError, match="not plausible"):
        kinds.read(glucose, "12")


def test_unknown_kind_names_the_kinds():
    """An unknown kind lists the ones that exist."""
    with pytest.raises(UsageError, match="weight, height, blood-pressure"):
        kinds.get("cholesterol")


# -- times -----------------------------------------------------------------------------------

def test_times_local_french_iso_and_not_in_the_future():
    """--at is local time (ISO or French), stored UTC; the future and before 1900 are refused."""
    assert measured_at("12/03/2025 08:30") == local(2025, 3, 12, 8, 30)
    assert measured_at("12/03/2025 8h30") == local(2025, 3, 12, 8, 30)
    assert measured_at("2025-03-12T08:30") == local(2025, 3, 12, 8, 30)
    assert measured_at("2025-03-12") == local(2025, 3, 12)
    assert measured_at("2025-03-12T08:30:00+01:00") == "2025-03-12T07:30:00.000000+00:00"
    now = dt.datetime.now(dt.UTC)
    assert measured_at(now + dt.timedelta(minutes=2), now=now)  # a clock a little ahead
    for bad, reason in [(now + dt.timedelta(hours=1), "future"), ("1850-01-01", "too long"),
                        ("31/02/2025", "Invalid date"), ("yesterday", "Invalid date")]:
        with pytest.raises(UsageError, match=reason):
            measured_at(bad, now=now)


def test_since_accepts_dates_and_periods_back():
    """--since is a date or 30d, 2w, 6m, 1y (French j, s, a) back to the start of a local day."""
    today = dt.date(2025, 3, 31)
    assert since_utc("30d", today) == local(2025, 3, 1)
    assert since_utc("2w", today) == since_utc("2s", today) == local(2025, 3, 17)
    assert since_utc("1m", today) == local(2025, 2, 28)
    assert since_utc("1y", today) == since_utc("1a", today) == local(2024, 3, 31)
    assert since_utc("2025-01-05") == since_utc(dt.date(2025, 1, 5)) == local(2025, 1, 5)
    assert since_utc(None) is None
    with pytest.raises(UsageError):
        since_utc("a while")


@pytest.mark.parametrize("text", ["0001-01-01T00:00+01:00", "9999-12-31T23:00-05:00"])
def test_dates_at_the_ends_of_the_calendar_are_usage_errors(text):
    """Converting these to UTC leaves Python's years 1–9999 (OverflowError): a usage error."""
    with pytest.raises(UsageError, match="out of the range"):
        measured_at(text)
    with pytest.raises(UsageError, match="out of the range"):
        since_utc(text)


@pytest.mark.parametrize("period", ["9999y", "9999a", "2026y"])
def test_a_period_back_before_year_1_is_a_usage_error(period):
    """--since 9999y went before year 1 (ValueError): a usage error naming the period."""
    with pytest.raises(UsageError, match=period):
        since_utc(period, dt.date(2025, 3, 31))
    assert since_utc("2000y", dt.date(2025, 3, 31)) == local(25, 3, 31)


# -- the service -----------------------------------------------------------------------------

def test_bmi_uses_the_latest_height_at_or_before_each_weight(measures, owner):
    """BMI is derived, not stored: each weight takes the latest height at or before it; a
    weight from before any height takes the earliest one (an adult's height barely moves)."""
    measures.add(owner, "weight", "70", at="2024-01-01")
    measures.add(owner, "height", "170", at="2024-02-01")
    measures.add(owner, "weight", "72,25", at="2024-03-01")
    measures.add(owner, "height", "1,80 m", at="2024-04-01")
    last = measures.add(owner, "weight", "81", at="2024-05-01")
    assert last.bmi == 25.0
    bmis = [m.bmi for m in measures.list(owner, "weight")]
    assert bmis == [25.0, 25.0, 24.2]
    assert [m.bmi for m in measures.list(owner, "height")] == [None, None]


def test_weights_recorded_before_a_height_typed_today_get_a_bmi(measures, owner, vault):
    """A scale's history imported, then the height typed once: every adult weight has a BMI
    (from the earliest later height). A child's weight never takes a later height: children
    grow, so the BMI would be wrong."""
    measures.add(owner, "weight", "72", at="2020-01-01")
    measures.add(owner, "weight", "70", at="2022-01-01")
    measures.add(owner, "height", "170")
    measures.add(owner, "height", "160")
    assert [m.bmi for m in measures.list(owner, "weight")] == [24.2, 24.9]
    leo = vault.people.add("Léo", "2019-04-27", "male")
    measures.add(leo, "weight", "15", at="2022-05-01")
    measures.add(leo, "height", "112")
    assert [m.bmi for m in measures.list(leo, "weight")] == [None]
    assert measures.latest(leo)["weight"].bmi is None


def test_latest_is_one_per_kind_in_table_order(measures, owner):
    """latest() gives each kind's newest value (weight with its BMI), kinds in table order."""
    measures.add(owner, "bp", "130/85", at="2024-01-01")
    measures.add(owner, "bp", "118/76", at="2024-06-01")
    measures.add(owner, "weight", "64", at="2024-03-01")
    measures.add(owner, "height", "160", at="2024-01-01")
    latest = measures.latest(owner)
    assert list(latest) == ["weight", "height", "blood-pressure"]
    assert latest["blood-pressure"].display() == "118/76 mmHg"
    assert latest["weight"].bmi == 25.0
    assert measures.latest(measures.people.add("Léo", "2019-04-27", "male")) == {}


def test_list_is_newest_first_with_limit_since_and_kind(measures, owner):
    """Order is by measurement time, not by entry; --limit, --since and aliases filter."""
    for at, value in [("2024-03-01", "61"), ("2023-01-01", "60"), ("2024-06-01", "62")]:
        measures.add(owner, "weight", value, at=at)
    measures.add(owner, "pulse", "70", at="2024-05-01")
    assert [m.value for m in measures.list(owner, "poids")] == [62, 61, 60]
    assert [m.kind for m in measures.list(owner, limit=2)] == ["weight", "heart-rate"]
    assert len(measures.list(owner, since="2024-01-01")) == 3
    assert len(measures.list(owner, limit=None)) == 4
    assert len(measures.list(owner, limit=0)) == 4
    with pytest.raises(UsageError, match="negative"):  # SQL LIMIT -1 would mean everything
        measures.list(owner, limit=-1)
    assert [m.value for m in measures.stream(owner, "weight", since="2024-04-01")] == [62]


def test_stream_reads_in_batches_not_all_at_once(measures, owner, monkeypatch):
    """--all --json must stay flat in memory: rows come through fetchmany, never fetchall."""
    from msante.measures import service

    for day in range(1, 6):
        measures.add(owner, "steps", str(1000 * day), at=f"2024-01-0{day}")
    calls: list[str] = []
    real = measures.store.conn

    class Spy:
        def __init__(self, cursor: Any) -> None:
            self.cursor = cursor

        def fetchmany(self, n: int) -> Any:
            calls.append(f"fetchmany({n})")
            return self.cursor.fetchmany(n)

        def fetchall(self) -> Any:
            raise AssertionError("fetchall while streaming")

    class Conn:
        def execute(self, *args: Any) -> Spy:
            return Spy(real.execute(*args))

        def __getattr__(self, name: str) -> Any:
            return getattr(real, name)

    monkeypatch.setattr(service, "BATCH", 2)
    monkeypatch.setattr(measures.store, "conn", Conn())
    values = [m.value for m in measures.stream(owner)]
    assert values == [5000, 4000, 3000, 2000, 1000]
    assert calls == ["fetchmany(2)"] * 4


def test_get_by_prefix_and_remove_leaves_an_audited_tombstone(measures, owner, vault):
    """Removing keeps the id and revision but no content, is audited, and hides the value."""
    made = measures.add(owner, "glucose", "1,02", note="à jeun")
    assert measures.get(made.id[:6]) == made
    measures.remove(made.id[:8])
    row = vault.store.conn.execute(
        "SELECT deleted, revision, kind, value, note, entered FROM measurements WHERE id = ?",
        (made.id,)).fetchone()
    assert tuple(row) == (1, 2, "", 0.0, None, None)
    entry = next(vault.audit.entries(action="measure.remove"))
    assert entry.record == made.id and entry.person == owner.id
    assert measures.list(owner) == []
    with pytest.raises(NotFoundError):
        measures.get(made.id)
    with pytest.raises(NotFoundError):
        measures.get("abc")  # too short to be a prefix


def test_each_add_is_audited_and_add_in_joins_the_callers_transaction(measures, owner, vault):
    """add() writes its own entry; add_in() leaves the audit to the caller (one per import)."""
    made = measures.add(owner, "temperature", "38,2", note="  fièvre  ")
    entry = next(vault.audit.entries())
    assert (entry.action, entry.record, entry.detail) == \
        ("measure.add", made.id, {"kind": "temperature", "provenance": "typed"})
    assert made.note == "fièvre"
    before = len(actions(vault))
    with vault.store.write() as tx:
        measures.add_in(tx, owner, "weight", "70", provenance="fhir", external_id="obs-1")
        measures.add_in(tx, owner, "height", "170", provenance="fhir", external_id="obs-2")
        vault.store.log(tx, "fhir.import", person=owner.id)
    assert actions(vault)[0] == "fhir.import" and len(actions(vault)) == before + 1
    with vault.store.write() as tx:
        with pytest.raises(Duplicate) as dup:
            measures.add_in(tx, owner, "weight", "70", provenance="fhir", external_id="obs-1")
        vault.store.log(tx, "fhir.import", person=owner.id)
    assert dup.value.existing == measures.list(owner, "weight")[0].id
    with pytest.raises(UsageError, match="provenance"):
        measures.add(owner, "weight", "70", provenance="guess")


def test_a_removed_outside_measurement_stays_removed(measures, owner, vault):
    """Its tombstone keeps a hash of the outside id, never the id itself nor any value, and
    adding the same outside id again is a Duplicate saying it was removed."""
    with vault.store.write() as tx:
        made = measures.add_in(tx, owner, "weight", "70", provenance="fhir",
                               external_id="urn:lab|obs-1")
        vault.store.log(tx, "fhir.import", person=owner.id)
    measures.remove(made.id)
    (kept,) = vault.store.conn.execute(
        "SELECT external_id FROM measurements WHERE id = ?", (made.id,)).fetchone()
    assert kept.startswith("removed:") and "obs-1" not in kept and len(kept) == 8 + 32
    with vault.store.write() as tx:
        for removed in (None, measures.removed_ids(tx, owner)):
            with pytest.raises(Duplicate, match="Removed earlier") as dup:
                measures.add_in(tx, owner, "weight", "70", provenance="fhir",
                                external_id="urn:lab|obs-1", removed=removed)
            assert dup.value.removed and dup.value.existing == made.id
        vault.store.log(tx, "fhir.import", person=owner.id)
    assert measures.list(owner) == []


def test_a_grown_up_childs_measurements_are_read_only(measures, vault):
    """After majority the caregiver may read but not add or remove measurements."""
    jeanne = vault.people.add("Jeanne", "2004-02-29", "female")
    with pytest.raises(ReadOnlyError, match="read-only"):
        measures.add(jeanne, "weight", "55")
    assert measures.list(jeanne) == []


def test_chart_series_is_oldest_first_with_two_lines_for_blood_pressure(measures, owner):
    """The chart gets times and values in order; blood pressure carries its diastolic."""
    measures.add(owner, "bp", "130/85", at="2024-06-01")
    measures.add(owner, "bp", "120/80", at="2024-01-01")
    series = measures.chart_series(owner, "tension")
    assert series.values == [120, 130] and series.values2 == [80, 85]
    assert series.times[0] < series.times[1] and series.kind.name == "blood-pressure"
    assert measures.chart_series(owner, "weight").values2 is None


def test_json_form_is_stable():
    """The documented keys, in order; display is language-neutral for scripts."""
    m = Measurement("id-1", "p-1", "blood-pressure", 120.0, 80.0, "mmHg",
                    "2025-03-12T07:30:00.000000+00:00", None, "12/8 cmHg", "typed")
    data = m.to_json("Camille Martin")
    assert list(data) == JSON_KEYS
    assert data["display"] == "120/80 mmHg" and data["bmi"] is None and data["value2"] == 80


def test_the_core_does_not_load_plotext_or_the_ui():
    """Charts are drawn by the CLI: the measures core stays light (STYLE.md, convention 1)."""
    code = ("import sys, msante.measures.service, msante.measures.csv_import; "
            "print([m for m in ('plotext', 'typer', 'rich') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# -- the command line ------------------------------------------------------------------------

def add(cli, made, *args: str) -> Any:
    return cli("measure", "add", *args, pfile=made)


def listed(cli, made, *args: str) -> list[dict[str, Any]]:
    r = cli("measure", "list", *args, "--json", pfile=made)
    assert r.code == 0, r.err
    return r.json()


def cli_actions(cli, made) -> list[str]:
    return [e["action"] for e in cli("audit", "list", "--limit", "0", "--json", pfile=made).json()]


def test_cli_add_list_json_keys_and_bmi(cli, made):
    """add and list speak the documented JSON; a weight after a height shows its BMI."""
    r = add(cli, made, "height", "1,68", "m", "--at", "2024-01-01", "--json")
    assert r.code == 0, r.err
    assert r.json()["value"] == 168 and r.json()["entered"] == "1,68 m"
    r = add(cli, made, "weight", "72,5", "--at", "12/03/2025 08:30", "--note", "matin")
    assert r.code == 0 and "BMI 25.7" in r.err
    items = listed(cli, made)
    assert list(items[0]) == JSON_KEYS
    assert [i["kind"] for i in items] == ["weight", "height"]
    assert items[0]["display"] == "72.5 kg" and items[0]["bmi"] == 25.7
    assert items[0]["person"] == "Camille Martin" and items[0]["note"] == "matin"
    assert cli_actions(cli, made)[:2] == ["measure.add", "measure.add"]


def test_cli_bad_values_exit_2_with_one_clear_line(cli, made):
    """Implausible values and dates are usage errors (exit 2), never a traceback."""
    for args, needle in [(["weight", "500"], "not plausible"),
                         (["bp", "80/120"], "higher than the diastolic"),
                         (["temperature", "50"], "not plausible"),
                         (["weight", "--", "-3"], "negative"),
                         (["weight", "70", "--unit", "°C"], "not a unit"),
                         (["weight", "70", "--at", "2999-01-01"], "future"),
                         (["weight", "70", "--at", "0001-01-01T00:00+01:00"], "range"),
                         (["weight", "70", "--at", "9999-12-31T23:00-05:00"], "range"),
                         (["glucose", "5.5"], "5.5 mmol/L"),
                         (["cholesterol", "2"], "Unknown measurement")]:
        r = add(cli, made, *args)
        assert r.code == ExitCode.USAGE, args
        assert needle in r.err and "Traceback" not in r.err and len(r.err.splitlines()) == 1
    assert listed(cli, made) == []


def test_cli_human_list_uses_the_languages_decimal_mark(cli, made):
    """French output writes 72,5 kg; English 72.5 kg; JSON stays language-neutral."""
    add(cli, made, "weight", "72.5")
    assert "72.5 kg" in cli("measure", "list", pfile=made).out
    assert "72,5 kg" in cli("--lang", "fr", "measure", "list", pfile=made).out
    r = cli("--lang", "fr", "measure", "list", "--json", pfile=made)
    assert r.json()[0]["display"] == "72.5 kg"


def test_cli_list_limit_and_all_streams_json_lines(cli, made):
    """--limit caps the array; --json-lines prints one object per line, newest first."""
    for day in (1, 2, 3):
        add(cli, made, "pulse", str(60 + day), "--at", f"2024-01-0{day}")
    assert [i["value"] for i in listed(cli, made, "--limit", "2")] == [63, 62]
    r = cli("measure", "list", "hr", "--json-lines", pfile=made)
    assert r.code == 0
    assert [line["value"] for line in r.lines()] == [63, 62, 61]
    assert all(line.startswith("{") for line in r.out.splitlines())
    assert len(listed(cli, made, "--since", "2024-01-02")) == 2
    assert cli("measure", "list", "--limit", "0", pfile=made).code == 0


@pytest.mark.parametrize("args", [["--limit", "-1"], ["--since", "9999y"],
                                  ["--since", "0001-01-01T00:00+01:00"]])
def test_cli_list_refuses_bad_limits_and_periods(cli, made, args):
    """A negative limit (SQL LIMIT -1: everything) and a period before year 1 are exit 2."""
    add(cli, made, "pulse", "61")
    r = cli("measure", "list", *args, pfile=made)
    assert r.code == ExitCode.USAGE and "Traceback" not in r.err, r.err


def test_cli_latest_and_kinds(cli, made):
    """latest shows one line per kind; kinds lists every kind with its codes."""
    add(cli, made, "weight", "70", "--at", "2024-01-01")
    add(cli, made, "weight", "71", "--at", "2024-02-01")
    r = cli("measure", "latest", "--json", pfile=made)
    assert [(i["kind"], i["value"]) for i in r.json()] == [("weight", 71)]
    table = cli("measure", "kinds", "--json", pfile=made).json()
    assert {k["name"]: k["loinc"] for k in table}["heart-rate"] == "8867-4"
    assert len(table) == len(kinds.all_kinds())


def test_cli_chart_draws_with_plotext(cli, made):
    """The chart has the title, both blood-pressure lines and dates; no data is not an error."""
    add(cli, made, "bp", "120/80", "--at", "2024-01-01")
    add(cli, made, "bp", "135/88", "--at", "2024-03-01")
    r = cli("measure", "chart", "bp", "--since", "5y", pfile=made)
    assert r.code == 0, r.err
    assert "Blood pressure (mmHg) — Camille Martin" in r.out
    assert "Systolic" in r.out and "Diastolic" in r.out and "2024-0" in r.out
    assert "\x1b[" not in r.out  # no colour codes in a pipe
    r = cli("measure", "chart", "glucose", pfile=made)
    assert r.code == 0 and r.out == "" and "No blood glucose measurement" in r.err


def test_cli_remove_is_audited(cli, made):
    """remove takes an id prefix, is recorded, and the value is gone from lists."""
    made_id = add(cli, made, "spo2", "96", "--json").json()["id"]
    r = cli("measure", "remove", made_id[:8], "--json", pfile=made)
    assert r.code == 0 and r.json() == {"removed": made_id}
    assert listed(cli, made) == [] and cli_actions(cli, made)[0] == "measure.remove"
    assert cli("measure", "remove", made_id, pfile=made).code == ExitCode.NOT_FOUND


def test_cli_read_only_child_is_refused(cli, made):
    """A child who came of age: the caregiver cannot add to their measurements."""
    cli("people", "add", "Jeanne", "--born", "2004-02-29", "--sex", "female", pfile=made)
    r = add(cli, made, "weight", "55", "--person", "jeanne")
    assert r.code == ExitCode.ERROR and "read-only" in r.err


def test_measurements_belong_to_their_person(cli, made):
    """--person writes into and lists a child's measurements, not the owner's."""
    cli("people", "add", "Léo Martin", "--born", "2019-04-27", "--sex", "male", pfile=made)
    add(cli, made, "height", "112", "--person", "leo")
    assert listed(cli, made) == []
    assert [i["person"] for i in listed(cli, made, "--person", "léo")] == ["Léo Martin"]


# -- CSV import ------------------------------------------------------------------------------

FRENCH_CSV = (
    "Date;Type;Valeur;Unité;Commentaire\n"
    "12/03/2025 08:00;poids;72,5;kg;matin\n"
    "13/03/2025;poids;abc;kg;\n"
    "14/03/2025;tension;120/80;;\n"
    "15/03/2025;glycémie;5,5;mmol/L;à jeun\n"
    "\n"
    "16/03/2025;poids;900;kg;\n"
    ";poids;70;;\n"
)


def write(tmp_path: Path, text: str, name: str = "export.csv",
          encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_import_stores_good_rows_reports_bad_ones_and_exits_8(cli, made, tmp_path):
    """One transaction for the good rows; each refused row named with its line; exit 8."""
    path = write(tmp_path, FRENCH_CSV)
    r = cli("measure", "import", path, pfile=made)
    assert r.code == ExitCode.PARTIAL
    assert "row 3: refused — 'abc' is not a number" in r.err
    assert "row 7: refused — Weight: 900 kg is not plausible" in r.err
    assert "row 8: refused — no date" in r.err
    assert "3 imported, 0 already stored, 3 refused." in r.err
    items = listed(cli, made)
    assert [(i["kind"], i["display"], i["provenance"]) for i in items] == [
        ("glucose", "0.99 g/L", "csv"), ("blood-pressure", "120/80 mmHg", "csv"),
        ("weight", "72.5 kg", "csv")]
    assert items[2]["note"] == "matin"
    entries = cli("audit", "list", "--json", pfile=made).json()
    assert entries[0]["action"] == "measure.import"
    assert entries[0]["detail"] == {"file": "export.csv", "imported": 3, "duplicate": 0,
                                    "refused": 3}
    assert entries[1]["action"] != "measure.add"  # one entry for the whole import


def test_csv_reimport_adds_nothing_and_reports_duplicates(cli, made, tmp_path):
    """Re-running an import stores nothing new: rows are recognised by their content."""
    path = write(tmp_path, "date,kind,value,unit\n2025-01-01,weight,70.1,kg\n"
                           "2025-01-02,weight,70.3,kg\n2025-01-02,weight,70.3,kg\n")
    first = cli("measure", "import", path, "--json", pfile=made)
    assert first.code == 0 and first.lines()[-1] == {
        "summary": {"imported": 2, "duplicate": 1, "refused": 0}}
    again = cli("measure", "import", path, "--json", pfile=made)
    assert again.code == 0
    assert [x["status"] for x in again.lines()[:-1]] == ["duplicate"] * 3
    assert again.lines()[0]["id"] == first.lines()[0]["id"]
    assert len(listed(cli, made)) == 2


def test_csv_of_one_kind_with_kind_option_and_device_columns(cli, made, tmp_path):
    """--kind names the kind of a date,value file; systolic/diastolic columns make a pressure;
    a Windows-1252 export with a separate time column is read too."""
    path = write(tmp_path, "date,value\n2025-01-01,70.1\n", "w.csv")
    r = cli("measure", "import", path, "--kind", "poids", "--json", pfile=made)
    assert r.code == 0 and r.lines()[0]["kind"] == "weight"
    assert cli("measure", "import", path, pfile=made).code == ExitCode.PARTIAL  # kind unknown
    omron = write(tmp_path, "Date;Heure;Systolique (mmHg);Diastolique (mmHg);Remarque\n"
                            "02/01/2025;07:45;128;84;après café\n", "o.csv", "cp1252")
    r = cli("measure", "import", omron, "--json", pfile=made)
    assert r.code == 0, r.out
    item = listed(cli, made, "bp")[0]
    assert item["display"] == "128/84 mmHg" and item["note"] == "après café"
    assert item["at"] == local(2025, 1, 2, 7, 45)


def test_csv_without_usable_header_is_a_usage_error(cli, made, tmp_path):
    """A file whose first row does not name date and value columns stores nothing, exit 2; a
    file that does not exist is not found (exit 5), said before the vault is opened, like every
    command's file to read."""
    r = cli("measure", "import", write(tmp_path, "a,b\n1,2\n"), pfile=made)
    assert r.code == ExitCode.USAGE and "first row" in r.err
    r = cli("measure", "import", tmp_path / "missing.csv", pfile=made)
    assert r.code == ExitCode.NOT_FOUND and "No file" in r.err
    assert "measure.import" not in cli_actions(cli, made)


def test_import_json_lines_are_one_object_per_row(cli, made, tmp_path):
    """--json prints one line per data row (row number, status, id, kind, reason) + summary."""
    r = cli("measure", "import", write(tmp_path, FRENCH_CSV), "--json", pfile=made)
    rows = r.lines()
    assert [x["row"] for x in rows[:-1]] == [2, 3, 4, 5, 7, 8]
    assert set(rows[1]) == {"row", "status", "id", "kind", "reason"}
    assert json.dumps(rows[-1]) == json.dumps(
        {"summary": {"imported": 3, "duplicate": 0, "refused": 3}})


def test_csv_bad_dates_and_huge_cells_refuse_their_row_only(cli, made, tmp_path):
    """A date out of Python's range (OverflowError) and a quoted cell over the CSV reader's
    limit (csv.Error) used to abort the whole import: now each refuses its own row."""
    huge = '"' + "x" * 140_000 + '"'
    path = write(tmp_path, "date,kind,value,note\n"
                           "2025-01-01,weight,70,\n"
                           "0001-01-01T00:00+01:00,weight,71,\n"
                           f"2025-01-02,weight,72,{huge}\n"
                           "9999-12-31T23:00-05:00,weight,73,\n"
                           "2025-01-03,weight,74,\n")
    r = cli("measure", "import", path, "--json", pfile=made)
    assert r.code == ExitCode.PARTIAL, r.err
    rows = r.lines()
    assert [(x["row"], x["status"]) for x in rows[:-1]] == [
        (2, "imported"), (3, "refused"), (4, "refused"), (5, "refused"), (6, "imported")]
    assert "out of the range" in rows[1]["reason"] and "out of the range" in rows[3]["reason"]
    assert rows[2]["reason"] == "a cell is longer than 131072 characters."
    assert [i["value"] for i in listed(cli, made)] == [74, 70]


def test_csv_whose_header_cannot_be_read_is_a_usage_error(cli, made, tmp_path):
    """A csv.Error in the first row leaves nothing to import: exit 2, one line, no audit."""
    path = write(tmp_path, '"' + "d" * 140_000 + '",value\n2025-01-01,70\n')
    r = cli("measure", "import", path, "--kind", "weight", pfile=made)
    assert r.code == ExitCode.USAGE and "longer than 131072" in r.err, r.err
    assert "measure.import" not in cli_actions(cli, made)


def test_csv_reimport_does_not_bring_back_a_removed_row(cli, made, tmp_path):
    """Removing a wrong value, then importing the device's file again, must not restore it:
    the row is reported as removed earlier, the others as already stored."""
    path = write(tmp_path, "date,kind,value\n2025-01-01,weight,70.1\n2025-01-02,weight,91\n")
    first = cli("measure", "import", path, "--json", pfile=made).lines()
    wrong = first[1]["id"]
    assert cli("measure", "remove", wrong, pfile=made).code == 0
    again = cli("measure", "import", path, "--json", pfile=made)
    assert again.code == 0, again.err
    assert [(x["status"], x["id"]) for x in again.lines()[:-1]] == [
        ("duplicate", first[0]["id"]), ("duplicate", wrong)]
    assert again.lines()[1]["reason"] == f"Removed earlier ({wrong[:8]}): not imported again."
    assert [i["value"] for i in listed(cli, made)] == [70.1]
    human = cli("measure", "import", path, pfile=made)
    assert human.code == 0 and "row 3: Removed earlier" in human.err
    assert "0 imported, 2 already stored, 0 refused." in human.err
