"""msante.sync.logleaf: the leaf layouts client and server share, strict both ways."""

from __future__ import annotations

import pytest

from msante.sync.logleaf import (
    ChainLeaf,
    EventLeaf,
    chain_key,
    chain_leaf,
    check_chain_id,
    event_leaf,
    parse_leaf,
)


def test_leaves_round_trip_and_differ_by_kind() -> None:
    """A chain leaf and an event leaf parse back to what made them."""
    h = bytes(range(32))
    leaf = chain_leaf("space:abc", 7, h)
    assert parse_leaf(leaf) == ChainLeaf(chain_key("space:abc"), 7, h)
    assert chain_key("space:abc") != chain_key("account:abc")
    assert parse_leaf(event_leaf(h, b"commit")) == EventLeaf(h, b"commit")
    assert b"abc" not in leaf


@pytest.mark.parametrize("bad", ["", "account", "account:", "device:x", "space:a b",
                                 "space:" + "x" * 65, 3])
def test_chain_ids_are_strict(bad: object) -> None:
    """Only account:<id> and space:<id> with server ids."""
    with pytest.raises(ValueError):
        check_chain_id(bad)


def test_bad_fields_and_bytes_are_value_errors() -> None:
    """Wrong hash sizes, seqs, commitments or leaf bytes: ValueError, never a wrong leaf."""
    h = bytes(32)
    for call in (lambda: chain_leaf("space:a", -1, h), lambda: chain_leaf("space:a", 0, b"x"),
                 lambda: chain_leaf("space:a", True, h), lambda: event_leaf(b"x", b"c"),
                 lambda: event_leaf(h, b""), lambda: parse_leaf(b"other"),
                 lambda: parse_leaf(chain_leaf("space:a", 0, h)[:-1]),
                 lambda: parse_leaf(event_leaf(h, b"abc") + b"!")):
        with pytest.raises(ValueError):
            call()
