"""Document types: the LOINC codes of the French value set JDV_J07-XdsTypeCode-CISIS.

The codes and their French names ship in `msante/data/document_types.csv` (a copy of the shared
reference data; see msante/data/SOURCES.md). English names are ours, for the codes people meet
most; the others show their French name in both languages. Short aliases name the common ones.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources

from msante.errors import UsageError
from msante.i18n import N_, _, current
from msante.text import fold

SYSTEM = "http://loinc.org"
OTHER = "51851-4"  # "Document administratif": for what no rule recognises

# code → English name (marked for translation only so that the French UI keeps the CSV's name)
ENGLISH = {
    "11502-2": N_("Lab report"),
    "57833-6": N_("Prescription"),
    "57832-8": N_("Care prescription"),
    "57828-6": N_("Prescription (other)"),
    "18748-4": N_("Imaging report"),
    "34112-3": N_("Hospital stay report"),
    "11490-0": N_("Discharge letter"),
    "11488-4": N_("Consultation report"),
    "89601-9": N_("Medical certificate"),
    "87273-9": N_("Vaccination note"),
    "11369-6": N_("Vaccination history"),
    "96874-3": N_("COVID-19 vaccination certificate"),
    "34874-8": N_("Operative report"),
    "15507-7": N_("Emergency department report"),
    "60568-3": N_("Pathology report"),
    "51851-4": N_("Administrative document"),
    "60591-5": N_("Medical summary"),
    "96349-6": N_("Referral letter"),
    "78513-9": N_("Ophthalmology consultation report"),
    "77436-4": N_("Anaesthesia report"),
    "34749-2": N_("Pre-anaesthesia consultation report"),
    "59283-2": N_("Child examination report"),
    "55115-0": N_("Imaging request"),
    "29274-8": N_("Vital signs"),
    "52040-3": N_("Illustration image (non-DICOM)"),
    "83836-7": N_("Dental chart"),
    "15508-5": N_("Delivery report"),
    "89233-1": N_("Pregnancy report"),
}

ALIASES = {
    "lab": "11502-2", "biology": "11502-2", "biologie": "11502-2", "analyses": "11502-2",
    "prescription": "57833-6", "ordonnance": "57833-6", "rx": "57833-6",
    "imaging": "18748-4", "imagerie": "18748-4", "radiology": "18748-4", "radio": "18748-4",
    "hospital": "34112-3", "hospitalisation": "34112-3", "hospitalization": "34112-3",
    "discharge": "11490-0", "liaison": "11490-0",
    "consultation": "11488-4", "certificate": "89601-9", "certificat": "89601-9",
    "vaccination": "87273-9", "vaccine": "87273-9", "vaccin": "87273-9",
    "operative": "34874-8", "operatoire": "34874-8", "emergency": "15507-7",
    "urgences": "15507-7", "pathology": "60568-3", "summary": "60591-5",
    "synthese": "60591-5", "referral": "96349-6", "adressage": "96349-6",
    "administrative": "51851-4", "administratif": "51851-4", "other": "51851-4",
    "autre": "51851-4", "dental": "83836-7", "dentaire": "83836-7", "image": "52040-3",
}


MAIN_ALIASES = ("lab", "prescription", "imaging", "hospital", "discharge", "consultation",
                "certificate", "vaccination", "operative", "emergency", "pathology", "other")


@dataclass(frozen=True)
class DocType:
    """One document type of the value set."""

    code: str
    display_fr: str

    @property
    def label(self) -> str:
        """The type's name in the user's language."""
        english = ENGLISH.get(self.code)
        if current() == "fr" or english is None:
            return self.display_fr
        return _(english)


@cache
def all_types() -> dict[str, DocType]:
    """Every type of the value set, by code."""
    raw = resources.files("msante").joinpath("data/document_types.csv").read_text("utf-8")
    rows = csv.DictReader(raw.splitlines())
    return {r["code"]: DocType(r["code"], r["display_fr"]) for r in rows}


def get(code: str) -> DocType:
    """The type of `code` (KeyError if it is not in the value set)."""
    return all_types()[code]


def resolve(text: str) -> DocType:
    """A type from a LOINC code or an alias; UsageError naming the aliases otherwise."""
    value = text.strip()
    if value in all_types():
        return all_types()[value]
    code = ALIASES.get(fold(value).replace(" ", "-"))
    if code is None:
        raise UsageError(
            _("Unknown document type '{type}': give a LOINC code of the value set or one of "
              "{aliases}.").format(type=text, aliases=", ".join(MAIN_ALIASES)))
    return all_types()[code]
