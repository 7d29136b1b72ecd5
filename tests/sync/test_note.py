"""C2SP signed notes (msante/sync/note.py): Go's sumdb/note known answers reproduced byte for
byte, strict parsing (every malformed note or key is a NoteError, never another exception),
unknown signers ignored, a bad signature from a known key refuses the note."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.sync import note as note_module
from msante.sync.note import (
    MAX_SIGNATURES,
    NoteError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNoteError,
    add_signature,
    key_id,
    open_note,
    parse_note,
    sign_note,
)

# golang.org/x/mod/sumdb/note, note_test.go (TestSign, TestOpen, TestVerifierList) at
# https://github.com/golang/mod/blob/fe2ec04f7c3c3aa6fad97631aafcff6e49e2d1db/sumdb/note/note_test.go
PETER_SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
PETER_VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
ENOCH_VKEY = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop"
TEXT = ("If you think cryptography is the answer to your problem,\n"
        "then you don't know what your problem is.\n")
PETER_SIG = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
             "dngotpRZb6KE6RyyBwJnAM=\n")
ENOCH_SIG = ("— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oO"
             "TGwnWLox33WWd1RvMc+QQ=\n")
PETER = NoteVerifier.from_vkey(PETER_VKEY)
ENOCH = NoteVerifier.from_vkey(ENOCH_VKEY)


def test_signing_reproduces_the_go_known_answer_exactly() -> None:
    """Same key, same text: the very bytes Go's note.Sign writes (Ed25519 is deterministic)."""
    signer = NoteSigner.from_skey(PETER_SKEY)
    assert sign_note(TEXT, signer.name, signer.private_key) == TEXT + "\n" + PETER_SIG
    assert signer.verifier().vkey() == PETER_VKEY
    assert signer.skey() == PETER_SKEY


def test_key_ids_are_the_published_ones() -> None:
    """key ID = SHA-256(name || 0x0A || 0x01 || public key)[:4]."""
    assert key_id("PeterNeumann", PETER.raw).hex() == "c74f20a3"
    assert ENOCH.key_id.hex() == "af0cfe78"


def test_opening_checks_known_keys_and_ignores_unknown_ones() -> None:
    """One known signer is enough; an unknown signer is skipped; none known is refused."""
    both = TEXT + "\n" + PETER_SIG + ENOCH_SIG
    assert open_note(both, [PETER]) == TEXT
    assert open_note(both, [ENOCH]) == TEXT
    assert open_note(both.encode(), [PETER, ENOCH]) == TEXT
    assert open_note(both, [PETER_VKEY]) == TEXT
    with pytest.raises(UnverifiedNoteError, match="no signature from a known key"):
        open_note(both, [])
    parsed = parse_note(both)
    assert [s.name for s in parsed.signatures] == ["PeterNeumann", "EnochRoot"]


def test_a_bad_signature_from_a_known_key_refuses_the_note() -> None:
    """signed-note: a known key's bad signature rejects the whole note, even beside a good one."""
    bad = PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(UnverifiedNoteError, match=r"PeterNeumann\+c74f20a3"):
        open_note(TEXT + "\n" + bad, [PETER])
    with pytest.raises(UnverifiedNoteError):
        open_note(TEXT + "\n" + ENOCH_SIG + bad, [PETER, ENOCH])


def test_a_key_matching_by_name_or_id_only_is_unknown() -> None:
    """Only the (name, key ID) pair identifies a key: a name or an ID alone is someone else."""
    renamed = PETER_SIG.replace("PeterNeumann", "PeterNeuman")
    with pytest.raises(UnverifiedNoteError, match="no signature from a known key"):
        open_note(TEXT + "\n" + renamed, [PETER])
    other_id = "— PeterNeumann " + ENOCH_SIG.split(" ")[2]
    with pytest.raises(UnverifiedNoteError, match="no signature from a known key"):
        open_note(TEXT + "\n" + other_id, [PETER])


GO_BAD_MESSAGES = [
    TEXT,
    TEXT + "\n",
    TEXT + "\n" + PETER_SIG[:-1],
    "\x01" + TEXT + "\n" + PETER_SIG,
    TEXT + "\n" + "— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfq"
    "dngotpRZb6KE6RyyBwJnAM=",
    TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
    TEXT + "\n" + PETER_SIG.replace("AM=", "AN="),          # non-canonical base64
    TEXT + "\n" + "— PeterNeumann AAAA\n",                  # too short to hold a key ID and more
    TEXT + "\n" + "—PeterNeumann x08g\n",
    TEXT + "\r\n" + PETER_SIG,
    TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
]


@pytest.mark.parametrize("message", GO_BAD_MESSAGES)
def test_malformed_notes_are_note_errors(message: str) -> None:
    """Go's list of malformed messages (and a few more) fail to parse, with a reason."""
    with pytest.raises(NoteError):
        open_note(message, [PETER])


