"""Generators of realistic and malicious test files: PDFs (French and English medical documents,
broken, encrypted, bombs, loops) and tiny images. Every function returns bytes and is
deterministic given its arguments; expensive ones are cached, so tests may call them freely.

Realistic documents are drawn by fpdf2 with a Unicode TrueType font, so accented French
(é, è, à, ç, œ, « », –, ≥) is real text in the PDF. The font is looked for with `font_path()`
(MSANTE_TEST_FONT, then DejaVu Sans in the usual system folders: Debian's fonts-dejavu-core);
tests that need it carry the `needs_font` mark, which skips them with a clear reason without one.

Public API (keep it stable: other test files import it):

    font_path() -> Path | None;  needs_font (a pytest skipif mark);  FONT_SKIP_REASON
    lab_report(...), prescription(...), imaging_report(...), hospital_report(...),
    certificate(...), vaccination_note(...), english_lab_report(...), multi_page(n)
    image_only_pdf(), encrypted_pdf(user_password, owner_password), owner_only_encrypted_pdf()
    truncated_pdf(), garbage_named_pdf(seed), not_a_pdf_text()
    flate_bomb(gib, where), page_tree_loop(), deep_tree(depth), huge_text_pdf(pages),
    partly_broken_pdf(cause)
    write_large_pdf(path, mib) (streamed to disk, for the memory bench)
    jpeg_bytes(), png_bytes()
    plain_pdf(lines, title=, author=, created=) (hand-written; metadata and text as given)
    many(n, bad=10, seed=0) -> [(filename, bytes, kind)]; GOOD_KINDS, BAD_KINDS
    with_serial(data, serial) (distinct bytes for the same document)
"""

from __future__ import annotations

import functools
import io
import os
import random
import struct
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from unittest import mock

import pytest

FONT_SKIP_REASON = (
    "no Unicode TrueType font: install Debian's fonts-dejavu-core or set MSANTE_TEST_FONT"
)
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "/Library/Fonts",
             "/System/Library/Fonts")
SERIAL_PLACEHOLDER = b"msante-test-000000"
CET = timezone(timedelta(hours=1))

DEFAULT_RESULTS: tuple[tuple[str, str, str, str], ...] = (
    ("Glycémie à jeun", "0,92", "g/L", "0,70 – 1,10"),
    ("Hémoglobine", "13,8", "g/dL", "12,0 – 16,0"),
    ("Protéine C-réactive (CRP)", "3,1", "mg/L", "< 5,0"),
    ("Créatinine", "68", "µmol/L", "45 – 90"),
    ("Cholestérol total", "1,85", "g/L", "< 2,00"),
    ("Œstradiol", "154", "pg/mL", "≥ 20"),
)


@functools.cache
def font_path() -> Path | None:
    """A Unicode TTF font (DejaVu Sans) for fpdf2, or None when the system has none."""
    explicit = os.environ.get("MSANTE_TEST_FONT")
    if explicit and Path(explicit).is_file():
        return Path(explicit)
    shipped = Path(__file__).resolve().parents[1] / "msante" / "data" / "fonts" / "DejaVuSans.ttf"
    if shipped.is_file():  # the font msante ships for the PDFs it writes
        return shipped
    for folder in FONT_DIRS:
        for found in sorted(Path(folder).glob("**/DejaVuSans.ttf")):
            return found
    return None


needs_font = pytest.mark.skipif(font_path() is None, reason=FONT_SKIP_REASON)


# ---------------------------------------------------------------- realistic documents (fpdf2)

def _render(title: str, author: str, created: datetime, pages: Sequence[Sequence[str]],
            *, encrypt: tuple[str, str] | None = None) -> bytes:
    """Draw pages of lines ("## " heading, "a | b | c" table row, else a paragraph)."""
    from fpdf import FPDF

    font = font_path()
    if font is None:
        pytest.skip(FONT_SKIP_REASON)
    with _seeded_random(title):
        pdf = FPDF(format="A4")
        _fill(pdf, str(font), title, author, created, pages, encrypt)
        return bytes(pdf.output())


