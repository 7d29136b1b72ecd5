"""Checking the server's transparency log from a client: the key, the checkpoints, the walks.

DESIGN.md "The log": a client pins the log's note key on first use, keeps the last checkpoint
it saw and accepts a new one only along a consistency proof (msante.sync.checkpoint); because
inclusion proves presence and not completeness, the owner's devices also walk their account
chain, their space chains and each space's event sequence, and prove every entry's leaf in
the log (msante.sync.logleaf). A checkpoint carried by a chain entry (gossip) must tell the
same history as ours. Every failure is a `LogError` or a `ChainError`: an integrity error,
exit 6, whose message says what the server did.

    check_log(client, pinned_key, last_note) -> LogView     the key, the checkpoint, the proof
    walk_chain(client, chain, log, known=…)   -> ChainWalk  entries verified, each in the log
    walk_events(client, space, log, known=…)  -> EventWalk  0, 1, 2… each in the log
    scan_log(log, since, shown)               -> Scan       every new leaf read: none of
                                                            our chains' entries hidden

`known` is what an earlier walk saw (`Head`: how many entries and a digest of them): entries
already proven are not proven again (a consistent log keeps them), but a shorter sequence is a
rollback and another digest a rewrite. No vault here (msante.sync.logstate keeps the state).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from msante.errors import SyncError
from msante.i18n import _
from msante.sync import logleaf, merkle
from msante.sync.chain_entry import fail
from msante.sync.chains import AccountChain, AccountState, ChainEntry, SpaceChain, SpaceState
from msante.sync.checkpoint import (
    BadCheckpointError,
    Checkpoint,
    ForkError,
    LogError,
    NoteError,
    NoteVerifier,
    RollbackError,
    check_consistent,
    check_progress,
    open_checkpoint,
)
from msante.sync.client import ChainRecord, Client, EventRecord

EVENTS_LABEL = b"msante/v1/verify/events\x00"
ZERO = bytes(32)
Lookup = Callable[[str], AccountState | None]


class KeyChangedError(BadCheckpointError):
    """The log's key is not the one pinned: another log, or a server that lost its key."""


class NotLoggedError(LogError):
    """An entry or event the server shows whose leaf is not in its log."""


class EventGapError(LogError):
    """A space's event sequence with a missing, repeated or reordered event."""


@dataclass(frozen=True)
class Head:
    """What a walk saw of one sequence: how many entries, and a digest of all of them."""

    count: int
    digest: bytes


class LogView:
    """The log as this client checked it: its pinned key and its newest checkpoint."""

    def __init__(self, client: Client, key: str, checkpoint: Checkpoint, note: str,
                 last: Checkpoint | None) -> None:
        self.client, self.key, self.checkpoint, self.note = client, key, checkpoint, note
        self.last = last
        self.first = checkpoint  # signed before any chain was read: what the scan reaches
        self.proofs = 0

    @property
    def verifier(self) -> NoteVerifier:
        """The pinned key as a note verifier."""
        return NoteVerifier.from_vkey(self.key)

    def refresh(self) -> None:
        """Move to the server's newest checkpoint, along a consistency proof from ours."""
        newer = check_log(self.client, self.key, self.note)
        self.checkpoint, self.note = newer.checkpoint, newer.note
        self.proofs += newer.proofs

    def prove(self, leaf: bytes, index: int, what: str) -> None:
        """Check that `leaf` is leaf `index` of the log; NotLoggedError naming `what`."""
        if index >= self.checkpoint.size:
            self.refresh()  # logged after our checkpoint was signed
        if index >= self.checkpoint.size:
            raise NotLoggedError(_(
                "The server says {what} is leaf {index} of its log, but its log has only "
                "{size} entries: it showed something it never logged.").format(
                    what=what, index=index, size=self.checkpoint.size), self.checkpoint)
        proof = _proof(lambda: self.client.inclusion_proof(index, self.checkpoint.size),
                       lambda why: NotLoggedError(_(
                           "The server does not prove that {what} is leaf {index} of its log: "
                           "{why}").format(what=what, index=index, why=why), self.checkpoint))
        self.proofs += 1
        try:
            merkle.verify_inclusion(merkle.leaf_hash(leaf), index, self.checkpoint.size, proof,
                                    self.checkpoint.root)
        except merkle.ProofError as e:
            raise NotLoggedError(_(
                "{what} is not in the server's log at leaf {index}: the server showed an "
                "entry it never logged, or altered one.").format(
                    what=_cap(what), index=index), self.checkpoint, detail=str(e)) \
                from None

    def compare(self, note: str, what: str) -> Checkpoint:
        """Check a checkpoint someone signed into `what` (gossip) against ours: ForkError."""
        try:
            theirs = open_checkpoint(note, [self.verifier], self.checkpoint.origin)
        except NoteError as e:
            raise BadCheckpointError(_(
                "The checkpoint carried by {what} is not signed by the server's log key: the "
                "server showed that device another log.").format(what=what),
                new=self.checkpoint, detail=str(e)) from None
        if theirs.size > self.checkpoint.size:
            self.refresh()
        if theirs.size > self.checkpoint.size:
            raise RollbackError(_(
                "{what} carries a checkpoint of {theirs} entries, but the server's log now has "
                "{ours}: the server went back in time.").format(
                    what=_cap(what), theirs=theirs.size, ours=self.checkpoint.size),
                theirs, self.checkpoint)
        small, large = sorted((theirs, self.checkpoint), key=lambda c: c.size)
        proof = [] if small.size in (0, large.size) else \
            self.client.consistency_proof(small.size, large.size)
        self.proofs += 1
        try:
            check_consistent(theirs, self.checkpoint, proof)
        except ForkError as e:
            raise ForkError(_(
                "{what} carries a checkpoint of {theirs} entries that does not agree with the "
                "log this device sees ({ours} entries): the server shows different histories "
                "to different devices.").format(
                    what=_cap(what), theirs=theirs.size, ours=self.checkpoint.size),
                theirs, self.checkpoint, e.detail) from None
        return theirs


