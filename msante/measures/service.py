"""The measurements service: add, list, stream, chart data, latest values, remove.

Measurements are immutable: each is one record at revision 1, removed as a tombstone. Values
are stored in their kind's canonical unit (kinds.py), times as ISO 8601 UTC.

The body-mass index is derived, never stored: a weight's BMI uses the latest height at or
before it; failing that, for a weight taken at 18 or older, the earliest height after it (adult
heights barely change, and a height is often typed once, after the weights a device recorded).
A child's weight never takes a later height: children grow.

A measurement that came from outside (CSV, FHIR) has an outside id. Its tombstone keeps a hash
of that id (`removed:…`, a hash of a hash for CSV rows: no value, date or note), so importing
the same row again finds it "removed earlier" and does not bring it back.
"""

from __future__ import annotations

import builtins
import calendar
import datetime as dt
import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from msante import durations
from msante.errors import AlreadyExistsError, NotFoundError, UsageError
from msante.i18n import _
from msante.measures import kinds
from msante.measures.kinds import Kind
from msante.people import People, Person
from msante.text import add_years
from msante.vault import records
from msante.vault.db import Connection
from msante.vault.descriptors import MEASUREMENTS
from msante.vault.store import Store

if TYPE_CHECKING:
    from msante.measures.csv_import import ImportReport

PROVENANCES = ("typed", "fhir", "csv", "document", "professional")
FUTURE_SLACK = dt.timedelta(minutes=5)
BATCH = 500
NOTE_MAX = 500
CHART_POINTS = 300
"""The most points `trend` gives: more than a terminal chart can show apart."""
J2000 = (2451545.0, dt.datetime(2000, 1, 1, 12, tzinfo=dt.UTC))  # a Julian day and its time

REMOVED = "removed:"  # the tombstone of an outside id: REMOVED + a hash of it
_HEIGHTS = "FROM measurements h WHERE h.person = m.person AND h.kind = 'height' AND h.deleted = 0"
ADULT = ("substr(m.at, 1, 10) >= (SELECT date(p.born, '+18 years') FROM people p "
         "WHERE p.id = m.person)")
HEIGHT = (f"CASE WHEN m.kind = 'weight' THEN coalesce((SELECT h.value {_HEIGHTS} "
          "AND h.at <= m.at ORDER BY h.at DESC, h.n DESC LIMIT 1), "
          f"CASE WHEN {ADULT} THEN (SELECT h.value {_HEIGHTS} AND h.at > m.at "
          "ORDER BY h.at, h.n LIMIT 1) END) END")
COLUMNS = ("m.id, m.person, m.kind, m.value, m.value2, m.unit, m.at, m.note, m.entered, "
           f"m.provenance, m.external_id, {HEIGHT}")
SELECT = f"SELECT {COLUMNS} FROM measurements m"


class Measurement(NamedTuple):
    """One measurement; `bmi` is derived (weights with a known height), never stored."""

    id: str
    person: str
    kind: str
    value: float
    value2: float | None
    unit: str
    at: str
    note: str | None
    entered: str | None
    provenance: str
    external_id: str | None = None
    bmi: float | None = None

    @property
    def kind_info(self) -> Kind:
        """The kind's definition (label, codes, decimals)."""
        return kinds.get(self.kind)

    @property
    def time(self) -> dt.datetime:
        """When it was measured (aware, UTC)."""
        return dt.datetime.fromisoformat(self.at)

    def display(self, lang: str | None = None) -> str:
        """The value with its unit ("120/80 mmHg"); numbers in `lang`'s style when given."""
        return kinds.display(self.kind_info, self.value, self.value2, lang)

    def to_json(self, person_name: str | None = None) -> dict[str, Any]:
        """The stable JSON form (docs/cli.md)."""
        return {
            "id": self.id, "kind": self.kind, "kind_label": self.kind_info.label,
            "value": self.value, "value2": self.value2, "unit": self.unit,
            "display": self.display(), "at": self.at, "person": person_name,
            "person_id": self.person, "note": self.note, "provenance": self.provenance,
            "entered": self.entered, "bmi": self.bmi,
        }


def _row(row: Any) -> Measurement:
    height = row[11]
    bmi = kinds.bmi(row[3], height) if height else None
    return Measurement._make((*row[:11], bmi))


class Series(NamedTuple):
    """The points of a chart, oldest first (`values2`: the diastolic, for blood pressure)."""

    kind: Kind
    times: list[dt.datetime]
    values: list[float]
    values2: list[float] | None


# -- times --------------------------------------------------------------------------------------

_RELATIVE = re.compile(r"(\d{1,4})\s*([dwmyjsa])")


