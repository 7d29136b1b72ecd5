"""C2SP signed notes (c2sp.org/signed-note) with Ed25519 signatures, byte for byte as Go's
golang.org/x/mod/sumdb/note writes them.

    text (ends with a newline)
    <blank line>
    — <key name> base64(key ID (4 bytes) || Ed25519 signature of the text)

The key ID is SHA-256(key name || 0x0A || 0x01 || 32-byte public key)[:4]. A verifier key is
written "<name>+<key ID in 8 hex digits>+base64(0x01 || public key)" and a signer key
"PRIVATE+KEY+<name>+<key ID>+base64(0x01 || seed)". Opening a note ignores signatures from
unknown keys, checks every signature from a known key (one bad signature refuses the note) and
needs at least one. Every malformed note, key or signature is a `NoteError` (a ValueError).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

ALG_ED25519 = 0x01
SIG_PREFIX = "\u2014 "  # em dash, space
MAX_SIGNATURES = 100  # signed-note: verifiers must accept at least 16
MAX_NOTE_BYTES = 1 << 20


class NoteError(ValueError):
    """A malformed note, key or signature line."""


class UnverifiedNoteError(NoteError):
    """A note with no valid signature from a known key, or a bad one from a known key."""


def check_name(name: object) -> str:
    """`name` if it is a valid key name: non-empty, no Unicode space, no '+'."""
    if not isinstance(name, str) or not name:
        raise NoteError("a key name must be a non-empty string")
    if any(c.isspace() or c == "+" or ord(c) < 0x20 for c in name):
        raise NoteError(f"key name {name!r} contains a space, a '+' or a control character")
    _utf8(name)
    return name


def _utf8(text: str) -> bytes:
    """`text` as UTF-8; NoteError for lone surrogates."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise NoteError("the text is not valid UTF-8") from None


def b64decode(value: str, what: str) -> bytes:
    """Strict standard base64 (padded, canonical); NoteError otherwise."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise NoteError(f"{what} is not canonical base64")
    return raw


def b64encode(raw: bytes) -> str:
    """Standard padded base64."""
    return base64.b64encode(raw).decode("ascii")


def key_id(name: str, public_key: bytes) -> bytes:
    """The 4-byte key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || key)[:4]."""
    material = _utf8(name) + b"\n" + bytes([ALG_ED25519]) + public_key
    return hashlib.sha256(material).digest()[:4]


def _raw_public(key: Ed25519PublicKey) -> bytes:
    """The 32 raw bytes of an Ed25519 public key."""
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def _split_key(text: str, parts: int, what: str) -> list[str]:
    """`text` split on '+' into exactly `parts` fields."""
    if not isinstance(text, str):
        raise NoteError(f"a {what} must be a string")
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise NoteError(f"a {what} has {parts} fields separated by '+'")
    return fields


def _parse_key_fields(fields: list[str], what: str) -> tuple[str, bytes, bytes]:
    """(name, key ID, 32 key bytes) from the last three fields of a vkey or skey."""
    name, hex_id, b64 = fields[-3:]
    check_name(name)
    if len(hex_id) != 8 or any(c not in "0123456789abcdefABCDEF" for c in hex_id):
        raise NoteError(f"the key ID of a {what} is 8 hexadecimal digits")
    raw = b64decode(b64, f"the key data of the {what}")
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise NoteError(f"a {what} must hold an Ed25519 key (type 0x01, 32 bytes)")
    return name, bytes.fromhex(hex_id), raw[1:]


@dataclass(frozen=True, eq=False)
class NoteVerifier:
    """A known Ed25519 note key: its name and public key."""

    name: str
    public_key: Ed25519PublicKey

    def __post_init__(self) -> None:
        check_name(self.name)

    @property
    def raw(self) -> bytes:
        """The 32 raw public key bytes."""
        return _raw_public(self.public_key)

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return key_id(self.name, self.raw)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse "<name>+<key ID>+<base64 key>"; the key ID must match the key."""
        name, kid, raw = _parse_key_fields(_split_key(vkey, 3, "verifier key"), "verifier key")
        if key_id(name, raw) != kid:
            raise NoteError("the key ID of the verifier key does not match its key")
        try:
            public = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            raise NoteError("the verifier key is not an Ed25519 public key") from None
        return cls(name, public)

    def vkey(self) -> str:
        """The key as "<name>+<key ID>+<base64 key>"."""
        return f"{self.name}+{self.key_id.hex()}+{b64encode(bytes([ALG_ED25519]) + self.raw)}"

    def verify(self, text: bytes, signature: bytes) -> bool:
        """True when `signature` is this key's Ed25519 signature of `text`."""
        try:
            self.public_key.verify(signature, text)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True, eq=False)
