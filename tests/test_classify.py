"""Document type and date guessing from extracted text (msante.documents.classify)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable

import pytest

from msante import folding as _folding
from msante.documents import classify, dates, types
from msante.documents.classify import DateGuess, TypeGuess, guess_date, guess_type

TODAY = dt.date(2025, 6, 1)

LAB = """\
LABORATOIRE DE BIOLOGIE MÉDICALE SAINT-MICHEL
12 rue des Lilas, 75011 Paris — Tél. 01 43 00 00 00
Mme DUPONT Marie, née le 03/04/1975
Prescripteur : Dr Jean Martin — Ordonnance du 02/03/2025
Dossier n° 250312-0042
Prélevé le 12/03/2025 à 08:30          Édité le 14/03/2025

HÉMATOLOGIE
Hémogramme
Hématies            4,52 T/L      (3,80-5,20)
Hémoglobine         13,5 g/dL     (12,0-16,0)     Antériorité du 12/01/2024 : 13,1
BIOCHIMIE
Glycémie à jeun     0,95 g/L      (0,70-1,10)
Créatinine          72 µmol/L     (45-90)
DFG (CKD-EPI)       88 mL/min/1,73m²

Valeurs de référence adultes. Compte rendu validé par Dr Lefèvre, biologiste.
Examens réalisés sur ordonnance. Document à conserver.
"""

PRESCRIPTION_OF_TESTS = """\
Dr Jean MARTIN
Médecin généraliste — RPPS 10001234567
3 place de la Mairie, 69002 Lyon
ORDONNANCE
Lyon, le 10 mars 2025
Mme DUPONT Marie
Faire pratiquer à jeun au laboratoire :
- Glycémie à jeun
- Créatinine avec DFG
- NFS, plaquettes
- Bilan lipidique
"""

PRESCRIPTION_OF_DRUGS = """\
Docteur Claire Petit — Pédiatre
Ordonnance
Le 05/02/2025
Léo Bernard, 6 ans, 21 kg
Amoxicilline 250 mg/5 ml, poudre pour suspension buvable
1 dose-poids de 20 kg 3 fois par jour pendant 6 jours. QSP 1 flacon.
Doliprane 2,4 % : 1 dose-poids toutes les 6 heures si fièvre. 1 boîte.
En cas d'urgence, appelez le 15.
"""

ENGLISH_PRESCRIPTION = """\
Riverside Family Clinic
Patient: John Smith    DOB: 07/04/1980
Rx: Amoxicillin 500 mg capsules
Sig: take 1 capsule by mouth three times a day for 10 days
Dispense: #30    Refills: 0
Signed: Dr. Anna Lee, MD   Date: 03/14/2025
"""

CARE_PRESCRIPTION = """\
Dr Jean MARTIN
ORDONNANCE
Le 12/03/2025
Faire pratiquer par un(e) infirmier(e) à domicile, tous les deux jours pendant 15 jours :
soins infirmiers — réfection de pansement d'ulcère de jambe.
"""

PHYSIO_PRESCRIPTION = """\
Ordonnance
15 séances de kinésithérapie pour rééducation du genou droit après entorse.
"""

IMAGING = """\
CENTRE D'IMAGERIE MÉDICALE DES TILLEULS
Dr Paul Girard, radiologue
ÉCHOGRAPHIE ABDOMINALE
Examen réalisé le 18/02/2025
Indication : douleurs de l'hypochondre droit.
Technique : sonde convexe.
Résultats : foie de taille normale, d'échostructure homogène.
Conclusion : examen normal.
"""

ENGLISH_RADIOLOGY = """\
RADIOLOGY REPORT
Exam: MRI of the lumbar spine without contrast
Exam date: 2025-02-20
Findings: mild disc bulge at L4-L5.
Impression: no nerve root compression.
"""

CHEST_XRAY = """\
RX du thorax de face.
Pas d'anomalie parenchymateuse visible. Conclusion : radiographie normale.
"""

HOSPITAL = """\
CENTRE HOSPITALIER UNIVERSITAIRE DE NANTES — Service de cardiologie
COMPTE RENDU D'HOSPITALISATION
M. Paul BERNARD, né le 12/09/1948
Hospitalisé du 02/03/2025 au 10/03/2025
Motif d'hospitalisation : douleur thoracique.
Admis via les urgences. Évolution favorable.
Traitement de sortie : aspirine 75 mg 1 fois par jour.
"""

DISCHARGE_SUMMARY = """\
ST. MARY'S HOSPITAL
DISCHARGE SUMMARY
Patient: Emily Clark    Date of birth: May 4, 1962
Admission date: March 2, 2025    Discharge date: March 10, 2025
Reason for admission: community-acquired pneumonia.
Hospital course: treated with IV antibiotics, improved.
Discharge medications: amoxicillin 1 g twice daily for 5 days.
"""

DISCHARGE_LETTER = """\
Hôpital Saint-Louis
LETTRE DE LIAISON
Sortie le 21/01/2025 après un séjour en chirurgie digestive.
Traitement de sortie et suites à prévoir : voir ci-dessous.
"""

CONSULTATION = """\
Dr Sophie Laurent — Cardiologue
Compte rendu de consultation du 07/02/2025
Motif de consultation : palpitations.
Examen clinique : TA 13/8, auscultation normale.
Conduite à tenir : Holter ECG.
"""

CERTIFICATE = """\
CERTIFICAT MÉDICAL
Je soussigné, Dr Jean Martin, certifie avoir examiné ce jour M. Hugo Roux, né le 02/05/2010,
et n'avoir constaté aucune contre-indication à la pratique du football en compétition.
Fait à Nantes, le 15/09/2024, pour servir et valoir ce que de droit.
"""

ENGLISH_CERTIFICATE = """\
To whom it may concern,
I, the undersigned, certify that Ms. Jane Doe was examined today and is fit to resume work.
Signed on March 3, 2025.
"""

VACCINATION = """\
Vaccination antigrippale
Vaxigrip Tetra, lot n° W3B12, injection intramusculaire, deltoïde gauche.
Vacciné le 15/10/2024 par Mme Durand, pharmacienne. Prochain rappel : octobre 2025.
"""

VACCINATION_HISTORY = """\
CARNET DE VACCINATION
DTPolio : 2 mois, 4 mois, 11 mois, rappel à 6 ans.
ROR : 12 mois, 16 mois.
Hépatite B : 2 mois, 4 mois, 11 mois.
"""

COVID_CERTIFICATE = """\
ATTESTATION DE VACCINATION
COVID-19 — Certificat COVID numérique de l'UE
Vaccin : Comirnaty (Pfizer-BioNTech), dose 3/3. Schéma vaccinal complet.
"""

COVID_PCR = """\
LABORATOIRE DE BIOLOGIE MÉDICALE DU PORT
Prélevé le 04/01/2022 à 10:12
Recherche du SARS-CoV-2 par RT-PCR (écouvillon nasopharyngé)
Résultat : NÉGATIF
Biologiste : Dr Morel
"""

OPERATIVE = """\
COMPTE RENDU OPÉRATOIRE
Opérateur : Pr Dubois. Aide : Dr Lambert. Anesthésie générale.
Intervention du 04/02/2025 : cholécystectomie par cœlioscopie.
Incision ombilicale, open-coelioscopie, fermeture plan par plan.
"""

EMERGENCY = """\
Service des urgences adultes
Passage aux urgences du 23/12/2024 — arrivée à 22:14 par SAMU.
IAO : CCMU 2. Diagnostic : entorse de la cheville droite.
"""

PATHOLOGY = """\
CABINET D'ANATOMIE ET CYTOLOGIE PATHOLOGIQUES
Biopsie cutanée du dos reçue le 05/03/2025.
Examen macroscopique : fragment de 4 mm. Examen microscopique : naevus bénin.
"""

REFERRAL = """\
Cher confrère,
Je vous adresse Mme Dupont, 50 ans, pour avis sur des lombalgies persistantes.
Bien confraternellement, Dr Martin. Le 02/04/2025.
"""

OPHTHALMOLOGY = """\
Consultation d'ophtalmologie du 11/03/2025
Acuité visuelle : OD 10/10, OG 8/10. Tonus oculaire 15 mmHg ODG. Fond d'œil normal.
"""

PRE_ANAESTHESIA = """\
CONSULTATION PRÉ-ANESTHÉSIQUE
Intervention prévue : prothèse totale de hanche. Score ASA 2, Mallampati 1.
"""

DENTAL = """\
Cabinet dentaire des Arcades — Dr Noël, chirurgien-dentiste
Schéma dentaire : carie sur 36, couronne sur 26, détartrage effectué.
"""

CONSULTATION_LETTER = """\
Dr Martin, rhumatologue
Bordeaux, le 4 avril 2025
Cher confrère,
J'ai vu en consultation Mme Dupont, que vous m'avez adressée pour des lombalgies.
Examen clinique : raideur lombaire.
Conduite à tenir : IRM lombaire.
"""

IMAGING_PRESCRIPTION = """\
Dr Martin
Ordonnance
Le 03/03/2025
Faire pratiquer une échographie abdominale et pelvienne.
"""

ENGLISH_LAB = """\
QUEST DIAGNOSTICS
Patient: Smith, John    DOB: 01/15/1970
Specimen collected: 02/03/2025 07:45    Reported: 02/04/2025
Glucose 98 mg/dL    Reference range 65-99
"""

URINE_CULTURE = """\
Laboratoire Cerballiance
ECBU — Examen cytobactériologique des urines
Prélevé le 03/03/2025
Cytologie : leucocytes 10/mm3, hématies < 10/mm3. Culture stérile.
"""

NOTHING = "Facture n° 2025-117\nMontant : 25,00 €\nRèglement par carte bancaire.\n"


# ---------------------------------------------------------------- types

TYPE_CASES = [
    pytest.param(LAB, None, None, "11502-2", id="lab-report-with-ordonnance-in-header-and-footer"),
    pytest.param(PRESCRIPTION_OF_TESTS, None, None, "57833-6", id="prescription-listing-lab-tests"),
    pytest.param(PRESCRIPTION_OF_DRUGS, None, None, "57833-6", id="prescription-mixed-case-title"),
    pytest.param(ENGLISH_PRESCRIPTION, None, None, "57833-6", id="english-rx-sig-dispense"),
    pytest.param(CARE_PRESCRIPTION, None, None, "57832-8", id="nursing-care-on-ordonnance"),
    pytest.param(PHYSIO_PRESCRIPTION, None, None, "57832-8", id="physiotherapy-sessions"),
    pytest.param(IMAGING, None, None, "18748-4", id="french-ultrasound"),
    pytest.param(ENGLISH_RADIOLOGY, None, None, "18748-4", id="english-mri"),
    pytest.param(CHEST_XRAY, None, None, "18748-4", id="rx-du-thorax-is-an-x-ray"),
    pytest.param("Résultat normal.", "CR IRM genou droit", None, "18748-4", id="title-decides"),
    pytest.param(HOSPITAL, None, None, "34112-3", id="french-hospital-stay"),
    pytest.param(DISCHARGE_SUMMARY, None, None, "34112-3", id="english-discharge-summary"),
    pytest.param(DISCHARGE_LETTER, None, None, "11490-0", id="lettre-de-liaison"),
    pytest.param(CONSULTATION, None, None, "11488-4", id="consultation"),
    pytest.param(CONSULTATION_LETTER, None, None, "11488-4",
                 id="consultation-reply-naming-an-mri-in-a-short-line"),
    pytest.param(IMAGING_PRESCRIPTION, None, None, "57833-6", id="prescription-of-an-ultrasound"),
    pytest.param(ENGLISH_LAB, None, None, "11502-2", id="english-lab-report"),
    pytest.param(URINE_CULTURE, None, None, "11502-2", id="urine-cytology-is-still-a-lab-test"),
    pytest.param(CERTIFICATE, None, None, "89601-9", id="french-sport-certificate"),
    pytest.param(ENGLISH_CERTIFICATE, None, None, "89601-9", id="english-certificate"),
    pytest.param(VACCINATION, None, None, "87273-9", id="flu-shot"),
    pytest.param(VACCINATION_HISTORY, None, None, "11369-6", id="vaccination-booklet"),
    pytest.param(COVID_CERTIFICATE, None, None, "96874-3", id="covid-certificate"),
    pytest.param(COVID_PCR, None, None, "11502-2", id="covid-pcr-is-a-lab-report"),
    pytest.param(OPERATIVE, None, None, "34874-8", id="operative"),
    pytest.param(EMERGENCY, None, None, "15507-7", id="emergency"),
    pytest.param(PATHOLOGY, None, None, "60568-3", id="pathology"),
    pytest.param(REFERRAL, None, None, "96349-6", id="referral"),
    pytest.param(OPHTHALMOLOGY, None, None, "78513-9", id="ophthalmology"),
    pytest.param(PRE_ANAESTHESIA, None, None, "34749-2", id="pre-anaesthesia"),
    pytest.param(DENTAL, None, None, "83836-7", id="dental-chart"),
    pytest.param("", None, "scans/2025-03-12_Ordonnance_Dr_Martin.pdf", "57833-6",
                 id="filename-decides-an-image-without-text"),
    pytest.param("", None, "IMG_1234.JPG", None, id="camera-filename-says-nothing"),
    pytest.param(NOTHING, None, None, None, id="invoice-is-not-medical"),
    pytest.param("Réglé par carte au laboratoire.", None, None, None,
                 id="one-content-word-is-not-enough"),
    pytest.param("", None, None, None, id="empty"),
]


def _code(text: str) -> str | None:
    """The guessed code of `text`, None when there is no guess."""
    guess = guess_type(text)
    return guess.code if guess else None


@pytest.mark.parametrize(("text", "title", "filename", "code"), TYPE_CASES)
def test_guess_type(text: str, title: str | None, filename: str | None,
                    code: str | None) -> None:
    """Each rule recognises its documents in French and English, and beats its look-alikes."""
    guess = guess_type(text, title=title, filename=filename)
    assert (guess.code if guess else None) == code, guess


@pytest.mark.parametrize(("text", "title", "filename", "code"),
                         [case for case in TYPE_CASES if case.values[3]])
def test_type_guess_is_well_formed(text: str, title: str | None, filename: str | None,
                                   code: str) -> None:
    """The importer stores the code and shows the score and evidence: all must be sane."""
    guess = guess_type(text, title=title, filename=filename)
    assert guess is not None and guess.code in types.all_types()
    assert 0.0 < guess.score <= 1.0
    assert 0 < len(guess.evidence) <= _folding.EVIDENCE_MAX


def test_every_rule_code_is_in_the_value_set() -> None:
    """A rule naming a code outside the value set would store an unknown type."""
    assert set(classify._RULES) <= set(types.all_types())


def test_evidence_quotes_the_document_words() -> None:
    """`doc show` explains a guess with the document's own words, accents and case kept."""
    guess = guess_type(PRESCRIPTION_OF_TESTS)
    assert guess is not None and guess.evidence.startswith("ORDONNANCE")
    lab = guess_type(LAB)
    assert lab is not None and "Prélevé le" in lab.evidence