def _to_utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC time (a naive one is taken as local time); UsageError out of range."""
    try:
        return moment.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        raise _out_of_range(moment.isoformat()) from None


def _out_of_range(text: object) -> UsageError:
    return UsageError(_("{date} is out of the range of dates that can be stored.").format(
        date=text))


def _parse_moment(text: str) -> dt.datetime:
    """A date or date-time typed by a person (`dates.parse_moment`), in UTC; local unless it
    says."""
    from msante.dates import parse_moment

    return _to_utc(parse_moment(text))


def measured_at(value: str | dt.datetime | None, now: dt.datetime | None = None) -> str:
    """The ISO UTC time of a measurement (default now); refuses the future and before 1900."""
    now = now or dt.datetime.now(dt.UTC)
    if value is None:
        moment = now
    else:
        moment = _to_utc(value) if isinstance(value, dt.datetime) else _parse_moment(value)
    if moment > now + FUTURE_SLACK:
        raise UsageError(_("{date} is in the future: a measurement is taken before it is "
                           "recorded.").format(date=value))
    if moment.year < 1900:
        raise UsageError(_("{date} is too long ago.").format(date=value))
    return moment.isoformat(timespec="microseconds")


def since_utc(value: str | dt.date | None, today: dt.date | None = None) -> str | None:
    """The ISO UTC start of a period: a date, or 30d, 2w, 6mo, 1y back from today (local);
    the one duration reader's units (6mois, 2sem, 1an), and 6m, 2s (months, weeks) of before."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return _to_utc(value).isoformat(timespec="microseconds")
    if isinstance(value, dt.date):
        return _day_start(value)
    relative = _RELATIVE.fullmatch(value.strip().lower())
    try:
        if relative is not None:  # the short forms of before: 6m is months, 2s weeks here
            return _day_start(_back(today or dt.date.today(), int(relative[1]), relative[2]))
        period = _period(value)
        if period is None:
            return _parse_moment(value).isoformat(timespec="microseconds")
        day = _back(today or dt.date.today(), period.months, "m")
        return _day_start(day - dt.timedelta(days=math.ceil(period.seconds / 86400)))
    except (OverflowError, ValueError):
        raise _out_of_range(value) from None


def _period(text: str) -> durations.Duration | None:
    """A period back typed with the one duration reader's units (6mois, 2sem, 1an), or None."""
    try:
        return durations.parse(text, _("period"))
    except UsageError:
        return None


def _back(today: dt.date, n: int, unit: str) -> dt.date:
    """The day `n` days, weeks, months or years before `today` (French j, s, a too)."""
    if unit in "dj":
        return today - dt.timedelta(days=n)
    if unit in "ws":
        return today - dt.timedelta(weeks=n)
    if unit in "ya":
        return add_years(today, -n)
    year, month = divmod(today.year * 12 + today.month - 1 - n, 12)
    return dt.date(year, month + 1, min(today.day, calendar.monthrange(year, month + 1)[1]))


def _day_start(day: dt.date) -> str:
    return _to_utc(dt.datetime.combine(day, dt.time())).isoformat(timespec="microseconds")


# -- the service ---------------------------------------------------------------------------------


class Duplicate(AlreadyExistsError):
    """A measurement with the same outside id is stored, or was removed (`existing`: its id)."""

    def __init__(self, message: str, existing: str, removed: bool = False) -> None:
        super().__init__(message)
        self.existing = existing
        self.removed = removed


