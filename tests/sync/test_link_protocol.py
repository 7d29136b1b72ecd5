"""Attacks on device linking (msante/sync/link.py): a wrong code, another code's or another
account's bundle, a replayed or substituted bundle, an expired code, a forged answer — each
refused with a LinkError (exit 6) or LinkExpired; and no private key ever travels."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from msante.errors import IntegrityError
from msante.sync.chains import AccountChain, ChainEntry, ChainError, b64e, device_bundle
from msante.sync.crypto import (
    Purpose,
    SealKey,
    SigningKey,
    open_signed,
    sign_then_seal,
    unpad,
)
from msante.sync.link import (
    VALID_FOR,
    LinkCode,
    LinkError,
    LinkExpired,
    LinkJoin,
    LinkOffer,
    link_key,
    rendezvous_id,
)
from msante.sync.link_code import WORD_BITS
from msante.sync.signing import word_list
from tests.sync.link_helpers import (
    NEW_KEY,
    NEW_SEAL,
    OLD_KEY,
    OLD_SEAL,
    OTHER_KEY,
    OTHER_SEAL,
    STATE,
    T0,
    link,
    seal_obj,
)


def test_an_honest_link_adds_the_new_device_to_the_verified_chain() -> None:
    """The control: the chain both ends verify lists the new device, added by the old one."""
    lk = link()
    _request, candidate, entry, after, reply = lk.run()
    assert candidate.fingerprint() == lk.join.fingerprint()  # what the person compares
    linked = lk.join.finish(reply, T0)
    state = AccountChain.verify(linked.state.entries, expect_first_key=OLD_KEY.verify_key())
    assert set(state.devices) == {OLD_KEY.verify_key().key_id(), NEW_KEY.verify_key().key_id()}
    assert state.devices[NEW_KEY.verify_key().key_id()].seal == NEW_SEAL.public_key()
    assert state.devices[NEW_KEY.verify_key().key_id()].name == "phone"
    assert linked.linked_by == OLD_KEY.verify_key() and entry.kind == "add-device"
    assert entry.signer == OLD_KEY.verify_key().key_id() and state.head == after.head


def test_a_code_with_one_word_changed_cannot_open_the_bundle() -> None:
    """The typo is caught when typed; even forced through, the bundle does not open."""
    lk = link()
    words = lk.code.words().split()
    words[4] = word_list()[(word_list().index(words[4]) + 1) % (1 << WORD_BITS)]
    with pytest.raises(ValueError, match="typo"):
        LinkCode.parse(" ".join(words), T0)
    number = int.from_bytes(lk.code.secret, "big") ^ (1 << 100)  # one word's bits, no CRC
    wrong = LinkCode(number.to_bytes(20, "big"), T0)
    assert rendezvous_id(wrong) != lk.offer.rendezvous  # it would not even meet
    forced = link(code=lk.code, typed=wrong)
    with pytest.raises(LinkError, match="does not open") as info:
        forced.offer.open(forced.join.request(), T0)
    assert info.value.reason == "does-not-open"


def test_a_bundle_sealed_under_another_code_is_refused() -> None:
    """A bundle made for one link offer does not open in another."""
    first, second = link(), link()
    with pytest.raises(LinkError) as info:
        second.offer.open(first.join.request(), T0)
    assert info.value.reason == "does-not-open"


def test_a_bundle_sealed_for_another_account_is_refused() -> None:
    """The server told the new device another account: the associated data differs."""
    lk = link(account="mallory")
    with pytest.raises(LinkError) as info:
        link(code=lk.code).offer.open(lk.join.request(), T0)
    assert info.value.reason == "does-not-open"


def test_a_bundle_whose_proof_names_another_account_is_refused() -> None:
    """Sealed for this account, but the device consented to another: not its consent here."""
    lk = link()
    bundle = device_bundle("account:mallory", "phone", NEW_KEY, NEW_SEAL.public_key())
    with pytest.raises(LinkError) as info:
        lk.offer.open(seal_obj(lk.code, "link-bundle", "alice", {"bundle": bundle}), T0)
    assert info.value.reason == "forged"


def test_a_bundle_whose_keys_were_swapped_is_refused() -> None:
    """Someone holding the code swaps the seal key in a genuine bundle: the proof fails."""
    lk = link()
    bundle = device_bundle("account:alice", "phone", NEW_KEY, NEW_SEAL.public_key())
    bundle["seal"] = b64e(OTHER_SEAL.public_key().to_bytes())
    with pytest.raises(LinkError) as info:
        lk.offer.open(seal_obj(lk.code, "link-bundle", "alice", {"bundle": bundle}), T0)
    assert info.value.reason == "forged"


def test_a_bundle_replayed_after_use_is_refused() -> None:
    """The code links one device: the same bundle again, or a second device, is refused."""
    lk = link()
    request = lk.join.request()
    lk.offer.open(request, T0)
    with pytest.raises(LinkError, match="already used") as info:
        lk.offer.open(request, T0)
    assert info.value.reason == "used"
    second = LinkJoin(lk.code, "alice", "tablet", OTHER_KEY, OTHER_SEAL)
    with pytest.raises(LinkError, match="already used"):
        lk.offer.open(second.request(), T0)
    with pytest.raises(LinkError) as info:  # a later offer has its own code
        link().offer.open(request, T0)
    assert info.value.reason == "does-not-open"


def test_a_device_already_in_the_account_is_refused() -> None:
    """A bundle of a key the chain knows (replayed from an earlier link) adds nothing."""
    lk = link()
    old = LinkJoin(lk.code, "alice", "again", OLD_KEY, OLD_SEAL)
    with pytest.raises(LinkError) as info:
        lk.offer.open(old.request(), T0)
    assert info.value.reason == "known-device"


def test_a_server_substituting_its_own_bundle_is_refused() -> None:
    """The server sees the rendezvous id, not the code: nothing it seals opens."""
    lk = link()
    rid = lk.offer.rendezvous
    server = LinkJoin(LinkCode(bytes(20), T0), "alice", "server", OTHER_KEY, OTHER_SEAL)
    guessed = seal_obj(LinkCode(bytes(20), T0), "link-bundle", "alice",
                       {"bundle": device_bundle("account:alice", "s", OTHER_KEY,
                                                OTHER_SEAL.public_key())})
    plain = json.dumps({"bundle": rid}).encode()
    for message in (server.request(), guessed, plain, rid.encode(), b""):
        with pytest.raises(LinkError) as info:
            lk.offer.open(message, T0)
        assert info.value.reason == "does-not-open"
    lk.offer.open(lk.join.request(), T0)  # failures did not spend the code


def test_a_server_substituting_the_answer_is_refused() -> None:
    """An answer the server makes (no code), or re-seals to itself, does not open."""
    lk = link()
    *_rest, reply = lk.run()
    guess = LinkCode(bytes(20), T0)
    for message in (_forged_reply(guess, OTHER_KEY, "alice", list(STATE.entries)),
                    lk.join.request(), reply[:-1], b""):  # its own, a bundle reflected, cut
        with pytest.raises(LinkError) as info:
            lk.join.finish(message, T0)
        assert info.value.reason == "does-not-open"
    stranger = LinkJoin(lk.code, "alice", "phone", OTHER_KEY, OTHER_SEAL)
    with pytest.raises(LinkError) as info:
        stranger.finish(reply, T0)  # sealed to the new device's key, not the stranger's
    assert info.value.reason == "does-not-open"


def test_a_code_past_ten_minutes_is_refused() -> None:
    """At 9:59 the link works; at 10:00 the old device refuses the bundle, the new the answer."""
    lk = link()
    request = lk.join.request()
    with pytest.raises(LinkExpired, match="10 minutes"):
        lk.offer.open(request, T0 + VALID_FOR)
    candidate = lk.offer.open(request, T0 + VALID_FOR - timedelta(seconds=1))
    after = AccountChain.verify([*STATE.entries, lk.offer.add_device(candidate)])
    reply = lk.offer.reply(candidate, after)
    with pytest.raises(LinkExpired):
        lk.join.finish(reply, T0 + VALID_FOR)
    assert lk.join.finish(reply, T0 + VALID_FOR - timedelta(seconds=1)).state.head == after.head


def _reply_body(lk_code: LinkCode, reply: bytes) -> tuple[bytes, bytes]:
    """The outer plaintext of an answer and the body inside (opened by the new device)."""
    outer = unpad(AESGCM(link_key(lk_code)).decrypt(reply[1:13], reply[13:], _aad(lk_code)))
    obj = json.loads(outer)
    from msante.sync.chains import b64d

    context = {"account": "alice", "rendezvous": rendezvous_id(lk_code),
               "device": NEW_KEY.verify_key().key_id()}
    sender = OLD_KEY.verify_key()
    return outer, open_signed(NEW_SEAL, sender, Purpose.LINK, context,
                              b64d(obj["sealed"], "sealed"))


def _aad(code: LinkCode, label: str = "link-reply") -> bytes:
    """The associated data of a link message for alice."""
    from msante.sync.crypto import canonical

    return (b"msante/v1/" + label.encode() + b"\0"
            + canonical({"account": "alice", "rendezvous": rendezvous_id(code)}))


def test_no_private_key_travels() -> None:
    """Both messages, opened, hold public keys only: no device's private key in any form."""
    lk = link()
    request, *_rest, reply = lk.run()
    bundle = unpad(AESGCM(link_key(lk.code)).decrypt(request[1:13], request[13:],
                                                     _aad(lk.code, "link-bundle")))
    outer, body = _reply_body(lk.code, reply)
    privates = [k.private_bytes() for k in (OLD_KEY, OLD_SEAL, NEW_KEY, NEW_SEAL)]
    for plain in (bundle, outer, body, request, reply):
        for secret in privates:
            for form in (secret, secret[1:], b64e(secret).encode(), b64e(secret[1:]).encode(),
                         secret.hex().encode(), secret[1:33], b64e(secret[1:33]).encode()):
                assert form not in plain
    assert set(json.loads(bundle)["bundle"]) == {"name", "verify", "seal", "proof"}
    assert set(json.loads(outer)) == {"sender", "sealed"}
    entries = [ChainEntry.from_json(e) for e in json.loads(body)["entries"]]
    assert [e.kind for e in entries] == ["genesis", "add-device"]


