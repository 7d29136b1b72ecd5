"""FHIR import of codes met in real patient summaries: blood groups in SNOMED CT and LOINC,
the "no known …" situations, HbA1c in its several LOINC codes and units, structured doses,
and contacts' relations as codes. Each was refused, dropped or shown raw before."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from msante import i18n
from msante.formats import fhir
from msante.profile import summary
from tests.test_fhir import ME, imp, write_bundle

SCT, LOINC = fhir.SNOMED, fhir.LOINC
GROUPS = {"278149003": "A+", "278152006": "A-", "278150003": "B+", "278153001": "B-",
          "278151004": "AB+", "278154007": "AB-", "278147001": "O+", "278148006": "O-"}


def observation(code: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"resourceType": "Observation", "status": "final", "code": code,
            "subject": {"reference": "Patient/me"}, "effectiveDateTime": "2024-03-01"} | more


def coded(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    return {"coding": [fhir.coding(system, code, display)]}


def run(vault: Any, tmp_path: Path, *resources: dict[str, Any]) -> dict[str, Any]:
    path = write_bundle(tmp_path / "b.json", ME | {"id": "me"}, *resources)
    return imp(vault, vault.people.owner(), path)


def groups(vault: Any) -> list[str]:
    return [e.data["group"] for e in vault.profile.list(vault.people.owner(), "blood-group")]


# -- blood groups -----------------------------------------------------------------------------


@pytest.mark.parametrize("code, group", sorted(GROUPS.items()))
def test_each_snomed_abo_rh_finding_is_a_blood_group(vault, tmp_path, code, group):
    """882-1 valued with a SNOMED CT finding, no text: before, refused as "not understood",
    and the emergency card said "not recorded"."""
    value = coded(SCT, code)  # no display, no text: the code alone must do
    report = run(vault, tmp_path, observation(coded(LOINC, "882-1"),
                                              valueCodeableConcept=value))
    assert report["unmapped"] == [] and groups(vault) == [group]
    assert summary.emergency_card(vault, vault.people.owner()).blood_group == group


def test_the_display_of_a_finding_is_read_too(vault, tmp_path):
    value = {"coding": [{"system": "urn:oid:1.2.3", "code": "x",
                         "display": "Blood group A Rh(D) positive"}]}
    run(vault, tmp_path, observation(coded(LOINC, "882-1"), valueCodeableConcept=value))
    assert groups(vault) == ["A+"]


@pytest.mark.parametrize("abo, rh, group", [
    (coded(LOINC, "LA19710-5", "Group A"), coded(LOINC, "LA6576-8", "Positive"), "A+"),
    (coded(SCT, "58460004"), coded(SCT, "165746003"), "O-"),
    (coded(LOINC, "LA28449-9"), coded(SCT, "165747007"), "AB+"),
])
def test_abo_and_rh_as_components_or_as_two_observations(vault, tmp_path, abo, rh, group):
    """883-9 (ABO) with 10331-7 (Rh): in one panel's components, or two Observations."""
    panel = observation(coded(LOINC, "882-1"), id="panel", component=[
        {"code": coded(LOINC, "883-9"), "valueCodeableConcept": abo},
        {"code": coded(LOINC, "10331-7"), "valueCodeableConcept": rh}])
    assert run(vault, tmp_path, panel)["unmapped"] == []
    assert groups(vault) == [group]
    vault.profile.remove(vault.profile.list(vault.people.owner(), "blood-group")[0].id)
    report = run(vault, tmp_path, observation(coded(LOINC, "883-9"), id="abo",
                                              valueCodeableConcept=abo),
                 observation(coded(LOINC, "10331-7"), id="rh", valueCodeableConcept=rh))
    assert report["unmapped"] == [] and groups(vault) == [group]


def test_half_a_blood_group_is_reported_with_what_is_missing(vault, tmp_path):
    report = run(vault, tmp_path, observation(coded(LOINC, "883-9"), id="abo",
                                              valueCodeableConcept=coded(SCT, "112144000")))
    assert "without its Rh(D) factor" in report["unmapped"][0]["reason"]
    assert groups(vault) == []


# -- statements of absence --------------------------------------------------------------------


def allergy(code: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/me"},
            "code": code} | more


@pytest.mark.parametrize("code", ["429625007", "409137002", "428607008", "428197003"])
def test_a_narrower_no_known_allergy_is_neither_an_allergy_nor_no_allergy(vault, tmp_path,
                                                                          code):
    """"No known food allergy" was stored as an allergy to a substance named so, and shown
    under Allergies on the emergency card. It says nothing of drugs: it is reported."""
    report = run(vault, tmp_path, allergy(coded(SCT, code, "No known food allergy")))
    me = vault.people.owner()
    assert vault.profile.list(me, "allergies") == []
    assert "nothing of other allergies" in report["unmapped"][0]["reason"]
    card = summary.emergency_card(vault, me)
    assert card.lists["allergies"] == () and "No known food" not in card.text()


