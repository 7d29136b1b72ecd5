"""Guess a document's type and date from its text (pure functions, no I/O).

Text is compared through `_flat`, a length-preserving version of `msante.text.fold` (lower case,
no accents, typographic apostrophes and dashes made plain), so that a match in the folded text
slices the original words for the evidence.

Type (`guess_type`, first 20,000 characters): each LOINC code has weighted keyword groups, French
and English; a group counts once, multiplied by the best zone it occurs in: the title (x4), the
file name (x3), a heading (a line of the header with no digit and at most 60 characters: x3),
the rest of the header (first 15 non-empty lines: x2) and the body (x1). Headers weigh more so
that "ORDONNANCE" atop a prescription listing "Glycémie à jeun" beats the lab words, and a lab
report's footer "sur ordonnance" stays a footer. A *support* group (e.g. "conclusion" for imaging,
"ordonnance" for care prescriptions, "covid" for the COVID certificate's "attestation") counts
only when a non-support group of the same code matched. The best code wins if it scores at least
`MIN_SCORE` (ties: the order of `_RULES`); the confidence grows with the score and the margin
over the runner-up.

Date (`guess_date`, first 30,000 characters): every date (dd/mm/yyyy, with - or . too, d/m/yy,
ISO, "12 mars 2025", "1er mars 2025", "March 12, 2025", "12 March 2025", "Mar 12 2025") is ranked
by the cue just before it: exam, collection or end-of-stay cues ("prélevé le", "examen du",
"hospitalisé du X au", "collected", "date of service": 3), document cues ("fait le",
"Paris, le", "édité le", "compte rendu du", "Date :", "report date", "signed on": 2), none (1).
Dates after birth cues ("né le", "DDN", "DOB"…) or followed by an age ("(45 ans)"), after
validity or appointment cues ("valable jusqu'au", "expire", "prochain rendez-vous", "DDR"),
invalid (31/02), before 1900 or later than tomorrow are dropped. Numeric dates are day-first,
except in an English text whose numeric dates show a month-first one (03/14/2025) and no
day-first one. Two-digit years are 20yy up to next year's yy, 19yy above. Rank = tier, plus 1 in
the header area (first 40 lines): a document states its own date at the top, dates further down
are history. Ties go to the most recent date (older header dates are previous results, the start
of a stay or the prescription a lab worked from; the latest is when the document was made),
then to the first one in the text.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from msante.text import fold

TYPE_SCAN = 20_000
DATE_SCAN = 30_000
HEADER_LINES = 15
HEADER_CHARS = 1_500
HEADING_MAX = 60
DATE_HEADER_LINES = 40
MIN_SCORE = 2.0
EVIDENCE_MAX = 80


@dataclass(frozen=True)
class TypeGuess:
    """A guessed document type."""

    code: str
    score: float
    evidence: str


@dataclass(frozen=True)
class DateGuess:
    """A guessed document date."""

    date: dt.date
    evidence: str


# ---------------------------------------------------------------- folding

def _flat_table() -> dict[int, str]:
    """Translation table: one folded character for each accented Latin letter and punctuation."""
    table: dict[int, str] = {}
    for code in range(0x80, 0x250):
        folded = fold(chr(code))
        if len(folded) == 1 and folded != chr(code):
            table[code] = folded
    table.update({ord(c): " " for c in "\u00a0\u2007\u202f"})
    table.update({ord(c): "'" for c in "\u2018\u2019\u02bc\u00b4`"})
    table.update({ord(c): "-" for c in "\u2010\u2011\u2012\u2013\u2014\u2212"})
    return table


_FLAT = _flat_table()


def _flat(text: str) -> str:
    """Lower case without accents, one character for one (positions map back to `text`)."""
    return text.translate(_FLAT).lower()


def _clip(text: str) -> str:
    """`text` on one line, at most EVIDENCE_MAX characters."""
    words = " ".join(text.split())
    return words if len(words) <= EVIDENCE_MAX else words[:EVIDENCE_MAX - 1] + "…"


# ---------------------------------------------------------------- type rules

@dataclass(frozen=True)
class _Keyword:
    weight: float
    pattern: re.Pattern[str]
    support: bool = False


def _phrase(words: str) -> str:
    """Regex of a phrase: folded, any spaces or hyphen between words, optional apostrophe."""
    parts = {" ": r"[\s\-]+", "-": r"[\s\-]?", "'": r"'?\s*"}
    body = "".join(parts.get(c) or re.escape(c) for c in fold(words))
    start = r"\b" if words[0].isalnum() else ""
    return start + body + (r"\b" if words[-1].isalnum() else "")


def _kw(weight: float, *phrases: str, support: bool = False) -> _Keyword:
    """A keyword group: any of `phrases`, counted once."""
    return _Keyword(weight, re.compile("|".join(map(_phrase, phrases))), support)


def _re(weight: float, regex: str, support: bool = False) -> _Keyword:
    """A keyword group written as a regex over folded text."""
    return _Keyword(weight, re.compile(regex), support)


_RULES: dict[str, tuple[_Keyword, ...]] = {
    "11502-2": (  # lab report
        _kw(6, "compte rendu d'examens biologiques", "cr d'examens biologiques",
            "compte rendu de biologie", "résultats d'analyses", "résultats d'examens biologiques",
            "laboratory report", "lab report", "laboratory results", "lab results"),
        _kw(3, "laboratoire", "laboratory", "labo"),
        _kw(4, "biologie médicale", "analyses médicales", "laboratoire d'analyses"),
        _kw(3, "prélevé le", "prélevée le", "prélèvement", "specimen collected",
            "collection date", "specimen"),
        _kw(2, "hémogramme", "numération formule sanguine", "nfs", "complete blood count", "cbc"),
        _kw(1.5, "glycémie", "glucose", "créatinine", "creatinine", "cholestérol", "cholesterol",
            "tsh", "hémoglobine", "hemoglobin", "ferritine", "transaminases", "crp",
            "protéine c réactive", "kaliémie", "natrémie", "hba1c"),
        _kw(3, "valeurs de référence", "valeurs usuelles", "reference range",
            "reference interval", "antériorités", "antériorité"),
        _kw(2, "biologiste", "validé par", "biologiste responsable"),
        _re(1.5, r"\b(?:[mnpμu]?mol|[mnμu]?g|ui|u)/(?:l|dl|ml)\b"),
    ),
    "57833-6": (  # prescription of health products
        _kw(4, "ordonnance", "ordo", "ordonnance bizone"),
        _kw(2, "prescription", "prescribed"),
        _kw(3, "posologie", "qsp", "q.s.p", "quantité suffisante pour"),
        _kw(2, "comprimé", "comprimés", "gélule", "gélules", "sachet", "sachets", "cp",
            "tablet", "tablets", "capsule", "capsules"),
        _kw(2, "boîte", "boîtes", "flacon", "flacons"),
        _kw(2, "à renouveler", "renouvelable", "refills", "refill"),
        _re(3, r"\d\s*(?:mg|g|ml|ui|µg|μg)\b[^\n]{0,80}?\bfois\s+par\s+jour\b"),
        _kw(1.5, "fois par jour", "par jour", "times a day", "once daily", "twice daily",
            "twice a day", "bid", "tid"),
        _re(2, r"℞|\brx\s*[:#]|(?:\A|\n)\s*rx\s*(?:\n|\Z)|\bsig\s*:|\bdispense\s*(?::|#|\d)"),
        _re(1.5, r"\bpendant\s+\d+\s+(?:jours|semaines|mois)\b|\bfor\s+\d+\s+days\b"),
    ),
    "57832-8": (  # care prescription
        _kw(5, "soins infirmiers", "prescription de soins", "nursing care"),
        _kw(4, "kinésithérapie", "masseur kinésithérapeute", "kinésithérapeute", "kiné",
            "physiothérapie", "physical therapy", "physiotherapy", "orthophonie", "orthoptie"),
        _kw(3, "séances de", "séances", "sessions of", "faire pratiquer", "rééducation"),
        _kw(2, "infirmier", "infirmière", "ide", "idel", "à domicile", "pansement", "pansements"),
        _kw(3, "ordonnance", "ordo", "prescription", support=True),
    ),
    "18748-4": (  # imaging report
        _kw(6, "compte rendu d'imagerie", "imagerie médicale", "radiology report",
            "imaging report", "centre d'imagerie", "cabinet de radiologie"),
        _kw(3, "radiographie", "échographie", "échographique", "échodoppler", "irm",
            "imagerie par résonance magnétique", "scanner", "tomodensitométrie", "tdm",
            "mammographie", "scintigraphie", "ostéodensitométrie", "ultrasound", "x-ray",
            "mri", "ct scan", "ct", "mammogram", "radiograph"),
        _kw(2, "radiologue", "radiologie", "radiologist", "radiology", "echo", "radio"),
        _kw(1.5, "incidence", "incidences", "produit de contraste", "gadolinium", "contrast"),
        _re(3, r"\brx\s+(?:du|de|des)\b|\brx\s+d'"),
        _kw(4, "panoramique dentaire", "orthopantomogramme"),
        _kw(1.5, "conclusion", "impression", support=True),
    ),
    "34112-3": (  # hospital stay report
        _kw(6, "compte rendu d'hospitalisation", "cr d'hospitalisation",
            "compte rendu de séjour", "discharge summary"),
        _re(4, r"\bhospitalise\w*\s+(?:du|from)\b"),
        _kw(3, "motif d'hospitalisation", "motif d'admission", "hospital course",
            "reason for admission", "admission diagnosis", "discharge diagnosis",
            "diagnostic de sortie", "mode de sortie", "traitement de sortie",
            "discharge medications"),
        _kw(2, "date d'entrée", "date de sortie", "date d'admission", "admission date",
            "discharge date", "durée du séjour", "length of stay"),
        _kw(1.5, "séjour", "hospitalisation", "hospitalisé", "hospitalisée", "hospitalized",
            "admitted"),
    ),
    "11490-0": (  # discharge letter
        _kw(7, "lettre de liaison", "lettre de sortie", "discharge letter"),
    ),
    "11488-4": (  # consultation report
        _kw(6, "compte rendu de consultation", "cr de consultation", "consultation note",
            "office visit", "visit note", "clinic note", "fiche de consultation"),
        _kw(3, "motif de consultation", "chief complaint", "reason for visit"),
        _kw(2, "examen clinique", "physical examination", "consultation", "vu en consultation",
            "history of present illness", "assessment and plan", "conduite à tenir"),
    ),
    "89601-9": (  # medical certificate
        _kw(6, "certificat médical", "medical certificate",
            "certificat de non contre-indication", "certificat d'aptitude"),
        _kw(3, "certificat", "certificate", "certifie", "certifions", "certify", "certifies"),
        _kw(3, "je soussigné", "je soussignée", "undersigned"),
        _kw(4, "contre-indication à la pratique", "absence de contre-indication",
            "pour servir et valoir ce que de droit"),
        _kw(1.5, "apte", "inapte", "aptitude", "unfit", "fit to"),
    ),
    "96874-3": (  # COVID-19 vaccination certificate
        _kw(7, "pass sanitaire", "passe sanitaire", "certificat covid", "certificat covid numérique",
            "eu digital covid certificate", "covid-19 vaccination certificate",
            "attestation de vaccination covid", "certificat de vaccination covid"),
        _kw(3, "covid", "covid-19", "sars-cov-2", "coronavirus", "comirnaty", "spikevax",
            "vaxzevria", "nuvaxovid", "jcovden"),
        _kw(3, "attestation de vaccination", "certificat de vaccination",
            "vaccination certificate", "schéma vaccinal complet", "cycle vaccinal complet",
            support=True),
    ),
    "87273-9": (  # vaccination note
        _kw(5, "note de vaccination", "acte de vaccination", "attestation de vaccination",
            "certificat de vaccination", "certificat international de vaccination"),
        _re(3, r"\bvaccin\w*|\bimmuni[sz]ation\b"),
        _re(2, r"\blot\s*(?:n\s*[°o.]|:|#|number)|\bbatch\b"),
        _kw(1.5, "rappel", "dose", "booster", "injection intramusculaire"),
        _kw(2, "dtpolio", "ror", "hpv", "papillomavirus", "grippe", "influenza", "hépatite b",
            "tétanos", "coqueluche", "pneumocoque", "méningocoque", "zona", "fièvre jaune",
            "boostrix", "revaxis", "gardasil", "priorix", "vaxigrip", "influvac", "prevenar",
            "tetanus", "measles", "shingles", support=True),
    ),
    "11369-6": (  # vaccination history
        _kw(7, "carnet de vaccination", "historique des vaccinations", "immunization record",
            "vaccination record", "immunization history", "vaccination history"),
        _kw(3, "calendrier vaccinal", "vaccinations"),
    ),
    "34874-8": (  # operative report
        _kw(7, "compte rendu opératoire", "cr opératoire", "operative report", "operative note",
            "op note", "rapport opératoire"),
        _kw(3, "opérateur", "aide opératoire", "surgeon", "indication opératoire"),
        _kw(2, "anesthésie générale", "rachianesthésie", "anesthésie locorégionale",
            "general anesthesia"),
        _kw(2, "incision", "suture", "fermeture plan par plan", "hémostase", "décubitus dorsal"),
        _kw(2, "intervention", "procedure performed", "bloc opératoire", "operating room",
            "cœlioscopie", "coelioscopie", "laparoscopy", "laparoscopic"),
    ),
    "15507-7": (  # emergency department report
        _kw(6, "passage aux urgences", "compte rendu de passage", "service des urgences",
            "accueil des urgences", "emergency department", "emergency room", "ed visit"),
        _kw(3, "urgences", "urgentiste"),
        _kw(2, "triage", "iao", "mode d'arrivée", "samu", "smur", "ccmu"),
        _kw(2, "emergency", support=True),
    ),
    "60568-3": (  # pathology report
        _kw(7, "anatomie pathologique", "anatomie et cytologie pathologiques",
            "anatomo-pathologique", "anatomo-pathologie", "pathology report",
            "surgical pathology", "cytopathology"),
        _kw(3, "cytologie", "cytologique", "histologie", "histologique", "histopathologique",
            "immunohistochimie", "immunohistochimique", "histopathology", "histology",
            "cytology"),
        _kw(2, "biopsie", "biopsies", "pièce opératoire", "biopsy", "frottis", "exérèse"),
        _kw(2, "macroscopie", "microscopie", "examen macroscopique", "examen microscopique",
            "gross description", "microscopic description", "extemporané", "pathologiste",
            "pathologist"),
    ),
    "96349-6": (  # referral letter
        _kw(7, "lettre d'adressage", "referral letter", "letter of referral"),
        _kw(4, "je vous adresse", "je vous confie", "merci de recevoir",
            "je vous remercie de bien vouloir recevoir", "je vous remercie de recevoir",
            "i am referring", "i would be grateful if you could see", "thank you for seeing"),
        _re(2, r"\bchere?\s+(?:confrere|consœur|consoeur|collegue|ami)\b"
               r"|\bdear\s+(?:dr|doctor|colleague)\b"),
        _kw(2, "referral", "referred", "adressé pour", "avis spécialisé"),
    ),
    "78513-9": (  # ophthalmology consultation
        _kw(8, "consultation d'ophtalmologie", "consultation ophtalmologique",
            "compte rendu ophtalmologique", "ophthalmology consultation", "eye examination"),
        _kw(4, "ophtalmologie", "ophtalmologiste", "ophtalmologue", "ophtalmologique",
            "ophthalmology", "ophthalmologist", "ophthalmic"),
        _kw(4, "acuité visuelle", "visual acuity", "tonus oculaire", "pression intraoculaire",
            "intraocular pressure", "fond d'œil", "fond d'oeil", "lampe à fente", "slit lamp",
            "réfraction", "oct maculaire"),
    ),
    "34749-2": (  # pre-anaesthesia consultation
        _kw(8, "consultation pré-anesthésique", "consultation d'anesthésie",
            "consultation pré-anesthésie", "pre-anesthesia", "pre-anaesthesia",
            "preanesthetic", "pre-anesthetic", "pre-anaesthetic"),
        _re(3, r"\basa\s*(?:[1-5]|i{1,3}|iv|v)\b|\b(?:score|classe|class)\s+asa\b|\bmallampati\b"),
        _kw(2, "anesthésie", "anesthésiste", "anesthesia", "anaesthesia", "anesthesiologist",
            "intubation", "prémédication", "ouverture de bouche"),
    ),
    "77436-4": (  # anaesthesia report
        _kw(7, "compte rendu d'anesthésie", "cr d'anesthésie", "feuille d'anesthésie",
            "anesthesia record", "anaesthesia record"),
    ),
    "83836-7": (  # dental chart
        _kw(7, "schéma dentaire", "odontogramme", "dental chart"),
        _kw(3, "chirurgien-dentiste", "cabinet dentaire", "dentiste", "dentist", "dental"),
        _kw(2, "carie", "caries", "détartrage", "parodontal", "couronne", "molaire", "molaires",
            "prémolaire", "incisive", "incisives", "cavity", "molar", "dents", "dent"),
    ),
}


# ---------------------------------------------------------------- type guess

@dataclass(frozen=True)
class _Zone:
    text: str
    flat: str
    weight: float


@dataclass(frozen=True)
class _Hit:
    points: float
    words: str
    support: bool


def _zone(text: str, weight: float) -> _Zone:
    """A zone of the document with its folded text."""
    return _Zone(text, _flat(text), weight)


def _header_end(text: str) -> int:
    """Offset where the header (first non-empty lines, at most HEADER_CHARS) ends."""
    limit = len(text) if len(text) <= HEADER_CHARS else text.rfind("\n", 0, HEADER_CHARS) + 1
    seen, pos = 0, 0
    while pos < limit and seen < HEADER_LINES:
        end = text.find("\n", pos, limit)
        end = limit if end < 0 else end + 1
        seen += bool(text[pos:end].strip())
        pos = end
    return pos


def _is_heading(line: str) -> bool:
    """A short header line without digits: a title such as "ORDONNANCE"."""
    return len(line.strip()) <= HEADING_MAX and not any(c.isdigit() for c in line)


def _file_words(filename: str | None) -> str:
    """The words of a file's name: no folders, no extension, separators made spaces."""
    name = re.split(r"[\\/]", filename or "")[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return re.sub(r"[_.+]+", " ", stem)


def _zones(text: str, title: str | None, filename: str | None) -> list[_Zone]:
    """The zones, heaviest first."""
    scan = text[:TYPE_SCAN]
    cut = _header_end(scan)
    lines = scan[:cut].split("\n")
    headings = "\n".join(line for line in lines if _is_heading(line))
    others = "\n".join(line for line in lines if not _is_heading(line))
    zones = [_zone(title or "", 4.0), _zone(_file_words(filename), 3.0),
             _zone(headings, 3.0), _zone(others, 2.0), _zone(scan[cut:], 1.0)]
    return [zone for zone in zones if zone.flat.strip()]


def _hit(keyword: _Keyword, zones: list[_Zone]) -> _Hit | None:
    """The keyword's best occurrence: the first in the heaviest zone."""
    for zone in zones:
        if match := keyword.pattern.search(zone.flat):
            words = zone.text[match.start():match.end()]
            return _Hit(keyword.weight * zone.weight, words, keyword.support)
    return None


def _score(rule: tuple[_Keyword, ...], zones: list[_Zone]) -> tuple[float, list[_Hit]]:
    """A rule's score and hits (support hits count only beside a main hit)."""
    hits = [hit for keyword in rule if (hit := _hit(keyword, zones))]
    if all(hit.support for hit in hits):
        return 0.0, []
    return sum(hit.points for hit in hits), hits


def _confidence(best: float, second: float) -> float:
    """0..1 from the winning score and its margin over the runner-up."""
    strength = 1.0 - math.exp(-best / 8.0)
    margin = (best - second) / best
    return round(strength * (0.6 + 0.4 * margin), 2)


def _evidence(hits: list[_Hit]) -> str:
    """The words that weighed most, distinct, at most three."""
    words: dict[str, str] = {}
    for hit in sorted(hits, key=lambda h: -h.points):
        words.setdefault(fold(hit.words), " ".join(hit.words.split()))
    return _clip(", ".join(list(words.values())[:3]))


def guess_type(text: str, *, title: str | None = None,
               filename: str | None = None) -> TypeGuess | None:
    """The likely LOINC document type of `text`, or None when no rule scores enough."""
    zones = _zones(text, title, filename)
    scores = {code: _score(rule, zones) for code, rule in _RULES.items()}
    ranked = sorted(scores, key=lambda code: -scores[code][0])
    best, second = scores[ranked[0]][0], scores[ranked[1]][0]
    if best < MIN_SCORE:
        return None
    return TypeGuess(ranked[0], _confidence(best, second), _evidence(scores[ranked[0]][1]))


# ---------------------------------------------------------------- dates

_MONTHS = {
    "janvier": 1, "janv": 1, "january": 1, "jan": 1, "fevrier": 2, "fevr": 2, "fev": 2,
    "february": 2, "feb": 2, "mars": 3, "march": 3, "mar": 3, "avril": 4, "avr": 4, "april": 4,
    "apr": 4, "mai": 5, "may": 5, "juin": 6, "june": 6, "jun": 6, "juillet": 7, "juil": 7,
    "july": 7, "jul": 7, "aout": 8, "august": 8, "aug": 8, "septembre": 9, "september": 9,
    "sept": 9, "sep": 9, "octobre": 10, "october": 10, "oct": 10, "novembre": 11,
    "november": 11, "nov": 11, "decembre": 12, "december": 12, "dec": 12,
}
_MONTH = "|".join(sorted(_MONTHS, key=len, reverse=True))
_DATE = re.compile(
    r"(?<!\d)(?P<iy>(?:18|19|20)\d\d)(?P<isep>[-/])(?P<im>\d\d)(?P=isep)(?P<id>\d\d)(?!\d)"
    r"|(?<![\w/.\-])(?P<na>\d{1,2})(?P<sep>[/.\-])(?P<nb>\d{1,2})(?P=sep)(?P<ny>\d{4}|\d{2})"
    r"(?!\d|[/.\-]\d)"
    rf"|(?<!\d)(?P<td>\d{{1,2}})(?:er|eme|st|nd|rd|th)?\s+(?:de\s+)?(?P<tm>{_MONTH})\b\.?,?"
    r"\s+(?P<ty>\d{4})(?!\d)"
    rf"|\b(?P<um>{_MONTH})\b\.?\s+(?P<ud>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<uy>\d{{4}})(?!\d)"
)
_WEEKDAYS = ("lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|monday|tuesday|wednesday"
             "|thursday|friday|saturday|sunday|mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun")
_END = (r"[\s:,.\-]*(?:\b(?:le|du|on)\b[\s:,.\-]*)?"
        rf"(?:\b(?:{_WEEKDAYS})\b[\s:,.\-]*)?\Z")


def _cue(*alternatives: str) -> re.Pattern[str]:
    """A cue that ends right before a date (allowing "le", "on", a weekday, punctuation)."""
    return re.compile("(?:" + "|".join(alternatives) + ")" + _END)


_BIRTH = _cue(r"\bnee?\b", r"\bne\s*\(\s*e\s*\)", r"date\s+de\s+naissance", r"\bddn",
              r"\bdob", r"date\s+of\s+birth", r"birth\s*date", r"\bborn", r"naissance")
_EXCLUDED = _cue(r"jusqu\w*(?:'|\s)*(?:au|a)?", r"\bvalable", r"\bvalid(?:\s+(?:until|through))?",
                 r"expir\w*", r"\bexp", r"prochain\w*(?:\s+[a-z\-]+){0,2}",
                 r"\bnext(?:\s+[a-z]+){0,2}", r"revoir", r"\brdv", r"rendez-vous",
                 r"date\s+limite", r"\bddr", r"dernieres\s+regles", r"terme(?:\s+prevu)?",
                 r"due\s+date", r"\buntil", r"avant")
_AGE_AFTER = re.compile(r"[\s(\-,]*(?:age\s*:?\s*)?\d{1,3}\s*(?:ans|years?\s+old|yo|y/o)\b")
_EXAMS = (r"examen|exam|echographie|radiographie|radio|irm|scanner|mammographie|intervention"
          r"|operation|consultation|vaccination|injection|acte|visite|passage")
_TIER3 = _cue(
    r"prelev\w*(?:\s+(?:effectue|realise)\w*)?",
    rf"\b(?:{_EXAMS})(?:\s+[a-z']+){{0,2}}?\s+(?:du|(?:realise|effectue|pratique)\w*)",
    r"\b(?:realise|effectue|pratique|opere|vaccine|consulte)\w*",
    r"vu\w*\s+en\s+consultation", r"admis\w*\s+aux\s+urgences",
    rf"date\s+(?:de\s+l'\s*|de\s+la\s+|du\s+|de\s+|d'\s*)(?:{_EXAMS}|prelevement|sortie)",
    r"(?:hospitalis|sejour|admis|admitted|stay|hospitaliz)\w*[^§\n]{0,30}?\b(?:du|from)\s+§+"
    r"\s*(?:au|to|until|-)",
    r"\bsorti\w*", r"discharge(?:d|\s+date)?", r"date\s+of\s+discharge", r"collect\w*",
    r"date\s+of\s+(?:service|exam\w*|procedure|visit|collection|surgery|vaccination)",
    r"(?:exam|examination|study|procedure|service|visit|collection|surgery|test)\s+date",
    r"performed",
)
_TIER2 = _cue(
    r"\bfait\b(?:\s+a\s+[^§\n,]{1,40})?", r"(?:\A|\n)\s*[a-z][a-z\-' ]{1,40},\s*le",
    r"(?:\A|\n)\s*le", r"date\s+(?:d'\s*)?(?:edition|impression|emission|redaction|validation)",
    r"date\s+du\s+(?:compte[\s\-]rendu|cr|document|rapport|jour)",
    r"\b(?:edite|imprime|redige|valide|signe|dicte)\w*(?:\s+par\s+[^§\n]{1,40}?)?",
    r"\b(?:compte[\s\-]rendu|cr|rapport|ordonnance|lettre|courrier|certificat)\s+du",
    r"report\s+date", r"date\s+of\s+report", r"reported", r"signed", r"dated", r"printed",
    r"\bdate",
)
_EN_WORDS = re.compile(r"\b(?:the|and|of|with|was|is|to|for|by|dob|collected|report|physician"
                       r"|patient\s+name|date\s+of)\b")
_FR_WORDS = re.compile(r"\b(?:le|la|les|des|du|et|est|avec|pour|une|au|aux|dans|sur|nee?"
                       r"|examen|resultats?|compte\s+rendu)\b")


@dataclass(frozen=True)
class _Candidate:
    date: dt.date
    start: int
    end: int
    cue_start: int
    tier: int


def _mask(flat: str, matches: list[re.Match[str]]) -> str:
    """`flat` with every date replaced by "§" signs of the same length."""
    parts, pos = [], 0
    for match in matches:
        parts += [flat[pos:match.start()], "§" * (match.end() - match.start())]
        pos = match.end()
    return "".join(parts) + flat[pos:]


def _month_first(flat: str, matches: list[re.Match[str]]) -> bool:
    """Whether numeric dates read month first: an English text showing 03/14/2025, not 14/03."""
    pairs = [(int(m["na"]), int(m["nb"])) for m in matches if m["na"]]
    us = any(a <= 12 < b for a, b in pairs)
    if not us or any(b <= 12 < a for a, b in pairs):
        return False
    head = flat[:5_000]
    return len(_EN_WORDS.findall(head)) > len(_FR_WORDS.findall(head))


def _year(digits: str, today: dt.date) -> int:
    """A full year from 4 digits, or from 2 (20yy up to next year's yy, 19yy above)."""
    year = int(digits)
    if len(digits) == 4:
        return year
    return 2000 + year if year <= today.year % 100 + 1 else 1900 + year


def _ymd(match: re.Match[str], month_first: bool, today: dt.date) -> tuple[int, int, int]:
    """Year, month and day of a date match (not yet validated)."""
    if match["iy"]:
        return int(match["iy"]), int(match["im"]), int(match["id"])
    if match["na"]:
        a, b = int(match["na"]), int(match["nb"])
        month, day = (a, b) if month_first else (b, a)
        return _year(match["ny"], today), month, day
    if match["td"]:
        return int(match["ty"]), _MONTHS[match["tm"]], int(match["td"])
    return int(match["uy"]), _MONTHS[match["um"]], int(match["ud"])


def _parse(match: re.Match[str], month_first: bool, today: dt.date) -> dt.date | None:
    """The calendar date of a match, None when invalid, before 1900 or after tomorrow."""
    try:
        date = dt.date(*_ymd(match, month_first, today))
    except ValueError:
        return None
    if date.year < 1900 or date > today + dt.timedelta(days=1):
        return None
    return date


def _window_start(masked: str, start: int) -> int:
    """Where the text that may cue a date starts: its line, or the line above if it opens one."""
    line = masked.rfind("\n", 0, start) + 1
    if not masked[line:start].strip() and line > 0:
        line = masked.rfind("\n", 0, line - 1) + 1
    return max(line, start - 80)


def _tier(window: str) -> tuple[int, int] | None:
    """The cue tier of a date and where its cue starts in `window`; None for excluded dates."""
    if _BIRTH.search(window) or _EXCLUDED.search(window):
        return None
    for tier, cue in ((3, _TIER3), (2, _TIER2)):
        if found := cue.search(window):
            return tier, found.start() + (found.group().startswith("\n"))
    return 1, len(window)


def _candidate(match: re.Match[str], flat: str, masked: str, month_first: bool,
               today: dt.date) -> _Candidate | None:
    """A ranked date, or None when it is invalid, a birth date or a validity date."""
    date = _parse(match, month_first, today)
    if date is None or _AGE_AFTER.match(flat, match.end()):
        return None
    begin = _window_start(masked, match.start())
    tier = _tier(masked[begin:match.start()])
    if tier is None:
        return None
    return _Candidate(date, match.start(), match.end(), begin + tier[1], tier[0])


def _line_offset(text: str, lines: int) -> int:
    """Offset of the end of the first `lines` lines."""
    pos = 0
    for _ in range(lines):
        pos = text.find("\n", pos) + 1
        if pos == 0:
            return len(text)
    return pos


def guess_date(text: str, *, today: dt.date | None = None) -> DateGuess | None:
    """The likely date of the document or exam in `text`, or None when it shows none."""
    today = today or dt.date.today()
    scan = text[:DATE_SCAN]
    flat = _flat(scan)
    matches = list(_DATE.finditer(flat))
    masked = _mask(flat, matches)
    month_first = _month_first(flat, matches)
    found = [c for m in matches if (c := _candidate(m, flat, masked, month_first, today))]
    if not found:
        return None
    header = _line_offset(flat, DATE_HEADER_LINES)
    best = max(found, key=lambda c: (c.tier + (c.start < header), c.date, -c.start))
    return DateGuess(best.date, _clip(scan[best.cue_start:best.end]))
