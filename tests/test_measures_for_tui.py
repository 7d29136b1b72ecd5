"""`Measures.trend`: the points of a chart, bounded, so that a screen never draws (or loads)
every measurement of a device that records one a minute."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from msante.errors import UsageError
from msante.measures.service import Measures

START = dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC)


def batch(measures: Measures, person: Any, kind: str,
          readings: list[tuple[str, dt.datetime]]) -> None:
    """Many measurements in one audited transaction (as an import writes them)."""
    with measures.store.write() as tx:
        for value, at in readings:
            measures.add_in(tx, person, kind, value, at=at)
        measures.store.log(tx, "measure.import", person=person.id)


def daily(measures: Measures, person: Any, kind: str, values: list[str]) -> None:
    """One measurement a day from START."""
    batch(measures, person, kind,
          [(value, START + dt.timedelta(days=n)) for n, value in enumerate(values)])


def test_few_points_are_the_chart_series_itself(measures: Measures, owner: Any) -> None:
    """Under the bound nothing is averaged: the chart shows the real readings."""
    daily(measures, owner, "weight", ["70", "71,5", "70,2"])
    assert measures.trend(owner, "poids", points=3) == measures.chart_series(owner, "weight")


def test_many_points_become_at_most_the_bound_of_means(measures: Measures,
                                                       owner: Any) -> None:
    """200 daily weights into 20 points: oldest first, inside the period, each a mean."""
    daily(measures, owner, "weight", [str(60 + n % 10) for n in range(200)])
    series = measures.trend(owner, "weight", points=20)
    assert 0 < len(series.values) <= 20 and series.values2 is None
    assert series.times == sorted(series.times)
    assert START <= series.times[0] and series.times[-1] <= START + dt.timedelta(days=199)
    assert all(60 <= v <= 69 for v in series.values)
    # equal parts of 10 days each hold one whole cycle 60…69: the mean is 64.5
    assert series.values[0] == pytest.approx(64.5)


def test_blood_pressure_keeps_its_two_lines(measures: Measures, owner: Any) -> None:
    daily(measures, owner, "bp", ["120/80", "130/84"] * 30)
    series = measures.trend(owner, "bp", points=6)
    assert series.values2 is not None and len(series.values2) == len(series.values) <= 6
    assert all(s > d for s, d in zip(series.values, series.values2, strict=True))


def test_the_period_is_respected(measures: Measures, owner: Any) -> None:
    """`since` bounds the points exactly as it does for chart_series."""
    daily(measures, owner, "heart-rate", [str(60 + n % 5) for n in range(100)])
    since = (START + dt.timedelta(days=90)).isoformat()
    series = measures.trend(owner, "heart-rate", since=since, points=50)
    assert len(series.values) == 10
    assert series == measures.chart_series(owner, "heart-rate", since)


def test_readings_at_one_moment_are_one_point(measures: Measures, owner: Any) -> None:
    """A period of zero length (a device's duplicates) does not divide by zero."""
    batch(measures, owner, "temperature", [(v, START) for v in ("36,8", "37", "37,2")])
    series = measures.trend(owner, "temperature", points=2)
    assert series.values == [pytest.approx(37.0)] and series.times == [START]


def test_a_bound_under_one_is_refused(measures: Measures, owner: Any) -> None:
    with pytest.raises(UsageError, match="at least one point"):
        measures.trend(owner, "weight", points=0)
