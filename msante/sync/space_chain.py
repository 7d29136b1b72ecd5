"""The space chain: who may read and write one person's space, and its current keys.

Kinds and bodies (keys and key ids as unpadded base64url; rotation = "key_version",
"inbox" (OpenKey bytes), "signing" (VerifyKey bytes), all three new):

    genesis        {"owner", "key_version": 1, "inbox", "signing"}   by a device of the owner
    add-member     {"account", "role", "scopes", "expires"}
    remove-member  {"account", "last", rotation...}  ("last": {device: last item}; optional)
    add-writer     {"account", "device"}
    remove-writer  {"device", "last", rotation...}   ("last" may be left out: older entries)
    rotate         {rotation...}

Every entry after the genesis is signed by a writer: a device of an owner or manager that
the chain lists. Roles are owner, manage, read; an owner has every scope and no expiry; a
manager grants only its own scopes, until its own expiry at the latest; only an owner makes
an owner; a manager cannot remove an owner or an owner's device; the last
owner and the owners' last writer device stay. `expires` is a month "YYYY-MM" (the last
month of membership) or null. Writers are devices of owner or manager members and must be in
their account chain; removing a member or a writer rotates the keys (key
version + 1, new inbox and signing keys). A device that its account chain has since removed
may have signed only entries the space chain later follows with that writer's removal.

A `remove-writer`'s "last" is the removed device's last item the remover accepted in this
space — `{"seq", "item"}` (its number and hash) or null for none — so every client refuses
any item of that device past it (`SpaceState.removed_last`); a `remove-member`'s "last" maps
each of the member's writer devices (base64url key id) to the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from msante.i18n import _
from msante.sync.account_chain import AccountState
from msante.sync.chain_entry import (
    ID_RE,
    ChainEntry,
    b64e,
    check_link,
    exact_fields,
    fail,
    field_of,
    key_field,
)
from msante.sync.crypto import OpenKey, SigningKey, VerifyKey
from msante.sync.sealing import PUBLIC_LEN as SEAL_LEN
from msante.sync.signing import PUBLIC_LEN as VERIFY_LEN

ROLES = ("owner", "manage", "read")
SCOPES = ("agenda", "documents", "measurements", "profile")
MONTH_RE = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])")
ROTATION = {"key_version", "inbox", "signing"}

AccountLookup = Callable[[str], "AccountState | None"]


@dataclass(frozen=True)
class Member:
    """A member of the space as the chain lists it."""

    account: str
    role: str
    scopes: frozenset[str]
    expires: str | None
    added_seq: int

    def is_expired(self, month: str) -> bool:
        """Whether the membership has ended by `month` ("YYYY-MM"): it lasts through `expires`."""
        return self.expires is not None and month > self.expires


@dataclass(frozen=True)
class SpaceState:
    """A verified space chain: members, writer devices (key_id → account), current keys."""

    chain: str
    members: Mapping[str, Member]
    writers: Mapping[bytes, str]
    key_version: int
    inbox: OpenKey
    signing: VerifyKey
    removed_writers: Mapping[bytes, int]
    stale_writers: frozenset[bytes]
    entries: tuple[ChainEntry, ...] = field(repr=False)
    removed_last: Mapping[bytes, tuple[int, bytes] | None] = field(
        default_factory=lambda: MappingProxyType({}))
    """Per removed writer whose removal names it: its last item (seq, hash), or None."""

    @property
    def space(self) -> str:
        """The space id (the chain id without 'space:')."""
        return self.chain.split(":", 1)[1]

    @property
    def head(self) -> bytes:
        """The hash of the last entry."""
        return self.entries[-1].hash()

    def may_write(self, key_id: bytes) -> bool:
        """Whether this device may write now (listed, and still in its account chain)."""
        return key_id in self.writers and key_id not in self.stale_writers


@dataclass(frozen=True)
class Rotation:
    """The new keys of a rotation: key version, inbox key, space signing key."""

    key_version: int
    inbox: OpenKey
    signing: VerifyKey

    def body(self) -> dict[str, object]:
        """The rotation's fields of an entry body."""
        return {"key_version": self.key_version, "inbox": b64e(self.inbox.to_bytes()),
                "signing": b64e(self.signing.to_bytes())}


