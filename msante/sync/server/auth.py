"""Login signatures, checked with `msante.sync.crypto` (the only place the server uses it).

The server learns a device's public signing key at registration and checks, at login, the
device's signature (purpose `login`) over {"server", "account", "challenge"} (SYNC.md).
"""

from __future__ import annotations

from msante.sync.crypto import BadSignature, Purpose, VerifyKey


def valid_signing_key(key: bytes) -> bool:
    """Whether `key` is a public signing key `msante.sync.crypto` can read."""
    try:
        VerifyKey.from_bytes(key)
    except ValueError:
        return False
    return True


def login_signature_ok(key: bytes, server: str, account: str, challenge: str,
                       signature: bytes) -> bool:
    """Whether `signature` is the device's `login` signature over this challenge."""
    context = {"server": server, "account": account, "challenge": challenge}
    try:
        VerifyKey.from_bytes(key).verify(Purpose.LOGIN, context, signature)
    except (BadSignature, ValueError):
        return False
    return True
