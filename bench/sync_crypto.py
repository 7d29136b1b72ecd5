"""The sync's cryptography: what one signature, seal or sign-then-seal costs.

    python bench/sync_crypto.py

Median over 7 runs of 50 calls each, in milliseconds per call. A sanity figure, not a gate:
every target is generous (a sync of 1,000 items verifies 1,000 signatures), exit 1 if missed.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import line, timed  # noqa: E402

from msante.sync.crypto import (  # noqa: E402
    OpenKey,
    Purpose,
    SealKey,
    SigningKey,
    VerifyKey,
    open_signed,
    sign_then_seal,
)

CALLS = 50


def per_call(func: Callable[[], Any]) -> float:
    """Median milliseconds per call of `func`."""
    return timed(lambda: [func() for _ in range(CALLS)], repeat=7) / CALLS * 1000


def main() -> int:
    """Print one line per operation; 0 when every target is met."""
    signer, sealer = SigningKey.generate(), SealKey.generate()
    verify, open_key = signer.verify_key(), sealer.public_key()
    ctx = {"space": "h-4f2a", "seq": 12, "hash": bytes(32)}
    sig = signer.sign(Purpose.ITEM, ctx)
    sealed = open_key.seal(bytes(64), b"info")
    signed = sign_then_seal(signer, open_key, Purpose.DEPOSIT, ctx, bytes(64))
    figures = {
        "sign (Ed25519 + ML-DSA-65)": lambda: signer.sign(Purpose.ITEM, ctx),
        "verify (both halves)": lambda: verify.verify(Purpose.ITEM, ctx, sig),
        "seal 64 bytes (HPKE MLKEM768-X25519, AES-256-GCM)": lambda: open_key.seal(
            bytes(64), b"info"),
        "open 64 bytes": lambda: sealer.open(sealed, b"info"),
        "sign_then_seal 64 bytes": lambda: sign_then_seal(
            signer, open_key, Purpose.DEPOSIT, ctx, bytes(64)),
        "open_signed 64 bytes": lambda: open_signed(
            sealer, verify, Purpose.DEPOSIT, ctx, signed),
        "VerifyKey.from_bytes": lambda: VerifyKey.from_bytes(verify.to_bytes()),
        "SigningKey.from_private_bytes": lambda: SigningKey.from_private_bytes(
            signer.private_bytes()),
        "OpenKey.from_bytes (with the low-order check)": lambda: OpenKey.from_bytes(
            open_key.to_bytes()),
        "SealKey.from_private_bytes": lambda: SealKey.from_private_bytes(
            sealer.private_bytes()),
    }
    ok = True
    for label, func in figures.items():
        value = per_call(func)
        ok = line(label, value, "<= 20 ms", value <= 20, unit=" ms") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
