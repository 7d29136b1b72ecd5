"""Helpers of the log and chain tests: chain entries to post, the log read back and checked."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from typing import Any

from server_helpers import Account, Server

from msante.sync import merkle
from msante.sync.checkpoint import Checkpoint, open_checkpoint
from msante.sync.note import NoteVerifier
from msante.sync.server.models import b64decode, b64encode

ZERO = bytes(32)


@dataclass
class Chain:
    """A chain as a client writes it: the next seq and the head's hash."""

    chain: str
    head: bytes = ZERO
    seq: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def entry(self, data: bytes | None = None, *, seq: int | None = None,
              prev: bytes | None = None) -> dict[str, Any]:
        """The next entry's JSON (or one at another seq / prev, to provoke the server)."""
        body = data if data is not None else secrets.token_bytes(200)
        return {"seq": self.seq if seq is None else seq,
                "prev": b64encode(self.head if prev is None else prev),
                "hash": b64encode(hashlib.sha256(body).digest()), "entry": b64encode(body)}

    def accepted(self, entry: dict[str, Any]) -> None:
        """Advance after the server took `entry`."""
        self.head = b64decode(entry["hash"])
        self.hashes.append(self.head)
        self.seq += 1


def post_entry(srv: Server, who: Account, chain: Chain,
               data: bytes | None = None) -> dict[str, Any]:
    """Append the chain's next entry; assert 201; the server's answer."""
    entry = chain.entry(data)
    response = srv.client.post(f"/v1/chains/{chain.chain}/entries", json=entry,
                               headers=who.auth)
    assert response.status_code == 201, response.text
    chain.accepted(entry)
    answer: dict[str, Any] = response.json()
    return answer


def verifier(srv: Server) -> NoteVerifier:
    """The log's verifier key, as served."""
    return NoteVerifier.from_vkey(srv.client.get("/v1/log/key").json()["key"])


def checkpoint(srv: Server) -> tuple[Checkpoint, str]:
    """The served checkpoint, opened with the served key, and its note."""
    note = srv.client.get("/v1/log/checkpoint").json()["note"]
    return open_checkpoint(note, [verifier(srv)]), note


def leaves(srv: Server, who: Account, size: int) -> list[bytes]:
    """Every leaf's bytes, read through the API in pages."""
    out: list[bytes] = []
    while len(out) < size:
        end = min(size, len(out) + srv.settings.limits.max_log_entries)
        page = srv.client.get("/v1/log/entries", params={"start": len(out), "end": end},
                              headers=who.auth)
        assert page.status_code == 200, page.text
        out += [b64decode(e["data"]) for e in page.json()["entries"]]
    return out


def inclusion(srv: Server, who: Account, index: int, size: int) -> list[bytes]:
    """The served inclusion proof."""
    response = srv.client.get("/v1/log/proof/inclusion", params={"index": index, "size": size},
                              headers=who.auth)
    assert response.status_code == 200, response.text
    return [b64decode(p) for p in response.json()["proof"]]


def consistency(srv: Server, who: Account, old: int, new: int) -> list[bytes]:
    """The served consistency proof."""
    response = srv.client.get("/v1/log/proof/consistency", params={"old": old, "new": new},
                              headers=who.auth)
    assert response.status_code == 200, response.text
    return [b64decode(p) for p in response.json()["proof"]]


def check_whole_log(srv: Server, who: Account) -> Checkpoint:
    """The served checkpoint's root is the tree of the served leaves; every proof verifies."""
    head, _ = checkpoint(srv)
    data = leaves(srv, who, head.size)
    hashes = [merkle.leaf_hash(d) for d in data]
    assert merkle.root(hashes) == head.root
    for i, h in enumerate(hashes):
        merkle.verify_inclusion(h, i, head.size, inclusion(srv, who, i, head.size), head.root)
    return head
