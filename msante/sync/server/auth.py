"""Login signatures, checked with `msante.sync.crypto` (the only place the server uses it).

The server learns a device's public signing key at registration and checks, at login, the
device's signature (purpose `login`) over {"server", "account", "challenge"} (SYNC.md).
"""

from __future__ import annotations

import importlib
from types import ModuleType


def _crypto() -> ModuleType:
    """`msante.sync.crypto`, imported when first needed."""
    return importlib.import_module("msante.sync.crypto")


def valid_signing_key(key: bytes) -> bool:
    """Whether `key` is a public signing key `msante.sync.crypto` can read."""
    try:
        _crypto().VerifyKey.from_bytes(key)
    except ValueError:
        return False
    return True


def login_signature_ok(key: bytes, server: str, account: str, challenge: str,
                       signature: bytes) -> bool:
    """Whether `signature` is the device's `login` signature over this challenge."""
    crypto = _crypto()
    context = {"server": server, "account": account, "challenge": challenge}
    try:
        crypto.VerifyKey.from_bytes(key).verify(crypto.Purpose.LOGIN, context, signature)
    except (crypto.BadSignature, ValueError):
        return False
    return True