def _fill(pdf: object, font: str, title: str, author: str, created: datetime,
          pages: Sequence[Sequence[str]], encrypt: tuple[str, str] | None) -> None:
    """Metadata, optional encryption, then the pages of lines."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    pdf.add_font("DejaVu", "", font)
    pdf.set_title(title)
    pdf.set_author(author)
    pdf.set_creator("msante tests")
    pdf.set_keywords(SERIAL_PLACEHOLDER.decode())
    pdf.set_creation_date(created)
    if encrypt is not None:
        _encrypt(pdf, *encrypt)
    for lines in pages:
        pdf.add_page()
        for line in lines:
            _draw_line(pdf, line)


def _draw_line(pdf: object, line: str) -> None:
    """One heading, table row or paragraph on the current page."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    if line.startswith("## "):
        pdf.set_font("DejaVu", size=14)
        pdf.multi_cell(0, 9, line[3:], new_x="LMARGIN", new_y="NEXT")
    elif " | " in line:
        pdf.set_font("DejaVu", size=10)
        cells = line.split(" | ")
        for cell, width in zip(cells, (70, 25, 25, 60)[: len(cells)], strict=False):
            pdf.cell(width, 7, cell)
        pdf.ln(7)
    else:
        pdf.set_font("DejaVu", size=11)
        pdf.multi_cell(0, 6, line, new_x="LMARGIN", new_y="NEXT")


def _encrypt(pdf: object, user_password: str, owner_password: str) -> None:
    """Encrypt with AES-128 (fpdf2), metadata included."""
    from fpdf import FPDF
    from fpdf.enums import EncryptionMethod

    assert isinstance(pdf, FPDF)
    pdf.set_encryption(owner_password=owner_password, user_password=user_password,
                       encryption_method=EncryptionMethod.AES_128)


@contextmanager
def _seeded_random(seed: str) -> Iterator[None]:
    """Make fpdf2's encryption salts and IVs deterministic (they come from os.urandom)."""
    from fpdf.encryption import StandardSecurityHandler

    rng = random.Random(seed)
    fake = classmethod(lambda cls, size: rng.randbytes(size))
    with mock.patch.object(StandardSecurityHandler, "get_random_bytes", fake):
        yield


def _fr_date(text: str, hour: int = 14) -> datetime:
    """"12/03/2025" → 2025-03-12 at `hour`:00 Paris winter time."""
    day, month, year = (int(part) for part in text.split("/"))
    return datetime(year, month, day, hour, 0, tzinfo=CET)


def _header(lab: str, patient: str, born: str, sex: str = "Née") -> list[str]:
    """The letterhead and the patient block shared by the French documents."""
    return [f"## {lab}", "12 rue de la République, 69002 Lyon – Tél. 04 72 00 00 00",
            f"Patient(e) : {patient}", f"{sex} le {born}"]


def lab_report(patient: str = "Camille Martin", born: str = "02/06/1985",
               sampled: str = "12/03/2025", lab: str = "Laboratoire Bioaccess",
               results: Sequence[Sequence[str]] | None = None, pages: int = 1,
               title: str = "Compte rendu d'examens biologiques",
               author: str = "Laboratoire Bioaccess") -> bytes:
    """A French lab report: "Prélevé le …", "Née le …", glycémie, hémoglobine, CRP, ranges;
    `results` rows are (analysis, value, unit, reference range); pages 2… say "page k/n"."""
    rows = tuple(tuple(row) for row in results) if results is not None else DEFAULT_RESULTS
    return _lab_report(patient, born, sampled, lab, rows, pages, title, author)


