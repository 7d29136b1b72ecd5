"""FHIR: the IPS export is valid R4 and keeps the IPS invariants, imports of real-looking
bundles (French and English, with odd content) map what they can and report the rest, a
bundle about someone else is refused, re-importing changes nothing, and export → import is
lossless for everything msante models."""

from __future__ import annotations

import copy
import json
import stat
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from msante.errors import ExitCode, UsageError
from msante.formats import fhir
from msante.text import clean
from tests.conftest import FAST_KDF, PASSPHRASE

DATA = Path(__file__).parent / "data" / "fhir"
FR = DATA / "ips_fr_camille.json"
EN = DATA / "collection_en_jordan.json"
NONE_KNOWN = DATA / "ips_en_none_known.json"
R5 = DATA / "r5_medication.json"


def fill(vault: Any, person: Any) -> None:
    """A profile touching every section and field, codes, and several measurements."""
    from msante.profile.service import Code

    add = vault.profile.add
    add(person, "allergies", {"substance": "Pénicilline", "reaction": "urticaire",
                              "severity": "moderate", "type": "allergy", "category": "medication",
                              "since": "2010", "note": "vu aux urgences"},
        code=Code.parse("snomed:91936005"))
    add(person, "allergies", {"substance": "Lactose", "severity": "mild", "type": "intolerance",
                              "category": "food"})
    add(person, "treatments", {"medicine": "Ramipril 5 mg", "dose": "1 comprimé",
                               "frequency": "le matin", "start": "2018-04", "reason": "HTA"},
        code=Code.parse("atc:C09AA05"))
    add(person, "treatments", {"medicine": "Amoxicilline", "frequency": "3 fois par jour",
                               "start": "2023-01-02", "end": "2023-01-09"})
    add(person, "conditions", {"condition": "Hypertension artérielle", "status": "active",
                               "kind": "medical", "onset": "2018-03"},
        code=Code.parse("icd10:I10"))
    add(person, "conditions", {"condition": "Appendicectomie", "status": "resolved",
                               "kind": "surgical", "onset": "1998", "resolved_on": "1998"})
    add(person, "conditions", {"condition": "Varicelle", "note": "enfance"})
    add(person, "vaccinations", {"vaccine": "Grippe", "date": "2024-10-15", "dose": 1,
                                 "batch": "FLU-A17"}, code=Code.parse("cvx:140"))
    add(person, "family", {"condition": "Diabète de type 2", "relative": "père"})
    add(person, "screenings", {"screening": "mammography", "date": "2024-05",
                               "result": "normal"})
    add(person, "blood-group", {"group": "O-"})
    add(person, "trusted-person", {"name": "Paul Martin", "relation": "frère",
                                   "phone": "+33 6 12 34 56 78"})
    add(person, "directives", {"text": "Pas d'acharnement.\nVoir le Dr Bernard.",
                               "date": "2022-01-10"})
    add(person, "lifestyle", {"topic": "tobacco", "text": "non-fumeuse"})
    add(person, "lifestyle", {"topic": "activity", "text": "marche 30 min", "since": "2020"})
    m = vault.measures
    m.add(person, "weight", "68.5", at="2025-03-01 08:00", note="à jeun")
    m.add(person, "weight", "69.2", at="2025-03-08 08:00")
    m.add(person, "blood-pressure", "128/82", at="2025-03-01 08:05")
    m.add(person, "glucose", "5.4 mmol/L", at="2025-03-01 08:10")
    m.add(person, "temperature", "37.2", at="2025-03-01 08:10")
    m.add(person, "steps", "8000", at="2025-03-01 20:10")


def snapshot(vault: Any, person: Any) -> tuple[list[Any], list[Any]]:
    """What a person's records say, without ids, times of writing or provenance."""
    entries = sorted((e.section, json.dumps(e.data, sort_keys=True, ensure_ascii=False),
                      e.code) for e in vault.profile.list(person))
    measures = sorted((m.kind, m.value, m.value2, m.unit, m.at, m.note)
                      for m in vault.measures.stream(person))
    return entries, measures


def export(vault: Any, person: Any, path: Path, **kw: Any) -> dict[str, Any]:
    """Export with the service and return the bundle written."""
    from msante.profile.fhir import export_ips

    export_ips(vault, person, path, **kw)
    return dict(json.loads(path.read_text("utf-8")))


def imp(vault: Any, person: Any, path: Path, **kw: Any) -> dict[str, Any]:
    from msante.profile.fhir import import_bundle

    return import_bundle(vault, person, path, **kw)


def other_person(vault: Any, name: str = "Jordan Smith", born: str = "1990-02-14") -> Any:
    return vault.people.add(name, born, "male", relation="other")


