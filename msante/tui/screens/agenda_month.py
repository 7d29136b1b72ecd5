"""The agenda's month grid: six weeks from Monday, days with appointments marked, today
highlighted; the arrows move by a day or a week (crossing into the next month), page up and
page down by a month, Enter lists the day's appointments."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Collection

from babel.dates import format_skeleton, get_day_names
from textual import events
from textual.binding import Binding
from textual.content import Content
from textual.message import Message
from textual.reactive import reactive
from textual.widget import Widget

from msante.i18n import _, current

CELL = 4  # " 16•": a space, the day, the mark
WEEKS = 6
MARK = "•"
MUTED = "$text-muted"


def month_title(day: dt.date) -> str:
    """The month of `day` in words, in the user's language ("June 2025", "juin 2025")."""
    return str(format_skeleton("yMMMM", day, locale=current()))


def grid_start(day: dt.date) -> dt.date:
    """The grid's first cell for the month of `day`: the Monday on or before its first."""
    first = day.replace(day=1)
    return first - dt.timedelta(days=first.weekday())


def grid_days(day: dt.date) -> list[dt.date]:
    """The 42 days the grid shows for the month of `day`."""
    start = grid_start(day)
    return [start + dt.timedelta(days=n) for n in range(7 * WEEKS)]


def add_months(day: dt.date, months: int) -> dt.date:
    """`day` moved by whole months; a day the month lacks becomes its last (31 → 30)."""
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last))


class MonthGrid(Widget, can_focus=True):
    """A compact calendar of one month; `cursor` is the chosen day."""

    DEFAULT_CSS = """
    MonthGrid {
        width: 32; height: 9; padding: 0 1;
        border: round $primary-darken-1; border-title-align: center;
    }
    MonthGrid:focus { border: round $accent; }
    """
    BINDINGS = [
        Binding("left", "move(-1)", _("Previous day"), show=False),
        Binding("right", "move(1)", _("Next day"), show=False),
        Binding("up", "move(-7)", _("Previous week"), show=False),
        Binding("down", "move(7)", _("Next week"), show=False),
        Binding("pageup", "month(-1)", _("Previous month"), show=False),
        Binding("pagedown", "month(1)", _("Next month"), show=False),
        Binding("enter", "choose", _("List the day")),
    ]

    cursor: reactive[dt.date] = reactive(dt.date(2000, 1, 1))

    class Moved(Message):
        """The cursor went to another day."""

        def __init__(self, day: dt.date) -> None:
            super().__init__()
            self.day = day

    class Chosen(Message):
        """Enter (or a click) on a day."""

        def __init__(self, day: dt.date) -> None:
            super().__init__()
            self.day = day

    def __init__(self, today: dt.date, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.today = today
        self.marks: Collection[dt.date] = frozenset()
        self.set_reactive(MonthGrid.cursor, today)

    def on_mount(self) -> None:
        self.border_title = month_title(self.cursor)
        self.border_subtitle = _("[ ] month · ⏎ day")

    def show(self, marks: Collection[dt.date], today: dt.date) -> None:
        """Mark these days (they have appointments); `today` is highlighted."""
        self.marks, self.today = marks, today
        self.refresh()

    def watch_cursor(self, old: dt.date, new: dt.date) -> None:
        self.border_title = month_title(new)
        if old != new:
            self.post_message(self.Moved(new))

    def render(self) -> Content:
        names = get_day_names("short", locale=current())
        head = Content.styled("".join(f" {names[i][:2]:<2} " for i in range(7)), MUTED)
        days = grid_days(self.cursor)
        weeks = [Content.assemble(*(self._cell(d) for d in days[w * 7:w * 7 + 7]))
                 for w in range(WEEKS)]
        return Content("\n").join([head, *weeks])

    def _cell(self, day: dt.date) -> Content:
        marked = day in self.marks
        styles = ["bold" if marked else "", MUTED if day.month != self.cursor.month else ""]
        if day == self.today:
            styles.append("bold $text-accent underline")
        if day == self.cursor:
            styles.append("reverse" if self.has_focus else "underline")
        mark = Content.styled(MARK if marked else " ", "$text-warning")
        return Content.assemble(Content.styled(f" {day.day:>2}", " ".join(styles)), mark)

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or not 1 <= offset.y <= WEEKS or offset.x >= CELL * 7:
            return
        day = grid_days(self.cursor)[(offset.y - 1) * 7 + offset.x // CELL]
        self.cursor = day
        self.post_message(self.Chosen(day))

    def action_move(self, days: int) -> None:
        """Move the cursor by `days`."""
        self.cursor += dt.timedelta(days=days)

    def action_month(self, months: int) -> None:
        """Move the cursor by whole months."""
        self.cursor = add_months(self.cursor, months)

    def action_choose(self) -> None:
        """List the appointments of the day under the cursor."""
        self.post_message(self.Chosen(self.cursor))
