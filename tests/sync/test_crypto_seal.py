"""Sealing: HPKE with the one hybrid suite, keys stored as seed + raw X25519, BadSeal only."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.errors import ExitCode, IntegrityError
from msante.sync.crypto import BadSeal, OpenKey, SealKey
from msante.sync.sealing import OVERHEAD, PRIVATE_LEN, PUBLIC_LEN, SUITE, hpke_info

KEY = SealKey.generate()
OTHER = SealKey.generate()
INFO, AAD = b"msante/test\0space=1", b"record=7;rev=3"


def test_seal_open_round_trip() -> None:
    """A sealed message opens with the same info and aad; the size is plaintext + 1137."""
    sealed = KEY.public_key().seal(b"file key", INFO, AAD)
    assert len(sealed) == len(b"file key") + OVERHEAD == len(b"file key") + 1137
    assert KEY.open(sealed, INFO, AAD) == b"file key"


def test_two_seals_of_the_same_plaintext_differ() -> None:
    """Every seal has its own ephemeral keys."""
    a, b = (KEY.public_key().seal(b"same", INFO) for _ in range(2))
    assert a != b and KEY.open(a, INFO) == KEY.open(b, INFO) == b"same"


def test_empty_and_large_plaintexts() -> None:
    """Nothing and a megabyte both go through."""
    for plain in (b"", bytes(range(256)) * 4096):
        assert KEY.open(KEY.public_key().seal(plain, INFO), INFO) == plain


@pytest.mark.parametrize("info, aad", [
    (b"msante/test\0space=2", AAD), (INFO, b"record=7;rev=4"), (INFO, b""), (b"", AAD),
    (INFO + AAD[:3], AAD[3:]),                 # the split between info and aad matters
])
def test_another_info_or_aad_fails(info: bytes, aad: bytes) -> None:
    """Info and aad are both bound, and cannot be traded for one another."""
    sealed = KEY.public_key().seal(b"x", INFO, AAD)
    with pytest.raises(BadSeal):
        KEY.open(sealed, info, aad)


def test_another_key_cannot_open() -> None:
    """Only the recipient's key opens."""
    sealed = KEY.public_key().seal(b"x", INFO)
    with pytest.raises(BadSeal):
        OTHER.open(sealed, INFO)


def test_any_flipped_bit_fails() -> None:
    """Version byte, ML-KEM ciphertext, X25519 share, AES-GCM ciphertext, tag: BadSeal."""
    sealed = KEY.public_key().seal(b"some plaintext", INFO)
    for position in (0, 1, 500, 1088, 1089, 1120, 1121, len(sealed) - 17, len(sealed) - 1):
        damaged = bytearray(sealed)
        damaged[position] ^= 0x04
        with pytest.raises(BadSeal):
            KEY.open(bytes(damaged), INFO)


@pytest.mark.parametrize("cut", [0, 1, 17, 1120, 1121, 1137, -1, -16])
def test_truncated_or_extended_fails(cut: int) -> None:
    """Any prefix, or extra bytes after the tag, is a BadSeal."""
    sealed = KEY.public_key().seal(b"some plaintext", INFO)
    with pytest.raises(BadSeal):
        KEY.open(sealed[:cut], INFO)
    with pytest.raises(BadSeal):
        KEY.open(sealed + b"\0", INFO)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=1300))
def test_random_bytes_are_only_ever_bad_seals(data: bytes) -> None:
    """Nothing but BadSeal comes out of open, whatever the bytes."""
    with pytest.raises(BadSeal):
        KEY.open(b"\x01" + data, INFO)


@pytest.mark.parametrize("sealed", ["text", None, 3])
def test_open_refuses_non_bytes(sealed: object) -> None:
    """Wrong types are a BadSeal too: the input comes from the network."""
    with pytest.raises(BadSeal):
        KEY.open(sealed, INFO)  # type: ignore[arg-type]


def test_bad_seal_is_an_integrity_error() -> None:
    """The CLI turns it into a one-line message and exit 6."""
    assert BadSeal().exit_code == ExitCode.INTEGRITY and isinstance(BadSeal(), IntegrityError)


def test_the_layout_is_standard_hpke_with_the_documented_info() -> None:
    """Drop the version byte and the rest is RFC 9180 single-shot output of the one suite.

    The key is rebuilt from the stored parts (ML-KEM seed, X25519 raw key), so the layout of
    private_bytes is checked at the same time.
    """
    raw = KEY.private_bytes()
    assert len(raw) == PRIVATE_LEN == 97 and raw[0] == 1
    ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[1:65])
    x = x25519.X25519PrivateKey.from_private_bytes(raw[65:])
    sealed = KEY.public_key().seal(b"plain", INFO, AAD)
    info = b"msante/v1/seal\0" + len(INFO).to_bytes(4, "big") + INFO + AAD
    assert hpke_info(INFO, AAD) == info
    suite = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_256_GCM)
    key = hpke.MLKEM768X25519PrivateKey(ml, x)
    assert suite.decrypt(sealed[1:], key, info=info) == b"plain"


