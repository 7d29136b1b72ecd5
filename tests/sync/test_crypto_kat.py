"""Known answers: published vectors for each primitive, and msante's own pinned layouts.

Published (tests/sync/vectors/, each file names its source):
- hpke_pq.json: draft-ietf-hpke-pq vectors. KEM 0x647A (MLKEM768-X25519, the X-Wing combiner)
  with HKDF-SHA256 pins the hybrid KEM and the HKDF-SHA256 key schedule; ML-KEM-1024 with
  AES-256-GCM pins the AEAD of our suite. No published vector has our exact triple
  (0x647A, HKDF-SHA256, AES-256-GCM): the two together cover every part of it.
- mldsa65_wycheproof.json: Wycheproof ML-DSA-65 key generation from a seed, valid and
  invalid signatures; mldsa65_acvp_keygen.json: NIST ACVP ML-DSA-65 key generation (from a
  vendored copy of the ACVP file: see its "copied_from").
- ed25519_rfc8032.json: RFC 8032 section 7.1, tests 1 to 3.
msante_regression.json is not published: msante generated it to pin its own formats.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.bindings._rust import openssl as rust_openssl
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa, mlkem, x25519

from msante.sync.crypto import (
    BadSignature,
    OpenKey,
    Purpose,
    SealKey,
    SigningKey,
    VerifyKey,
    open_signed,
)
from msante.sync.signing import signed_message

VECTORS = Path(__file__).parent / "vectors"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTORS / name).read_text("utf-8"))
    return data


def _hpke(kem_id: int) -> dict[str, Any]:
    vector: dict[str, Any] = next(v for v in _load("hpke_pq.json")["vectors"]
                                  if v["kem_id"] == kem_id)
    return vector


def _decrypt_with_aad(suite: hpke.Suite, ciphertext: bytes, key: Any, info: bytes,
                      aad: bytes) -> bytes:
    """The vectors' first encryption carries aad; cryptography's public API takes none."""
    return rust_openssl.hpke._decrypt_with_aad(suite, ciphertext, key, info=info, aad=aad)


def _xwing_components(seed: bytes) -> bytes:
    """X-Wing's private key is a 32-byte seed: SHAKE256 gives ML-KEM d||z then X25519."""
    return hashlib.shake_256(seed).digest(96)


def test_the_hybrid_kem_opens_the_published_x_wing_vector() -> None:
    """draft-ietf-hpke-pq, KEM 0x647A + HKDF-SHA256: our stored key layout opens it.

    The X-Wing seed is expanded to the two parts msante stores; the key loads through
    SealKey.from_private_bytes, its public half equals the vector's pkRm (so msante's public
    layout is the draft's, after the version byte), and the enc + ciphertext decrypt.
    """
    v = _hpke(0x647A)
    assert v["suite_id"] == "48504b45647a00010003"  # "HPKE", 0x647A, HKDF-SHA256, ChaCha20
    key = SealKey.from_private_bytes(b"\x01" + _xwing_components(bytes.fromhex(v["skRm"])))
    assert key.public_key().to_bytes() == b"\x01" + bytes.fromhex(v["pkRm"])
    stored = key.private_bytes()
    parts = hpke.MLKEM768X25519PrivateKey(mlkem.MLKEM768PrivateKey.from_seed_bytes(stored[1:65]),
                                          x25519.X25519PrivateKey.from_private_bytes(stored[65:]))
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256,
                       hpke.AEAD.CHACHA20_POLY1305)
    first = v["encryptions"][0]
    plain = _decrypt_with_aad(suite, bytes.fromhex(v["enc"] + first["ct"]), parts,
                              bytes.fromhex(v["info"]), bytes.fromhex(first["aad"]))
    assert plain == bytes.fromhex(first["pt"])


def test_aes_256_gcm_opens_the_published_ml_kem_1024_vector() -> None:
    """draft-ietf-hpke-pq, ML-KEM-1024 + HKDF-SHA384 + AES-256-GCM: pins our suite's AEAD."""
    v = _hpke(0x0042)
    key = mlkem.MLKEM1024PrivateKey.from_seed_bytes(bytes.fromhex(v["skRm"]))
    assert key.public_key().public_bytes_raw().hex() == v["pkRm"]
    suite = hpke.Suite(hpke.KEM.MLKEM1024, hpke.KDF.HKDF_SHA384, hpke.AEAD.AES_256_GCM)
    first = v["encryptions"][0]
    plain = _decrypt_with_aad(suite, bytes.fromhex(v["enc"] + first["ct"]), key,
                              bytes.fromhex(v["info"]), bytes.fromhex(first["aad"]))
    assert plain == bytes.fromhex(first["pt"])


def test_ml_dsa_65_key_generation_from_a_seed() -> None:
    """Wycheproof: the seed gives the published public key, through our stored layout too."""
    sign = _load("mldsa65_wycheproof.json")["sign"]
    seed, public = bytes.fromhex(sign["privateSeed"]), bytes.fromhex(sign["publicKey"])
    assert mldsa.MLDSA65PrivateKey.from_seed_bytes(seed).public_key().public_bytes_raw() == public
    ours = SigningKey.from_private_bytes(b"\x01" + bytes(32) + seed)
    assert ours.verify_key().to_bytes()[33:] == public


