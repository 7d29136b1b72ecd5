"""Sign-then-seal: the attacks it must stop each end in BadSeal or BadSignature, nothing else."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.sync.crypto import (
    BadSeal,
    BadSignature,
    Purpose,
    SealKey,
    SigningKey,
    open_signed,
    pad,
    sign_then_seal,
    unpad,
)
from msante.sync.padme import padded_length
from msante.sync.signing import SIGNATURE_LEN

ALICE = SigningKey.generate()          # a professional depositing a file key
MALLORY = SigningKey.generate()
BOB = SealKey.generate()               # the space's inbox key
CAROL = SealKey.generate()
CONTEXT: dict[str, object] = {"space": "h-4f2a", "deposit": "d-17", "rpps": "10001234567"}
BODY = b"file key \x00\x01\x02 and its metadata"


def _sealed(purpose: Purpose = Purpose.DEPOSIT, context: dict[str, object] = CONTEXT,
            body: bytes = BODY) -> bytes:
    return sign_then_seal(ALICE, BOB.public_key(), purpose, context, body)


def _inner(sealed: bytes, key: SealKey = BOB) -> bytes:
    """What a recipient who can open the seal sees: signature then body, padded."""
    info = b"msante/v1/signed\0deposit\0" + b'{"deposit":"d-17","rpps":"10001234567",' \
        b'"space":"h-4f2a"}'
    return key.open(sealed, info)


def test_round_trip() -> None:
    """The recipient gets the body back, checked against the sender's key."""
    assert open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, _sealed()) == BODY


def test_empty_and_long_bodies() -> None:
    """No body and 100 kB both go through, padded."""
    for body in (b"", bytes(100_000)):
        sealed = _sealed(body=body)
        assert open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, sealed) == body


def test_the_documented_layout() -> None:
    """Inside the seal: padded (signature | body); the signature names Bob and the body hash."""
    inner = unpad(_inner(_sealed()))
    signature, body = inner[:SIGNATURE_LEN], inner[SIGNATURE_LEN:]
    assert body == BODY
    signed = {"context": CONTEXT, "recipient": BOB.public_key().key_id(),
              "body": hashlib.sha256(BODY).digest()}
    ALICE.verify_key().verify(Purpose.DEPOSIT, signed, signature)


def test_resealed_to_another_recipient_is_refused() -> None:
    """Bob opens Alice's message and re-seals it, signature intact, to Carol: Carol refuses.

    The signature names Bob's key, so Carol cannot be made to believe Alice wrote to her.
    """
    info = b"msante/v1/signed\0deposit\0" + b'{"deposit":"d-17","rpps":"10001234567",' \
        b'"space":"h-4f2a"}'
    forwarded = CAROL.public_key().seal(_inner(_sealed()), info)
    with pytest.raises(BadSignature):
        open_signed(CAROL, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, forwarded)


def test_resealed_under_another_context_is_refused() -> None:
    """Bob re-seals Alice's signed body to himself under another context: the signature fails."""
    other = {**CONTEXT, "space": "h-9999"}
    info = b"msante/v1/signed\0deposit\0" + b'{"deposit":"d-17","rpps":"10001234567",' \
        b'"space":"h-9999"}'
    moved = BOB.public_key().seal(_inner(_sealed()), info)
    with pytest.raises(BadSignature):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, other, moved)


@pytest.mark.parametrize("change", [
    {"space": "h-0000"}, {"deposit": "d-18"}, {"extra": True}, {"rpps": b"10001234567"},
])
def test_opened_under_another_context_is_refused(change: dict[str, object]) -> None:
    """The server swaps which deposit a message belongs to: HPKE's info no longer matches."""
    with pytest.raises(BadSeal):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, {**CONTEXT, **change}, _sealed())