def test_invalid_utf8_and_surrogates_are_note_errors() -> None:
    """Bytes must be UTF-8; a str with a lone surrogate cannot be, either."""
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"\xff" + (TEXT + "\n" + PETER_SIG).encode(), [PETER])
    with pytest.raises(NoteError, match="UTF-8"):
        open_note("\ud800" + TEXT + "\n" + PETER_SIG, [PETER])


def test_sixteen_signatures_are_accepted_and_duplicates_all_checked() -> None:
    """signed-note: verifiers must accept at least 16 signatures."""
    assert open_note(TEXT + "\n" + PETER_SIG * 8 + ENOCH_SIG * 8, [PETER, ENOCH]) == TEXT


def test_cosigning_adds_a_signature_and_replaces_ones_own() -> None:
    """add_signature appends a witness's line; signing again with the same key replaces it."""
    witness = NoteSigner.generate("witness.example/w1")
    cosigned = add_signature(TEXT + "\n" + PETER_SIG, witness)
    assert cosigned.startswith(TEXT + "\n" + PETER_SIG)
    assert open_note(cosigned, [witness.verifier()]) == TEXT
    assert open_note(cosigned, [PETER, witness.verifier()]) == TEXT
    again = add_signature(cosigned, witness)
    assert len(parse_note(again).signatures) == 2


def test_two_different_keys_with_one_name_and_id_are_refused(monkeypatch: Any) -> None:
    """Ambiguous verifiers are a configuration error, not a coin toss."""
    monkeypatch.setattr(note_module, "key_id", lambda name, key: b"\0\0\0\0")
    twin = NoteVerifier("PeterNeumann", NoteSigner.generate("x").private_key.public_key())
    with pytest.raises(NoteError, match="share the name and ID"):
        open_note(TEXT + "\n" + PETER_SIG, [PETER, twin])


def test_signing_refuses_bad_texts_and_names() -> None:
    """A text must end with a newline and hold no control character; names no space or '+'."""
    key = NoteSigner.generate("a").private_key
    for text, name in [("no newline", "a"), ("tab\there\n", "a"), ("ok\n", "a b"),
                       ("ok\n", "a+b"), ("ok\n", ""), ("ok\n", "a\u00a0b")]:
        with pytest.raises(NoteError):
            sign_note(text, name, key)


def all_manglings(key: str) -> list[str]:
    """Every strict substring of `key`, and `key` with each character incremented (Go's test)."""
    out = {key[i:j] for i in range(len(key) + 1) for j in range(i + 1, len(key) + 1)}
    out |= {key[:i] + chr(ord(key[i]) + 1) + key[i + 1:] for i in range(len(key))}
    out.discard(key)
    return sorted(out)


def test_every_mangled_verifier_key_is_refused() -> None:
    """Go's TestNewVerifier: any cut or changed character makes the key unreadable."""
    for bad in all_manglings(PETER_VKEY):
        with pytest.raises(NoteError):
            NoteVerifier.from_vkey(bad)


def test_every_mangled_signer_key_is_refused() -> None:
    """Go's TestNewSigner, likewise."""
    for bad in all_manglings(PETER_SKEY):
        with pytest.raises(NoteError):
            NoteSigner.from_skey(bad)


def test_keys_of_another_algorithm_or_length_are_refused() -> None:
    """Go's wrong-length and unknown-algorithm keys, with key IDs adjusted to match."""
    with pytest.raises(NoteError):
        NoteVerifier.from_vkey(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==")
    with pytest.raises(NoteError, match="Ed25519"):
        NoteVerifier.from_vkey("PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")


# --------------------------------------------------------------------------------- fuzzing

VALID = TEXT + "\n" + PETER_SIG


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.text(max_size=300), st.binary(max_size=300)))
def test_arbitrary_input_is_a_note_error_or_a_note(data: str | bytes) -> None:
    """Random text and bytes never raise anything but NoteError."""
    try:
        open_note(data, [PETER])
    except NoteError:
        pass


@settings(max_examples=500, deadline=None)
@given(st.integers(0, len(VALID)), st.integers(0, 3), st.text(max_size=3))
def test_any_edit_of_a_signed_note_is_refused(at: int, cut: int, insert: str) -> None:
    """Changing any character of a signed note (text or signature) refuses it with NoteError."""
    edited = VALID[:at] + insert + VALID[at + cut:]
    try:
        body = open_note(edited, [PETER])
    except NoteError:
        return
    assert edited == VALID and body == TEXT


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=120))
def test_arbitrary_keys_are_note_errors(text: str) -> None:
    """Random verifier and signer keys never raise anything but NoteError."""
    for parse in (NoteVerifier.from_vkey, NoteSigner.from_skey):
        try:
            parse(text)
        except NoteError:
            pass
