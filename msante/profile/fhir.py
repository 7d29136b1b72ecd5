"""The FHIR mapping of a person: profile entries and measurements to an IPS, and back.

Export writes a FHIR R4 International Patient Summary (a document Bundle, msante.formats.fhir
builds its frame): current entries only (an entry marked entered in error is not exported),
each resource carrying our record id as an identifier (`urn:msante:entry`,
`urn:msante:measurement`) so that importing the file again changes nothing. A stored code
that FHIR R4 refuses is left out (the text stays) and reported as a warning. Import reads any
R4 bundle; each resource maps to profile entries or measurements, or is reported with the
reason it was not mapped. Each resource from outside is remembered by a key that tells its
source apart (`fhir.outside_key`). All its writes happen in one transaction, audited as
`fhir.import`.
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msante import __version__
from msante.errors import NotFoundError, UsageError
from msante.formats import fhir
from msante.formats.fhir import Item, Part, coding, concept, hl7, identifier
from msante.i18n import _, current
from msante.measures import kinds
from msante.measures.kinds import Kind
from msante.people import Person
from msante.profile import sections
from msante.profile.fhir_import import (
    BLOOD_GROUP,
    DOCUMENT_SYSTEM,
    KIND_SYSTEM,
    LIFESTYLE_LOINC,
    LIFESTYLE_SYSTEM,
    MEASUREMENTS,
    NONE_CODES,
    SCREENING_SYSTEM,
    UUID,
    Context,
    Row,
    check_patient,
    find_patient,
    rows_of,
)
from msante.profile.service import Entry
from msante.text import clean

if TYPE_CHECKING:
    from msante.api import Vault
    from msante.measures.service import Measurement

Json = dict[str, Any]
# Observation category of each kind that is not a vital sign (laboratory ones go to Results).
CATEGORIES = {"glucose": "laboratory", "hba1c": "laboratory", "steps": "activity"}


# == export ===================================================================================


def _code(entry: Entry, text: str) -> Json:
    """The entry's main text as a CodeableConcept, with its code when it has one."""
    code = entry.code
    return concept(text, *([coding(code.system, code.code, code.display)] if code else []))


def _frame(entry: Entry, kind: str) -> Json:
    """What every exported resource has: its type, id and our identifier."""
    return {"resourceType": kind, "id": entry.id,
            "identifier": identifier(fhir.ENTRY_SYSTEM, entry.id)}


def _tidy(resource: Json, entry: Entry | None = None) -> Json:
    """Drop empty fields; add the entry's note."""
    if entry is not None and entry.data.get("note"):
        resource["note"] = [{"text": entry.data["note"]}]
    return {k: v for k, v in resource.items() if v not in (None, [], {}, "")}


def _none_statement(entry: Entry, who: Json) -> Json:
    """"No known allergy" (medication, problem) with the IPS absent/unknown code."""
    code, display = NONE_CODES[entry.section]
    what = concept(None, coding(fhir.ABSENT, code, display))
    if entry.section == "treatments":
        return _frame(entry, "MedicationStatement") | {
            "status": "active", "medicationCodeableConcept": what, "subject": who}
    if entry.section == "allergies":
        return _frame(entry, "AllergyIntolerance") | {
            "clinicalStatus": hl7("allergyintolerance-clinical", "active"),
            "verificationStatus": hl7("allergyintolerance-verification", "confirmed"),
            "code": what, "patient": who}
    return _frame(entry, "Condition") | {
        "clinicalStatus": hl7("condition-clinical", "active"),
        "verificationStatus": hl7("condition-ver-status", "confirmed"),
        "category": [hl7("condition-category", "problem-list-item")], "code": what,
        "subject": who}


def _allergy(e: Entry, who: Json) -> Json:
    d = e.data
    severity = d.get("severity")
    reaction = ({"manifestation": [concept(d["reaction"]) if d.get("reaction")
                                   else fhir.absent_element()]}
                | ({"severity": severity} if severity else {}))
    return _tidy(_frame(e, "AllergyIntolerance") | {
        "clinicalStatus": hl7("allergyintolerance-clinical", "active"),
        "verificationStatus": hl7("allergyintolerance-verification", "confirmed"),
        "type": d.get("type"), "category": [d["category"]] if d.get("category") else None,
        "criticality": ("high" if severity == "severe" else "low") if severity else None,
        "code": _code(e, d["substance"]), "patient": who, "onsetDateTime": d.get("since"),
        "reaction": [reaction] if d.get("reaction") or severity else None}, e)


