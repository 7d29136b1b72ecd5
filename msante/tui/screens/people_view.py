"""What the People screen says about a person: age, majority, what the caregiver can do.

Plain functions of a person and a day (the app's clock), so that they are tested without a
screen and the table and the detail pane say the same thing.
"""

from __future__ import annotations

import datetime as dt
import re
import shlex
from typing import Any

from textual.content import Content

from msante.i18n import _, ngettext
from msante.people import SEX_LABELS, Person
from msante.profile.summary import age
from msante.text import fold
from msante.tui.screens.home import day
from msante.tui.widgets import MUTED, labelled

CURRENT_MARK = "▸"  # not ●: of ambiguous width, two cells in some terminals


def months_between(start: dt.date, end: dt.date) -> int:
    """Whole months from `start` to `end`."""
    return (end.year - start.year) * 12 + end.month - start.month - (end.day < start.day)


def age_text(born: dt.date, today: dt.date) -> str:
    """How old: in months under two years, in years after."""
    months = months_between(born, today)
    if months < 24:
        return ngettext("{n} month", "{n} months", months).format(n=months)
    years = age(born, today)
    return ngettext("{n} year", "{n} years", years).format(n=years)


def until_text(when: dt.date, today: dt.date) -> str:
    """How long until `when`: "in 11 years", "in 3 months", "in 5 days"."""
    years = age(today, when)
    if years >= 1:
        return ngettext("in {n} year", "in {n} years", years).format(n=years)
    months = months_between(today, when)
    if months >= 1:
        return ngettext("in {n} month", "in {n} months", months).format(n=months)
    days = (when - today).days
    return ngettext("in {n} day", "in {n} days", days).format(n=days)


def majority_status(person: Person, today: dt.date) -> str:
    """The table's majority column: "in 11 years", "of age: read only", or nothing."""
    if person.majority is None:
        return ""
    if person.read_only(today):
        return _("of age: read only")
    return until_text(person.majority, today)


def handover_command(person: Person) -> str:
    """The CLI command that hands a grown child's profile over, ready to paste."""
    slug = re.sub(r"[^a-z0-9]+", "-", fold(person.name)).strip("-") or "handover"
    return f"msante people handover {shlex.quote(person.name)} --out {slug}.msh"


def caregiver_text(person: Person, today: dt.date) -> Content:
    """What the caregiver can do with this profile, and what comes next."""
    if person.relation == "owner":
        return Content(_("Your own record: you are the owner of this vault."))
    if person.majority is None:
        return Content(_("A loved one whose records you keep. No majority date applies: "
                         "you can add and change everything."))
    if not person.read_only(today):
        return Content(_(
            "Until {date} you keep {name}'s record: documents, profile, measurements and "
            "appointments. On that day it becomes read-only for you, and you can hand it "
            "over to {name}.").format(date=day(person.majority), name=person.name))
    return Content("\n").join([
        Content(_("{name} came of age on {date}: you can still read this record but no "
                  "longer change it. Hand it over with this command in a terminal:")
                .format(name=person.name, date=day(person.majority))),
        Content.styled(f"  {handover_command(person)}", "bold"),
        Content(_("It writes an archive and shows a one-time code (only then): give both "
                  "to {name}, who imports it with 'msante backup restore FILE --merge'.")
                .format(name=person.name)),
    ])


def counts_text(counts: dict[str, Any] | None) -> str:
    """The person's records, counted: "4 documents · 2 profile entries · 9 activity entries"."""
    if not counts:
        return ""
    docs, entries, log = (int(counts.get(k, 0))
                          for k in ("documents", "profile_entries", "activity"))
    return " · ".join([
        ngettext("{n} document", "{n} documents", docs).format(n=docs),
        ngettext("{n} profile entry", "{n} profile entries", entries).format(n=entries),
        ngettext("{n} activity entry", "{n} activity entries", log).format(n=log),
    ])


def details(person: Person, today: dt.date, counts: dict[str, Any] | None) -> Content:
    """The detail pane: the person's facts, their records, what the caregiver can do."""
    majority = ""
    if person.majority is not None:
        majority = f"{day(person.majority)} — {majority_status(person, today)}"
    rows = [(_("Relation"), person.relation_label),
            (_("Born"), f"{day(person.born)} ({age_text(person.born, today)})"),
            (_("Sex"), _(SEX_LABELS[person.sex])),
            (_("Majority"), majority),
            (_("Records"), counts_text(counts))]
    lines = [labelled(label, value) for label, value in rows if value]
    return Content("\n").join([*lines, Content(""), caregiver_text(person, today),
                               Content(""), Content.styled(keys_text(person, today), MUTED)])


def keys_text(person: Person, today: dt.date) -> str:
    """The keys that work on this person (no rename once read-only, no removing the owner)."""
    keys = [_("Enter or s: show {name} on every screen").format(name=person.name)]
    if not person.read_only(today):
        keys.append(_("e: rename"))
    if person.relation != "owner":
        keys.append(_("Delete: remove"))
    return " · ".join(keys)
