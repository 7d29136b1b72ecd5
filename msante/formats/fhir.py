"""FHIR R4 bundles: build an International Patient Summary document, read any bundle, check it.

This module knows FHIR, not msante's records: it builds the document's frame (Bundle,
Composition, sections with their narrative, the author Device) from resources the caller
made, and reads a bundle with the `fhir.resources` R4B models (R4 4.0.1 content validates
there; the package's default, R5, rejects it). One bad resource does not sink a bundle: it
is set aside with the reason, for the caller to report — unless it is valid R5, which makes
the whole file an R5 bundle, refused. The IPS invariants that can be checked without a
terminology server are plain functions returning the problems found.

Text read from a file is cleaned of control characters (`msante.text.clean`) before anyone shows or
stores it. A resource from outside is named by `outside_key`, unique across sources.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import html
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from msante.errors import UsageError
from msante.i18n import N_, _, current
from msante.text import clean

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
UCUM = "http://unitsofmeasure.org"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
ABSENT = "http://hl7.org/fhir/uv/ips/CodeSystem/absent-unknown-uv-ips"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
RFC3986 = "urn:ietf:rfc:3986"
ENTRY_SYSTEM = "urn:msante:entry"
MEASUREMENT_SYSTEM = "urn:msante:measurement"
PERSON_SYSTEM = "urn:msante:person"
XHTML = "http://www.w3.org/1999/xhtml"
MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class SectionKind:
    """One IPS section: its key, LOINC code and display, and its title for people."""

    key: str
    loinc: str
    display: str
    title: str


SECTIONS = (
    SectionKind("allergies", "48765-2", "Allergies and adverse reactions Document",
                N_("Allergies and intolerances")),
    SectionKind("medications", "10160-0", "History of Medication use Narrative",
                N_("Medication summary")),
    SectionKind("problems", "11450-4", "Problem list - Reported", N_("Problem list")),
    SectionKind("immunizations", "11369-6", "History of Immunization Narrative",
                N_("Immunizations")),
    SectionKind("past-illness", "11348-0", "History of Past illness Narrative",
                N_("History of past illness")),
    SectionKind("procedures", "47519-4", "History of Procedures Document",
                N_("History of procedures")),
    SectionKind("family-history", "10157-6", "History of family member diseases Narrative",
                N_("Family history")),
    SectionKind("vital-signs", "8716-3", "Vital signs", N_("Vital signs")),
    SectionKind("results", "30954-2", "Relevant diagnostic tests/laboratory data Narrative",
                N_("Results")),
    SectionKind("social-history", "29762-2", "Social history Narrative",
                N_("Social history")),
    SectionKind("advance-directives", "42348-3", "Advance directives",
                N_("Advance directives")),
)
SECTION_BY_KEY = {s.key: s for s in SECTIONS}
REQUIRED_SECTIONS = ("allergies", "medications", "problems")
SUMMARY_TYPE = "60591-5"


# -- small builders -------------------------------------------------------------------------


def new_url() -> str:
    """A fresh `urn:uuid:` URL."""
    return url_of(str(uuid.uuid4()))


def url_of(record_id: str) -> str:
    """The `urn:uuid:` URL of a record id."""
    return f"urn:uuid:{record_id}"


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding."""
    return {"system": system, "code": code} | ({"display": display} if display else {})


def concept(text: str | None, *codings: dict[str, Any]) -> dict[str, Any]:
    """A CodeableConcept with its codings and text (either may be missing, not both)."""
    return ({"coding": list(codings)} if codings else {}) | ({"text": text} if text else {})