class Measures:
    """Measurements of every person of the vault."""

    def __init__(self, store: Store, people: People) -> None:
        self.store = store
        self.people = people

    # -- adding (audited) ---------------------------------------------------------------------

    def add(self, person: Person, kind: str, value_text: str | float, unit: str | None = None,
            at: str | dt.datetime | None = None, note: str | None = None,
            provenance: str = "typed", external_id: str | None = None) -> Measurement:
        """Record one measurement (checked, converted, audited)."""
        with self.store.write() as tx:
            made = self.add_in(tx, person, kind, value_text, unit, at, note, provenance,
                               external_id)
            self.store.log(tx, "measure.add", person=person.id, record=made.id,
                           detail={"kind": made.kind, "provenance": provenance})
        return self.get(made.id)

    def add_in(self, tx: Connection, person: Person, kind: str, value_text: str | float,
               unit: str | None = None, at: str | dt.datetime | None = None,
               note: str | None = None, provenance: str = "typed",
               external_id: str | None = None, *,
               removed: Mapping[str, str] | None = None) -> Measurement:
        """Record one measurement inside the caller's transaction (the caller audits).

        `removed` is `removed_ids()` read once by a caller adding many (else each is looked up).
        """
        self.people.check_writable(person)
        spec = kinds.get(kind)
        reading = kinds.read(spec, value_text, unit)
        fields: dict[str, Any] = {
            "person": person.id, "kind": spec.name, "value": reading.value,
            "value2": reading.value2, "unit": spec.unit, "at": measured_at(at),
            "note": _clean_note(note), "entered": reading.entered,
            "provenance": _provenance(provenance), "external_id": external_id}
        if external_id is not None:
            _refuse_duplicate(tx, person.id, external_id, removed)
        rid = records.insert(tx, "measurements", fields, device=self.store.device)
        return Measurement(rid, person.id, spec.name, reading.value, reading.value2, spec.unit,
                           fields["at"], fields["note"], reading.entered, provenance,
                           external_id)

    def adopt_in(self, tx: Connection, person: Person, rows: builtins.list[dict[str, Any]]) -> int:
        """Add serialised measurements (a handover archive) as the person's, in the caller's
        transaction (audited by it); skip those already here; return how many were added."""
        return len(records.adopt(tx, MEASUREMENTS, person.id, rows, device=self.store.device))

    def import_csv(self, person: Person, path: Path, kind: str | None = None) -> ImportReport:
        """Import a device's CSV export in one transaction (see csv_import.py)."""
        from msante.measures.csv_import import import_file

        return import_file(self, person, path, kind)

    def removed_ids(self, tx: Connection, person: Person) -> dict[str, str]:
        """The person's removed measurements that came from outside: tombstone key → id."""
        # One pass over the table: tombstones have no index (they are rarely looked up).
        return dict(tx.execute(
            "SELECT external_id, id FROM measurements WHERE person = ? AND deleted = 1 AND "
            "external_id IS NOT NULL", (person.id,)).fetchall())

    # -- finding ------------------------------------------------------------------------------

    def known_ids(self, person: Person, ids: builtins.list[str]) -> set[str]:
        """Which of `ids` are the person's measurements, removed ones included."""
        return records.known_ids(self.store.conn, "measurements", person.id, ids)

    def get(self, ref: str) -> Measurement:
        """A measurement by id or unique id prefix (at least 4 characters)."""
        rows = records.by_prefix(self.store.conn, SELECT + " WHERE m.deleted = 0", ref, "m.id")
        if len(rows) == 1:
            return _row(rows[0])
        if len(rows) > 1:
            raise UsageError(_("'{ref}' matches several measurements: give more of the id.")
                             .format(ref=ref))
        raise NotFoundError(_("No measurement '{ref}'.").format(ref=ref))

    def list(self, person: Person, kind: str | None = None,
             since: str | dt.date | None = None,
             limit: int | None = 50) -> builtins.list[Measurement]:
        """Measurements newest first (at most `limit`; None or 0: all)."""
        if limit is not None and limit < 0:
            raise UsageError(_("The limit cannot be negative ({n}); 0 means all.").format(
                n=limit))
        sql, args = self._query(person, kind, since)
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_row(r) for r in self.store.conn.execute(sql, args).fetchall()]

    def stream(self, person: Person, kind: str | None = None,
               since: str | dt.date | None = None) -> Iterator[Measurement]:
        """Every measurement newest first, read in batches (flat memory)."""
        sql, args = self._query(person, kind, since)
        yield from _batches(self.store.conn.execute(sql, args))

    def _query(self, person: Person, kind: str | None, since: str | dt.date | None, *,
               columns: str = COLUMNS, order: str = "DESC") -> tuple[str, builtins.list[Any]]:
        where = ["m.person = ?", "m.deleted = 0"]
        args: builtins.list[Any] = [person.id]
        if kind is not None:
            where.append("m.kind = ?")
            args.append(kinds.get(kind).name)
        if (start := since_utc(since)) is not None:
            where.append("m.at >= ?")
            args.append(start)
        return (f"SELECT {columns} FROM measurements m WHERE " + " AND ".join(where)
                + f" ORDER BY m.at {order}, m.n {order}", args)

    def latest(self, person: Person) -> dict[str, Measurement]:
        """The latest measurement of each kind (a weight with its BMI), in one query."""
        # One index seek per kind of the table, however many measurements the person has.
        names = [k.name for k in kinds.all_kinds()]
        rows = self.store.conn.execute(
            f"SELECT {COLUMNS} FROM json_each(?) k JOIN measurements m ON m.n = "
            "(SELECT x.n FROM measurements x WHERE x.person = ? AND x.kind = k.value "
            "AND x.deleted = 0 ORDER BY x.at DESC, x.n DESC LIMIT 1) ORDER BY k.key",
            (json.dumps(names), person.id)).fetchall()
        return {r[2]: _row(r) for r in rows}

    def chart_series(self, person: Person, kind: str,
                     since: str | dt.date | None = None) -> Series:
        """The points to chart one kind, oldest first."""
        spec = kinds.get(kind)
        sql, args = self._query(person, spec.name, since, columns="m.at, m.value, m.value2",
                                order="ASC")
        series = Series(spec, [], [], [] if spec.pair else None)
        cursor = self.store.conn.execute(sql, args)
        while rows := cursor.fetchmany(BATCH):
            for at, value, value2 in rows:
                series.times.append(dt.datetime.fromisoformat(at))
                series.values.append(value)
                if series.values2 is not None:
                    series.values2.append(value2)
        return series

    def trend(self, person: Person, kind: str, since: str | dt.date | None = None,
              points: int = CHART_POINTS) -> Series:
        """At most `points` points to chart one kind, oldest first: when there are more
        measurements, the period is cut into `points` equal parts and each gives its mean."""
        if points < 1:
            raise UsageError(_("A chart needs at least one point ({n}).").format(n=points))
        spec = kinds.get(kind)
        inner, args = self._query(person, spec.name, since, order="ASC",
                                  columns="julianday(m.at) AS j, m.value AS v, m.value2 AS w")
        count, first, last = self.store.conn.execute(
            f"SELECT count(*), min(j), max(j) FROM ({inner})", args).fetchone()
        if count <= points:
            return self.chart_series(person, spec.name, since)
        # One pass in SQLite (flat memory): each row goes to the part its time falls in.
        rows = self.store.conn.execute(
            f"SELECT avg(j), avg(v), avg(w) FROM ({inner}) "
            "GROUP BY min(CAST((j - ?) / ? AS INTEGER), ?) ORDER BY 1",
            [*args, first, (last - first) / points or 1.0, points - 1]).fetchall()
        day0, time0 = J2000
        times = [time0 + dt.timedelta(seconds=round((j - day0) * 86400)) for j, _v, _w in rows]
        return Series(spec, times, [v for _j, v, _w in rows],
                      [w for _j, _v, w in rows] if spec.pair else None)

    # -- removing (audited) -------------------------------------------------------------------

    def remove(self, ref: str) -> Measurement:
        """Remove a measurement: a tombstone (id, revision, a hash of its outside id)."""
        gone = self.get(ref)
        self.people.check_writable(self.people.get(gone.person))
        kept = {"external_id": removed_key(gone.external_id) if gone.external_id else None}
        with self.store.write() as tx:  # measurements never change: its revision is 1
            records.tombstone(tx, MEASUREMENTS, gone.id, device=self.store.device,
                              base_revision=records.current_revision(tx, "measurements",
                                                                     gone.id),
                              keep=kept)
            self.store.log(tx, "measure.remove", person=gone.person, record=gone.id,
                           detail={"kind": gone.kind})
        return gone