def _forged_reply(lk_code: LinkCode, key: SigningKey, account: str,
                  entries: list[ChainEntry], to: SealKey = NEW_SEAL) -> bytes:
    """An answer made by hand by someone holding the code and `key`."""
    from msante.sync.crypto import canonical

    context = {"account": "alice", "rendezvous": rendezvous_id(lk_code),
               "device": NEW_KEY.verify_key().key_id()}
    body = canonical({"account": account, "entries": [e.to_json().decode() for e in entries]})
    inner = sign_then_seal(key, to.public_key(), Purpose.LINK, context, body)
    return seal_obj(lk_code, "link-reply", "alice",
                    {"sender": b64e(key.verify_key().to_bytes()), "sealed": b64e(inner)})


def test_an_answer_for_another_account_is_refused() -> None:
    """The signed body names another account than the one joined."""
    lk = link()
    *_rest, after, _reply = lk.run()
    with pytest.raises(LinkError) as info:
        lk.join.finish(_forged_reply(lk.code, OLD_KEY, "bob", list(after.entries)), T0)
    assert info.value.reason == "wrong-account"


def test_an_answer_whose_chain_omits_the_new_device_is_refused() -> None:
    """The chain must list this device, with its own seal key, added by the sender."""
    lk = link()
    *_rest, after, _reply = lk.run()
    with pytest.raises(LinkError) as info:
        lk.join.finish(_forged_reply(lk.code, OLD_KEY, "alice", list(STATE.entries)), T0)
    assert info.value.reason == "not-listed"
    other = AccountChain.add_device(STATE, OLD_KEY, device_bundle(
        "account:alice", "phone", NEW_KEY, OTHER_SEAL.public_key()))
    with pytest.raises(LinkError) as info:  # the new device's key with a seal key not its own
        lk.join.finish(_forged_reply(lk.code, OLD_KEY, "alice", [*STATE.entries, other]), T0)
    assert info.value.reason == "not-listed"


