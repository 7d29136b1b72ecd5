"""Tests of msante.vault.crypto: every KDF, key-wrap and AEAD path is pinned to fixed vectors,
and every way of tampering with a ciphertext that the design names is shown to fail."""

from __future__ import annotations

import gc
import hashlib
import io
import struct
import tarfile
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.errors import IntegrityError, UnsupportedError, UsageError
from msante.vault import crypto
from msante.vault.crypto import DecryptError, KdfParams

KEY = bytes(range(32))
AAD = crypto.context(purpose="blob", record="r1")
SEG = 4096  # the smallest segment size: keeps multi-segment tests small


def counting_random(n: int) -> bytes:
    """A stand-in for os.urandom that makes nonces and salts reproducible."""
    return bytes(range(n))


@pytest.fixture
def fixed_random(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pin every nonce and salt so that our own constructions have known answers."""
    monkeypatch.setattr(crypto, "_random", counting_random)


def encrypt(data: bytes, *, key: bytes = KEY, aad: bytes = AAD, seg: int = SEG) -> bytes:
    out = io.BytesIO()
    assert crypto.encrypt_stream(key, aad, io.BytesIO(data), out, segment_size=seg) == len(data)
    return out.getvalue()


def decrypt(blob: bytes, *, key: bytes = KEY, aad: bytes = AAD) -> bytes:
    out = io.BytesIO()
    assert crypto.decrypt_stream(key, aad, io.BytesIO(blob), out) == len(out.getvalue())
    return out.getvalue()


def segments(blob: bytes, seg: int = SEG) -> tuple[bytes, list[bytes]]:
    """Split a stream into its header and its segments (for splicing attacks)."""
    body = blob[crypto.HEADER_SIZE :]
    step = seg + crypto.TAG_SIZE
    return blob[: crypto.HEADER_SIZE], [body[i : i + step] for i in range(0, len(body), step)]


# --- known answers: the primitives, against their RFCs -------------------------------------

def test_argon2id_rfc9106_vector() -> None:
    """RFC 9106 §5.3: the Argon2id we rely on is the standard one (secret and ad included)."""
    kdf = Argon2id(salt=b"\x02" * 16, length=32, iterations=3, lanes=4, memory_cost=32,
                   ad=b"\x04" * 12, secret=b"\x03" * 8)
    assert kdf.derive(b"\x01" * 32).hex() == (
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    )


def test_hkdf_sha256_rfc5869_case_1() -> None:
    """RFC 5869 A.1: raw HKDF-SHA256, the base of every sub-key."""
    kdf = HKDF(algorithm=hashes.SHA256(), length=42, salt=bytes(range(13)),
               info=bytes(range(0xF0, 0xFA)))
    assert kdf.derive(b"\x0b" * 22).hex() == (
        "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"
    )


def test_aes256_gcm_known_answer() -> None:
    """McGrew-Viega GCM test case 14 (AES-256, zero key and IV): the AEAD under all we seal."""
    sealed = AESGCM(bytes(32)).encrypt(bytes(12), bytes(16), None)
    assert sealed.hex() == "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"


def test_hmac_sha256_rfc4231_case_2() -> None:
    """RFC 4231 test case 2: mac() is plain HMAC-SHA256 (the audit chain depends on it)."""
    assert crypto.mac(b"Jefe", b"what do ya want for nothing?").hex() == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


# --- known answers: our constructions, pinned once -----------------------------------------

PINNED_PARAMS = KdfParams(16384, 2, 1, bytes(range(16)))


@pytest.mark.parametrize(("passphrase", "expected"), [
    ("correct horse battery staple",
     "7cfb910f4bd460566328e3bad06e93c339eea042b331c8215ee9b478f9851668"),
    ("é😀", "79e0520260be2fe7f57a8fdf23827e63626d5e1357e050c932093cd7a321cc7d"),
])
def test_derive_kek_pinned(passphrase: str, expected: str) -> None:
    """A passphrase must give the same KEK forever, or existing vaults no longer open."""
    assert crypto.derive_kek(passphrase, PINNED_PARAMS).hex() == expected


def test_derive_kek_is_argon2id_over_utf8() -> None:
    """The KEK is exactly Argon2id of the UTF-8 passphrase, so other tools can rebuild it."""
    raw = Argon2id(salt=PINNED_PARAMS.salt, length=32, iterations=2, lanes=1, memory_cost=16384)
    assert crypto.derive_kek("é😀", PINNED_PARAMS) == raw.derive("é😀".encode())


def test_hkdf_pinned() -> None:
    """Sub-key labels are part of the format: a change would lose the database key."""
    assert crypto.hkdf(bytes(32), "sqlcipher").hex() == (
        "35f87b9c24e2cffcf20af4d61dfb6859c6a6b3975434d4de213b564ea1292c22"
    )
    assert crypto.hkdf(bytes(32), "blob", salt=b"vault-id", length=16).hex() == (
        "db00a1f90815c46f01cefd169f66f5e1"
    )


def test_hkdf_uses_the_versioned_label() -> None:
    """info is "msante/v1/" + label, so sub-keys of different purposes never coincide."""
    raw = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"s", info=b"msante/v1/x")
    assert crypto.hkdf(KEY, "x", salt=b"s") == raw.derive(KEY)
    assert crypto.hkdf(KEY, "x") != crypto.hkdf(KEY, "y")


def test_recovery_kek_pinned() -> None:
    """The recovery key must keep opening the vault it was shown for."""
    assert crypto.recovery_kek(bytes(range(20)), bytes(16)).hex() == (
        "ba29d4510d887c8c1a45ebc00b8eb65c386cc4b56d3ae07fc28024a72016e1f8"
    )
    assert crypto.recovery_kek(bytes(range(20)), b"\x01" * 16) != crypto.recovery_kek(
        bytes(range(20)), bytes(16))


def test_context_pinned() -> None:
    """The associated-data encoding is part of the format: pinned byte for byte."""
    assert crypto.context(space="s", record=7, blob=b"\x00\x01") == (
        b"\x00\x04blobb\x00\x00\x00\x02\x00\x01"
        b"\x00\x06recordi\x00\x00\x00\x017"
        b"\x00\x05spaces\x00\x00\x00\x01s"
        b"\x00\x01vi\x00\x00\x00\x011"
    )


WRAP_AAD = crypto.context(purpose="vault-key", vault="v1")
PINNED_WRAP = (
    "01000102030405060708090a0b6723f438e1c0e43ca568bda09dc45642b3e7b507c44e694b005edfbe2154"
    "3e8de3e29112cfc48aa682aea8276bbf3713"
)


@pytest.mark.usefixtures("fixed_random")
def test_wrap_key_pinned() -> None:
    """With a fixed nonce, wrap_key's output is pinned, and its layout is the documented one."""
    wrapped = crypto.wrap_key(KEY, bytes(range(32, 64)), WRAP_AAD)
    assert wrapped.hex() == PINNED_WRAP
    assert wrapped[0] == 1 and wrapped[1:13] == bytes(range(12))
    assert AESGCM(KEY).decrypt(wrapped[1:13], wrapped[13:], WRAP_AAD) == bytes(range(32, 64))
    assert crypto.unwrap_key(KEY, bytes.fromhex(PINNED_WRAP), WRAP_AAD) == bytes(range(32, 64))


PINNED_PLAINTEXT = bytes(i % 251 for i in range(10000))


@pytest.mark.usefixtures("fixed_random")
def test_stream_pinned() -> None:
    """With a fixed nonce prefix the stream is pinned, so the blob format cannot drift."""
    blob = encrypt(PINNED_PLAINTEXT)
    assert len(blob) == 16 + 3 * 16 + 10000
    assert hashlib.sha256(blob).hexdigest() == (
        "75ff09353fbe232717579278d07fcc2be37c923299ea2e9320d9a18f2ee8bcb1"
    )


@pytest.mark.usefixtures("fixed_random")
def test_stream_layout_matches_the_documentation() -> None:
    """An independent decoder written from the module docstring reads our streams."""
    blob = encrypt(PINNED_PLAINTEXT)
    header, segs = segments(blob)
    assert header == b"MSS1\x01" + struct.pack(">I", SEG) + bytes(range(7))
    plain = b""
    for counter, seg in enumerate(segs):
        nonce = header[9:] + struct.pack(">IB", counter, counter == len(segs) - 1)
        plain += AESGCM(KEY).decrypt(nonce, seg, header + AAD)
    assert plain == PINNED_PLAINTEXT


@pytest.mark.usefixtures("fixed_random")
def test_recovery_key_pinned_text() -> None:
    """The display form is pinned: Crockford base32 of secret + checksum, groups of 4."""
    text, secret = crypto.new_recovery_key()
    assert secret == bytes(range(20))
    assert text == "000G-40R4-0M30-E209-185G-R38E-1W81-24GK-WYQ0"


# --- KDF parameters ------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("memory_kib", 16383), ("memory_kib", 1048577),
    ("iterations", 1), ("iterations", 11),
    ("lanes", 0), ("lanes", 17),
    ("salt", b"\x00" * 15),
])
def test_kdf_params_out_of_bounds_refused(field: str, value: object) -> None:
    """A header (or, later, a server) must not weaken the KDF nor make it a memory bomb."""
    fields: dict[str, Any] = {"memory_kib": 65536, "iterations": 3, "lanes": 4,
                              "salt": bytes(16), field: value}
    params = KdfParams(**fields)
    with pytest.raises(UnsupportedError):
        params.check()
    with pytest.raises(UnsupportedError):
        crypto.derive_kek("x", params)
    with pytest.raises(UnsupportedError):
        KdfParams.from_json(params.to_json())


