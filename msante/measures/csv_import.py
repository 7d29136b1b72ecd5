"""Import a device's CSV export of measurements, all good rows in one transaction.

The first row names the columns (English or French, case and accents ignored): `date`
(optionally with a separate `time`), `kind`, `value`, `unit`, `note` — or, for a file of one
kind given with `--kind`, just `date`, `value` and maybe `unit`; blood pressure may come as
`systolic` and `diastolic` columns. The separator (`,`, `;` or tab) is read from that first row,
so a French file with `;` and decimal commas works. Each row gets an outside id, a hash of its
kind and its cells, so importing the same file again stores nothing new, and a row removed
since is reported as removed earlier rather than brought back.

A bad row is refused with its reason and the others are imported: a value or date that cannot
be read, and a cell too long for Python's CSV reader (`csv.field_size_limit()`). A header row
that cannot be read is a UsageError: nothing is imported.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from msante.errors import UsageError
from msante.i18n import _
from msante.measures import kinds
from msante.measures.service import Duplicate
from msante.people import Person
from msante.vault.db import Connection

if TYPE_CHECKING:
    from msante.measures.service import Measures

MAX_BYTES = 64 * 1024 * 1024
HEADERS = {
    "date": ("date", "datetime", "date-time", "date-heure", "timestamp", "horodatage", "at",
             "when", "jour", "day"),
    "time": ("time", "heure", "hour"),
    "kind": ("kind", "type", "measure", "measurement", "mesure"),
    "value": ("value", "valeur", "result", "resultat"),
    "unit": ("unit", "units", "unite"),
    "note": ("note", "notes", "comment", "comments", "commentaire", "remarque"),
    "systolic": ("systolic", "systolique", "sys"),
    "diastolic": ("diastolic", "diastolique", "dia"),
}
STATUSES = ("imported", "duplicate", "refused")


class RowResult(NamedTuple):
    """What became of one row (`row`: its line number in the file, the header being 1).

    `removed`: a duplicate of a measurement removed since (not in the JSON form).
    """

    row: int
    status: str
    id: str | None
    kind: str | None
    reason: str | None
    removed: bool = False

    def to_json(self) -> dict[str, Any]:
        """The stable JSON form (one line per row of `measure import --json`)."""
        return {k: v for k, v in self._asdict().items() if k != "removed"}


class CsvRow(NamedTuple):
    """One non-empty row: its line number, cells by column name, raw cells; or why not."""

    line: int
    cells: dict[str, str]
    raw: list[str]
    error: str | None = None


class ImportReport:
    """The rows of one import and their counts."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.rows: list[RowResult] = []
        self.counts = dict.fromkeys(STATUSES, 0)

    def add(self, result: RowResult) -> None:
        """Count and keep one row's result."""
        self.counts[result.status] += 1
        self.rows.append(result)

    @property
    def partial(self) -> bool:
        """Whether any row was refused."""
        return self.counts["refused"] > 0


def import_file(measures: Measures, person: Person, path: Path,
                kind: str | None = None) -> ImportReport:
    """Store every good row of `path` in one transaction with one audit entry."""
    default = kinds.get(kind).name if kind else None
    measures.people.check_writable(person)
    rows = read_rows(path, default)
    report = ImportReport(path.name)
    with measures.store.write() as tx:
        removed = measures.removed_ids(tx, person)
        for row in rows:
            report.add(_store_row(measures, tx, person, row, default, removed))
        measures.store.log(tx, "measure.import", person=person.id,
                           detail={"file": path.name} | report.counts)
    return report


