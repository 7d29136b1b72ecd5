"""Coded values of outside FHIR files that msante reads as words: blood groups, statements of
absence ("no known …"), the relation of a contact.

Blood groups come as SNOMED CT findings (the eight ABO/Rh(D) codes, or ABO and Rh(D) apart),
as LOINC answers (883-9 ABO, 10331-7 Rh), or as text ("A Rh(D) positive", "O neg", "groupe
B positif"). Statements of absence are the IPS "absent or unknown" SNOMED CT situations and the
codes of the IPS absent-unknown code system (STU1), with their scope: "no known allergy" says
there is none at all; "no known food allergy" says nothing of drugs. Relations are the v3
RoleCode personal relationships and the v2-0131 contact roles (msante/data/contact_roles.csv).
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Any

from msante.formats import fhir
from msante.i18n import N_, current
from msante.text import fold

ROLE_CODE = fhir.TERMINOLOGY + "v3-RoleCode"
CONTACT_ROLE = fhir.TERMINOLOGY + "v2-0131"

# -- blood groups ------------------------------------------------------------------------------

GROUP_CODES = {  # SNOMED CT: ABO with Rh(D)
    "278149003": "A+", "278152006": "A-", "278150003": "B+", "278153001": "B-",
    "278151004": "AB+", "278154007": "AB-", "278147001": "O+", "278148006": "O-"}
ABO_CODES = {"112144000": "A", "112149005": "B", "165743006": "AB", "58460004": "O",  # SNOMED
             "LA19710-5": "A", "LA19709-7": "B", "LA28449-9": "AB", "LA19708-9": "O"}  # LOINC
RH_CODES = {"165747007": "+", "165746003": "-", "LA6576-8": "+", "LA6577-6": "-"}
BLOOD_GROUP_LOINC = "882-1"  # ABO and Rh group
ABO_LOINC = "883-9"
RH_LOINC = "10331-7"
_NOISE = re.compile(r"\b(?:blood|groupe?|sanguin|type|rh\s*\(?d?\)?|rhesus|factor|facteur)\b")
_GROUP_TEXT = re.compile(r"(ab|a|b|o|0)?\s*(\+|-|pos\w*|neg\w*)?")


def _codes(value: Any) -> list[str]:
    return [str(c.get("code")) for c in fhir.codings(value)
            if c.get("system") in (fhir.SNOMED, fhir.LOINC)]


def group_of(value: Any) -> str | None:
    """A whole group (A+, O-…) from a coded value or its text; None when it says less."""
    for code in _codes(value):
        if code in GROUP_CODES:
            return GROUP_CODES[code]
    abo, rh = abo_of(value), rh_of(value)
    return abo + rh if abo and rh else None


def abo_of(value: Any) -> str | None:
    """The ABO group (A, B, AB, O) a coded value or its text gives."""
    for code in _codes(value):
        if code in ABO_CODES:
            return ABO_CODES[code]
        if code in GROUP_CODES:
            return GROUP_CODES[code][:-1]
    return _read_text(value)[0]


def rh_of(value: Any) -> str | None:
    """The Rh(D) sign ('+' or '-') a coded value or its text gives."""
    for code in _codes(value):
        if code in RH_CODES:
            return RH_CODES[code]
        if code in GROUP_CODES:
            return GROUP_CODES[code][-1]
    return _read_text(value)[1]


def _read_text(value: Any) -> tuple[str | None, str | None]:
    """ABO and Rh from "Blood group A Rh(D) positive", "O-", "ab pos", "groupe B positif"."""
    texts = [value] if isinstance(value, str) else [
        value.get("text"), *(c.get("display") for c in fhir.codings(value))] if isinstance(
        value, dict) else []
    for text in filter(None, texts):
        key = _NOISE.sub(" ", re.sub(r"\(\w+\)", " ", fold(str(text)).replace("rh(d)", " ")))
        match = _GROUP_TEXT.fullmatch(" ".join(key.split()))
        if match and (match[1] or match[2]):
            sign = match[2] and ("+" if match[2][0] in "+p" else "-")
            return (match[1].upper().replace("0", "O") if match[1] else None), sign
    return None, None


# -- statements of absence ---------------------------------------------------------------------


@dataclass(frozen=True)
class Absence:
    """A "no known …" or "no information" statement: about which section, how wide."""

    section: str  # allergies, treatments, conditions, procedures, vaccinations, devices
    scope: str | None = None  # "food" for "no known food allergy"; None: all of the section
    info: bool = False  # "no information about …": says nothing


_SNOMED_ABSENT = {
    "716186003": Absence("allergies"), "409137002": Absence("allergies", N_("drug")),
    "429625007": Absence("allergies", N_("food")),
    "428607008": Absence("allergies", N_("environmental")),
    "428197003": Absence("allergies", N_("insect")),
    "1003774007": Absence("allergies", N_("latex")),
    "1003775008": Absence("allergies", N_("animal")),
    "787481004": Absence("treatments"), "160245001": Absence("conditions"),
    "787480003": Absence("procedures"), "787482006": Absence("vaccinations"),
    "787483001": Absence("devices")}
_IPS_ABSENT = {
    "no-known-allergies": Absence("allergies"),
    "no-known-medication-allergies": Absence("allergies", N_("drug")),
    "no-known-environmental-allergies": Absence("allergies", N_("environmental")),
    "no-known-food-allergies": Absence("allergies", N_("food")),
    "no-known-medications": Absence("treatments"), "no-known-problems": Absence("conditions"),
    "no-known-procedures": Absence("procedures"),
    "no-known-immunizations": Absence("vaccinations"), "no-known-devices": Absence("devices"),
    **{f"no-{what}-info": Absence(section, info=True) for what, section in (
        ("allergy", "allergies"), ("medication", "treatments"), ("problem", "conditions"),
        ("procedure", "procedures"), ("immunization", "vaccinations"),
        ("device", "devices"))}}
_NO_KNOWN_TEXT = re.compile(r"no known (\w+ )?(allerg|medication|drug|problem|procedure|"
                            r"immuni[sz]ation|device)")
_TEXT_SECTIONS = {"allerg": "allergies", "medication": "treatments", "drug": "treatments",
                  "problem": "conditions", "procedure": "procedures",
                  "immunisation": "vaccinations", "immunization": "vaccinations",
                  "device": "devices"}


def absence(value: Any) -> Absence | None:
    """The statement of absence a CodeableConcept makes, if it makes one: a known code of the
    IPS (SNOMED CT situations, the absent-unknown code system), else a SNOMED CT display that
    reads "No known …"."""
    for c in fhir.codings(value):
        table = {fhir.SNOMED: _SNOMED_ABSENT, fhir.ABSENT: _IPS_ABSENT}.get(str(c.get("system")))
        if table is not None and str(c.get("code")) in table:
            return table[str(c.get("code"))]
    for c in fhir.codings(value):
        match = _NO_KNOWN_TEXT.match(fold(str(c.get("display") or "")))
        if c.get("system") == fhir.SNOMED and match:
            scope = (match[1] or "").strip() or None
            return Absence(_TEXT_SECTIONS[match[2]], scope if scope != "drug" else "drug")
    return None


# -- relations ---------------------------------------------------------------------------------


@functools.cache
def _roles() -> dict[tuple[str, str], tuple[str, str]]:
    """(system, code) → (English, French) words, from the shipped table."""
    raw = resources.files("msante").joinpath("data/contact_roles.csv").read_text("utf-8")
    return {(row["system"], row["code"]): (row["en"], row["fr"])
            for row in csv.DictReader(raw.splitlines())}


def relation_words(value: Any) -> str | None:
    """A relation in words, in the user's language, from the first known coding of a
    CodeableConcept (v3 RoleCode or v2-0131); None when no coding is known."""
    for c in fhir.codings(value):
        words = _roles().get((str(c.get("system")), str(c.get("code"))))
        if words:
            return words[1] if current() == "fr" else words[0]
    return None


def stored_relation(text: str, system: str | None, code: str | None) -> str:
    """A stored relation as shown: imports before relations got words kept the raw code
    ("MTH"), beside the entry's code or alone; any other text is shown as it is."""
    if code and text == code and system:
        words = _roles().get((system, code))
    else:
        words = _roles().get((ROLE_CODE, text))
    if not words:
        return text
    return words[1] if current() == "fr" else words[0]
