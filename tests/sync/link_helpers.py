"""Shared material for the link tests: an account with one device, a new device, an honest link."""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from msante.sync.chains import AccountChain, AccountState, ChainEntry
from msante.sync.crypto import SealKey, SigningKey, canonical, pad
from msante.sync.link import (
    Candidate,
    LinkCode,
    LinkJoin,
    LinkOffer,
    link_key,
    rendezvous_id,
)
from msante.sync.versioned import VERSION

T0 = datetime(2026, 12, 7, 23, 0, tzinfo=UTC)
OLD_KEY, OLD_SEAL = SigningKey.generate(), SealKey.generate()
NEW_KEY, NEW_SEAL = SigningKey.generate(), SealKey.generate()
OTHER_KEY, OTHER_SEAL = SigningKey.generate(), SealKey.generate()
GENESIS = AccountChain.genesis("alice", OLD_KEY, OLD_SEAL.public_key(), "laptop")
STATE = AccountChain.verify([GENESIS])


@dataclass
class Link:
    """Both sides of one link, at T0."""

    code: LinkCode
    offer: LinkOffer
    join: LinkJoin

    def run(self) -> tuple[bytes, Candidate, ChainEntry, AccountState, bytes]:
        """The honest exchange: request, candidate, entry, state after it, reply."""
        request = self.join.request()
        candidate = self.offer.open(request, T0)
        entry = self.offer.add_device(candidate)
        after = AccountChain.verify([*STATE.entries, entry])
        return request, candidate, entry, after, self.offer.reply(candidate, after)


def link(account: str = "alice", code: LinkCode | None = None,
         typed: LinkCode | None = None) -> Link:
    """An offer on the old device and a join on the new one (the code typed: `typed`)."""
    code = code or LinkCode(secrets.token_bytes(20), T0)
    join = LinkJoin(typed or LinkCode(code.secret, T0), account, "phone", NEW_KEY, NEW_SEAL)
    return Link(code, LinkOffer(code, STATE, OLD_KEY), join)


def seal_raw(code: LinkCode, label: str, account: str, plaintext: bytes) -> bytes:
    """Seal any bytes as a link message would (what someone holding the code could send)."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    aad = (b"msante/v1/" + label.encode() + b"\0"
           + canonical({"account": account, "rendezvous": rendezvous_id(code)}))
    nonce = secrets.token_bytes(12)
    return bytes([VERSION]) + nonce + AESGCM(link_key(code)).encrypt(nonce, pad(plaintext), aad)


def seal_obj(code: LinkCode, label: str, account: str, obj: Mapping[str, object]) -> bytes:
    """Seal a JSON object canonically as a link message."""
    return seal_raw(code, label, account, canonical(obj))
