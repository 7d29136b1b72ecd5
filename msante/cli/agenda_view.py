"""How `msante agenda` and `msante remind` show prevention items: status, window, why."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from msante.cli import output
from msante.i18n import N_, _

if TYPE_CHECKING:
    from msante.agenda.prevention import Item

STATUS_LABELS = {"overdue": N_("overdue"), "due": N_("due"), "coming": N_("coming"),
                 "done": N_("done"), "ask-doctor": N_("ask your doctor")}


def horizon_months(text: str) -> int:
    """Months ahead: 6mo, 2y (French 6mois, 2a); weeks or days round up to a month."""
    from msante import durations

    return durations.months(text, _("horizon"), high=240)


def item_json(item: Item, name: str) -> dict[str, Any]:
    """An item's JSON with the person's name."""
    return item.to_json() | {"person": name}


def iso(day: dt.date | None) -> str | None:
    """A day as YYYY-MM-DD, or None."""
    return day.isoformat() if day else None


_STYLES = {"overdue": "bold red", "due": "yellow", "coming": "cyan", "done": "green",
           "ask-doctor": "magenta"}


def print_items(rows: list[tuple[str, Item]], title: str | None = None) -> None:
    """One block per item, grouped by person: status, label, window; why; id to mark done."""
    from rich.markup import escape

    con = output.console()
    if title:
        con.print(f"[bold]{escape(title)}[/]")
    person = None
    for name, item in rows:
        if name != person and not title:
            con.print(f"\n[bold]{escape(name)}[/]")
        person = name
        status = _(STATUS_LABELS.get(item.status, item.status))
        window = _window(item)
        shown = f"  [dim]{escape(window)}[/]" if window else ""
        con.print(f"  [{_STYLES.get(item.status, '')}]{escape(status):<12}[/] "
                  f"{escape(item.label)}{shown}")
        con.print(f"    {escape(item.condition or item.why)}", highlight=False)
        if item.catch_up and item.status == "overdue":
            con.print(f"    {escape(item.catch_up)}", highlight=False)
        con.print(f"    [dim]{escape(item.id)} · {escape(item.sources_text())}[/]",
                  highlight=False)


def _window(item: Item) -> str:
    if item.status == "done" and item.done_on:
        return _("done on {date}").format(date=item.done_on.isoformat())
    return item.window_text()
