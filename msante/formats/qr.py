"""QR codes of plain text as PNG images, drawn with segno.

The text is encoded as UTF-8 bytes (byte mode, no ECI header, which some phone readers
mishandle; they recognise UTF-8 by themselves), with error correction level M (about 15% of
the symbol may be damaged) kept as asked rather than raised, a quiet zone of 4 modules (what
the standard requires), and modules scaled so that the image is about `TARGET_PX` wide:
large enough to print or show on a screen and be read by a phone's camera.
"""

from __future__ import annotations

import io

import segno

ERROR = "m"
BORDER = 4  # modules of quiet zone on each side
TARGET_PX = 800
MIN_SCALE = 4


def make(text: str) -> segno.QRCode:
    """The QR code of `text` (UTF-8 bytes, error correction M)."""
    return segno.make_qr(text, error=ERROR, boost_error=False, encoding="utf-8")


def scale_for(code: segno.QRCode) -> int:
    """Pixels per module so that the whole image is about TARGET_PX wide."""
    width, _height = code.symbol_size(scale=1, border=BORDER)
    return max(MIN_SCALE, -(-TARGET_PX // int(width)))


def png(text: str) -> bytes:
    """`text` as a QR code PNG image."""
    code = make(text)
    out = io.BytesIO()
    code.save(out, kind="png", scale=scale_for(code), border=BORDER)
    return out.getvalue()
