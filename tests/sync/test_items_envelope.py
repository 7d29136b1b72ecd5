"""Envelopes and chain heads: signatures bound to device, space and purpose; strict parsing."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from msante.sync.crypto import Purpose
from msante.sync.items import (
    Breach,
    ChainHead,
    Envelope,
    ItemError,
    Routing,
    read_item,
    write_item,
)
from tests.sync.items_helpers import (
    ALICE,
    BOB,
    MALLORY,
    OTHER_SPACE,
    SCOPE_KEY,
    chain,
    head_of,
    key_id,
    measurement,
    routing,
)

ITEMS = chain(ALICE, 2)


def test_a_written_item_reads_back() -> None:
    """The writer's key verifies the envelope, the hash names the ciphertext, it opens."""
    record = measurement(note="à jeun")
    item = write_item(record, "measurements", SCOPE_KEY, routing(record), signer=ALICE, seq=0,
                      prev=bytes(32))
    revision = read_item(item, SCOPE_KEY, ALICE.verify_key())
    assert revision.fields == record and revision.table == "measurements"


def test_an_item_re_signed_by_another_device_is_refused() -> None:
    """The server re-signs Alice's envelope with its own device's key: forged; naming its own
    device instead: another device's, refused by Alice's key and unknown to the space."""
    envelope = ITEMS[0].envelope
    resigned = dataclasses.replace(envelope, signature=MALLORY.sign(Purpose.ITEM,
                                                                   envelope.context()))
    with pytest.raises(ItemError) as caught:
        resigned.verify(ALICE.verify_key())
    assert caught.value.breach is Breach.FORGED
    renamed = dataclasses.replace(envelope, routing=dataclasses.replace(
        envelope.routing, device=key_id(MALLORY)), signature=b"").sign(MALLORY)
    with pytest.raises(ItemError) as caught:
        renamed.verify(ALICE.verify_key())
    assert caught.value.breach is Breach.OTHER_DEVICE


def test_an_envelope_cannot_be_signed_by_another_device() -> None:
    """Signing names the signer: a device cannot sign an envelope naming another."""
    with pytest.raises(ValueError):
        ITEMS[0].envelope.sign(BOB)


@pytest.mark.parametrize("change", [
    {"seq": 5}, {"prev": b"\x01" * 32}, {"ciphertext_sha256": b"\x02" * 32},
])
def test_every_signed_field_is_covered(change: dict[str, Any]) -> None:
    """Any change of the chain position or of the ciphertext hash breaks the signature."""
    changed = dataclasses.replace(ITEMS[1].envelope, **change)
    with pytest.raises(ItemError) as caught:
        changed.verify(ALICE.verify_key())
    assert caught.value.breach is Breach.FORGED


@pytest.mark.parametrize("change", [
    {"space": OTHER_SPACE}, {"scope": "documents"}, {"record": "r2"}, {"revision": "v2"},
    {"base": "v0"}, {"key_version": 7},
])
def test_every_routing_field_is_signed(change: dict[str, Any]) -> None:
    """Replayed into another space, or with any routing field changed: the signature fails."""
    envelope = ITEMS[0].envelope
    moved = dataclasses.replace(envelope, routing=dataclasses.replace(envelope.routing, **change))
    with pytest.raises(ItemError) as caught:
        moved.verify(ALICE.verify_key())
    assert caught.value.breach is Breach.FORGED


def test_an_item_signature_is_not_a_chain_head_signature() -> None:
    """Purposes keep the two signed objects apart."""
    head = head_of(ALICE, ITEMS[1])
    envelope = ITEMS[1].envelope
    with pytest.raises(ItemError):
        dataclasses.replace(head, signature=envelope.signature).verify(ALICE.verify_key())
    with pytest.raises(ItemError):
        dataclasses.replace(envelope, signature=head.signature).verify(ALICE.verify_key())


def test_the_item_hash_commits_to_the_ciphertext_not_the_signature() -> None:
    """The hash is over the signed fields (the ciphertext's hash included)."""
    envelope = ITEMS[0].envelope
    assert envelope.hash() == envelope.sign(ALICE).hash()
    assert envelope.hash() != dataclasses.replace(envelope, ciphertext_sha256=b"\0" * 32).hash()


