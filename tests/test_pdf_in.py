"""PDF extraction of one file (formats/pdf_in.py) and content typing (formats/sniff.py).

Every test says which promise of the documents issue it holds: the text of real French
documents with their accents, metadata, and a flag with a reason — never an exception, never a
hang — for encrypted, broken, image-only and hostile files."""

from __future__ import annotations

import logging
import time
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from msante.formats.pdf_in import FLAGS, PAGE_SEPARATOR, Extraction, extract, parse_pdf_date
from msante.formats.sniff import extension_for, sniff
from tests import pdfgen

MIB = 1 << 20


def put(tmp_path: Path, data: bytes, name: str = "doc.pdf") -> Path:
    """Write `data` to a file under `tmp_path`."""
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- sniff

@pytest.mark.parametrize("head,mime", [
    (b"%PDF-1.7\n", "application/pdf"),
    (b"\x00" * 1000 + b"%PDF-1.4", "application/pdf"),
    (b"\x00" * 1030 + b"%PDF-1.4", "application/octet-stream"),
    (b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
    (b"GIF89a\x01\x00", "image/gif"),
    (b"II*\x00\x08\x00", "image/tiff"),
    (b"MM\x00*\x00\x00", "image/tiff"),
    (b"RIFF\x24\x00\x00\x00WEBPVP8 ", "image/webp"),
    (b"\x00\x00\x00\x18ftypheic\x00\x00", "image/heic"),
    (b"\x00\x00\x00\x18ftypmif1\x00\x00", "image/heic"),
    (b"PK\x03\x04\x14\x00", "application/zip"),
    ("Glycémie à jeun : 0,92 g/L – «normal»\n".encode(), "text/plain"),
    ("œ".encode()[:1], "text/plain"),
    (b"abc\x00def", "application/octet-stream"),
    ("café au lait".encode("latin-1"), "application/octet-stream"),
    (b"", "application/octet-stream"),
])
def test_sniff_types_content_by_magic_bytes(head: bytes, mime: str) -> None:
    """Files are typed by content, not by name: PDFs with junk before their header, images,
    text cut in the middle of a character; the rest is an octet stream."""
    assert sniff(head) == mime


def test_sniff_recognises_the_generated_files() -> None:
    """The fixtures other tests import are what they claim to be."""
    assert sniff(pdfgen.png_bytes()) == "image/png"
    assert sniff(pdfgen.jpeg_bytes()) == "image/jpeg"
    assert sniff(pdfgen.not_a_pdf_text()) == "text/plain"
    assert sniff(pdfgen.flate_bomb()) == "application/pdf"


@pytest.mark.parametrize("mime,ext", [("application/pdf", ".pdf"), ("image/jpeg", ".jpg"),
                                      ("image/png", ".png"), ("text/plain", ".txt"),
                                      ("application/x-unknown", ".bin")])
def test_extension_for_export(mime: str, ext: str) -> None:
    """Exports get an extension matching their content."""
    assert extension_for(mime) == ext


# ---------------------------------------------------------------- realistic documents

REALISTIC = [
    (pdfgen.lab_report, ["Prélevé le 12/03/2025", "Née le 02/06/1985", "Glycémie",
                         "Hémoglobine", "Protéine C-réactive", "cœur", "Œstradiol", "≥ 20",
                         "«sans particularité»"],
     "Compte rendu d'examens biologiques", "Laboratoire Bioaccess", "2025-03-12T14:00:00+01:00"),
    (pdfgen.prescription, ["ORDONNANCE", "Fait le 05/01/2025", "Amoxicilline", "≥ 38,5"],
     "Ordonnance", "Dr Jean Lefèvre", "2025-01-05T10:00:00+01:00"),
    (pdfgen.imaging_report, ["Compte rendu d'échographie abdominale",
                             "Examen réalisé le 18/02/2025", "Bœuf"],
     "Compte rendu d'échographie abdominale", "Dr Françoise Bœuf", "2025-02-18T11:00:00+01:00"),
    (pdfgen.hospital_report, ["Hospitalisation du 03/11/2024 au 07/11/2024", "Électrocardio"],
     "Compte rendu d'hospitalisation", "Dr Anaïs Chrétien", "2024-11-07T16:00:00+01:00"),
    (pdfgen.certificate, ["Certificat médical", "contre-indication", "Fait à Lyon"],
     "Certificat médical", "Dr Jean Lefèvre", "2024-09-20T09:00:00+01:00"),
    (pdfgen.vaccination_note, ["Vaccination réalisée le 14/10/2024", "Théâtre", "Noël Côté"],
     "Attestation de vaccination", "Pharmacie du Théâtre", "2024-10-14T15:00:00+01:00"),
    (pdfgen.english_lab_report, ["Collected: March 12, 2025", "DOB: 06/02/1985",
                                 "C-reactive protein"],
     "Laboratory report", "Riverside Medical Laboratory", "2025-03-12T14:00:00+00:00"),
]


@pdfgen.needs_font
@pytest.mark.parametrize("maker,words,title,author,created", REALISTIC)
def test_realistic_documents_give_their_text_and_metadata(tmp_path, maker, words, title,
                                                          author, created) -> None:
    """The text the classifier and search rely on comes out with its accents, along with the
    page count, title, author and creation date of the PDF."""
    result = extract(put(tmp_path, maker()))
    assert result.flags == () and result.reason is None
    for word in words:
        assert word in result.text
    assert (result.pages, result.title, result.author, result.created) == (
        1, title, author, created)


@pdfgen.needs_font
def test_multi_page_text_is_joined_with_form_feeds(tmp_path) -> None:
    """Pages are kept apart ("\\n\\f\\n") so a reader can tell where each starts."""
    result = extract(put(tmp_path, pdfgen.multi_page(3)))
    pages = result.text.split(PAGE_SEPARATOR)
    assert result.pages == 3 and len(pages) == 3
    assert "page 3/3" in pages[2] and "Prélevé le 12/03/2025" in pages[1]


@pytest.mark.parametrize("raw,iso", [
    ("D:20250312143000+01'00'", "2025-03-12T14:30:00+01:00"),
    ("D:20250312143000Z", "2025-03-12T14:30:00+00:00"),
    ("D:20250312143000-05'30", "2025-03-12T14:30:00-05:30"),
    ("D:2025031214", "2025-03-12T14:00:00"),
    ("D:20250312", "2025-03-12"),
    ("20250312", "2025-03-12"),
    ("D:20251332", None),
    ("D:2025", None),
    ("yesterday", None),
    (None, None),
])
def test_pdf_dates_become_iso_8601(raw: str | None, iso: str | None) -> None:
    """Dates of the info dictionary in their "D:" forms become ISO; junk becomes None."""
    assert parse_pdf_date(raw) == iso


# ---------------------------------------------------------------- encryption

@pdfgen.needs_font
def test_encrypted_pdf_opens_with_its_password(tmp_path) -> None:
    """With --password-file the text of a protected PDF is indexed."""
    result = extract(put(tmp_path, pdfgen.encrypted_pdf()), "secret")
    assert result.flags == () and "Prélevé le 12/03/2025" in result.text
    assert result.title == "Résultats protégés"


@pdfgen.needs_font
@pytest.mark.parametrize("password,why", [(None, "password is needed"), ("nope", "wrong")])
def test_encrypted_pdf_without_the_password_is_flagged(tmp_path, password, why) -> None:
    """Without its user password a PDF is flagged "encrypted", to be unlocked later."""
    result = extract(put(tmp_path, pdfgen.encrypted_pdf()), password)
    assert result.flags == ("encrypted",) and why in (result.reason or "")
    assert result.text == "" and result.pages is None


@pdfgen.needs_font
def test_owner_password_only_is_not_flagged(tmp_path) -> None:
    """Many "protected" PDFs only restrict printing: they open with the empty user password."""
    result = extract(put(tmp_path, pdfgen.owner_only_encrypted_pdf()))
    assert result.flags == () and "Glycémie" in result.text and result.pages == 1


# ---------------------------------------------------------------- broken files

@pytest.mark.parametrize("maker,why", [
    (pdfgen.truncated_pdf, "pypdf:"),
    (pdfgen.garbage_named_pdf, "not a PDF"),
    (pdfgen.not_a_pdf_text, "text/plain"),
])
def test_broken_files_are_unreadable_with_a_reason(tmp_path, maker, why) -> None:
    """Truncated, random and text files named .pdf are flagged "unreadable", saying why."""
    if maker is pdfgen.truncated_pdf and pdfgen.font_path() is None:
        pytest.skip(pdfgen.FONT_SKIP_REASON)
    result = extract(put(tmp_path, maker()))
    assert result.flags == ("unreadable",) and why in (result.reason or "")


def test_missing_file_is_unreadable_not_an_exception(tmp_path) -> None:
    """A file that vanished between listing and extraction is a flag, not a crash."""
    result = extract(tmp_path / "gone.pdf")
    assert result.flags == ("unreadable",) and "cannot read" in (result.reason or "")


def test_image_only_pdf_is_flagged_no_text(tmp_path) -> None:
    """A scan has pages but no text layer: flagged "no-text" (OCR may come later)."""
    result = extract(put(tmp_path, pdfgen.image_only_pdf()))
    assert result.flags == ("no-text",) and result.pages == 1 and result.title == "Scan"


# ---------------------------------------------------------------- hostile files

@pytest.mark.parametrize("where", ["content", "form", "tounicode"])
def test_flate_bomb_is_stopped_fast_and_in_bounded_memory(tmp_path, where) -> None:
    """A few KiB inflating to 1 GiB is flagged "limits" within seconds while memory stays near
    the stream limit; the "form" bomb makes pypdf log a warning and return text silently, so
    the flag must come from pypdf's log, not from an exception."""
    path = put(tmp_path, pdfgen.flate_bomb(1, where))
    assert path.stat().st_size < 10_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        result = extract(path, max_stream_mib=16)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert time.monotonic() - started < 5
    assert peak < 3 * 16 * MIB
    assert "limits" in result.flags
    assert "decompression bomb: a stream expands beyond 16 MiB" in (result.reason or "")


@pytest.mark.parametrize("cause,flags", [("filter", ("partial",)),
                                          ("bomb", ("limits", "partial"))])
def test_a_broken_page_costs_only_itself(tmp_path, cause, flags) -> None:
    """Pages that read are kept, in place (page separators stay in step with page numbers),
    and the document is flagged "partial" (and "limits" when a bomb broke the page)."""
    result = extract(put(tmp_path, pdfgen.partly_broken_pdf(cause)), max_stream_mib=8)
    pages = result.text.split(PAGE_SEPARATOR)
    assert result.flags == flags and result.pages == 3
    assert "1 of 3 pages failed; page 2: " in (result.reason or "")
    assert "Page 1" in pages[0] and pages[1] == "" and "Page 3" in pages[2]


@pytest.mark.parametrize("maker", [pdfgen.page_tree_loop, lambda: pdfgen.deep_tree(5000)])
def test_page_tree_loops_and_deep_trees_return_quickly(tmp_path, maker) -> None:
    """A /Kids pointing back to an ancestor, or 5,000 nested /Pages, never hang: "limits"."""
    path = put(tmp_path, maker())
    started = time.monotonic()
    result = extract(path)
    assert time.monotonic() - started < 5
    assert result.flags == ("limits",) and result.reason


def test_streams_are_freed_page_by_page(tmp_path) -> None:
    """A long scanned PDF costs one page of memory, not the whole file: pypdf's cache of
    resolved streams is emptied after each page (96 MiB file, peak well under that)."""
    path = pdfgen.write_large_pdf(tmp_path / "large.pdf", mib=96, image_mib=4)
    tracemalloc.start()
    try:
        result = extract(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.pages == 24 and result.flags == () and "Scan page 24" in result.text
    assert peak < 24 * MIB


def test_text_beyond_the_limit_is_cut_and_flagged(tmp_path) -> None:
    """A PDF with megabytes of text cannot flood the index: cut at max_text_chars, "limits"."""
    result = extract(put(tmp_path, pdfgen.huge_text_pdf(20)), max_text_chars=5000)
    assert len(result.text) <= 5000 + 20 * len(PAGE_SEPARATOR)
    assert result.flags == ("limits",) and "truncated" in (result.reason or "")


def test_pypdf_logging_is_left_as_it_was(tmp_path, caplog) -> None:
    """Capturing pypdf's warnings during extraction must not silence it for the rest of the
    application, nor spill its warnings about hostile files into the user's log."""
    logger = logging.getLogger("pypdf")
    before = (logger.level, logger.propagate, list(logger.handlers))
    with caplog.at_level(logging.WARNING):
        extract(put(tmp_path, pdfgen.flate_bomb(1, "form")), max_stream_mib=8)
    assert not [r for r in caplog.records if r.name.startswith("pypdf")]
    assert (logger.level, logger.propagate, list(logger.handlers)) == before


# ---------------------------------------------------------------- never raises

SMALL_PDF = pdfgen.huge_text_pdf(2)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=st.lists(st.tuples(st.integers(0, len(SMALL_PDF) - 1), st.integers(0, 255)),
                      max_size=12),
       cut=st.integers(100, len(SMALL_PDF)))
def test_mutated_pdfs_never_raise(tmp_path, edits, cut) -> None:
    """Whatever bytes a file has, extract returns an Extraction with known flags, in time."""
    data = bytearray(SMALL_PDF[:cut])
    for position, value in edits:
        if position < len(data):
            data[position] = value
    started = time.monotonic()
    result = extract(put(tmp_path, bytes(data), "fuzz.pdf"))
    assert time.monotonic() - started < 5
    assert isinstance(result, Extraction) and set(result.flags) <= set(FLAGS)
    assert bool(result.flags) == (result.reason is not None)