@pytest.mark.parametrize(("memory", "iterations", "lanes"), [
    (16384, 2, 1), (262144, 3, 16), (65536, 10, 16), (131072, 6, 4),
])
def test_kdf_params_bounds_are_inclusive(memory: int, iterations: int, lanes: int) -> None:
    """The documented extremes themselves are accepted."""
    KdfParams(memory, iterations, lanes, bytes(16)).check()


@pytest.mark.parametrize(("memory", "iterations"), [
    (1048576, 10), (262144, 4), (131072, 7), (98304, 9),
])
def test_kdf_cost_above_the_cap_is_refused(memory: int, iterations: int) -> None:
    """Each bound alone allowed 1 GiB × 10 passes (21 s and 1 GiB per try): a header edited to
    it was a denial of service. memory × iterations is capped at 768 MiB·pass (about 5 s)."""
    with pytest.raises(UnsupportedError):
        KdfParams(memory, iterations, 4, bytes(16)).check()


def test_kdf_params_new_and_default() -> None:
    """new() gives the documented defaults with a fresh salt; DEFAULT alone is unusable."""
    a, b = KdfParams.new(), KdfParams.new()
    assert (a.memory_kib, a.iterations, a.lanes) == (65536, 3, 4)
    assert len(a.salt) == 16 and a.salt != b.salt
    assert (KdfParams.DEFAULT.memory_kib, KdfParams.DEFAULT.iterations) == (65536, 3)
    with pytest.raises(UnsupportedError):
        KdfParams.DEFAULT.check()


