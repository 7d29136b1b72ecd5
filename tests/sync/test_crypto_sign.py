"""Signatures: Ed25519 and ML-DSA-65 together, over a closed purpose and a canonical context."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from importlib import resources

import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519, mldsa
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.errors import ExitCode, IntegrityError
from msante.sync.crypto import BadSignature, Purpose, SigningKey, VerifyKey, canonical
from msante.sync.signing import PRIVATE_LEN, PUBLIC_LEN, SIGNATURE_LEN, signed_message, word_list

KEY = SigningKey.generate()
OTHER = SigningKey.generate()
CONTEXT = {"server": "srv-1", "account": "acc-9", "challenge": b"\x00\xfe\xff" * 11}


def test_sign_verify_round_trip() -> None:
    """A signature verifies under its own key, purpose and context."""
    sig = KEY.sign(Purpose.LOGIN, CONTEXT)
    assert len(sig) == SIGNATURE_LEN == 3374
    KEY.verify_key().verify(Purpose.LOGIN, CONTEXT, sig)


def test_the_server_login_check_works_from_bytes() -> None:
    """The check SYNC.md gives the server: from_bytes, then verify with purpose login."""
    challenge = b"c" * 32
    ctx = {"server": "s", "account": "a", "challenge": challenge}
    sig = KEY.sign(Purpose.LOGIN, ctx)
    VerifyKey.from_bytes(KEY.verify_key().to_bytes()).verify(Purpose.LOGIN, ctx, sig)


@pytest.mark.parametrize("purpose", [p for p in Purpose if p is not Purpose.LOGIN])
def test_a_signature_is_for_one_purpose_only(purpose: Purpose) -> None:
    """A login signature is worth nothing under any other purpose."""
    sig = KEY.sign(Purpose.LOGIN, CONTEXT)
    with pytest.raises(BadSignature):
        KEY.verify_key().verify(purpose, CONTEXT, sig)


@pytest.mark.parametrize("change", [
    {"server": "srv-2"}, {"account": "acc-8"}, {"challenge": b"\x00" * 33}, {"extra": 1},
])
def test_any_change_of_context_fails(change: dict[str, object]) -> None:
    """A changed, added or re-typed field of the context breaks the signature."""
    sig = KEY.sign(Purpose.LOGIN, CONTEXT)
    with pytest.raises(BadSignature):
        KEY.verify_key().verify(Purpose.LOGIN, {**CONTEXT, **change}, sig)


def test_another_keys_signature_fails() -> None:
    """A signature by one key never verifies under another."""
    sig = OTHER.sign(Purpose.LOGIN, CONTEXT)
    with pytest.raises(BadSignature):
        KEY.verify_key().verify(Purpose.LOGIN, CONTEXT, sig)


def _halves(sig: bytes) -> tuple[bytes, bytes]:
    return sig[1:65], sig[65:]


def test_both_halves_must_verify() -> None:
    """A good Ed25519 half with another key's ML-DSA half, or the reverse, is refused."""
    mine, theirs = KEY.sign(Purpose.ITEM, CONTEXT), OTHER.sign(Purpose.ITEM, CONTEXT)
    (ed_a, ml_a), (ed_b, ml_b) = _halves(mine), _halves(theirs)
    for forged in (b"\x01" + ed_a + ml_b, b"\x01" + ed_b + ml_a):
        with pytest.raises(BadSignature):
            KEY.verify_key().verify(Purpose.ITEM, CONTEXT, forged)


def test_the_signed_bytes_are_the_documented_ones() -> None:
    """Each half is a plain signature over b"msante/v1/sig\\0" + purpose + b"\\0" + JCS."""
    message = b'msante/v1/sig\0item\0{"a":"AP8","n":1}'
    assert signed_message(Purpose.ITEM, {"n": 1, "a": b"\x00\xff"}) == message
    sig = KEY.sign(Purpose.ITEM, {"n": 1, "a": b"\x00\xff"})
    ed_sig, ml_sig = _halves(sig)
    vk = KEY.verify_key().to_bytes()
    ed25519.Ed25519PublicKey.from_public_bytes(vk[1:33]).verify(ed_sig, message)
    mldsa.MLDSA65PublicKey.from_public_bytes(vk[33:]).verify(ml_sig, message)


@pytest.mark.parametrize("position", [0, 1, 40, 64, 65, 2000, SIGNATURE_LEN - 1])
def test_a_flipped_bit_anywhere_fails(position: int) -> None:
    """Version byte, Ed25519 half, ML-DSA half: one flipped bit is a BadSignature."""
    sig = bytearray(KEY.sign(Purpose.ITEM, CONTEXT))
    sig[position] ^= 0x01
    with pytest.raises(BadSignature):
        KEY.verify_key().verify(Purpose.ITEM, CONTEXT, bytes(sig))