def _treatment(e: Entry, who: Json) -> Json:
    d = e.data
    end = d.get("end")
    done = bool(end) and str(end) < fhir.now_iso()[:len(str(end))]
    dose_text = ", ".join(str(d[k]) for k in ("dose", "frequency") if d.get(k))
    dosage = {"text": dose_text} | (
        {"timing": {"code": {"text": d["frequency"]}}} if d.get("frequency") else {})
    return _tidy(_frame(e, "MedicationStatement") | {
        "status": "completed" if done else "active",
        "medicationCodeableConcept": _code(e, d["medicine"]), "subject": who,
        "effectivePeriod": {k: d[k] for k in ("start", "end") if d.get(k)},
        "dosage": [dosage] if dose_text else None,
        "reasonCode": [concept(d["reason"])] if d.get("reason") else None}, e)


def _condition(e: Entry, who: Json) -> Json:
    d = e.data
    status, kind = d.get("status"), d.get("kind")
    category = [hl7("condition-category", "problem-list-item")] if status else []
    category += [concept(kind, coding(KIND_SYSTEM, kind))] if kind else []
    return _tidy(_frame(e, "Condition") | {
        "clinicalStatus": hl7("condition-clinical", status) if status else None,
        "verificationStatus": hl7("condition-ver-status", "confirmed"),
        "category": category, "code": _code(e, d["condition"]), "subject": who,
        "onsetDateTime": d.get("onset"), "abatementDateTime": d.get("resolved_on")}, e)


def _vaccination(e: Entry, who: Json) -> Json:
    d = e.data
    return _tidy(_frame(e, "Immunization") | {
        "status": "completed", "vaccineCode": _code(e, d["vaccine"]), "patient": who,
        "occurrenceDateTime": d["date"], "lotNumber": d.get("batch"),
        "protocolApplied": [{"doseNumberPositiveInt": int(d["dose"])}] if d.get("dose")
        else None}, e)


def _family(e: Entry, who: Json) -> Json:
    d = e.data
    return _tidy(_frame(e, "FamilyMemberHistory") | {
        "status": "completed", "patient": who, "relationship": concept(d["relative"]),
        "condition": [{"code": _code(e, d["condition"])}]}, e)


def _screening(e: Entry, who: Json) -> Json:
    d = e.data
    name = d["screening"]
    label = sections.CHOICE_LABELS.get(name, name)
    extra = [coding(e.code.system, e.code.code, e.code.display)] if e.code else []
    return _tidy(_frame(e, "Procedure") | {
        "status": "completed",
        "code": concept(_(label), coding(SCREENING_SYSTEM, name, label), *extra),
        "subject": who, "performedDateTime": d["date"],
        "outcome": concept(d["result"]) if d.get("result") else None}, e)


def _blood_group(e: Entry, who: Json) -> Json:
    return _tidy(_frame(e, "Observation") | {
        "status": "final", "category": [hl7("observation-category", "laboratory")],
        "code": concept(_("Blood group"), coding(
            fhir.LOINC, BLOOD_GROUP, "ABO and Rh group [Type] in Blood")),
        "subject": who, "valueCodeableConcept": _code(e, e.data["group"])})


def _directive(e: Entry, who: Json) -> Json:
    d = e.data
    text = d.get("text")
    extra = [_code(e, "")] if e.code else []
    return _tidy(_frame(e, "Consent") | {
        "identifier": identifier(fhir.ENTRY_SYSTEM, e.id) + (
            identifier(DOCUMENT_SYSTEM, d["document"]) if d.get("document") else []),
        "status": "active", "scope": hl7("consentscope", "adr", "Advanced Care Directive"),
        "category": [hl7("consentcategorycodes", "acd", "Advance Directive"), *extra],
        "patient": who, "dateTime": d.get("date"),
        "policyRule": concept(_("Advance directives")),
        "sourceAttachment": {"contentType": "text/plain;charset=utf-8", "data":
                             base64.b64encode(text.encode()).decode()} if text else None})


