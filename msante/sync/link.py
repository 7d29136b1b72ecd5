"""Linking a new device to an account: the protocol's pure core (no I/O, no server, no vault).

    from msante.sync.link import LinkCode, LinkOffer, LinkJoin

The existing device makes a `LinkCode` and shows it (words, or a QR of `qr_text()`); HKDF
turns the code into a **rendezvous id** (all the server sees) and a **link key**. The new
device (`LinkJoin`) seals its public key bundle — `device_bundle` of the account chain, with
its own proof of consent — under the link key (AES-256-GCM, associated data naming the
purpose, the rendezvous id and the account) and posts it at the rendezvous. The existing
device (`LinkOffer`) opens it once, within ten minutes, checks the proof, shows the new
device's fingerprint for the person to confirm, writes the account chain's `add-device`
entry, and answers with the account chain signed by itself and sealed to the new device's
HPKE key (sign-then-seal, purpose LINK), inside an envelope under the link key that names
its own verify key. No private key ever travels. docs/architecture.md, "Linking a device
(issue 12)", gives every byte; docs/security.md says what the code protects against.
"""

from __future__ import annotations

import hmac
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import NoReturn

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from msante.errors import IntegrityError, UsageError
from msante.i18n import _
from msante.sync.account_chain import MAX_NAME, AccountChain, AccountState, device_bundle
from msante.sync.chain_entry import ID_RE, ChainEntry, b64d, b64e
from msante.sync.crypto import (
    BadSeal,
    BadSignature,
    OpenKey,
    Purpose,
    SealKey,
    SigningKey,
    VerifyKey,
    canonical,
    open_signed,
    pad,
    sign_then_seal,
    unpad,
)
from msante.sync.link_code import VALID_FOR, BadLinkCode, LinkCode
from msante.sync.sealing import PUBLIC_LEN as SEAL_LEN
from msante.sync.signing import PUBLIC_LEN as VERIFY_LEN
from msante.sync.signing import SIGNATURE_LEN
from msante.sync.versioned import VERSION

__all__ = [
    "VALID_FOR",
    "BadLinkCode",
    "Candidate",
    "LinkCode",
    "LinkError",
    "LinkExpired",
    "LinkJoin",
    "LinkOffer",
    "Linked",
    "link_key",
    "rendezvous_id",
]

HKDF_SALT = b"msante/v1/link"
BUNDLE, REPLY = "link-bundle", "link-reply"
NONCE_LEN, TAG_LEN = 12, 16
MAX_REQUEST = 64 * 1024
MAX_REPLY = 16 * 1024 * 1024
BUNDLE_FIELDS = frozenset({"name", "verify", "seal", "proof"})


class LinkError(IntegrityError):
    """A link message refused (exit 6); `reason` is a stable code."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class LinkExpired(UsageError):
    """A link code past its ten minutes (exit 2): show a new one."""

    def __init__(self) -> None:
        super().__init__(_("This link code has expired (a code is valid 10 minutes): run "
                           "the link again for a new code."))


def _refuse(reason: str) -> NoReturn:
    """Raise the LinkError for `reason`, with its message."""
    messages = {
        "does-not-open": _("The link message does not open with this code: it was made "
                           "with another code or for another account, or altered."),
        "malformed": _("The link message is malformed."),
        "forged": _("The new device's keys are not signed by that device: refused."),
        "used": _("This link code was already used: a code links one device only."),
        "known-device": _("This device key is already, or was once, in the account."),
        "wrong-account": _("The answer is for another account than the one being joined."),
        "not-listed": _("The account chain received does not list this device as added "
                        "by the device that answered."),
    }
    raise LinkError(reason, messages[reason])


def _derive(code: LinkCode, what: bytes) -> bytes:
    """32 bytes of HKDF-SHA256 from the code's secret, for one use."""
    return HKDF(hashes.SHA256(), 32, HKDF_SALT, b"msante/v1/link\0" + what).derive(code.secret)


def rendezvous_id(code: LinkCode) -> str:
    """Where the two devices meet on the server: base64url of 32 HKDF bytes, not the key."""
    return b64e(_derive(code, b"rendezvous"))


def link_key(code: LinkCode) -> bytes:
    """The AES-256-GCM key both devices derive from the code."""
    return _derive(code, b"key")


def _account(account: str) -> str:
    """`account` if it is a valid account id; ValueError otherwise."""
    if not isinstance(account, str) or not ID_RE.fullmatch(account):
        raise ValueError("an account id is 1 to 64 of A-Z a-z 0-9 _ -")
    return account


def _name(name: str) -> str:
    """`name` if it is a valid device name (1 to 64 printable characters); ValueError."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME or not name.isprintable():
        raise ValueError("a device name is 1 to 64 printable characters")
    return name


def _aad(label: str, code: LinkCode, account: str) -> bytes:
    """Associated data: the message's purpose, then the rendezvous id and the account."""
    return (b"msante/v1/" + label.encode("ascii") + b"\0"
            + canonical({"account": account, "rendezvous": rendezvous_id(code)}))


