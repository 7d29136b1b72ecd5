"""FHIR resources read back as msante records: what each resource type becomes, or why not.

Each mapper turns one valid R4 resource into rows (a profile entry, a "no known …" statement
or a measurement), returns no row for what is only context ("no information" statements), or
raises NotMapped with the reason the import reports. Codes are kept (the first coding that is
not one of msante's own), partial dates stay partial, and units go to the measures module.
Every text a row keeps is cleaned of control characters (only notes and texts keep lines).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from msante.errors import UsageError
from msante.formats import fhir
from msante.formats.fhir import Item, Parsed
from msante.i18n import N_, _
from msante.measures import kinds
from msante.measures.kinds import Kind
from msante.people import Person
from msante.profile import fhir_dosage, fhir_terms
from msante.profile.service import Code
from msante.text import clean, fold

Json = dict[str, Any]
Miss = Callable[[str, str | None, str], None]
KIND_SYSTEM = "urn:msante:condition-kind"
SCREENING_SYSTEM = "urn:msante:screening"
LIFESTYLE_SYSTEM = "urn:msante:lifestyle"
DOCUMENT_SYSTEM = "urn:msante:document"
MEASUREMENTS = "measurements"
NONE_CODES = {"allergies": ("no-known-allergies", "No known allergies"),
              "treatments": ("no-known-medications", "No known medications"),
              "conditions": ("no-known-problems", "No known problems")}
LIFESTYLE_LOINC = {"tobacco": ("72166-2", "Tobacco smoking status"),
                   "alcohol": ("11331-6", "History of Alcohol use")}
LIFESTYLE_IN = {code: topic for topic, (code, _d) in LIFESTYLE_LOINC.items()} | {
    "74013-4": "alcohol"}  # Alcoholic drinks per day, as the IPS writes alcohol use
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
MULTILINE = {"note", "text"}  # the fields whose line breaks are kept


class NotMapped(Exception):
    """A resource that maps to nothing of ours; the message says why."""


@dataclass(frozen=True)
class Row:
    """What one resource becomes: a profile entry, a "none" statement or a measurement."""

    target: str  # a section name, or MEASUREMENTS
    values: Json
    code: Code | None = None
    none: bool = False
    suffix: str = ""  # told apart from the other rows of the same resource
    ours: str | None = None  # our record id, when the resource carries it
    problem: str | None = None  # this part of the resource could not be mapped


REFUSED = {"entered-in-error": N_("entered in error"), "not-taken": N_("marked as not taken"),
           "not-done": N_("marked as not done"), "refuted": N_("refuted"),
           "cancelled": N_("cancelled"), "rejected": N_("rejected"), "draft": N_("a draft")}
BLOOD_GROUP = fhir_terms.BLOOD_GROUP_LOINC
NONE_SECTIONS = ("allergies", "treatments", "conditions")  # those with a "no known …" entry


def _check_status(res: Json) -> None:
    """Refuse a resource entered in error, refuted, not done…"""
    found = [res.get("status")] + [c.get("code") for c in fhir.codings(
        res.get("verificationStatus"))]
    for code in found:
        if code in REFUSED:
            raise NotMapped(_("the resource is {status}").format(status=_(REFUSED[code])))


def _our_code(value: Any) -> Code | None:
    """The first coding of a concept that is not one of ours or absent/unknown."""
    skip = {fhir.ABSENT, KIND_SYSTEM, SCREENING_SYSTEM, LIFESTYLE_SYSTEM}
    for c in fhir.codings(value):
        if c.get("system") and c.get("code") and c["system"] not in skip:
            return Code(str(c["system"]), str(c["code"]), c.get("display"))
    return None


def _absent(value: Any, section: str) -> list[Row] | None:
    """A "no known …" statement as a row, "no information" as nothing; None: a real fact.

    A narrower statement ("no known food allergy") is neither an allergy nor "no known
    allergy": it is reported. One about what msante keeps no statement of (procedures,
    vaccinations, devices) is nothing, as "no information" is."""
    found = fhir_terms.absence(value)
    if found is None:
        return None
    if found.info or found.section not in NONE_SECTIONS:
        return []
    if found.section != section:
        raise NotMapped(_("the statement '{text}' does not belong here").format(
            text=fhir.text_of(value)))
    if found.scope is not None:
        raise NotMapped(_("it says there is no known {scope} allergy, nothing of other "
                          "allergies: msante records only 'no known allergy' at all").format(
            scope=_(found.scope)))
    return [Row(section, {}, none=True)]


def _text(value: Any, what: str) -> str:
    found = fhir.text_of(value)
    if not found:
        raise NotMapped(_("no {what} (neither a code nor a text)").format(what=what))
    return found


def _map_allergy(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    if (rows := _absent(res.get("code"), "allergies")) is not None:
        return rows
    if fhir.has_code(res.get("clinicalStatus"), fhir.TERMINOLOGY + "allergyintolerance-clinical",
                     "inactive", "resolved"):
        raise NotMapped(_("no longer active: msante lists current allergies"))
    reactions = res.get("reaction") or []
    said = [fhir.text_of(m) for r in reactions for m in r.get("manifestation") or []]
    severity = next((r["severity"] for r in reactions if r.get("severity")), None)
    return [Row("allergies", {
        "substance": _text(res.get("code"), _("substance")),
        "reaction": ", ".join(filter(None, said)) or None,
        "severity": severity or ("severe" if res.get("criticality") == "high" else None),
        "type": res.get("type"), "category": (res.get("category") or [None])[0],
        "since": fhir.day(res.get("onsetDateTime") or (res.get("onsetPeriod") or {}).get(
            "start")), "note": fhir.notes(res)}, _our_code(res.get("code")))]


def _medication(ctx: Context, res: Json) -> Json:
    """The medication's CodeableConcept, following a reference to a Medication."""
    if "medicationCodeableConcept" in res:
        return dict(res["medicationCodeableConcept"])
    ref = (res.get("medicationReference") or {}).get("reference")
    target = ctx.parsed.resolve(ref)
    if target is None or target.type != "Medication":
        raise NotMapped(_("its medication {ref} is not in the bundle").format(ref=ref))
    return dict(target.resource.get("code") or {})


