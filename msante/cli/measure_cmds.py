"""`msante measure`: add, list, chart, import and remove measurements."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.options import (
    AllOpt,
    FromAlias,
    check_in,
    check_person_choice,
    one_of,
    people_for,
)
from msante.cli.vault_cmds import JsonOpt
from msante.errors import PartialError
from msante.i18n import _, current

if TYPE_CHECKING:
    from msante.measures.service import Measurement, Series

app = typer.Typer(help=_("Measurements: weight, height, blood pressure, glucose, temperature…"),
                  no_args_is_help=True)

PersonOpt = Annotated[str | None, typer.Option(help=_("Whose measurements (default: the "
                                                      "owner)."))]
KindArg = Annotated[str, typer.Argument(metavar=_("KIND"), help=_(
    "weight, height, blood-pressure (bp), heart-rate, glucose, temperature, spo2, waist, "
    "respiratory-rate, hba1c, steps — or an alias (see 'msante measure kinds')."))]
SinceOpt = Annotated[str | None, typer.Option(help=_(
    "From this date (2025-03-12 or 12/03/2025) or this far back: 30d, 2w, 6mo, 1y "
    "(30j, 2sem, 6mois, 1a)."))]


def _when(iso: str) -> str:
    """A stored UTC time shown in the local time zone, to the minute."""
    import datetime as dt

    return dt.datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")


def _bmi_text(m: Measurement) -> str:
    from msante.measures.kinds import format_number

    return format_number(m.bmi, 1, current()) if m.bmi is not None else ""


@app.command("add")
def add(
    kind: KindArg,
    value: Annotated[str, typer.Argument(metavar=_("VALUE"), help=_(
        "The value: 72.5 or 72,5; 120/80 for blood pressure; a unit may follow "
        "('5,5 mmol/L')."))],
    unit_word: Annotated[str | None, typer.Argument(metavar="UNIT", help=_(
        "The unit, when not given with --unit (72,5 kg; 1,68 m)."), show_default=False)]
    = None,
    unit: Annotated[str | None, typer.Option(help=_(
        "The unit, e.g. lb, m, mmol/L, °F (default: the kind's own: kg, cm, g/L, °C…)."))]
    = None,
    at: Annotated[str | None, typer.Option(help=_(
        "When it was measured, local time: 2025-03-12 08:30 or 12/03/2025 8h30 (default: "
        "now)."))] = None,
    person: PersonOpt = None,
    note: Annotated[str | None, typer.Option(help=_("A note."))] = None,
    json_: JsonOpt = False,
) -> None:
    """Record a measurement: checked for plausibility, stored in the kind's own unit.

    Example: msante measure add weight 72,5 kg --at "12/03/2025 08:30"
    """
    from msante.measures import kinds
    from msante.measures.service import measured_at

    text = " ".join(filter(None, (value, unit_word)))
    kinds.read(kinds.get(kind), text, unit)  # every typed value read before the passphrase
    measured_at(at)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        made = vault.measures.add(who, kind, text, unit=unit, at=at, note=note)
    if json_:
        output.print_json(made.to_json(who.name))
        return
    line = _("Recorded: {kind} {value}, {when} [{id}].").format(
        kind=made.kind_info.label, value=made.display(current()), when=_when(made.at),
        id=made.id[:8])
    output.info(line + (" " + _("BMI {bmi}.").format(bmi=_bmi_text(made)) if made.bmi else ""))


@app.command("list")
def list_(
    kind: Annotated[str | None, typer.Argument(metavar="KIND", help=_(
        "Only this kind (default: all)."))] = None,
    since: SinceOpt = None,
    limit: Annotated[int, typer.Option(min=0, max=10_000_000, help=_(
        "At most this many (0: all)."))] = 50,
    person: Annotated[str | None, typer.Option(help=_(
        "Only this person's (default: the owner's)."))] = None,
    all_: AllOpt = False,
    json_lines: Annotated[bool, typer.Option("--json-lines", help=_(
        "Every one of them (no limit) as JSON, one object per line as they are read."))]
    = False,
    json_: JsonOpt = False,
    from_: FromAlias = None,
) -> None:
    """List measurements, newest first (weights with their BMI when a height is known).

    Example: msante measure list weight --since 6m --json
    """
    from msante.measures import kinds
    from msante.measures.service import since_utc

    start = one_of(since, from_, "--since")
    since_utc(start)  # every typed value read before the passphrase
    if kind:
        kinds.get(kind)
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        people = people_for(vault, person, all_)
        names = {p.id: p.name for p in people}
        if json_lines:
            for who in people:
                for m in vault.measures.stream(who, kind, start):
                    output.print_json_line(m.to_json(who.name))
            return
        items = [m for who in people
                 for m in vault.measures.list(who, kind, start, limit=limit or None)]
    items.sort(key=lambda m: m.at, reverse=True)
    _print(items[:limit] if limit else items, names, json_)


def _print(items: list[Measurement], names: dict[str, str], json_: bool) -> None:
    if json_:
        output.print_json([m.to_json(names.get(m.person)) for m in items])
    elif not items:
        output.info(_("No measurement."))
    else:
        _table(items, names if len(names) > 1 else {})


def _table(items: list[Measurement], names: dict[str, str]) -> None:
    with_bmi = any(m.bmi is not None for m in items)
    columns = ["Id", _("When"), _("Measurement"), _("Value")] + ([_("BMI")] if with_bmi else [])
    output.table(columns + [_("Note")] + ([_("Person")] if names else []), [
        [m.id[:8], _when(m.at), m.kind_info.label, m.display(current())]
        + ([_bmi_text(m)] if with_bmi else []) + [m.note or ""]
        + ([names.get(m.person, "")] if names else []) for m in items])


@app.command("latest")
def latest(person: PersonOpt = None, json_: JsonOpt = False) -> None:
    """Show the latest measurement of each kind (the weight with its BMI).

    Example: msante measure latest --person "Léo Martin"
    """
    with session.open_vault() as vault:
        who = vault.people.get(person)
        items = list(vault.measures.latest(who).values())
    _print(items, {who.id: who.name}, json_)


@app.command("chart")
def chart(kind: KindArg, since: SinceOpt = "1y", person: PersonOpt = None) -> None:
    """Draw how a measurement changed over time, in the terminal.

    Example: msante measure chart bp --since 6m
    """
    from msante.measures import kinds
    from msante.measures.service import since_utc

    since_utc(since)
    kinds.get(kind)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        series = vault.measures.chart_series(who, kind, since)
    if not series.values:
        output.info(_("No {kind} measurement for {name} in this period.").format(
            kind=series.kind.label.lower(), name=who.name))
        return
    output.echo(render_chart(series, who.name))


def render_chart(series: Series, name: str) -> str:
    """The chart of a series as text (colours only on a terminal), drawn by plotext."""
    import shutil

    import plotext as plt  # type: ignore[import-untyped]  # no py.typed

    lines = [(_("Systolic") if series.values2 is not None else series.kind.label,
              series.values)] + ([(_("Diastolic"), series.values2)] if series.values2 else [])
    times = [t.astimezone().replace(tzinfo=None) for t in series.times]
    title = f"{series.kind.label} ({series.kind.unit}) — {name}"
    width = min(shutil.get_terminal_size((100, 24)).columns, 120)
    draw = _plotext_5 if hasattr(plt, "build") else _plotext_6
    return draw(plt, times, lines, title, (width, 20), not sys.stdout.isatty())


def _plotext_6(plt: Any, times: list[Any], lines: list[tuple[str, list[float]]], title: str,
               size: tuple[int, int], colorless: bool) -> str:
    """Plotext 6: a figure object whose signals are drawn, then built into a matrix."""
    fig = plt.figure
    fig.clear()
    fig.date().activate(form="%Y-%m-%d")
    for label, values in lines:
        signal = fig.signal(times, values)
        signal.lines(True)
        signal.label(label)
        fig.draw(signal)
    fig.title(title)
    fig.plot_size(*size)
    return str(fig.build().string(colorless=colorless))


def _plotext_5(plt: Any, times: list[Any], lines: list[tuple[str, list[float]]], title: str,
               size: tuple[int, int], colorless: bool) -> str:
    """Plotext 5: module-level functions, then build() to a string."""
    plt.clear_figure()
    plt.date_form("Y-m-d H:M")
    stamps = [t.strftime("%Y-%m-%d %H:%M") for t in times]
    for label, values in lines:
        plt.plot(stamps, values, label=label)
    plt.title(title)
    plt.plotsize(*size)
    text = plt.build()
    return str(plt.uncolorize(text) if colorless else text)


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(metavar=_("FILE"), help=_(
        "A CSV file whose first row names its columns: date, kind, value[, unit, note]."))],
    person: PersonOpt = None,
    kind: Annotated[str | None, typer.Option(help=_(
        "The kind of the rows that do not say (a file of one kind: date, value[, unit])."))]
    = None,
    json_: JsonOpt = False,
) -> None:
    """Import a device's CSV export; rows already stored are skipped, bad rows reported.

    Exit 0 when every row was imported or was already there; 8 when any row was refused.

    Example: msante measure import ~/Téléchargements/tensiometre.csv --kind bp
    """
    from msante.measures import kinds

    if kind:
        kinds.get(kind)
    check_in(file)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        report = vault.measures.import_csv(who, file, kind)
    if json_:
        for row in report.rows:
            output.print_json_line(row.to_json())
        output.print_json_line({"summary": report.counts})
    else:
        for row in report.rows:
            if row.status == "refused":
                output.info(_("row {row}: refused — {reason}").format(row=row.row,
                                                                      reason=row.reason))
            elif row.removed:
                output.info(_("row {row}: {reason}").format(row=row.row, reason=row.reason))
        output.info(_("{imported} imported, {duplicate} already stored, {refused} refused.")
                    .format(**report.counts))
    if report.partial:
        raise PartialError(_("Some rows were refused (see above); the others were stored."))


@app.command("remove")
def remove(
    measure_id: Annotated[str, typer.Argument(metavar="ID", help=_(
        "Measurement id (or its first characters)."))],
    json_: JsonOpt = False,
) -> None:
    """Remove a measurement (recorded in the history).

    Example: msante measure remove 3f2a9c1e
    """
    with session.open_vault() as vault:
        gone = vault.measures.remove(measure_id)
    if json_:
        output.print_json({"removed": gone.id})
    else:
        output.info(_("Removed: {kind} {value}, {when} [{id}].").format(
            kind=gone.kind_info.label, value=gone.display(current()), when=_when(gone.at),
            id=gone.id[:8]))


@app.command("kinds")
def kinds_(json_: JsonOpt = False) -> None:
    """List the kinds of measurement, their units, aliases and plausible range.

    Example: msante measure kinds --json
    """
    from msante.measures import kinds

    items = kinds.all_kinds()
    if json_:
        output.print_json([{
            "name": k.name, "label": k.label, "unit": k.unit,
            "units": [u.name for u in k.units], "aliases": list(k.aliases), "low": k.low,
            "high": k.high, "ucum": k.ucum, "loinc": k.loinc,
        } for k in items])
        return
    output.table([_("Kind"), _("Name"), _("Units"), _("Aliases"), _("Plausible range")], [
        [k.name, k.label, k.unit_names(), ", ".join(k.aliases),
         f"{kinds.format_number(k.low, k.decimals, current())}–"
         f"{kinds.format_number(k.high, k.decimals, current())} {k.unit}"] for k in items])