@functools.cache
def _lab_report(patient: str, born: str, sampled: str, lab: str,
                results: tuple[tuple[str, ...], ...], pages: int, title: str,
                author: str) -> bytes:
    """`lab_report` with hashable arguments, cached."""
    rows = [" | ".join(row) for row in results]
    first = [*_header(lab, patient, born), "## Compte rendu d'examens biologiques",
             f"Prélevé le {sampled} à 08:15 – à jeun", "Biochimie sanguine :",
             "Analyse | Résultat | Unité | Valeurs de référence", *rows,
             "Commentaire : bilan du cœur et des vaisseaux «sans particularité».",
             "Biologiste responsable : Dr Hélène Garçon"]
    more = [[f"## Suite du compte rendu – page {n}/{pages}", f"Prélevé le {sampled}", *rows]
            for n in range(2, pages + 1)]
    return _render(title, author, _fr_date(sampled), [first, *more])


@functools.cache
def prescription(patient: str = "Camille Martin", doctor: str = "Dr Jean Lefèvre",
                 date: str = "05/01/2025", title: str = "Ordonnance") -> bytes:
    """A French prescription: "ORDONNANCE", doctor, "Fait le …", medicines with posology."""
    lines = [f"## {doctor}", "Médecin généraliste – 3 place Bellecour, 69002 Lyon",
             "## ORDONNANCE", f"Fait le {date}", f"Mme {patient}",
             "Amoxicilline 1 g : un comprimé matin et soir pendant 7 jours",
             "Paracétamol 1 g : un comprimé toutes les 6 heures si fièvre ≥ 38,5 °C",
             "Ne pas dépasser 4 comprimés par jour. Renouvellement : non.", doctor]
    return _render(title, doctor, _fr_date(date, 10), [lines])


@functools.cache
def imaging_report(patient: str = "Camille Martin", born: str = "02/06/1985",
                   date: str = "18/02/2025", center: str = "Centre d'imagerie Lumière",
                   title: str = "Compte rendu d'échographie abdominale") -> bytes:
    """A French radiology report: "Compte rendu d'échographie abdominale", "Examen réalisé le …"."""
    lines = [*_header(center, patient, born), f"## {title}", f"Examen réalisé le {date}",
             "Indication : douleurs de l'hypochondre droit.",
             "Résultats : foie de taille normale, d'échostructure homogène. Vésicule alithiasique.",
             "Reins sans dilatation des cavités pyélocalicielles. Rate homogène.",
             "Conclusion : échographie abdominale «normale».", "Dr Françoise Bœuf, radiologue"]
    return _render(title, "Dr Françoise Bœuf", _fr_date(date, 11), [lines])


@functools.cache
def hospital_report(patient: str = "Camille Martin", born: str = "02/06/1985",
                    admitted: str = "03/11/2024", discharged: str = "07/11/2024",
                    title: str = "Compte rendu d'hospitalisation") -> bytes:
    """A French hospital stay report: admission, discharge, treatment on leaving."""
    lines = [*_header("Hôpital Édouard Herriot – Service de cardiologie", patient, born),
             f"## {title}", f"Hospitalisation du {admitted} au {discharged}",
             "Motif : douleur thoracique. Électrocardiogramme et troponine normaux.",
             "Traitement de sortie : aspirine 75 mg, un sachet par jour.",
             f"Compte rendu rédigé le {discharged} par le Dr Anaïs Chrétien."]
    return _render(title, "Dr Anaïs Chrétien", _fr_date(discharged, 16), [lines])


@functools.cache
def certificate(patient: str = "Camille Martin", date: str = "20/09/2024",
                title: str = "Certificat médical") -> bytes:
    """A French certificate of no contraindication to sport."""
    lines = ["## Dr Jean Lefèvre – Médecin généraliste", f"## {title}",
             f"Je soussigné, Dr Jean Lefèvre, certifie avoir examiné ce jour Mme {patient}",
             "et n'avoir constaté aucune contre-indication à la pratique du vélo en compétition.",
             f"Fait à Lyon, le {date}, pour servir et valoir ce que de droit."]
    return _render(title, "Dr Jean Lefèvre", _fr_date(date, 9), [lines])