class NoteSigner:
    """An Ed25519 note key with its private half."""

    name: str
    private_key: Ed25519PrivateKey

    def __post_init__(self) -> None:
        check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> NoteSigner:
        """A fresh key named `name`."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse "PRIVATE+KEY+<name>+<key ID>+<base64 seed>"; the key ID must match."""
        fields = _split_key(skey, 5, "signer key")
        if fields[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a signer key starts with PRIVATE+KEY+")
        name, kid, seed = _parse_key_fields(fields, "signer key")
        signer = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        if signer.verifier().key_id != kid:
            raise NoteError("the key ID of the signer key does not match its key")
        return signer

    def skey(self) -> str:
        """The private key as "PRIVATE+KEY+<name>+<key ID>+<base64 seed>" (keep it secret)."""
        seed = self.private_key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
        kid = self.verifier().key_id.hex()
        return f"PRIVATE+KEY+{self.name}+{kid}+{b64encode(bytes([ALG_ED25519]) + seed)}"

    def verifier(self) -> NoteVerifier:
        """The public half."""
        return NoteVerifier(self.name, self.private_key.public_key())

    def signature_line(self, text: bytes) -> str:
        """"— <name> base64(key ID || signature)" for `text` (without the newline)."""
        sig = self.private_key.sign(text)
        return f"{SIG_PREFIX}{self.name} {b64encode(self.verifier().key_id + sig)}"


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note, decoded but not verified."""

    name: str
    key_id: bytes
    signature: bytes

    def line(self) -> str:
        """The signature line as written in the note (without the newline)."""
        return f"{SIG_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}"


@dataclass(frozen=True)
class Note:
    """A parsed note: its text (ending with a newline) and its signatures, unverified."""

    text: str
    signatures: tuple[NoteSignature, ...]


def _check_characters(text: str) -> None:
    """Refuse control characters other than newline, lone surrogates and oversized notes."""
    if len(_utf8(text)) > MAX_NOTE_BYTES:
        raise NoteError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
    bad = next((c for c in text if ord(c) < 0x20 and c != "\n"), None)
    if bad is not None:
        raise NoteError(f"the note contains the control character U+{ord(bad):04X}")


def _decode_text(note: str | bytes) -> str:
    """The note as text; NoteError for anything but valid UTF-8."""
    if isinstance(note, bytes):
        if len(note) > MAX_NOTE_BYTES:
            raise NoteError(f"the note is larger than {MAX_NOTE_BYTES} bytes")
        try:
            return note.decode("utf-8")
        except UnicodeDecodeError:
            raise NoteError("the note is not valid UTF-8") from None
    if not isinstance(note, str):
        raise NoteError("a note is text")
    return note


def parse_signature_line(line: str) -> NoteSignature:
    """Decode "— <name> <base64>" (the signature is not verified)."""
    if not line.startswith(SIG_PREFIX):
        raise NoteError("a signature line starts with an em dash and a space")
    name, sep, b64 = line[len(SIG_PREFIX):].partition(" ")
    if not sep:
        raise NoteError("a signature line is '— <key name> <base64 signature>'")
    check_name(name)
    raw = b64decode(b64, f"the signature of {name}")
    if len(raw) < 5:
        raise NoteError(f"the signature of {name} is too short")
    return NoteSignature(name, raw[:4], raw[4:])


def parse_note(note: str | bytes) -> Note:
    """Split a signed note into its text and signature lines (nothing is verified)."""
    text = _decode_text(note)
    _check_characters(text)
    split = text.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line before its signatures")
    body, sigs = text[: split + 1], text[split + 2:]
    if not sigs.endswith("\n"):
        raise NoteError("the note does not end with a signature line and a newline")
    lines = sigs[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    return Note(body, tuple(parse_signature_line(line) for line in lines))


KeyMap = dict[tuple[str, bytes], NoteVerifier]


def _verifier_map(verifiers: Iterable[NoteVerifier | str]) -> KeyMap:
    """Known keys by (name, key ID); two different keys sharing both are refused."""
    known: KeyMap = {}
    for item in verifiers:
        v = NoteVerifier.from_vkey(item) if isinstance(item, str) else item
        if not isinstance(v, NoteVerifier):
            raise NoteError("verifiers are NoteVerifier objects or verifier keys")
        other = known.setdefault((v.name, v.key_id), v)
        if other.raw != v.raw:
            raise NoteError(f"two verifier keys share the name and ID {v.name}+{v.key_id.hex()}")
    return known


def open_note(note: str | bytes, verifiers: Iterable[NoteVerifier | str]) -> str:
    """The text of a note signed by at least one known key; every known key's signature valid.

    `verifiers` are `NoteVerifier`s or verifier keys ("<name>+<key ID>+<base64 key>").

    Signatures from unknown keys are ignored (a rotated log key, a witness we do not know).
    """
    parsed = parse_note(note)
    known = _verifier_map(verifiers)
    data = _utf8(parsed.text)
    verified = 0
    for sig in parsed.signatures:
        v = known.get((sig.name, sig.key_id))
        if v is None:
            continue
        if not v.verify(data, sig.signature):
            raise UnverifiedNoteError(f"invalid signature for key {sig.name}+{sig.key_id.hex()}")
        verified += 1
    if not verified:
        raise UnverifiedNoteError("the note has no signature from a known key")
    return parsed.text


def _check_text(text: object) -> str:
    """A note text as signing needs it: a string ending with a newline, no control character."""
    if not isinstance(text, str) or not text.endswith("\n"):
        raise NoteError("a note text ends with a newline")
    _check_characters(text)
    return text


def sign_note(body: str, name: str, key: Ed25519PrivateKey) -> str:
    """The signed note of `body` (its text, ending with a newline) with one Ed25519 key."""
    text = _check_text(body)
    return text + "\n" + NoteSigner(name, key).signature_line(_utf8(text)) + "\n"


def add_signature(note: str | bytes, signer: NoteSigner) -> str:
    """A signed note with `signer`'s signature added (cosigning); nothing is verified.

    An earlier signature by the same name and key ID is replaced.
    """
    parsed = parse_note(note)
    mine = (signer.name, signer.verifier().key_id)
    lines = [s.line() for s in parsed.signatures if (s.name, s.key_id) != mine]
    lines.append(signer.signature_line(_utf8(parsed.text)))
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has more than {MAX_SIGNATURES} signatures")
    return parsed.text + "\n" + "".join(line + "\n" for line in lines)