class _Builder:
    """The state being verified, entry by entry."""

    def __init__(self, chain: str, lookup: AccountLookup) -> None:
        self.chain, self.lookup = chain, lookup
        self.members: dict[str, Member] = {}
        self.writers: dict[bytes, str] = {}
        self.removed_writers: dict[bytes, int] = {}
        self.removed_last: dict[bytes, tuple[int, bytes] | None] = {}
        self.retired_signers: dict[bytes, int] = {}
        self.entries: list[ChainEntry] = []
        self.keys = Rotation(0, None, None)  # type: ignore[arg-type]
        self.accounts: dict[str, AccountState | None] = {}

    def account(self, entry: ChainEntry, account: str) -> AccountState:
        """The verified account chain of `account` (asked once); ChainError if none."""
        if account not in self.accounts:
            self.accounts[account] = self.lookup(account) if ID_RE.fullmatch(account) else None
        state = self.accounts[account]
        if state is None or state.chain != f"account:{account}":
            fail("not-allowed", self.chain, entry.seq,
                 _("account {account} is unknown").format(account=account))
        return state

    def state(self) -> SpaceState:
        """The frozen state so far."""
        stale = frozenset(k for k, a in self.writers.items()
                          if not self.account(self.entries[-1], a).is_active(k))
        return SpaceState(self.chain, MappingProxyType(dict(self.members)),
                          MappingProxyType(dict(self.writers)), self.keys.key_version,
                          self.keys.inbox, self.keys.signing,
                          MappingProxyType(dict(self.removed_writers)), stale,
                          tuple(self.entries), MappingProxyType(dict(self.removed_last)))

    def signer_member(self, entry: ChainEntry) -> Member:
        """The member whose writer device signed `entry`; ChainError otherwise."""
        if entry.signer not in self.writers:
            self._not_a_writer(entry)
        account = self.writers[entry.signer]
        devices = self.account(entry, account)
        if not devices.knows(entry.signer):
            fail("unknown-signer", self.chain, entry.seq)
        if not devices.is_active(entry.signer):
            self.retired_signers.setdefault(entry.signer, entry.seq)
        return self.members[account]

    def _not_a_writer(self, entry: ChainEntry) -> None:
        """Fail with the clearest reason for a signer that is not a writer now."""
        if entry.signer in self.removed_writers:
            fail("removed-signer", self.chain, entry.seq)
        for member in self.members.values():
            if self.account(entry, member.account).knows(entry.signer):
                fail("not-allowed", self.chain, entry.seq,
                     _("a device of {account} that is not a writer").format(
                         account=member.account))
        fail("unknown-signer", self.chain, entry.seq)

    def rotate(self, entry: ChainEntry) -> None:
        """Take the entry's new keys: version + 1, new inbox and signing keys."""
        version = field_of(entry, "key_version", int)
        if version != self.keys.key_version + 1:
            fail("no-rotation", self.chain, entry.seq,
                 _("key version {new} after {old}").format(new=version,
                                                           old=self.keys.key_version))
        new = Rotation(self.keys.key_version + 1, *_keys(entry))
        if new.inbox == self.keys.inbox or new.signing == self.keys.signing:
            fail("no-rotation", self.chain, entry.seq, _("the inbox or signing key is unchanged"))
        self.keys = new

    def keep_an_owner_writer(self, entry: ChainEntry) -> None:
        """ChainError unless some owner still has a writer device (else no owner could sign)."""
        if not any(self.members[a].role == "owner" for a in self.writers.values()):
            fail("malformed", self.chain, entry.seq, _("the owners' last writer cannot be removed"))

    def drop_writer(self, entry: ChainEntry, key_id: bytes) -> None:
        """Remove a writer device; by a device still in its account, its past entries stand."""
        del self.writers[key_id]
        self.removed_writers[key_id] = entry.seq
        if entry.signer not in self.retired_signers:
            self.retired_signers.pop(key_id, None)


def _keys(entry: ChainEntry) -> tuple[OpenKey, VerifyKey]:
    """The inbox and space signing keys of an entry; ChainError 'malformed' if bad."""
    try:
        return (OpenKey.from_bytes(key_field(entry, "inbox", SEAL_LEN)),
                VerifyKey.from_bytes(key_field(entry, "signing", VERIFY_LEN)))
    except ValueError:
        fail("malformed", entry.chain, entry.seq, _("the inbox or signing key is not valid"))


def _account_field(entry: ChainEntry, name: str = "account") -> str:
    """An account id field of the body."""
    account = field_of(entry, name, str)
    assert isinstance(account, str)
    if not ID_RE.fullmatch(account):
        fail("malformed", entry.chain, entry.seq,
             _("{name} is not an account id").format(name=name))
    return account


