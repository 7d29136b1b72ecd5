"""Content typing by magic bytes: what a file is, whatever its name says.

`sniff(head)` looks at the first `SNIFF_BYTES` bytes of a file and returns a MIME type;
`extension_for(mime)` gives the file extension used when exporting. PDFs may have junk before
their header (the PDF specification tolerates it), so `%PDF-` is looked for in the first KiB.
Text is valid UTF-8 with no NUL nor other C0 control character (tab, newlines, form feed and
escape apart); an empty file is "application/octet-stream".
"""

from __future__ import annotations

import codecs

SNIFF_BYTES = 2048
PDF_WINDOW = 1024
OCTET_STREAM = "application/octet-stream"
HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"})
TEXT_CONTROLS = frozenset(b"\t\n\r\f\x1b")

MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"II*\x00", "image/tiff"),
    (b"MM\x00*", "image/tiff"),
    (b"PK\x03\x04", "application/zip"),
    (b"PK\x05\x06", "application/zip"),
)

EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/tiff": ".tif",
    "image/webp": ".webp",
    "image/heic": ".heic",
    "application/zip": ".zip",
    "text/plain": ".txt",
    OCTET_STREAM: ".bin",
}


def sniff(head: bytes) -> str:
    """The MIME type of a file from its first bytes (read `SNIFF_BYTES` of them)."""
    if b"%PDF-" in head[: PDF_WINDOW + 4]:
        return "application/pdf"
    for magic, mime in MAGIC:
        if head.startswith(magic):
            return mime
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    if head[4:8] == b"ftyp" and head[8:12] in HEIF_BRANDS:
        return "image/heic"
    return "text/plain" if _is_text(head) else OCTET_STREAM


def extension_for(mime: str) -> str:
    """The file extension (with its dot) for a MIME type returned by `sniff`; ".bin" if unknown."""
    return EXTENSIONS.get(mime, ".bin")


def _is_text(sample: bytes) -> bool:
    """Whether `sample` is valid UTF-8 (cut anywhere at its end) without binary controls."""
    if not sample or any(byte < 0x20 and byte not in TEXT_CONTROLS for byte in sample):
        return False
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True
