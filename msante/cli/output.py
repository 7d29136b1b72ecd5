"""Rendering helpers shared by every command: JSON, one-line errors, tables, confirmations."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from msante.errors import ConfirmationRequired
from msante.i18n import _
from msante.text import clean


def print_json(data: Any) -> None:
    """Print `data` as JSON on stdout (UTF-8, stable key order)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, default=str) + "\n")


def print_json_line(data: Any) -> None:
    """Print one compact JSON object on its own line (for long, streamed output)."""
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """One line on stderr, in the user's language (stored text in it cannot drive the
    terminal)."""
    sys.stderr.write(clean(message, lines=True).rstrip() + "\n")


def info(message: str) -> None:
    """A line for people on stderr (so that stdout stays clean for data)."""
    sys.stderr.write(clean(message, lines=True).rstrip() + "\n")


def console() -> Any:
    """A rich console on stdout."""
    from rich.console import Console

    return Console(highlight=False)


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
    sys.stderr.write(question + " " + _("[y/N]") + " ")
    sys.stderr.flush()
    answer = sys.stdin.readline().strip().casefold()
    if answer not in {_("y"), _("yes"), "y", "yes"}:
        raise ConfirmationRequired(_("Cancelled: nothing was changed."))


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
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress("[progress.description]{task.description}", BarColumn(),
                  MofNCompleteColumn(), TimeRemainingColumn(),
                  console=Console(stderr=True), transient=True) as bar:
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