def test_an_answer_signed_by_a_key_outside_the_chain_is_refused() -> None:
    """Someone with the code but no device of the account signs the genuine chain."""
    lk = link()
    *_rest, after, _reply = lk.run()
    with pytest.raises(LinkError) as info:
        lk.join.finish(_forged_reply(lk.code, OTHER_KEY, "alice", list(after.entries)), T0)
    assert info.value.reason == "not-listed"


def test_an_answer_with_an_altered_chain_is_refused() -> None:
    """A chain entry changed inside a validly signed answer fails the chain's own checks."""
    lk = link()
    *_rest, after, _reply = lk.run()
    forged = ChainEntry.create(OTHER_KEY, after.chain, 1, after.entries[1].prev, "add-device",
                               after.entries[1].body)
    with pytest.raises(ChainError) as info:
        lk.join.finish(_forged_reply(lk.code, OLD_KEY, "alice", [STATE.entries[0], forged]),
                       T0)
    assert isinstance(info.value, IntegrityError) and info.value.reason == "unknown-signer"


def test_the_rendezvous_id_is_not_the_key() -> None:
    """What the server sees is another HKDF output: not the key, not the secret."""
    code = LinkCode.new()
    rid = rendezvous_id(code)
    assert b64e(link_key(code)) != rid and b64e(code.secret) not in rid
    assert code.secret not in link_key(code) and len(link_key(code)) == 32
    assert rendezvous_id(LinkCode.new()) != rid


def test_only_the_opened_candidate_can_be_added_or_answered() -> None:
    """The offer signs nothing for a device it did not open, nor a chain without it."""
    lk = link()
    other = link()
    candidate = other.offer.open(other.join.request(), T0)
    with pytest.raises(ValueError, match="not opened"):
        lk.offer.add_device(candidate)
    mine = lk.offer.open(lk.join.request(), T0)
    with pytest.raises(ValueError, match="both devices"):
        lk.offer.reply(mine, STATE)
    with pytest.raises(ValueError, match="in the account chain"):
        LinkOffer(lk.code, STATE, OTHER_KEY)
    with pytest.raises(ValueError, match="account id"):
        LinkJoin(lk.code, "not an id!", "x", NEW_KEY, NEW_SEAL)
    for name in ("", "x" * 65, "tab\there"):
        with pytest.raises(ValueError, match="device name"):
            LinkJoin(lk.code, "alice", name, NEW_KEY, NEW_SEAL)


def test_the_opened_bundle_cannot_be_changed_before_it_is_signed() -> None:
    """The candidate's bundle is read-only: what the person confirmed is what gets signed."""
    lk = link()
    candidate = lk.offer.open(lk.join.request(), T0)
    with pytest.raises(TypeError):
        candidate.bundle["seal"] = "x"  # type: ignore[index]
    assert lk.offer.add_device(candidate).body["device"] == candidate.bundle
