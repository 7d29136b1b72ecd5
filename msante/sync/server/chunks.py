"""Blob chunk metadata in the database; the bytes in a `BlobStore`.

A chunk is immutable once stored: the same bytes again are accepted (a retried upload), other
bytes at the same index are 409. The bytes are staged on disk first, then the row is inserted
and the file renamed into place inside the same transaction, so a chunk listed is a chunk
readable; a file without a row (a crash between the two) is overwritten by the next upload.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import Connection, Engine, insert, select
from sqlalchemy.exc import IntegrityError

from msante.sync.server import schema as t
from msante.sync.server.blobstore import BlobStore
from msante.sync.server.db import reading, writing
from msante.sync.server.models import BlobInfo, ChunkInfo, Stored
from msante.sync.server.problems import Conflict, NotFound
from msante.sync.server.settings import Limits
from msante.sync.server.store import charge, now


class ChunkStore:
    """Upload, download and list the chunks of a space's blobs."""

    def __init__(self, engine: Engine, blobs: BlobStore, limits: Limits) -> None:
        self.engine = engine
        self.blobs = blobs
        self.limits = limits

    def put(self, account: str, space: str, blob: str, index: int, data: bytes) -> Stored:
        """Store chunk `index` of `blob`; the same bytes again are not a new write."""
        digest = hashlib.sha256(data).digest()
        known = self._chunk(space, blob, index)
        if known is not None:
            return self._same(known, index, data, digest)
        handle = self.blobs.stage(space, blob, index, data)
        try:
            with writing(self.engine) as conn:
                self._insert(conn, account, space, blob, index, len(data), digest)
                self.blobs.commit(handle)
        except IntegrityError:
            self.blobs.discard(handle)
            return self.put(account, space, blob, index, data)  # raced: compare with the winner
        except BaseException:
            self.blobs.discard(handle)
            raise
        return Stored(index=index, size=len(data), sha256=digest, created=True)

    def _same(self, known: ChunkInfo, index: int, data: bytes, digest: bytes) -> Stored:
        """A chunk already stored: the same bytes are accepted, others are 409."""
        if known.sha256 != digest:
            raise Conflict("This chunk is already stored with other content.",
                           slug="chunk-differs")
        return Stored(index=index, size=len(data), sha256=digest, created=False)

    def _insert(self, conn: Connection, account: str, space: str, blob: str, index: int,
                size: int, digest: bytes) -> None:
        """The blob's row (if new), the chunk's row, the account's usage (quota checked)."""
        b = t.blobs.c
        if conn.scalar(select(b.blob_id).where(b.space_id == space, b.blob_id == blob)) is None:
            conn.execute(insert(t.blobs).values(space_id=space, blob_id=blob, account_id=account,
                                                created_at=now()))
        conn.execute(insert(t.blob_chunks).values(space_id=space, blob_id=blob, idx=index,
                                                  size=size, sha256=digest))
        charge(conn, account, size, self.limits.quota_bytes)

    def _chunk(self, space: str, blob: str, index: int) -> ChunkInfo | None:
        """The stored chunk's metadata, or None."""
        c = t.blob_chunks.c
        with reading(self.engine) as conn:
            row = conn.execute(select(c.size, c.sha256).where(
                c.space_id == space, c.blob_id == blob, c.idx == index)).first()
        return None if row is None else ChunkInfo(index=index, size=row.size,
                                                  sha256=bytes(row.sha256))

    def get(self, space: str, blob: str, index: int) -> bytes:
        """The chunk's bytes; NotFound when it was never stored."""
        if self._chunk(space, blob, index) is None:
            raise NotFound("No such chunk.")
        data = self.blobs.read(space, blob, index)
        if data is None:
            raise NotFound("No such chunk.")
        return data

    def info(self, space: str, blob: str) -> BlobInfo:
        """The chunks a blob has, by index; NotFound when it has none."""
        c = t.blob_chunks.c
        with reading(self.engine) as conn:
            rows = conn.execute(select(c.idx, c.size, c.sha256).where(
                c.space_id == space, c.blob_id == blob).order_by(c.idx)).all()
        if not rows:
            raise NotFound("No such blob.")
        return BlobInfo(blob=blob, chunks=[ChunkInfo(index=r.idx, size=r.size,
                                                     sha256=bytes(r.sha256)) for r in rows])
