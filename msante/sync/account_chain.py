"""The account chain: which devices make up an account, each change signed by a device in it.

Kinds and bodies (keys and key ids as unpadded base64url; `bundle` is described below):

    genesis        {"device": bundle}                 signed by that first device itself
    add-device     {"device": bundle}                 signed by a device already in the chain
    remove-device  {"device": key_id}                 signed by a device still in the chain
    key-bundle     {"device": old key_id, "bundle": bundle}   signed by the old key

A bundle is {"name", "verify": VerifyKey bytes, "seal": OpenKey bytes, "proof"}, where
`proof` is the bundle's own key signing (KEY_BUNDLE) {"chain", "name", "verify", "seal"}: a
device key enters a chain only with its holder's consent, and a key-bundle entry is signed by
the previous key *and* by the new one. A removed or replaced key never signs again and never
comes back; the last device cannot be removed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from msante.i18n import _
from msante.sync.chain_entry import (
    ChainEntry,
    b64e,
    check_link,
    exact_fields,
    fail,
    field_of,
    key_field,
)
from msante.sync.crypto import BadSignature, OpenKey, Purpose, SigningKey, VerifyKey
from msante.sync.sealing import PUBLIC_LEN as SEAL_LEN
from msante.sync.signing import PUBLIC_LEN as VERIFY_LEN
from msante.sync.signing import SIGNATURE_LEN

MAX_NAME = 64


@dataclass(frozen=True)
class DeviceKeys:
    """A device's public keys as the chain lists them."""

    verify: VerifyKey
    seal: OpenKey
    name: str
    added_seq: int
    removed_seq: int | None = None

    @property
    def key_id(self) -> bytes:
        """The 32 bytes naming this device's verify key."""
        return self.verify.key_id()


@dataclass(frozen=True)
class AccountState:
    """A verified account chain: its devices now, and the keys it removed or replaced."""

    chain: str
    devices: Mapping[bytes, DeviceKeys]
    removed: Mapping[bytes, DeviceKeys]
    entries: tuple[ChainEntry, ...] = field(repr=False)

    @property
    def account(self) -> str:
        """The account id (the chain id without 'account:')."""
        return self.chain.split(":", 1)[1]

    @property
    def head(self) -> bytes:
        """The hash of the last entry."""
        return self.entries[-1].hash()

    def is_active(self, key_id: bytes) -> bool:
        """Whether this key is one of the account's devices now."""
        return key_id in self.devices

    def knows(self, key_id: bytes) -> bool:
        """Whether this key ever was one of the account's devices."""
        return key_id in self.devices or key_id in self.removed

    def keys_of(self, key_id: bytes) -> DeviceKeys | None:
        """The keys of a device now or formerly in the account, or None."""
        return self.devices.get(key_id) or self.removed.get(key_id)


def device_bundle(chain: str, name: str, key: SigningKey, seal: OpenKey) -> dict[str, object]:
    """A device's public keys for `chain`, with the device key's proof of consent."""
    bundle: dict[str, object] = {"name": name, "verify": b64e(key.verify_key().to_bytes()),
                                 "seal": b64e(seal.to_bytes())}
    proof = key.sign(Purpose.KEY_BUNDLE, {"chain": chain, **bundle})
    return {**bundle, "proof": b64e(proof)}


def _bundle(entry: ChainEntry, name: str) -> DeviceKeys:
    """The DeviceKeys of body[name], its proof checked; ChainError otherwise."""
    raw = field_of(entry, name, Mapping)
    assert isinstance(raw, Mapping)
    exact_fields(entry, {"name", "verify", "seal", "proof"}, raw)
    label = field_of(entry, "name", str, raw)
    assert isinstance(label, str)
    if not 0 < len(label) <= MAX_NAME or not label.isprintable():
        fail("malformed", entry.chain, entry.seq,
             _("a device name is 1 to 64 printable characters"))
    try:
        verify = VerifyKey.from_bytes(key_field(entry, "verify", VERIFY_LEN, raw))
        seal = OpenKey.from_bytes(key_field(entry, "seal", SEAL_LEN, raw))
    except ValueError:
        fail("malformed", entry.chain, entry.seq, _("a device key is not a valid key"))
    proof = key_field(entry, "proof", SIGNATURE_LEN, raw)
    signed = {"chain": entry.chain, "name": label, "verify": raw["verify"], "seal": raw["seal"]}
    try:
        verify.verify(Purpose.KEY_BUNDLE, signed, proof)
    except BadSignature:
        fail("forged-signature", entry.chain, entry.seq)
    return DeviceKeys(verify, seal, label, entry.seq)


class _Builder:
    """The state being verified, entry by entry."""

    def __init__(self, chain: str) -> None:
        self.chain = chain
        self.devices: dict[bytes, DeviceKeys] = {}
        self.removed: dict[bytes, DeviceKeys] = {}
        self.entries: list[ChainEntry] = []

    def signer_of(self, entry: ChainEntry) -> DeviceKeys:
        """The device that signed `entry`, if it may; ChainError otherwise."""
        if entry.signer in self.removed:
            fail("removed-signer", self.chain, entry.seq)
        if entry.signer not in self.devices:
            fail("unknown-signer", self.chain, entry.seq)
        return self.devices[entry.signer]

    def add(self, entry: ChainEntry, device: DeviceKeys) -> None:
        """Add a device key that was never in the chain."""
        if device.key_id in self.devices or device.key_id in self.removed:
            fail("malformed", self.chain, entry.seq, _("this device key was already in the chain"))
        self.devices[device.key_id] = device

    def remove(self, entry: ChainEntry, key_id: bytes) -> None:
        """Remove a device key now in the chain (never the last one)."""
        if key_id not in self.devices:
            fail("malformed", self.chain, entry.seq, _("no such device in the chain"))
        if len(self.devices) == 1:
            fail("malformed", self.chain, entry.seq, _("the last device cannot be removed"))
        self.removed[key_id] = replace(self.devices.pop(key_id), removed_seq=entry.seq)

    def state(self) -> AccountState:
        """The frozen state so far."""
        return AccountState(self.chain, MappingProxyType(dict(self.devices)),
                            MappingProxyType(dict(self.removed)), tuple(self.entries))


