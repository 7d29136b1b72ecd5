"""Bodies of the log, chain and space event endpoints (pydantic; bytes as base64url)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from msante.sync.server.models import DEFAULTS, Strict, _decoder, _out, _schema


def _exactly(size: int) -> Any:
    """A validator refusing bytes of another length."""
    def check(value: bytes) -> bytes:
        if len(value) != size:
            raise ValueError(f"must be exactly {size} bytes")
        return value
    return check


Hash32 = Annotated[bytes, BeforeValidator(_decoder(32)), AfterValidator(_exactly(32)), _out,
                   _schema(32, "32 bytes (a SHA-256 digest or an HMAC-SHA256)")]
EntryBytes = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_chain_entry_bytes)), _out,
                       _schema(DEFAULTS.max_chain_entry_bytes,
                               "the signed chain entry (opaque to the server)")]
Commitment = Annotated[bytes, BeforeValidator(_decoder(DEFAULTS.max_commitment_bytes)), _out,
                       _schema(DEFAULTS.max_commitment_bytes,
                               "the event's commitment (opaque to the server)")]
LeafData = Annotated[bytes, _out, _schema(1 << 16, "a leaf's bytes (msante.sync.logleaf)")]
Seq = Annotated[int, Field(ge=0, le=2**62)]
CHAIN_PATTERN = r"^(account|space):[A-Za-z0-9_-]{1,64}$"


class ChainEntryIn(Strict):
    """A chain entry to append: the server reads only its sequence, links and hash."""

    seq: Seq = Field(description="0 for the chain's first entry, then one more each time")
    prev: Hash32 = Field(description="the previous entry's hash; 32 zero bytes for seq 0")
    hash: Hash32 = Field(description="this entry's hash (msante.sync.chains), committed "
                                     "to the log")
    entry: EntryBytes = Field(min_length=1)


class ChainEntryOut(Strict):
    """A stored chain entry and the log leaf that commits it."""

    seq: int
    prev: Hash32
    hash: Hash32
    entry: EntryBytes
    leaf_index: int


class ChainAppended(Strict):
    """Where an accepted entry went (201), or already was (200, the same entry again)."""

    chain: str
    seq: int
    hash: Hash32
    leaf_index: int = Field(description="its leaf in the log (msante.sync.logleaf.chain_leaf)")
    log_size: int = Field(description="the log's size right after it")


class ChainPage(Strict):
    """Entries of a chain from `since`, oldest first."""

    chain: str
    entries: list[ChainEntryOut]
    next: int = Field(description="the seq to ask for next")
    more: bool


class EventIn(Strict):
    """A space event commitment: the client's HMAC index and opaque commitment bytes."""

    index: Hash32 = Field(description="HMAC-SHA256 under a space key (unique in the space)")
    commitment: Commitment = Field(min_length=1)


class EventOut(Strict):
    """A stored space event."""

    seq: int
    index: Hash32
    commitment: Commitment
    leaf_index: int


class EventAppended(Strict):
    """Where a commitment went (201), or already was (200)."""

    seq: int
    leaf_index: int
    log_size: int


class EventPage(Strict):
    """A space's events from `since`, oldest first."""

    events: list[EventOut]
    next: int
    more: bool


class LogKey(Strict):
    """The log's origin and note verifier key (`<name>+<id>+<base64>`)."""

    origin: str
    key: str


class SignedCheckpoint(Strict):
    """The log's current checkpoint, a C2SP signed note (c2sp.org/tlog-checkpoint)."""

    note: str


class InclusionProof(Strict):
    """RFC 6962 audit path of leaf `index` in the tree of `size` leaves."""

    index: int
    size: int
    proof: list[Hash32]


class ConsistencyProof(Strict):
    """RFC 6962 consistency proof from the tree of `old` leaves to the tree of `new`."""

    old: int
    new: int
    proof: list[Hash32]


class LogEntry(Strict):
    """One leaf: its index and its bytes (hash them with msante.sync.merkle.leaf_hash)."""

    index: int
    data: LeafData


class LogEntries(Strict):
    """Leaves [start, end)."""

    entries: list[LogEntry]