def _map_medication(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    med = _medication(ctx, res)
    if (rows := _absent(med, "treatments")) is not None:
        return rows
    dose, frequency = fhir_dosage.dose_and_frequency(
        res.get("dosage") or res.get("dosageInstruction") or [])
    period = res.get("effectivePeriod") or {}
    start = period.get("start") or res.get("effectiveDateTime") or res.get("authoredOn")
    reasons = [fhir.text_of(r) for r in res.get("reasonCode") or []]
    return [Row("treatments", {
        "medicine": _text(med, _("medicine")), "dose": dose, "frequency": frequency,
        "start": fhir.day(start), "end": fhir.day(period.get("end")),
        "reason": ", ".join(filter(None, reasons)) or None, "note": fhir.notes(res)},
        _our_code(med))]


def _map_condition(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    if (rows := _absent(res.get("code"), "conditions")) is not None:
        return rows
    clinical = fhir.has_code(res.get("clinicalStatus"), fhir.TERMINOLOGY + "condition-clinical")
    status = {"active": "active", "recurrence": "active", "relapse": "active",
              "inactive": "resolved", "remission": "resolved", "resolved": "resolved"}
    kinds_found = [fhir.has_code(c, KIND_SYSTEM) for c in res.get("category") or []]
    return [Row("conditions", {
        "condition": _text(res.get("code"), _("condition")), "status": status.get(clinical or ""),
        "kind": next(filter(None, kinds_found), None),
        "onset": fhir.day(res.get("onsetDateTime") or (res.get("onsetPeriod") or {}).get(
            "start")),
        "resolved_on": fhir.day(res.get("abatementDateTime") or (
            res.get("abatementPeriod") or {}).get("end")),
        "note": fhir.notes(res)}, _our_code(res.get("code")))]


def _map_procedure(ctx: Context, res: Json) -> list[Row]:
    """A screening we exported, or any other procedure as surgical history."""
    _check_status(res)
    if (rows := _absent(res.get("code"), "conditions")) is not None:
        return rows
    when = fhir.day(res.get("performedDateTime") or (res.get("performedPeriod") or {}).get(
        "start"))
    screening = fhir.has_code(res.get("code"), SCREENING_SYSTEM)
    if screening:
        return [Row("screenings", {"screening": screening, "date": when,
                                   "result": fhir.text_of(res.get("outcome")),
                                   "note": fhir.notes(res)}, _our_code(res.get("code")))]
    return [Row("conditions", {"condition": _text(res.get("code"), _("procedure")),
                               "kind": "surgical", "onset": when, "note": fhir.notes(res)},
                _our_code(res.get("code")))]


def _map_immunization(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    if fhir.has_code(res.get("vaccineCode"), fhir.ABSENT) or fhir_terms.absence(
            res.get("vaccineCode")):
        return []
    applied = (res.get("protocolApplied") or [{}])[0]
    dose = applied.get("doseNumberPositiveInt") or applied.get("doseNumberString")
    return [Row("vaccinations", {
        "vaccine": _text(res.get("vaccineCode"), _("vaccine")),
        "date": fhir.day(res.get("occurrenceDateTime")) or res.get("occurrenceString"),
        "dose": dose if str(dose or "").isdigit() else None, "batch": res.get("lotNumber"),
        "note": fhir.notes(res)}, _our_code(res.get("vaccineCode")))]


def _map_family(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    relative = _text(res.get("relationship"), _("relative"))
    conditions = res.get("condition") or []
    if not conditions:
        raise NotMapped(_("no condition"))
    return [Row("family", {"condition": _text(c.get("code"), _("condition")),
                           "relative": relative, "note": fhir.notes(res)},
                _our_code(c.get("code")), suffix=f"#{i}" if i else "")
            for i, c in enumerate(conditions)]


def _map_consent(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    scope = fhir.has_code(res.get("scope"), fhir.TERMINOLOGY + "consentscope")
    if scope != "adr":
        raise NotMapped(_("only advance directives are kept"))
    text = None
    attachment = res.get("sourceAttachment") or {}
    if attachment.get("data") and str(attachment.get("contentType", "")).startswith("text/"):
        try:
            text = base64.b64decode(attachment["data"]).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise NotMapped(_("its text cannot be read")) from None
    codes = [c for c in res.get("category") or []
             if not fhir.has_code(c, fhir.TERMINOLOGY + "consentcategorycodes")]
    return [Row("directives", {
        "text": text or attachment.get("title"), "date": fhir.day(res.get("dateTime")),
        "document": fhir.ids_of(res, DOCUMENT_SYSTEM)}, _our_code(codes[0] if codes else None))]


def _blood_group(ctx: Context, res: Json, loincs: list[str]) -> list[Row] | None:
    """The blood group an Observation gives (alone, with its components, or with the Rh(D) or
    ABO Observation beside it in the file); None when it is about something else."""
    value = res.get("valueCodeableConcept") or res.get("valueString")
    whole = fhir_terms.group_of(res.get("code"))  # the finding itself as the code
    if whole is None and not {fhir_terms.BLOOD_GROUP_LOINC, fhir_terms.ABO_LOINC,
                              fhir_terms.RH_LOINC} & set(loincs):
        return None
    parts = [value, *(c.get("valueCodeableConcept") or c.get("valueString")
                      for c in res.get("component") or [])]
    if fhir_terms.ABO_LOINC in loincs or fhir_terms.RH_LOINC in loincs:
        parts += [_partner(ctx, res, loincs)]
    whole = whole or next(filter(None, map(fhir_terms.group_of, parts)), None)
    abo = next(filter(None, map(fhir_terms.abo_of, parts)), None)
    rh = next(filter(None, map(fhir_terms.rh_of, parts)), None)
    if whole is None and abo and rh:
        if fhir_terms.ABO_LOINC not in loincs and fhir_terms.BLOOD_GROUP_LOINC not in loincs:
            return []  # the Rh(D) half: the ABO Observation carries the group
        whole = abo + rh
    if whole is None:
        raise NotMapped(_blood_group_missing(abo, rh, fhir.text_of(value) or value or "?"))
    finding = res.get("code") if fhir_terms.group_of(res.get("code")) else None
    return [Row("blood-group", {"group": whole}, _our_code(value) or _our_code(finding))]


def _blood_group_missing(abo: str | None, rh: str | None, text: str) -> str:
    """Why a blood group cannot be kept: half of it, or words not understood."""
    if abo and not rh:
        return _("the ABO group {abo} without its Rh(D) factor: msante keeps the whole group "
                 "(e.g. A+)").format(abo=abo)
    if rh and not abo:
        return _("an Rh(D) factor without its ABO group: msante keeps the whole group "
                 "(e.g. A+)")
    return _("the blood group '{text}' is not understood").format(text=text)


def _partner(ctx: Context, res: Json, loincs: list[str]) -> Any:
    """The value of the other half of a blood group given as two Observations (ABO, Rh)."""
    wanted = fhir_terms.RH_LOINC if fhir_terms.ABO_LOINC in loincs else fhir_terms.ABO_LOINC
    for item in ctx.parsed.items:
        other = item.resource
        if item.type == "Observation" and other is not res and fhir.has_code(
                other.get("code"), fhir.LOINC, wanted):
            return other.get("valueCodeableConcept") or other.get("valueString")
    return None


def _value_text(res: Json) -> tuple[str | None, Code | None]:
    if res.get("valueString"):
        return str(res["valueString"]), None
    if res.get("valueCodeableConcept"):
        value = res["valueCodeableConcept"]
        return fhir.text_of(value), _our_code(value)
    q = res.get("valueQuantity") or {}
    return (f"{_num(q['value'])} {q.get('unit') or q.get('code') or ''}".strip()
            if "value" in q else None), None


def _map_observation(ctx: Context, res: Json) -> list[Row]:
    _check_status(res)
    loincs = [str(c.get("code")) for c in fhir.codings(res.get("code"))
              if c.get("system") == fhir.LOINC]
    if (rows := _blood_group(ctx, res, loincs)) is not None:
        return rows
    topic = fhir.has_code(res.get("code"), LIFESTYLE_SYSTEM) or next(
        (LIFESTYLE_IN[c] for c in loincs if c in LIFESTYLE_IN), None)
    if topic:
        text, code = _value_text(res)
        return [Row("lifestyle", {"topic": topic, "text": text,
                                  "since": fhir.day(res.get("effectiveDateTime"))}, code)]
    row = _measurement(res, _kind_of(loincs, res))
    if row.values["unit"] is None and (unit := next(
            (CODE_UNITS[c] for c in loincs if c in CODE_UNITS), None)):
        row = replace(row, values=row.values | {"unit": unit})
    return [row]


VITALS = {k.loinc: k for k in kinds.all_kinds()} | {
    code: kinds.get(name) for code, name in (
        ("3141-9", "weight"), ("55284-4", "blood-pressure"), ("2708-6", "spo2"),
        ("2345-7", "glucose"), ("15074-8", "glucose"), ("8331-1", "temperature"),
        ("17856-6", "hba1c"), ("4549-2", "hba1c"), ("59261-8", "hba1c"))}
# Codes whose unit is fixed by the code: a value that does not say its unit is in it.
CODE_UNITS = {"59261-8": "mmol/mol", "4548-4": "%", "17856-6": "%", "4549-2": "%"}
# UCUM codes the measures module does not spell; None: the kind's own unit (bpm or /min).
UCUM_UNITS = {"[lb_av]": "lb", "[degF]": "°F", "[in_i]": "in", "{steps}": "steps",
              "{beats}/min": "bpm", "mm[Hg]": "mmHg", "Cel": "°C", "/min": None}


def _kind_of(loincs: list[str], res: Json) -> Kind:
    for code in loincs:
        if code in VITALS:
            return VITALS[code]
    if kinds.BMI_LOINC in loincs:
        raise NotMapped(_("the body-mass index is computed from weight and height, not kept"))
    name = ", ".join(loincs) or fhir.text_of(res.get("code")) or "?"
    raise NotMapped(_("no kind of measurement for {code}").format(code=name))


def _num(value: Any) -> str:
    text = format(float(value), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _unit(q: Json) -> str | None:
    code = q.get("code") or q.get("unit")
    return UCUM_UNITS.get(str(code), str(code)) if code else None


def _measurement(res: Json, kind: Kind) -> Row:
    """An Observation as a measurement: its value(s) and unit as they came, its time."""
    at = (res.get("effectiveDateTime") or (res.get("effectivePeriod") or {}).get("start")
          or res.get("effectiveInstant") or res.get("issued"))
    if not at:
        raise NotMapped(_("no date"))
    if kind.parts is not None:
        parts = {fhir.has_code(c.get("code"), fhir.LOINC): c.get("valueQuantity") or {}
                 for c in res.get("component") or []}
        found = [parts.get(code, {}) for code in kind.parts]
        if not all("value" in q for q in found):
            raise NotMapped(_("a blood pressure needs its systolic and diastolic values"))
        text, unit = "/".join(_num(q["value"]) for q in found), _unit(found[0])
    else:
        q = res.get("valueQuantity") or {}
        if "value" not in q:
            raise NotMapped(_("no value"))
        text, unit = _num(q["value"]), _unit(q)
    return Row(MEASUREMENTS, {"kind": kind.name, "value_text": text, "unit": unit, "at": at,
                              "note": fhir.notes(res)})


def _map_patient(ctx: Context, res: Json) -> list[Row]:
    """The target Patient's contacts as trusted people; another Patient is not imported."""
    if ctx.patient is None or res is not ctx.patient.resource:
        raise NotMapped(_("another patient than the one imported"))
    rows = []
    for i, c in enumerate(res.get("contact") or []):
        name = _name_texts(c.get("name") or {})
        relation = (c.get("relationship") or [None])[0]
        phone = next((t.get("value") for t in c.get("telecom") or []
                      if t.get("system") == "phone"), None)
        ours = c.get("id") if UUID.fullmatch(str(c.get("id"))) else None
        words = (relation or {}).get("text") or fhir_terms.relation_words(relation)
        rows.append(Row("trusted-person", {"name": name[0] if name else None,
                                           "relation": words or fhir.text_of(relation),
                                           "phone": phone},
                        _our_code(relation), suffix=f"#contact-{i}", ours=ours,
                        problem=None if name else _("a contact without a name")))
    return rows


MAPPERS: dict[str, Callable[[Context, Json], list[Row]]] = {
    "AllergyIntolerance": _map_allergy, "MedicationStatement": _map_medication,
    "MedicationRequest": _map_medication, "Condition": _map_condition,
    "Procedure": _map_procedure, "Immunization": _map_immunization,
    "FamilyMemberHistory": _map_family, "Consent": _map_consent,
    "Observation": _map_observation, "Patient": _map_patient,
}
# Read for the context of others (the document, its authors, what statements refer to).
CONTEXT = {"Composition", "Practitioner", "PractitionerRole", "Organization", "Device",
           "Medication"}


@dataclass(frozen=True)
class Context:
    """What mapping one resource may look at: the bundle and its patient."""

    parsed: Parsed
    patient: Item | None


def _name_texts(name: Json) -> list[str]:
    """The ways a HumanName may be written: its text, given then family, family then given."""
    given, family = [str(g) for g in name.get("given") or []], name.get("family")
    out = [str(name["text"])] if name.get("text") else []
    if family:
        out += [" ".join([*given, str(family)]), " ".join([str(family), *given])]
        out += [f"{given[0]} {family}"] if given else []
    return [" ".join(clean(o).split()) for o in out if o.strip()]


def find_patient(parsed: Parsed) -> Item | None:
    """The bundle's patient: the Composition's subject, else its first Patient."""
    for item in parsed.items:
        if item.type == "Composition":
            target = parsed.resolve((item.resource.get("subject") or {}).get("reference"))
            if target is not None and target.type == "Patient":
                return target
    return next((i for i in parsed.items if i.type == "Patient"), None)


def check_patient(item: Item | None, person: Person, force: bool) -> None:
    """Refuse a bundle about someone else (name folded, birth date) unless forced."""
    if item is None or force:
        return
    names = [n for each in item.resource.get("name") or [] for n in _name_texts(each)]
    born = item.resource.get("birthDate")
    if (not names or fold(person.name) in map(fold, names)) and (
            not born or str(born) == person.born.isoformat()):
        return
    raise UsageError(_("This file is about {them} (born {their_birth}), not {name} (born "
                       "{birth}): choose the person with --person, or import anyway with "
                       "--force.").format(them=names[0] if names else "?",
                                          their_birth=born or "?", name=person.name,
                                          birth=person.born.isoformat()))


def _about_other(ctx: Context, res: Json) -> bool:
    ref = (res.get("subject") or res.get("patient") or {}).get("reference")
    target = ctx.parsed.resolve(ref)
    return (target is not None and target.type == "Patient" and ctx.patient is not None
            and target.resource is not ctx.patient.resource)


def rows_of(ctx: Context, item: Item, miss: Miss) -> list[Row]:
    """What one resource becomes; what it cannot become is reported."""
    if item.type in CONTEXT:
        return []
    mapper = MAPPERS.get(item.type)
    try:
        if mapper is None:
            raise NotMapped(_("msante keeps nothing of this kind"))
        if _about_other(ctx, item.resource):
            raise NotMapped(_("about another patient than the one imported"))
        rows = mapper(ctx, item.resource)
    except NotMapped as exc:
        miss(item.type, item.label, str(exc))
        return []
    except (ValueError, OverflowError) as exc:  # a number or date out of any range
        miss(item.type, item.label, _("a value cannot be read ({error})").format(error=exc))
        return []
    for row in rows:
        if row.problem:
            miss(item.type, item.label + row.suffix, row.problem)
    return [_cleaned(r) for r in rows if not r.problem]


def _cleaned(row: Row) -> Row:
    """The row with no control character in its texts and code."""
    values = {k: clean(v, lines=k in MULTILINE) if isinstance(v, str) else v
              for k, v in row.values.items()}
    code = row.code and Code(clean(row.code.system), clean(row.code.code),
                             clean(row.code.display) if row.code.display else None)
    return replace(row, values=values, code=code)