@pytest.mark.parametrize("index", range(5))
def test_ml_dsa_65_acvp_key_generation(index: int) -> None:
    """NIST ACVP keyGen (ML-DSA-65 group): each seed gives the published public key."""
    t = _load("mldsa65_acvp_keygen.json")["tests"][index]
    key = SigningKey.from_private_bytes(b"\x01" + bytes(32) + bytes.fromhex(t["seed"]))
    assert key.verify_key().to_bytes()[33:].hex().upper() == t["pk"]


@pytest.mark.parametrize("index", range(3))
def test_ml_dsa_65_published_signatures_verify(index: int) -> None:
    """Wycheproof's deterministic signatures (with and without a context string) verify."""
    sign = _load("mldsa65_wycheproof.json")["sign"]
    t = sign["tests"][index]
    key = mldsa.MLDSA65PublicKey.from_public_bytes(bytes.fromhex(sign["publicKey"]))
    ctx = bytes.fromhex(t["ctx"]) if "ctx" in t else None
    key.verify(bytes.fromhex(t["sig"]), bytes.fromhex(t["msg"]), ctx)


def test_ml_dsa_65_published_bad_signatures_are_refused() -> None:
    """Wycheproof's modified, out-of-norm, badly hinted or short signatures fail."""
    for t in _load("mldsa65_wycheproof.json")["verify_invalid"]:
        key = mldsa.MLDSA65PublicKey.from_public_bytes(bytes.fromhex(t["publicKey"]))
        ctx = bytes.fromhex(t["ctx"]) if "ctx" in t else None
        with pytest.raises(InvalidSignature):
            key.verify(bytes.fromhex(t["sig"]), bytes.fromhex(t["msg"]), ctx)


@pytest.mark.parametrize("index", range(3))
def test_ed25519_rfc8032_vectors(index: int) -> None:
    """RFC 8032 7.1: the secret gives the public key and, deterministically, the signature."""
    v = _load("ed25519_rfc8032.json")["vectors"][index]
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes.fromhex(v["secret"]))
    assert key.public_key().public_bytes_raw().hex() == v["public"]
    assert key.sign(bytes.fromhex(v["msg"])).hex() == v["sig"]
    key.public_key().verify(bytes.fromhex(v["sig"]), bytes.fromhex(v["msg"]))


REG = _load("msante_regression.json")


def _context() -> dict[str, object]:
    ctx = dict(REG["context"])
    ctx["hash"] = bytes.fromhex(REG["context"]["hash"]["bytes_hex"])
    return ctx


def test_pinned_signing_key_layout_and_fingerprint() -> None:
    """Fixed private bytes give the same verify key, key id and six words as when pinned."""
    key = SigningKey.from_private_bytes(bytes.fromhex(REG["signing_key"]))
    assert key.verify_key().to_bytes().hex() == REG["verify_key"]
    assert key.verify_key().key_id().hex() == REG["verify_key_id"]
    assert key.verify_key().fingerprint() == REG["fingerprint"]


def test_pinned_signed_message_and_signature() -> None:
    """The covered bytes are unchanged; the Ed25519 half is deterministic, the whole verifies."""
    key = SigningKey.from_private_bytes(bytes.fromhex(REG["signing_key"]))
    assert signed_message(Purpose.ITEM, _context()).hex() == REG["signed_message"]
    fresh, pinned = key.sign(Purpose.ITEM, _context()), bytes.fromhex(REG["signature"])
    assert fresh[:65] == pinned[:65]
    VerifyKey.from_bytes(bytes.fromhex(REG["verify_key"])).verify(
        Purpose.ITEM, _context(), pinned)
    with pytest.raises(BadSignature):
        key.verify_key().verify(Purpose.CHAIN_HEAD, _context(), pinned)


def test_pinned_seal_opens() -> None:
    """A seal made when the format was pinned still opens: info, aad and layout unchanged."""
    key = SealKey.from_private_bytes(bytes.fromhex(REG["seal_key"]))
    assert key.public_key().to_bytes().hex() == REG["open_key"]
    assert OpenKey.from_bytes(bytes.fromhex(REG["open_key"])).key_id().hex() == REG["open_key_id"]
    plain = key.open(bytes.fromhex(REG["sealed"]), bytes.fromhex(REG["info"]),
                     bytes.fromhex(REG["aad"]))
    assert plain.hex() == REG["plaintext"]


def test_pinned_sign_then_seal_opens() -> None:
    """A sign-then-seal message made when the format was pinned still opens and verifies."""
    recipient = SealKey.from_private_bytes(bytes.fromhex(REG["seal_key"]))
    sender = VerifyKey.from_bytes(bytes.fromhex(REG["verify_key"]))
    body = open_signed(recipient, sender, Purpose(REG["signed_purpose"]),
                       REG["signed_context"], bytes.fromhex(REG["signed_sealed"]))
    assert body.hex() == REG["signed_body"]
