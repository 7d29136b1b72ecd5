"""Padmé padding (Nikitin et al., "Reducing Metadata Leakage from Encrypted Files and
Communication with PURBs", PoPETs 2019, section 4) with a floor of 256 bytes.

Layout: ``data || 0x80 || 0x00 * k`` (the ISO/IEC 7816-4 marker), where the total length is
``padded_length(len(data))``: ``max(256, padme(len(data) + 1))``. The marker makes the length
unambiguous without a length field; `unpad` also checks that the total is exactly the length
`pad` would have produced, so each plaintext has one padded form and anything else is refused.

Padmé rounds a length L to a multiple of ``2 ** (E - S)`` where ``E = floor(log2 L)`` and
``S = floor(log2 E) + 1``: a padded length reveals O(log log L) bits of L, and the overhead is
below ``L / 2 ** S`` (under 6.25 % for anything above the 256-byte floor).
"""

from __future__ import annotations

from msante.sync.versioned import as_bytes

MIN_PADDED = 256
MARKER = 0x80


def padme(length: int) -> int:
    """The Padmé length for `length` (>= 2): the smallest allowed size not below it."""
    if length < 2:
        return length
    e = length.bit_length() - 1
    s = e.bit_length()
    mask = (1 << (e - s)) - 1
    return (length + mask) & ~mask


def padded_length(data_length: int) -> int:
    """The size `pad` gives to `data_length` bytes (the marker included)."""
    return max(MIN_PADDED, padme(data_length + 1))


def pad(data: bytes) -> bytes:
    """`data`, the 0x80 marker, then zeros up to its Padmé size (at least 256 bytes)."""
    data = as_bytes(data, "data")
    total = padded_length(len(data))
    return data + bytes([MARKER]) + bytes(total - len(data) - 1)


def unpad(data: bytes) -> bytes:
    """The data `pad` was given; ValueError on anything `pad` cannot have produced."""
    try:
        data = as_bytes(data, "padded data")
    except TypeError as exc:
        raise ValueError(str(exc)) from None
    body = data.rstrip(b"\x00")
    if not body or body[-1] != MARKER:
        raise ValueError("padding marker missing")
    plain = body[:-1]
    if padded_length(len(plain)) != len(data):
        raise ValueError("padded length does not match its content")
    return plain
