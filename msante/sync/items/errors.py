"""What an item can be caught doing: one closed list of breaches, one error (exit 6)."""

from __future__ import annotations

import enum

from msante.errors import IntegrityError
from msante.i18n import _


class Breach(enum.StrEnum):
    """Why an item, an envelope or a chain head was refused."""

    MALFORMED = "malformed"
    """Not what a msante client writes: bad JSON, a field missing, a wrong length."""
    FORGED = "forged"
    """A signature that does not verify: forged, altered, or signed by another device."""
    DAMAGED = "damaged"
    """A ciphertext that does not open under its key and routing fields (swapped or altered)."""
    SWAPPED = "swapped"
    """Another item where the device's chain or its signed head names a different one."""
    OTHER_SPACE = "other-space"
    """Signed for another space: replayed from there."""
    OTHER_DEVICE = "other-device"
    """Presented as another device's item."""
    DROPPED = "dropped"
    """A gap in a device's chain: items withheld."""
    REPLAYED = "replayed"
    """An item the device's chain already passed, served again."""
    REORDERED = "reordered"
    """A device's items served out of order."""
    ROLLED_BACK = "rolled-back"
    """A signed chain head older than one already seen."""


class ItemError(IntegrityError):
    """An item, envelope or chain head that must not be accepted; `breach` says why."""

    def __init__(self, breach: Breach, message: str | None = None) -> None:
        self.breach = breach
        super().__init__(message or _describe(breach))


def _describe(breach: Breach) -> str:
    """The default message of a breach."""
    texts = {
        Breach.MALFORMED: _("A sync item is malformed: refused."),
        Breach.FORGED: _("A sync item's signature does not verify: it was forged or altered."),
        Breach.DAMAGED: _("A sync item does not decrypt under its key and routing: it was "
                          "swapped or altered."),
        Breach.SWAPPED: _("A sync item is not the one its device chained: the server swapped it."),
        Breach.OTHER_SPACE: _("A sync item was signed for another space: the server replayed "
                              "it here."),
        Breach.OTHER_DEVICE: _("A sync item is presented as another device's."),
        Breach.DROPPED: _("A device's sync items have a gap: the server dropped some."),
        Breach.REPLAYED: _("A sync item was served again: the server replayed it."),
        Breach.REORDERED: _("A device's sync items were served out of order."),
        Breach.ROLLED_BACK: _("A device's signed chain head went backwards: the server rolled "
                              "it back."),
    }
    return texts[breach]