def _genesis(b: _Builder, entry: ChainEntry, expect: bytes | None) -> None:
    """The first device, signing its own entry."""
    if entry.kind != "genesis":
        fail("malformed", b.chain, entry.seq, _("the first entry must be a genesis"))
    exact_fields(entry, {"device"})
    device = _bundle(entry, "device")
    if expect is not None and device.key_id != expect:
        fail("unexpected-key", b.chain, entry.seq)
    if entry.signer != device.key_id:
        fail("unknown-signer", b.chain, entry.seq)
    entry.check_signature(device.verify)
    b.add(entry, device)


def _apply(b: _Builder, entry: ChainEntry) -> None:
    """Check and apply a non-genesis entry."""
    if entry.kind == "genesis":
        fail("malformed", b.chain, entry.seq, _("a second genesis"))
    entry.check_signature(b.signer_of(entry).verify)
    if entry.kind == "add-device":
        exact_fields(entry, {"device"})
        b.add(entry, _bundle(entry, "device"))
    elif entry.kind == "remove-device":
        exact_fields(entry, {"device"})
        b.remove(entry, key_field(entry, "device", 32))
    elif entry.kind == "key-bundle":
        _key_bundle(b, entry)
    else:
        fail("malformed", b.chain, entry.seq,
             _("{kind} is not an account chain entry").format(kind=entry.kind))


def _key_bundle(b: _Builder, entry: ChainEntry) -> None:
    """A device's new keys, signed by its old key (the entry) and its new one (the proof)."""
    exact_fields(entry, {"device", "bundle"})
    old = key_field(entry, "device", 32)
    if old != entry.signer:
        fail("not-allowed", b.chain, entry.seq, _("only a device may change its own keys"))
    new = _bundle(entry, "bundle")
    if new.key_id == old:
        b.devices[old] = new
        return
    b.add(entry, new)
    b.remove(entry, old)


class AccountChain:
    """Verify an account chain, and make its entries."""

    @staticmethod
    def verify(entries: Iterable[ChainEntry], *, expect_first_key: VerifyKey | bytes | None
               = None, chain: str | None = None) -> AccountState:
        """The state after `entries`, every rule checked; ChainError naming the first break.

        `expect_first_key` (a key or its key_id) must be the genesis device; `chain`, when
        given, is the only chain id accepted.
        """
        entries = tuple(entries)
        name = chain or (entries[0].chain if entries else "account:?")
        if not entries:
            fail("empty", name, None)
        if not name.startswith("account:"):
            fail("wrong-chain", "account:?", 0, name)
        expect = expect_first_key.key_id() if isinstance(expect_first_key, VerifyKey) \
            else expect_first_key
        b = _Builder(name)
        for entry in entries:
            check_link(b.entries, entry, name)
            if entry.seq == 0:
                _genesis(b, entry, expect)
            else:
                _apply(b, entry)
            b.entries.append(entry)
        return b.state()

    @staticmethod
    def genesis(account: str, key: SigningKey, seal: OpenKey, name: str,
                checkpoint: str | None = None) -> ChainEntry:
        """Entry 0 of a new account: its first device."""
        chain = f"account:{account}"
        body = {"device": device_bundle(chain, name, key, seal)}
        return ChainEntry.create(key, chain, 0, bytes(32), "genesis", body, checkpoint)

    @staticmethod
    def append(state: AccountState, key: SigningKey, kind: str, body: Mapping[str, object],
               checkpoint: str | None = None) -> ChainEntry:
        """The next entry after `state`, signed by `key` (not checked: verify checks)."""
        return ChainEntry.create(key, state.chain, len(state.entries), state.head, kind, body,
                                 checkpoint)

    @staticmethod
    def add_device(state: AccountState, key: SigningKey, bundle: Mapping[str, object],
                   checkpoint: str | None = None) -> ChainEntry:
        """Add the device of `bundle` (made by `device_bundle` on the new device)."""
        return AccountChain.append(state, key, "add-device", {"device": bundle}, checkpoint)

    @staticmethod
    def remove_device(state: AccountState, key: SigningKey, key_id: bytes,
                      checkpoint: str | None = None) -> ChainEntry:
        """Remove the device whose verify key has this key_id."""
        return AccountChain.append(state, key, "remove-device", {"device": b64e(key_id)},
                                   checkpoint)

    @staticmethod
    def key_bundle(state: AccountState, old: SigningKey, new: SigningKey, seal: OpenKey,
                   name: str, checkpoint: str | None = None) -> ChainEntry:
        """Replace `old`'s keys by `new` and `seal`, signed by both."""
        body = {"device": b64e(old.verify_key().key_id()),
                "bundle": device_bundle(state.chain, name, new, seal)}
        return AccountChain.append(state, old, "key-bundle", body, checkpoint)