def _lifestyle(e: Entry, who: Json) -> Json:
    d = e.data
    topic = d["topic"]
    label = sections.CHOICE_LABELS.get(topic, topic)
    codes = [coding(LIFESTYLE_SYSTEM, topic, label)]
    codes += [coding(fhir.LOINC, *LIFESTYLE_LOINC[topic])] if topic in LIFESTYLE_LOINC else []
    value = ({"valueCodeableConcept": _code(e, d["text"])} if e.code
             else {"valueString": d["text"]})
    return _tidy(_frame(e, "Observation") | {
        "status": "final", "category": [hl7("observation-category", "social-history")],
        "code": concept(_(label), *codes), "subject": who,
        "effectiveDateTime": d.get("since")} | value)


# section → (resource builder, IPS section)
EXPORTERS: dict[str, tuple[Callable[[Entry, Json], Json], str]] = {
    "allergies": (_allergy, "allergies"), "treatments": (_treatment, "medications"),
    "conditions": (_condition, "problems"), "vaccinations": (_vaccination, "immunizations"),
    "family": (_family, "family-history"), "screenings": (_screening, "procedures"),
    "blood-group": (_blood_group, "results"), "directives": (_directive, "advance-directives"),
    "lifestyle": (_lifestyle, "social-history"),
}
NONE_SECTIONS = {"allergies": "allergies", "treatments": "medications",
                 "conditions": "problems"}


def _shown(spec: sections.Field, value: object) -> str:
    """A field's value for people: a choice in their language, the rest as it is."""
    if spec.kind == "enum":
        return _(sections.CHOICE_LABELS.get(str(value), str(value)))
    return " ".join(str(value).split())


def _line(entry: Entry) -> str:
    """The entry in its section's narrative: its main text, then its other fields."""
    spec = sections.get(entry.section)
    fields = [f for f in spec.fields if f.name in entry.data and f.kind != "doc"]
    if not fields:
        return entry.text()
    rest = [(f"{_(f.label)}: " if f.name != "text" else "") + _shown(f, entry.data[f.name])
            for f in fields[1:]]
    return _shown(fields[0], entry.data[fields[0].name]) + (
        " — " + "; ".join(rest) if rest else "")


def _entry_part(entry: Entry, who: Json) -> Part | None:
    """The entry as a resource of the document (None: the trusted person, in the Patient)."""
    line = _line(entry)
    if entry.is_none_statement:
        return Part(fhir.url_of(entry.id), _none_statement(entry, who),
                    NONE_SECTIONS[entry.section], entry.text())
    if entry.section not in EXPORTERS:
        return None
    build, where = EXPORTERS[entry.section]
    d = entry.data
    if entry.section == "conditions" and (d.get("status") == "resolved" or (
            not d.get("status") and d.get("resolved_on"))):
        where = "past-illness"
    return Part(fhir.url_of(entry.id), build(entry, who), where, line)


def _quantity(kind: Kind, value: float) -> Json:
    return {"value": value, "unit": kind.unit, "system": fhir.UCUM, "code": kind.ucum}


def _measure_part(m: Measurement, who: Json) -> Part:
    """A measurement as an Observation (blood pressure: a panel with two components)."""
    kind = kinds.get(m.kind)
    category = CATEGORIES.get(kind.name, "vital-signs")
    resource: Json = {
        "resourceType": "Observation", "id": m.id,
        "identifier": identifier(fhir.MEASUREMENT_SYSTEM, m.id), "status": "final",
        "category": [hl7("observation-category", category)],
        "code": concept(kind.label, coding(fhir.LOINC, kind.loinc, kind.label_text)),
        "subject": who, "effectiveDateTime": m.at}
    if kind.parts is not None:
        resource["component"] = [
            {"code": concept(None, coding(fhir.LOINC, code)), "valueQuantity": _quantity(kind, v)}
            for code, v in zip(kind.parts, (m.value, m.value2 or 0.0), strict=True)]
    else:
        resource["valueQuantity"] = _quantity(kind, m.value)
    if m.note:
        resource["note"] = [{"text": m.note}]
    line = f"{kind.label}: {m.display(current())} ({m.at[:10]})"
    return Part(fhir.url_of(m.id), resource,
                "results" if category == "laboratory" else "vital-signs", line)


