"""`msante profile`: allergies, treatments, history, vaccinations and the rest of the profile."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from msante.cli import output, session
from msante.cli.options import AllOpt, check_person_choice, people_for
from msante.cli.vault_cmds import JsonOpt
from msante.errors import UsageError
from msante.i18n import _

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.profile.service import Entry


def _sections_help() -> str:
    from msante.profile import sections

    lines = [_("Sections and their fields (* required):")]
    for s in sections.SECTIONS:
        names = ", ".join(f.name.replace("_", "-") + ("*" if f.required else "")
                          for f in s.fields)
        lines.append(f"  {s.name}: {names}")
    return "\n\n".join(lines)


app = typer.Typer(help=_("The medical profile: allergies, treatments, medical history, "
                         "vaccinations, trusted person, advance directives…"),
                  no_args_is_help=True)

PersonOpt = Annotated[str | None, typer.Option(help=_("Whose profile (default: the owner)."))]
SectionArg = Annotated[str, typer.Argument(metavar=_("SECTION"), help=_(
    "allergies, treatments, conditions, vaccinations, family, screenings, blood-group, "
    "trusted-person, directives, lifestyle."))]
FieldsArg = Annotated[list[str] | None, typer.Argument(metavar=_("FIELD=VALUE..."), help=_(
    "The entry's fields, e.g. substance=Pénicilline severity=severe since=2010."))]
CodeOpt = Annotated[str | None, typer.Option(help=_(
    "A standard code: snomed:CODE, atc:CODE, cis:CODE, cvx:CODE, loinc:CODE or URI|CODE."))]


def _values(pairs: list[str] | None) -> dict[str, object]:
    """`name=value` arguments as a dict (a name may use - for _)."""
    out: dict[str, object] = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise UsageError(_("Expected FIELD=VALUE, got '{arg}'.").format(arg=pair))
        out[name.strip().lower().replace("-", "_")] = value
    return out


def _code(text: str | None) -> Any:
    from msante.profile.service import Code

    return Code.parse(text) if text else None


@app.command("show")
def show(
    person: Annotated[str | None, typer.Option(help=_(
        "Only this person's (default: the owner's)."))] = None,
    all_: AllOpt = False,
    section: Annotated[str | None, typer.Option(help=_("Only this section."))] = None,
    inactive: Annotated[bool, typer.Option("--inactive", help=_(
        "Also entries entered in error or superseded."))] = False,
    json_: JsonOpt = False,
) -> None:
    """Show the profile, section by section.

    Example: msante profile show --person "Léo Martin" --section vaccinations
    """
    from msante.profile import sections

    if section:
        sections.get(section)
    check_person_choice(person, all_)
    with session.open_vault() as vault:
        people = people_for(vault, person, all_)
        shown = [(who, vault.profile.list(who, section, everything=inactive)) for who in people]
    if json_:
        output.print_json([e.to_json(who.name) for who, entries in shown for e in entries])
        return
    for who, entries in shown:
        if all_:
            output.console().print(f"\n[bold]{_escape(who.name)}[/]")
        if not entries:
            output.info(_("Nothing recorded yet. Add an entry with: msante profile add SECTION "
                          "FIELD=VALUE…"))
        _print(entries, inactive)


def _escape(text: str) -> str:
    from rich.markup import escape

    return escape(text)


def _print(entries: list[Entry], with_status: bool) -> None:
    from msante.profile import sections

    for spec in sections.SECTIONS:
        mine = [e for e in entries if e.section == spec.name]
        if mine:
            columns = ["Id", _("Entry"), _("Details"), _("Date")] + (
                [_("Status")] if with_status else [])
            output.table(columns, [[e.id[:8], e.text(), _details(e), e.sort_date or "—"]
                                   + ([_status(e.status)] if with_status else []) for e in mine],
                         title=_(spec.label))


def _details(entry: Entry) -> str:
    from msante.profile import sections

    spec = sections.get(entry.section)
    parts = [_("{label}: {value}").format(label=_(f.label), value=_value(entry.shown[f.name]))
             for f in spec.fields[1:] if f.name in entry.data and f.name != spec.date_field]
    if entry.code:
        parts.append(f"{entry.code.system.rsplit('/', 1)[-1]} {entry.code.code}")
    return " · ".join(parts)


def _value(value: object) -> str:
    from msante.profile import sections

    label = sections.CHOICE_LABELS.get(str(value))
    return _(label) if label else str(value)


def _status(status: str | None) -> str:
    from msante.profile.service import STATUS_LABELS

    return _(STATUS_LABELS[status]) if status in STATUS_LABELS else (status or "")


@app.command("add", epilog=_sections_help())
def add(
    section: SectionArg,
    fields: FieldsArg = None,
    code: CodeOpt = None,
    none: Annotated[bool, typer.Option("--none", help=_(
        "State that there is none: no known allergy, no current treatment, no medical "
        "history."))] = False,
    person: PersonOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Add an entry to a section of the profile.

    Example: msante profile add allergies substance=Pénicilline reaction=urticaire severity=severe
    """
    from msante.profile import sections

    spec = sections.get(section)  # every typed value read before the passphrase
    if none and fields:
        raise UsageError(_("--none takes no fields."))
    if not none:
        sections.validate(spec, _values(fields))
    _code(code)
    with session.open_vault() as vault:
        who = vault.people.get(person)
        if none:
            entry = vault.profile.add_none(who, section)
        else:
            entry = vault.profile.add(who, section, _values(fields), code=_code(code))
    _done(entry, who.name, json_, _("Added {text} ({id})."))


