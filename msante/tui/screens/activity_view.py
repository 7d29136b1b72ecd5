"""How the Activity screen words an entry and a verification: times, people, records, verdicts.

Everything read from the log is shown as plain text (cleaned of control characters): a forged
row must not be able to drive the terminal or fake a styled line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen

from msante.activity import Verification, action_label
from msante.i18n import _, ngettext
from msante.text import clean
from msante.tui import dates
from msante.tui.screens.dialogs import DIALOG_CSS
from msante.tui.widgets import MUTED, Plain, labelled
from msante.vault.audit import Entry

GOOD, BAD = "bold $success", "bold $error"
ACTORS: dict[str, Callable[[], str]] = {
    "delegate": lambda: _("delegate"), "pro": lambda: _("professional"),
    "professional": lambda: _("professional"), "device": lambda: _("device"),
}


def local_time(iso: object, *, seconds: bool = False, utc: bool = False) -> str:
    """A stored UTC time in the local time zone, or in UTC (a value that is not a time, as it
    is: a forged row may hold anything)."""
    try:
        when = dt.datetime.fromisoformat(str(iso))
        when = when.astimezone(dt.UTC) if utc else when.astimezone()
    except (ValueError, OverflowError):
        return clean(str(iso))
    return dates.moment(when, seconds=seconds)


def plain(value: object) -> str:
    """A detail's value as text: lists and objects without their brackets and quotes."""
    if isinstance(value, dict):
        return ", ".join(f"{plain(k)} {plain(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(plain(v) for v in value)
    return clean(str(value))


def who(actor: str) -> str:
    """Who acted, in words: "you" for the vault's owner, "Eve (delegate)" for `delegate:Eve`."""
    if actor == "owner":
        return _("you")
    kind, _sep, name = actor.partition(":")
    if name and kind in ACTORS:
        return _("{name} ({kind})").format(name=clean(name), kind=ACTORS[kind]())
    return clean(actor)


def record_text(entry: Entry, names: dict[str, str]) -> str:
    """What the entry is about: a title or a name, else the kind of measurement, the profile
    section or the file named in its details, else the start of the record's id."""
    if entry.record and entry.record in names:
        return clean(names[entry.record])
    detail = entry.detail
    if entry.action.startswith("measure.") and isinstance(detail.get("kind"), str):
        return _kind_label(detail["kind"])
    if entry.action.startswith("profile.") and isinstance(detail.get("section"), str):
        return _section_label(detail["section"])
    if entry.action == "agenda.done" and isinstance(detail.get("rule"), str):
        return _rule_label(detail["rule"])
    if isinstance(detail.get("file"), str):
        return clean(detail["file"])
    return clean(entry.record[:8]) if entry.record else ""


def _rule_label(code: str) -> str:
    """A prevention rule in words, or its code when this version does not know it."""
    from msante.agenda import prevention

    rule = prevention.rule(code)
    return clean(rule.label.get() if rule else code)


def _kind_label(code: str) -> str:
    from msante.errors import MsanteError
    from msante.measures import kinds

    try:
        return kinds.get(code).label
    except MsanteError:
        return clean(code)


def _section_label(code: str) -> str:
    from msante.errors import MsanteError
    from msante.profile import sections

    try:
        return _(sections.get(code).label)
    except MsanteError:
        return clean(code)


def person_text(entry: Entry, people: dict[str, str]) -> str:
    """The person the entry concerns, by name (nobody for the vault's own events)."""
    if not entry.person:
        return ""
    return clean(people.get(entry.person, entry.person[:8]))


def details(entry: Entry, people: dict[str, str], names: dict[str, str]) -> Content:
    """Everything an entry says, one field a line."""
    record = record_text(entry, names)
    if entry.record and record != clean(entry.record[:8]):
        record += f"  ({clean(entry.record)})"
    utc = local_time(entry.at, seconds=True, utc=True)
    rows = [(_("When"), f"{local_time(entry.at, seconds=True)}  ({utc} UTC)"),
            (_("Who"), who(entry.actor)),
            (_("Action"), f"{action_label(entry.action, entry.detail)}  ({clean(entry.action)})"),
            (_("Person"), person_text(entry, people) or _("(the vault itself)")),
            (_("Record"), record)]
    rows += [(clean(str(key)), plain(value)) for key, value in entry.detail.items()]
    lines = [Content.styled(_("Entry {n}").format(n=entry.seq), "bold")]
    lines += [labelled(label, value) for label, value in rows if value]
    return Content("\n").join(lines)


class EntryScreen(ModalScreen[None]):
    """One entry of the log, whole; Escape or Enter closes it."""

    DEFAULT_CSS = DIALOG_CSS.format(name="EntryScreen") + """
    EntryScreen > VerticalScroll { width: 76; max-height: 90%; padding: 0 1; }
    EntryScreen .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [Binding("escape,enter,q", "close", _("Close"))]

    def __init__(self, text: Content) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        with VerticalScroll() as box:
            box.border_title = _("Activity history")
            yield Plain(self.text, id="entry")
            yield Plain(_("Escape closes this entry."), classes="hint")

    def action_close(self) -> None:
        """Close the entry."""
        self.dismiss(None)


# -- the verdict of `v` ----------------------------------------------------------------------

MEANINGS = {
    "mac": lambda: _("This entry was changed after it was written, outside msante."),
    "order": lambda: _("An entry was deleted, moved or slipped in here, outside msante."),
    "truncated": lambda: _("The most recent entries were deleted, outside msante."),
    "rolled-back": lambda: _("The vault's database was swapped for an older copy: what "
                             "happened since then is hidden."),
    "head-forged": lambda: _("The vault's file that records the length of the history "
                             "(vault.json) was changed by hand."),
    "head-missing": lambda: _("The vault's file that records the length of the history "
                              "(vault.json) was changed by hand."),
}


def intact(result: Verification, last: Entry | None) -> Content:
    """The history is whole: say how long it is and up to when it was checked."""
    when = local_time(last.at) if last else "—"
    text = ngettext("The history is intact: {n} entry, chain checked up to {when}.",
                    "The history is intact: {n} entries, chain checked up to {when}.",
                    result.count).format(n=result.count, when=when)
    return Content("\n").join([
        Content.styled("✓ " + text, GOOD),
        Content.styled(_("No entry was edited, removed or reordered since it was written."),
                       MUTED)])


def broken(result: Verification, bad: Entry | None, people: dict[str, str]) -> Content:
    """The history was tampered with: which entry, what it means, what to do."""
    lines = [Content.styled("✗ " + result.explain(), BAD)]
    if bad is not None:
        now_reads = " · ".join(part for part in (
            local_time(bad.at), who(bad.actor), action_label(bad.action, bad.detail),
            person_text(bad, people)) if part)
        lines.append(Content.styled(_("Entry {n} now reads: {text}").format(
            n=bad.seq, text=now_reads), "$error"))
    lines.append(Content.styled(MEANINGS.get(result.reason, lambda: "")(), "$error"))
    if result.count and result.reason in ("mac", "order"):
        lines.append(Content(ngettext("Entry {n} is intact.",
                                      "Entries 1 to {n} are intact.",
                                      result.count).format(n=result.count)))
    lines.append(Content.styled(_(
        "What the history shows from there on cannot be trusted; your records are still "
        "encrypted. If you did not do this yourself, keep a copy of the vault folder as it is "
        "and compare it with a backup."), MUTED))
    return Content("\n").join(lines)
