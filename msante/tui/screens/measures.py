"""Measurements: the kinds the person has, the trend of the chosen one, its recent values.

Everything shown is bounded: the kinds list is one query (`latest`), the chart at most
`CHART_POINTS` points whatever the period holds (`trend`: means of equal parts beyond that),
the table the latest LIMIT values. Times are shown in local time, to the minute, like the CLI.
"""

from __future__ import annotations

import datetime as dt

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import DataTable, Header, OptionList, Static
from textual.widgets.option_list import Option

from msante.errors import MsanteError
from msante.i18n import _, current, ngettext
from msante.measures import kinds
from msante.measures.service import Measurement, since_utc
from msante.tui import dates
from msante.tui.footer import MsanteFooter
from msante.tui.screens.base import MainScreen
from msante.tui.screens.dialogs import ConfirmScreen
from msante.tui.screens.home import day
from msante.tui.screens.measures_chart import COLOURS, Frame, TrendChart
from msante.tui.screens.measures_form import AddMeasureScreen
from msante.tui.screens.nav import NavBar
from msante.tui.widgets import MUTED, Plain, PlainTable

LIMIT = 100
PERIODS = ("1mo", "3mo", "1y", "")
"""The periods `t` goes through ("": everything); the chart opens on a year, like the CLI."""
FIRST_PERIOD = 2
NOTE_WIDTH = 40


def period_label(code: str) -> str:
    """A period's name in the user's language."""
    return {"1mo": _("1 month"), "3mo": _("3 months"), "1y": _("1 year")}.get(code, _("all"))


def when(iso: str) -> str:
    """A stored UTC time shown in the local time zone, to the minute."""
    return dates.moment(dt.datetime.fromisoformat(iso).astimezone())