def test_long_matches_are_shortened_in_the_evidence() -> None:
    """A dose and its frequency may be a line apart; the evidence keeps both ends, briefly."""
    text = ("Ordonnance\nParacétamol 500 mg, comprimé sécable, à prendre avec un grand verre "
            "d'eau, 3 fois par jour")
    guess = guess_type(text)
    assert guess is not None and "mg, … 3 fois par jour" in guess.evidence


def test_header_outweighs_the_same_word_in_the_body() -> None:
    """'ORDONNANCE' as a heading decides; the same word deep in a lab report does not."""
    analytes = "\n".join(f"Glycémie {i} : 0,9{i} g/L (0,70-1,10)" for i in range(30))
    assert _code("ORDONNANCE\n" + analytes) == "57833-6"
    assert _code(analytes + "\nORDONNANCE") == "11502-2"


def test_score_grows_with_evidence() -> None:
    """A lone heading is a weaker guess than a full lab report: the UI shows the difference."""
    weak = guess_type("Ordonnance")
    strong = guess_type(LAB)
    assert weak is not None and strong is not None and weak.score < strong.score


def test_accents_and_case_do_not_matter() -> None:
    """Extracted PDFs lose accents or shout in capitals; the rules read them all the same."""
    for text in ("COMPTE RENDU D'EXAMENS BIOLOGIQUES", "compte-rendu d’examens biologiques",
                 "Compte Rendu d'Examens Biologiques", "COMPTE RENDU D EXAMENS BIOLOGIQUES"):
        assert _code(text) == "11502-2", text


