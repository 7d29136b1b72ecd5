"""Text and metadata extraction of ONE PDF, in-process: what an extraction worker runs.

`extract(path)` never raises for a bad file: every failure is a flag of the returned
`Extraction` plus a short technical reason (the documents service translates by flag):

    encrypted   a user password is needed and was not given, or is wrong
    unreadable  broken, truncated or not a PDF at all
    no-text     pages but no text layer (scans, image-only PDFs)
    limits      stopped by a limit: a decompression bomb, a page-tree loop or excessive depth,
                too much text (or, set by the pool, time and memory limits)
    partial     some pages failed, the text of the others is kept

Memory stays bounded for long files: the file is read through an open handle (pypdf reads a
path whole into memory), pypdf's decompression limits are set from `max_stream_mib`, and after
each page the streams pypdf resolved for it (content, images, fonts, forms: the bulk of a PDF) are
dropped from its object cache `PdfReader.resolved_objects` (small dictionaries stay cached).
Some bombs make pypdf log a warning and return "" instead of raising (a bomb inside a form
XObject): the "pypdf" logger is captured during extraction and its limit warnings flag "limits".
pypdf is imported on first use, so importing this module (the pool's parent does) stays cheap.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from msante.formats.sniff import PDF_WINDOW, SNIFF_BYTES, sniff

if TYPE_CHECKING:
    from pypdf import PdfReader

PAGE_SEPARATOR = "\n\f\n"
FLAGS = ("encrypted", "unreadable", "limits", "partial", "no-text")
DECOMPRESSION = re.compile(r"decompress|output length|buffer size|decoding work", re.I)
LIMIT_WORDS = re.compile(r"limit|maximum|exceed|too (?:large|many|deep)|cycl|recursion", re.I)
PDF_DATE = re.compile(
    r"^(?:D:)?(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})?(\d{2})?)?\s*(Z|[+-]\d{2}(?:'?\d{2})?)?",
)
MAX_LOGGED = 20


@dataclass(frozen=True)
class Extraction:
    """What was read from one file: text, page count, metadata, and flags with their reason."""

    text: str = ""
    pages: int | None = None
    title: str | None = None
    author: str | None = None
    subject: str | None = None
    created: str | None = None
    modified: str | None = None
    flags: tuple[str, ...] = ()
    reason: str | None = None

    @classmethod
    def failed(cls, flag: str, reason: str) -> Extraction:
        """An extraction that read nothing, with one flag and its reason."""
        return cls(flags=(flag,), reason=reason)


@dataclass
class _Run:
    """One extraction's limits, and the warnings pypdf logged meanwhile (the first few, and the
    first one telling of a limit)."""

    max_stream_mib: int
    max_text_chars: int
    messages: list[str] = field(default_factory=list)
    limit: str | None = None

    def first(self) -> str | None:
        """The first warning logged, if any."""
        return self.messages[0] if self.messages else None

    def limit_reason(self, message: str) -> str:
        """The reason for a limit pypdf reported, decompression bombs called by their name."""
        if DECOMPRESSION.search(message):
            return f"decompression bomb: a stream expands beyond {self.max_stream_mib} MiB"
        return f"pypdf: {message}"


class _Capture(logging.Handler):
    """A logging handler keeping pypdf's warnings in a `_Run`, bounded in memory."""

    def __init__(self, run: _Run) -> None:
        super().__init__(logging.WARNING)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        """Keep the message (the first few) and the first one telling of a limit."""
        message = record.getMessage()[:300]
        if len(self.run.messages) < MAX_LOGGED:
            self.run.messages.append(message)
        if self.run.limit is None and LIMIT_WORDS.search(message):
            self.run.limit = message


@dataclass
class _Pages:
    """The text gathered page by page, and what went wrong with some pages."""

    texts: list[str] = field(default_factory=list)
    chars: int = 0
    failed: list[tuple[int, Exception]] = field(default_factory=list)
    truncated: bool = False


def extract(path: str | Path, password: str | None = None, *, max_stream_mib: int = 64,
            max_text_chars: int = 5_000_000) -> Extraction:
    """Extract the text and metadata of the PDF at `path`; never raises for a bad file."""
    run = _Run(max_stream_mib, max_text_chars)
    try:
        with ExitStack() as stack:
            file = stack.enter_context(open(path, "rb"))
            if (not_pdf := _not_a_pdf(file)) is not None:
                return Extraction.failed("unreadable", not_pdf)
            stack.enter_context(_captured_pypdf_log(run))
            stack.enter_context(_limits(max_stream_mib))
            return _extract(file, password, run)
    except Exception as exc:  # any failure of pypdf on a hostile file is a flag, never a crash
        return Extraction.failed(*_classify(exc, run))