def hex_colour(rgb: tuple[int, int, int]) -> str:
    """An (r, g, b) colour as Textual markup writes it."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


class MeasuresScreen(MainScreen):
    """Measurements of the selected person: trend charts per kind, adding and removing."""

    NAME = "measures"
    SUB_TITLE = _("Measurements")

    DEFAULT_CSS = """
    MeasuresScreen #body { height: 1fr; }
    MeasuresScreen #kinds { width: 28; height: 1fr; border: round $primary-darken-1; }
    MeasuresScreen #kinds:focus { border: round $accent; }
    MeasuresScreen #main { width: 1fr; height: 1fr; }
    MeasuresScreen #periods { height: 1; padding: 0 1; color: $text-muted; }
    MeasuresScreen #chart-box {
        height: 2fr; min-height: 9; border: round $primary-darken-1; padding: 0 1 0 0;
    }
    MeasuresScreen #nodata { height: 1fr; padding: 1 2; color: $text-muted; display: none; }
    MeasuresScreen #table { height: 1fr; min-height: 4; }
    MeasuresScreen #empty { height: 1fr; padding: 1 2; display: none; }
    MeasuresScreen #status { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("a", "add", _("Add"), tooltip=_("Add a measurement")),
        Binding("t", "period", _("Period"),
                tooltip=_("Chart 1 month, 3 months, 1 year or everything")),
        Binding("delete", "remove", _("Remove"),
                tooltip=_("Remove the highlighted measurement")),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.kind: str | None = None
        self.period = FIRST_PERIOD
        self.chosen = False  # a period the person chose is kept even when it shows nothing
        self.rows: dict[str, Measurement] = {}
        self.frame: Frame | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield NavBar(self.NAME)
        with Horizontal(id="body"):
            yield OptionList(id="kinds")
            with Vertical(id="main"):
                yield Plain(id="periods")
                with Vertical(id="chart-box"):
                    yield TrendChart(id="chart")
                    yield Plain(id="nodata")
                yield PlainTable[str](cursor_type="row", zebra_stripes=True, id="table")
        yield Plain(id="empty")
        yield Plain(id="status")
        yield MsanteFooter()

    def on_mount(self) -> None:
        self.query_one("#kinds").border_title = _("Kinds")
        super().on_mount()
        self.query_one("#kinds").focus()

    # -- reading ---------------------------------------------------------------------------

    def reload(self) -> None:
        latest = self.vault.measures.latest(self.person)
        self.query_one("#body").display = bool(latest)
        self.query_one("#empty").display = not latest
        if not latest:
            self.kind, self.rows, self.frame = None, {}, None
            self.query_one("#empty", Static).update(self._empty())
            self.query_one("#status", Static).update(Content(self._read_only_note()))
            return
        if self.kind not in latest:
            self.kind = next(iter(latest))
        self._fill_kinds(latest)
        self._show_kind()

    def _fill_kinds(self, latest: dict[str, Measurement]) -> None:
        options = self.query_one("#kinds", OptionList)
        options.clear_options()
        # The second line is not muted: it stays readable on the highlight in both themes.
        options.add_options(Option(Content.assemble(
            (m.kind_info.label, "bold"), "\n", f"{m.display(current())}  {day(m.time.date())}"),
            id=name)
            for name, m in latest.items())
        options.highlighted = options.get_option_index(self.kind or "")

    @on(OptionList.OptionHighlighted, "#kinds")
    def _kind_chosen(self, event: OptionList.OptionHighlighted) -> None:
        if event.option.id and event.option.id != self.kind:
            self.kind = event.option.id
            self._show_kind()

    @on(OptionList.OptionSelected, "#kinds")
    def _to_table(self) -> None:
        self.query_one("#table").focus()

    def _show_kind(self) -> None:
        if self.kind is None:
            return
        spec = kinds.get(self.kind)
        try:
            frame = self._frame(spec)
            if not frame.series.values and not self.chosen and PERIODS[self.period]:
                self.period = len(PERIODS) - 1  # nothing lately: all, not an empty chart
                frame = self._frame(spec)
            self._chart(spec, frame)
            self._table(spec)
        except MsanteError as exc:
            self.query_one("#status", Static).update(Content(exc.message))
            return
        self.query_one("#periods", Static).update(self._periods())
        self.query_one("#status", Static).update(Content(self._status(spec)))

    def _frame(self, spec: kinds.Kind) -> Frame:
        """The kind's points over the chosen period, and the period's bounds."""
        code = PERIODS[self.period]
        since = since_utc(code, self.clock.today()) if code else None
        series = self.vault.measures.trend(self.person, spec.name, since)
        now = self.clock.now()
        start = dt.datetime.fromisoformat(since) if since else (
            series.times[0] if series.times else now)
        return Frame(series, start, now)

    def _chart(self, spec: kinds.Kind, frame: Frame) -> None:
        self.frame = frame
        chart = self.query_one(TrendChart)
        chart.show(frame)
        chart.display = bool(frame.series.values)
        nodata = self.query_one("#nodata", Static)
        nodata.display = not frame.series.values
        nodata.update(_("No measurement in this period: press t for a longer one."))
        box = self.query_one("#chart-box")
        box.border_title = f"{spec.label} ({spec.unit})"
        box.border_subtitle = self._legend() if spec.pair else ""

    @staticmethod
    def _legend() -> str:
        systolic, diastolic = (hex_colour(c) for c in COLOURS)
        systolic_word, diastolic_word = _("Systolic"), _("Diastolic")  # outside the f-string
        return f"[{systolic}]●[/] {systolic_word}  [{diastolic}]●[/] {diastolic_word}"

    def _table(self, spec: kinds.Kind) -> None:
        table = self.query_one("#table", DataTable)
        keep = self.current.id if self.current else None
        items = self.vault.measures.list(self.person, spec.name, limit=LIMIT)
        with_bmi = any(m.bmi is not None for m in items)
        table.clear(columns=True)
        table.add_columns(_("When"), _("Value"), *([_("BMI")] if with_bmi else []), _("Note"))
        self.rows = {m.id: m for m in items}
        for m in items:
            bmi = [kinds.format_number(m.bmi, 1, current()) if m.bmi else ""] if with_bmi else []
            table.add_row(when(m.at), m.display(current()), *bmi, _short(m.note or ""),
                          key=m.id)
        if keep in self.rows:
            table.move_cursor(row=table.get_row_index(keep))

    @property
    def current(self) -> Measurement | None:
        """The highlighted measurement of the table, if any."""
        table = self.query_one("#table", DataTable)
        if not self.rows or not 0 <= table.cursor_row < table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return self.rows.get(key) if key is not None else None

    def _periods(self) -> Content:
        parts = [Content.styled(_("Period:"), MUTED)]
        for n, code in enumerate(PERIODS):
            style = "bold reverse $accent " if n == self.period else ""
            parts.append(Content.styled(f" {period_label(code)} ",
                                        f"{style}@click=screen.period({n})"))
        parts.append(Content.styled("(t)", MUTED))
        return Content(" ").join(parts)

    def _status(self, spec: kinds.Kind) -> str:
        n = len(self.rows)
        if n >= LIMIT:
            text = _("The latest {n} measurements of this kind are listed.").format(n=n)
        else:
            text = ngettext("{n} measurement of this kind", "{n} measurements of this kind",
                            n).format(n=n)
        return " · ".join(filter(None, (text, self._read_only_note())))

    def _read_only_note(self) -> str:
        if not self.person.read_only(self.clock.today()):
            return ""
        return _("{name} is of age: read only").format(name=self.person.name)

    def _empty(self) -> Content:
        title = Content.styled(_("No measurement yet for {name}.").format(
            name=self.person.name), "bold")
        if self.person.read_only(self.clock.today()):
            return title
        return Content.assemble(
            title, "\n\n",
            _("Press a to add one: weight, height, blood pressure, blood glucose, "
              "temperature…"), "\n",
            (_("A device's CSV export can be imported with: msante measure import FILE"),
             MUTED))

    # -- actions ---------------------------------------------------------------------------

    def action_period(self, n: int | None = None) -> None:
        """Chart a shorter or longer period (1 month, 3 months, 1 year, all)."""
        self.period = (self.period + 1) % len(PERIODS) if n is None else n
        self.chosen = True
        self._show_kind()

    def _writable(self) -> bool:
        """Whether the person's measurements may change; says why not."""
        try:
            self.vault.people.check_writable(self.person, self.clock.today())
        except MsanteError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return False
        return True

    def action_add(self) -> None:
        """Record a measurement."""
        if not self._writable():
            return
        person, clock = self.person, self.clock

        def save(kind: str, value: str, at: str, note: str) -> Measurement:
            return self.vault.measures.add(person, kind, value, at=at or clock.now(),
                                           note=note)

        now = dates.moment(clock.now().astimezone())
        self.app.push_screen(AddMeasureScreen(person.name, self.kind or "weight", now, save),
                             self._added)

    def _added(self, made: Measurement | None) -> None:
        if made is None:
            return
        self.kind = made.kind
        self.reload()
        table = self.query_one("#table", DataTable)
        if made.id in self.rows:
            table.move_cursor(row=table.get_row_index(made.id))
        self.notify(_("Recorded: {kind} {value}, {when} [{id}].").format(
            kind=made.kind_info.label, value=made.display(current()), when=when(made.at),
            id=made.id[:8]), markup=False)

    def action_remove(self) -> None:
        """Remove the highlighted measurement, after a confirmation."""
        gone = self.current
        if gone is None or not self._writable():
            return
        question = _("Remove {kind} {value} of {when}? The removal is recorded in the "
                     "activity history.").format(kind=gone.kind_info.label,
                                                 value=gone.display(current()),
                                                 when=when(gone.at))
        self.app.push_screen(ConfirmScreen(question, _("Remove")),
                             lambda yes: self._remove(gone) if yes else None)

    def _remove(self, gone: Measurement) -> None:
        try:
            self.vault.measures.remove(gone.id)
        except MsanteError as exc:
            self.notify(exc.message, severity="error", markup=False)
            return
        self.notify(_("Removed: {kind} {value}, {when} [{id}].").format(
            kind=gone.kind_info.label, value=gone.display(current()), when=when(gone.at),
            id=gone.id[:8]), markup=False)
        self.reload()


def _short(text: str) -> str:
    """A note cut to fit its column."""
    return text if len(text) <= NOTE_WIDTH else text[:NOTE_WIDTH - 1] + "…"
