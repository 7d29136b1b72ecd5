"""Consent before paying for key-derivation parameters above what msante writes today.

Earlier versions let `init --kdf-memory` go up to 1 GiB × 10 iterations × 16 lanes. Such a
header is still readable, but a header edited to it must never cost its owner 20 s and 1 GiB
unasked: above the cap, a person on a terminal is asked; without one, `MSANTE_ALLOW_COSTLY_KDF=1`
allows it, otherwise ConfirmationRequired (exit 2) says how.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from msante.errors import ConfirmationRequired
from msante.i18n import _
from msante.vault import crypto

ALLOW_ENV = "MSANTE_ALLOW_COSTLY_KDF"
Consent = Callable[[str], bool]
"""Asks a person a yes/no question; None where nobody can answer."""


def describe(params: crypto.KdfParams) -> str:
    """What one try with these parameters costs, in words."""
    return _("Unlocking this vault costs {memory} MiB of memory and about {seconds} s per try "
             "({memory} MiB × {n} iterations × {lanes} lanes, above the {most} MiB × iterations "
             "msante now writes).").format(
        memory=params.memory_kib // 1024, seconds=params.seconds, n=params.iterations,
        lanes=params.lanes, most=crypto.MAX_KDF_COST_MIB)


def lower_hint() -> str:
    """How to bring the cost down once the vault is open."""
    return _("Once it is open, 'msante passwd' rewraps the key with the default parameters.")


def require_consent(params: crypto.KdfParams, consent: Consent | None) -> None:
    """Return when the cost of `params` may be paid; ConfirmationRequired when it may not."""
    if not params.costly or os.environ.get(ALLOW_ENV) == "1":
        return
    if consent is None:
        raise ConfirmationRequired(" ".join((
            describe(params),
            _("No terminal to ask on: allow it with {env}=1.").format(env=ALLOW_ENV),
            lower_hint())))
    if not consent(describe(params) + " " + lower_hint() + " " + _("Use them?")):
        raise ConfirmationRequired(_("Cancelled: nothing was changed."))