def _seal(code: LinkCode, label: str, account: str, obj: Mapping[str, object]) -> bytes:
    """0x01 | nonce (12) | AES-256-GCM of pad(canonical(obj)) under the link key."""
    nonce = secrets.token_bytes(NONCE_LEN)
    body = AESGCM(link_key(code)).encrypt(nonce, pad(canonical(obj)),
                                          _aad(label, code, account))
    return bytes([VERSION]) + nonce + body


def _no_duplicates(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object, refusing a key given twice."""
    out = dict(pairs)
    if len(out) != len(pairs):
        raise ValueError("duplicate key")
    return out


def _canonical_object(data: bytes, fields: frozenset[str]) -> dict[str, object]:
    """The JSON object in `data` if it is canonical with exactly `fields`; LinkError."""
    try:
        obj = json.loads(data, object_pairs_hook=_no_duplicates)
        if not isinstance(obj, dict) or set(obj) != fields or canonical(obj) != data:
            _refuse("malformed")
    except (ValueError, RecursionError):
        _refuse("malformed")
    return obj


def _open(code: LinkCode, label: str, account: str, sealed: object, limit: int,
          fields: frozenset[str]) -> dict[str, object]:
    """The object `_seal` sealed under this code, label and account; LinkError otherwise."""
    if not isinstance(sealed, bytes) or not 1 + NONCE_LEN + TAG_LEN <= len(sealed) <= limit \
            or sealed[0] != VERSION:
        _refuse("does-not-open")
    nonce, body = sealed[1:1 + NONCE_LEN], sealed[1 + NONCE_LEN:]
    try:
        plain = AESGCM(link_key(code)).decrypt(nonce, body, _aad(label, code, account))
    except InvalidTag:
        _refuse("does-not-open")
    try:
        return _canonical_object(unpad(plain), fields)
    except ValueError:
        _refuse("malformed")


def _text(obj: Mapping[str, object], name: str) -> str:
    """obj[name] if it is a string; LinkError 'malformed' otherwise."""
    value = obj[name]
    if not isinstance(value, str):
        _refuse("malformed")
    return value


def _key_bytes(obj: Mapping[str, object], name: str, length: int) -> bytes:
    """obj[name] as base64url bytes of `length`; LinkError 'malformed' otherwise."""
    try:
        return b64d(obj[name], name, length)
    except ValueError:
        _refuse("malformed")


@dataclass(frozen=True)
class Candidate:
    """A new device's keys as its bundle gives them, proof checked: confirm its fingerprint."""

    name: str
    verify: VerifyKey
    seal: OpenKey
    bundle: Mapping[str, object] = field(repr=False)

    @property
    def key_id(self) -> bytes:
        """The key_id of the new device's verify key."""
        return self.verify.key_id()

    def fingerprint(self) -> str:
        """Six words to compare with what the new device shows."""
        return self.verify.fingerprint()


def _candidate(bundle: object, chain: str) -> Candidate:
    """The keys of a bundle for `chain`, its proof checked; LinkError otherwise."""
    if not isinstance(bundle, dict) or set(bundle) != BUNDLE_FIELDS:
        _refuse("malformed")
    name = _text(bundle, "name")
    if not 0 < len(name) <= MAX_NAME or not name.isprintable():
        _refuse("malformed")
    try:
        verify = VerifyKey.from_bytes(_key_bytes(bundle, "verify", VERIFY_LEN))
        seal = OpenKey.from_bytes(_key_bytes(bundle, "seal", SEAL_LEN))
    except ValueError:
        _refuse("malformed")
    proof = _key_bytes(bundle, "proof", SIGNATURE_LEN)
    signed = {"chain": chain, "name": name, "verify": bundle["verify"], "seal": bundle["seal"]}
    try:
        verify.verify(Purpose.KEY_BUNDLE, signed, proof)
    except BadSignature:
        _refuse("forged")
    return Candidate(name, verify, seal, MappingProxyType(dict(bundle)))


def _check_time(code: LinkCode, now: datetime | None) -> None:
    """LinkExpired if `code` is past its ten minutes."""
    if code.expired(now):
        raise LinkExpired()


class LinkOffer:
    """The existing device's side: one code, one account, opened at most once."""

    def __init__(self, code: LinkCode, state: AccountState, key: SigningKey) -> None:
        if not state.is_active(key.verify_key().key_id()):
            raise ValueError("the offering device must be in the account chain")
        self.code, self.state, self.key = code, state, key
        self._opened: Candidate | None = None

    @property
    def rendezvous(self) -> str:
        """The rendezvous id to give the server."""
        return rendezvous_id(self.code)

    def open(self, message: bytes, now: datetime | None = None) -> Candidate:
        """The new device's keys, checked; the code is spent once this succeeds."""
        if self._opened is not None:
            _refuse("used")
        _check_time(self.code, now)
        obj = _open(self.code, BUNDLE, self.state.account, message, MAX_REQUEST,
                    frozenset({"bundle"}))
        candidate = _candidate(obj["bundle"], self.state.chain)
        if self.state.knows(candidate.key_id):
            _refuse("known-device")
        self._opened = candidate
        return candidate

    def add_device(self, candidate: Candidate, checkpoint: str | None = None) -> ChainEntry:
        """The add-device entry for the opened candidate, signed by this device."""
        self._check_candidate(candidate)
        return AccountChain.add_device(self.state, self.key, candidate.bundle, checkpoint)

    def reply(self, candidate: Candidate, state: AccountState) -> bytes:
        """The answer: `state`'s chain (which must list the new device), sealed to it."""
        self._check_candidate(candidate)
        me = self.key.verify_key().key_id()
        if state.chain != self.state.chain or not state.is_active(candidate.key_id) \
                or not state.is_active(me):
            raise ValueError("the chain to send must list both devices")
        body = canonical({"account": state.account,
                          "entries": [e.to_json().decode("utf-8") for e in state.entries]})
        context = _reply_context(self.code, state.account, candidate.key_id)
        inner = sign_then_seal(self.key, candidate.seal, Purpose.LINK, context, body)
        return _seal(self.code, REPLY, state.account,
                     {"sender": b64e(self.key.verify_key().to_bytes()), "sealed": b64e(inner)})

    def _check_candidate(self, candidate: Candidate) -> None:
        """ValueError unless `candidate` is the one this offer opened."""
        if self._opened is None or candidate is not self._opened:
            raise ValueError("this candidate was not opened by this link offer")


def _reply_context(code: LinkCode, account: str, device: bytes) -> dict[str, object]:
    """The sign-then-seal context of an answer: account, rendezvous, the new device."""
    return {"account": account, "rendezvous": rendezvous_id(code), "device": device}


@dataclass(frozen=True)
class Linked:
    """The new device's result: the verified account chain and who linked it."""

    state: AccountState
    linked_by: VerifyKey


class LinkJoin:
    """The new device's side: its own keys, the code typed in, the account to join."""

    def __init__(self, code: LinkCode, account: str, name: str, key: SigningKey,
                 seal: SealKey) -> None:
        self.code, self.account, self.name = code, _account(account), _name(name)
        self.key, self.seal = key, seal

    @property
    def rendezvous(self) -> str:
        """The rendezvous id to give the server."""
        return rendezvous_id(self.code)

    @property
    def chain(self) -> str:
        """The account chain's id."""
        return f"account:{self.account}"

    def fingerprint(self) -> str:
        """This device's six words, to show while the other device asks to confirm them."""
        return self.key.verify_key().fingerprint()

    def request(self) -> bytes:
        """This device's public key bundle, sealed under the code for the account."""
        bundle = device_bundle(self.chain, self.name, self.key, self.seal.public_key())
        return _seal(self.code, BUNDLE, self.account, {"bundle": bundle})

    def finish(self, message: bytes, now: datetime | None = None) -> Linked:
        """The account chain from the answer, verified and listing this device; LinkError."""
        _check_time(self.code, now)
        obj = _open(self.code, REPLY, self.account, message, MAX_REPLY,
                    frozenset({"sender", "sealed"}))
        try:
            sender = VerifyKey.from_bytes(_key_bytes(obj, "sender", VERIFY_LEN))
            sealed = b64d(obj["sealed"], "sealed")
        except ValueError:
            _refuse("malformed")
        context = _reply_context(self.code, self.account, self.key.verify_key().key_id())
        try:
            body = open_signed(self.seal, sender, Purpose.LINK, context, sealed)
        except (BadSeal, BadSignature):
            _refuse("does-not-open")
        entries = self._entries(_canonical_object(body, frozenset({"account", "entries"})))
        state = AccountChain.verify(entries, chain=self.chain)
        self._check_listed(state, sender)
        return Linked(state, sender)

    def _entries(self, obj: Mapping[str, object]) -> list[ChainEntry]:
        """The chain entries of an answer for this account; LinkError otherwise."""
        if obj["account"] != self.account:
            _refuse("wrong-account")
        raw = obj["entries"]
        if not isinstance(raw, list) or not raw or not all(isinstance(e, str) for e in raw):
            _refuse("malformed")
        try:
            return [ChainEntry.from_json(e) for e in raw]
        except ValueError:
            _refuse("malformed")

    def _check_listed(self, state: AccountState, sender: VerifyKey) -> None:
        """LinkError unless the chain lists this device's keys, added by the sender."""
        me = state.devices.get(self.key.verify_key().key_id())
        if me is None or me.seal != self.seal.public_key() or me.name != self.name \
                or not state.is_active(sender.key_id()):
            _refuse("not-listed")
        entry = state.entries[me.added_seq]
        if entry.kind != "add-device" or not hmac.compare_digest(entry.signer,
                                                                 sender.key_id()):
            _refuse("not-listed")

