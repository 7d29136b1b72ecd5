"""RFC 6962 Merkle tree hashing: roots, inclusion and consistency proofs, and their checks.

The tree over leaves d[0..n) is the one RFC 6962 section 2.1 (RFC 9162 section 2.1) defines:
a leaf hashes as SHA-256(0x00 || data), an inner node as SHA-256(0x01 || left || right), and a
range of n > 1 leaves splits at k, the largest power of two smaller than n.

Proofs are generated from stored hashes, never from the leaves themselves. A `HashSource` gives
the hash of any *complete* subtree — `node(level, index)` covers leaves
[index * 2**level, (index + 1) * 2**level) — and those hashes never change once the log has
grown past them, so a server keeps them in a table (`new_nodes` says which rows an append adds:
at most log2(n) + 1). Any range hash the RFC needs is then the fold of at most log2(n) complete
subtrees along the right border, so:

    root_of(n, source)               O(log n) node reads, O(log n) hashes
    inclusion_proof(n, i, source)    O(log n) node reads (at most 2 log2 n)
    consistency_proof(m, n, source)  O(log n) node reads (at most 2 log2 n)

A server that keeps the rows in a database asks `inclusion_nodes`, `consistency_nodes` or
`root_nodes` which rows a proof needs, fetches them in one query and passes them as a `NodeMap`.
A plain callable `leaf(i) -> bytes` is accepted too (`LeafSource` recomputes complete subtrees
from the leaves, O(2**level) reads each, memoised in an optional cache), for small trees and
tests. Verification follows RFC 9162 sections 2.1.3.2 and 2.1.4.2 and raises `ProofError`.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from typing import Protocol, runtime_checkable

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MAX_SIZE = 2**64 - 1


class ProofError(ValueError):
    """A proof that does not verify, or arguments no proof can satisfy."""


def leaf_hash(data: bytes) -> bytes:
    """The RFC 6962 hash of one leaf: SHA-256(0x00 || data)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The RFC 6962 hash of an inner node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than `n` (n >= 2): where RFC 6962 splits n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """The Merkle tree hash of a list of leaf hashes (the empty tree hashes as SHA-256(''))."""
    stack: list[tuple[int, bytes]] = []  # (level, hash) of complete subtrees, left to right
    for h in leaf_hashes:
        level, acc = 0, h
        while stack and stack[-1][0] == level:
            acc = node_hash(stack.pop()[1], acc)
            level += 1
        stack.append((level, acc))
    return _fold_right([h for _, h in stack])


def _fold_right(hashes: Sequence[bytes]) -> bytes:
    """Fold complete-subtree hashes (left to right, decreasing sizes) into their range hash."""
    if not hashes:
        return EMPTY_ROOT
    acc = hashes[-1]
    for h in reversed(hashes[:-1]):
        acc = node_hash(h, acc)
    return acc


# --------------------------------------------------------------------------- hash sources


@runtime_checkable
class HashSource(Protocol):
    """Stored hashes of complete subtrees: `node(level, index)` covers 2**level leaves."""

    def node(self, level: int, index: int) -> bytes:
        """The hash of the complete subtree at `level` (0 = leaves) and position `index`."""
        ...


class LeafSource:
    """A `HashSource` over a `leaf(i) -> leaf hash` callable, memoising complete subtrees."""

    def __init__(self, leaf: Callable[[int], bytes],
                 cache: MutableMapping[tuple[int, int], bytes] | None = None) -> None:
        self._leaf = leaf
        self._cache = cache

    def node(self, level: int, index: int) -> bytes:
        """The subtree hash, from the cache or from its two halves (leaves at level 0)."""
        if level == 0:
            return self._leaf(index)
        if self._cache is not None and (level, index) in self._cache:
            return self._cache[(level, index)]
        h = node_hash(self.node(level - 1, 2 * index), self.node(level - 1, 2 * index + 1))
        if self._cache is not None:
            self._cache[(level, index)] = h
        return h


Source = HashSource | Callable[[int], bytes]


def as_source(source: Source) -> HashSource:
    """A `HashSource` as is; a leaf callable wrapped in an uncached `LeafSource`."""
    if isinstance(source, HashSource):
        return source
    return LeafSource(source)