def _genesis(b: _Builder, entry: ChainEntry) -> None:
    """The space's first entry, by a device of its owner, with version 1 keys."""
    if entry.kind != "genesis":
        fail("malformed", b.chain, entry.seq, _("the first entry must be a genesis"))
    exact_fields(entry, {"owner"} | ROTATION)
    owner = _account_field(entry, "owner")
    devices = b.account(entry, owner)
    keys = devices.keys_of(entry.signer)
    if keys is None:
        fail("unknown-signer", b.chain, entry.seq)
    entry.check_signature(keys.verify)
    b.rotate(entry)
    b.members[owner] = Member(owner, "owner", frozenset(SCOPES), None, 0)
    b.writers[entry.signer] = owner
    if not devices.is_active(entry.signer):
        b.retired_signers[entry.signer] = 0


def _verify_key(b: _Builder, entry: ChainEntry) -> VerifyKey:
    """The verify key of the writer that signed `entry` (now or formerly in its account)."""
    keys = b.account(entry, b.writers[entry.signer]).keys_of(entry.signer)
    if keys is None:
        fail("unknown-signer", b.chain, entry.seq)
    return keys.verify


def _add_member(b: _Builder, entry: ChainEntry, signer: Member) -> None:
    """A new member with a role, scopes and an expiry month, within what the signer has."""
    exact_fields(entry, {"account", "role", "scopes", "expires"})
    account = _account_field(entry)
    role, scopes, expires = _membership(entry)
    if not scopes <= signer.scopes or signer.expires is not None and (
            expires is None or expires > signer.expires):
        fail("not-allowed", b.chain, entry.seq,
             _("a manager grants only its own scopes, until its own expiry at the latest"))
    if account in b.members:
        fail("malformed", b.chain, entry.seq,
             _("{account} is already a member").format(account=account))
    if role == "owner" and signer.role != "owner":
        fail("not-allowed", b.chain, entry.seq, _("only an owner makes an owner"))
    b.account(entry, account)
    b.members[account] = Member(account, role, scopes, expires, entry.seq)


def _membership(entry: ChainEntry) -> tuple[str, frozenset[str], str | None]:
    """The role, scopes and expiry of an add-member entry, validated."""
    role = field_of(entry, "role", str)
    if role not in ROLES:
        fail("malformed", entry.chain, entry.seq, _("a role is owner, manage or read"))
    scopes = field_of(entry, "scopes", tuple)
    assert isinstance(scopes, tuple) and isinstance(role, str)
    if not scopes or not all(isinstance(scope, str) for scope in scopes) \
            or list(scopes) != sorted(set(scopes)) or not set(scopes) <= set(SCOPES):
        fail("malformed", entry.chain, entry.seq,
             _("scopes are a sorted list of agenda, documents, measurements, profile"))
    expires = entry.body.get("expires")
    if expires is not None and (not isinstance(expires, str) or not MONTH_RE.fullmatch(expires)):
        fail("malformed", entry.chain, entry.seq, _("an expiry is a month, YYYY-MM"))
    if role == "owner" and (expires is not None or len(scopes) != len(SCOPES)):
        fail("malformed", entry.chain, entry.seq, _("an owner has every scope and no expiry"))
    return role, frozenset(scopes), expires


def _remove_member(b: _Builder, entry: ChainEntry, signer: Member) -> None:
    """A member leaves, with its writer devices; the keys rotate."""
    exact_fields(entry, {"account"} | ROTATION | ({"last"} & set(entry.body)))
    account = _account_field(entry)
    member = b.members.get(account)
    if member is None:
        fail("malformed", b.chain, entry.seq,
             _("{account} is not a member").format(account=account))
    if member.role == "owner" and signer.role != "owner":
        fail("not-allowed", b.chain, entry.seq, _("a manager cannot remove an owner"))
    if member.role == "owner" and sum(m.role == "owner" for m in b.members.values()) == 1:
        fail("malformed", b.chain, entry.seq, _("the last owner cannot be removed"))
    b.rotate(entry)
    gone = [k for k, a in b.writers.items() if a == account]
    if "last" in entry.body:
        b.removed_last.update(_last_items(entry, gone))
    for key_id in gone:
        b.drop_writer(entry, key_id)
    del b.members[account]
    b.keep_an_owner_writer(entry)


def _add_writer(b: _Builder, entry: ChainEntry) -> None:
    """A device of an owner or manager member may now write."""
    exact_fields(entry, {"account", "device"})
    account = _account_field(entry)
    device = key_field(entry, "device", 32)
    member = b.members.get(account)
    if member is None:
        fail("malformed", b.chain, entry.seq,
             _("{account} is not a member").format(account=account))
    if member.role == "read":
        fail("read-only-writer", b.chain, entry.seq,
             _("a device of {account}").format(account=account))
    if device in b.writers:
        fail("malformed", b.chain, entry.seq, _("this device is already a writer"))
    devices = b.account(entry, account)
    if not devices.knows(device):
        fail("not-allowed", b.chain, entry.seq,
             _("the device is not in the account chain of {account}").format(
            account=account))
    b.writers[device] = account