@functools.cache
def vaccination_note(patient: str = "Camille Martin", date: str = "14/10/2024",
                     title: str = "Attestation de vaccination") -> bytes:
    """A French vaccination certificate (flu and tetanus boosters, batch numbers)."""
    lines = ["## Pharmacie du Théâtre", f"## {title}", f"Patient(e) : {patient}",
             f"Vaccination réalisée le {date}",
             "Vaccin | Lot | Dose | Voie", "Grippe saisonnière (Efluelda) | X4F21 | 0,5 mL | IM",
             "dTcaPolio (Repevax) | R7K02 | 0,5 mL | IM",
             "Prochain rappel dTcaPolio à 65 ans. Pharmacien : M. Noël Côté"]
    return _render(title, "Pharmacie du Théâtre", _fr_date(date, 15), [lines])


@functools.cache
def english_lab_report(patient: str = "Camille Martin", dob: str = "06/02/1985",
                       collected: str = "March 12, 2025",
                       title: str = "Laboratory report") -> bytes:
    """An English lab report: "Collected: March 12, 2025", "DOB: 06/02/1985" (US order)."""
    lines = ["## Riverside Medical Laboratory", f"Patient: {patient}", f"DOB: {dob}",
             f"## {title}", f"Collected: {collected}", "Test | Result | Unit | Reference range",
             "Fasting glucose | 92 | mg/dL | 70 – 110", "Hemoglobin | 13.8 | g/dL | 12.0 – 16.0",
             "C-reactive protein | 3.1 | mg/L | < 5.0", "Reviewed by Dr. Emily Carter"]
    created = datetime.strptime(collected, "%B %d, %Y").replace(hour=14, tzinfo=UTC)
    return _render(title, "Riverside Medical Laboratory", created, [lines])


def multi_page(n: int) -> bytes:
    """A French lab report of `n` pages, pages 2 to n saying "page k/n"."""
    return lab_report(pages=n)


@functools.cache
def image_only_pdf() -> bytes:
    """A one-page PDF whose page only draws an image (a scan): no text layer at all."""
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_title("Scan")
    pdf.set_creation_date(datetime(2025, 1, 5, 10, 0, tzinfo=UTC))
    pdf.add_page()
    pdf.image(io.BytesIO(png_bytes(64, 64)), x=10, y=10, w=190)
    return bytes(pdf.output())


@functools.cache
def encrypted_pdf(user_password: str = "secret", owner_password: str = "owner") -> bytes:
    """A lab report encrypted with AES-128 that needs `user_password` to be opened."""
    sampled = "12/03/2025"
    lines = [*_header("Laboratoire Bioaccess", "Camille Martin", "02/06/1985"),
             "## Compte rendu d'examens biologiques", f"Prélevé le {sampled}",
             " | ".join(DEFAULT_RESULTS[0])]
    return _render("Résultats protégés", "Laboratoire Bioaccess", _fr_date(sampled), [lines],
                   encrypt=(user_password, owner_password))


def owner_only_encrypted_pdf() -> bytes:
    """An encrypted PDF with an owner password only: it opens with the empty user password."""
    return encrypted_pdf(user_password="", owner_password="owner")


# ---------------------------------------------------------------- broken files