@pytest.mark.parametrize("system, code, section", [
    (SCT, "716186003", "allergies"), (fhir.ABSENT, "no-known-allergies", "allergies"),
    (SCT, "787481004", "treatments"), (SCT, "160245001", "conditions")])
def test_the_whole_section_statements_are_statements(vault, tmp_path, system, code, section):
    resource = {"allergies": allergy(coded(system, code)),
                "treatments": {"resourceType": "MedicationStatement", "status": "active",
                               "subject": {"reference": "Patient/me"},
                               "medicationCodeableConcept": coded(system, code)},
                "conditions": {"resourceType": "Condition", "code": coded(system, code),
                               "subject": {"reference": "Patient/me"}}}[section]
    assert run(vault, tmp_path, resource)["added"] == {section: 1}
    entries = vault.profile.list(vault.people.owner(), section)
    assert [e.is_none_statement for e in entries] == [True]


@pytest.mark.parametrize("code", ["787480003", "no-known-procedures", "no-procedure-info"])
def test_no_known_procedures_is_no_surgical_history_entry(vault, tmp_path, code):
    """A Procedure saying "no known procedures" became a surgical condition of that name."""
    system = SCT if code[0].isdigit() else fhir.ABSENT
    procedure = {"resourceType": "Procedure", "status": "completed",
                 "subject": {"reference": "Patient/me"}, "code": coded(system, code)}
    report = run(vault, tmp_path, procedure)
    assert report["unmapped"] == [] and vault.profile.list(vault.people.owner()) == []


# -- HbA1c ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code, quantity, percent", [
    ("4548-4", {"value": 6.5, "unit": "%", "code": "%"}, 6.5),
    ("17856-6", {"value": 7.1, "unit": "%", "system": fhir.UCUM, "code": "%"}, 7.1),
    ("59261-8", {"value": 48, "unit": "mmol/mol", "code": "mmol/mol"}, 6.54),
    ("59261-8", {"value": 53}, 7.0),  # the code says mmol/mol
])
def test_hba1c_codes_map_and_mmol_per_mol_converts_to_percent(vault, tmp_path, code,
                                                              quantity, percent):
    """17856-6 was "no kind of measurement"; IFCC mmol/mol converts with the master equation
    (NGSP % = 0.0915 × IFCC + 2.15)."""
    report = run(vault, tmp_path, observation(coded(LOINC, code), valueQuantity=quantity))
    assert report["unmapped"] == []
    latest = vault.measures.latest(vault.people.owner())["hba1c"]
    assert latest.value == pytest.approx(percent, abs=0.01)


# -- doses ------------------------------------------------------------------------------------


def statement(*dosage: dict[str, Any]) -> dict[str, Any]:
    return {"resourceType": "MedicationStatement", "status": "active",
            "subject": {"reference": "Patient/me"},
            "medicationCodeableConcept": {"text": "Metformine 500 mg"}, "dosage": list(dosage)}


def test_a_structured_dose_and_timing_are_kept_in_words(vault, tmp_path):
    """doseAndRate and timing without a text were dropped without a word."""
    dosage = {"route": {"text": "voie orale"},
              "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d",
                                    "when": ["CM", "CV"], "boundsDuration": {
                                        "value": 3, "unit": "mo", "code": "mo"}}},
              "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}
    run(vault, tmp_path, statement(dosage))
    data = vault.profile.list(vault.people.owner(), "treatments")[0].data
    assert data["dose"] == "1 tablet (voie orale)"
    assert data["frequency"] == ("2 times per day, with breakfast, with dinner, "
                                 "for 3 months")


def test_every_8_hours_as_needed_and_several_dosages(vault, tmp_path):
    every = {"timing": {"repeat": {"frequency": 1, "period": 8, "periodUnit": "h"}},
             "asNeededBoolean": True,
             "doseAndRate": [{"doseRange": {"low": {"value": 1}, "high": {"value": 2,
                                                                          "unit": "puffs"}}}]}
    run(vault, tmp_path, statement(every))
    data = vault.profile.list(vault.people.owner(), "treatments")[0].data
    assert (data["dose"], data["frequency"]) == ("1–2 puffs", "every 8 hours, as needed")


@pytest.mark.parametrize("code, words", [("BID", "2 times per day"), ("Q8H", "every 8 hours"),
                                         ("BED", "at bedtime")])
