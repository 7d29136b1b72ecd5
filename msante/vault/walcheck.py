"""Committed transactions that a damaged leftover WAL makes SQLite drop without a word.

SQLite replays `vault.db-wal` up to the first frame whose checksum fails and ignores the rest,
committed or not. After a crash the chain head in vault.json may lag the database by one
transaction, so comparing the two cannot see such a loss; the WAL itself can. A commit frame of
the current WAL generation (same salts as the WAL header) that lies beyond the frames SQLite
accepted, and whose own checksum is right, was committed and is now lost. A frame torn by a
crash never has a right checksum, so an interrupted write is not mistaken for a loss.
"""

from __future__ import annotations

import array
import struct
import sys
from pathlib import Path

from msante.vault.db import Connection

_MAGIC_LE, _MAGIC_BE = 0x377F0682, 0x377F0683
_HEADER, _FRAME_HEADER = 32, 24
_MASK = 0xFFFFFFFF


def _checksum(data: bytes, seed: tuple[int, int], big_endian: bool) -> tuple[int, int]:
    """SQLite's WAL checksum of `data` (a multiple of 8 bytes), continued from `seed`."""
    words = array.array("I", data)
    if big_endian != (sys.byteorder == "big"):
        words.byteswap()
    s0, s1 = seed
    it = iter(words)
    for x0 in it:
        s0 = (s0 + x0 + s1) & _MASK
        s1 = (s1 + next(it) + s0) & _MASK
    return s0, s1


class _Wal:
    """The frames of a WAL file read into memory."""

    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        magic, _v, self.page_size, _seq, s1, s2, c1, c2 = struct.unpack(">8I", raw[:_HEADER])
        self.valid = magic in (_MAGIC_LE, _MAGIC_BE) and 512 <= self.page_size <= 65536
        self.big_endian = magic == _MAGIC_BE
        self.salts, self.seed = (s1, s2), (c1, c2)
        self.size = _FRAME_HEADER + self.page_size
        self.count = (len(raw) - _HEADER) // self.size if self.valid else 0

    def header(self, i: int) -> tuple[int, ...]:
        """(page, commit size, salt 1, salt 2, checksum 1, checksum 2) of frame `i` (from 1)."""
        at = _HEADER + (i - 1) * self.size
        return struct.unpack(">6I", self.raw[at:at + _FRAME_HEADER])

    def stored(self, i: int) -> tuple[int, int]:
        """The cumulative checksum frame `i` carries (the header's for i = 0)."""
        if i == 0:
            return self.seed
        head = self.header(i)
        return head[4], head[5]

    def verifies(self, i: int, seed: tuple[int, int]) -> bool:
        """Whether frame `i` belongs to this generation and its checksum follows `seed`."""
        head = self.header(i)
        at = _HEADER + (i - 1) * self.size
        body = self.raw[at:at + 8] + self.raw[at + _FRAME_HEADER:at + self.size]
        return head[2:4] == self.salts and _checksum(body, seed, self.big_endian) == head[4:6]

    def is_commit(self, i: int) -> bool:
        """Whether frame `i` is of this generation and ends a transaction."""
        head = self.header(i)
        return head[1] != 0 and head[2:4] == self.salts


def lost_commits(conn: Connection, wal: Path) -> int:
    """How many committed transactions of `wal` SQLite dropped when `conn` opened the vault."""
    try:
        raw = wal.read_bytes()
    except OSError:
        return 0
    if len(raw) < _HEADER:
        return 0
    frames = _Wal(raw)
    last = max((i for i in range(1, frames.count + 1) if frames.is_commit(i)), default=0)
    if not last:
        return 0
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    accepted = int(row[1]) if row and row[1] is not None else -1
    if accepted < 0 or last <= accepted or accepted > frames.count:
        return 0
    return _beyond(frames, accepted)


def _beyond(frames: _Wal, accepted: int) -> int:
    """Commit frames after the first frame that breaks the chain past `accepted`."""
    seed = frames.stored(accepted)
    broken = None
    for i in range(accepted + 1, frames.count + 1):
        if not frames.verifies(i, seed):
            broken = i
            break
        seed = frames.stored(i)
    if broken is None:
        return 0
    return sum(1 for i in range(broken + 1, frames.count + 1)
               if frames.is_commit(i) and frames.verifies(i, frames.stored(i - 1)))
