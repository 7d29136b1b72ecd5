"""The medical profile's sections and their fields, as data; validation of an entry's fields.

Each section is a list of entries; an entry's fields are checked and normalised here (partial
dates to `YYYY`, `YYYY-MM` or `YYYY-MM-DD`, enumerations to their key, numbers to int) with a
message that names the field. The CLI builds its options from these tables and the FHIR
mapping reads the same keys.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from msante.errors import UsageError
from msante.i18n import N_, _
from msante.text import clean, fold


@dataclass(frozen=True)
class Field:
    """One field of a section: its key, kind (text, date, enum, int, phone, doc) and rules."""

    name: str
    kind: str
    label: str
    required: bool = False
    choices: tuple[str, ...] = ()

    def argument(self) -> str:
        """How it is given on the command line (`resolved-on=…`)."""
        return self.name.replace("_", "-") + "=…"


@dataclass(frozen=True)
class Section:
    """A section of the profile."""

    name: str
    label: str
    fields: tuple[Field, ...]
    clinical: bool = True  # removing marks "entered in error" rather than deleting
    date_field: str | None = None  # the field entries are ordered by
    single: bool = False  # a new entry supersedes the current one (blood group)
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def get(self, name: str) -> Field:
        """The field called `name`."""
        return next(f for f in self.fields if f.name == name)

    def title_of(self, data: dict[str, object]) -> str:
        """The entry's main text (its first field's value)."""
        return str(data.get(self.fields[0].name) or "")


SEVERITIES = ("mild", "moderate", "severe")
CONDITION_STATUS = ("active", "resolved")
LIFESTYLE_TOPICS = ("food", "activity", "tobacco", "alcohol", "sleep", "screens")
BLOOD_GROUPS = ("A+", "A-", "B+", "B-", "AB+", "AB-", "O+", "O-")
SCREENINGS = ("mammography", "colorectal-fit", "cervical-hpv", "cervical-cytology", "other")
CHOICE_LABELS = {
    "mild": N_("mild"), "moderate": N_("moderate"), "severe": N_("severe"),
    "active": N_("active"), "resolved": N_("resolved"),
    "medical": N_("medical"), "surgical": N_("surgical"),
    "allergy": N_("allergy"), "intolerance": N_("intolerance"),
    "food": N_("food"), "activity": N_("physical activity"), "tobacco": N_("tobacco"),
    "alcohol": N_("alcohol"), "sleep": N_("sleep"), "screens": N_("screens"),
    "mammography": N_("mammography (breast cancer)"),
    "colorectal-fit": N_("FIT stool test (colorectal cancer)"),
    "cervical-hpv": N_("HPV test (cervical cancer)"),
    "cervical-cytology": N_("cervical cytology (smear test)"), "other": N_("other"),
    "medication": N_("medication"), "environment": N_("environment"),
    "biologic": N_("biologic"),
}

# The French words a person may type for a choice, in either language (folded, - for spaces).
FRENCH_CHOICES = {
    "leger": "mild", "legere": "mild", "modere": "moderate", "moderee": "moderate",
    "severe": "severe", "grave": "severe", "actif": "active", "active": "active",
    "en-cours": "active", "resolu": "resolved", "resolue": "resolved", "gueri": "resolved",
    "guerie": "resolved", "medical": "medical", "medicale": "medical",
    "chirurgical": "surgical", "chirurgicale": "surgical", "allergie": "allergy",
    "intolerance": "intolerance", "alimentation": "food", "alimentaire": "food",
    "activite-physique": "activity", "activite": "activity", "sport": "activity",
    "tabac": "tobacco", "alcool": "alcohol", "sommeil": "sleep", "ecrans": "screens",
    "ecran": "screens", "mammographie": "mammography", "test-fit": "colorectal-fit",
    "test-immunologique": "colorectal-fit", "depistage-colorectal": "colorectal-fit",
    "test-hpv": "cervical-hpv", "frottis": "cervical-cytology",
    "examen-cytologique": "cervical-cytology", "cytologie": "cervical-cytology",
    "autre": "other", "medicament": "medication", "medicamenteuse": "medication",
    "environnement": "environment", "environnementale": "environment",
    "biologique": "biologic", "produit-biologique": "biologic",
}

SECTIONS: tuple[Section, ...] = (
    Section("allergies", N_("Allergies and intolerances"), (
        Field("substance", "text", N_("substance"), required=True),
        Field("reaction", "text", N_("reaction")),
        Field("severity", "enum", N_("severity"), choices=SEVERITIES),
        Field("type", "enum", N_("allergy or intolerance"), choices=("allergy", "intolerance")),
        Field("category", "enum", N_("category"),
              choices=("food", "medication", "environment", "biologic")),
        Field("since", "date", N_("since")),
        Field("note", "text", N_("note")),
    ), date_field="since", aliases=("allergy", "allergies-et-intolerances", "allergie",
                                    "intolerances", "intolerance")),
    Section("treatments", N_("Treatments"), (
        Field("medicine", "text", N_("medicine"), required=True),
        Field("dose", "text", N_("dose")),
        Field("frequency", "text", N_("frequency")),
        Field("start", "date", N_("from")),
        Field("end", "date", N_("to")),
        Field("reason", "text", N_("reason")),
        Field("note", "text", N_("note")),
    ), date_field="start", aliases=("treatment", "medication", "medications", "traitements",
                                    "traitement")),
    Section("conditions", N_("Medical and surgical history"), (
        Field("condition", "text", N_("condition"), required=True),
        Field("status", "enum", N_("status"), choices=CONDITION_STATUS),
        Field("kind", "enum", N_("medical or surgical"), choices=("medical", "surgical")),
        Field("onset", "date", N_("onset")),
        Field("resolved_on", "date", N_("resolved on")),
        Field("note", "text", N_("note")),
    ), date_field="onset", aliases=("condition", "history", "problems", "antecedents",
                                    "antecedent", "antecedents-medicaux",
                                    "antecedents-medicaux-et-chirurgicaux")),
    Section("vaccinations", N_("Vaccinations"), (
        Field("vaccine", "text", N_("vaccine"), required=True),
        Field("date", "date", N_("date"), required=True),
        Field("dose", "int", N_("dose number")),
        Field("batch", "text", N_("batch")),
        Field("note", "text", N_("note")),
    ), date_field="date", aliases=("vaccination", "vaccines", "immunizations", "vaccins",
                                   "vaccin")),
    Section("family", N_("Family history"), (
        Field("condition", "text", N_("condition"), required=True),
        Field("relative", "text", N_("relative"), required=True),
        Field("note", "text", N_("note")),
    ), aliases=("family-history", "antecedents-familiaux", "famille")),
    Section("screenings", N_("Screenings done"), (
        Field("screening", "enum", N_("screening"), required=True, choices=SCREENINGS),
        Field("date", "date", N_("date"), required=True),
        Field("result", "text", N_("result")),
        Field("note", "text", N_("note")),
    ), date_field="date", aliases=("screening", "depistages", "depistage")),
    Section("blood-group", N_("Blood group"), (
        Field("group", "enum", N_("blood group"), required=True, choices=BLOOD_GROUPS),
    ), single=True, aliases=("blood", "groupe-sanguin", "groupe")),
    Section("trusted-person", N_("Trusted person"), (
        Field("name", "text", N_("name"), required=True),
        Field("relation", "text", N_("relation")),
        Field("phone", "phone", N_("phone")),
    ), clinical=False, aliases=("trusted", "personne-de-confiance", "confiance")),
    Section("directives", N_("Advance directives"), (
        Field("text", "text", N_("text")),
        Field("document", "doc", N_("document id")),
        Field("date", "date", N_("date")),
    ), date_field="date", aliases=("advance-directives", "directives-anticipees",
                                   "directive")),
    Section("lifestyle", N_("Lifestyle habits"), (
        Field("topic", "enum", N_("topic"), required=True, choices=LIFESTYLE_TOPICS),
        Field("text", "text", N_("text"), required=True),
        Field("since", "date", N_("since")),
    ), clinical=False, aliases=("habits", "habitudes", "habitudes-de-vie")),
)
_BY_NAME = {key: s for s in SECTIONS for key in (s.name, *s.aliases)}
MAX_TEXT = 2000


def get(name: str) -> Section:
    """The section called `name` (or an alias); UsageError listing them otherwise."""
    section = _BY_NAME.get(fold(name).replace(" ", "-").replace("_", "-"))
    if section is None:
        raise UsageError(_("Unknown profile section '{name}'. Sections: {names}.").format(
            name=name, names=", ".join(s.name for s in SECTIONS)))
    return section


_PARTIAL = (
    (re.compile(r"^(\d{4})$", re.ASCII), "{0}"),
    (re.compile(r"^(\d{4})-(\d{1,2})$", re.ASCII), "{0}-{1:0>2}"),
    (re.compile(r"^(\d{1,2})/(\d{4})$", re.ASCII), "{1}-{0:0>2}"),
)


def partial_date(text: str, label: str, today: dt.date | None = None) -> str:
    """`2019`, `2019-03` or `03/2019` as YYYY[-MM]; a whole day as `dates.parse_day` reads
    it (`2019-03-12`, `12/03/2019`), with its one message when it cannot be read."""
    from msante.dates import invalid, parse_day

    raw = text.strip()
    value = _partial(raw)
    if value is None:
        value = parse_day(raw, what=_(label)).isoformat()
    elif _first_day(value) is None:
        raise invalid(text, _(label))
    first = _first_day(value)
    if first is None or first.year < 1900 or first > (today or dt.date.today()):
        raise UsageError(_("Invalid {field} '{text}': expected a date such as 2019, 2019-03 or "
                           "2019-03-12, not in the future.").format(field=_(label), text=text))
    return value


def _partial(raw: str) -> str | None:
    """A year or a month (`2019`, `2019-03`, `03/2019`) as YYYY[-MM]; None for other text."""
    for pattern, form in _PARTIAL:
        if match := pattern.match(raw):
            return form.format(*match.groups())
    return None


def _first_day(value: str) -> dt.date | None:
    """The first day of YYYY[-MM[-DD]], None if there is no such day."""
    parts = [int(p) for p in value.split("-")] + [1, 1]
    try:
        return dt.date(parts[0], parts[1], parts[2])
    except ValueError:
        return None


def check_field(section: Section, name: str, raw: object) -> object:
    """One field's value checked and normalised (UsageError naming the field otherwise)."""
    return _one(section.get(name), raw)


