"""RFC 6962 Merkle hashing and proofs (msante/sync/merkle.py): known answers, every proof up to
64 leaves against the RFC's recursive definitions, tampering refused, O(log n) reads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.sync.merkle import (
    EMPTY_ROOT,
    LeafSource,
    MemoryTree,
    NodeMap,
    ProofError,
    consistency_nodes,
    consistency_proof,
    inclusion_nodes,
    inclusion_proof,
    leaf_hash,
    new_nodes,
    node_hash,
    root,
    root_nodes,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = json.loads((Path(__file__).parent / "vectors" / "rfc6962_reference_tree.json")
                     .read_text(encoding="utf-8"))
LIMIT = 64


def h(x: str) -> bytes:
    """Hex to bytes."""
    return bytes.fromhex(x)


def reference_tree() -> MemoryTree:
    """The 8-leaf tree of the reference vectors."""
    tree = MemoryTree()
    for leaf in VECTORS["leaves"]:
        tree.append(h(leaf))
    return tree


def big_tree() -> MemoryTree:
    """A tree of LIMIT distinct leaves."""
    tree = MemoryTree()
    for i in range(LIMIT):
        tree.append(f"leaf {i}".encode())
    return tree


BIG = big_tree()
ROOTS = [BIG.root(n) for n in range(LIMIT + 1)]
LEAVES = [BIG.node(0, i) for i in range(LIMIT)]


# ------------------------------------------------------------ the RFC's definitions, verbatim


def mth(d: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of RFC 6962 2.1, recursively, over leaf hashes."""
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(mth(d[:k]), mth(d[k:]))