def _not_a_pdf(file: IO[bytes]) -> str | None:
    """Why the file is not a PDF (no %PDF- header in its first KiB), or None if it may be one."""
    mime = sniff(file.read(SNIFF_BYTES))
    file.seek(0)
    if mime == "application/pdf":
        return None
    return f"not a PDF: no %PDF- header in the first {PDF_WINDOW} bytes (content looks like {mime})"


@contextmanager
def _captured_pypdf_log(run: _Run) -> Iterator[None]:
    """Send the warnings of the "pypdf" logger to `run` only (not to the root logger)."""
    logger = logging.getLogger("pypdf")
    handler = _Capture(run)
    saved = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.level, logger.propagate = saved


@contextmanager
def _limits(max_stream_mib: int) -> Iterator[None]:
    """Apply pypdf's decompression and stream limits derived from `max_stream_mib`."""
    from pypdf import apply_configuration

    size = max(1, max_stream_mib) << 20
    with apply_configuration(
        maximum_declared_stream_length=size, array_based_stream_maximum_output_length=size,
        zlib_maximum_output_length=size, lzw_maximum_output_length=size,
        run_length_maximum_output_length=size, jbig2_maximum_output_length=size,
        brotli_maximum_output_length=size, image_maximum_buffer_size=size,
        stream_decoding_work_maximum_length=4 * size, disable_legacy_handling=True,
    ):
        yield


def _extract(file: IO[bytes], password: str | None, run: _Run) -> Extraction:
    """Open, decrypt, read metadata, then the text page by page."""
    from pypdf import PasswordType, PdfReader

    reader = PdfReader(file, strict=False)
    if reader.is_encrypted and reader.decrypt(password or "") == PasswordType.NOT_DECRYPTED:
        why = "wrong password" if password else "a user password is needed to open it"
        return Extraction.failed("encrypted", why)
    meta = _metadata(reader)
    count = len(reader.pages)
    pages = _read_pages(reader, count, run.max_text_chars)
    text = PAGE_SEPARATOR.join(pages.texts)
    flags, reason = _verdict(text, count, pages, run)
    return Extraction(text=text, pages=count, title=meta["title"], author=meta["author"],
                      subject=meta["subject"], created=meta["created"],
                      modified=meta["modified"], flags=flags, reason=reason)


def _read_pages(reader: PdfReader, count: int, max_chars: int) -> _Pages:
    """The text of each page, freeing the streams each page resolved once it is read."""
    pages = _Pages()
    for number in range(count):
        before = len(reader.resolved_objects)
        try:
            _add_page(pages, reader.pages[number].extract_text(), max_chars)
        except Exception as exc:  # one broken page must not cost the others
            pages.failed.append((number, exc))
            pages.texts.append("")  # keep the page separators in step with page numbers
        finally:
            _release_streams(reader, len(reader.resolved_objects) - before)
        if pages.truncated:
            break
    return pages


def _add_page(pages: _Pages, text: str, max_chars: int) -> None:
    """Append a page's text, cut at `max_chars` characters in all."""
    room = max_chars - pages.chars
    if len(text) > room:
        text, pages.truncated = text[: max(room, 0)], True
    pages.texts.append(text)
    pages.chars += len(text)


def _release_streams(reader: PdfReader, added: int) -> None:
    """Drop from pypdf's object cache the streams among the `added` last cached objects."""
    from pypdf.generic import StreamObject

    cache = reader.resolved_objects
    newest = itertools.islice(reversed(cache), max(added, 0))
    for key in [key for key in newest if isinstance(cache[key], StreamObject)]:
        del cache[key]


def _verdict(text: str, count: int, pages: _Pages,
             run: _Run) -> tuple[tuple[str, ...], str | None]:
    """The flags of a PDF that opened, and the reason of the most important one."""
    found = _page_failures(pages, count, run)
    if run.limit is not None:
        found.setdefault("limits", run.limit_reason(run.limit))
    if pages.truncated:
        found.setdefault("limits", f"text longer than {run.max_text_chars} characters: truncated")
    if not found and not text.strip():
        found["no-text"] = (f"no text layer on any of the {count} pages (scan or images only)"
                            if count else "the PDF has no pages")
    flags = tuple(flag for flag in FLAGS if flag in found)
    return flags, (found[flags[0]] if flags else None)