def _done(entry: Entry, name: str, json_: bool, message: str) -> None:
    if json_:
        output.print_json(entry.to_json(name))
    else:
        output.info(message.format(text=entry.text(), id=entry.id[:8]))


def _entry_in(vault: Vault, section: str | None, ref: str) -> Entry:
    """The entry `ref`; if a section is given too, it must be the entry's (the error names
    the right one)."""
    from msante.profile import sections

    entry = vault.profile.get(ref)
    if section is not None and entry.section != sections.get(section).name:
        raise UsageError(_("Entry {id} belongs to {section}, not {asked}.").format(
            id=ref, section=entry.section, asked=section))
    return entry


def _split_ref(words: list[str]) -> tuple[str | None, str, list[str]]:
    """`[SECTION] ID [FIELD=VALUE...]` as (section or None, id, the fields)."""
    from msante.profile import sections

    if not words or "=" in words[0]:
        raise UsageError(_("Give the entry's id, e.g. msante profile remove 3f2a."))
    if len(words) > 1 and "=" not in words[1]:
        sections.get(words[0])  # a second word that is no field: the first is the section
        return words[0], words[1], words[2:]
    return None, words[0], words[1:]


def _precheck(section: str | None, pairs: list[str]) -> None:
    """Read the typed fields before the passphrase: against the section when it is given,
    else against the field of that name wherever every section reads it the same way."""
    from msante.profile import sections

    values = _values(pairs)
    specs = [sections.get(section)] if section else list(sections.SECTIONS)
    for name, raw in values.items():
        owners = [s for s in specs if name in {f.name for f in s.fields}]
        if section and not owners:
            sections.validate(specs[0], {name: raw})  # names the fields it has
        if owners and len({s.get(name).kind for s in owners}) == 1 and str(raw).strip():
            sections.check_field(owners[0], name, raw)


def _no_more(rest: list[str]) -> None:
    if rest:
        raise UsageError(_("Got unexpected extra argument(s) ({args})").format(
            args=" ".join(rest)))


RefArg = Annotated[str, typer.Argument(metavar="ID", help=_(
    "The entry's id (or its first characters); 'SECTION ID' is read too, the section "
    "checked."))]
SecondArg = Annotated[str | None, typer.Argument(hidden=True)]


@app.command("edit")
def edit(
    ref: RefArg,
    fields: FieldsArg = None,
    code: CodeOpt = None,
    json_: JsonOpt = False,
) -> None:
    """Change fields of an entry (FIELD= empties an optional field); the old version is kept.

    Example: msante profile edit 3f2a dose="500 mg" frequency="2 fois par jour"
    """
    section, ref, fields = _split_ref([ref, *(fields or [])])
    _precheck(section, fields)
    _code(code)
    with session.open_vault() as vault:
        entry = _entry_in(vault, section, ref)
        entry = vault.profile.edit(entry.id, _values(fields), revision=entry.revision,
                                   code=_code(code))
        name = vault.people.get(entry.person).name
    _done(entry, name, json_, _("Changed {text} ({id})."))


@app.command("remove")
def remove(ref: RefArg, second: SecondArg = None, json_: JsonOpt = False) -> None:
    """Remove an entry: a clinical fact is marked "entered in error" (kept in its history).

    A trusted person or a lifestyle habit is deleted for good.

    Example: msante profile remove 3f2a
    """
    section, ref, rest = _split_ref([ref, *filter(None, [second])])
    _no_more(rest)
    with session.open_vault() as vault:
        entry = vault.profile.remove(_entry_in(vault, section, ref).id)
        name = vault.people.get(entry.person).name
    _done(entry, name, json_, _("Removed {text} ({id})."))


@app.command("history")
def history(ref: RefArg, second: SecondArg = None, json_: JsonOpt = False) -> None:
    """Show the previous versions of an entry.

    Example: msante profile history 3f2a
    """
    section, ref, rest = _split_ref([ref, *filter(None, [second])])
    _no_more(rest)
    with session.open_vault() as vault:
        entry = _entry_in(vault, section, ref)
        versions = vault.profile.history(entry)
    if json_:
        output.print_json([{"revision": v.revision, "fields": v.data, "status": v.status,
                            "changed_at": v.changed_at} for v in versions])
        return
    output.table([_("Revision"), _("Fields"), _("Status"), _("Replaced at")], [
        [str(v.revision), ", ".join(f"{k}: {val}" for k, val in v.data.items()),
         _status(v.status), v.changed_at[:19].replace("T", " ")] for v in versions]
        + [[str(entry.revision), ", ".join(f"{k}: {val}" for k, val in entry.data.items()),
            _status(entry.status), _("(current version)")]])
