"""Sync in words: the header's short state, Home's sync panel, a conflict's two versions.

Pure functions over `Vault.sync_status()` and `Vault.sync_conflicts()` (plain data).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from rich.cells import cell_len
from textual.content import Content

from msante.i18n import N_, _, ngettext
from msante.tui import dates
from msante.tui.cells import shorten
from msante.tui.screens.activity_view import local_time, plain
from msante.tui.widgets import MUTED, labelled

BAD, WARN = "bold $error", "bold $warning"
TYPES = {"people": N_("Person"), "profile_entries": N_("Profile entry"),
         "profile_history": N_("Profile history"), "documents": N_("Document"),
         "measurements": N_("Measurement"), "agenda_items": N_("Appointment"),
         "prevention_done": N_("Prevention act")}
MAX_VALUE = 200


def type_label(table: str) -> str:
    """A record type in words."""
    return _(TYPES[table]) if table in TYPES else table


def conflicts_text(n: int) -> str:
    """"2 conflicts"."""
    return ngettext("{n} conflict", "{n} conflicts", n).format(n=n)


def short(state: dict[str, Any] | None, running: bool) -> str:
    """The header's few words, or "" when this vault does not sync."""
    if not state or not state["configured"]:
        return ""
    if running:
        return _("syncing…")
    if state["conflicts"]:
        return _("sync: {conflicts}").format(conflicts=conflicts_text(state["conflicts"]))
    last = state["last_attempt"]
    if last and not last["ok"]:
        return _("sync failed")
    if not state["last_sync"]:
        return _("never synced")
    return _("synced {when}").format(when=_when_short(state["last_sync"]))


def _when_short(iso: str) -> str:
    """A past time as the header shows it: the time today, else the day."""
    try:
        when = dt.datetime.fromisoformat(iso).astimezone()
    except ValueError:
        return ""
    if when.date() == dt.datetime.now().astimezone().date():
        return when.strftime("%H:%M")
    return dates.day(when.date())


def panel(state: dict[str, Any], running: str | None, width: int = 0) -> Content:
    """Home's sync panel: how to set it up, or where it stands and what to do; the last
    error on one line of `width` cells (cut after a word: the notification and `msante sync
    status` have it whole)."""
    if not state["configured"]:
        return Content.assemble(
            (_("Not set up: your record stays on this device."), MUTED), "\n",
            _("To sync it with your other devices (end-to-end encrypted): "),
            ("msante sync setup " + _("SERVER_URL"), "bold"))
    lines = [_first_line(state), _second_line(state, running)]
    last = state["last_attempt"]
    if last and not last["ok"] and not running:
        label = _("Last attempt failed: ")
        error = shorten(last["error"] or "", width - cell_len(label)) if width else last["error"]
        lines.append(Content.assemble((label, BAD), error or ""))
    return Content("\n").join(lines)


def _first_line(state: dict[str, Any]) -> Content:
    when = local_time(state["last_sync"]) if state["last_sync"] else _("never")
    pending = state["pending_changes"]
    parts: list[Content] = [
        Content.assemble((_("Last sync: "), MUTED), when),
        Content(ngettext("{n} change to send", "{n} changes to send", pending)
                .format(n=pending))]
    if state["conflicts"]:
        parts.append(Content.styled(conflicts_text(state["conflicts"]), WARN))
    return Content(" · ").join(parts)


def _second_line(state: dict[str, Any], running: str | None) -> Content:
    if running:
        return Content.styled(running, "bold")
    keys = _("Y sync now")
    if state["conflicts"]:
        keys += " · " + _("K conflicts")
    bg = state.get("background") or {}
    if bg.get("on"):
        every = max(1, round(bg["every"] / 60))
        keys += " · " + _("background sync every {m} min").format(m=every)
    return Content.styled(keys, MUTED)


def progress_text(blob: str, done: int, total: int) -> str:
    """A file being sent or received, as the panel shows it."""
    percent = 100 * done // total if total else 100
    return _("Syncing… file {id}: {p} %").format(id=blob[:8], p=percent)


def result_text(result: dict[str, Any]) -> str:
    """What a sync did, in one sentence."""
    text = _("Synced: {sent} sent, {received} received.").format(
        sent=result["pushed"], received=result["applied"])
    if result["conflicts"]:
        text += " " + ngettext("{n} new conflict to resolve.", "{n} new conflicts to resolve.",
                               result["conflicts"]).format(n=result["conflicts"])
    return text


def row(conflict: dict[str, Any]) -> tuple[str, str, str, str]:
    """A conflict's table row: type, person, what differs, the other device."""
    differs = ", ".join(conflict["differs"]) or "—"
    theirs = conflict["theirs"]
    return (type_label(conflict["type"]), conflict["person"] or "", differs,
            str(theirs["device"]))


def value_text(value: Any) -> str:
    """A field's value as text (a JSON object without its braces), cut when very long."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict):
        text = " · ".join(f"{plain(k)}: {plain(v)}" for k, v in value.items())
    else:
        text = plain(value) if value is not None else "—"
    return text if len(text) <= MAX_VALUE else text[:MAX_VALUE - 1] + "…"


def side(title: str, version: dict[str, Any], fields: list[str]) -> Content:
    """One version of the record: whose and when, then the fields that differ."""
    when = local_time(version["at"]) if version.get("at") else ""
    head = Content.assemble((title, "bold"), (f"  {when}", MUTED))
    if version["deleted"]:
        return Content("\n").join([head, Content.styled(_("deleted"), BAD)])
    lines = [head]
    for name in fields:
        if name in version["fields"]:
            for label, value in _field_lines(name, version["fields"][name]):
                lines.append(labelled(label, value))
        else:  # a key inside a field holding an object (a profile entry's data)
            lines.append(labelled(plain(name), value_text(_inner(version["fields"], name))))
    return Content("\n").join(lines)


def _inner(fields: dict[str, Any], name: str) -> Any:
    """The value of `name` inside the first field that holds a JSON object with it."""
    for value in fields.values():
        if isinstance(value, str) and value[:1] == "{":
            try:
                value = json.loads(value)
            except ValueError:
                continue
        if isinstance(value, dict) and name in value:
            return value[name]
    return None


def _field_lines(name: str, value: Any) -> list[tuple[str, str]]:
    """(label, text) of one field: an object's own entries (a profile entry's data), one
    per line, else the field itself."""
    if isinstance(value, str) and value[:1] == "{":
        try:
            value = json.loads(value)
        except ValueError:
            pass
    if isinstance(value, dict) and value:
        return [(plain(k), value_text(v)) for k, v in value.items()]
    return [(name, value_text(value))]


def versions(conflict: dict[str, Any]) -> Content:
    """Both versions of a conflict, this device's first."""
    fields = conflict["differs"] or sorted(conflict["mine"]["fields"])
    theirs = _("Theirs ({device})").format(device=conflict["theirs"]["device"])
    return Content("\n\n").join([side(_("Mine (this device)"), conflict["mine"], fields),
                                 side(theirs, conflict["theirs"], fields)])