def test_json_round_trips() -> None:
    """to_json/from_json give back the same envelope and head, signatures verifying."""
    envelope = ITEMS[1].envelope
    back = Envelope.from_json(envelope.to_json())
    assert back == envelope
    back.verify(ALICE.verify_key())
    head = head_of(ALICE, ITEMS[1])
    assert ChainHead.from_json(head.to_json()) == head
    assert json.loads(envelope.to_json())["v"] == 1


def _mutations(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Each field removed, set to a wrong type, or one extra field."""
    out: list[dict[str, Any]] = [obj | {"extra": 1}]
    for key in obj:
        out.append({k: v for k, v in obj.items() if k != key})
        for wrong in (None, True, -1, 2**60, "", "!!", [], {}, "A" * 68, 1.5, 1.0):
            if obj[key] != wrong:
                out.append(obj | {key: wrong})
    return out


@pytest.mark.parametrize("what", ["envelope", "head"])
def test_every_malformed_field_is_an_item_error(what: str) -> None:
    """Missing, extra, mistyped or mis-sized fields: ItemError (malformed), nothing else."""
    cls: Any = Envelope if what == "envelope" else ChainHead
    genuine = ITEMS[0].envelope.to_json() if what == "envelope" else \
        head_of(ALICE, ITEMS[0]).to_json()
    parsed = json.loads(genuine)
    for mutated in _mutations(parsed):
        with pytest.raises(ItemError) as caught:
            cls.from_json(json.dumps(mutated))
        assert caught.value.breach is Breach.MALFORMED


@pytest.mark.parametrize("text", [
    b"", b"{", b"[]", b"null", b"\xff", b'{"v": NaN}',
    b'{"v":1,"v":1,"space":"s","device":"","seq":0,"item":"","signature":""}',
])
def test_unreadable_json_is_an_item_error(text: bytes) -> None:
    """Not JSON, a repeated key, NaN: malformed."""
    for cls in (Envelope, ChainHead):
        with pytest.raises(ItemError):
            cls.from_json(text)  # type: ignore[attr-defined]


def test_base64_must_be_canonical() -> None:
    """Padding, standard-alphabet characters or non-canonical trailing bits are refused."""
    parsed = json.loads(ITEMS[0].envelope.to_json())
    prev = parsed["prev"]
    last = prev[-1]
    other = "B" if last == "A" else "A"   # same 6-bit group, other unused low bits
    for spelling in (prev + "=", prev.replace("-", "+") if "-" in prev else prev + "+",
                     prev[:-1] + other):
        if spelling == prev:
            continue
        with pytest.raises(ItemError):
            Envelope.from_json(json.dumps(parsed | {"prev": spelling}))


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=400) | st.text(max_size=200))
def test_random_input_is_only_ever_an_item_error(data: bytes | str) -> None:
    """Anything at all given to from_json raises ItemError or parses; nothing else escapes."""
    for cls in (Envelope, ChainHead):
        try:
            cls.from_json(data)  # type: ignore[attr-defined]
        except ItemError:
            pass


IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)


@settings(max_examples=40, deadline=None)
@given(space=IDS, record=IDS, revision=IDS, base=st.none() | IDS,
       scope=st.sampled_from(["agenda", "documents", "measurements", "profile"]),
       key_version=st.integers(0, 2**31 - 1), seq=st.integers(0, 2**53 - 1),
       prev=st.binary(min_size=32, max_size=32), digest=st.binary(min_size=32, max_size=32))
def test_signed_envelopes_round_trip_through_json(space: str, record: str, revision: str,
                                                  base: str | None, scope: str,
                                                  key_version: int, seq: int, prev: bytes,
                                                  digest: bytes) -> None:
    """Any valid envelope, signed, survives to_json/from_json and still verifies; so does
    its chain head."""
    route = Routing(space=space, scope=scope, record=record, revision=revision, base=base,
                    key_version=key_version, device=key_id(BOB))
    envelope = Envelope(routing=route, seq=seq, prev=prev, ciphertext_sha256=digest).sign(BOB)
    back = Envelope.from_json(envelope.to_json())
    assert back == envelope and back.hash() == envelope.hash()
    back.verify(BOB.verify_key())
    head = ChainHead(space=space, device=key_id(BOB), seq=seq, item=envelope.hash()).sign(BOB)
    again = ChainHead.from_json(head.to_json().decode())
    assert again == head
    again.verify(BOB.verify_key())