@pytest.mark.parametrize("sig", [b"", b"\x01", b"\x01" * SIGNATURE_LEN, "text", None])
def test_malformed_signatures_are_bad_signatures(sig: object) -> None:
    """Wrong length, wrong type: BadSignature, nothing else."""
    with pytest.raises(BadSignature):
        KEY.verify_key().verify(Purpose.ITEM, CONTEXT, sig)  # type: ignore[arg-type]


def test_bad_signature_is_an_integrity_error() -> None:
    """The CLI turns it into a one-line message and exit 6."""
    err = BadSignature()
    assert isinstance(err, IntegrityError) and err.exit_code == ExitCode.INTEGRITY
    assert "signature" in err.message


@pytest.mark.parametrize("purpose", ["admin", "LOGIN", "", "login\0item", 3])
def test_a_purpose_outside_the_closed_list_is_refused(purpose: object) -> None:
    """Neither sign nor verify accepts a purpose that is not in the list."""
    with pytest.raises(ValueError):
        KEY.sign(purpose, CONTEXT)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        KEY.verify_key().verify(purpose, CONTEXT, b"")  # type: ignore[arg-type]


def test_purpose_strings_are_accepted_when_in_the_list() -> None:
    """A purpose read back from JSON ("login") is the same purpose."""
    sig = KEY.sign("login", CONTEXT)  # type: ignore[arg-type]
    KEY.verify_key().verify(Purpose.LOGIN, CONTEXT, sig)


def test_the_purpose_list_is_the_contract() -> None:
    """SYNC.md's closed list, exactly."""
    assert [p.value for p in Purpose] == [
        "login", "account-chain", "space-chain", "item", "chain-head", "key-bundle", "link",
        "checkpoint", "directory", "message", "deposit", "recovery", "scope-keys"]


def test_canonical_is_rfc8785_with_base64url_bytes() -> None:
    """Sorted keys, no spaces, bytes as unpadded base64url, nested values too."""
    obj = {"b": [b"\xfb\xff", {"z": True, "a": None}], "a": "é", "n": -3}
    assert canonical(obj) == '{"a":"é","b":["-_8",{"a":null,"z":true}],"n":-3}'.encode()


def test_canonical_sorts_keys_by_utf16() -> None:
    """RFC 8785 section 3.2.3: keys compare as UTF-16 code units, not code points."""
    assert canonical({"\U0001f600": 1, "\ufb01": 2}) == '{"😀":1,"ﬁ":2}'.encode()


@pytest.mark.parametrize("bad", [
    {1: "x"}, {"x": 2 ** 53}, {"x": float("nan")}, {"x": {1, 2}}, {"x": "\ud800"},
])
def test_canonical_refuses_what_json_cannot_hold(bad: object) -> None:
    """Non-string keys, unsafe integers, NaN, sets, lone surrogates: ValueError."""
    with pytest.raises(ValueError):
        canonical(bad)


def test_canonical_refuses_deep_nesting_with_value_error() -> None:
    """A context nested past the recursion limit is a ValueError, not a RecursionError."""
    deep: object = 1
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(ValueError):
        canonical({"x": deep})


def test_private_bytes_round_trip() -> None:
    """A key read back signs signatures the original key's public half accepts."""
    raw = KEY.private_bytes()
    assert len(raw) == PRIVATE_LEN == 65 and raw[0] == 1
    again = SigningKey.from_private_bytes(raw)
    assert again.verify_key() == KEY.verify_key()
    KEY.verify_key().verify(Purpose.ITEM, CONTEXT, again.sign(Purpose.ITEM, CONTEXT))


def test_verify_key_bytes_round_trip() -> None:
    """to_bytes / from_bytes keep the key; the layout is version, Ed25519, ML-DSA-65."""
    raw = KEY.verify_key().to_bytes()
    assert len(raw) == PUBLIC_LEN == 1985 and raw[0] == 1
    assert VerifyKey.from_bytes(raw) == KEY.verify_key()
    assert hash(VerifyKey.from_bytes(raw)) == hash(KEY.verify_key())