def _human_name(name: str) -> Json:
    words = name.split()
    return {"text": name} | ({"family": words[-1], "given": words[:-1]} if len(words) > 1
                             else {"family": name})


def _contact(entry: Entry) -> Json:
    """A trusted person as one of the Patient's contacts (its id: our entry's id)."""
    d = entry.data
    codes = [coding(entry.code.system, entry.code.code, entry.code.display)] if entry.code \
        else []
    out: Json = {"id": entry.id, "name": {"text": d["name"]}}
    if d.get("relation") or codes:
        out["relationship"] = [concept(d.get("relation"), *codes)]
    if d.get("phone"):
        out["telecom"] = [{"system": "phone", "value": d["phone"]}]
    return out


def patient_resource(person: Person, trusted: list[Entry]) -> Json:
    """The Patient: name, birth date, gender; trusted people as contacts."""
    return _tidy({"resourceType": "Patient", "id": person.id,
                  "identifier": identifier(fhir.PERSON_SYSTEM, person.id),
                  "name": [_human_name(person.name)], "gender": person.sex,
                  "birthDate": person.born.isoformat(),
                  "contact": [_contact(e) for e in trusted]})


def _r4_code(entry: Entry, warnings: list[Json]) -> Entry:
    """The entry without its code when FHIR R4 refuses that coding (its text stays)."""
    code = entry.code
    if code is None:
        return entry
    problem = fhir.validation_error("Coding", coding(code.system, code.code, code.display))
    if problem is None:
        return entry
    warnings.append({"section": entry.section, "entry": entry.id[:8],
                     "code": f"{code.system}|{code.code}", "reason": problem})
    return entry._replace(code=None)


def build_ips(vault: Vault, person: Person, *, all_measurements: bool = False
              ) -> tuple[Json, Counter[str], list[Json]]:
    """The person's patient summary as a FHIR document Bundle, what it holds, and the codes
    left out because FHIR R4 refuses them."""
    who = {"reference": fhir.url_of(person.id)}
    warnings: list[Json] = []
    entries = [_r4_code(e, warnings) for e in vault.profile.list(person)]
    measures = (list(vault.measures.stream(person)) if all_measurements
                else list(vault.measures.latest(person).values()))
    parts = [p for e in entries if (p := _entry_part(e, who)) is not None]
    parts += [_measure_part(m, who) for m in measures]
    trusted = [e for e in entries if e.section == "trusted-person"]
    doc = fhir.Document(who["reference"], patient_resource(person, trusted),
                        _("Patient summary: {name}").format(name=person.name), parts,
                        version=__version__)
    counts = Counter(e.section for e in entries)
    counts[MEASUREMENTS] = len(measures)
    return fhir.document_bundle(doc), counts, warnings


def _refused(vault: Vault, bundle: Json, problem: str) -> UsageError:
    """Name the record whose resource FHIR R4 refuses, and why."""
    for each in bundle["entry"]:
        res = each["resource"]
        reason = fhir.validation_error(res["resourceType"], res)
        if reason is None:
            continue
        if rid := fhir.ids_of(res, fhir.ENTRY_SYSTEM):
            what = f"{vault.profile.get(rid).section} {rid[:8]}"
        elif rid := fhir.ids_of(res, fhir.MEASUREMENT_SYSTEM):
            what = f"{MEASUREMENTS} {rid[:8]}"
        else:
            what = res["resourceType"]
        return UsageError(_("Cannot export {what}: FHIR R4 refuses it ({reason}). Correct or "
                            "remove it, then export again.").format(what=what, reason=reason))
    return UsageError(_("Cannot export: FHIR R4 refuses the summary ({reason}).").format(
        reason=problem))