def test_kdf_params_json_roundtrip() -> None:
    """The header form reads back to the same parameters."""
    params = KdfParams.new(memory_kib=32768, iterations=4, lanes=2)
    assert params.to_json()["alg"] == "argon2id"
    assert KdfParams.from_json(params.to_json()) == params


GOOD_JSON = KdfParams(65536, 3, 4, bytes(16)).to_json()


@pytest.mark.parametrize("change", [
    lambda d: None,
    lambda d: [d],
    lambda d: {**d, "alg": "argon2i"},
    lambda d: {k: v for k, v in d.items() if k != "lanes"},
    lambda d: {**d, "pepper": "x"},
    lambda d: {**d, "memory_kib": "65536"},
    lambda d: {**d, "iterations": True},
    lambda d: {**d, "lanes": 4.0},
    lambda d: {**d, "salt": "not base64!"},
    lambda d: {**d, "salt": "é" * 24},
    lambda d: {**d, "salt": list(range(16))},
])
def test_kdf_params_malformed_json_refused(change: Callable[[dict[str, Any]], object]) -> None:
    """Anything but exactly the expected fields and types is refused, never guessed at."""
    with pytest.raises(UnsupportedError):
        KdfParams.from_json(change(dict(GOOD_JSON)))


# --- key wrapping --------------------------------------------------------------------------