def check_log(client: Client, pinned_key: str | None, last_note: str | None) -> LogView:
    """The server's signed checkpoint, checked against the pinned key and the last one seen.

    The key is pinned on first use (`pinned_key` None); a changed key is KeyChangedError. A
    smaller log is RollbackError, another root or a failed proof ForkError.
    """
    info = client.log_key()
    key = info.key if pinned_key is None else pinned_key
    if info.key != key:
        raise KeyChangedError(_(
            "The server's log key changed (it was {old}, it is now {new}): it is another log, "
            "or the server lost its key. Nothing it shows can be trusted until you know why.")
            .format(old=_short(key), new=_short(info.key)))
    verifier = _verifier(key)
    last = _open(last_note, verifier, _("the checkpoint this device kept")) \
        if last_note is not None else None
    note = client.log_checkpoint()
    new = _open(note, verifier, _("the server's checkpoint"))
    proof: Sequence[bytes] = []
    if last is not None and 0 < last.size < new.size:
        proof = _proof(lambda: client.consistency_proof(last.size, new.size), lambda why: (
            ForkError(_(
                "The server signed a log of {new} entries but does not prove that it extends "
                "the log of {old} entries this device saw: {why}").format(
                    new=new.size, old=last.size, why=why), last, new)))
    view = LogView(client, key, check_progress(last, new, proof), note, last)
    view.proofs = 1 if proof else 0
    return view


def _proof(fetch: Callable[[], list[bytes]],
           refusal: Callable[[str], LogError]) -> list[bytes]:
    """A proof from the server; its refusal (a 4xx or 5xx problem) is `refusal`'s LogError.

    A server that signed a checkpoint owes every proof up to its size: refusing one hides
    something. Network failures, a busy server and a refused login stay what they are.
    """
    try:
        return fetch()
    except SyncError as e:
        if type(e) is not SyncError:
            raise
        raise refusal(e.message) from None


def _verifier(key: str) -> NoteVerifier:
    """The note verifier of a key text; BadCheckpointError for a malformed one."""
    try:
        return NoteVerifier.from_vkey(key)
    except NoteError as e:
        raise BadCheckpointError(_("The server's log key is not a note verifier key."),
                                 detail=str(e)) from None


def _open(note: str, verifier: NoteVerifier, what: str) -> Checkpoint:
    """A checkpoint note signed by the pinned key, from its log; BadCheckpointError."""
    try:
        return open_checkpoint(note, [verifier], verifier.name)
    except NoteError as e:
        raise BadCheckpointError(_(
            "{what} is malformed or not signed by the server's pinned log key: the server "
            "signed it with another key, or altered it.").format(what=_cap(what)),
            detail=str(e)) from None


def _cap(text: str) -> str:
    """`text` with a capital first letter (it starts a sentence)."""
    return text[:1].upper() + text[1:]


def _short(key: str) -> str:
    """A key text shortened for a message: its name and the start of its hash."""
    name, _sep, rest = key.partition("+")
    return f"{name}+{rest[:8]}…"


