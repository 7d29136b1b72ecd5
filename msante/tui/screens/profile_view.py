"""How the Profile screen shows entries: the table's cells, the detail pane and the history.

Pure functions from the core's `Entry` and `Revision` to text: no widget, no vault.
"""

from __future__ import annotations

import textwrap
from typing import Any

from rich.text import Text
from textual.content import Content

from msante.i18n import _, ngettext
from msante.profile import sections
from msante.profile.sections import Field, Section
from msante.profile.service import NONE_SECTIONS, STATUS_LABELS, Code, Entry, Revision
from msante.tui import dates
from msante.tui.screens.profile_form import choice_label
from msante.tui.widgets import MUTED, labelled

STATUS_STYLE = {"entered-in-error": "strike", "superseded": "dim italic"}
"""How a row not current is shown: struck through as an error is on paper, or faded."""


def provenance_label(provenance: str) -> str:
    """Where an entry came from, in the user's language."""
    return {"typed": _("typed"), "fhir": _("a FHIR file"), "document": _("a document"),
            "professional": _("a health professional"),
            "prevention": _("a prevention item marked done")}.get(provenance, provenance)


def status_label(status: str | None) -> str:
    """An entry's status in the user's language."""
    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else (status or "")


def cell(text: str, style: str = "") -> Text:
    """A table cell: the text as it is (a DataTable reads a plain string as markup)."""
    return Text(text, style=style, no_wrap=True, overflow="ellipsis")


def row_style(status: str) -> str:
    """The style of an entry's cells by its status (nothing for a current entry)."""
    return STATUS_STYLE.get(status, "")


def section_prompt(section: Section, count: int, none_stated: bool, width: int) -> Content:
    """A line of the section list: its label, and how many entries (or "none") at the right."""
    label = _(section.label)
    if count:
        tail = str(count)
    elif none_stated:  # "Ø", as clinicians write it, where the word does not fit
        tail = _("none") if len(label) + 1 + len(_("none")) <= width else "Ø"
    else:
        tail = "·"
    # a long label (in French) goes on two lines, cut between words, the count on the last
    lines = textwrap.wrap(label, max(1, width - len(tail) - 1), break_long_words=False) or [""]
    head, last = "".join(line + "\n" for line in lines[:-1]), lines[-1]
    gap = width - len(last) - len(tail)
    return Content.assemble(head + last, " " * max(1, gap),
                            (tail, "bold $accent" if count else MUTED))


Titles = dict[str, str]
"""Document id → how to name it (date and title), for the field of advance directives."""


def field_value(spec: Field, value: object, documents: Titles | None = None) -> str:
    """A stored value as the screen shows it: a choice's label, a document's title."""
    if spec.kind == "doc":
        text = str(value)
        return (documents or {}).get(text) or _("document {id}").format(id=text[:8])
    return choice_label(value)


def entry_title(entry: Entry, documents: Titles | None = None) -> str:
    """The entry's main text, or its first field with a value when the first is empty
    (advance directives given as a stored document only)."""
    if text := entry.text():
        return text
    spec = sections.get(entry.section)
    return next((field_value(f, entry.shown[f.name], documents) for f in spec.fields
                 if f.name in entry.data), "")


def _rest(entry: Entry) -> list[Field]:
    """The fields with a value after the one the title shows."""
    spec = sections.get(entry.section)
    filled = [f for f in spec.fields if f.name in entry.data]
    return filled[1:] if not entry.text() else [f for f in filled if f != spec.fields[0]]


def details(entry: Entry, documents: Titles | None = None) -> str:
    """The fields after the first one, but the date (which has its column), on one line."""
    if entry.is_none_statement:
        return ""
    spec = sections.get(entry.section)
    return " · ".join(
        _("{label}: {value}").format(label=_(f.label),
                                     value=field_value(f, entry.shown[f.name], documents))
        for f in _rest(entry) if f.name != spec.date_field)


def code_text(code: Code | None) -> str:
    """A standard code as `sct 91936005 (display)`."""
    if code is None:
        return ""
    shown = f"{code.system.rstrip('/').rsplit('/', 1)[-1]} {code.code}"
    return f"{shown} ({code.display})" if code.display else shown


def detail(entry: Entry, history: list[Revision], documents: Titles | None = None) -> Content:
    """Everything about one entry: its fields, where it came from, and its earlier versions."""
    lines = [Content.styled(entry_title(entry, documents), "bold")]
    if not entry.is_none_statement:
        lines += [labelled(_(f.label), field_value(f, entry.shown[f.name], documents))
                  for f in _rest(entry)]
    if entry.code:
        lines.append(labelled(_("Code"), code_text(entry.code)))
    origin = provenance_label(entry.provenance) + (f" ({entry.source})" if entry.source else "")
    for facts in (((_("Status"), status_label(entry.status)), (_("Origin"), origin)),
                  ((_("Added"), dates.iso_day(entry.created_at)), (_("Id"), entry.id[:8]))):
        lines.append(Content(" · ").join(labelled(label, value) for label, value in facts))
    return Content("\n").join(lines + history_lines(entry, history))


def history_lines(entry: Entry, history: list[Revision]) -> list[Content]:
    """One line per earlier version: when it was replaced and what changed then."""
    if not history:
        return []
    title = ngettext("{n} earlier version", "{n} earlier versions", len(history)).format(
        n=len(history))
    versions = [*history, Revision(entry.revision, entry.data, entry.code, entry.status,
                                   entry.updated_at)]
    lines = [Content(""), Content.styled(title, "bold")]
    for old, new in zip(versions, versions[1:], strict=False):
        when = old.changed_at[:16].replace("T", " ")
        lines.append(Content.assemble((f"{when}  ", MUTED), _("; ").join(
            changes(entry.section, old, new)) or _("no change")))
    return lines


def changes(section: str, old: Revision, new: Revision) -> list[str]:
    """What differs between two versions: `severity: moderate → severe`, `status: …`."""
    pairs = [(_(spec.label), _shown(spec, old.data.get(spec.name)),
              _shown(spec, new.data.get(spec.name))) for spec in sections.get(section).fields]
    if new.code is not None:
        pairs.append((_("code"), code_text(old.code) or "—", code_text(new.code)))
    pairs.append((_("status"), status_label(old.status), status_label(new.status)))
    return [_("{label}: {value}").format(label=label, value=f"{before} → {after}")
            for label, before, after in pairs if before != after]


def _shown(spec: Field, value: Any) -> str:
    return "—" if value in (None, "") else field_value(spec, value)


def none_text(section: str) -> str:
    """The "no known …" statement of a section, in the user's language ("" when it has none)."""
    return _(NONE_SECTIONS[section]) if section in NONE_SECTIONS else ""