def aad_for(**changes: str | int) -> bytes:
    fields: dict[str, str | int] = {"space": "s1", "record": "r1", "revision": 3,
                                    "purpose": "data-key", **changes}
    return crypto.context(**fields)


def test_wrap_roundtrip_and_fresh_nonces() -> None:
    """Wrapping twice never repeats a nonce, and both unwrap."""
    key = crypto.random_key()
    a, b = crypto.wrap_key(KEY, key, aad_for()), crypto.wrap_key(KEY, key, aad_for())
    assert a != b
    assert crypto.unwrap_key(KEY, a, aad_for()) == crypto.unwrap_key(KEY, b, aad_for()) == key


@pytest.mark.parametrize("wrong_aad", [
    aad_for(space="s2"), aad_for(record="r2"), aad_for(revision=2), aad_for(purpose="blob-key"),
    crypto.context(space="s1", record="r1", revision=3),
])
def test_unwrap_with_another_context_fails(wrong_aad: bytes) -> None:
    """A key moved to another space, record, revision or purpose must not unwrap there."""
    wrapped = crypto.wrap_key(KEY, crypto.random_key(), aad_for())
    with pytest.raises(DecryptError):
        crypto.unwrap_key(KEY, wrapped, wrong_aad)


def test_unwrap_with_wrong_kek_fails() -> None:
    """A wrong passphrase or recovery key is detected, not turned into a garbage key."""
    wrapped = crypto.wrap_key(KEY, crypto.random_key(), aad_for())
    with pytest.raises(DecryptError) as caught:
        crypto.unwrap_key(crypto.random_key(), wrapped, aad_for())
    assert "wrong key or tampered" in str(caught.value)
    assert isinstance(caught.value, IntegrityError)