def test_a_timing_abbreviation_is_put_in_words(vault, tmp_path, code, words):
    """A Timing.code coded BID without a text showed "BID"."""
    gts = "http://terminology.hl7.org/CodeSystem/v3-GTSAbbreviation"
    dosage = {"timing": {"code": coded(gts, code)},
              "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}
    run(vault, tmp_path, statement(dosage))
    data = vault.profile.list(vault.people.owner(), "treatments")[0].data
    assert data["frequency"] == words


def test_several_dosages_are_one_line_each(vault, tmp_path):
    morning = {"timing": {"repeat": {"when": ["MORN"]}},
               "doseAndRate": [{"doseQuantity": {"value": 1, "unit": "tablet"}}]}
    evening = {"timing": {"repeat": {"when": ["EVE"]}},
               "doseAndRate": [{"doseQuantity": {"value": 2, "unit": "tablets"}}]}
    run(vault, tmp_path, statement(morning, evening))
    data = vault.profile.list(vault.people.owner(), "treatments")[0].data
    assert data["dose"] == "1 tablet, in the morning; 2 tablets, in the evening"


def test_the_words_follow_the_language(vault, tmp_path):
    i18n.setup("fr")
    dosage = {"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}},
              "doseAndRate": [{"doseQuantity": {"value": 500, "unit": "mg"}}]}
    run(vault, tmp_path, statement(dosage))
    data = vault.profile.list(vault.people.owner(), "treatments")[0].data
    assert (data["dose"], data["frequency"]) == ("500 mg", "3 fois par jour")


# -- relations --------------------------------------------------------------------------------


@pytest.mark.parametrize("lang, system, code, words", [
    ("en", "v3-RoleCode", "MTH", "mother"), ("fr", "v3-RoleCode", "MTH", "mère"),
    ("fr", "v3-RoleCode", "SIGOTHR", "compagnon ou compagne"),
    ("en", "v3-RoleCode", "PGRMTH", "paternal grandmother"),
    ("en", "v2-0131", "N", "next of kin"), ("fr", "v2-0131", "C", "contact en cas d'urgence"),
])
def test_a_contact_relation_code_is_shown_in_words(vault, tmp_path, lang, system, code, words):
    """The trusted person's relation showed the raw code "MTH"."""
    i18n.setup(lang)
    patient = ME | {"id": "me", "contact": [{
        "name": {"text": "Anne Martin"},
        "relationship": [coded(fhir.TERMINOLOGY + system, code)],
        "telecom": [{"system": "phone", "value": "+33 6 00 00 00 00"}]}]}
    path = write_bundle(tmp_path / "p.json", patient)
    imp(vault, vault.people.owner(), path)
    trusted = vault.profile.list(vault.people.owner(), "trusted-person")[0]
    assert trusted.data["relation"] == words


@pytest.mark.parametrize("coded_too", [True, False])
def test_a_relation_stored_as_a_raw_code_by_an_earlier_import_is_shown_in_words(
        vault, tmp_path, cli, passphrase_file, coded_too) -> None:
    """Imports before relations got words stored "MTH" (with or without the code beside it):
    profile show, the PDF summary, the emergency card and the TUI show "mère" all the same."""
    from pypdf import PdfReader

    from msante.profile.service import Code
    from msante.tui.screens import profile_view

    owner = vault.people.owner()
    code = Code(fhir.TERMINOLOGY + "v3-RoleCode", "MTH", None) if coded_too else None
    entry = vault.profile.add(owner, "trusted-person", {"name": "Anne Martin",
                                                        "relation": "MTH"}, code=code)
    i18n.setup("fr")
    card = summary.emergency_card(vault, owner).text()
    assert "Anne Martin (mère)" in card and "MTH" not in card, card
    pdf = tmp_path / "s.pdf"
    summary.save_pdf(vault, summary.build_summary(vault, owner), pdf)
    text = " ".join(page.extract_text() for page in PdfReader(pdf).pages)
    assert "mère" in text and "MTH" not in text.replace("v3-RoleCode MTH", "")
    shown = vault.profile.list(owner, "trusted-person")[0]
    assert "mère" in profile_view.details(shown) and "MTH" not in profile_view.details(shown)
    out = cli("--lang", "fr", "profile", "show", "--section", "trusted-person",
              pfile=passphrase_file).out
    assert "mère" in out and "Relation : MTH" not in out.replace("\u202f", " "), out
    assert vault.profile.list(owner, "trusted-person")[0].data == entry.data  # stored as is


def test_every_role_code_of_the_value_set_has_words_in_both_languages():
    """The 109 v3 PersonalRelationshipRoleType codes and the v2-0131 contact roles."""
    from msante.profile import fhir_terms

    roles = fhir_terms._roles()
    role_codes = [code for system, code in roles if system == fhir_terms.ROLE_CODE]
    assert len(role_codes) == 109 and len(roles) == 121
    assert all(en and fr and en != fr or en == "parent" for en, fr in roles.values())