def hl7(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A CodeableConcept with one code of an HL7 terminology (`allergyintolerance-clinical`)."""
    return concept(None, coding(TERMINOLOGY + system, code, display))


def identifier(system: str, value: str) -> list[dict[str, Any]]:
    """An `identifier` list with one system and value."""
    return [{"system": system, "value": value}]


def absent_element() -> dict[str, Any]:
    """An element whose value is unknown (the data-absent-reason extension)."""
    return {"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}


def narrative(lines: list[str]) -> dict[str, Any]:
    """A generated narrative: an XHTML list of `lines` (escaped)."""
    items = "".join(f"<li>{html.escape(line)}</li>" for line in lines)
    nothing = _("No information.")
    body = f"<ul>{items}</ul>" if items else f"<p>{html.escape(nothing)}</p>"
    return {"status": "generated", "div": f'<div xmlns="{XHTML}">{body}</div>'}


def now_iso() -> str:
    """The current time as a FHIR instant (UTC, seconds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


# -- the document ---------------------------------------------------------------------------


@dataclass
class Part:
    """A resource to put in the document, the section it belongs to and its narrative line."""

    url: str
    resource: dict[str, Any]
    section: str | None = None
    line: str = ""


@dataclass
class Document:
    """What a patient summary is made of, before it becomes a Bundle."""

    patient_url: str
    patient: dict[str, Any]
    title: str
    parts: list[Part] = field(default_factory=list)
    author: str = "msante"
    version: str = ""


def device(name: str, version: str) -> dict[str, Any]:
    """The Device that authors the document (the program, not a clinician)."""
    out = {"resourceType": "Device",
           "deviceName": [{"name": name, "type": "user-friendly-name"}]}
    return out | ({"version": [{"value": version}]} if version else {})


def section(kind: SectionKind, parts: list[Part]) -> dict[str, Any]:
    """A Composition section with its entries, or an empty reason when it has none."""
    out: dict[str, Any] = {
        "title": _(kind.title), "code": concept(None, coding(LOINC, kind.loinc, kind.display)),
        "text": narrative([p.line for p in parts]),
    }
    if parts:
        return out | {"entry": [{"reference": p.url} for p in parts]}
    return out | {"emptyReason": concept(_("No information available"), coding(
        TERMINOLOGY + "list-empty-reason", "unavailable", "Unavailable"))}


def composition(doc: Document, device_url: str, when: str) -> dict[str, Any]:
    """The Composition: a final patient summary about the patient, by the device."""
    wanted = [k for k in SECTIONS
              if k.key in REQUIRED_SECTIONS or any(p.section == k.key for p in doc.parts)]
    return {
        "resourceType": "Composition", "language": current(), "status": "final",
        "type": concept(None, coding(LOINC, SUMMARY_TYPE, "Patient summary Document")),
        "subject": {"reference": doc.patient_url}, "date": when,
        "author": [{"reference": device_url}], "title": doc.title,
        "section": [section(k, [p for p in doc.parts if p.section == k.key]) for k in wanted],
    }


def document_bundle(doc: Document) -> dict[str, Any]:
    """The IPS document Bundle: Composition, Patient, author Device, then the resources."""
    when = now_iso()
    device_url = new_url()
    entries = [(new_url(), composition(doc, device_url, when)), (doc.patient_url, doc.patient),
               (device_url, device(doc.author, doc.version))]
    entries += [(p.url, p.resource) for p in doc.parts]
    return {
        "resourceType": "Bundle", "identifier": {"system": RFC3986, "value": new_url()},
        "type": "document", "timestamp": when,
        "entry": [{"fullUrl": url, "resource": res} for url, res in entries],
    }


def dumps(bundle: dict[str, Any]) -> bytes:
    """The bundle as UTF-8 JSON, indented."""
    return (json.dumps(bundle, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


# -- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    """One entry of a bundle whose resource is valid FHIR R4."""

    url: str | None
    resource: dict[str, Any]

    @property
    def type(self) -> str:
        """The resource type."""
        return str(self.resource.get("resourceType"))

    @property
    def id(self) -> str | None:
        """The resource's own id, if any."""
        value = self.resource.get("id")
        return str(value) if value else None

    @property
    def label(self) -> str:
        """What names it in a report: its id, else its full URL, else nothing."""
        return self.id or self.url or ""


@dataclass(frozen=True)
class Rejected:
    """A resource set aside while reading: its type, id and why."""

    resource: str
    id: str
    reason: str


@dataclass
class Parsed:
    """A bundle read and validated: its JSON, its valid resources, those set aside."""

    bundle: dict[str, Any]
    items: list[Item]
    rejected: list[Rejected]
    _index: dict[str, Item] | None = field(default=None, repr=False)

    def resolve(self, reference: str | None) -> Item | None:
        """The item a reference points to inside the bundle, if any."""
        if not reference:
            return None
        if self._index is None:
            self._index = {key: i for i in reversed(self.items)
                           for key in _names_of(i.url, i.resource)}
        return self._index.get(reference)


def too_large() -> UsageError:
    """The error for a file over MAX_BYTES."""
    return UsageError(_("This file is too large for a FHIR bundle (more than {n} MB).")
                      .format(n=MAX_BYTES // 2**20))


def read_bundle(data: bytes) -> Parsed:
    """Parse and validate a FHIR R4 Bundle; UsageError for what is not one."""
    if len(data) > MAX_BYTES:
        raise too_large()
    bundle = _json(data)
    _check_bundle(bundle)
    items: list[Item] = []
    rejected: list[Rejected] = []
    for entry in bundle.get("entry") or []:
        if isinstance(entry.get("resource"), dict):
            _read_entry(entry, items, rejected)
    return Parsed(bundle, items, rejected)


def _json(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise UsageError(_("This file is not JSON: a FHIR bundle is a JSON file.")) from None
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise UsageError(_("This JSON file is not FHIR: it has no resourceType."))
    if value["resourceType"] != "Bundle":
        raise UsageError(_("This file is a FHIR {type}, not a Bundle.").format(
            type=clean(value["resourceType"])))
    return value


def _check_bundle(bundle: dict[str, Any]) -> None:
    """Validate the Bundle itself (its entries without their resources) as R4."""
    frame = dict(bundle)
    if isinstance(bundle.get("entry"), list):
        frame["entry"] = [{k: v for k, v in e.items() if k != "resource"}
                          if isinstance(e, dict) else e for e in bundle["entry"]]
    problem = validation_error("Bundle", frame)
    if problem is None:
        return
    if is_r5("Bundle", frame):
        raise UsageError(_r5_message())
    raise UsageError(_("This file is not a valid FHIR R4 Bundle: {reason}").format(
        reason=problem))


def _r5_message() -> str:
    return _("This is a FHIR R5 bundle: msante reads FHIR R4 (4.0.1), as the International "
             "Patient Summary uses. Export it as R4 and try again.")


def _read_entry(entry: dict[str, Any], items: list[Item], rejected: list[Rejected]) -> None:
    resource = entry["resource"]
    kind = str(resource.get("resourceType") or "?")
    url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
    problem = validation_error(kind, resource)
    if problem is None:
        items.append(Item(url, resource))
        return
    if is_r5(kind, resource):
        raise UsageError(_r5_message())
    rejected.append(Rejected(kind, str(resource.get("id") or url or ""), problem))


def _model(kind: str, version: str = "R4B") -> Any:
    """The fhir.resources model class of a resource type, or None when it does not exist."""
    if version == "R4B":
        from fhir.resources.R4B import get_fhir_model_class
    else:
        from fhir.resources import get_fhir_model_class
    try:
        return get_fhir_model_class(kind)
    except (ValueError, KeyError):
        return None


def validation_error(kind: str, resource: dict[str, Any], version: str = "R4B") -> str | None:
    """Why `resource` is not a valid `kind` in this FHIR version (None when it is)."""
    from pydantic import ValidationError

    model = _model(kind, version)
    if model is None or kind in ("Resource", "DomainResource", "Element"):
        return _("{type} is not a FHIR R4 resource type").format(type=clean(kind))
    try:
        model.model_validate(resource)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        return clean(f"{where}: {first.get('msg', '')}".strip(": "))
    except (ValueError, KeyError, TypeError) as exc:  # an unknown type nested inside
        return _("invalid content ({error})").format(error=clean(str(exc)))
    return None


def is_r5(kind: str, resource: dict[str, Any]) -> bool:
    """Whether `resource` is valid FHIR R5 (used once it failed as R4)."""
    return _model(kind, "R5") is not None and validation_error(kind, resource, "R5") is None


def check_r4(bundle: dict[str, Any]) -> None:
    """Validate a whole bundle with the R4B models (ValueError with the first problem)."""
    problem = validation_error("Bundle", bundle)
    if problem is not None:
        raise ValueError(problem)


# -- reading helpers ----------------------------------------------------------------------------


def text_of(value: Any) -> str | None:
    """The text of a CodeableConcept: its text, else its first coding's display or code."""
    if not isinstance(value, dict):
        return None
    if value.get("text"):
        return clean(str(value["text"]))
    for each in value.get("coding") or []:
        if each.get("display") or each.get("code"):
            return clean(str(each.get("display") or each.get("code")))
    return None


def codings(value: Any) -> list[dict[str, Any]]:
    """The codings of a CodeableConcept (none when it is missing)."""
    return list(value.get("coding") or []) if isinstance(value, dict) else []


def has_code(value: Any, system: str, *codes: str) -> str | None:
    """The first code of `system` in a CodeableConcept that is among `codes` (any if none)."""
    for each in codings(value):
        if each.get("system") == system and (not codes or each.get("code") in codes):
            return str(each.get("code"))
    return None


def notes(resource: dict[str, Any]) -> str | None:
    """The texts of a resource's `note` annotations, one per line."""
    texts = [clean(str(n["text"]), lines=True) for n in resource.get("note") or []
             if n.get("text")]
    return "\n".join(texts) or None


def day(value: Any) -> str | None:
    """The date part (YYYY, YYYY-MM or YYYY-MM-DD) of a FHIR date or dateTime."""
    return str(value)[:10] if value else None


def ids_of(resource: dict[str, Any], system: str) -> str | None:
    """The value of the resource's identifier in `system`."""
    for each in resource.get("identifier") or []:
        if isinstance(each, dict) and each.get("system") == system and each.get("value"):
            return str(each["value"])
    return None


def digest(value: Any) -> str:
    """A stable hash of JSON content (its keys sorted), as `sha256:…`."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _without(value: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in value.items() if k not in keys}


def source_scope(bundle: dict[str, Any], patient: dict[str, Any] | None) -> str:
    """What tells apart the files of different sources: the Bundle's identifier, else a
    digest of its Patient and id (of the whole Bundle when it has neither)."""
    ident = bundle.get("identifier")
    if isinstance(ident, dict) and ident.get("system") and ident.get("value"):
        return f"{ident['system']}|{ident['value']}"
    if patient is None and not bundle.get("id"):
        return digest(_without(bundle, "meta", "timestamp"))
    return digest({"patient": _without(patient or {}, "meta"), "bundle": bundle.get("id")})


def outside_key(item: Item, scope: str) -> str:
    """A name of a resource from outside, unique across sources: its first identifier with a
    system, else its absolute full URL, else its `Type/id` in the file's `scope` (see
    `source_scope`), else its type and a digest of its content."""
    found = item.resource.get("identifier")
    for each in found if isinstance(found, list) else [found] if found else []:
        if isinstance(each, dict) and each.get("system") and each.get("value"):
            return f"{each['system']}|{each['value']}"
    if item.url and item.url.startswith(("http://", "https://", "urn:uuid:")):
        return item.url
    if item.id:
        return f"{item.type}/{item.id}@{scope}"
    return f"{item.type}@{digest(_without(item.resource, 'id', 'meta'))}"


# -- the invariants we can check ----------------------------------------------------------------


def references(value: Any) -> Iterator[str]:
    """Every `reference` string inside a resource (contained `#id` ones excepted)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            if key == "reference" and isinstance(inner, str):
                if not inner.startswith("#"):
                    yield inner
            else:
                yield from references(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from references(inner)


def _names_of(url: str | None, resource: dict[str, Any]) -> list[str]:
    """What a reference to this entry may say: its fullUrl, `Type/id`, a RESTful URL's tail."""
    names = [url] if url else []
    if url and "://" in url:
        names.append("/".join(url.rsplit("/", 2)[-2:]))
    if resource.get("id"):
        names.append(f"{resource.get('resourceType')}/{resource['id']}")
    return names


def _entries(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in bundle.get("entry") or [] if isinstance(e, dict)]


def _targets(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each name an entry may be referred to by → its resource (the first entry wins)."""
    return {name: dict(e.get("resource") or {}) for e in reversed(_entries(bundle))
            for name in _names_of(e.get("fullUrl"), e.get("resource") or {})}


def check_header(bundle: dict[str, Any]) -> list[str]:
    """A document bundle with an identifier (system and value) and a timestamp."""
    problems = []
    if bundle.get("type") != "document":
        problems.append(_("the bundle's type is not 'document'"))
    ident = bundle.get("identifier") or {}
    if not (ident.get("system") and ident.get("value")):
        problems.append(_("the bundle has no identifier (system and value)"))
    if not bundle.get("timestamp"):
        problems.append(_("the bundle has no timestamp"))
    return problems


def _first(bundle: dict[str, Any]) -> dict[str, Any]:
    entries = _entries(bundle)
    return dict(entries[0].get("resource") or {}) if entries else {}


def check_first_composition(bundle: dict[str, Any]) -> list[str]:
    """The first entry is a Composition of type Patient summary (LOINC 60591-5)."""
    first = _first(bundle)
    if first.get("resourceType") != "Composition":
        return [_("the first entry is not a Composition")]
    if not has_code(first.get("type"), LOINC, SUMMARY_TYPE):
        return [_("the Composition's type is not Patient summary (LOINC 60591-5)")]
    return []


def check_subject(bundle: dict[str, Any]) -> list[str]:
    """The Composition's subject resolves to a Patient entry."""
    ref = (_first(bundle).get("subject") or {}).get("reference")
    target = _targets(bundle).get(ref) if ref else None
    if target is None or target.get("resourceType") != "Patient":
        return [_("the Composition's subject is not a Patient of the bundle")]
    return []


def check_references(bundle: dict[str, Any]) -> list[str]:
    """Every reference in the bundle resolves to an entry's fullUrl."""
    targets = _targets(bundle)
    return [_("the reference {ref} resolves to no entry").format(ref=ref)
            for entry in _entries(bundle) for ref in references(entry.get("resource"))
            if ref not in targets]


def check_full_urls(bundle: dict[str, Any]) -> list[str]:
    """Every entry has a fullUrl, and no two the same."""
    urls = [e.get("fullUrl") for e in _entries(bundle)]
    problems = [_("an entry has no fullUrl")] if None in urls else []
    seen: set[str] = set()
    for url in filter(None, urls):
        if url in seen:
            problems.append(_("the fullUrl {url} is used twice").format(url=url))
        seen.add(url)
    return problems


def check_sections(bundle: dict[str, Any]) -> list[str]:
    """Allergies, medications and problems are there, each with entries or an empty reason."""
    found = {has_code(s.get("code"), LOINC): s for s in _first(bundle).get("section") or []}
    problems = []
    for key in REQUIRED_SECTIONS:
        kind = SECTION_BY_KEY[key]
        part = found.get(kind.loinc)
        if part is None:
            problems.append(_("the section {code} ({name}) is missing").format(
                code=kind.loinc, name=kind.display))
        elif not (part.get("entry") or part.get("emptyReason")):
            problems.append(_("the section {code} has neither entries nor an empty reason")
                            .format(code=kind.loinc))
    return problems


CHECKS = (check_header, check_first_composition, check_subject, check_references,
          check_full_urls, check_sections)


def ips_problems(bundle: dict[str, Any]) -> list[str]:
    """Every IPS invariant this module checks that `bundle` breaks (empty when it is fine)."""
    return [problem for check in CHECKS for problem in check(bundle)]