def test_unwrap_any_flipped_bit_fails() -> None:
    """Every bit of a wrapped key (version, nonce, ciphertext, tag) is authenticated."""
    wrapped = crypto.wrap_key(KEY, crypto.random_key(), aad_for())
    for i in range(len(wrapped) * 8):
        damaged = bytearray(wrapped)
        damaged[i // 8] ^= 1 << (i % 8)
        with pytest.raises(DecryptError):
            crypto.unwrap_key(KEY, bytes(damaged), aad_for())


def test_unwrap_truncated_or_extended_fails() -> None:
    """A wrapped key of any other length is refused, including the empty one."""
    wrapped = crypto.wrap_key(KEY, crypto.random_key(), aad_for())
    for damaged in [wrapped[:n] for n in range(len(wrapped))] + [wrapped + b"\x00"]:
        with pytest.raises(DecryptError):
            crypto.unwrap_key(KEY, damaged, aad_for())


def test_random_key_and_mac_helpers() -> None:
    """Keys are 32 fresh bytes; MACs compare equal only when equal."""
    assert len(crypto.random_key()) == 32 and crypto.random_key() != crypto.random_key()
    tag = crypto.mac(KEY, b"entry")
    assert crypto.mac_equal(tag, crypto.mac(KEY, b"entry"))
    assert not crypto.mac_equal(tag, crypto.mac(KEY, b"entrx"))


# --- associated data -----------------------------------------------------------------------

def decode_context(data: bytes) -> dict[str, str | int | bytes]:
    """Parse context() output back: that this is possible is what makes it injective."""
    fields: dict[str, str | int | bytes] = {}
    pos = 0
    while pos < len(data):
        (klen,) = struct.unpack_from(">H", data, pos)
        name = data[pos + 2 : pos + 2 + klen].decode()
        kind = data[pos + 2 + klen : pos + 3 + klen]
        (vlen,) = struct.unpack_from(">I", data, pos + 3 + klen)
        raw = data[pos + 7 + klen : pos + 7 + klen + vlen]
        fields[name] = raw if kind == b"b" else int(raw) if kind == b"i" else raw.decode()
        pos += 7 + klen + vlen
    return fields


context_values = st.one_of(st.text(max_size=8), st.integers(), st.binary(max_size=8))
context_dicts = st.dictionaries(st.text(max_size=6).filter(lambda k: k != "v"), context_values,
                                max_size=5)


@given(context_dicts)
def test_context_decodes_back(fields: dict[str, str | int | bytes]) -> None:
    """Every encoding parses back to its own dict plus the version: no two dicts collide."""
    assert decode_context(crypto.context(**fields)) == {**fields, "v": crypto.FORMAT_VERSION}


@given(context_dicts, context_dicts)
def test_context_distinct_dicts_encode_apart(a: dict[str, Any], b: dict[str, Any]) -> None:
    """Directly the property the design needs: different contexts, different associated data."""
    if a != b:
        assert crypto.context(**a) != crypto.context(**b)


def test_context_types_and_version() -> None:
    """The version is always bound; 1, "1" and b"1" differ; key order does not matter."""
    assert decode_context(crypto.context()) == {"v": 1}
    assert len({crypto.context(a=1), crypto.context(a="1"), crypto.context(a=b"1")}) == 3
    assert crypto.context(a="x", b="y") == crypto.context(b="y", a="x")
    assert crypto.context(ab="c") != crypto.context(a="bc")


@pytest.mark.parametrize("fields", [{"v": 2}, {"flag": True}, {"x": 1.5}, {"x": None}])
def test_context_refuses_reserved_key_and_other_types(fields: dict[str, Any]) -> None:
    """'v' cannot be overridden, and values that have no canonical form are refused."""
    with pytest.raises((ValueError, TypeError)):
        crypto.context(**fields)


# --- recovery key --------------------------------------------------------------------------

def test_recovery_key_roundtrip_and_shape() -> None:
    """What is shown parses back to the secret; 36 symbols in 9 groups of 4."""
    text, secret = crypto.new_recovery_key()
    assert len(secret) == 20
    groups = text.split("-")
    assert len(groups) == 9 and all(len(g) == 4 for g in groups)
    assert set(text) <= set(crypto._CROCKFORD + "-")
    assert crypto.parse_recovery_key(text) == secret


PINNED_RECOVERY = "000G-40R4-0M30-E209-185G-R38E-1W81-24GK-WYQ0"


def test_recovery_key_single_typo_rejected() -> None:
    """Every one-symbol change of a written-down key is caught (checksum or padding)."""
    chars = PINNED_RECOVERY.replace("-", "")
    for i, original in enumerate(chars):
        for other in crypto._CROCKFORD.replace(original, ""):
            with pytest.raises(UsageError):
                crypto.parse_recovery_key(chars[:i] + other + chars[i + 1 :])


def test_recovery_key_swapped_neighbours_rejected() -> None:
    """Swapping two adjacent symbols, the other common copying error, is caught too."""
    chars = PINNED_RECOVERY.replace("-", "")
    for i in range(len(chars) - 1):
        swapped = chars[:i] + chars[i + 1] + chars[i] + chars[i + 2 :]
        if swapped != chars:
            with pytest.raises(UsageError):
                crypto.parse_recovery_key(swapped)


@pytest.mark.parametrize("typed", [
    PINNED_RECOVERY.lower(),
    PINNED_RECOVERY.replace("-", " "),
    PINNED_RECOVERY.replace("-", ""),
    " " + PINNED_RECOVERY.replace("-", "\u2013") + "\n",
    PINNED_RECOVERY.replace("0", "O"),
    PINNED_RECOVERY.replace("0", "o").replace("1", "l"),
    PINNED_RECOVERY.replace("1", "I"),
])
def test_recovery_key_forgiving_input(typed: str) -> None:
    """Case, spacing, dashes and Crockford's look-alikes (O/0, I/L/1) are forgiven."""
    assert crypto.parse_recovery_key(typed) == bytes(range(20))


@pytest.mark.parametrize("typed", [
    "", PINNED_RECOVERY[:-1], PINNED_RECOVERY + "0", PINNED_RECOVERY.replace("W", "U"),
    PINNED_RECOVERY.replace("0", "*"), "my passphrase",
])
def test_recovery_key_bad_input_rejected(typed: str) -> None:
    """Wrong length or symbols outside the alphabet give the one clear usage message."""
    with pytest.raises(UsageError, match="not a valid recovery key"):
        crypto.parse_recovery_key(typed)


# --- streams: round trips ------------------------------------------------------------------

@pytest.mark.parametrize("size", [0, 1, SEG - 1, SEG, SEG + 1, 3 * SEG, 3 * SEG + 7])
def test_stream_roundtrip_edges(size: int) -> None:
    """Sizes around segment boundaries, where off-by-one errors in the last flag live."""
    data = bytes(i % 253 for i in range(size))
    blob = encrypt(data)
    n_segments = max(1, -(-size // SEG))
    assert len(blob) == crypto.HEADER_SIZE + n_segments * crypto.TAG_SIZE + size
    assert decrypt(blob) == data
    with crypto.DecryptingReader(KEY, AAD, io.BytesIO(blob)) as reader:
        assert reader.read() == data


@settings(max_examples=40, deadline=None)
@given(seg=st.integers(SEG, 2 * SEG), data=st.binary(max_size=9000),
       chunk=st.integers(1, 5000))
def test_stream_writer_and_reader_agree(seg: int, data: bytes, chunk: int) -> None:
    """Any write pattern through EncryptingWriter gives a stream decrypt_stream reads, and
    the same layout as encrypt_stream (the writer holds back a full segment until more comes)."""
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(KEY, AAD, out, segment_size=seg)
    for i in range(0, len(data), chunk):
        assert writer.write(data[i : i + chunk]) == len(data[i : i + chunk])
    writer.close()
    assert len(out.getvalue()) == len(encrypt(data, seg=seg))
    assert decrypt(out.getvalue()) == data
    reader = crypto.DecryptingReader(KEY, AAD, io.BytesIO(encrypt(data, seg=seg)))
    assert b"".join(iter(lambda: reader.read(chunk), b"")) == data


def test_stream_through_tarfile() -> None:
    """The writer and reader serve as tarfile streams, as the encrypted archive needs."""
    payload = bytes(range(256)) * 5000
    out = io.BytesIO()
    with crypto.EncryptingWriter(KEY, AAD, out) as writer, \
            tarfile.open(fileobj=writer, mode="w|") as tar:
        info = tarfile.TarInfo("doc.pdf")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    assert not out.closed
    with crypto.DecryptingReader(KEY, AAD, io.BytesIO(out.getvalue())) as reader, \
            tarfile.open(fileobj=reader, mode="r|") as tar:
        member = tar.next()
        assert member is not None and member.name == "doc.pdf"
        extracted = tar.extractfile(member)
        assert extracted is not None and extracted.read() == payload


def test_stream_source_without_readinto() -> None:
    """Sources that only have read() (sockets wrappers, custom objects) work too."""

    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self._inner = io.BytesIO(data)

        def read(self, n: int = -1) -> bytes:
            return self._inner.read(min(n, 100))

    data = bytes(range(256)) * 40
    out = io.BytesIO()
    crypto.encrypt_stream(KEY, AAD, ReadOnly(data), out, segment_size=SEG)  # type: ignore[arg-type]
    assert decrypt(out.getvalue()) == data


# --- streams: tampering --------------------------------------------------------------------

THREE = bytes(i % 249 for i in range(3 * SEG + 100))  # four segments, the last one short


def test_stream_truncated_at_segment_boundary() -> None:
    """Dropping the final segment(s) is the attack the last flag exists for."""
    header, segs = segments(encrypt(THREE))
    for keep in range(len(segs)):
        with pytest.raises(DecryptError):
            decrypt(header + b"".join(segs[:keep]))
    exact = encrypt(bytes(3 * SEG))  # the final segment is a full one
    header, segs = segments(exact)
    with pytest.raises(DecryptError):
        decrypt(header + b"".join(segs[:-1]))


def test_stream_truncated_mid_segment() -> None:
    """A file cut anywhere (a crash, a short copy) fails instead of decrypting short."""
    blob = encrypt(THREE)
    for cut in (crypto.HEADER_SIZE + 1, crypto.HEADER_SIZE + SEG, len(blob) - 1, len(blob) - 17):
        with pytest.raises(DecryptError):
            decrypt(blob[:cut])
    with pytest.raises(DecryptError):
        decrypt(blob[: crypto.HEADER_SIZE - 1])


def test_stream_reordered_segments() -> None:
    """Segments are bound to their position by the counter."""
    header, segs = segments(encrypt(THREE))
    with pytest.raises(DecryptError):
        decrypt(header + segs[1] + segs[0] + b"".join(segs[2:]))


def test_stream_segments_swapped_between_blobs() -> None:
    """Two blobs under the same key and context still cannot be spliced (nonce prefix)."""
    header_a, segs_a = segments(encrypt(THREE))
    _, segs_b = segments(encrypt(THREE))
    with pytest.raises(DecryptError):
        decrypt(header_a + segs_a[0] + segs_b[1] + b"".join(segs_a[2:]))


def test_stream_wrong_aad_or_key() -> None:
    """A blob moved to another record, or opened with another key, does not decrypt."""
    blob = encrypt(THREE)
    with pytest.raises(DecryptError):
        decrypt(blob, aad=crypto.context(purpose="blob", record="r2"))
    with pytest.raises(DecryptError):
        decrypt(blob, key=crypto.random_key())


@pytest.mark.parametrize("extra", [b"x", bytes(crypto.TAG_SIZE), bytes(SEG + crypto.TAG_SIZE)])
def test_stream_trailing_garbage(extra: bytes) -> None:
    """Data after the final segment is refused (the final segment then isn't the last)."""
    for data in (b"", b"short", THREE, bytes(2 * SEG)):
        with pytest.raises(DecryptError):
            decrypt(encrypt(data) + extra)


def test_stream_appended_copy_of_final_segment() -> None:
    """Replaying the final segment after itself is refused."""
    header, segs = segments(encrypt(THREE))
    with pytest.raises(DecryptError):
        decrypt(header + b"".join(segs) + segs[-1])


def test_stream_header_bit_flips() -> None:
    """Every header bit is checked or authenticated: magic and nonce prefix give DecryptError,
    an unknown version or an out-of-range segment size give UnsupportedError."""
    blob = encrypt(THREE)
    for i in range(crypto.HEADER_SIZE * 8):
        damaged = bytearray(blob)
        damaged[i // 8] ^= 1 << (i % 8)
        expected = DecryptError if i // 8 < 4 or i // 8 >= 9 else IntegrityError
        with pytest.raises(expected):
            decrypt(bytes(damaged))


@pytest.mark.parametrize(("version", "size"), [(2, SEG), (1, SEG - 1), (1, (16 << 20) + 1)])
def test_stream_header_refused_values(version: int, size: int) -> None:
    """A newer version or a segment size beyond our memory budget is refused up front."""
    header = b"MSS1" + struct.pack(">BI", version, size) + bytes(7)
    with pytest.raises(UnsupportedError):
        crypto.DecryptingReader(KEY, AAD, io.BytesIO(header + bytes(64)))


def test_stream_any_ciphertext_bit_flip() -> None:
    """A sample of bit flips across every segment (body and tag) is detected."""
    blob = encrypt(THREE)
    for pos in range(crypto.HEADER_SIZE, len(blob), 97):
        damaged = bytearray(blob)
        damaged[pos] ^= 0x80
        with pytest.raises(DecryptError):
            decrypt(bytes(damaged))


def test_reader_fails_when_the_damage_is_reached() -> None:
    """The streaming reader raises on truncation rather than reporting a clean end of file."""
    header, segs = segments(encrypt(THREE))
    reader = crypto.DecryptingReader(KEY, AAD, io.BytesIO(header + b"".join(segs[:-1])))
    with pytest.raises(DecryptError):
        reader.read()


# --- streams: the writer's and reader's contracts ------------------------------------------

def test_writer_aborted_by_exception_is_not_finalised() -> None:
    """An exception inside `with EncryptingWriter` must not seal a partial file as complete."""
    out = io.BytesIO()
    with pytest.raises(RuntimeError), crypto.EncryptingWriter(KEY, AAD, out, SEG) as writer:
        writer.write(b"first half")
        raise RuntimeError("source failed")
    assert not out.closed
    with pytest.raises(DecryptError):
        decrypt(out.getvalue())


def test_writer_dropped_without_close_is_not_finalised() -> None:
    """Garbage collection of a forgotten writer leaves a detectably incomplete stream."""
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(KEY, AAD, out, SEG)
    writer.write(b"data")
    del writer
    gc.collect()
    with pytest.raises(DecryptError):
        decrypt(out.getvalue())


def test_writer_close_keeps_dst_open_and_refuses_writes() -> None:
    """close() finalises but leaves dst to its owner; a closed writer refuses more data."""
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(KEY, AAD, out, SEG)
    writer.write(b"abc")
    writer.close()
    writer.close()
    assert not out.closed and decrypt(out.getvalue()) == b"abc"
    with pytest.raises(ValueError):
        writer.write(b"more")


def test_reader_closes_src_only_when_asked() -> None:
    """The blob store hands over its file; other callers keep theirs."""
    blob = encrypt(b"abc")
    src = io.BytesIO(blob)
    crypto.DecryptingReader(KEY, AAD, src).close()
    assert not src.closed
    crypto.DecryptingReader(KEY, AAD, src := io.BytesIO(blob), close_src=True).close()
    assert src.closed


@pytest.mark.parametrize("size", [SEG - 1, (16 << 20) + 1])
def test_encrypt_refuses_segment_size_out_of_range(size: int) -> None:
    """We never write a stream that we would refuse to read."""
    with pytest.raises(ValueError):
        crypto.encrypt_stream(KEY, AAD, io.BytesIO(b""), io.BytesIO(), segment_size=size)
    with pytest.raises(ValueError):
        crypto.EncryptingWriter(KEY, AAD, io.BytesIO(), segment_size=size)


def test_counter_overflow_is_an_error() -> None:
    """Past 2**32 segments the nonce would repeat: refuse instead, on both sides."""
    out = io.BytesIO()
    writer = crypto.EncryptingWriter(KEY, AAD, out, SEG)
    writer._segments._counter = 0xFFFFFFFF
    writer.write(bytes(SEG + 1))  # the segment at the last counter value is fine
    with pytest.raises(UsageError):
        writer.write(bytes(SEG))
    writer.abort()
    opener = crypto._Segments(KEY, AAD, b"MSS1" + bytes(12))
    opener._counter = 0x100000000
    with pytest.raises(DecryptError):
        opener.open(memoryview(bytes(32)), memoryview(bytearray(16)), last=True)


# --- streams: memory -----------------------------------------------------------------------

class GeneratedSource(io.RawIOBase):
    """A readable stream of `size` bytes produced by a generator, never held in memory."""

    def __init__(self, size: int, chunk: int = 64 << 10) -> None:
        super().__init__()
        self._chunks = self._generate(size, chunk)
        self._pending = b""

    @staticmethod
    def _generate(size: int, chunk: int) -> Iterator[bytes]:
        block = bytes(range(256)) * (chunk // 256)
        for start in range(0, size, chunk):
            yield block[: min(chunk, size - start)]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pending:
            self._pending = next(self._chunks, b"")
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class HashingSink(io.RawIOBase):
    """A writable stream that keeps only a running hash and a count."""

    def __init__(self) -> None:
        super().__init__()
        self.sha256 = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.sha256.update(b)
        self.size += len(b)
        return len(b)


def test_stream_memory_is_flat(tmp_path: Path) -> None:
    """A 64 MiB stream encrypts and decrypts within a few segments of memory (1 GB files
    must import and export in flat memory)."""
    size = 64 << 20
    path = tmp_path / "big.enc"
    tracemalloc.start()
    try:
        with path.open("wb") as out:
            crypto.encrypt_stream(KEY, AAD, GeneratedSource(size), out)  # type: ignore[arg-type]
        encrypt_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        sink = HashingSink()
        with path.open("rb") as src:
            assert crypto.decrypt_stream(KEY, AAD, src, sink) == size  # type: ignore[arg-type]
        decrypt_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert encrypt_peak < 8 << 20 and decrypt_peak < 8 << 20
    expected = hashlib.sha256()
    for chunk in GeneratedSource(size)._chunks:
        expected.update(chunk)
    assert sink.size == size and sink.sha256.digest() == expected.digest()
