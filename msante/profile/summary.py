"""The printable summary of a person's profile (a PDF) and their emergency card (a QR code).

`build_summary` reads the profile once (one query) and the latest measurement of each kind
(one query, however many are stored) and lays them out as a neutral document for
`msante.formats.pdf_out`: identity, allergies first, treatments (current, then past),
conditions (current, then history), vaccinations, latest measurements, other sections when
filled in, trusted person, advance directives. Allergies, treatments and the sections every
reader looks for say "none recorded" (or the person's "no known allergy") rather than vanish.

Current and past follow one rule for the summary and the card: a treatment is past once its
`end` is before today (a partial end, 2024 or 2024-03, means the end of that year or month); a
condition is history when it is surgical, resolved, or has a date it resolved on. The card
lists only current ones; the summary prints both, current first.

The emergency card holds what a rescuer needs; its QR text must stay under `QR_MAX_BYTES`
(UTF-8). When it does not fit, it loses, in this order (`DROP_ORDER`): notes, allergy
reactions, treatments' doses and frequencies, then every text is shortened, then the lists
are cut with "+N more": conditions, trusted persons after the first, treatments, allergies
(severe ones are listed first, so they stay longest). The name, birth date, blood group and
the first trusted person's phone are never left out.

Files written here are plaintext leaving the vault: new 0600 files, audited in the same
transaction (`summary.pdf`, `summary.emergency`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from msante import i18n
from msante.errors import MsanteError
from msante.formats import pdf_out
from msante.i18n import N_, _, ngettext
from msante.people import SEX_LABELS, Person
from msante.profile import sections
from msante.profile.service import Entry

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.measures.service import Measurement

QR_MAX_BYTES = 1000
SHORT = 40  # characters kept of each text once texts are shortened
DROP_ORDER = ("notes", "reactions", "doses", "shortened", "conditions", "trusted-persons",
              "treatments", "allergies")
_DETAILS = {"notes": {"note"}, "reactions": {"reaction"}, "doses": {"dose", "frequency"}}
_SEVERITY_RANK = {"severe": 0, "moderate": 1, "mild": 2}

# section → its table's columns: (fields shown in the column, relative width)
TABLES: dict[str, tuple[tuple[tuple[str, ...], float], ...]] = {
    "allergies": ((("substance",), 3), (("reaction",), 3), (("severity",), 1.7),
                  (("type", "category"), 2.3), (("since",), 1.8), (("note",), 3)),
    "treatments": ((("medicine",), 3), (("dose",), 1.8), (("frequency",), 2),
                   (("start",), 1.8), (("end",), 1.8), (("reason", "note"), 3.2)),
    "conditions": ((("condition",), 4), (("kind",), 1.8), (("onset",), 1.8),
                   (("resolved_on",), 1.8), (("note",), 4)),
    "vaccinations": ((("vaccine",), 4), (("date",), 2), (("dose",), 1.5), (("batch",), 2),
                     (("note",), 4)),
    "family": ((("condition",), 4), (("relative",), 2.5), (("note",), 4)),
    "screenings": ((("screening",), 4), (("date",), 2), (("result",), 3), (("note",), 3)),
    "lifestyle": ((("topic",), 2), (("text",), 6), (("since",), 2)),
    "trusted-person": ((("name",), 4), (("relation",), 3), (("phone",), 3)),
}
HEADINGS: dict[tuple[str, ...], str] = {("type", "category"): N_("Type")}


# -- dates in the user's language ----------------------------------------------------------


def long_date(day: dt.date) -> str:
    """A date in words, in the user's language ("23 novembre 2026")."""
    from babel.dates import format_date

    return str(format_date(day, "long", locale=i18n.current()))


def partial_date_text(value: str) -> str:
    """A stored partial date (2019, 2019-03, 2019-03-12) in the user's language."""
    from babel.dates import format_date, format_skeleton

    parts = value.split("-")
    try:
        if len(parts) == 3:
            return str(format_date(dt.date.fromisoformat(value), "medium",
                                   locale=i18n.current()))
        if len(parts) == 2:
            return str(format_skeleton("yMMM", dt.date(int(parts[0]), int(parts[1]), 1),
                                       locale=i18n.current()))
    except ValueError:
        pass
    return value


def age(born: dt.date, today: dt.date) -> int:
    """Whole years from `born` to `today`."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def field_text(section: sections.Section, name: str, data: dict[str, Any]) -> str:
    """One field of an entry as shown to people (choices and dates translated)."""
    value = data.get(name)
    if value is None or value == "":
        return ""
    kind = section.get(name).kind
    if kind == "enum":
        label = sections.CHOICE_LABELS.get(str(value))
        return _(label) if label else str(value)
    return partial_date_text(str(value)) if kind == "date" else str(value)


# -- the printable summary ----------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    """A person's summary: the document to print and how many entries each section holds."""

    person: Person
    issued: dt.date
    document: pdf_out.Document
    counts: dict[str, int]