def truncated_pdf() -> bytes:
    """The first 40 % of a lab report: no xref, no trailer, no %%EOF."""
    data = lab_report()
    return data[: len(data) * 2 // 5]


def garbage_named_pdf(seed: int = 0) -> bytes:
    """Four KiB of random bytes (a file named .pdf that is not one)."""
    return random.Random(seed).randbytes(4096)


def not_a_pdf_text() -> bytes:
    """A UTF-8 text file (which someone named .pdf)."""
    return "Ceci n'est pas un PDF : liste de courses – pâtes, crème, œufs.\n".encode()


# ---------------------------------------------------------------- hand-written PDFs

def _stream(data: bytes, extra: bytes = b"") -> bytes:
    """A stream object's body: dictionary with /Length, then the data."""
    return b"<< /Length %d %s >>\nstream\n%s\nendstream" % (len(data), extra, data)


def _assemble(objects: Sequence[bytes], *, root: int = 1, info: int | None = None) -> bytes:
    """A classic PDF (header, objects numbered from 1, xref table, trailer) from object bodies;
    `info`: the number of the document information dictionary."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    extra = b" /Info %d 0 R" % info if info else b""
    out += b"trailer\n<< /Size %d /Root %d 0 R%s >>\n" % (len(objects) + 1, root, extra)
    return bytes(out + b"startxref\n%d\n%%%%EOF\n" % xref)


FONT_OBJ = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"


def _text_content(lines: Sequence[str]) -> bytes:
    """A content stream showing Latin-1 `lines` in Helvetica, top to bottom."""
    body = b"".join(b"(%s) Tj T*\n" % _pdf_escape(line) for line in lines)
    return b"BT /F1 11 Tf 14 TL 56 800 Td\n" + body + b"ET"


def _pdf_escape(text: str) -> bytes:
    """`text` as the inside of a PDF literal string (WinAnsi/Latin-1 subset)."""
    raw = text.encode("cp1252", errors="replace")
    return raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")


def _page(parent: int, contents: int, extra: bytes = b"") -> bytes:
    """A page object (A4, Helvetica as /F1 in object 3 by convention)."""
    return (b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 595 842] /Contents %d 0 R "
            b"/Resources << /Font << /F1 3 0 R >> %s >> >>" % (parent, contents, extra))


def plain_pdf(lines: Sequence[str], *, title: str | None = None, author: str | None = None,
              created: str | None = None) -> bytes:
    """A one-page Helvetica PDF of Latin-1 `lines`, with whatever metadata is given as is
    (`created`: a PDF date such as "D:20040210093000+01'00'"); any character survives,
    terminal controls included."""
    meta = {b"Title": title, b"Author": author, b"CreationDate": created}
    info = b"<< %s >>" % b" ".join(  # UTF-16BE text strings: any character, ESC included
        b"/%s <FEFF%s>" % (key, value.encode("utf-16-be").hex().upper().encode())
        for key, value in meta.items() if value is not None)
    return _assemble([b"<< /Type /Catalog /Pages 2 0 R >>",
                      b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>", FONT_OBJ, _page(2, 5),
                      _stream(_text_content(lines)), info], info=6)


@functools.cache
def flate_bomb(gib: int = 1, where: str = "content") -> bytes:
    """A valid one-page PDF with a doubly deflated stream of a few KiB inflating to `gib` GiB of
    zeros, as the page's content stream ("content"), inside a form XObject the page draws
    ("form": pypdf then logs a warning and returns "" silently) or as its font's /ToUnicode."""
    inner = _deflate_zeros(gib << 30)
    bomb = _stream(zlib.compress(inner, 9), b"/Filter [/FlateDecode /FlateDecode]")
    text = _stream(_text_content(["Bombe de décompression"]))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
               FONT_OBJ, _page(2, 5), bomb]
    if where == "form":
        form = b"/XObject << /Fm1 5 0 R >>"
        objects[3:] = [_page(2, 6, form), bomb.replace(b"<< ", b"<< /Type /XObject /Subtype "
                       b"/Form /BBox [0 0 595 842] /Resources << /Font << /F1 3 0 R >> >> ", 1),
                       _stream(_text_content(["Bombe"]) + b"\n/Fm1 Do")]
    elif where == "tounicode":
        objects[2:] = [FONT_OBJ.replace(b" >>", b" /ToUnicode 5 0 R >>"), _page(2, 6), bomb, text]
    return _assemble(objects)