class NodeMap:
    """A `HashSource` over rows already fetched: {(level, index): hash} (KeyError if absent)."""

    def __init__(self, rows: Mapping[tuple[int, int], bytes]) -> None:
        self._rows = rows

    def node(self, level: int, index: int) -> bytes:
        """The fetched row."""
        return self._rows[(level, index)]


class _Recorder:
    """A `HashSource` that notes which rows are asked for and answers with placeholders."""

    def __init__(self) -> None:
        self.wanted: dict[tuple[int, int], None] = {}

    def node(self, level: int, index: int) -> bytes:
        """A zero hash; the position is remembered, in order, once."""
        self.wanted[(level, index)] = None
        return bytes(HASH_SIZE)


def inclusion_nodes(size: int, index: int) -> list[tuple[int, int]]:
    """The (level, index) rows `inclusion_proof(size, index, ...)` reads: fetch them at once."""
    recorder = _Recorder()
    inclusion_proof(size, index, recorder)
    return list(recorder.wanted)


def consistency_nodes(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The (level, index) rows `consistency_proof(old_size, new_size, ...)` reads."""
    recorder = _Recorder()
    consistency_proof(old_size, new_size, recorder)
    return list(recorder.wanted)


def root_nodes(size: int) -> list[tuple[int, int]]:
    """The (level, index) rows `root_of(size, ...)` reads: one per bit set in `size`."""
    recorder = _Recorder()
    root_of(size, recorder)
    return list(recorder.wanted)


def new_nodes(index: int, leaf: bytes,
              node: Callable[[int, int], bytes]) -> list[tuple[int, int, bytes]]:
    """The complete subtrees that appending leaf hash `leaf` at `index` completes.

    Returns (level, index, hash) rows, the leaf first; `node` reads the rows already stored
    (only left siblings are read: at most log2(index + 1) reads).
    """
    rows = [(0, index, leaf)]
    level, i, acc = 0, index, leaf
    while i & 1:
        acc = node_hash(node(level, i - 1), acc)
        level, i = level + 1, i >> 1
        rows.append((level, i, acc))
    return rows


def _range_hash(start: int, end: int, source: HashSource) -> bytes:
    """MTH(d[start:end]) for a range whose left edge is aligned as the RFC recursion makes it."""
    parts: list[bytes] = []
    while start < end:
        size = end - start
        if size & (size - 1) == 0:
            level = size.bit_length() - 1
            parts.append(source.node(level, start >> level))
            break
        k = split_point(size)
        parts.append(source.node(k.bit_length() - 1, start // k))
        start += k
    return _fold_right(parts)


def root_of(size: int, source: Source) -> bytes:
    """The root hash of the first `size` leaves of `source` (O(log n) node reads)."""
    _check_size(size)
    return _range_hash(0, size, as_source(source))


def _check_size(size: int) -> None:
    """Refuse a tree size that is not an integer in [0, 2**64)."""
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_SIZE:
        raise ProofError(f"tree size {size!r} is not an integer in [0, 2**64)")


# --------------------------------------------------------------------------- generation


def inclusion_proof(size: int, index: int, source: Source) -> list[bytes]:
    """The audit path of leaf `index` in the tree of `size` leaves (RFC 6962 2.1.1, PATH)."""
    _check_size(size)
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise ProofError(f"leaf index {index!r} is outside a tree of {size} leaves")
    src = as_source(source)
    path: list[bytes] = []  # collected from the root down; the RFC lists it leaf first
    start, end = 0, size
    while end - start > 1:
        k = split_point(end - start)
        if index < start + k:
            path.append(_range_hash(start + k, end, src))
            end = start + k
        else:
            path.append(_range_hash(start, start + k, src))
            start += k
    path.reverse()
    return path


def consistency_proof(old_size: int, new_size: int, source: Source) -> list[bytes]:
    """The proof that the first `old_size` leaves are a prefix of `new_size` (RFC 6962 2.1.2).

    Empty when old_size is 0 or equals new_size: there is nothing to prove.
    """
    _check_size(old_size)
    _check_size(new_size)
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size in (0, new_size):
        return []
    src = as_source(source)
    proof: list[bytes] = []
    start, end, m, whole = 0, new_size, old_size, True
    while m != end - start:
        k = split_point(end - start)
        if m <= k:
            proof.append(_range_hash(start + k, end, src))
            end = start + k
        else:
            proof.append(_range_hash(start, start + k, src))
            start, m, whole = start + k, m - k, False
    if not whole:
        proof.append(_range_hash(start, end, src))
    proof.reverse()
    return proof


# --------------------------------------------------------------------------- verification


def _check_hash(value: object, what: str) -> bytes:
    """`value` if it is a 32-byte hash; ProofError otherwise."""
    if not isinstance(value, bytes) or len(value) != HASH_SIZE:
        raise ProofError(f"{what} is not a {HASH_SIZE}-byte hash")
    return value


def _check_proof(proof: Sequence[bytes]) -> list[bytes]:
    """The proof as a list of 32-byte hashes; ProofError for anything else."""
    if not isinstance(proof, (list, tuple)):
        raise ProofError("a proof is a list of hashes")
    return [_check_hash(p, f"proof element {i}") for i, p in enumerate(proof)]


def verify_inclusion(leaf: bytes, index: int, size: int, proof: Sequence[bytes],
                     root_hash: bytes) -> None:
    """Check that leaf hash `leaf` is at `index` in the tree of `size` leaves with `root_hash`.

    The algorithm of RFC 9162 section 2.1.3.2; raises ProofError when the proof fails.
    """
    _check_size(size)
    path = _check_proof(proof)
    r = _check_hash(leaf, "the leaf hash")
    expected = _check_hash(root_hash, "the root hash")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < size:
        raise ProofError(f"leaf index {index!r} is outside a tree of {size} leaves")
    fn, sn = index, size - 1
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the inclusion proof is too short")
    if not hmac.compare_digest(r, expected):
        raise ProofError("the inclusion proof does not lead to the root hash")


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`).

    The algorithm of RFC 9162 section 2.1.4.2 for 0 < old < new; an equal size needs an
    empty proof and equal roots, and the empty tree (its root SHA-256('')) precedes every
    tree with an empty proof. Raises ProofError when the proof fails.
    """
    _check_size(old_size)
    _check_size(new_size)
    path = _check_proof(proof)
    first = _check_hash(old_root, "the old root hash")
    second = _check_hash(new_root, "the new root hash")
    if old_size > new_size:
        raise ProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == 0 or old_size == new_size:
        _verify_trivial(old_size, new_size, first, second, path)
        return
    fr, sr = _consistency_roots(old_size, new_size, first, path)
    if not hmac.compare_digest(fr, first):
        raise ProofError("the consistency proof does not lead to the old root hash")
    if not hmac.compare_digest(sr, second):
        raise ProofError("the consistency proof does not lead to the new root hash")


def _verify_trivial(old_size: int, new_size: int, first: bytes, second: bytes,
                    path: list[bytes]) -> None:
    """The cases with nothing to prove: from the empty tree, or between equal sizes."""
    if path:
        raise ProofError("a consistency proof between these sizes must be empty")
    if old_size == 0 and not hmac.compare_digest(first, EMPTY_ROOT):
        raise ProofError("the root hash of the empty tree is wrong")
    if old_size == new_size and not hmac.compare_digest(first, second):
        raise ProofError("two trees of the same size have different root hashes")


def _consistency_roots(first: int, second: int, first_hash: bytes,
                       path: list[bytes]) -> tuple[bytes, bytes]:
    """The old and new roots a consistency proof leads to (RFC 9162 2.1.4.2, steps 1 to 6)."""
    if not path:
        raise ProofError("the consistency proof is empty")
    if first & (first - 1) == 0:
        path = [first_hash, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is too long")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError("the consistency proof is too short")
    return fr, sr


# --------------------------------------------------------------------------- a small log


class MemoryTree:
    """An append-only tree in memory, storing every complete subtree hash (a reference store)."""

    def __init__(self) -> None:
        self._nodes: dict[tuple[int, int], bytes] = {}
        self.size = 0

    def append(self, data: bytes) -> int:
        """Add a leaf (its data is hashed here); return its index."""
        return self.append_hash(leaf_hash(data))

    def append_hash(self, leaf: bytes) -> int:
        """Add a leaf by its hash; return its index."""
        index = self.size
        for level, i, h in new_nodes(index, leaf, self.node):
            self._nodes[(level, i)] = h
        self.size += 1
        return index

    def node(self, level: int, index: int) -> bytes:
        """The stored hash of a complete subtree (KeyError if not complete yet)."""
        return self._nodes[(level, index)]

    def root(self, size: int | None = None) -> bytes:
        """The root hash at `size` leaves (now by default)."""
        return root_of(self.size if size is None else size, self)