# -- export ---------------------------------------------------------------------------------


def test_export_is_valid_r4b_and_keeps_the_ips_invariants(vault, tmp_path):
    """The whole bundle parses with the R4B models and every invariant we check holds."""
    from fhir.resources.R4B.bundle import Bundle

    me = vault.people.owner()
    fill(vault, me)
    bundle = export(vault, me, tmp_path / "ips.json")
    parsed = Bundle.model_validate(bundle)
    assert parsed.type == "document" and parsed.entry[0].resource.__resource_type__ == \
        "Composition"
    assert fhir.ips_problems(bundle) == []
    assert bundle["identifier"]["system"] == "urn:ietf:rfc:3986"
    assert bundle["identifier"]["value"].startswith("urn:uuid:")
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])


def test_export_carries_our_ids_and_the_expected_codes(vault, tmp_path):
    """Each resource names its record (so re-import matches it) and uses the IPS codes."""
    me = vault.people.owner()
    fill(vault, me)
    bundle = export(vault, me, tmp_path / "ips.json")
    res = [e["resource"] for e in bundle["entry"]]
    comp, patient = res[0], res[1]
    codes = [s["code"]["coding"][0]["code"] for s in comp["section"]]
    assert codes[:3] == ["48765-2", "10160-0", "11450-4"]
    assert {"11369-6", "8716-3", "30954-2", "11348-0", "42348-3", "29762-2"} <= set(codes)
    assert all(s["text"]["div"].startswith('<div xmlns="http://www.w3.org/1999/xhtml">')
               for s in comp["section"])
    assert patient["birthDate"] == "1985-06-02" and patient["gender"] == "female"
    assert patient["contact"][0]["name"]["text"] == "Paul Martin"
    systems = {r["identifier"][0]["system"] for r in res[3:]}
    assert systems == {"urn:msante:entry", "urn:msante:measurement"}
    bp = next(r for r in res if fhir.has_code(r.get("code"), fhir.LOINC, "85354-9"))
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert bp["component"][0]["valueQuantity"] == {
        "value": 128.0, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
    vaccine = next(r for r in res if r["resourceType"] == "Immunization")
    assert vaccine["protocolApplied"] == [{"doseNumberPositiveInt": 1}]
    assert vaccine["lotNumber"] == "FLU-A17" and vaccine["occurrenceDateTime"] == "2024-10-15"


def test_only_the_latest_measurement_of_each_kind_unless_asked(vault, tmp_path):
    """An IPS summarises: the latest value per kind; --all-measurements exports every one."""
    me = vault.people.owner()
    fill(vault, me)
    def weights(bundle: dict[str, Any]) -> list[Any]:
        return [e["resource"]["valueQuantity"]["value"] for e in bundle["entry"]
                if fhir.has_code(e["resource"].get("code"), fhir.LOINC, "29463-7")]
    assert weights(export(vault, me, tmp_path / "a.json")) == [69.2]
    assert sorted(weights(export(vault, me, tmp_path / "b.json", all_measurements=True))) == \
        [68.5, 69.2]


def test_entries_entered_in_error_are_not_exported(vault, tmp_path):
    """A fact removed as entered in error stays out of the summary a professional reads."""
    me = vault.people.owner()
    wrong = vault.profile.add(me, "allergies", {"substance": "Arachide"})
    vault.profile.remove(wrong.id)
    path = tmp_path / "ips.json"
    export(vault, me, path)
    assert "Arachide" not in path.read_text("utf-8")


def test_an_empty_profile_still_has_the_required_sections(vault, tmp_path):
    """With nothing recorded, the three required sections say so with an empty reason."""
    bundle = export(vault, vault.people.owner(), tmp_path / "ips.json")
    assert fhir.ips_problems(bundle) == []
    sections = bundle["entry"][0]["resource"]["section"]
    assert len(sections) == 3 and all("emptyReason" in s and "entry" not in s for s in sections)


def test_no_known_statements_use_the_ips_absent_codes_and_come_back(vault, tmp_path):
    """"No known allergy" (treatment, problem) travel as the IPS absent/unknown codes."""
    me = vault.people.owner()
    for section in ("allergies", "treatments", "conditions"):
        vault.profile.add_none(me, section)
    bundle = export(vault, me, tmp_path / "ips.json")
    codes = {c["code"] for e in bundle["entry"][3:] for key in ("code",
             "medicationCodeableConcept") for c in e["resource"].get(key, {}).get("coding", [])}
    assert codes == {"no-known-allergies", "no-known-medications", "no-known-problems"}
    kim = other_person(vault, "Kim Martin", "1985-06-02")
    report = imp(vault, kim, tmp_path / "ips.json", force=True)
    assert report["added"] == {"allergies": 1, "conditions": 1, "treatments": 1}
    assert all(e.is_none_statement for e in vault.profile.list(kim))


def test_export_through_the_cli_is_private_audited_and_never_overwrites(cli, made, tmp_path):
    """Plaintext leaving the vault: a new 0600 file, recorded as fhir.export; no overwrite."""
    out = tmp_path / "ips.json"
    r = cli("fhir", "export", "--out", out, "--json", pfile=made)
    assert r.code == 0, r.err
    result = r.json()
    assert set(result) == {"file", "person", "identifier", "resources", "counts", "warnings"}
    assert result["warnings"] == []
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    entries = cli("audit", "list", "--json", pfile=made).json()
    assert entries[0]["action"] == "fhir.export"
    assert entries[0]["detail"]["file"] == "ips.json"
    again = cli("fhir", "export", "--out", out, pfile=made)
    assert again.code == ExitCode.ERROR and "already exists" in again.err


def test_export_into_a_missing_folder_is_a_usage_error_and_not_audited(vault, tmp_path):
    """Nothing is recorded as exported when the file could not be written."""
    from msante.profile.fhir import export_ips

    with pytest.raises(UsageError, match="Cannot write"):
        export_ips(vault, vault.people.owner(), tmp_path / "no" / "such" / "ips.json")
    assert list(vault.audit.entries(action="fhir.export")) == []


# -- the invariants -----------------------------------------------------------------------------


def _tamper(bundle: dict[str, Any], how: str) -> dict[str, Any]:
    b = copy.deepcopy(bundle)
    entries = b["entry"]
    if how == "dangling":
        entries[0]["resource"]["section"][0]["entry"] = [{"reference": "urn:uuid:nowhere"}]
    elif how == "not-first":
        entries[0], entries[1] = entries[1], entries[0]
    elif how == "duplicate-url":
        entries[2]["fullUrl"] = entries[1]["fullUrl"]
    elif how == "no-section":
        entries[0]["resource"]["section"] = entries[0]["resource"]["section"][1:]
    elif how == "no-identifier":
        del b["identifier"], b["timestamp"]
    elif how == "subject":
        entries[0]["resource"]["subject"] = {"reference": entries[2]["fullUrl"]}
    return b


@pytest.mark.parametrize("how, needle", [
    ("dangling", "urn:uuid:nowhere resolves to no entry"),
    ("not-first", "first entry is not a Composition"),
    ("duplicate-url", "is used twice"),
    ("no-section", "48765-2"),
    ("no-identifier", "no identifier"),
    ("subject", "subject is not a Patient"),
])
def test_tampered_bundles_break_the_invariants(vault, tmp_path, how, needle):
    """Each check catches what it is for, on an otherwise valid export."""
    bundle = export(vault, vault.people.owner(), tmp_path / "ips.json")
    problems = fhir.ips_problems(_tamper(bundle, how))
    assert any(needle in p for p in problems), problems


def test_the_example_documents_keep_the_invariants_too():
    """Our French and English example documents are themselves well-formed IPS bundles."""
    for path in (FR, NONE_KNOWN):
        assert fhir.ips_problems(json.loads(path.read_text("utf-8"))) == [], path.name


# -- import ---------------------------------------------------------------------------------


def test_a_french_ips_maps_what_it_can_and_reports_the_rest(vault):
    """A real-looking French IPS: codes, partial dates, units and references are followed."""
    me = vault.people.owner()
    report = imp(vault, me, FR)
    assert report["added"] == {"allergies": 2, "blood-group": 1, "conditions": 3, "family": 1,
                               "lifestyle": 1, "measurements": 4, "treatments": 2,
                               "trusted-person": 1, "vaccinations": 2}
    assert {(u["resource"], u["id"]) for u in report["unmapped"]} == {
        ("SuiviBienEtre", "journal-1"), ("Condition", "lombalgies-sans-code"),
        ("Observation", "hemoglobine"), ("CarePlan", "plan-cardio")}
    by = {(e.section, e.text()): e for e in vault.profile.list(me)}
    peni = by["allergies", "Pénicilline"]
    assert peni.data["severity"] == "severe" and peni.data["since"] == "2009"
    assert peni.code is not None and peni.code.code == "91936005"
    assert peni.provenance == "fhir"
    assert peni.external_id == "urn:uuid:7a1c6f0e-3b52-4d7e-9c1a-000000000004"  # its fullUrl
    ramipril = by["treatments", "RAMIPRIL 5 mg, comprimé"]  # through its Medication reference
    assert ramipril.code is not None and ramipril.code.code == "C09AA05"
    assert ramipril.data["dose"] == "1 comprimé le matin"
    assert by["conditions", "Appendicectomie"].data == {"condition": "Appendicectomie",
                                                        "kind": "surgical", "onset": "1998"}
    assert by["vaccinations", "Comirnaty"].data["date"] == "2021-06"
    assert by["blood-group", "A+"].data == {"group": "A+"}
    assert by["trusted-person", "Claire Martin"].data["relation"] == "Sœur"
    latest = vault.measures.latest(me)
    assert (latest["blood-pressure"].value, latest["blood-pressure"].value2) == (132, 84)
    assert latest["glucose"].value == pytest.approx(0.92, abs=0.01)  # 5.1 mmol/L in g/L
    assert latest["weight"].at.startswith("2025-01-14T08:30")


def test_an_english_collection_converts_units_and_reports_odd_content(vault):
    """Relative references, pounds and Fahrenheit, and what cannot be kept with its reason."""
    jordan = other_person(vault)
    report = imp(vault, jordan, EN)
    assert report["added"] == {"allergies": 1, "conditions": 1, "measurements": 4,
                               "treatments": 1, "vaccinations": 1}
    reasons = {u["id"]: u["reason"] for u in report["unmapped"]}
    assert reasons["latex-mistake"] == "the resource is entered in error"
    assert "body-mass index" in reasons["bmi"] and "systolic" in reasons["bp-half"]
    assert "2024-05" in reasons["weight-month"] and "DiagnosticReport" not in reasons
    assert set(reasons) == {"latex-mistake", "bmi", "bp-half", "cbc", "weight-month"}
    latest = vault.measures.latest(jordan)
    assert latest["weight"].value == pytest.approx(80.01, abs=0.01)
    assert latest["temperature"].value == pytest.approx(37.0, abs=0.01)
    peanut = vault.profile.list(jordan, "allergies")[0]
    assert peanut.data["severity"] == "severe"  # from criticality high, no reaction given
    albuterol = vault.profile.list(jordan, "treatments")[0]
    assert albuterol.data["start"] == "2022-09-01" and albuterol.code is None


def test_reimporting_the_same_file_changes_nothing(vault):
    """Identifiers are kept: the second import adds nothing and writes no history entry."""
    me = vault.people.owner()
    first = imp(vault, me, FR)
    before = snapshot(vault, me)
    history = len(list(vault.audit.entries()))
    second = imp(vault, me, FR)
    assert second["added"] == {} and second["unchanged"] == sum(first["added"].values())
    assert snapshot(vault, me) == before
    assert len(list(vault.audit.entries())) == history


def test_no_known_statements_import_once_and_never_over_facts(vault):
    """IPS "no known …" become statements; against listed facts they are reported instead."""
    kim = other_person(vault, "Kim Martin", "1985-06-02")
    assert imp(vault, kim, NONE_KNOWN, force=True)["added"] == {
        "allergies": 1, "conditions": 1, "treatments": 1}
    assert imp(vault, kim, NONE_KNOWN, force=True)["unchanged"] == 3
    me = vault.people.owner()
    imp(vault, me, FR)
    report = imp(vault, me, NONE_KNOWN)
    assert report["added"] == {}
    assert all("contradicts" in u["reason"] for u in report["unmapped"])
    assert len(report["unmapped"]) == 3


def test_all_writes_are_one_transaction(vault, monkeypatch):
    """A failure half-way leaves nothing of the import behind."""
    me = vault.people.owner()

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")
    monkeypatch.setattr(type(vault.measures), "add_in", boom)
    with pytest.raises(RuntimeError):
        imp(vault, me, FR)
    assert vault.profile.list(me) == [] and list(vault.measures.stream(me)) == []


def test_the_import_is_audited_with_its_counts(vault):
    """One fhir.import entry sums up what the transaction added."""
    me = vault.people.owner()
    imp(vault, me, FR)
    entry = next(vault.audit.entries(action="fhir.import"))
    assert entry.detail["added"]["measurements"] == 4 and entry.detail["unmapped"] == 4
    assert entry.detail["file"] == FR.name


def test_the_same_identifier_twice_in_a_file_is_reported(vault, tmp_path):
    """Two resources claiming one identifier: the second is not silently merged."""
    bundle = json.loads(FR.read_text("utf-8"))
    bundle["entry"][4]["resource"]["identifier"] = [{"system": "urn:oid:1.2.3", "value": "A7"}]
    twin = copy.deepcopy(bundle["entry"][4])
    twin["fullUrl"] = "urn:uuid:11111111-2222-4333-8444-555555555555"
    twin["resource"]["code"]["text"] = "Amoxicilline"
    bundle["entry"].append(twin)
    path = tmp_path / "twins.json"
    path.write_text(json.dumps(bundle))
    report = imp(vault, vault.people.owner(), path)
    assert any("same identifier" in u["reason"] for u in report["unmapped"])
    assert "Amoxicilline" not in [e.text() for e in vault.profile.list(vault.people.owner())]


# -- round trip -----------------------------------------------------------------------------


def test_export_then_import_elsewhere_is_lossless(vault, tmp_path):
    """Every entry's fields and code, and every measurement, survive into another vault."""
    from msante.api import Vault
    from msante.vault import crypto

    me = vault.people.owner()
    fill(vault, me)
    path = tmp_path / "ips.json"
    export(vault, me, path, all_measurements=True)
    other, _rk = Vault.create(tmp_path / "other", PASSPHRASE, name="Camille Martin",
                              born="1985-06-02", sex="female",
                              params=crypto.KdfParams.new(**FAST_KDF))
    with other:
        twin = other.people.owner()
        report = imp(other, twin, path)
        assert report["unmapped"] == []
        assert snapshot(other, twin) == snapshot(vault, me)
        assert imp(other, twin, path)["added"] == {}
        assert snapshot(other, twin) == snapshot(vault, me)


def test_export_then_import_into_another_person_of_the_same_vault(vault, tmp_path):
    """Our record ids belong to the first person: the second gets copies, once."""
    me = vault.people.owner()
    fill(vault, me)
    path = tmp_path / "ips.json"
    export(vault, me, path, all_measurements=True)
    leo = vault.people.add("Léo Martin", "2015-01-01", "male")
    assert imp(vault, leo, path, force=True)["unmapped"] == []
    assert snapshot(vault, leo) == snapshot(vault, me)
    assert imp(vault, me, path)["added"] == {}  # the owner already has all of it
    assert imp(vault, leo, path, force=True)["added"] == {}


# -- the command line -----------------------------------------------------------------------


def test_cli_import_reports_unmapped_and_exits_8(cli, made):
    """Anything not mapped makes the import partial (exit 8), with a stable JSON report."""
    r = cli("fhir", "import", FR, "--json", pfile=made)
    assert r.code == ExitCode.PARTIAL, r.err
    out = r.json()
    assert set(out) == {"added", "unchanged", "unmapped", "file", "person"}
    assert out["person"] == "Camille Martin" and len(out["unmapped"]) == 4
    assert set(out["unmapped"][0]) == {"resource", "id", "reason"}
    human = cli("fhir", "import", FR, pfile=made)
    assert human.code == ExitCode.PARTIAL
    assert "already there" in human.err and "not imported: CarePlan plan-cardio" in human.err


def test_cli_import_exits_0_when_everything_maps(cli, made, tmp_path):
    """A bundle fully mapped (our own export) is exit 0."""
    out = tmp_path / "ips.json"
    assert cli("fhir", "export", "--out", out, pfile=made).code == 0
    r = cli("fhir", "import", out, pfile=made)
    assert r.code == 0, r.err


def test_a_bundle_about_someone_else_is_refused_unless_forced(cli, made):
    """The file's patient must be the target person (name folded, birth date)."""
    r = cli("fhir", "import", EN, pfile=made)
    assert r.code == ExitCode.USAGE
    assert "Jordan Lee Smith" in r.err and "Camille Martin" in r.err and "--force" in r.err
    assert "Traceback" not in r.err
    forced = cli("fhir", "import", EN, "--force", "--json", pfile=made)
    assert forced.code == ExitCode.PARTIAL and forced.json()["added"]["allergies"] == 1


def test_a_patient_written_differently_still_matches(vault, tmp_path):
    """Case, accents and "family given" order do not make the same person someone else."""
    bundle = json.loads(NONE_KNOWN.read_text("utf-8"))
    bundle["entry"][1]["resource"]["name"] = [{"family": "MARTÌN", "given": ["camille"]}]
    path = tmp_path / "b.json"
    path.write_text(json.dumps(bundle))
    assert imp(vault, vault.people.owner(), path)["unmapped"] == []


@pytest.mark.parametrize("content, needle", [
    (b"%PDF-1.7 not json", "not JSON"),
    (b'{"name": "x"}', "not FHIR"),
    (b'{"resourceType": "Patient", "id": "p"}', "a FHIR Patient, not a Bundle"),
    (b'{"resourceType": "Bundle", "type": "collection", "entry": "nope"}', "not a valid FHIR"),
    (R5.read_bytes(), "FHIR R5"),
])
def test_what_is_not_an_r4_bundle_is_a_clear_usage_error(cli, made, tmp_path, content, needle):
    """Not JSON, not FHIR, not a Bundle, or R5: one line, exit 2, no traceback."""
    path = tmp_path / "in.json"
    path.write_bytes(content)
    r = cli("fhir", "import", path, pfile=made)
    assert r.code == ExitCode.USAGE and needle in r.err and "Traceback" not in r.err
    assert len(r.err.strip().splitlines()) == 1


def test_a_missing_file_is_not_found(cli, made, tmp_path):
    """Exit 5, as for any missing thing."""
    r = cli("fhir", "import", tmp_path / "nope.json", pfile=made)
    assert r.code == ExitCode.NOT_FOUND


def test_read_bundle_sets_bad_resources_aside():
    """One invalid resource does not sink the bundle: it is set aside with its reason."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "birthDate": "not a date"}},
        {"resource": {"resourceType": "Observation", "status": "final",
                      "code": {"text": "x"}}}]}
    parsed = fhir.read_bundle(json.dumps(bundle).encode())
    assert [i.type for i in parsed.items] == ["Observation"]
    assert parsed.rejected[0].resource == "Patient" and "birthDate" in parsed.rejected[0].reason
    with pytest.raises(UsageError):
        fhir.read_bundle(b"\xff\xfe")


def test_what_was_removed_does_not_come_back_from_our_own_export(vault, tmp_path):
    """Re-importing an older export of ours must not resurrect a measurement or a trusted
    person removed since: our ids are recognised even on tombstones."""
    me = vault.people.owner()
    fill(vault, me)
    path = tmp_path / "ips.json"
    export(vault, me, path, all_measurements=True)
    weight = vault.measures.list(me, "weight")[0]
    trusted = vault.profile.list(me, "trusted-person")[0]
    vault.measures.remove(weight.id)
    vault.profile.remove(trusted.id)
    report = imp(vault, me, path)
    assert report["added"] == {}
    assert weight.id not in {m.id for m in vault.measures.list(me, "weight")}
    assert vault.profile.list(me, "trusted-person") == []


# -- review fixes: keys across sources, export of old data, limits, control characters -------


ME = {"resourceType": "Patient", "name": [{"text": "Camille Martin"}],
      "birthDate": "1985-06-02"}


def write_bundle(path: Path, *resources: dict[str, Any], **top: Any) -> Path:
    """A collection bundle of these resources (no fullUrl: only a `Type/id` names them)."""
    bundle = {"resourceType": "Bundle", "type": "collection", **top,
              "entry": [{"resource": r} for r in resources]}
    path.write_text(json.dumps(bundle), "utf-8")
    return path


def condition(text: str, **more: Any) -> dict[str, Any]:
    return {"resourceType": "Condition", "code": {"text": text},
            "subject": {"reference": "Patient/me"}} | more


def corrupt(vault: Any, entry_id: str, **columns: Any) -> None:
    """Write columns as an older version may have stored them, past today's input checks."""
    with vault.store.write() as tx:
        sets = ", ".join(f"{name} = ?" for name in columns)
        tx.execute(f"UPDATE profile_entries SET {sets} WHERE id = ?",
                   [*columns.values(), entry_id])
        vault.store.log(tx, "test.corrupt", record=entry_id)


@pytest.mark.parametrize("source_a, source_b", [
    ({"identifier": {"system": "urn:oid:1.2.250.1.1", "value": "A-1"}},
     {"identifier": {"system": "urn:oid:1.2.250.1.2", "value": "B-1"}}),
    ({"id": "export"}, {"id": "export", "patient_id": "other-hospital-id"}),
])
def test_two_sources_with_the_same_type_and_id_do_not_collide(vault, tmp_path, source_a,
                                                               source_b):
    """`Condition/1` of one hospital is not `Condition/1` of another: before, the second was
    counted "unchanged" and lost. The Bundle's identifier (else its Patient and id) tells
    them apart, and each file still re-imports as unchanged."""
    files = []
    for name, source, text in (("a", source_a, "Asthme"), ("b", source_b, "Diabète")):
        top = {k: v for k, v in source.items() if k != "patient_id"}
        patient = ME | {"id": source.get("patient_id", "me")}
        files.append(write_bundle(tmp_path / f"{name}.json", patient,
                                  condition(text, id="1"), **top))
    me = vault.people.owner()
    assert [imp(vault, me, f)["added"] for f in files] == [{"conditions": 1}] * 2
    assert sorted(e.text() for e in vault.profile.list(me, "conditions")) == [
        "Asthme", "Diabète"]
    assert [imp(vault, me, f)["unchanged"] for f in files] == [1, 1]


def test_a_resource_with_no_name_at_all_is_not_duplicated_by_a_reimport(vault, tmp_path):
    """No identifier, no id, no fullUrl: a digest of the content names it, so importing the
    file again adds nothing (before, every import added a copy)."""
    weight = {"resourceType": "Observation", "status": "final",
              "code": {"coding": [{"system": fhir.LOINC, "code": "29463-7"}]},
              "effectiveDateTime": "2025-02-01T08:00:00+01:00",
              "valueQuantity": {"value": 70, "unit": "kg", "code": "kg"}}
    path = write_bundle(tmp_path / "b.json", ME, condition("Asthme"), weight)
    me = vault.people.owner()
    assert imp(vault, me, path)["added"] == {"conditions": 1, "measurements": 1}
    again = imp(vault, me, path)
    assert again["added"] == {} and again["unchanged"] == 2
    assert len(vault.profile.list(me, "conditions")) == 1
    assert len(vault.measures.list(me, "weight")) == 1


def test_a_stored_code_r4_refuses_is_left_out_of_the_export_with_a_warning(vault, tmp_path):
    """Old data may hold a code FHIR R4 refuses (double spaces): the export leaves out that
    coding, keeps the text, and says so, instead of failing as an internal error."""
    from msante.profile.service import Code

    me = vault.people.owner()
    peni = vault.profile.add(me, "allergies", {"substance": "Pénicilline"},
                             code=Code.parse("snomed:91936005"))
    corrupt(vault, peni.id, code="9193  6005")
    from msante.profile.fhir import export_ips

    result = export_ips(vault, me, tmp_path / "ips.json")
    assert result["warnings"] == [{
        "section": "allergies", "entry": peni.id[:8], "code": f"{fhir.SNOMED}|9193  6005",
        "reason": result["warnings"][0]["reason"]}]
    assert "code" in result["warnings"][0]["reason"]
    bundle = json.loads((tmp_path / "ips.json").read_text("utf-8"))
    fhir.check_r4(bundle)
    allergy = next(e["resource"] for e in bundle["entry"]
                   if e["resource"]["resourceType"] == "AllergyIntolerance")
    assert allergy["code"] == {"text": "Pénicilline"}


def test_other_stored_values_r4_refuses_are_a_usage_error_naming_the_entry(vault, tmp_path):
    """What cannot be left out (a date) fails the export as a usage error that names the
    section and the entry, never as an internal error; nothing is written."""
    from msante.profile.fhir import export_ips

    me = vault.people.owner()
    flu = vault.profile.add(me, "vaccinations", {"vaccine": "Grippe", "date": "2024-10-15"})
    corrupt(vault, flu.id, data=json.dumps({"vaccine": "Grippe", "date": "last autumn"}))
    with pytest.raises(UsageError) as caught:
        export_ips(vault, me, tmp_path / "ips.json")
    message = caught.value.message
    assert f"vaccinations {flu.id[:8]}" in message and "occurrenceDateTime" in message
    assert not (tmp_path / "ips.json").exists()


def test_an_old_no_known_allergy_after_a_real_one_counts_as_unchanged(vault, tmp_path):
    """Our own statement, superseded since by a real allergy, is recognised by its id:
    re-importing the older export is no contradiction (before: exit 8)."""
    me = vault.people.owner()
    vault.profile.add_none(me, "allergies")
    path = tmp_path / "old.json"
    export(vault, me, path)
    vault.profile.add(me, "allergies", {"substance": "Pénicilline"})
    report = imp(vault, me, path)
    assert report["unmapped"] == [] and report["added"] == {} and report["unchanged"] == 1
    assert [e.text() for e in vault.profile.list(me, "allergies")] == ["Pénicilline"]


def test_an_absurd_date_is_one_row_not_imported_not_a_failed_import(vault, tmp_path,
                                                                    monkeypatch):
    """Dates that leave the calendar once in UTC (year 1 ahead of UTC, 9999-12-31 behind
    it) may raise OverflowError, a value ValueError, from the services: that row is reported
    with the reason, the rest is imported."""
    def weight(at: str) -> dict[str, Any]:
        return {"resourceType": "Observation", "id": at[:4], "status": "final",
                "code": {"coding": [{"system": fhir.LOINC, "code": "29463-7"}]},
                "effectiveDateTime": at, "valueQuantity": {"value": 70, "code": "kg"}}
    path = write_bundle(tmp_path / "b.json", ME, condition("Asthme", id="c"),
                        weight("0001-01-01T00:30:00+01:00"),
                        weight("9999-12-31T23:00:00-05:00"))
    me = vault.people.owner()
    report = imp(vault, me, path)
    assert report["added"] == {"conditions": 1}
    assert {u["id"] for u in report["unmapped"]} == {"0001", "9999"}
    # Whatever the services raise for such a value, the import goes on.
    real = type(vault.profile).add_in

    def fussy(self: Any, tx: Any, person: Any, section: str, values: dict[str, Any],
              **kw: Any) -> str:
        if values.get("condition") == "Absurde":
            raise OverflowError("date value out of range")
        return str(real(self, tx, person, section, values, **kw))
    monkeypatch.setattr(type(vault.profile), "add_in", fussy)
    path = write_bundle(tmp_path / "c.json", ME, condition("Absurde", id="x"),
                        condition("Rhume", id="y"))
    report = imp(vault, me, path)
    assert report["added"] == {"conditions": 1}
    assert report["unmapped"] == [{"resource": "Condition", "id": "x", "reason":
                                   "a value msante cannot store (date value out of range)"}]


def test_an_oversized_file_is_refused_before_it_is_read(vault, tmp_path, monkeypatch):
    """Its size says enough: a file over 64 MiB is a usage error, not read into memory."""
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(64 * 2**20 + 1)  # sparse: no disk used

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the file was read")
    monkeypatch.setattr(Path, "read_bytes", never)
    monkeypatch.setattr(Path, "open", never)
    with pytest.raises(UsageError, match="more than 64 MB"):
        imp(vault, vault.people.owner(), big)


@pytest.mark.skipif(not hasattr(__import__("os"), "mkfifo"), reason="no named pipes")
def test_a_pipe_is_read_no_further_than_the_limit(vault, tmp_path, monkeypatch):
    """A pipe (or /dev/zero) has no size to check: reading stops one byte past the limit,
    so an endless stream cannot exhaust memory."""
    import os
    import threading

    monkeypatch.setattr(fhir, "MAX_BYTES", 4096)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    written = [0]

    def feed() -> None:
        with open(pipe, "wb", buffering=0) as f:
            try:
                while written[0] < 8 * 2**20:
                    written[0] += f.write(b" " * 65536)
            except BrokenPipeError:
                pass
    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        with pytest.raises(UsageError, match="too large"):
            imp(vault, vault.people.owner(), pipe)
    finally:
        if writer.is_alive():  # unblock a writer still waiting for a reader
            os.close(os.open(pipe, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(10)
    assert written[0] < 2**20


def test_control_characters_from_the_file_are_neither_shown_nor_stored(vault, tmp_path):
    """A file may carry terminal escapes: they never reach the report printed on a terminal
    nor the vault (a note keeps its line breaks)."""
    nasty = condition("Asthme\x1b[31m\tsévère\x07", id="c", note=[
        {"text": "ligne 1\r\nligne\x1b]0;x\x072\x9b"}])
    nasty["code"]["coding"] = [{"system": fhir.SNOMED, "code": "195967001",
                                "display": "Asthma\x1b[2J"}]
    strange = {"resourceType": "Observation", "id": "o", "status": "final",
               "code": {"text": "Humeur\x1b[5m"}, "valueString": "bonne"}
    unknown = {"resourceType": "Journal\x1b[2J", "id": "j"}
    path = write_bundle(tmp_path / "b.json", ME, nasty, strange, unknown)
    me = vault.people.owner()
    report = imp(vault, me, path)
    controls = {chr(c) for c in (*range(0x20), *range(0x7F, 0xA0))}
    shown = "".join(value for u in report["unmapped"] for value in u.values())
    assert len(report["unmapped"]) == 2 and not controls & set(shown)
    entry = vault.profile.list(me, "conditions")[0]
    assert entry.data == {"condition": "Asthme[31m sévère", "note": "ligne 1\nligne]0;x2"}
    assert entry.code is not None and entry.code.display == "Asthma[2J"
    assert clean("a\tb\x85c\x00") == "a b c"


def test_planning_an_import_looks_up_in_batches_not_per_row(vault, tmp_path, monkeypatch):
    """Big files must not make a query per resource (a 2,000-condition import took 14 s):
    the lookups planning makes stay a handful, however many rows there are."""
    none = {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/me"},
            "code": {"coding": [{"system": fhir.ABSENT, "code": "no-known-allergies"}]}}
    resources = [none | {"id": f"n{i}"} for i in range(40)]
    resources += [condition(f"Condition {i}", id=f"c{i}") for i in range(600)]
    path = write_bundle(tmp_path / "big.json", ME | {"id": "me"}, *resources)
    calls: Counter[str] = Counter()

    def counting(name: str, real: Any) -> Any:
        def counted(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return real(*args, **kwargs)
        return counted
    for service, name in ((vault.profile, "list"), (vault.profile, "known_ids"),
                          (vault.profile, "by_external_id"), (vault.measures, "known_ids")):
        monkeypatch.setattr(service, name, counting(name, getattr(service, name)))
    report = imp(vault, vault.people.owner(), path)
    assert report["added"] == {"allergies": 1, "conditions": 600}
    assert report["unchanged"] == 39
    assert sum(calls.values()) <= 8, calls