def _deflate_zeros(size: int) -> bytes:
    """A valid zlib stream of `size` zero bytes (rounded up to 4 MiB), built in milliseconds:
    after a full flush, every 4 MiB block of zeros deflates to the same bytes: one is repeated."""
    chunk = bytes(1 << 22)
    packer = zlib.compressobj(9)
    first = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(chunk) + packer.flush(zlib.Z_FULL_FLUSH)
    blocks = max(1, -(-size // len(chunk)))
    total = blocks * len(chunk)
    adler = struct.pack(">I", ((total % 65521) << 16) | 1)  # adler32 of `total` zeros
    return first + block * (blocks - 1) + b"\x03\x00" + adler  # empty final block, checksum


@functools.cache
def partly_broken_pdf(cause: str = "filter") -> bytes:
    """Three pages of text; the second one's content stream is broken: compressed with an
    unknown filter ("filter") or a 1 GiB decompression bomb ("bomb")."""
    kids = b"4 0 R 6 0 R 8 0 R"
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count 3 >>" % kids, FONT_OBJ]
    for number in (1, 2, 3):
        content = _stream(_text_content([f"Page {number} : resultats du bilan sanguin"]))
        if number == 2:
            content = (_stream(zlib.compress(_deflate_zeros(1 << 30), 9),
                               b"/Filter [/FlateDecode /FlateDecode]") if cause == "bomb"
                       else content.replace(b" >>", b" /Filter /NoSuchDecode >>", 1))
        objects += [_page(2, 3 + 2 * number), content]
    return _assemble(objects)


@functools.cache
def page_tree_loop() -> bytes:
    """A PDF whose page tree loops: /Pages 2 has kids [page 4, node 6], node 6's kids = [2]."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [4 0 R 6 0 R] /Count 3 >>", FONT_OBJ, _page(2, 5),
               _stream(_text_content(["Boucle dans l'arbre des pages"])),
               b"<< /Type /Pages /Parent 2 0 R /Kids [2 0 R] /Count 2 >>"]
    return _assemble(objects)


@functools.cache
def deep_tree(depth: int = 5000) -> bytes:
    """A PDF whose page tree is a chain of `depth` /Pages nodes above its single page."""
    first_node = 6
    objects = [b"<< /Type /Catalog /Pages 6 0 R >>", b"null", FONT_OBJ,
               _page(first_node + depth - 1, 5), _stream(_text_content(["Arbre profond"]))]
    for level in range(depth):
        number = first_node + level
        kid = number + 1 if level < depth - 1 else 4
        parent = b"/Parent %d 0 R " % (number - 1) if level else b""
        objects.append(b"<< /Type /Pages %s/Kids [%d 0 R] /Count 1 >>" % (parent, kid))
    return _assemble(objects)


@functools.cache
def huge_text_pdf(pages: int = 2000) -> bytes:
    """A PDF of `pages` pages of about 3 KB of text each (deflated), for memory checks."""
    count = 4 + pages * 2
    kids = b" ".join(b"%d 0 R" % (5 + 2 * i) for i in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), FONT_OBJ, b"null"]
    for i in range(pages):
        lines = [f"Page {i + 1} - ligne {k} : glycemie, hemoglobine, CRP, creatinine, "
                 f"cholesterol, resultats dans les valeurs de reference." for k in range(12)]
        objects.append(_page(2, 6 + 2 * i))
        objects.append(_stream(zlib.compress(_text_content(lines)), b"/Filter /FlateDecode"))
    assert len(objects) == count
    return _assemble(objects)


def write_large_pdf(path: Path, mib: int = 500, image_mib: int = 4) -> Path:
    """Stream to `path` a valid PDF of about `mib` MiB: pages of one raw image plus a text line."""
    pages = max(1, mib // image_mib)
    side = int((image_mib << 20) ** 0.5)
    image = random.Random(0).randbytes(side * side)
    kids = b" ".join(b"%d 0 R" % (4 + 3 * i) for i in range(pages))
    head = [b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages), FONT_OBJ]
    with path.open("wb") as out:
        offsets = _write_objects(out, head, 0)
        for i in range(pages):
            xobj = b"/XObject << /Im1 %d 0 R >>" % (6 + 3 * i)
            draw = b"q 595 0 0 842 0 0 cm /Im1 Do Q\n" + _text_content([f"Scan page {i + 1}"])
            image_obj = _stream(image, b"/Type /XObject /Subtype /Image /Width %d /Height %d "
                                b"/ColorSpace /DeviceGray /BitsPerComponent 8" % (side, side))
            page = [_page(2, 5 + 3 * i, xobj), _stream(draw), image_obj]
            offsets += _write_objects(out, page, len(offsets))
        _write_xref(out, offsets)
    return path


def _write_objects(out: io.BufferedWriter, bodies: Sequence[bytes], first: int) -> list[int]:
    """Write objects numbered from first+1 (after a header when first is 0); their offsets."""
    if first == 0:
        out.write(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(bodies, first + 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    return offsets


def _write_xref(out: io.BufferedWriter, offsets: Sequence[int]) -> None:
    """Write the xref table, the trailer (root = object 1) and %%EOF."""
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\n" % (len(offsets) + 1))
    out.write(b"startxref\n%d\n%%%%EOF\n" % xref)


# ---------------------------------------------------------------- images

@functools.cache
def png_bytes(width: int = 8, height: int = 8) -> bytes:
    """A tiny valid grey-gradient PNG, written by hand with zlib."""
    rows = b"".join(b"\x00" + bytes((x * 255 // max(1, width - 1)) for x in range(width))
                    for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


@functools.cache
def jpeg_bytes(width: int = 8, height: int = 8) -> bytes:
    """A tiny valid JPEG, encoded by Pillow (a dependency of fpdf2)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (width, height), (200, 120, 40)).save(out, "JPEG", quality=80)
    return out.getvalue()


# ---------------------------------------------------------------- batches

GOOD_KINDS = ("lab", "prescription", "imaging", "hospital", "certificate", "vaccination",
              "english_lab")
BAD_KINDS = ("truncated", "garbage", "not_pdf", "encrypted", "image_only", "flate_bomb",
             "page_tree_loop", "deep_tree")
PATIENTS = ("Camille Martin", "Louis Moreau", "Zoé Lefèbvre")


def with_serial(data: bytes, serial: int) -> bytes:
    """The same document with distinct bytes: the serial replaces the placeholder keywords
    (same length, so offsets hold), or is appended as a comment after %%EOF."""
    mark = b"msante-test-%06d" % serial
    if SERIAL_PLACEHOLDER in data:
        return data.replace(SERIAL_PLACEHOLDER, mark, 1)
    return data + b"\n%" + mark + b"\n"


def _good(kind: str, patient: str) -> bytes:
    """A realistic document of `kind` for `patient` (cached per pair)."""
    makers = {"lab": lab_report, "prescription": prescription, "imaging": imaging_report,
              "hospital": hospital_report, "certificate": certificate,
              "vaccination": vaccination_note, "english_lab": english_lab_report}
    return makers[kind](patient=patient)  # type: ignore[operator]


def _bad(kind: str, seed: int) -> bytes:
    """A broken or hostile file of `kind`."""
    makers = {"truncated": truncated_pdf, "garbage": lambda: garbage_named_pdf(seed),
              "not_pdf": not_a_pdf_text, "encrypted": encrypted_pdf,
              "image_only": image_only_pdf, "flate_bomb": flate_bomb,
              "page_tree_loop": page_tree_loop, "deep_tree": lambda: deep_tree(500)}
    return makers[kind]()


def many(n: int, bad: int = 10, seed: int = 0) -> list[tuple[str, bytes, str]]:
    """`n` files (name, bytes, kind) with distinct bytes: `bad` broken/hostile ones (kinds from
    BAD_KINDS, cycled) at random positions, the rest realistic documents (GOOD_KINDS)."""
    rng = random.Random(seed)
    bad_positions = set(rng.sample(range(n), min(bad, n)))
    files = []
    bad_index = 0
    for i in range(n):
        if i in bad_positions:
            kind = BAD_KINDS[bad_index % len(BAD_KINDS)]
            data = _bad(kind, seed * 100_000 + i)
            bad_index += 1
        else:
            kind = GOOD_KINDS[rng.randrange(len(GOOD_KINDS))]
            data = _good(kind, PATIENTS[rng.randrange(len(PATIENTS))])
        files.append((f"{i:04d}-{kind}.pdf", with_serial(data, seed * 100_000 + i), kind))
    return files
