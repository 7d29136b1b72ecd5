"""Rendering helpers shared by every command: JSON, one-line errors, tables, confirmations."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from msante.errors import ConfirmationRequired
from msante.i18n import _
from msante.text import clean, for_terminal

# JSON escapes C0 controls itself; DEL and the C1 controls (a one-character CSI or OSC to
# some terminals) are written raw unless escaped: only strings can hold them, so "\u009b"
# in their place is the same JSON.
_RAW_IN_JSON = re.compile("[\x7f-\x9f]")


def _json(data: Any, indent: int | None) -> str:
    text = json.dumps(data, ensure_ascii=False, indent=indent, default=str)
    return _RAW_IN_JSON.sub(lambda m: f"\\u{ord(m[0]):04x}", text)


def print_json(data: Any) -> None:
    """Print `data` as JSON on stdout (UTF-8, stable key order, no raw control character)."""
    sys.stdout.write(_json(data, 2) + "\n")


def print_json_line(data: Any) -> None:
    """Print one compact JSON object on its own line (for long, streamed output)."""
    sys.stdout.write(_json(data, None) + "\n")
    sys.stdout.flush()


def echo(text: str) -> None:
    """Print text on stdout, as a text view shows it: tabs and line breaks, no control
    character (stored text cannot drive the terminal)."""
    sys.stdout.write(for_terminal(text) + "\n")


def error(message: str) -> None:
    """One line on stderr, in the user's language (stored text in it cannot drive the
    terminal)."""
    sys.stderr.write(clean(message, lines=True).rstrip() + "\n")


def info(message: str) -> None:
    """A line for people on stderr (so that stdout stays clean for data)."""
    sys.stderr.write(clean(message, lines=True).rstrip() + "\n")


def console() -> Any:
    """The rich console on stdout: what it prints holds no control character from the data
    (see safe_console)."""
    from msante.cli import safe_console

    return safe_console.make(highlight=False)


def is_terminal() -> bool:
    """Whether a person is there to answer (stdin and stderr are terminals)."""
    return sys.stdin.isatty() and sys.stderr.isatty()


def confirm(question: str, *, yes: bool) -> None:
    """Ask before an irreversible action; without a terminal, --yes is required."""
    if yes:
        return
    if not is_terminal():
        raise ConfirmationRequired(
            _("This cannot be undone: confirm with --yes (no terminal to ask on)."))
    if not ask_yes_no(question):
        raise ConfirmationRequired(_("Cancelled: nothing was changed."))


def ask_yes_no(question: str) -> bool:
    """Ask a yes/no question on the terminal; anything but yes is no."""
    sys.stderr.write(clean(question) + " " + _("[y/N]") + " ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().casefold()
    return answer in {_("y"), _("yes"), "y", "yes"}


def fields(pairs: list[tuple[str, str]]) -> None:
    """Label / value lines, aligned (no colon to typeset in each language)."""
    from rich.table import Table
    from rich.text import Text

    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    for label, value in pairs:
        grid.add_row(Text(label), Text(value))  # stored text is never read as markup
    console().print(grid)


def table(columns: list[str], rows: list[list[str]], title: str | None = None) -> None:
    """A rich table on stdout."""
    from rich.table import Table
    from rich.text import Text

    t = Table(title=title, show_lines=False)
    for col in columns:
        t.add_column(col)
    for row in rows:
        t.add_row(*(Text(cell) for cell in row))  # stored text is never read as markup
    console().print(t)


@contextmanager
def progress(label: str, total: int) -> Iterator[Callable[[], None]]:
    """A progress bar on a terminal (stderr); silent in pipes. Yields `advance()`."""
    if not sys.stderr.isatty() or total < 2:
        yield lambda: None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from msante.cli import safe_console

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(),
                  console=safe_console.make(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda: bar.advance(task)


def search_hit(short_id: str, date: str, title: str, type_label: str, snippet: str) -> None:
    """One search result: a heading line and the snippet with its matches in bold."""
    from rich.markup import escape

    parts = escape(snippet).split("**")
    marked = "".join(f"[bold yellow]{p}[/]" if i % 2 else p for i, p in enumerate(parts))
    con = console()
    con.print(f"[bold]{escape(title)}[/]  [dim]{short_id} · {date} · {escape(type_label)}[/]")
    con.print("  " + " ".join(marked.split()))