def build_summary(vault: Vault, person: Person, today: dt.date | None = None) -> Summary:
    """The printable summary of `person`'s profile and latest measurements."""
    issued = today or dt.date.today()
    by = _by_section(vault.profile.list(person))
    latest = list(vault.measures.latest(person).values())
    parts = [_identity(person, by, issued), *_clinical(by, issued), _measures(latest),
             *_optional(by), _listed("trusted-person", by), _directives(by)]
    counts = {s.name: len(_facts(by.get(s.name, []))) for s in sections.SECTIONS}
    return Summary(person, issued, _document(person, issued, parts),
                   counts | {"measurements": len(latest)})


def _by_section(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    by: dict[str, list[Entry]] = {}
    for entry in entries:
        by.setdefault(entry.section, []).append(entry)
    return by


def _facts(entries: Sequence[Entry]) -> list[Entry]:
    return [e for e in entries if not e.is_none_statement]


def _document(person: Person, issued: dt.date,
              parts: list[pdf_out.Section]) -> pdf_out.Document:
    title = _("Health summary")
    who = _("{name}, born {date}").format(name=person.name, date=long_date(person.born))
    return pdf_out.Document(
        title=title, subtitle=who, sections=parts, header=f"{who} — {title}",
        footer=_("Issued on {date}").format(date=long_date(issued)),
        page_label=_("Page {page}/{pages}"), language=i18n.current())


def _identity(person: Person, by: dict[str, list[Entry]], today: dt.date) -> pdf_out.Section:
    groups = by.get("blood-group", [])
    n = age(person.born, today)
    rows = [(_("Name"), person.name), (_("Birth date"), long_date(person.born)),
            (_("Age"), ngettext("{n} year", "{n} years", n).format(n=n)),
            (_("Sex"), _(SEX_LABELS.get(person.sex, person.sex))),
            (_("Blood group"), str(groups[0].data.get("group")) if groups
             else _("Not recorded"))]
    return pdf_out.Section(_("Identity"), [pdf_out.Table((), rows, (1, 3))])


def _clinical(by: dict[str, list[Entry]], today: dt.date) -> list[pdf_out.Section]:
    return [_listed("allergies", by), _current_and_past("treatments", by, today, _("Past")),
            _current_and_past("conditions", by, today, _("History")),
            _listed("vaccinations", by)]


def _optional(by: dict[str, list[Entry]]) -> list[pdf_out.Section]:
    return [_listed(name, by) for name in ("family", "screenings", "lifestyle") if by.get(name)]


def _empty_text(entries: Sequence[Entry]) -> str:
    """The person's "no known allergy" when they stated it, else "None recorded"."""
    statement = next((e for e in entries if e.is_none_statement), None)
    return statement.text() if statement else _("None recorded")


def _listed(name: str, by: dict[str, list[Entry]]) -> pdf_out.Section:
    spec = sections.get(name)
    facts = _facts(by.get(name, []))
    part: pdf_out.Table | str = _table(spec, facts) if facts else _empty_text(by.get(name, []))
    return pdf_out.Section(_(spec.label), [part])


def _table(spec: sections.Section, entries: Sequence[Entry],
           caption: str | None = None) -> pdf_out.Table:
    """The entries as a table; a column empty in every row is left out."""
    layout = TABLES[spec.name]
    cells = [[", ".join(t for t in (field_text(spec, f, e.shown) for f in names) if t)
              for names, _width in layout] for e in entries]
    used = [i for i in range(len(layout)) if i == 0 or any(row[i] for row in cells)]
    return pdf_out.Table(tuple(_heading(spec, layout[i][0]) for i in used),
                         [tuple(row[i] for i in used) for row in cells],
                         tuple(layout[i][1] for i in used), caption)


def _heading(spec: sections.Section, names: tuple[str, ...]) -> str:
    label = _(HEADINGS.get(names) or spec.get(names[0]).label)
    return label[:1].upper() + label[1:]


def resolved(entry: Entry) -> bool:
    """Whether a condition belongs to the history: surgical, resolved or with a resolved date."""
    data = entry.data
    return (data.get("kind") == "surgical" or data.get("status") == "resolved"
            or bool(data.get("resolved_on")))


def last_day(value: str) -> dt.date | None:
    """The last day a partial date covers (2024 → Dec 31, 2024-02 → Feb 29); None if unreadable."""
    parts = value.split("-")
    try:
        if len(parts) == 1:
            return dt.date(int(parts[0]), 12, 31)
        if len(parts) == 2:
            year, month = int(parts[0]), int(parts[1])
            return dt.date(year, month, calendar.monthrange(year, month)[1])
        return dt.date.fromisoformat(value)
    except ValueError:
        return None


def ended(entry: Entry, today: dt.date) -> bool:
    """Whether a treatment stopped before `today` (an unreadable end counts as current)."""
    end = last_day(str(entry.data.get("end") or ""))
    return end is not None and end < today


def current(name: str, by: dict[str, list[Entry]], today: dt.date) -> list[Entry]:
    """The current treatments or conditions, by the rules of the module docstring."""
    facts = _facts(by.get(name, []))
    if name == "conditions":
        return [e for e in facts if not resolved(e)]
    return [e for e in facts if not ended(e, today)]


def _current_and_past(name: str, by: dict[str, list[Entry]], today: dt.date,
                      past_caption: str) -> pdf_out.Section:
    """Treatments or conditions: the current ones, then the past ones under `past_caption`."""
    spec = sections.get(name)
    now = current(name, by, today)
    ids = {e.id for e in now}
    past = [e for e in _facts(by.get(name, [])) if e.id not in ids]
    parts: list[pdf_out.Table | str] = [
        _table(spec, group, caption) for group, caption in
        ((now, _("Current")), (past, past_caption)) if group]
    return pdf_out.Section(_(spec.label), parts or [_empty_text(by.get(name, []))])


def _measures(latest: Sequence[Measurement]) -> pdf_out.Section:
    from msante.measures.kinds import format_number

    lang = i18n.current()
    rows = []
    for m in latest:
        day = partial_date_text(m.time.astimezone().date().isoformat())
        rows.append((m.kind_info.label, m.display(lang), day))
        if m.bmi is not None:
            rows.append((_("BMI"), format_number(m.bmi, 1, lang) + " kg/m²", day))
    part: pdf_out.Table | str = pdf_out.Table(
        (_("Measurement"), _("Value"), _("Date")), rows, (4, 3, 3)) if rows else \
        _("None recorded")
    return pdf_out.Section(_("Latest measurements"), [part])


def _directive(data: dict[str, Any]) -> str:
    """"Jan 15, 2024 — the text (stored document 3f2a9c1e)"."""
    date = partial_date_text(str(data["date"])) + " — " if data.get("date") else ""
    doc = _("(stored document {id})").format(id=str(data["document"])[:8]) \
        if data.get("document") else ""
    return date + " ".join(t for t in (str(data.get("text") or ""), doc) if t)


def _directives(by: dict[str, list[Entry]]) -> pdf_out.Section:
    texts = [_directive(e.data) for e in by.get("directives", [])]
    return pdf_out.Section(_(sections.get("directives").label), texts or [_("None recorded")])


def save_pdf(vault: Vault, summary: Summary, path: Path, *, overwrite: bool = False) -> int:
    """Write the summary to a new 0600 PDF file (audited); return its number of pages."""
    rendered = pdf_out.render(summary.document)
    detail = {"file": path.name, "pages": rendered.pages}
    vault.store.export(path, rendered.data, "summary.pdf", person=summary.person.id,
                       detail=detail, overwrite=overwrite)
    return rendered.pages


# -- the emergency card ------------------------------------------------------------------


class Item(NamedTuple):
    """One entry of a card's list: its main text and its details (kind → text), in order."""

    text: str
    details: tuple[tuple[str, str], ...] = ()

    def to_json(self, main: str = "text") -> dict[str, str]:
        """The main text under `main`, and one key per detail (severity, dose, phone…)."""
        return {main: self.text, **dict(self.details)}


class Dropped(NamedTuple):
    """What the QR text left out to fit: a step of DROP_ORDER and how many items it took."""

    what: str
    number: int


class Fitted(NamedTuple):
    """A card's text within a byte budget, and what was left out."""

    text: str
    dropped: tuple[Dropped, ...]

    @property
    def size(self) -> int:
        """Its length in UTF-8 bytes."""
        return len(self.text.encode("utf-8"))


@dataclass
class _Trim:
    """How much of a card to leave out: the steps of DROP_ORDER taken, the items kept."""

    steps: set[str] = field(default_factory=set)
    keep: dict[str, int] = field(default_factory=dict)

    def cut(self, text: str) -> str:
        """`text`, shortened once that step is taken."""
        if "shortened" not in self.steps or len(text) <= SHORT:
            return text
        return text[:SHORT - 1].rstrip() + "…"

    def shows(self, kind: str) -> bool:
        """Whether details of this kind (note, reaction, dose…) are still shown."""
        return not any(kind in _DETAILS.get(step, ()) for step in self.steps)


@dataclass(frozen=True)
class Card:
    """What a rescuer needs to know, from a person's profile."""

    name: str
    born: dt.date
    blood_group: str | None
    lists: dict[str, tuple[Item, ...]]  # allergies, treatments, conditions, trusted-persons
    empty: dict[str, str]  # list → what to say when it is empty
    tetanus: tuple[str, str] | None = None  # the last tetanus-containing dose: vaccine, date

    def text(self, max_bytes: int | None = None) -> str:
        """The card as plain text, within `max_bytes` of UTF-8 when given."""
        return self.fit(max_bytes).text

    def fit(self, max_bytes: int | None = QR_MAX_BYTES) -> Fitted:
        """The card's text within the budget, leaving things out in DROP_ORDER."""
        trim = _Trim()
        for _state in self._trims(trim):
            text = self._render(trim)
            if max_bytes is None or len(text.encode("utf-8")) <= max_bytes:
                return Fitted(text, self._dropped(trim))
        raise MsanteError(_("The emergency card does not fit in {n} bytes.").format(
            n=max_bytes))

    def _trims(self, trim: _Trim) -> Iterator[None]:
        """Leave out a little more at each step (changing `trim` in place)."""
        yield None
        for step in DROP_ORDER:
            trim.steps.add(step)
            if step not in self.lists:
                yield None
                continue
            floor = 1 if step == "trusted-persons" else 0  # the first one's phone stays
            for kept in range(len(self.lists[step]) - 1, floor - 1, -1):
                trim.keep[step] = kept
                yield None

    def _render(self, trim: _Trim) -> str:
        return "\n".join([
            _("EMERGENCY CARD"),
            _("{name}, born {date}").format(name=trim.cut(self.name), date=long_date(self.born)),
            _("Blood group: {group}").format(group=self.blood_group or _("not recorded")),
            _("Last tetanus vaccination: {dose}").format(
                dose=self._tetanus(trim)),
            _("Allergies: {items}").format(items=self._list("allergies", trim)),
            _("Treatments: {items}").format(items=self._list("treatments", trim)),
            _("Current conditions: {items}").format(items=self._list("conditions", trim)),
            _("Trusted person: {items}").format(items=self._list("trusted-persons", trim)),
        ])

    def _tetanus(self, trim: _Trim) -> str:
        if self.tetanus is None:
            return _("not recorded")
        vaccine, day = self.tetanus
        return f"{trim.cut(vaccine)} ({partial_date_text(day)})"

    def _list(self, name: str, trim: _Trim) -> str:
        items = self.lists[name]
        if not items:
            return self.empty[name]
        kept = trim.keep.get(name, len(items))
        show = _contact_text if name == "trusted-persons" else _item_text
        texts = [show(item, trim) for item in items[:kept]]
        if kept < len(items):
            more = len(items) - kept
            texts.append(ngettext("+{n} more", "+{n} more", more).format(n=more))
        # TRANSLATORS: between the items of a list on the emergency card.
        return _("; ").join(texts)

    def _dropped(self, trim: _Trim) -> tuple[Dropped, ...]:
        out = [Dropped(step, self._count(step, trim)) for step in DROP_ORDER
               if step in trim.steps]
        return tuple(d for d in out if d.number)

    def _count(self, step: str, trim: _Trim) -> int:
        """How many items a step of DROP_ORDER took out of the card."""
        if step in self.lists:
            return len(self.lists[step]) - trim.keep.get(step, len(self.lists[step]))
        items = [i for group in self.lists.values() for i in group]
        if step in _DETAILS:
            return sum(1 for i in items if _DETAILS[step] & {k for k, _v in i.details})
        shown = [self.name] + [t for i in items for t in (
            i.text, *(v for k, v in i.details if k != "phone" and trim.shows(k)))]
        return sum(len(t) > SHORT for t in shown)

    def to_json(self) -> dict[str, Any]:
        """The card's fields (stable keys, docs/cli.md)."""
        return {"name": self.name, "born": self.born.isoformat(),
                "blood_group": self.blood_group,
                "last_tetanus": dict(zip(("vaccine", "date"), self.tetanus, strict=True))
                if self.tetanus else None,
                **{key: [i.to_json() for i in self.lists[key]]
                   for key in ("allergies", "treatments", "conditions")},
                "trusted_persons": [i.to_json("name") for i in self.lists["trusted-persons"]]}


def _item_text(item: Item, trim: _Trim) -> str:
    """"Pénicilline (severe, œdème)"."""
    details = [trim.cut(v) for k, v in item.details if trim.shows(k)]
    return trim.cut(item.text) + (f" ({', '.join(details)})" if details else "")


def _contact_text(item: Item, trim: _Trim) -> str:
    """"Jean Martin (husband) +33 6 12 34 56 78": the phone is never shortened."""
    fields = dict(item.details)
    relation = f" ({trim.cut(fields['relation'])})" if fields.get("relation") else ""
    phone = f" {fields['phone']}" if fields.get("phone") else ""
    return trim.cut(item.text) + relation + phone


def describe(item: Dropped) -> str:
    """What was left out, in words ("3 notes")."""
    n = item.number
    match item.what:
        case "notes":
            text = ngettext("{n} note", "{n} notes", n)
        case "reactions":
            text = ngettext("{n} allergy reaction", "{n} allergy reactions", n)
        case "doses":
            text = ngettext("the dose and frequency of {n} treatment",
                            "the doses and frequencies of {n} treatments", n)
        case "shortened":
            text = ngettext("{n} long text shortened", "{n} long texts shortened", n)
        case "conditions":
            text = ngettext("{n} condition", "{n} conditions", n)
        case "trusted-persons":
            text = ngettext("{n} trusted person", "{n} trusted persons", n)
        case "treatments":
            text = ngettext("{n} treatment", "{n} treatments", n)
        case _other:
            text = ngettext("{n} allergy", "{n} allergies", n)
    return text.format(n=n)


def emergency_card(vault: Vault, person: Person, today: dt.date | None = None) -> Card:
    """The emergency card of `person`: current treatments and conditions only."""
    by = _by_section(vault.profile.list(person))
    groups = by.get("blood-group", [])
    today = today or dt.date.today()
    lists = {
        "allergies": tuple(_allergy(e) for e in sorted(
            _facts(by.get("allergies", [])),
            key=lambda e: _SEVERITY_RANK.get(str(e.data.get("severity")), 3))),
        "treatments": tuple(_detailed(e, ("dose", "frequency", "note"))
                            for e in current("treatments", by, today)),
        "conditions": tuple(_detailed(e, ("note",)) for e in current("conditions", by, today)),
        "trusted-persons": tuple(_contact(e) for e in by.get("trusted-person", [])),
    }
    empty = {"allergies": _empty_text(by.get("allergies", [])),
             "treatments": _none_current("treatments", by),
             "conditions": _none_current("conditions", by),
             "trusted-persons": _("None recorded")}
    return Card(person.name, person.born, str(groups[0].data["group"]) if groups else None,
                lists, empty, _last_tetanus(by.get("vaccinations", [])))


def _last_tetanus(entries: Sequence[Entry]) -> tuple[str, str] | None:
    """The latest vaccination that protects against tetanus (a wound is the rescuer's first
    question), named as recorded, with its date."""
    from msante.agenda.rules import default_vaccines

    table = default_vaccines()
    given = [e for e in entries if "tetanus" in table.antigens_of(str(e.data.get("vaccine")))]
    if not given:
        return None
    last = max(given, key=lambda e: str(e.data["date"]))
    return str(last.data["vaccine"]), str(last.data["date"])


def _none_current(name: str, by: dict[str, list[Entry]]) -> str:
    """"None current" when only past entries are recorded, else as `_empty_text`."""
    return _("None current") if _facts(by.get(name, [])) else _empty_text(by.get(name, []))


def _detailed(entry: Entry, names: tuple[str, ...]) -> Item:
    spec = sections.get(entry.section)
    details = tuple((n, t) for n in names if (t := field_text(spec, n, entry.data)))
    return Item(entry.text(), details)


def _allergy(entry: Entry) -> Item:
    return _detailed(entry, ("severity", "reaction", "note"))


def _contact(entry: Entry) -> Item:
    details = tuple((k, str(entry.shown[k])) for k in ("relation", "phone") if entry.data.get(k))
    return Item(str(entry.data.get("name", "")), details)


def save_qr(vault: Vault, person: Person, card: Card, path: Path,
            max_bytes: int = QR_MAX_BYTES, *, overwrite: bool = False) -> Fitted:
    """Write the card's QR code to a new 0600 PNG file (audited); return the text it holds."""
    from msante.formats import qr

    fitted = card.fit(max_bytes)
    detail = {"file": path.name, "bytes": fitted.size,
              "dropped": {d.what: d.number for d in fitted.dropped}}
    vault.store.export(path, qr.png(fitted.text), "summary.emergency", person=person.id,
                       detail=detail, overwrite=overwrite)
    return fitted