@pytest.mark.parametrize("purpose", [p for p in Purpose if p is not Purpose.DEPOSIT])
def test_opened_under_another_purpose_is_refused(purpose: Purpose) -> None:
    """A deposit is not a message, a key bundle or anything else."""
    with pytest.raises(BadSeal):
        open_signed(BOB, ALICE.verify_key(), purpose, CONTEXT, _sealed())


def test_signed_by_another_key_is_refused() -> None:
    """Mallory signs and seals to Bob, claiming to be Alice: Bob checks Alice's key."""
    forged = sign_then_seal(MALLORY, BOB.public_key(), Purpose.DEPOSIT, CONTEXT, BODY)
    with pytest.raises(BadSignature):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, forged)


def test_body_swapped_under_a_genuine_signature_is_refused() -> None:
    """Anyone can seal to Bob: Alice's signature with another body does not verify."""
    signature = unpad(_inner(_sealed()))[:SIGNATURE_LEN]
    info = b"msante/v1/signed\0deposit\0" + b'{"deposit":"d-17","rpps":"10001234567",' \
        b'"space":"h-4f2a"}'
    swapped = BOB.public_key().seal(pad(signature + b"another file key"), info)
    with pytest.raises(BadSignature):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, swapped)


def test_the_wrong_recipient_key_cannot_open() -> None:
    """A message for Bob does not open with Carol's key."""
    with pytest.raises(BadSeal):
        open_signed(CAROL, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, _sealed())


INFO = b"msante/v1/signed\0deposit\0" + b'{"deposit":"d-17","rpps":"10001234567","space":"h-4f2a"}'
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "unpadded": lambda inner: unpad(inner),
    "short": lambda inner: pad(unpad(inner)[:SIGNATURE_LEN - 1]),
    "padding-cut": lambda inner: inner[:-1],
    "empty": lambda inner: b"",
}


@pytest.mark.parametrize("name", DAMAGE)
def test_malformed_contents_under_a_valid_seal_are_refused(name: str) -> None:
    """Someone seals to Bob contents our format cannot hold: BadSeal, not a crash."""
    contents = DAMAGE[name](_inner(_sealed()))
    sealed = BOB.public_key().seal(contents, INFO)
    with pytest.raises((BadSeal, BadSignature)):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, sealed)


@pytest.mark.parametrize("cut", [0, 1, 1121, 1138, -1, -17])
def test_truncated_seal_is_refused(cut: int) -> None:
    """Any cut is a BadSeal."""
    with pytest.raises(BadSeal):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, _sealed()[:cut])


SEALED = _sealed()


@settings(max_examples=120, deadline=None)
@given(st.integers(min_value=0, max_value=len(SEALED) * 8 - 1))
def test_any_flipped_bit_is_refused(bit: int) -> None:
    """One flipped bit anywhere in the seal: BadSeal or BadSignature, nothing else."""
    damaged = bytearray(SEALED)
    damaged[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises((BadSeal, BadSignature)):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, bytes(damaged))


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000))
def test_random_bytes_are_refused(data: bytes) -> None:
    """Garbage from the network: BadSeal, nothing else."""
    with pytest.raises(BadSeal):
        open_signed(BOB, ALICE.verify_key(), Purpose.DEPOSIT, CONTEXT, data)


def test_a_purpose_outside_the_list_is_refused() -> None:
    """The closed list holds for sign-then-seal too (a ValueError: a programming error)."""
    with pytest.raises(ValueError):
        sign_then_seal(ALICE, BOB.public_key(), "admin", CONTEXT, BODY)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        open_signed(BOB, ALICE.verify_key(), "admin", CONTEXT, SEALED)  # type: ignore[arg-type]


def test_sizes_are_padme_sizes() -> None:
    """A seal's size is 1137 + Padmé(signature + body + 1): 1,000 body lengths, 8 sizes."""
    for n in (0, 1, 100, 999):
        assert len(_sealed(body=bytes(n))) == 1137 + padded_length(SIGNATURE_LEN + n)
    assert len({padded_length(SIGNATURE_LEN + n) for n in range(1000)}) == 8