def _remove_writer(b: _Builder, entry: ChainEntry, signer: Member) -> None:
    """A writer device stops writing; the keys rotate."""
    exact_fields(entry, {"device"} | ROTATION | ({"last"} & set(entry.body)))
    device = key_field(entry, "device", 32)
    if device not in b.writers:
        fail("malformed", b.chain, entry.seq, _("this device is not a writer"))
    if "last" in entry.body:
        b.removed_last[device] = _last_item(entry, entry.body["last"])
    if b.members[b.writers[device]].role == "owner" and signer.role != "owner":
        fail("not-allowed", b.chain, entry.seq, _("a manager cannot remove an owner's device"))
    b.rotate(entry)
    b.drop_writer(entry, device)
    b.keep_an_owner_writer(entry)


def _last_items(entry: ChainEntry, gone: list[bytes]) -> dict[bytes, tuple[int, bytes] | None]:
    """A remove-member's "last": per writer device of the member (base64url key id), its
    last item, as a remove-writer's; exactly the member's writers."""
    last = entry.body["last"]
    if not isinstance(last, Mapping) or set(last) != {b64e(k) for k in gone}:
        fail("malformed", entry.chain, entry.seq,
             _("last names each writer device of the member"))
    return {k: _last_item(entry, last[b64e(k)]) for k in gone}


def _last_item(entry: ChainEntry, last: object) -> tuple[int, bytes] | None:
    """A removed device's last item (seq, hash) as an entry names it, or None for none."""
    if last is None:
        return None
    seq = last.get("seq") if isinstance(last, Mapping) else None
    if not isinstance(last, Mapping) or set(last) != {"seq", "item"} \
            or not isinstance(seq, int) or isinstance(seq, bool) or seq < 0:
        fail("malformed", entry.chain, entry.seq,
             _("last is null or an item's seq and hash"))
    return seq, key_field(entry, "item", 32, body=last)


def _apply(b: _Builder, entry: ChainEntry) -> None:
    """Check and apply an entry after the genesis."""
    signer = b.signer_member(entry)
    entry.check_signature(_verify_key(b, entry))
    if entry.kind == "add-member":
        _add_member(b, entry, signer)
    elif entry.kind == "remove-member":
        _remove_member(b, entry, signer)
    elif entry.kind == "add-writer":
        _add_writer(b, entry)
    elif entry.kind == "remove-writer":
        _remove_writer(b, entry, signer)
    elif entry.kind == "rotate":
        exact_fields(entry, ROTATION)
        b.rotate(entry)
    else:
        fail("malformed", b.chain, entry.seq,
             _("{kind} is not a space chain entry").format(kind=entry.kind))


class SpaceChain:
    """Verify a space chain against its members' account chains, and make its entries."""

    @staticmethod
    def verify(entries: Iterable[ChainEntry], account_devices_lookup: AccountLookup, *,
               chain: str | None = None) -> SpaceState:
        """The state after `entries`, every rule checked; ChainError naming the first break.

        `account_devices_lookup(account)` gives that account's verified AccountState (or None).
        """
        entries = tuple(entries)
        name = chain or (entries[0].chain if entries else "space:?")
        if not entries:
            fail("empty", name, None)
        if not name.startswith("space:"):
            fail("wrong-chain", "space:?", 0, name)
        b = _Builder(name, account_devices_lookup)
        for entry in entries:
            check_link(b.entries, entry, name)
            if entry.seq == 0:
                _genesis(b, entry)
            else:
                _apply(b, entry)
            b.entries.append(entry)
        if b.retired_signers:
            fail("removed-signer", name, min(b.retired_signers.values()))
        return b.state()

    @staticmethod
    def genesis(space: str, owner: str, key: SigningKey, keys: Rotation,
                checkpoint: str | None = None) -> ChainEntry:
        """Entry 0 of a new space, signed by a device of its owner; `keys` has version 1."""
        body = {"owner": owner, **keys.body()}
        return ChainEntry.create(key, f"space:{space}", 0, bytes(32), "genesis", body,
                                 checkpoint)

    @staticmethod
    def append(state: SpaceState, key: SigningKey, kind: str, body: Mapping[str, object],
               checkpoint: str | None = None) -> ChainEntry:
        """The next entry after `state`, signed by `key` (not checked: verify checks)."""
        return ChainEntry.create(key, state.chain, len(state.entries), state.head, kind, body,
                                 checkpoint)