# --------------------------------------------------------------------------- chains


@dataclass(frozen=True)
class ChainWalk:
    """A chain walked: its verified entries and state, what was proven, its head."""

    chain: str
    entries: tuple[ChainEntry, ...]
    state: AccountState | SpaceState | None
    proven: int
    gossip: int
    head: Head


def walk_chain(client: Client, chain: str, log: LogView, *, known: Head | None = None,
               lookup: Lookup | None = None) -> ChainWalk:
    """Every entry of `chain`, verified (msante.sync.chains) and each proven in the log.

    `lookup` gives the verified account chain of a space's members (space chains only).
    """
    records = client.chain_records(chain)
    entries = tuple(_entry(chain, i, r) for i, r in enumerate(records))
    _check_known(chain, entries, known)
    state: AccountState | SpaceState | None = None
    if entries and chain.startswith("account:"):
        state = AccountChain.verify(entries, chain=chain)
    elif entries:
        state = SpaceChain.verify(entries, lookup or (lambda _a: None), chain=chain)
    start = known.count if known is not None else 0
    gossip = 0
    for entry, record in zip(entries[start:], records[start:], strict=True):
        what = _("entry {seq} of chain {chain}").format(seq=entry.seq, chain=chain)
        log.prove(logleaf.chain_leaf(chain, entry.seq, entry.hash()), record.leaf_index, what)
        if entry.checkpoint is not None:
            log.compare(entry.checkpoint, what)
            gossip += 1
    head = Head(len(entries), entries[-1].hash() if entries else ZERO)
    return ChainWalk(chain, entries, state, len(entries) - start, gossip, head)


def _entry(chain: str, position: int, record: ChainRecord) -> ChainEntry:
    """The entry a record holds, when it is the record's and the chain's; ChainError."""
    if record.seq != position:
        fail("gap", chain, position)
    try:
        entry = ChainEntry.from_json(record.entry)
    except ValueError as e:
        fail("malformed", chain, record.seq, e)
    if entry.chain != chain:
        fail("wrong-chain", chain, record.seq, entry.chain)
    if (entry.seq, entry.prev, entry.hash()) != (record.seq, record.prev, record.hash):
        raise NotLoggedError(_(
            "The server's copy of entry {seq} of chain {chain} does not match the sequence "
            "number, link or hash it states for it: the entry was altered.").format(
                seq=record.seq, chain=chain))
    return entry


def _check_known(chain: str, entries: Sequence[ChainEntry], known: Head | None) -> None:
    """The chain still holds the entries seen before: ChainError 'rollback' / 'rewritten'."""
    if known is None or known.count == 0:
        return
    if len(entries) < known.count:
        fail("rollback", chain, len(entries), known.count)
    if entries[known.count - 1].hash() != known.digest:
        fail("rewritten", chain, known.count - 1)


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class EventWalk:
    """A space's event sequence walked: how many, how many proven now, its head."""

    space: str
    count: int
    proven: int
    head: Head


def walk_events(client: Client, space: str, log: LogView, *,
                known: Head | None = None) -> EventWalk:
    """Every event commitment of `space`: numbered 0, 1, 2… with no gap, each in the log."""
    records = client.event_records(space)
    digests = _event_digests(space, records)
    start = 0
    if known is not None and known.count:
        if len(records) < known.count:
            raise RollbackError(_(
                "The server shows {count} events for space {space}, {known} before: events "
                "were removed or hidden.").format(count=len(records), space=space,
                                                  known=known.count))
        if digests[known.count - 1] != known.digest:
            raise EventGapError(_(
                "The events of space {space} are no longer those seen before: the server "
                "rewrote its history.").format(space=space))
        start = known.count
    for record in records[start:]:
        what = _("event {seq} of space {space}").format(seq=record.seq, space=space)
        log.prove(logleaf.event_leaf(record.index, record.commitment), record.leaf_index, what)
    head = Head(len(records), digests[-1] if digests else ZERO)
    return EventWalk(space, len(records), len(records) - start, head)


def _event_digests(space: str, records: Sequence[EventRecord]) -> list[bytes]:
    """A running digest over the events (each names all before it); EventGapError on a gap."""
    digests, digest, last_leaf = [], ZERO, -1
    for position, record in enumerate(records):
        if record.seq != position:
            raise EventGapError(_(
                "The events of space {space} jump from {expected} to {seq}: the server "
                "dropped, repeated or reordered events.").format(
                    space=space, expected=position, seq=record.seq))
        if record.leaf_index <= last_leaf:
            raise EventGapError(_(
                "Event {seq} of space {space} was logged before the event preceding it: the "
                "server reordered the events.").format(seq=record.seq, space=space))
        last_leaf = record.leaf_index
        leaf = logleaf.event_leaf(record.index, record.commitment)
        digest = hashlib.sha256(EVENTS_LABEL + digest + leaf).digest()
        digests.append(digest)
    return digests