def _one(spec: Field, raw: object) -> object:
    text = clean(str(raw), lines=True).strip()  # no terminal escapes stored
    if spec.kind == "date":
        return partial_date(text, spec.label)
    if spec.kind == "enum":
        return _choice(spec, text)
    if spec.kind == "int":
        if not re.fullmatch(r"[0-9]{1,2}", text) or not 0 < int(text) < 100:
            raise UsageError(_("Invalid {field} '{text}': expected a whole number from 1 to 99.")
                             .format(field=_(spec.label), text=text))
        return int(text)
    if spec.kind == "phone" and not re.fullmatch(r"\+?[\d .()-]{4,25}", text):
        raise UsageError(_("Invalid {field} '{text}': expected a phone number such as "
                           "+33 6 12 34 56 78.").format(field=_(spec.label), text=text))
    if len(text) > MAX_TEXT:
        raise UsageError(_("The {field} is too long (at most {n} characters).")
                         .format(field=_(spec.label), n=MAX_TEXT))
    return text


def _choice(spec: Field, text: str) -> str:
    key = fold(text).replace(" ", "-")
    if FRENCH_CHOICES.get(key) in spec.choices:
        return FRENCH_CHOICES[key]
    for choice in spec.choices:
        if key in (fold(choice), fold(_(CHOICE_LABELS.get(choice, choice))).replace(" ", "-")):
            return choice
    raise UsageError(_("Invalid {field} '{text}': expected one of {choices}.").format(
        field=_(spec.label), text=text, choices=", ".join(spec.choices)))