@pytest.mark.parametrize("bad", [
    b"", b"\x01", b"\x02" + bytes(PUBLIC_LEN - 1), b"\x00" + bytes(PUBLIC_LEN - 1),
    bytes(PUBLIC_LEN + 1), "text", None, 42,
])
def test_verify_key_from_bytes_refuses_malformed_input(bad: object) -> None:
    """Wrong length, unknown version, not bytes: ValueError."""
    with pytest.raises(ValueError):
        VerifyKey.from_bytes(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [
    b"", b"\x02" + bytes(PRIVATE_LEN - 1), bytes(PRIVATE_LEN - 1), "x" * PRIVATE_LEN, None,
])
def test_signing_key_from_bytes_refuses_malformed_input(bad: object) -> None:
    """Wrong length, unknown version, not bytes: ValueError."""
    with pytest.raises(ValueError):
        SigningKey.from_private_bytes(bad)  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=2100),
                 st.binary(min_size=PUBLIC_LEN - 1, max_size=PUBLIC_LEN - 1).map(
                     lambda b: b"\x01" + b)))
def test_verify_key_from_bytes_fuzz(data: bytes) -> None:
    """Random input either loads (right length and version) or raises ValueError only."""
    try:
        key = VerifyKey.from_bytes(data)
    except ValueError:
        return
    assert key.to_bytes() == data


@settings(max_examples=150, deadline=None)
@given(st.one_of(st.binary(max_size=100),
                 st.binary(min_size=PRIVATE_LEN - 1, max_size=PRIVATE_LEN - 1).map(
                     lambda b: b"\x01" + b)))
def test_signing_key_from_bytes_fuzz(data: bytes) -> None:
    """Random input either loads or raises ValueError only; a loaded key round-trips."""
    try:
        key = SigningKey.from_private_bytes(data)
    except ValueError:
        return
    assert key.private_bytes() == data


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=4000))
def test_verify_with_random_signatures_is_only_ever_bad_signature(sig: bytes) -> None:
    """Random bytes as a signature: BadSignature, never another exception."""
    with pytest.raises(BadSignature):
        KEY.verify_key().verify(Purpose.ITEM, CONTEXT, sig)


def test_fingerprint_is_six_words_deterministic_and_distinct() -> None:
    """Six words of the list, the same for equal keys, different for different keys."""
    fp = KEY.verify_key().fingerprint()
    words = fp.split(" ")
    assert len(words) == 6 and all(w in word_list() for w in words)
    assert VerifyKey.from_bytes(KEY.verify_key().to_bytes()).fingerprint() == fp
    assert OTHER.verify_key().fingerprint() != fp


def test_fingerprint_is_the_documented_function_of_key_id() -> None:
    """key_id = SHA-256(label | key); words = base-7776 digits of its first 16 bytes, low first."""
    vk = KEY.verify_key()
    key_id = hashlib.sha256(b"msante/v1/verify-key\0" + vk.to_bytes()).digest()
    assert vk.key_id() == key_id
    number, words = int.from_bytes(key_id[:16], "big"), []
    for _ in range(6):
        number, index = divmod(number, 7776)
        words.append(word_list()[index])
    assert vk.fingerprint() == " ".join(words)


def test_the_word_list_is_the_eff_large_list() -> None:
    """The shipped file is the EFF large word list byte for byte (its published SHA-256)."""
    raw = resources.files("msante").joinpath("data/eff_large_wordlist.txt").read_bytes()
    digest = "addd35536511597a02fa0a9ff1e5284677b8883b83e986e43f15a3db996b903e"
    assert hashlib.sha256(raw).hexdigest() == digest
    words = word_list()
    assert len(words) == len(set(words)) == 7776 and words[0] == "abacus"


def test_private_halves_do_not_show_in_repr() -> None:
    """A key printed by mistake in a log shows its fingerprint, not its secret."""
    text = repr(KEY)
    assert KEY.private_bytes().hex()[2:20] not in text and "SigningKey(" in text


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 53) + 1, 2 ** 53 - 1) | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(st.text(), JSON_VALUES, max_size=6))
def test_canonical_ignores_key_order_and_reads_back(context: dict[str, object]) -> None:
    """Insertion order never changes the bytes; they parse back to the same JSON value."""
    reordered = dict(reversed(list(context.items())))
    assert canonical(reordered) == canonical(context)
    assert json.loads(canonical(context)) == _as_json(context)


def _as_json(value: object) -> object:
    """What canonical should have written: bytes as unpadded base64url, lists for tuples."""
    if isinstance(value, bytes):
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    return value


def test_importing_the_sync_crypto_loads_no_ui_server_or_vault() -> None:
    """The server and light clients import msante.sync.crypto: it must stay self-contained."""
    banned = ("typer", "rich", "textual", "fastapi", "uvicorn", "sqlalchemy", "alembic",
              "msante.vault", "msante.cli", "msante.tui")
    code = ("import sys, msante.sync.crypto; "
            f"print(','.join(m for m in {banned!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
