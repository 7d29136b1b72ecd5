"""What each leaf of the server's transparency log commits to: one byte layout for both sides.

The server appends a leaf for every accepted chain entry and every space event commitment;
a client recomputes the leaf it expects and checks its inclusion (msante.sync.merkle). Leaves
name no account or space in clear — the log is no public list of who treats whom:

    chain leaf   b"msante/v1/log/chain\\0" || chain_key(chain id) (32) || seq (u64 BE)
                 || entry hash (32)
    event leaf   b"msante/v1/log/space-event\\0" || HMAC index (32) || u16 BE length
                 || commitment

`chain_key` is SHA-256(b"msante/v1/log/chain-id\\0" || chain id): whoever knows a chain's id
(its account's devices, its space's members) finds its leaves; ids are random, so nobody else
can. The HMAC index is the client's, under a space key the server never has. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

CHAIN_PREFIX = b"msante/v1/log/chain\x00"
EVENT_PREFIX = b"msante/v1/log/space-event\x00"
CHAIN_ID_PREFIX = b"msante/v1/log/chain-id\x00"
CHAIN_ID = re.compile(r"(account|space):[A-Za-z0-9_-]{1,64}", re.ASCII)
HASH = 32
MAX_SEQ = 2**63 - 1
MAX_COMMITMENT = 0xFFFF


def check_chain_id(chain: object) -> str:
    """`chain` if it is "account:<id>" or "space:<id>" (ids of the server's pattern)."""
    if not isinstance(chain, str) or not CHAIN_ID.fullmatch(chain):
        raise ValueError("a chain id is 'account:<id>' or 'space:<id>'")
    return chain


def chain_key(chain: str) -> bytes:
    """The 32 bytes a chain's leaves carry instead of its id."""
    return hashlib.sha256(CHAIN_ID_PREFIX + check_chain_id(chain).encode("ascii")).digest()


def _hash(value: object, what: str) -> bytes:
    """`value` when it is 32 bytes; ValueError otherwise."""
    if not isinstance(value, bytes) or len(value) != HASH:
        raise ValueError(f"{what} is {HASH} bytes")
    return value


def chain_leaf(chain: str, seq: int, entry_hash: bytes) -> bytes:
    """The leaf committing entry `seq` (0-based) of `chain`, whose hash is `entry_hash`."""
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq <= MAX_SEQ:
        raise ValueError("a chain sequence number is an integer in [0, 2**63)")
    return CHAIN_PREFIX + chain_key(chain) + seq.to_bytes(8, "big") + _hash(entry_hash,
                                                                             "an entry hash")


def event_leaf(index: bytes, commitment: bytes) -> bytes:
    """The leaf of a space event: its HMAC index and its (opaque) commitment."""
    if not isinstance(commitment, bytes) or not 0 < len(commitment) <= MAX_COMMITMENT:
        raise ValueError("a commitment is 1 to 65535 bytes")
    return EVENT_PREFIX + _hash(index, "an HMAC index") + len(commitment).to_bytes(2, "big") \
        + commitment


@dataclass(frozen=True)
class ChainLeaf:
    """A parsed chain leaf."""

    chain_key: bytes
    seq: int
    entry_hash: bytes


@dataclass(frozen=True)
class EventLeaf:
    """A parsed space event leaf."""

    index: bytes
    commitment: bytes


def parse_leaf(data: bytes) -> ChainLeaf | EventLeaf:
    """What a leaf says; ValueError for bytes that are neither layout."""
    if data.startswith(CHAIN_PREFIX):
        body = data[len(CHAIN_PREFIX):]
        if len(body) != HASH + 8 + HASH:
            raise ValueError("a chain leaf has 72 bytes after its prefix")
        return ChainLeaf(body[:HASH], int.from_bytes(body[HASH:HASH + 8], "big"), body[-HASH:])
    if data.startswith(EVENT_PREFIX):
        body = data[len(EVENT_PREFIX):]
        stated = int.from_bytes(body[HASH:HASH + 2], "big")
        if len(body) < HASH + 3 or stated != len(body) - HASH - 2:
            raise ValueError("an event leaf's length does not match its commitment")
        return EventLeaf(body[:HASH], body[HASH + 2:])
    raise ValueError("not a leaf of an msante log")
