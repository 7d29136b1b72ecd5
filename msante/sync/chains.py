"""Account and space chains: hash-linked entries signed by devices, checked by every client.

    from msante.sync.chains import AccountChain, SpaceChain, ChainEntry, ChainError, diff

The entry format is in `msante.sync.chain_entry`, the account chain's rules in
`msante.sync.account_chain`, the space chain's in `msante.sync.space_chain`;
docs/architecture.md "Chains (issue 12)" describes them. Pure: no I/O, no server, no vault.
"""

from __future__ import annotations

from msante.sync.account_chain import AccountChain, AccountState, DeviceKeys, device_bundle
from msante.sync.chain_entry import (
    ACCOUNT_KINDS,
    SPACE_KINDS,
    ChainEntry,
    ChainError,
    b64d,
    b64e,
    fail,
)
from msante.sync.space_chain import (
    ROLES,
    SCOPES,
    AccountLookup,
    Member,
    Rotation,
    SpaceChain,
    SpaceState,
)

__all__ = [
    "ACCOUNT_KINDS",
    "ROLES",
    "SCOPES",
    "SPACE_KINDS",
    "AccountChain",
    "AccountLookup",
    "AccountState",
    "ChainEntry",
    "ChainError",
    "DeviceKeys",
    "Member",
    "Rotation",
    "SpaceChain",
    "SpaceState",
    "b64d",
    "b64e",
    "device_bundle",
    "diff",
]


def diff(old: AccountState | SpaceState | None, new: AccountState | SpaceState,
         mine: frozenset[bytes] | set[bytes] = frozenset()) -> tuple[ChainEntry, ...]:
    """The entries of `new` after those of `old` that none of `mine` (key_ids) signed.

    These are the entries the person did not make on this device: the "unexpected entry"
    warning lists them. `new` must extend `old`: a shorter chain is a ChainError 'rollback',
    another entry at `old`'s head a ChainError 'rewritten'.
    """
    seen = old.entries if old is not None else ()
    if old is not None and old.chain != new.chain:
        fail("wrong-chain", old.chain, None, new.chain)
    if len(new.entries) < len(seen):
        fail("rollback", new.chain, len(new.entries), len(seen))
    if seen and new.entries[len(seen) - 1].hash() != seen[-1].hash():
        first = next(i for i, (a, b) in enumerate(zip(seen, new.entries, strict=False))
                     if a != b)
        fail("rewritten", new.chain, first)
    return tuple(e for e in new.entries[len(seen):] if e.signer not in mine)
