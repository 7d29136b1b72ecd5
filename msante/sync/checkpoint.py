"""Transparency log checkpoints (c2sp.org/tlog-checkpoint) and how a client moves between them.

A checkpoint is a signed note (see `msante.sync.note`) whose text is

    <origin>
    <tree size, decimal, no leading zero>
    <base64 of the RFC 6962 root hash>
    [extension lines, non-empty, opaque]

A client keeps the newest checkpoint it has seen (`CheckpointStore`) and accepts a new one
only with a consistency proof from the old: a smaller size is a `RollbackError`, a different
root at the same size or a proof that fails is a `ForkError`. Both are `LogError`s, integrity
errors (exit 6) with a translated message; `.old` and `.new` say what the server showed.

    MsanteError
    └── IntegrityError
        └── LogError              the server's log is not what a log must be
            ├── RollbackError     a checkpoint smaller than one already seen
            ├── ForkError         two histories: same size, different roots, or a failed proof
            └── BadCheckpointError  a checkpoint that is malformed or not signed by the log key
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from msante.errors import IntegrityError
from msante.i18n import _
from msante.sync.merkle import HASH_SIZE, MAX_SIZE, ProofError, verify_consistency
from msante.sync.note import (
    NoteError,
    NoteSigner,
    NoteVerifier,
    UnverifiedNoteError,
    add_signature,
    b64decode,
    b64encode,
    open_note,
    parse_note,
    sign_note,
)

__all__ = [
    "BadCheckpointError", "Checkpoint", "CheckpointStore", "ForkError", "LogError", "NoteError",
    "NoteSigner", "NoteVerifier", "RollbackError", "UnverifiedNoteError", "add_signature",
    "check_consistent", "check_progress", "open_checkpoint", "open_note", "parse_note",
    "sign_checkpoint", "sign_note",
]

_SIZE = re.compile(r"0|[1-9][0-9]*", re.ASCII)


@dataclass(frozen=True)
class Checkpoint:
    """A log's tree head: its origin, its size and its root hash, plus opaque extensions."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "the origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int) \
                or not 0 <= self.size <= MAX_SIZE:
            raise NoteError(f"a tree size must be an integer in [0, 2**64), not {self.size!r}")
        if not isinstance(self.root, bytes) or len(self.root) != HASH_SIZE:
            raise NoteError(f"a root hash has {HASH_SIZE} bytes")
        if not isinstance(self.extensions, tuple):
            raise NoteError("extension lines are a tuple of strings")
        for line in self.extensions:
            _check_line(line, "an extension line")

    def body(self) -> str:
        """The note text: origin, size, base64 root, extension lines, each ending in newline."""
        lines = [self.origin, str(self.size), b64encode(self.root), *self.extensions]
        return "".join(line + "\n" for line in lines)

    @classmethod
    def parse(cls, body: str) -> Checkpoint:
        """The checkpoint a note text states; NoteError (a ValueError) for any malformed text."""
        if not isinstance(body, str) or not body.endswith("\n"):
            raise NoteError("a checkpoint text ends with a newline")
        lines = body[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError("a checkpoint has an origin, a size and a root hash line")
        origin, size, root, *extensions = lines
        if not _SIZE.fullmatch(size):
            raise NoteError(f"the tree size {size[:40]!r} is not a decimal without leading zero")
        if len(size) > 20 or int(size) > MAX_SIZE:
            raise NoteError("the tree size is larger than 2**64 - 1")
        raw = b64decode(root, "the root hash")
        return cls(origin, int(size), raw, tuple(extensions))


def _check_line(line: object, what: str) -> None:
    """A checkpoint line: a non-empty string, no newline or other control character."""
    if not isinstance(line, str) or not line:
        raise NoteError(f"{what} must be a non-empty line")
    if any(ord(c) < 0x20 for c in line):
        raise NoteError(f"{what} contains a newline or a control character")


def sign_checkpoint(checkpoint: Checkpoint, signer: NoteSigner) -> str:
    """The checkpoint as a signed note (the log's key name should be its origin)."""
    return sign_note(checkpoint.body(), signer.name, signer.private_key)


def open_checkpoint(note: str | bytes, verifiers: Iterable[NoteVerifier | str],
                    origin: str | None = None) -> Checkpoint:
    """The checkpoint in a note signed by a known key, from log `origin` when given.

    NoteError (a ValueError) for a malformed or unsigned note or another log's checkpoint.
    """
    checkpoint = Checkpoint.parse(open_note(note, verifiers))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is from log {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


# --------------------------------------------------------------------------- log errors


class LogError(IntegrityError):
    """The server's log is not what an append-only log must be."""

    def __init__(self, message: str, old: Checkpoint | None = None,
                 new: Checkpoint | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.old, self.new, self.detail = old, new, detail


class RollbackError(LogError):
    """A checkpoint smaller than one already seen: the server went back in time."""


class ForkError(LogError):
    """Two histories: a different root at the same size, or a consistency proof that fails."""


class BadCheckpointError(LogError):
    """A checkpoint that is malformed, from another log, or not signed by the log's key."""


def check_consistent(a: Checkpoint, b: Checkpoint, proof: Sequence[bytes]) -> None:
    """Check that two checkpoints of one log tell one history; ForkError otherwise.

    Order does not matter: `proof` goes from the smaller tree to the larger. Use it to compare
    a checkpoint someone else saw with ours (gossip); a rollback is no error here.
    """
    older, newer = (a, b) if a.size <= b.size else (b, a)
    if older.origin != newer.origin:
        raise BadCheckpointError(
            _("The two checkpoints come from different logs ({first}, {second}).")
            .format(first=older.origin, second=newer.origin), older, newer)
    if older.size == newer.size and older.root != newer.root:
        raise ForkError(
            _("The server shows two different logs of {size} entries: its history was forked "
              "or rewritten.").format(size=older.size), older, newer)
    try:
        verify_consistency(older.size, newer.size, older.root, newer.root, proof)
    except ProofError as e:
        raise ForkError(
            _("The server's log of {new} entries does not extend its log of {old} entries: "
              "its history was forked or rewritten.").format(new=newer.size, old=older.size),
            older, newer, str(e)) from None


def check_progress(last: Checkpoint | None, new: Checkpoint,
                   proof: Sequence[bytes]) -> Checkpoint:
    """`new` when it extends `last` (the newest checkpoint already seen); LogError otherwise."""
    if last is None:
        return new
    if new.origin == last.origin and new.size < last.size:
        raise RollbackError(
            _("The server's log went back from {old} to {new} entries: entries were removed "
              "or hidden.").format(old=last.size, new=new.size), last, new)
    check_consistent(last, new, proof)
    return new


class CheckpointStore:
    """The newest checkpoint a client trusts for one log; it only moves forward."""

    def __init__(self, origin: str, verifiers: Iterable[NoteVerifier | str],
                 latest_note: str | None = None) -> None:
        self.origin = origin
        self.verifiers = tuple(v if isinstance(v, NoteVerifier) else NoteVerifier.from_vkey(v)
                               for v in verifiers)
        self.latest: Checkpoint | None = None
        self.latest_note: str | None = None
        if latest_note is not None:
            self.latest = self._open(latest_note)
            self.latest_note = latest_note

    def _open(self, note: str | bytes) -> Checkpoint:
        """The checkpoint in a signed note of this log; BadCheckpointError otherwise."""
        try:
            return open_checkpoint(note, self.verifiers, self.origin)
        except NoteError as e:
            raise BadCheckpointError(
                _("The server sent a checkpoint of its log that is malformed or not signed by "
                  "its key."), detail=str(e)) from None

    def advance(self, note: str | bytes, proof: Sequence[bytes]) -> Checkpoint:
        """Accept the signed checkpoint `note` if `proof` shows it extends the latest one."""
        new = check_progress(self.latest, self._open(note), proof)
        text = note.decode("utf-8") if isinstance(note, bytes) else note
        self.latest, self.latest_note = new, text
        return new

    def compare(self, note: str | bytes, proof: Sequence[bytes]) -> Checkpoint:
        """Check a checkpoint someone else saw against ours (ForkError); nothing is stored."""
        theirs = self._open(note)
        if self.latest is not None:
            check_consistent(self.latest, theirs, proof)
        return theirs
