"""Fuzzing the link messages (msante/sync/link.py): any flipped bit, cut or extension of a
bundle or an answer, random bytes, and any malformed content sealed under the right code (by
someone who has it) are refused with LinkError (or ChainError: IntegrityError subclasses) —
never accepted, never another exception."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from msante.errors import IntegrityError
from msante.sync.chains import b64e, device_bundle
from msante.sync.crypto import Purpose, canonical, sign_then_seal
from msante.sync.link import LinkError, rendezvous_id
from tests.sync.link_helpers import NEW_KEY, NEW_SEAL, OLD_KEY, T0, link, seal_obj, seal_raw

SETTINGS = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LINK = link()
REQUEST, _CANDIDATE, _ENTRY, AFTER, REPLY = LINK.run()
OPEN = link(code=LINK.code)  # a fresh offer on the same code: the fuzzed bundles go there
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=40)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12)


def refused_bundle(message: bytes) -> None:
    """The offer refuses `message` with a LinkError and nothing else."""
    try:
        OPEN.offer.open(message, T0)
    except LinkError:
        return
    raise AssertionError("a tampered bundle was accepted")


def refused_reply(message: bytes) -> None:
    """The new device refuses `message` with an IntegrityError subclass and nothing else."""
    try:
        LINK.join.finish(message, T0)
    except IntegrityError:
        return
    raise AssertionError("a tampered answer was accepted")


@SETTINGS
@given(st.data())
def test_any_flipped_bit_in_a_bundle_is_refused(data: st.DataObject) -> None:
    """Every bit of the sealed bundle counts: version, nonce, ciphertext, tag."""
    position = data.draw(st.integers(0, len(REQUEST) * 8 - 1))
    tampered = bytearray(REQUEST)
    tampered[position // 8] ^= 1 << position % 8
    refused_bundle(bytes(tampered))


@SETTINGS
@given(st.data())
def test_any_flipped_bit_in_an_answer_is_refused(data: st.DataObject) -> None:
    """Every bit of the sealed answer counts."""
    position = data.draw(st.integers(0, len(REPLY) * 8 - 1))
    tampered = bytearray(REPLY)
    tampered[position // 8] ^= 1 << position % 8
    refused_reply(bytes(tampered))


@SETTINGS
@given(st.integers(0, len(REQUEST) - 1), st.binary(max_size=64))
def test_cut_or_extended_bundles_are_refused(cut: int, extra: bytes) -> None:
    """A bundle cut anywhere, or with bytes added, does not open."""
    refused_bundle(REQUEST[:cut])
    if extra:
        refused_bundle(REQUEST + extra)
        refused_reply(REPLY + extra)
    refused_reply(REPLY[:cut])


@SETTINGS
@given(st.binary(max_size=2048))
def test_random_bytes_are_refused(junk: bytes) -> None:
    """Random bytes at the rendezvous are LinkErrors on both sides."""
    refused_bundle(junk)
    refused_reply(junk)


@SETTINGS
@given(json_values)
def test_any_content_under_the_right_code_is_only_refused(value: object) -> None:
    """Whoever holds the code can seal anything: a malformed bundle is still a LinkError."""
    refused_bundle(seal_obj(LINK.code, "link-bundle", "alice", {"bundle": value}))
    refused_reply(seal_obj(LINK.code, "link-reply", "alice", {"sender": value, "sealed": value}))
    refused_bundle(seal_raw(LINK.code, "link-bundle", "alice", json.dumps(value).encode()))


@SETTINGS
@given(st.sampled_from(["name", "verify", "seal", "proof"]), json_values)
def test_any_field_of_a_genuine_bundle_replaced_is_refused(name: str, value: object) -> None:
    """One field of an otherwise genuine bundle replaced by anything: refused."""
    bundle = dict(device_bundle("account:alice", "phone", NEW_KEY, NEW_SEAL.public_key()))
    assume(bundle[name] != value)
    bundle[name] = value
    refused_bundle(seal_obj(LINK.code, "link-bundle", "alice", {"bundle": bundle}))


@SETTINGS
@given(st.sampled_from(["account", "entries"]), json_values)
def test_any_malformed_signed_answer_is_refused(name: str, value: object) -> None:
    """A validly signed and sealed answer whose body is malformed: refused, never a crash."""
    body: dict[str, object] = {"account": "alice",
                               "entries": [e.to_json().decode() for e in AFTER.entries]}
    assume(body[name] != value)
    body[name] = value
    context = {"account": "alice", "rendezvous": rendezvous_id(LINK.code),
               "device": NEW_KEY.verify_key().key_id()}
    inner = sign_then_seal(OLD_KEY, NEW_SEAL.public_key(), Purpose.LINK, context,
                           canonical(body))
    refused_reply(seal_obj(LINK.code, "link-reply", "alice",
                           {"sender": b64e(OLD_KEY.verify_key().to_bytes()),
                            "sealed": b64e(inner)}))


def test_the_genuine_messages_pass_the_same_checks() -> None:
    """The control for the fuzzing above: untouched, both messages are accepted."""
    assert link(code=LINK.code).offer.open(REQUEST, T0).key_id == NEW_KEY.verify_key().key_id()
    assert LINK.join.finish(REPLY, T0).state.head == AFTER.head
