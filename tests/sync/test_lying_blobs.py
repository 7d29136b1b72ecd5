"""A server that lies about a document's file: chunks truncated, cut short or reordered.

A's document travels as its local ciphertext in chunks (4 KiB here, so a 20 KiB file has
several); the signed item names the ciphertext's size and SHA-256, so B refuses anything
else (exit 6), stores no file and applies nothing; the next honest sync brings the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from msante.sync.engine import blobs
from tests.sync.engine_helpers import add_document
from tests.sync.lying_server import Pair, agree, pair_of, sync
from tests.sync.test_lying_items import refused

CHUNK = r"/blobs/[^/]+/chunks/(\d+)$"
INFO = r"/blobs/[^/]+$"


@pytest.fixture
def pair(vault: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Pair]:
    """A and B, chunks of 4 KiB, and a 20 KiB document synced from A."""
    monkeypatch.setattr(blobs, "CHUNK", 4096)
    with pair_of(vault, tmp_path) as made:
        add_document(made.a, bytes(range(256)) * 80)
        sync(made.a)
        yield made


def same_file_on_both(pair: Pair) -> None:
    """After the honest syncs, B's copy of the file is A's, byte for byte."""
    agree(pair)
    blob = pair.a.store.conn.execute("SELECT blob_id FROM documents").fetchone()[0]
    assert pair.b.store.blobs.path(blob).read_bytes() == \
        pair.a.store.blobs.path(blob).read_bytes()


def test_a_blob_s_last_chunk_left_out(pair: Pair) -> None:
    """The server lists the blob without its last chunk, and answers 404 for it (the
    download asks for chunks by index until the signed size is reached)."""
    pair.liar_b.on("GET", INFO, after=lambda body, request: {
        **body, "chunks": body["chunks"][:-1]})
    pair.liar_b.on("GET", r"/chunks/5$", before=lambda request: httpx.Response(
        404, json={"type": "urn:msante:problem:not-found", "title": "Not found",
                   "status": 404, "detail": "No such chunk."},
        headers={"content-type": "application/problem+json"}))
    refused(pair, pair.liar_b, "missing")
    same_file_on_both(pair)


def test_a_blob_s_chunk_cut_short(pair: Pair) -> None:
    """The server serves chunk 1 with its last bytes cut off."""
    def short(request: httpx.Request) -> httpx.Response:
        real = pair.liar_b.inner.handle_request(request)
        real.read()
        return httpx.Response(200, content=real.content[:-100],
                              headers={"content-type": "application/octet-stream"})
    pair.liar_b.on("GET", r"/chunks/1$", before=short)
    refused(pair, pair.liar_b, "wrong size")
    same_file_on_both(pair)


def test_a_blob_s_chunks_reordered(pair: Pair) -> None:
    """The server serves chunk 2 for chunk 1 and chunk 1 for chunk 2 (same sizes)."""
    def swapped(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        index = int(re.search(CHUNK, path).group(1))  # type: ignore[union-attr]
        other = path[:path.rindex("/") + 1] + str(3 - index)
        real = pair.liar_b.inner.handle_request(httpx.Request(
            "GET", request.url.copy_with(path=other), headers=request.headers))
        real.read()
        return httpx.Response(200, content=real.content,
                              headers={"content-type": "application/octet-stream"})
    pair.liar_b.on("GET", r"/chunks/[12]$", before=swapped)
    refused(pair, pair.liar_b, "reordered")
    same_file_on_both(pair)


def test_another_blob_s_chunks_served(pair: Pair) -> None:
    """The server serves the chunks of another document's file of the same size."""
    other = add_document(pair.a, bytes(reversed(range(256))) * 80, title="Other")
    sync(pair.a)
    blob2 = pair.a.store.conn.execute("SELECT blob_id FROM documents WHERE id = ?",
                                      (other,)).fetchone()[0]

    def elsewhere(request: httpx.Request) -> httpx.Response:
        path = re.sub(r"/blobs/[^/]+/", f"/blobs/{blob2}/", request.url.path)
        real = pair.liar_b.inner.handle_request(httpx.Request(
            "GET", request.url.copy_with(path=path), headers=request.headers))
        real.read()
        return httpx.Response(200, content=real.content,
                              headers={"content-type": "application/octet-stream"})
    pair.liar_b.on("GET", rf"/blobs/(?!{blob2})[^/]+/chunks/\d+$", before=elsewhere)
    refused(pair, pair.liar_b, "swapped")
    same_file_on_both(pair)