def _store_row(measures: Measures, tx: Connection, person: Person, row: CsvRow,
               default: str | None, removed: dict[str, str]) -> RowResult:
    line, cells, kind = row.line, row.cells, None
    try:
        if row.error:
            raise UsageError(row.error)
        kind, value, at = _essentials(cells, default)
        made = measures.add_in(tx, person, kind, value, cells.get("unit"), at,
                               cells.get("note"), "csv", external_id(kind, row.raw),
                               removed=removed)
    except Duplicate as dup:
        return RowResult(line, "duplicate", dup.existing, kind, dup.message, dup.removed)
    except UsageError as exc:
        return RowResult(line, "refused", None, kind, exc.message)
    return RowResult(line, "imported", made.id, made.kind, None)


def _essentials(cells: dict[str, str], default: str | None) -> tuple[str, str, str]:
    """(kind name, value text, date text) of a row; UsageError naming what is missing."""
    value = cells.get("value", "")
    if not value and cells.get("systolic") and cells.get("diastolic"):
        value = f"{cells['systolic']}/{cells['diastolic']}"
        default = default or "blood-pressure"
    name = cells.get("kind") or default
    if not name:
        raise UsageError(_("no kind: add a kind column or give --kind."))
    if not value:
        raise UsageError(_("no value."))
    if not cells.get("date"):
        raise UsageError(_("no date."))
    at = f"{cells['date']} {cells['time']}" if cells.get("time") else cells["date"]
    return kinds.get(name).name, value, at


def external_id(kind: str, raw: list[str]) -> str:
    """The outside id of a CSV row: a hash of its kind and its cells."""
    content = "\x1f".join([kind, *(c.strip() for c in raw)])
    return "csv:" + hashlib.sha256(content.encode("utf-8")).hexdigest()[:32]


def read_rows(path: Path, kind: str | None) -> Iterator[CsvRow]:
    """Each non-empty row, or the reason it cannot be read; UsageError for the header."""
    text = _text(path)
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first else "\t" if "\t" in first else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    try:
        header = next(reader, [])
    except csv.Error as exc:
        raise UsageError(_("Cannot read {path} as CSV: {error}").format(
            path=path, error=_csv_reason(exc))) from None
    return _cells(reader, _columns(header, kind))


def _cells(reader: Any, columns: dict[str, int]) -> Iterator[CsvRow]:
    """The rows after the header; a row the reader refuses comes with the reason."""
    while True:
        try:
            raw = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:  # the reader goes on with the next line
            yield CsvRow(reader.line_num, {}, [], _csv_reason(exc))
            continue
        if any(c.strip() for c in raw):
            cells = {name: raw[i].strip() for name, i in columns.items() if i < len(raw)}
            yield CsvRow(reader.line_num, cells, raw)


def _csv_reason(exc: csv.Error) -> str:
    """Python's CSV error in the user's language when it is the usual one (a cell too long)."""
    if "field limit" in str(exc):
        return _("a cell is longer than {n} characters.").format(n=csv.field_size_limit())
    return _("unreadable CSV ({error}).").format(error=exc)


def _text(path: Path) -> str:
    """The file's text (UTF-8, or Windows-1252 as device exports often are)."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise UsageError(_("{path} is too large for a CSV of measurements.").format(
                path=path))
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(_("Cannot read {path}: {error}").format(
            path=path, error=exc.strerror)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _columns(header: list[str], kind: str | None) -> dict[str, int]:
    """Which column holds what, from the header row; UsageError when it cannot be used."""
    names = {alias: name for name, aliases in HEADERS.items() for alias in aliases}
    if kind:
        spec = kinds.get(kind)
        names |= {k: "value" for k in (spec.name, *spec.aliases)}
    found: dict[str, int] = {}
    for i, cell in enumerate(header):
        name = names.get(kinds.key(re.sub(r"\(.*?\)|\[.*?\]", " ", cell)))
        if name and name not in found:
            found[name] = i
    has_value = "value" in found or {"systolic", "diastolic"} <= found.keys()
    if "date" not in found or not has_value:
        raise UsageError(_("The first row of the file must name its columns: date, kind, "
                           "value[, unit, note] (or date, value[, unit] with --kind); found: "
                           "{found}.").format(found=", ".join(header) or _("nothing")))
    return found