def _page_failures(pages: _Pages, count: int, run: _Run) -> dict[str, str]:
    """Flags and reasons for failed pages: all failed, the cause's flag; some, "partial" (and
    "limits" if a limit was hit)."""
    if not pages.failed:
        return {}
    number, exc = pages.failed[0]
    flag, why = _classify(exc, run)
    why = f"page {number + 1}: {why}"
    if len(pages.failed) == count:
        return {flag: why}
    why = f"{len(pages.failed)} of {count} pages failed; {why}"
    return {"partial": why, "limits": why} if flag == "limits" else {"partial": why}


def _classify(exc: Exception, run: _Run) -> tuple[str, str]:
    """The flag ("limits" or "unreadable") and reason for an exception raised by pypdf."""
    from pypdf.errors import FileNotDecryptedError, LimitReachedError

    if isinstance(exc, FileNotDecryptedError):
        return "encrypted", "a user password is needed to open it"
    message = str(exc)[:300] or type(exc).__name__
    if isinstance(exc, MemoryError):
        return "limits", "out of memory while reading the file"
    if isinstance(exc, RecursionError):
        return "limits", "objects nested too deep"
    if isinstance(exc, LimitReachedError) or LIMIT_WORDS.search(message):
        return "limits", run.limit_reason(message)
    if isinstance(exc, OSError) and not type(exc).__module__.startswith("pypdf"):
        return "unreadable", f"cannot read the file: {message}"
    first = run.first()
    return "unreadable", f"pypdf: {message}" + (f" (after: {first})" if first else "")


def _metadata(reader: PdfReader) -> dict[str, str | None]:
    """Title, author, subject and dates from the info dictionary, then XMP for what is missing."""
    info = _info(reader)
    meta = {"title": _string(info.get("/Title")), "author": _string(info.get("/Author")),
            "subject": _string(info.get("/Subject")),
            "created": parse_pdf_date(_string(info.get("/CreationDate"))),
            "modified": parse_pdf_date(_string(info.get("/ModDate")))}
    # XMP is an XML parse: only worth it when the info dictionary lacks what we use most.
    if meta["title"] is None or meta["author"] is None or meta["created"] is None:
        for key, value in _xmp(reader).items():
            meta[key] = meta[key] or value
    return meta


def _info(reader: PdfReader) -> dict[str, Any]:
    """The document information dictionary, resolved; empty when absent or broken."""
    try:
        info = reader.metadata
        return {str(key): info[key] for key in info} if info is not None else {}
    except Exception:  # a broken info dictionary only costs the metadata
        return {}


def _xmp(reader: PdfReader) -> dict[str, str | None]:
    """Title, author, subject and dates from the XMP metadata stream; empty when absent."""
    try:
        xmp = reader.xmp_metadata
        if xmp is None:
            return {}
        return {"title": _first(xmp.dc_title), "author": _first(xmp.dc_creator),
                "subject": _first(xmp.dc_description),
                "created": _iso(xmp.xmp_create_date), "modified": _iso(xmp.xmp_modify_date)}
    except Exception:  # XMP is optional and often malformed
        return {}


def _string(value: object) -> str | None:
    """A metadata value as a clean one-line string, None when absent or empty."""
    if value is None:
        return None
    if hasattr(value, "get_object"):
        value = value.get_object()
    text = " ".join(str(value).replace("\x00", "").split())[:500]
    return text or None


def _first(value: object) -> str | None:
    """The first string of an XMP list, or the x-default entry of a language alternative."""
    if isinstance(value, dict):
        value = value.get("x-default") or next(iter(value.values()), None)
    elif isinstance(value, list):
        value = value[0] if value else None
    return _string(value)


def _iso(value: object) -> str | None:
    """An XMP date as ISO 8601."""
    return value.isoformat() if isinstance(value, (date, datetime)) else None


def parse_pdf_date(text: str | None) -> str | None:
    """ISO 8601 from a PDF date ("D:20250312143000+01'00'" → "2025-03-12T14:30:00+01:00";
    "D:20250312" → "2025-03-12"); None when absent or invalid."""
    match = PDF_DATE.match(text or "")
    if match is None:
        return None
    year, month, day, hour, minute, second, zone = match.groups()
    try:
        if hour is None:
            return date(int(year), int(month), int(day)).isoformat()
        stamp = datetime(int(year), int(month), int(day), int(hour), int(minute or 0),
                         int(second or 0), tzinfo=_zone(zone))
    except ValueError:
        return None
    return stamp.isoformat()


def _zone(text: str | None) -> timezone | None:
    """The time zone of a PDF date: "Z", "+01'00'", "-05" or none."""
    if not text:
        return None
    if text == "Z":
        return UTC
    digits = text[1:].replace("'", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
    if offset >= timedelta(hours=24):
        raise ValueError("time zone offset out of range")
    return timezone(-offset if text[0] == "-" else offset)
