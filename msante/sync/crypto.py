"""The sync's cryptography, in one import: sign, seal, sign-then-seal, pad.

    from msante.sync.crypto import Purpose, SigningKey, SealKey, sign_then_seal, open_signed

The parts live in `msante.sync.signing` (Ed25519 + ML-DSA-65, canonical contexts,
fingerprints), `msante.sync.sealing` (HPKE MLKEM768-X25519 / HKDF-SHA256 / AES-256-GCM) and
`msante.sync.padme` (Padmé padding); docs/security.md, "Sync cryptography", gives every layout.

Sign, then seal: the sender signs, under `purpose`, the mapping

    {"context": context, "recipient": recipient.key_id(), "body": SHA-256(body)}

so the signature names the one recipient it was meant for and its context; the signature
(3374 bytes, fixed length) and the body are padded (Padmé) and sealed to the recipient with
HPKE `info` = ``b"msante/v1/signed\\0" + purpose + b"\\0" + canonical(context)``. A sealed
message re-sealed to someone else, moved to another context or purpose, or signed by another
key raises BadSeal or BadSignature (both IntegrityError, exit 6), never anything else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from msante.sync.padme import pad, unpad
from msante.sync.sealing import BadSeal, OpenKey, SealKey
from msante.sync.signing import (
    SIGNATURE_LEN,
    BadSignature,
    Purpose,
    SigningKey,
    VerifyKey,
    canonical,
    signed_message,
)
from msante.sync.versioned import as_bytes

__all__ = [
    "BadSeal",
    "BadSignature",
    "OpenKey",
    "Purpose",
    "SealKey",
    "SigningKey",
    "VerifyKey",
    "canonical",
    "check_signed",
    "open_signed",
    "pad",
    "sign_then_seal",
    "signed_message",
    "unpad",
    "unseal",
]

SIGNED_INFO_PREFIX = b"msante/v1/signed\0"


def _seal_info(purpose: Purpose, context: Mapping[str, object]) -> bytes:
    """HPKE `info` for a signed message: its own label, the purpose, the canonical context."""
    message = signed_message(purpose, context)  # validates the purpose and the context
    return SIGNED_INFO_PREFIX + message[len(b"msante/v1/sig\0"):]


def _inner_context(context: Mapping[str, object], recipient: OpenKey,
                   body: bytes) -> dict[str, object]:
    """What the sender signs: the context, the recipient's key id, the body's SHA-256."""
    return {"context": context, "recipient": recipient.key_id(),
            "body": hashlib.sha256(body).digest()}


def sign_then_seal(sender: SigningKey, recipient: OpenKey, purpose: Purpose,
                   context: Mapping[str, object], body: bytes) -> bytes:
    """`body` signed by `sender` for `recipient` under (purpose, context), padded and sealed."""
    body = as_bytes(body, "body")
    info = _seal_info(purpose, context)
    signature = sender.sign(purpose, _inner_context(context, recipient, body))
    return recipient.seal(pad(signature + body), info)


def open_signed(recipient: SealKey, sender: VerifyKey, purpose: Purpose,
                context: Mapping[str, object], sealed: bytes) -> bytes:
    """The body of a `sign_then_seal` message; BadSeal or BadSignature for anything else."""
    signature, body = unseal(recipient, purpose, context, sealed)
    check_signed(sender, recipient.public_key(), purpose, context, signature, body)
    return body


def unseal(recipient: SealKey, purpose: Purpose, context: Mapping[str, object],
           sealed: bytes) -> tuple[bytes, bytes]:
    """(signature, body) of a `sign_then_seal` message, the signature NOT checked yet: for a
    reader who learns the sender from the body (then `check_signed` before trusting it)."""
    plaintext = recipient.open(sealed, _seal_info(purpose, context))
    try:
        inner = unpad(plaintext)
    except ValueError:
        raise BadSeal() from None
    if len(inner) < SIGNATURE_LEN:
        raise BadSeal()
    return inner[:SIGNATURE_LEN], inner[SIGNATURE_LEN:]


def check_signed(sender: VerifyKey, recipient: OpenKey, purpose: Purpose,
                 context: Mapping[str, object], signature: bytes, body: bytes) -> None:
    """Check the signature `unseal` returned; BadSignature unless `sender` made it."""
    sender.verify(purpose, _inner_context(context, recipient, body), signature)