def test_type_reads_only_the_first_20000_characters() -> None:
    """A keyword on page 50 does not decide, and the cost stays bounded."""
    text = "x " * (classify.TYPE_SCAN // 2) + "\nCOMPTE RENDU OPÉRATOIRE"
    assert _code(text) is None


def test_guesses_are_frozen() -> None:
    """The import service passes guesses around; they must not change under it."""
    guess = TypeGuess("11502-2", 0.5, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        guess.code = "57833-6"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        DateGuess(TODAY, "x").date = TODAY  # type: ignore[misc]


# ---------------------------------------------------------------- dates

DATE_CASES = [
    pytest.param(LAB, "2025-03-12", "Prélevé le 12/03/2025",
                 id="collection-beats-birth-edition-and-prescription-dates"),
    pytest.param("Mme DUPONT Marie née le 03/04/1975 Prélevée le 12/03/2025", "2025-03-12",
                 "Prélevée le 12/03/2025", id="birth-date-beside-the-name-on-the-same-line"),
    pytest.param("Date de naissance : 03/04/1975   Date de prélèvement : 12/03/2025",
                 "2025-03-12", "Date de prélèvement : 12/03/2025", id="labelled-columns"),
    pytest.param("Date de prélèvement\n12/03/2025", "2025-03-12", None,
                 id="label-on-the-line-above"),
    pytest.param(PRESCRIPTION_OF_TESTS, "2025-03-10", "Lyon, le 10 mars 2025", id="city-le"),
    pytest.param("Paris, le 1er mars 2025\nMadame,", "2025-03-01", "Paris, le 1er mars 2025",
                 id="premier"),
    pytest.param("Bordeaux, le mardi 12 mars 2024", "2024-03-12", None, id="weekday"),
    pytest.param("Fait le 05/02/24", "2024-02-05", "Fait le 05/02/24", id="two-digit-year"),
    pytest.param("Fait le 5/2/24", "2024-02-05", None, id="one-digit-day-and-month"),
    pytest.param("Compte rendu du 12/03/98", "1998-03-12", None, id="two-digit-year-last-century"),
    pytest.param("Fait le 05/02/26\nEn-tête 14/05/2025", "2025-05-14", None,
                 id="two-digit-year-next-year-is-20yy-hence-future"),
    pytest.param("Date de l'examen : 2025-03-12", "2025-03-12", None, id="iso"),
    pytest.param("Examen du 12.03.2025", "2025-03-12", "Examen du 12.03.2025", id="dots"),
    pytest.param("Fait le 12-03-2025", "2025-03-12", None, id="dashes"),
    pytest.param(ENGLISH_PRESCRIPTION, "2025-03-14", "Date: 03/14/2025", id="us-month-first"),
    pytest.param("Patient: John Smith\nDOB: 07/04/1980\nCollected: 03/14/2025 08:15\n"
                 "Report date: 03/15/2025", "2025-03-14", "Collected: 03/14/2025",
                 id="us-collected-beats-report-date"),
    pytest.param("Patient name: John Smith\nDate: 03/04/2025\nThe exam was normal.",
                 "2025-04-03", None, id="english-but-ambiguous-stays-day-first"),
    pytest.param("Mme Dupont\nLe 03/14/2025", None, None, id="french-month-13-plus-is-invalid"),
    pytest.param(DISCHARGE_SUMMARY, "2025-03-10", "Discharge date: March 10, 2025",
                 id="english-discharge-date"),
    pytest.param("Date of service: 12 March 2025", "2025-03-12", None, id="english-day-month"),
    pytest.param("Exam date: Mar 12 2025", "2025-03-12", "Exam date: Mar 12 2025",
                 id="english-abbreviated-month"),
    pytest.param(HOSPITAL, "2025-03-10", "Hospitalisé du 02/03/2025 au 10/03/2025",
                 id="end-of-stay"),
    pytest.param("Prélevé le 31/02/2025\nÉdité le 03/03/2025", "2025-03-03", None,
                 id="impossible-date-skipped"),
    pytest.param("Fait le 01/03/2025\nProchain rendez-vous le 12/05/2025", "2025-03-01", None,
                 id="appointment-skipped"),
    pytest.param("Ordonnance valable jusqu'au 30/04/2025\nFait le 01/03/2025", "2025-03-01",
                 None, id="validity-skipped-even-when-past"),
    pytest.param("Compte rendu du 12/12/2030", None, None, id="future-skipped"),
    pytest.param("Le 02/06/2025", "2025-06-02", None, id="tomorrow-tolerated-for-time-zones"),
    pytest.param("Registre de 12/03/1850", None, None, id="before-1900-skipped"),
    pytest.param("DDN : 03/04/1975\nM. Martin", None, None, id="birth-date-alone"),
    pytest.param("Né(e) le 03/04/1975", None, None, id="ne-e"),
    pytest.param("Patient: J. Smith, D.O.B. 03/04/1975", None, None, id="d-o-b"),
    pytest.param("Mme Durand (03/04/1975 - 50 ans)\nbilan 02/02/2025", "2025-02-02", None,
                 id="date-followed-by-age-is-a-birth-date"),
    pytest.param(COVID_CERTIFICATE, None, None, id="no-date"),
    pytest.param("Antériorités : 12/01/2024, 15/06/2024\nRésultats du 12/03/2025",
                 "2025-03-12", None, id="tie-goes-to-the-most-recent"),
    pytest.param("Le 01/03/2025\n" + "ligne\n" * 60 + "Le 20/03/2025", "2025-03-01", None,
                 id="header-beats-body-at-equal-cue"),
    pytest.param("01/03/2025\n" + "ligne\n" * 60 + "Prélevé le 20/02/2025", "2025-02-20", None,
                 id="strong-cue-beats-position"),
    pytest.param(CERTIFICATE, "2024-09-15", "Fait à Nantes, le 15/09/2024", id="fait-a-ville"),
    pytest.param(VACCINATION, "2024-10-15", "Vacciné le 15/10/2024", id="vaccinated-on"),
    pytest.param(ENGLISH_LAB, "2025-02-03", None, id="us-dates-read-month-first-throughout"),
    pytest.param("Date d'entrée : 02/03/2025\nDate de sortie : 10/03/2025", "2025-03-10", None,
                 id="discharge-beats-admission"),
    pytest.param("Imprimé le 14/03/2025\nDate de l'examen : 10 mars 2025", "2025-03-10", None,
                 id="exam-beats-print-date"),
    pytest.param("Validé électroniquement par Dr Durand le 14/03/2025", "2025-03-14", None,
                 id="validated-by-someone-on"),
    pytest.param("Marie Martin née Dupont le 03/04/1975", None, None, id="maiden-name"),
    pytest.param("Né à Saint-Malo le 03/04/1975", None, None, id="born-in-a-town"),
    pytest.param("Born in Boston on 01/01/1980", None, None, id="born-in-a-town-english"),
    pytest.param("Bilan fait à la demande de Mme Roux née le 03/04/1975", None, None,
                 id="birth-cue-beats-a-longer-document-cue"),
    pytest.param("Version 1.2.23 du logiciel", None, None, id="version-number-is-not-a-date"),
]


@pytest.mark.parametrize(("text", "expected", "evidence"), DATE_CASES)
def test_guess_date(text: str, expected: str | None, evidence: str | None) -> None:
    """The date of the document or exam, never a birth, validity or appointment date."""
    guess = guess_date(text, today=TODAY)
    assert (guess.date.isoformat() if guess else None) == expected, guess
    if guess and evidence:
        assert guess.evidence == evidence


def test_date_evidence_is_short_and_on_one_line() -> None:
    """Evidence is shown in `doc show` and logs: one line, bounded."""
    text = "Validé électroniquement par le Docteur " + "Jean-Baptiste " * 8 + "le\n12/03/2025"
    guess = guess_date(text, today=TODAY)
    assert guess is not None and "\n" not in guess.evidence
    assert len(guess.evidence) <= _folding.EVIDENCE_MAX


def test_today_defaults_to_the_real_date() -> None:
    """Without `today`, a date of this year is not taken for the future."""
    day = dt.date.today() - dt.timedelta(days=3)
    guess = guess_date(f"Fait le {day:%d/%m/%Y}")
    assert guess is not None and guess.date == day


def test_dates_beyond_the_scanned_part_are_ignored() -> None:
    """Dates after the first 30,000 characters belong to the history, not the header."""
    text = "x " * (dates.DATE_SCAN // 2) + "\nFait le 01/03/2025"
    assert guess_date(text, today=TODAY) is None


# ---------------------------------------------------------------- speed

def _hundred_pages() -> str:
    """A 100-page lab history: a header and forty results per page."""
    lines = [f"Analyse n° {i:02d}    {i * 1.7:5.2f} mmol/L    (2,00-8,00)    "
             f"Antériorité du {1 + i % 28:02d}/{1 + i % 12:02d}/2024 : {i * 1.6:5.2f}"
             for i in range(40)]
    page = LAB + "\n".join(lines) + "\n\f"
    return page * 100


def _best_of_three(call: Callable[[], object]) -> float:
    """The fastest of three runs, in seconds (the others may have met a busy machine)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def test_a_hundred_pages_are_classified_quickly() -> None:
    """Import classifies thousands of files; a 100-page text must cost milliseconds, not more."""
    text = _hundred_pages()
    assert len(text) > 250_000
    assert _best_of_three(lambda: guess_type(text, title="Résultats", filename="a.pdf")) < 0.050
    assert _best_of_three(lambda: guess_date(text, today=TODAY)) < 0.050