def export_ips(vault: Vault, person: Person, out_path: Path, *,
               all_measurements: bool = False, overwrite: bool = False) -> Json:
    """Write the person's IPS to a new 0600 file, audited as `fhir.export`; what was written
    (with `warnings`: the codes left out)."""
    bundle, counts, warnings = build_ips(vault, person, all_measurements=all_measurements)
    problems = fhir.ips_problems(bundle)
    try:
        fhir.check_r4(bundle)
    except ValueError as exc:
        raise _refused(vault, bundle, str(exc)) from None
    if problems:  # a bug of ours: never write a document that breaks the IPS rules
        raise RuntimeError("; ".join(problems))
    vault.store.export(out_path, fhir.dumps(bundle), "fhir.export", person=person.id,
                       detail={"file": out_path.name, "counts": dict(counts)},
                       overwrite=overwrite)
    return {"file": str(out_path), "person": person.name,
            "identifier": bundle["identifier"]["value"], "resources": len(bundle["entry"]),
            "counts": dict(sorted(counts.items())), "warnings": warnings}


# == import ===================================================================================


@dataclass
class Report:
    """What an import did."""

    file: str
    person: str
    added: Counter[str] = field(default_factory=Counter)
    unchanged: int = 0
    unmapped: list[Json] = field(default_factory=list)

    def miss(self, kind: str, ident: str | None, reason: str) -> None:
        """Report a resource that was not imported (no control character from the file)."""
        self.unmapped.append({"resource": clean(kind), "id": clean(ident or ""),
                              "reason": clean(reason)})

    def to_json(self) -> Json:
        """The stable JSON form (docs/cli.md)."""
        order = [s.name for s in sections.SECTIONS] + [MEASUREMENTS]
        added = {name: self.added[name] for name in order if self.added[name]}
        return {"added": added, "unchanged": self.unchanged,
                "unmapped": self.unmapped, "file": self.file, "person": self.person}


@dataclass
class Plan:
    """The rows to write, each with the resource it came from and its outside key."""

    facts: list[tuple[Item, Row, str]] = field(default_factory=list)
    nones: list[str] = field(default_factory=list)


def _carried_id(item: Item, row: Row) -> str | None:
    """The msante record id the resource carries (an export of ours), if any."""
    system = fhir.MEASUREMENT_SYSTEM if row.target == MEASUREMENTS else fhir.ENTRY_SYSTEM
    ours = row.ours or (None if row.suffix else fhir.ids_of(item.resource, system))
    return ours if ours and UUID.fullmatch(ours) else None


def _known(vault: Vault, person: Person, carried: list[str], keys: list[str]) -> set[str]:
    """Which carried record ids are in the vault (removed ones too: they stay removed), and
    which of `keys` the person's entries came from; a few queries, however many rows."""
    ids = vault.profile.known_ids(person, carried) | vault.measures.known_ids(person, carried)
    return ids | set(vault.profile.by_external_id(person, keys))


def _plan(vault: Vault, person: Person, rows: list[tuple[Item, Row]], report: Report,
          scope: str) -> Plan:
    """Leave out what is already there; refuse keys seen twice and contradictions."""
    keyed = [(item, row, _key(item, row, scope), _carried_id(item, row)) for item, row in rows]
    known = _known(vault, person, [c for *_rest, c in keyed if c],
                   list(dict.fromkeys(k for _i, _r, k, _c in keyed)))
    nones = _Nones.of(vault, person, [row for _i, row in rows])
    plan, seen = Plan(), set[str]()
    for item, row, key, carried in keyed:
        if row.none:
            nones.plan(item, row, carried in known, plan, report)
        elif key in seen:
            report.miss(item.type, item.label, _("the same identifier as another resource"))
        elif carried in known or key in known:
            report.unchanged += 1
        else:
            plan.facts.append((item, row, key))
        seen.add(key)
    return plan


def _key(item: Item, row: Row, scope: str) -> str:
    return fhir.outside_key(item, scope) + row.suffix


