"""What the recovery key derives for sync: the vault's public key is the sync's OpenKey of the
derived private key, the lookup is fixed by the key alone, and a bundle opens only with it."""

from __future__ import annotations

import pytest

from msante.errors import IntegrityError
from msante.sync.crypto import Purpose, SealKey, SigningKey, sign_then_seal
from msante.sync.recovery import BadBundle, RecoveryKey, context, read_body
from msante.vault import recovery_keys
from msante.vault.crypto import new_recovery_key, parse_recovery_key

SECRET = bytes(range(20))


def test_the_vaults_public_key_is_the_sync_key_of_the_derived_private_key() -> None:
    """Computed without msante.sync, the same bytes as SealKey(...).public_key()."""
    for secret in (SECRET, new_recovery_key()[1]):
        private = recovery_keys.seal_private(secret)
        assert recovery_keys.open_key(secret) == \
            SealKey.from_private_bytes(private).public_key().to_bytes()


def test_the_derivations_are_fixed_and_independent() -> None:
    """Known answers pin the format; each label gives its own bytes; other keys differ."""
    assert recovery_keys.lookup(SECRET) == recovery_keys.lookup(SECRET)
    assert len(recovery_keys.lookup(SECRET)) == 43
    assert recovery_keys.lookup(SECRET) == _b64(_hkdf(b"recovery/lookup", 32)).decode()
    assert recovery_keys.seal_private(SECRET) == b"\x01" + _hkdf(b"recovery/seal", 96)
    other = new_recovery_key()[1]
    assert recovery_keys.lookup(other) != recovery_keys.lookup(SECRET)
    private = recovery_keys.seal_private(SECRET)
    assert recovery_keys.lookup(SECRET).encode() not in private


def test_the_key_as_typed_gives_the_same_keys_and_no_secret_in_repr() -> None:
    """Lower case, spaces and O/I/L typos forgiven; repr shows nothing."""
    text, secret = new_recovery_key()
    key = RecoveryKey.parse(text.lower().replace("-", " "))
    assert key.lookup == recovery_keys.lookup(secret)
    assert key.seal.public_key().to_bytes() == recovery_keys.open_key(secret)
    assert text not in repr(key) and key.lookup not in repr(key)
    assert parse_recovery_key(text) == secret


def test_a_body_that_is_not_a_bundle_is_refused() -> None:
    """Garbage, extra fields, a device sealed to another key: BadBundle (exit 6)."""
    key = RecoveryKey.parse(new_recovery_key()[0])
    for body in (b"{}", b"not json", b'{"account": 1}'):
        with pytest.raises(BadBundle):
            read_body(body, key)
    sealed = SealKey.generate().public_key().seal(b"{}", b"x")
    body = (b'{"account":"a","device":"d","keys":"' + _b64(sealed) +
            b'","server":"s","space":"p","spaces":{}}')
    with pytest.raises(BadBundle):
        read_body(body, key)


def test_a_bundle_opens_only_with_its_key_and_context() -> None:
    """Sealed to one recovery key for (account, server, lookup): any other fails."""
    from msante.sync.crypto import check_signed, unseal
    key, other = (RecoveryKey.parse(new_recovery_key()[0]) for _ in range(2))
    signer = SigningKey.generate()
    ctx = context("acc", "srv", key.lookup)
    sealed = sign_then_seal(signer, key.seal.public_key(), Purpose.RECOVERY, ctx, b"body")
    signature, body = unseal(key.seal, Purpose.RECOVERY, ctx, sealed)
    check_signed(signer.verify_key(), key.seal.public_key(), Purpose.RECOVERY, ctx,
                 signature, body)
    assert body == b"body"
    with pytest.raises(IntegrityError):
        unseal(other.seal, Purpose.RECOVERY, ctx, sealed)
    with pytest.raises(IntegrityError):
        unseal(key.seal, Purpose.RECOVERY, context("other", "srv", key.lookup), sealed)
    with pytest.raises(IntegrityError):
        check_signed(SigningKey.generate().verify_key(), key.seal.public_key(),
                     Purpose.RECOVERY, ctx, signature, body)


def _b64(raw: bytes) -> bytes:
    import base64
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


def _hkdf(label: bytes, length: int) -> bytes:
    """RFC 5869 HKDF-SHA256 from `cryptography` (an independent implementation)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF
    return HKDF(hashes.SHA256(), length, salt=b"msante/v1/recovery",
                info=b"msante/v1/" + label).derive(SECRET)