def validate(section: Section, values: dict[str, object], *,
             base: dict[str, object] | None = None) -> dict[str, object]:
    """The entry's fields checked and normalised (`base`: the fields being edited)."""
    unknown = set(values) - {f.name for f in section.fields}
    if unknown:
        raise UsageError(_("The section '{section}' has no field {fields}.").format(
            section=section.name, fields=", ".join(sorted(unknown))))
    data = dict(base or {})
    for name, raw in values.items():
        if raw is None or str(raw).strip() == "":
            data.pop(name, None)
        else:
            data[name] = _one(section.get(name), raw)
    _check_complete(section, data)
    return data


def _check_complete(section: Section, data: dict[str, object]) -> None:
    missing = [f for f in section.fields if f.required and f.name not in data]
    if missing:
        raise UsageError(_("Missing {field} for {section} (give {argument}).").format(
            field=_(missing[0].label), section=_(section.label),
            argument=missing[0].argument()))
    if section.name == "directives" and not (data.get("text") or data.get("document")):
        raise UsageError(_("Advance directives need a text (text=…) or a stored document "
                           "(document=ID)."))
    if section.name == "conditions" and data.get("resolved_on") and data.get(
            "status") == "active":
        raise UsageError(_("A condition resolved on a date is not active: give "
                           "status=resolved, or no resolved-on date."))
    start, end = data.get("start") or data.get("onset"), data.get("end") or data.get(
        "resolved_on")
    if start and end and str(end)[:len(str(start))] < str(start)[:len(str(end))]:
        raise UsageError(_("The end date {end} is before the start date {start}.").format(
            end=end, start=start))