@dataclass
class _Nones:
    """What deciding on "no known …" statements looks at, looked up once per section."""

    current: dict[str, list[Entry]]  # the person's current entries of these sections
    facts: set[str]  # the sections in which the file lists facts

    @classmethod
    def of(cls, vault: Vault, person: Person, rows: list[Row]) -> _Nones:
        """Look up the sections of the file's statements."""
        wanted = {r.target for r in rows if r.none}
        return cls({s: vault.profile.list(person, s) for s in wanted},
                   {r.target for r in rows if not r.none})

    def plan(self, item: Item, row: Row, ours: bool, plan: Plan, report: Report) -> None:
        """Add the statement, or count it unchanged (`ours`: its record is in the vault,
        even superseded since), or report what it contradicts."""
        current = self.current[row.target]
        if ours or row.target in plan.nones or any(e.is_none_statement for e in current):
            report.unchanged += 1
        elif current or row.target in self.facts:
            report.miss(item.type, item.label, _("it contradicts the {section} listed").format(
                section=_(sections.get(row.target).label).lower()))
        else:
            plan.nones.append(row.target)


class _NothingAdded(Exception):
    """Roll back a transaction in which every row turned out to be there already."""


def _add(vault: Vault, tx: Any, person: Person, row: Row, key: str | None,
         source: str) -> str | None:
    """Write one row; None when it was already there, else what it was counted as."""
    from msante.measures.service import Duplicate

    values = {k: v for k, v in row.values.items() if v not in (None, "")}
    if row.target != MEASUREMENTS:
        vault.profile.add_in(tx, person, row.target, values, code=row.code, provenance="fhir",
                             source=source, external_id=key)
        return row.target
    try:
        vault.measures.add_in(tx, person, values["kind"], values["value_text"],
                              values.get("unit"), values["at"], values.get("note"),
                              provenance="fhir", external_id=key)
    except Duplicate:
        return None
    return MEASUREMENTS


def _write(vault: Vault, person: Person, plan: Plan, report: Report, source: str) -> None:
    """The statements "no known …", then every other row in one audited transaction."""
    if not plan.facts and not plan.nones:
        return
    try:
        with vault.store.write() as tx:
            for section in plan.nones:
                vault.profile.add_none_in(tx, person, section, provenance="fhir",
                                          source=source)
                report.added[section] += 1
            for item, row, key in plan.facts:
                try:
                    counted = _add(vault, tx, person, row, key, source)
                except (UsageError, ValueError, OverflowError) as exc:
                    report.miss(item.type, item.label + row.suffix, _refusal(exc))
                    continue
                if counted:
                    report.added[counted] += 1
                else:
                    report.unchanged += 1
            if not sum(report.added.values()):
                raise _NothingAdded
            vault.store.log(tx, "fhir.import", person=person.id, detail={
                "file": source, "added": dict(report.added), "unchanged": report.unchanged,
                "unmapped": len(report.unmapped)})
    except _NothingAdded:
        pass


def _refusal(exc: Exception) -> str:
    """Why a row could not be written: the service's message, or a value out of range."""
    if isinstance(exc, UsageError):
        return exc.message
    return _("a value msante cannot store ({error})").format(error=exc)


def _read(path: Path) -> bytes:
    """The file's bytes: refused past fhir.MAX_BYTES, told by its size or by reading no
    further (a device or a pipe has no size)."""
    try:
        if path.stat().st_size > fhir.MAX_BYTES:
            raise fhir.too_large()
        with path.open("rb") as f:
            data = f.read(fhir.MAX_BYTES + 1)
    except FileNotFoundError:
        raise NotFoundError(_("No file {path}.").format(path=path)) from None
    except OSError as exc:
        raise UsageError(_("Cannot read {path}: {error}").format(
            path=path, error=exc.strerror)) from None
    if len(data) > fhir.MAX_BYTES:
        raise fhir.too_large()
    return data


def import_bundle(vault: Vault, person: Person, path: Path, force: bool = False) -> Json:
    """Import a FHIR R4 bundle into the person's profile and measurements; what was done."""
    parsed = fhir.read_bundle(_read(path))
    vault.people.check_writable(person)
    ctx = Context(parsed, find_patient(parsed))
    check_patient(ctx.patient, person, force)
    report = Report(str(path), person.name)
    for bad in parsed.rejected:
        report.miss(bad.resource, bad.id, bad.reason)
    rows = [(item, row) for item in parsed.items for row in rows_of(ctx, item, report.miss)]
    scope = fhir.source_scope(parsed.bundle, ctx.patient.resource if ctx.patient else None)
    _write(vault, person, _plan(vault, person, rows, report, scope), report, path.name)
    return report.to_json()
