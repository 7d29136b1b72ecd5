"""Sealing record revisions: round trips, associated data binding, damage, padding."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import uuid
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.sync.crypto import canonical, pad
from msante.sync.items import (
    SCOPES,
    Breach,
    ItemError,
    Routing,
    open_item,
    read_item,
    seal_item,
    write_item,
)
from msante.sync.items.payload import OVERHEAD
from msante.sync.padme import padded_length
from tests.sync.items_helpers import (
    ALICE,
    BOB,
    SCOPE_KEY,
    SPACE,
    key_id,
    measurement,
    routing,
)

JSON_SCALARS = st.one_of(
    st.none(), st.booleans(), st.text(max_size=40),
    st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
    st.floats(allow_nan=False, allow_infinity=False))
RECORDS = st.dictionaries(st.from_regex(r"[a-z_][a-z0-9_]{0,15}", fullmatch=True)
                          .filter(lambda k: k != "id"), JSON_SCALARS, max_size=12)
IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(record=RECORDS, table=st.sampled_from(["measurements", "profile_entries", "documents"]),
       space=IDS, record_id=IDS, revision=IDS, base=st.none() | IDS,
       scope=st.sampled_from(SCOPES), key_version=st.integers(0, 2**31 - 1),
       deleted=st.booleans())
def test_seal_then_open_gives_the_revision_back(record: dict[str, Any], table: str, space: str,
                                                record_id: str, revision: str,
                                                base: str | None, scope: str, key_version: int,
                                                deleted: bool) -> None:
    """Any serialised record comes back with its table, ids and deleted flag."""
    route = Routing(space=space, scope=scope, record=record_id, revision=revision, base=base,
                    key_version=key_version, device=key_id(ALICE))
    fields = record | {"id": record_id}
    sealed = seal_item(fields, table, SCOPE_KEY, route, deleted=deleted)
    opened = open_item(sealed, SCOPE_KEY, route)
    assert (opened.table, opened.record, opened.revision, opened.base, opened.deleted) == \
        (table, record_id, revision, base, deleted)
    assert opened.fields == fields
    assert len(sealed) == OVERHEAD + padded_length(len(canonical(
        {"table": table, "record": record_id, "revision": revision, "base": base,
         "deleted": deleted, "fields": fields})))


def test_two_seals_of_one_revision_differ() -> None:
    """A fresh nonce each time: the server cannot tell a re-seal from its ciphertext."""
    record = measurement()
    route = routing(record)
    assert seal_item(record, "measurements", SCOPE_KEY, route) != \
        seal_item(record, "measurements", SCOPE_KEY, route)


def test_the_table_name_is_not_in_the_clear() -> None:
    """The table, the columns and their values are inside the ciphertext only."""
    record = measurement(note="tension prise au réveil")
    sealed = seal_item(record, "measurements", SCOPE_KEY, routing(record))
    for clear in (b"measurements", b"weight", b"kg", "réveil".encode(), b"note"):
        assert clear not in sealed


@pytest.mark.parametrize("change", [
    {"space": "h-other"}, {"scope": "profile"}, {"record": "another-record"},
    {"revision": "another-revision"}, {"base": "some-base"}, {"key_version": 2},
    {"device": hashlib.sha256(b"another device").digest()},
])
def test_every_routing_field_is_bound(change: dict[str, Any]) -> None:
    """Moved under routing that differs in any one field, a ciphertext does not open."""
    record = measurement()
    route = routing(record)
    sealed = seal_item(record, "measurements", SCOPE_KEY, route)
    with pytest.raises(ItemError) as caught:
        open_item(sealed, SCOPE_KEY, dataclasses.replace(route, **change))
    assert caught.value.breach is Breach.DAMAGED


def test_swapping_two_items_ciphertexts_is_caught() -> None:
    """Two genuine items of one device: each ciphertext under the other's envelope fails.

    The envelope's signed hash catches it first (swapped); the associated data catches it
    even where the hash is not checked (damaged).
    """
    first, second = measurement(note="a"), measurement(note="b")
    one = write_item(first, "measurements", SCOPE_KEY, routing(first), signer=ALICE, seq=0,
                     prev=bytes(32))
    two = write_item(second, "measurements", SCOPE_KEY, routing(second), signer=ALICE, seq=1,
                     prev=one.hash())
    swapped = [dataclasses.replace(one, ciphertext=two.ciphertext),
               dataclasses.replace(two, ciphertext=one.ciphertext)]
    for item in swapped:
        with pytest.raises(ItemError) as caught:
            read_item(item, SCOPE_KEY, ALICE.verify_key())
        assert caught.value.breach is Breach.SWAPPED
        with pytest.raises(ItemError) as caught:
            open_item(item.ciphertext, SCOPE_KEY, item.envelope.routing)
        assert caught.value.breach is Breach.DAMAGED


def test_another_scope_key_cannot_open() -> None:
    """A key of another scope, space or version opens nothing."""
    record = measurement()
    route = routing(record)
    sealed = seal_item(record, "measurements", SCOPE_KEY, route)
    with pytest.raises(ItemError):
        open_item(sealed, os.urandom(32), route)


def _sealed() -> tuple[bytes, Routing]:
    record = measurement(note="x")
    route = routing(record)
    return seal_item(record, "measurements", SCOPE_KEY, route), route


def test_every_flipped_bit_is_an_item_error() -> None:
    """Each single-bit change anywhere in a ciphertext is refused, and only with ItemError."""
    sealed, route = _sealed()
    for index in range(len(sealed)):
        for bit in range(8):
            damaged = bytearray(sealed)
            damaged[index] ^= 1 << bit
            with pytest.raises(ItemError):
                open_item(bytes(damaged), SCOPE_KEY, route)


def test_every_truncation_and_extension_is_an_item_error() -> None:
    """Every prefix, and the ciphertext with bytes added, is refused with ItemError."""
    sealed, route = _sealed()
    for cut in range(len(sealed)):
        with pytest.raises(ItemError):
            open_item(sealed[:cut], SCOPE_KEY, route)
    for extra in (b"\x00", b"\x80", os.urandom(16)):
        with pytest.raises(ItemError):
            open_item(sealed + extra, SCOPE_KEY, route)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_are_only_ever_item_errors(data: bytes) -> None:
    """Whatever the server sends as a ciphertext, opening it raises ItemError, nothing else."""
    _sealed_unused, route = _sealed()
    with pytest.raises(ItemError):
        open_item(data, SCOPE_KEY, route)


@pytest.mark.parametrize("payload", [
    b"not json", b"[]", b'{"table": "measurements"}', b"\xff\xfe",
    b'{"base":null,"deleted":false,"fields":{},"record":"R","revision":"V","table":"x"}',
    b'{"base":null,"deleted":0,"fields":{},"record":"RID","revision":"REV","table":"x"}',
    b'{"base":null,"deleted":false,"fields":[],"record":"RID","revision":"REV","table":"x"}',
    b'{"base":null,"deleted":false,"fields":{"id":"other"},"record":"RID","revision":"REV",'
    b'"table":"x"}',
    b'{"base":null,"deleted":false,"fields":{},"record":"RID","revision":"REV","table":"X;"}',
    b'{"base":null,"base":null,"deleted":false,"fields":{},"record":"RID","revision":"REV",'
    b'"table":"x"}',
    b'{"base":null,"deleted":false,"fields":{"v":NaN},"record":"RID","revision":"REV",'
    b'"table":"x"}',
])
def test_a_bad_payload_under_a_valid_key_is_malformed(payload: bytes) -> None:
    """A ciphertext that authenticates but holds no well-formed revision is still refused."""
    route = Routing(space=SPACE, scope="measurements", record="RID", revision="REV", base=None,
                    key_version=1, device=key_id(ALICE))
    nonce = os.urandom(12)
    for body in (pad(payload), payload):
        sealed = b"\x01" + nonce + AESGCM(SCOPE_KEY).encrypt(nonce, body,
                                                              route.associated_data())
        with pytest.raises(ItemError) as caught:
            open_item(sealed, SCOPE_KEY, route)
        assert caught.value.breach is Breach.MALFORMED


def test_padding_hides_the_exact_size_of_small_records() -> None:
    """Two small records of different sizes give ciphertexts of the same length."""
    rid = str(uuid.uuid4())
    short = {"id": rid, "rule": "ror", "dose": 1, "done_on": "2026-01-05", "note": None}
    longer = short | {"rule": "dtpca", "dose": 12}
    route = routing(short, scope="agenda")
    a = seal_item(short, "prevention_done", SCOPE_KEY, route)
    b = seal_item(longer, "prevention_done", SCOPE_KEY, route)
    assert len(canonical(short)) != len(canonical(longer))
    assert len(a) == len(b) == OVERHEAD + 256


def test_sizes_leak_only_their_padme_bucket() -> None:
    """Notes of 0 to 3000 characters give few distinct ciphertext lengths, each a Padmé size."""
    lengths = set()
    rid = str(uuid.uuid4())
    route = routing({"id": rid})
    for size in range(0, 3000, 7):
        record = measurement(note="x" * size, rid=rid)
        lengths.add(len(seal_item(record, "measurements", SCOPE_KEY, route)))
    assert len(lengths) <= 60                      # 429 different plaintext sizes
    assert all(padded_length(n - OVERHEAD - 1) == n - OVERHEAD for n in lengths)


@pytest.mark.parametrize("bad", [
    {"key": b"short"}, {"key": "x" * 32}, {"table": "Measurements"}, {"table": "a b"},
    {"record": {"id": "not-the-routing-record"}}, {"record": {"blob": b"bytes"}},
    {"record": {"nested": [{"deep": b"bytes"}]}}, {"record": {"v": float("nan")}},
    {"record": {1: "non-string key"}},
])
def test_programming_errors_are_value_errors(bad: dict[str, Any]) -> None:
    """Wrong arguments from the caller (not from the network) are ValueError, before sealing."""
    record = measurement()
    args: dict[str, Any] = {"record": record, "table": "measurements", "key": SCOPE_KEY}
    args |= bad
    with pytest.raises(ValueError):
        seal_item(args["record"], args["table"], args["key"], routing(record))


@pytest.mark.parametrize("change", [
    {"space": "bad space"}, {"space": ""}, {"scope": "secrets"}, {"record": "x" * 65},
    {"revision": "a/b"}, {"base": ""}, {"key_version": -1}, {"key_version": 2**31},
    {"key_version": True}, {"device": b"short"},
])
def test_bad_routing_fields_are_refused(change: dict[str, Any]) -> None:
    """Routing fields hold only what the server's ids and the formats allow."""
    fields: dict[str, Any] = {"space": SPACE, "scope": "profile", "record": "r", "revision": "v",
                              "base": None, "key_version": 0, "device": key_id(BOB)}
    with pytest.raises(ValueError):
        Routing(**(fields | change))