def test_the_suite_is_the_one_suite() -> None:
    """Sealing with any other AEAD or KDF does not open: the suite is fixed, not negotiated."""
    wrong = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.AES_128_GCM)
    pub = OpenKey.from_bytes(KEY.public_key().to_bytes())
    ml = mlkem.MLKEM768PublicKey.from_public_bytes(pub.to_bytes()[1:1185])
    x = x25519.X25519PublicKey.from_public_bytes(pub.to_bytes()[1185:])
    forged = wrong.encrypt(b"x", hpke.MLKEM768X25519PublicKey(ml, x), info=hpke_info(INFO, b""))
    with pytest.raises(BadSeal):
        KEY.open(b"\x01" + forged, INFO)
    right = SUITE.encrypt(b"x", hpke.MLKEM768X25519PublicKey(ml, x), info=hpke_info(INFO, b""))
    assert KEY.open(b"\x01" + right, INFO) == b"x"


def test_private_bytes_round_trip() -> None:
    """A seal key read back opens what was sealed to the original."""
    again = SealKey.from_private_bytes(KEY.private_bytes())
    assert again.public_key() == KEY.public_key()
    assert again.open(KEY.public_key().seal(b"y", INFO), INFO) == b"y"


def test_open_key_bytes_round_trip_and_layout() -> None:
    """Version byte, then the draft's 1216-byte MLKEM768-X25519 public key (ML-KEM first)."""
    pub = KEY.public_key().to_bytes()
    assert len(pub) == PUBLIC_LEN == 1217 and pub[0] == 1
    raw = KEY.private_bytes()
    ml = mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[1:65]).public_key()
    x = x25519.X25519PrivateKey.from_private_bytes(raw[65:]).public_key()
    assert pub[1:] == ml.public_bytes_raw() + x.public_bytes_raw()
    again = OpenKey.from_bytes(pub)
    assert again == KEY.public_key() and hash(again) == hash(KEY.public_key())
    assert KEY.open(again.seal(b"z", INFO), INFO) == b"z"


def test_low_order_x25519_public_keys_are_refused() -> None:
    """An X25519 point of small order would make sealing fail later: refused at load."""
    pub = KEY.public_key().to_bytes()
    for point in (bytes(32), b"\x01" + bytes(31)):
        with pytest.raises(ValueError):
            OpenKey.from_bytes(pub[:1185] + point)


@pytest.mark.parametrize("bad", [
    b"", b"\x01", b"\x02" + bytes(PUBLIC_LEN - 1), b"\x01" + b"\xff" * (PUBLIC_LEN - 1),
    bytes(PUBLIC_LEN + 1), "x", None,
])
def test_open_key_from_bytes_refuses_malformed_input(bad: object) -> None:
    """Wrong length, version, an ML-KEM key with coefficients out of range: ValueError."""
    with pytest.raises(ValueError):
        OpenKey.from_bytes(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [
    b"", b"\x02" + bytes(PRIVATE_LEN - 1), bytes(PRIVATE_LEN + 1), "x", None,
])
def test_seal_key_from_bytes_refuses_malformed_input(bad: object) -> None:
    """Wrong length, version or type: ValueError."""
    with pytest.raises(ValueError):
        SealKey.from_private_bytes(bad)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=1300),
                 st.binary(min_size=PUBLIC_LEN - 1, max_size=PUBLIC_LEN - 1).map(
                     lambda b: b"\x01" + b)))
def test_open_key_from_bytes_fuzz(data: bytes) -> None:
    """Random input either loads and round-trips, or raises ValueError only."""
    try:
        key = OpenKey.from_bytes(data)
    except ValueError:
        return
    assert key.to_bytes() == data


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=200),
                 st.binary(min_size=PRIVATE_LEN - 1, max_size=PRIVATE_LEN - 1).map(
                     lambda b: b"\x01" + b)))
def test_seal_key_from_bytes_fuzz(data: bytes) -> None:
    """Random input either loads and round-trips, or raises ValueError only."""
    try:
        key = SealKey.from_private_bytes(data)
    except ValueError:
        return
    assert key.private_bytes() == data


def test_key_ids_name_keys() -> None:
    """Equal keys share an id; different keys do not; the id is 32 bytes."""
    assert KEY.public_key().key_id() == OpenKey.from_bytes(KEY.public_key().to_bytes()).key_id()
    assert KEY.public_key().key_id() != OTHER.public_key().key_id()
    assert len(KEY.public_key().key_id()) == 32


def test_private_halves_do_not_show_in_repr() -> None:
    """A key printed by mistake shows a key id prefix, not its secret."""
    assert KEY.private_bytes()[1:10].hex() not in repr(KEY)


@pytest.mark.parametrize("field", ["plaintext", "info", "aad"])
def test_non_bytes_arguments_are_type_errors(field: str) -> None:
    """An int where bytes belong is refused, not turned into zero bytes by bytes(n)."""
    args: dict[str, object] = {"plaintext": b"p", "info": INFO, "aad": AAD, field: 16}
    with pytest.raises(TypeError):
        KEY.public_key().seal(args["plaintext"], args["info"], args["aad"])  # type: ignore[arg-type]
    if field != "plaintext":
        with pytest.raises(TypeError):
            KEY.open(KEY.public_key().seal(b"p", INFO, AAD), args["info"],  # type: ignore[arg-type]
                     args["aad"])  # type: ignore[arg-type]
