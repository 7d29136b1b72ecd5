"""Shared material for the chain tests: keys made once, accounts and spaces built honestly."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from msante.sync.chains import (
    AccountChain,
    AccountState,
    ChainEntry,
    Rotation,
    SpaceChain,
    SpaceState,
    b64e,
    device_bundle,
)
from msante.sync.crypto import SealKey, SigningKey

SIGNERS = [SigningKey.generate() for _ in range(12)]
_VERIFIED: dict[tuple[ChainEntry, ...], AccountState] = {}
SEALS = [SealKey.generate().public_key() for _ in range(12)]


def kid(key: SigningKey) -> bytes:
    """The key_id of a signing key's verify key."""
    return key.verify_key().key_id()


@dataclass
class Account:
    """An account built honestly: its entries, its state, its devices' signing keys."""

    name: str
    keys: list[SigningKey]
    entries: list[ChainEntry] = field(default_factory=list)

    @property
    def state(self) -> AccountState:
        """The verified state of the entries so far (remembered: tests ask often)."""
        entries = tuple(self.entries)
        if entries not in _VERIFIED:
            _VERIFIED[entries] = AccountChain.verify(entries)
        return _VERIFIED[entries]

    @property
    def chain(self) -> str:
        """The chain id."""
        return f"account:{self.name}"

    def add(self, new: SigningKey, by: SigningKey | None = None) -> ChainEntry:
        """Append an add-device entry for `new`, signed by `by` (the first device)."""
        bundle = device_bundle(self.chain, f"device {len(self.keys)}", new, SEALS[0])
        entry = AccountChain.add_device(self.state, by or self.keys[0], bundle)
        self.entries.append(entry)
        self.keys.append(new)
        return entry

    def remove(self, gone: SigningKey, by: SigningKey | None = None) -> ChainEntry:
        """Append a remove-device entry for `gone`."""
        entry = AccountChain.remove_device(self.state, by or self.keys[0], kid(gone))
        self.entries.append(entry)
        return entry


def account(name: str, *keys: SigningKey) -> Account:
    """An account whose genesis device is keys[0] and whose other devices were added by it."""
    acc = Account(name, [keys[0]])
    acc.entries.append(AccountChain.genesis(name, keys[0], SEALS[1], "first"))
    for key in keys[1:]:
        acc.add(key)
    return acc


def rotation(version: int) -> Rotation:
    """Fresh keys at `version`."""
    return Rotation(version, SealKey.generate().public_key(), SigningKey.generate().verify_key())


@dataclass
class Space:
    """A space built honestly over some accounts."""

    name: str
    accounts: dict[str, Account]
    entries: list[ChainEntry] = field(default_factory=list)

    def lookup(self, account: str) -> AccountState | None:
        """The verified account chain of `account`, as a client would have it."""
        acc = self.accounts.get(account)
        return acc.state if acc else None

    @property
    def state(self) -> SpaceState:
        """The verified state of the entries so far."""
        return SpaceChain.verify(self.entries, self.lookup)

    def append(self, by: SigningKey, kind: str, body: Mapping[str, object]) -> ChainEntry:
        """Append an entry signed by `by`, without checking it."""
        entry = SpaceChain.append(self.state, by, kind, body)
        self.entries.append(entry)
        return entry

    def next_rotation(self) -> dict[str, object]:
        """The body fields of a correct rotation."""
        return rotation(self.state.key_version + 1).body()

    def add_member(self, by: SigningKey, account: str, role: str = "read",
                   scopes: tuple[str, ...] = ("documents",),
                   expires: str | None = None) -> ChainEntry:
        """Append an add-member entry."""
        return self.append(by, "add-member", {"account": account, "role": role,
                                              "scopes": list(scopes), "expires": expires})

    def add_writer(self, by: SigningKey, account: str, device: SigningKey) -> ChainEntry:
        """Append an add-writer entry."""
        return self.append(by, "add-writer", {"account": account, "device": b64e(kid(device))})


def space(name: str, owner: Account, by: SigningKey | None = None,
          others: tuple[Account, ...] = ()) -> Space:
    """A space of `owner` created by `by` (the owner's first device)."""
    accounts = {owner.name: owner, **{a.name: a for a in others}}
    sp = Space(name, accounts)
    sp.entries.append(SpaceChain.genesis(name, owner.name, by or owner.keys[0], rotation(1)))
    return sp