def _batches(cursor: Any) -> Iterator[Measurement]:
    """The cursor's rows as measurements, fetched `BATCH` at a time."""
    while rows := cursor.fetchmany(BATCH):
        yield from map(_row, rows)


def _clean_note(note: str | None) -> str | None:
    clean = " ".join((note or "").split())
    if len(clean) > NOTE_MAX:
        raise UsageError(_("A note may have at most {n} characters.").format(n=NOTE_MAX))
    return clean or None


def _provenance(value: str) -> str:
    if value not in PROVENANCES:
        raise UsageError(_("Unknown provenance '{value}': choose one of {names}.").format(
            value=value, names=", ".join(PROVENANCES)))
    return value


def removed_key(external_id: str) -> str:
    """What a tombstone keeps of an outside id: a hash of it, never the id itself."""
    return REMOVED + hashlib.sha256(external_id.encode("utf-8")).hexdigest()[:32]


def _refuse_duplicate(tx: Connection, person_id: str, external_id: str,
                      removed: Mapping[str, str] | None) -> None:
    """Duplicate when the outside id is stored, or was stored and removed since."""
    row = tx.execute("SELECT id FROM measurements WHERE person = ? AND external_id = ? "
                     "AND deleted = 0", (person_id, external_id)).fetchone()
    if row:
        raise Duplicate(_("Already stored as {id}.").format(id=row[0][:8]), row[0])
    key = removed_key(external_id)
    gone = removed.get(key) if removed is not None else _scalar(tx.execute(
        "SELECT id FROM measurements WHERE person = ? AND external_id = ? AND deleted = 1",
        (person_id, key)).fetchone())
    if gone:
        raise Duplicate(_("Removed earlier ({id}): not imported again.").format(id=gone[:8]),
                        gone, removed=True)


def _scalar(row: Any) -> Any:
    return row[0] if row else None
