"""Guess a document's type and date from its text (pure functions, no I/O).

Text is compared through `_flat`, a length-preserving `msante.text.fold` (lower case, no accents,
typographic apostrophes, dashes and quotes made plain), so that a match in the folded text slices
the original words for the evidence.

Type (`guess_type`, first 20,000 characters)
- Each LOINC code has weighted keyword groups, French and English; a group counts once, times
  the heaviest zone it occurs in: title x4, file name x3, header (first 15 non-empty lines) x2,
  body x1.
- A *naming* group (words by which a document names itself: "ORDONNANCE", "Échographie
  abdominale", "Laboratoire de biologie médicale") counts x4 in a heading: a header line of at
  most 60 characters, without numbers, in capitals or mostly made of the match. Content words
  (analytes, drug forms, "IRM" in "Conduite à tenir : IRM lombaire") never do. So a prescription
  headed "ORDONNANCE" that lists "Glycémie à jeun" stays a prescription, and a lab report saying
  "sur ordonnance" in its footer stays a lab report.
- A *support* group ("conclusion" for imaging, "ordonnance" for a care prescription,
  "attestation de vaccination" for the COVID certificate) counts only beside another group of
  its code.
- The best code wins if it scores at least MIN_SCORE (ties: the order of `_RULES`); the
  confidence grows with the score and with the margin over the runner-up.

Dates are guessed in `msante.documents.dates` (re-exported here).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from msante.documents.dates import DateGuess, guess_date
from msante.folding import _NUMBER, _clip, _flat, _words
from msante.text import fold

TYPE_SCAN = 20_000
HEADER_LINES = 15
HEADER_CHARS = 1_500
HEADING_MAX = 60
MIN_SCORE = 5.0  # one content word ("laboratoire", "dentiste") in the header is not enough


@dataclass(frozen=True)
class TypeGuess:
    """A guessed document type."""

    code: str
    score: float
    evidence: str

__all__ = ["DateGuess", "TypeGuess", "guess_date", "guess_type"]


# ---------------------------------------------------------------- type rules

@dataclass(frozen=True)
class _Alt:
    """One way a keyword group matches; `words` or `anchors` must occur before the regex runs."""

    pattern: re.Pattern[str]
    words: tuple[frozenset[bytes], ...] = ()
    anchors: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Keyword:
    """A keyword group of a rule: its weight, its alternatives and how it counts."""

    weight: float
    alts: tuple[_Alt, ...]
    naming: bool = False
    support: bool = False


def _lead(token: str) -> str:
    """Regex of a leading word with a start-of-word check after it (keeps re's fast prefix)."""
    return rf"{re.escape(token)}(?<!\w{re.escape(token)})"


def _phrase(words: str) -> _Alt:
    """A phrase: folded, any spaces or hyphen between words, optional apostrophe."""
    folded = fold(words)
    first = re.split(r"\W", folded, maxsplit=1)[0]
    seps = {" ": r"[\s\-]+", "-": r"[\s\-]?", "'": r"'?\s*"}
    rest = "".join(seps.get(c) or re.escape(c) for c in folded[len(first):])
    regex = (_lead(first) if first else "") + rest + (r"\b" if folded[-1].isalnum() else "")
    return _Alt(re.compile(regex), (_words(folded), _words(folded.replace("-", ""))))


def _kw(weight: float, *phrases: str, naming: bool = False, support: bool = False) -> _Keyword:
    """A keyword group: any of `phrases`, counted once."""
    return _Keyword(weight, tuple(map(_phrase, phrases)), naming, support)


def _re(weight: float, regex: str, anchors: str, support: bool = False) -> _Keyword:
    """A keyword group as a regex over folded text, tried only if one of `anchors` occurs."""
    return _Keyword(weight, (_Alt(re.compile(regex), anchors=tuple(anchors.split())),),
                    support=support)


_RULES: dict[str, tuple[_Keyword, ...]] = {
    "11502-2": (  # lab report
        _kw(6, "compte rendu d'examens biologiques", "cr d'examens biologiques",
            "compte rendu de biologie", "résultats d'analyses", "résultats d'examens biologiques",
            "laboratoire de biologie", "biologie médicale", "laboratoire d'analyses",
            "analyses médicales", "laboratory report", "lab report", "laboratory results",
            "lab results", naming=True),
        _kw(2, "laboratoire", "laboratory", "labo"),
        _kw(3, "prélevé le", "prélevée le", "prélèvement", "specimen collected",
            "collection date", "specimen"),
        _kw(2, "hémogramme", "numération formule sanguine", "nfs", "complete blood count", "cbc"),
        _kw(1.5, "glycémie", "glucose", "créatinine", "creatinine", "cholestérol", "cholesterol",
            "tsh", "hémoglobine", "hemoglobin", "ferritine", "transaminases", "crp",
            "protéine c réactive", "kaliémie", "natrémie", "hba1c"),
        _kw(3, "valeurs de référence", "valeurs usuelles", "reference range",
            "reference interval", "antériorités", "antériorité"),
        _kw(2, "biologiste", "validé par", "biologiste responsable"),
        _re(1.5, r"/(?:dl|l)\b|ml/min", "/l /dl ml/min"),
    ),
    "57833-6": (  # prescription of health products
        _kw(4, "ordonnance", "ordo", "ordonnance bizone", "prescription médicale", naming=True),
        _kw(2, "prescription", "prescribed", naming=True),
        _kw(3, "posologie", "qsp", "q.s.p", "quantité suffisante pour"),
        _kw(2, "comprimé", "comprimés", "gélule", "gélules", "sachet", "sachets", "cp",
            "tablet", "tablets", "capsule", "capsules"),
        _kw(2, "boîte", "boîtes", "flacon", "flacons"),
        _kw(2, "à renouveler", "renouvelable", "refills", "refill"),
        _kw(2, "faire pratiquer", "à faire", "à réaliser"),
        _re(3, r"(?:mg|ml|ui|μg|g)\b[^\n]{0,80}?fois\s+par\s+jour\b", "fois"),
        _kw(1.5, "fois par jour", "par jour", "times a day", "once daily", "twice daily",
            "twice a day", "bid", "tid"),
        _re(2, rf"℞|{_lead('rx')}\s*[:#]|(?:\A|\n)\s*rx\s*(?:\n|\Z)|{_lead('sig')}\s*:"
               rf"|{_lead('dispense')}\s*(?::|#|\d)", "℞ rx sig dispense"),
        _re(1.5, rf"{_lead('pendant')}\s+\d+\s+(?:jours|semaines|mois)\b"
                 rf"|{_lead('for')}\s+\d+\s+days\b", "pendant days"),
    ),
    "57832-8": (  # care prescription
        _kw(5, "soins infirmiers", "prescription de soins", "nursing care", naming=True),
        _kw(4, "kinésithérapie", "masseur kinésithérapeute", "kinésithérapeute", "kiné",
            "physiothérapie", "physical therapy", "physiotherapy", "orthophonie", "orthoptie"),
        _kw(3, "séances de", "séances", "sessions of", "faire pratiquer", "rééducation"),
        _kw(2, "infirmier", "infirmière", "ide", "idel", "à domicile", "pansement", "pansements"),
        _kw(3, "ordonnance", "ordo", "prescription", naming=True, support=True),
    ),
    "18748-4": (  # imaging report
        _kw(6, "compte rendu d'imagerie", "imagerie médicale", "radiology report",
            "imaging report", "centre d'imagerie", "cabinet de radiologie", naming=True),
        _kw(3, "radiographie", "échographie", "échographique", "échodoppler", "irm",
            "imagerie par résonance magnétique", "scanner", "tomodensitométrie", "tdm",
            "mammographie", "scintigraphie", "ostéodensitométrie", "ultrasound", "x-ray",
            "mri", "ct scan", "ct", "mammogram", "radiograph", naming=True),
        _kw(2, "radiologue", "radiologie", "radiologist", "radiology", "echo", "radio"),
        _kw(1.5, "incidence", "incidences", "produit de contraste", "gadolinium", "contrast"),
        _re(3, rf"{_lead('rx')}\s+(?:du|de|des)\b|{_lead('rx')}\s+d'", "rx"),
        _kw(4, "panoramique dentaire", "orthopantomogramme", naming=True),
        _kw(1.5, "conclusion", "impression", support=True),
    ),
    "34112-3": (  # hospital stay report
        _kw(6, "compte rendu d'hospitalisation", "cr d'hospitalisation",
            "compte rendu de séjour", "discharge summary", naming=True),
        _re(4, rf"{_lead('hospitalis')}\w*\s+(?:du|from)\b|{_lead('hospitaliz')}\w*\s+from\b",
            "hospitalis hospitaliz"),
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
        _kw(7, "lettre de liaison", "lettre de sortie", "discharge letter", naming=True),
    ),
    "11488-4": (  # consultation report
        _kw(6, "compte rendu de consultation", "cr de consultation", "consultation note",
            "office visit", "visit note", "clinic note", "fiche de consultation", naming=True),
        _kw(3, "motif de consultation", "chief complaint", "reason for visit"),
        _kw(3, "vu en consultation", "vue en consultation", "j'ai vu", "j'ai revu",
            "vous m'avez adressé", "vous m'avez adressée", "thank you for referring",
            "seen today in clinic"),
        _kw(2, "examen clinique", "physical examination", "history of present illness",
            "assessment and plan", "conduite à tenir"),
        _kw(1.5, "consultation", "consultations"),
    ),
    "89601-9": (  # medical certificate
        _kw(6, "certificat médical", "medical certificate", "certificat de non contre-indication",
            "certificat d'aptitude", naming=True),
        _kw(3, "certificat", "certificate", "certifie", "certifions", "certify", "certifies",
            naming=True),
        _kw(3, "je soussigné", "je soussignée", "undersigned"),
        _kw(4, "contre-indication à la pratique", "absence de contre-indication",
            "pour servir et valoir ce que de droit"),
        _kw(1.5, "apte", "inapte", "aptitude", "unfit", "fit to"),
    ),
    "96874-3": (  # COVID-19 vaccination certificate
        _kw(7, "pass sanitaire", "passe sanitaire", "certificat covid",
            "certificat covid numérique",
            "eu digital covid certificate", "covid-19 vaccination certificate",
            "attestation de vaccination covid", "certificat de vaccination covid", naming=True),
        _kw(3, "covid", "covid-19", "sars-cov-2", "coronavirus", "comirnaty", "spikevax",
            "vaxzevria", "nuvaxovid", "jcovden", naming=True),
        _kw(3, "attestation de vaccination", "certificat de vaccination",
            "vaccination certificate", "schéma vaccinal complet", "cycle vaccinal complet",
            naming=True, support=True),
    ),
    "87273-9": (  # vaccination note
        _kw(5, "note de vaccination", "acte de vaccination", "attestation de vaccination",
            "certificat de vaccination", "certificat international de vaccination", naming=True),
        _re(3, rf"{_lead('vaccin')}\w*|{_lead('immuni')}[sz]ation\b", "vaccin immuni"),
        _re(2, rf"{_lead('lot')}\s*(?:n\s*[°o.]|:|#|number)|{_lead('batch')}\b", "lot batch"),
        _kw(1.5, "rappel", "dose", "booster", "injection intramusculaire"),
        _kw(2, "dtpolio", "ror", "hpv", "papillomavirus", "grippe", "influenza", "hépatite b",
            "tétanos", "coqueluche", "pneumocoque", "méningocoque", "zona", "fièvre jaune",
            "boostrix", "revaxis", "gardasil", "priorix", "vaxigrip", "influvac", "prevenar",
            "tetanus", "measles", "shingles", support=True),
    ),
    "11369-6": (  # vaccination history
        _kw(7, "carnet de vaccination", "historique des vaccinations", "immunization record",
            "vaccination record", "immunization history", "vaccination history", naming=True),
        _kw(3, "calendrier vaccinal", "vaccinations"),
    ),
    "34874-8": (  # operative report
        _kw(7, "compte rendu opératoire", "cr opératoire", "operative report", "operative note",
            "op note", "rapport opératoire", naming=True),
        _kw(3, "opérateur", "aide opératoire", "surgeon", "indication opératoire"),
        _kw(2, "anesthésie générale", "rachianesthésie", "anesthésie locorégionale",
            "general anesthesia"),
        _kw(2, "incision", "suture", "fermeture plan par plan", "hémostase", "décubitus dorsal"),
        _kw(2, "intervention", "procedure performed", "bloc opératoire", "operating room",
            "cœlioscopie", "coelioscopie", "laparoscopy", "laparoscopic"),
    ),
    "15507-7": (  # emergency department report
        _kw(6, "passage aux urgences", "compte rendu de passage", "service des urgences",
            "accueil des urgences", "emergency department", "emergency room", "ed visit",
            naming=True),
        _kw(3, "urgences", "urgentiste", naming=True),
        _kw(2, "triage", "iao", "mode d'arrivée", "samu", "smur", "ccmu"),
        _kw(2, "emergency", support=True),
    ),
    "60568-3": (  # pathology report
        _kw(7, "anatomie pathologique", "anatomie et cytologie pathologiques",
            "anatomo-pathologique", "anatomo-pathologie", "pathology report",
            "surgical pathology", "cytopathology", naming=True),
        _kw(3, "cytologie", "cytologique", "histologie", "histologique", "histopathologique",
            "immunohistochimie", "immunohistochimique", "histopathology", "histology",
            "cytology"),
        _kw(2, "biopsie", "biopsies", "pièce opératoire", "biopsy", "frottis", "exérèse"),
        _kw(2, "macroscopie", "microscopie", "examen macroscopique", "examen microscopique",
            "gross description", "microscopic description", "extemporané", "pathologiste",
            "pathologist"),
    ),
    "96349-6": (  # referral letter
        _kw(7, "lettre d'adressage", "referral letter", "letter of referral", naming=True),
        _kw(4, "je vous adresse", "je vous confie", "merci de recevoir",
            "je vous remercie de bien vouloir recevoir", "je vous remercie de recevoir",
            "i am referring", "i would be grateful if you could see", "thank you for seeing"),
        _re(2, rf"{_lead('cher')}e?\s+(?:confrere|consœur|consoeur|collegue|ami)\b"
               rf"|{_lead('dear')}\s+(?:dr|doctor|colleague)\b", "cher dear"),
        _kw(2, "referral", "referred", "adressé pour", "avis spécialisé"),
    ),
    "78513-9": (  # ophthalmology consultation
        _kw(8, "consultation d'ophtalmologie", "consultation ophtalmologique",
            "compte rendu ophtalmologique", "ophthalmology consultation", "eye examination",
            naming=True),
        _kw(4, "ophtalmologie", "ophtalmologiste", "ophtalmologue", "ophtalmologique",
            "ophthalmology", "ophthalmologist", "ophthalmic"),
        _kw(4, "acuité visuelle", "visual acuity", "tonus oculaire", "pression intraoculaire",
            "intraocular pressure", "fond d'œil", "fond d'oeil", "lampe à fente", "slit lamp",
            "réfraction", "oct maculaire"),
    ),
    "34749-2": (  # pre-anaesthesia consultation
        _kw(8, "consultation pré-anesthésique", "consultation d'anesthésie",
            "consultation pré-anesthésie", "pre-anesthesia", "pre-anaesthesia",
            "preanesthetic", "pre-anesthetic", "pre-anaesthetic", naming=True),
        _re(3, rf"{_lead('asa')}\s*(?:[1-5]|i{{1,3}}|iv|v)\b|(?:score|classe|class)\s+asa\b"
               r"|mallampati", "asa mallampati"),
        _kw(2, "anesthésie", "anesthésiste", "anesthesia", "anaesthesia", "anesthesiologist",
            "intubation", "prémédication", "ouverture de bouche"),
    ),
    "77436-4": (  # anaesthesia report
        _kw(7, "compte rendu d'anesthésie", "cr d'anesthésie", "feuille d'anesthésie",
            "anesthesia record", "anaesthesia record", naming=True),
    ),
    "83836-7": (  # dental chart
        _kw(7, "schéma dentaire", "odontogramme", "dental chart", naming=True),
        _kw(3, "chirurgien-dentiste", "cabinet dentaire", "dentiste", "dentist", "dental"),
        _kw(2, "carie", "caries", "détartrage", "parodontal", "couronne", "molaire", "molaires",
            "prémolaire", "incisive", "incisives", "cavity", "molar", "dents", "dent"),
    ),
}


# ---------------------------------------------------------------- type guess

@dataclass(frozen=True)
class _Zone:
    """A part of the document (title, headings, file name, header, body) and its weight."""

    text: str
    flat: str
    words: frozenset[bytes]
    weight: float
    naming_only: bool = False
    ready: frozenset[int] = frozenset()  # ids of the alternatives whose words are all here


@dataclass(frozen=True)
class _Hit:
    """A keyword group found: its points and the document's words."""

    points: float
    words: str
    support: bool


def _index() -> dict[bytes, list[_Alt]]:
    """Each phrase alternative under one of its words, to find the ready ones by look-up."""
    index: dict[bytes, list[_Alt]] = {}
    for rule in _RULES.values():
        for keyword in rule:
            for alt in keyword.alts:
                for need in alt.words:
                    index.setdefault(max(need, key=len) if need else b"", []).append(alt)
    return index


_INDEX = _index()
# id(keyword) → (ids of its alternatives, whether any is found by anchors rather than words)
_KEYWORD_ALTS = {id(keyword): (frozenset(id(alt) for alt in keyword.alts),
                               any(alt.anchors for alt in keyword.alts))
                 for rule in _RULES.values() for keyword in rule}


def _ready(words: frozenset[bytes]) -> frozenset[int]:
    """The alternatives all of whose words (for one of their spellings) are in `words`."""
    candidates = [alt for word in (*words, b"") for alt in _INDEX.get(word, ())]
    return frozenset(id(alt) for alt in candidates if any(need <= words for need in alt.words))


def _zone(text: str, weight: float, naming_only: bool = False) -> _Zone:
    """A zone of the document with its folded text and words."""
    flat = _flat(text)
    words = _words(flat)
    return _Zone(text, flat, words, weight, naming_only, _ready(words))


def _header_end(text: str) -> int:
    """Offset where the header (first non-empty lines, at most HEADER_CHARS) ends."""
    cut = text.rfind("\n", 0, HEADER_CHARS) + 1
    limit = len(text) if len(text) <= HEADER_CHARS else cut or HEADER_CHARS
    seen, pos = 0, 0
    while pos < limit and seen < HEADER_LINES:
        end = text.find("\n", pos, limit)
        end = limit if end < 0 else end + 1
        seen += bool(text[pos:end].strip())
        pos = end
    return pos


def _is_heading(line: str) -> bool:
    """A short header line without numbers (COVID-19 is a word), where a document names itself."""
    return 0 < len(line.strip()) <= HEADING_MAX and not _NUMBER.search(line)


def _file_words(filename: str | None) -> str:
    """The words of a file's name: no folders, no extension, separators made spaces."""
    name = re.split(r"[\\/]", filename or "")[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return re.sub(r"[_.+]+", " ", stem)


def _zones(text: str, title: str | None, filename: str | None) -> list[_Zone]:
    """The zones, heaviest first."""
    scan = text[:TYPE_SCAN]
    cut = _header_end(scan)
    headings = "\n".join(line for line in scan[:cut].split("\n") if _is_heading(line))
    zones = [_zone(title or "", 4.0), _zone(headings, 4.0, naming_only=True),
             _zone(_file_words(filename), 3.0), _zone(scan[:cut], 2.0), _zone(scan[cut:], 1.0)]
    return [zone for zone in zones if zone.words]


def _is_title(text: str, match: re.Match[str]) -> bool:
    """Whether a match titles its line: the line is in capitals or mostly the match."""
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    line = text[start:end if end >= 0 else len(text)].strip()
    return line.isupper() or 2 * (match.end() - match.start()) >= len(line)


def _search(alt: _Alt, zone: _Zone) -> re.Match[str] | None:
    """The alternative's first match in the zone (a title in headings), if its words are there."""
    ready = id(alt) in zone.ready
    if not ready and not any(anchor in zone.flat for anchor in alt.anchors):
        return None
    if not zone.naming_only:
        return alt.pattern.search(zone.flat)
    return next((m for m in alt.pattern.finditer(zone.flat) if _is_title(zone.text, m)), None)


def _hit(keyword: _Keyword, zones: list[_Zone]) -> _Hit | None:
    """The keyword group's occurrence in the heaviest zone it appears in."""
    ids, anchored = _KEYWORD_ALTS[id(keyword)]
    if not anchored and all(zone.ready.isdisjoint(ids) for zone in zones):
        return None  # none of its phrases has all its words anywhere: no regex to run
    for zone in zones:
        if zone.naming_only and not keyword.naming:
            continue
        for alt in keyword.alts:
            if match := _search(alt, zone):
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


def _type_evidence(hits: list[_Hit]) -> str:
    """The words that weighed most, distinct, at most three."""
    words: dict[str, str] = {}
    for hit in sorted(hits, key=lambda h: -h.points):
        text = " ".join(parts := hit.words.split())
        words.setdefault(fold(text), text if len(text) <= 30 else f"{parts[0]} … "
                         + " ".join(parts[-4:]))
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
    return TypeGuess(ranked[0], _confidence(best, second), _type_evidence(scores[ranked[0]][1]))