def path(m: int, d: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 2.1.1."""
    if len(d) == 1:
        return []
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m < k:
        return path(m, d[:k]) + [mth(d[k:])]
    return path(m - k, d[k:]) + [mth(d[:k])]


def subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    """SUBPROOF(m, D[n], b) of RFC 6962 2.1.2."""
    if m == len(d):
        return [] if b else [mth(d)]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    if m <= k:
        return subproof(m, d[:k], b) + [mth(d[k:])]
    return subproof(m - k, d[k:], False) + [mth(d[:k])]


# ------------------------------------------------------------------------------ known answers


def test_hasher_matches_the_rfc_known_answers() -> None:
    """Leaf and node hashing use the 0x00 / 0x01 prefixes, so these published digests match."""
    hv = VECTORS["hasher"]
    assert EMPTY_ROOT == h(hv["empty_root"])
    for case in hv["leaf_hash"]:
        assert leaf_hash(h(case["data"])) == h(case["hash"])
    for case in hv["node_hash"]:
        assert node_hash(h(case["left"]), h(case["right"])) == h(case["hash"])


def test_every_complete_subtree_of_the_reference_tree_is_stored_with_its_published_hash() -> None:
    """The rows `new_nodes` adds on append are exactly the reference tree's complete subtrees."""
    tree = reference_tree()
    for level, row in enumerate(VECTORS["node_hashes"]):
        assert [tree.node(level, i) for i in range(len(row))] == [h(x) for x in row]


def test_roots_of_every_size_match_the_reference() -> None:
    """root() over a list, root_of() over stored nodes and over a leaf callable all agree."""
    tree = reference_tree()
    hashes = [leaf_hash(h(x)) for x in VECTORS["leaves"]]
    for n, want in enumerate(VECTORS["roots"]):
        assert root(hashes[:n]) == h(want)
        assert tree.root(n) == h(want)
        assert root_of(n, hashes.__getitem__) == h(want)


def test_inclusion_proofs_match_the_reference() -> None:
    """Generated audit paths are the published ones and verify against the published roots."""
    tree = reference_tree()
    for case in VECTORS["inclusion"]:
        want = [h(x) for x in case["proof"]]
        size, index = case["size"], case["index"]
        assert inclusion_proof(size, index, tree) == want
        verify_inclusion(tree.node(0, index), index, size, want, h(VECTORS["roots"][size]))


def test_consistency_proofs_match_the_reference() -> None:
    """Generated consistency proofs are the published ones and verify."""
    tree = reference_tree()
    roots = [h(x) for x in VECTORS["roots"]]
    for case in VECTORS["consistency"]:
        m, n, want = case["old_size"], case["new_size"], [h(x) for x in case["proof"]]
        assert consistency_proof(m, n, tree) == want
        verify_consistency(m, n, roots[m], roots[n], want)


# --------------------------------------------------------------------- every proof up to 64


def test_every_inclusion_proof_up_to_64_leaves_is_the_rfc_path_and_verifies() -> None:
    """The O(log n) generator equals PATH(m, D[n]) for every leaf of every size <= 64."""
    for n in range(1, LIMIT + 1):
        for i in range(n):
            proof = inclusion_proof(n, i, BIG)
            assert proof == path(i, LEAVES[:n])
            verify_inclusion(LEAVES[i], i, n, proof, ROOTS[n])


def test_every_consistency_proof_up_to_64_leaves_is_the_rfc_proof_and_verifies() -> None:
    """The generator equals PROOF(m, D[n]) for every 0 < m <= n <= 64 (empty from 0)."""
    for n in range(0, LIMIT + 1):
        for m in range(0, n + 1):
            proof = consistency_proof(m, n, BIG)
            assert proof == (subproof(m, LEAVES[:n], True) if m else [])
            verify_consistency(m, n, ROOTS[m], ROOTS[n], proof)


def test_a_leaf_callable_with_a_cache_gives_the_same_proofs_and_fills_the_cache() -> None:
    """LeafSource recomputes complete subtrees from leaves and memoises them."""
    cache: dict[tuple[int, int], bytes] = {}
    source = LeafSource(LEAVES.__getitem__, cache)
    assert inclusion_proof(37, 5, source) == inclusion_proof(37, 5, BIG)
    assert consistency_proof(21, 37, source) == consistency_proof(21, 37, BIG)
    assert cache and all(BIG.node(*key) == value for key, value in cache.items())


# ---------------------------------------------------------------------------- O(log n) reads


class CountingSource:
    """A synthetic log of any size: node hashes derived from their position, reads counted."""

    def __init__(self) -> None:
        self.reads = 0

    def node(self, level: int, index: int) -> bytes:
        self.reads += 1
        return hashlib.sha256(f"{level}/{index}".encode()).digest()


@pytest.mark.parametrize("size", [2**40 + 12345, 2**63 + 5, 2**64 - 1])
def test_proofs_for_a_huge_log_read_at_most_two_log_n_nodes(size: int) -> None:
    """A server needs O(log n) table reads per proof, whatever the log's size."""
    bound = 2 * size.bit_length()
    for make in (lambda s: inclusion_proof(size, size // 3, s),
                 lambda s: consistency_proof(size // 3 + 1, size, s),
                 lambda s: root_of(size, s)):
        source = CountingSource()
        make(source)
        assert 0 < source.reads <= bound


def test_a_server_can_fetch_the_rows_of_a_proof_in_one_query() -> None:
    """*_nodes name the rows a proof reads; proofs from just those rows are the real ones."""
    for n in range(1, LIMIT + 1):
        for i in range(0, n, 7):
            rows = {key: BIG.node(*key) for key in inclusion_nodes(n, i)}
            assert len(rows) <= 2 * n.bit_length()
            assert inclusion_proof(n, i, NodeMap(rows)) == inclusion_proof(n, i, BIG)
        for m in range(0, n + 1, 5):
            rows = {key: BIG.node(*key) for key in consistency_nodes(m, n)}
            assert consistency_proof(m, n, NodeMap(rows)) == consistency_proof(m, n, BIG)
        rows = {key: BIG.node(*key) for key in root_nodes(n)}
        assert len(rows) == bin(n).count("1") and root_of(n, NodeMap(rows)) == ROOTS[n]


def test_appending_reads_only_left_siblings_and_stores_about_two_rows_per_leaf() -> None:
    """new_nodes reads at most log2(n) stored rows; the table holds 2n - popcount(n) rows."""
    reads: list[tuple[int, int]] = []
    tree = MemoryTree()

    def node(level: int, index: int) -> bytes:
        reads.append((level, index))
        return tree.node(level, index)

    total = 0
    for i in range(1000):
        reads.clear()
        rows = new_nodes(i, leaf_hash(b"%d" % i), node)
        assert len(reads) == len(rows) - 1 <= (i + 1).bit_length()
        tree.append(b"%d" % i)
        total += len(rows)
    assert total == 2 * 1000 - bin(1000).count("1")


# ----------------------------------------------------------------------------- tampering


sizes = st.integers(min_value=1, max_value=LIMIT)


@st.composite
def leaf_in_tree(draw: Any) -> tuple[int, int]:
    """(index, size) with index < size <= LIMIT."""
    n = draw(sizes)
    return draw(st.integers(0, n - 1)), n


@st.composite
def two_sizes(draw: Any) -> tuple[int, int]:
    """(old, new) with 0 < old < new <= LIMIT."""
    n = draw(st.integers(2, LIMIT))
    return draw(st.integers(1, n - 1)), n


def refused_inclusion(leaf: bytes, index: int, size: int, proof: list[bytes],
                      root_hash: bytes) -> bool:
    """True when verify_inclusion raises ProofError."""
    try:
        verify_inclusion(leaf, index, size, proof, root_hash)
    except ProofError:
        return True
    return False


def refused_consistency(m: int, n: int, r1: bytes, r2: bytes, proof: list[bytes]) -> bool:
    """True when verify_consistency raises ProofError."""
    try:
        verify_consistency(m, n, r1, r2, proof)
    except ProofError:
        return True
    return False


def mutations(proof: list[bytes], extra: bytes, position: int, bit: int) -> list[list[bytes]]:
    """Proofs differing from `proof`: a flipped bit, a missing, added or swapped element."""
    out = [proof + [extra], [extra] + proof]
    if proof:
        j = position % len(proof)
        flipped = bytearray(proof[j])
        flipped[bit // 8] ^= 1 << (bit % 8)
        out += [proof[:j] + [bytes(flipped)] + proof[j + 1:], proof[:-1], proof[1:],
                proof[:j] + proof[j + 1:]]
        if len(proof) > 1 and proof[0] != proof[-1]:
            out.append(list(reversed(proof)))
    return [p for p in out if p != proof]


@settings(max_examples=300, deadline=None)
@given(leaf_in_tree(), st.binary(min_size=32, max_size=32), st.integers(0, 63),
       st.integers(0, 255))
def test_a_tampered_inclusion_proof_is_refused(case: tuple[int, int], extra: bytes,
                                               position: int, bit: int) -> None:
    """Any changed, missing or added element makes the audit path fail."""
    index, n = case
    proof = inclusion_proof(n, index, BIG)
    for bad in mutations(proof, extra, position, bit):
        assert refused_inclusion(LEAVES[index], index, n, bad, ROOTS[n])


@settings(max_examples=300, deadline=None)
@given(leaf_in_tree(), st.integers(0, LIMIT), st.integers(1, LIMIT))
def test_a_wrong_index_size_root_or_leaf_is_refused(case: tuple[int, int], other_index: int,
                                                    other_size: int) -> None:
    """The proof of one leaf proves nothing about another leaf, tree or position."""
    index, n = case
    proof = inclusion_proof(n, index, BIG)
    if other_index != index:
        assert refused_inclusion(LEAVES[index], other_index, n, proof, ROOTS[n])
    if other_size != n:
        assert refused_inclusion(LEAVES[index], index, other_size, proof, ROOTS[other_size])
        assert refused_inclusion(LEAVES[index], index, n, proof, ROOTS[other_size])
    assert refused_inclusion(LEAVES[(index + 1) % LIMIT], index, n, proof, ROOTS[n])
    assert refused_inclusion(LEAVES[index], index, n, proof, EMPTY_ROOT)


def test_the_size_is_bound_by_the_signed_checkpoint_not_by_the_proof() -> None:
    """A path has the same shape in trees of 5 and 6 leaves: only the root fixes the size.

    This is RFC 9162's verifier as specified (transparency-dev's too); it is why a client takes
    (size, root) only from a signed checkpoint and never trusts a size sent beside a proof.
    """
    proof = inclusion_proof(5, 0, BIG)
    verify_inclusion(LEAVES[0], 0, 6, proof, ROOTS[5])
    assert refused_inclusion(LEAVES[0], 0, 6, proof, ROOTS[6])


@settings(max_examples=300, deadline=None)
@given(two_sizes(), st.binary(min_size=32, max_size=32), st.integers(0, 63),
       st.integers(0, 255))
def test_a_tampered_consistency_proof_is_refused(case: tuple[int, int], extra: bytes,
                                                 position: int, bit: int) -> None:
    """Any changed, missing or added element makes the consistency proof fail."""
    m, n = case
    proof = consistency_proof(m, n, BIG)
    for bad in mutations(proof, extra, position, bit):
        assert refused_consistency(m, n, ROOTS[m], ROOTS[n], bad)


@settings(max_examples=300, deadline=None)
@given(two_sizes(), st.integers(0, LIMIT), st.integers(0, LIMIT))
def test_a_consistency_proof_for_other_sizes_or_roots_is_refused(case: tuple[int, int],
                                                                 m2: int, n2: int) -> None:
    """A proof between (m, n) proves nothing about other sizes; swapped or wrong roots fail."""
    m, n = case
    proof = consistency_proof(m, n, BIG)
    m2, n2 = min(m2, n2), max(m2, n2)
    if (m2, n2) != (m, n) and proof != consistency_proof(m2, n2, BIG):
        assert refused_consistency(m2, n2, ROOTS[m2], ROOTS[n2], proof)
    assert refused_consistency(m, n, ROOTS[n], ROOTS[m], proof)
    assert refused_consistency(m, n, ROOTS[m], ROOTS[n - 1], proof)
    assert refused_consistency(m, n, ROOTS[m - 1], ROOTS[n], proof)


def test_the_edge_cases_of_consistency() -> None:
    """Equal sizes need equal roots and no proof; the empty tree has a fixed root; no shrinking."""
    verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    verify_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [])
    assert refused_consistency(5, 5, ROOTS[5], ROOTS[4], [])
    assert refused_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[5]])
    assert refused_consistency(0, 5, ROOTS[1], ROOTS[5], [])
    assert refused_consistency(0, 5, EMPTY_ROOT, ROOTS[5], [ROOTS[5]])
    assert refused_consistency(6, 5, ROOTS[6], ROOTS[5], [])
    assert refused_consistency(3, 5, ROOTS[3], ROOTS[5], [])
    with pytest.raises(ProofError):
        consistency_proof(6, 5, BIG)


# -------------------------------------------------------------------------- hostile input


junk = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.floats(),
                 st.text(max_size=5), st.binary(max_size=40),
                 st.lists(st.binary(max_size=40), max_size=4))


@settings(max_examples=400, deadline=None)
@given(junk, junk, junk, junk, junk)
def test_verifiers_refuse_any_junk_with_proof_error_only(a: Any, b: Any, c: Any, d: Any,
                                                         e: Any) -> None:
    """Whatever a hostile server sends, verification fails with ProofError, never a crash."""
    for call in (lambda: verify_inclusion(a, b, c, d, e),
                 lambda: verify_consistency(a, b, c, d, e)):
        try:
            call()
        except ProofError:
            pass


@pytest.mark.parametrize("args", [(0, 0), (5, 5), (5, -1), (-1, 0), (5, True), (2**64, 0)])
def test_generation_refuses_impossible_positions(args: tuple[int, int]) -> None:
    """An index outside the tree or an impossible size is a ProofError, not a wrong proof."""
    with pytest.raises(ProofError):
        inclusion_proof(args[0], args[1], BIG)
