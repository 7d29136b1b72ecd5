"""The trend chart of one kind of measurement, drawn by plotext (textual-plotext's widget).

Dates run across, values up. The axes are ours: the x axis spans the chosen period (so that an
old last reading shows as old), its ticks are dates (ISO, as on every screen); the y ticks are
round numbers in the person's language ("70,5" in French). Both are worked out from the
widget's size at each render, so a resize never leaves overlapping labels.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import NamedTuple

from textual.app import RenderResult
from textual_plotext import PlotextPlot

from msante.i18n import current
from msante.measures.kinds import format_number
from msante.measures.service import Series
from msante.tui import dates

COLOURS = ((0, 130, 200), (230, 25, 75))
"""The first and second line (blue; red for the diastolic): readable in both themes."""
DATE_SPACING = 17  # between two date ticks: the last label is pushed in from the edge
Y_LABEL_ROWS = 3  # a y tick every three rows at most
MARKED = 40  # up to this many points, each reading is a dot
SECONDS_PER_DAY = 86400.0
X_PAD = 0.02  # of the period, either side


class Frame(NamedTuple):
    """What the chart shows: the series and the period it spans (aware times)."""

    series: Series
    start: dt.datetime
    end: dt.datetime


def nice_step(span: float, most: int) -> float:
    """A round step (1, 2 or 5 × 10^n) giving at most `most` intervals over `span`."""
    raw = span / max(most, 1)
    power = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next((m * power for m in (1, 2, 5, 10) if m * power >= raw), 10 * power)


def y_ticks(low: float, high: float, rows: int) -> list[float]:
    """Round values from just under `low` to just over `high`, one per few rows."""
    if high - low < 1e-9:
        low, high = low - 1, high + 1
    step = nice_step(high - low, max(2, rows // Y_LABEL_ROWS))
    first = math.floor(low / step) * step
    count = math.ceil((high - first) / step - 1e-9)
    return [round(first + i * step, 10) for i in range(count + 1)]


def decimals_of(step: float) -> int:
    """How many decimals the ticks of `step` need (0.5 → 1, 2 → 0)."""
    return max(0, -math.floor(math.log10(step) + 1e-9)) if step < 1 else 0


def days(moment: dt.datetime) -> float:
    """A time as days since the Unix epoch (the chart's x)."""
    return moment.timestamp() / SECONDS_PER_DAY


def date_label(x: float) -> str:
    """The local date at x."""
    return dates.day(dt.datetime.fromtimestamp(x * SECONDS_PER_DAY).date())


class TrendChart(PlotextPlot):
    """One kind's values over the chosen period (two lines for blood pressure)."""

    DEFAULT_CSS = "TrendChart { width: 1fr; height: 1fr; }"

    def __init__(self, *, id: str | None = None) -> None:  # noqa: A002 (Textual's name)
        super().__init__(id=id)
        self.frame: Frame | None = None

    def show(self, frame: Frame | None) -> None:
        """Draw this series over this period (None: an empty chart)."""
        self.frame = frame
        self.refresh()

    def render(self) -> RenderResult:
        self._draw(self.size.width, self.size.height)
        return super().render()

    def _draw(self, width: int, height: int) -> None:
        plt = self.plt
        plt.clear_figure()
        if self.frame is None or not self.frame.series.values:
            return
        series, start, end = self.frame
        xs = [days(t) for t in series.times]
        lines = [series.values] + ([series.values2] if series.values2 is not None else [])
        few = len(xs) <= MARKED
        for values, colour in zip(lines, COLOURS, strict=False):
            # Few points: each reading a dot on a dotted line, on the same grid of cells.
            # Many: a braille line (four times finer up, twice across), without dots.
            plt.plot(xs, values, marker="·" if few else "braille", color=colour)
            if few:
                plt.scatter(xs, values, marker="●", color=colour)
        self._x_axis(days(start), max(days(end), xs[-1]), width)
        self._y_axis([v for values in lines for v in values], height)

    def _x_axis(self, left: float, right: float, width: int) -> None:
        right = max(right, left + 1)
        count = max(2, min(7, 1 + (width - 6) // DATE_SPACING))
        ticks = [left + (right - left) * i / (count - 1) for i in range(count)]
        pad = (right - left) * X_PAD  # a reading of today is not drawn on the frame
        self.plt.xlim(left - pad, right + pad)
        self.plt.xticks(ticks, [date_label(x) for x in ticks])

    def _y_axis(self, values: list[float], height: int) -> None:
        ticks = y_ticks(min(values), max(values), height - 3)
        places = decimals_of(ticks[1] - ticks[0])
        self.plt.ylim(ticks[0], ticks[-1])
        self.plt.yticks(ticks, [format_number(t, places, current()) for t in ticks])