# --------------------------------------------------------------------------- the scan


class HiddenEntryError(LogError):
    """The log holds an entry of one of our chains that the server did not show."""


@dataclass(frozen=True)
class Scan:
    """How far the log was read, and the hashes of its complete subtrees there (its right
    border: at most 64), from which the next scan goes on."""

    size: int
    border: tuple[bytes, ...]

    def to_bytes(self) -> bytes:
        """The border, concatenated (to keep in the vault)."""
        return b"".join(self.border)

    @classmethod
    def from_bytes(cls, size: int, raw: bytes) -> Scan:
        """A scan kept by `to_bytes`."""
        border = tuple(raw[i:i + 32] for i in range(0, len(raw), 32))
        if len(border) != size.bit_count() or any(len(h) != 32 for h in border):
            raise ValueError("a scan border has one 32-byte hash per bit of its size")
        return cls(size, border)


def scan_log(log: LogView, since: Scan, shown: dict[str, list[bytes]],
             page: int = 1000) -> Scan:
    """Read the log's leaves from `since` to the first checkpoint of this check, and find
    every leaf of the chains `shown` (chain id → hashes of the entries the server showed).

    A leaf of one of them the server did not show is HiddenEntryError; one at a shown
    sequence number with another hash, ForkError. The leaves must hash to the checkpoint's
    root (starting from the border kept by the last scan), or the server altered what it
    listed: ForkError. Leaves from other chains and events are read and only hashed.
    """
    target = log.first
    keys = {logleaf.chain_key(chain): chain for chain in shown}
    stack = [(level, h) for level, h in zip(_levels(since.size), since.border, strict=True)]
    start = since.size
    while start < target.size:
        end = min(target.size, start + page)
        leaves = log.client.log_entries(start, end)
        if [i for i, _d in leaves] != list(range(start, end)):
            raise ForkError(_("The server listed other leaves of its log than those asked "
                              "for ({start} to {end}).").format(start=start, end=end))
        for index, data in leaves:
            _look(index, data, keys, shown)
            _push(stack, merkle.leaf_hash(data))
        start = end
    border = tuple(h for _level, h in stack)
    if _fold(border) != target.root:
        raise ForkError(_(
            "The leaves the server lists do not make the log it signed ({size} entries): it "
            "altered or hid some of them.").format(size=target.size), new=target)
    return Scan(target.size, border)


def _look(index: int, data: bytes, keys: dict[bytes, str], shown: dict[str, list[bytes]]) -> None:
    """Check one leaf against the chains shown."""
    try:
        leaf = logleaf.parse_leaf(data)
    except ValueError:
        return  # not ours to judge: the root check still covers it
    if not isinstance(leaf, logleaf.ChainLeaf) or leaf.chain_key not in keys:
        return
    chain = keys[leaf.chain_key]
    hashes = shown[chain]
    if leaf.seq >= len(hashes):
        raise HiddenEntryError(_(
            "The log holds entry {seq} of chain {chain} (leaf {index}), but the server did not "
            "show it: it hides part of the chain.").format(seq=leaf.seq, chain=chain,
                                                          index=index))
    if leaf.entry_hash != hashes[leaf.seq]:
        raise ForkError(_(
            "The log holds two different entries {seq} of chain {chain} (leaf {index} is not "
            "the one shown): the server forked the chain.").format(
                seq=leaf.seq, chain=chain, index=index))


def _levels(size: int) -> list[int]:
    """The levels of the complete subtrees of a tree of `size` leaves, left to right."""
    return [level for level in range(size.bit_length() - 1, -1, -1) if size >> level & 1]


def _push(stack: list[tuple[int, bytes]], leaf: bytes) -> None:
    """Append a leaf hash to a right border (merging complete subtrees)."""
    level, acc = 0, leaf
    while stack and stack[-1][0] == level:
        acc = merkle.node_hash(stack.pop()[1], acc)
        level += 1
    stack.append((level, acc))


def _fold(border: Sequence[bytes]) -> bytes:
    """The root of a tree from its right border."""
    if not border:
        return merkle.EMPTY_ROOT
    acc = border[-1]
    for h in reversed(border[:-1]):
        acc = merkle.node_hash(h, acc)
    return acc
