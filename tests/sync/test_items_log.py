"""DeviceLog: a device's items accepted only as an unbroken chain up to its signed head.

Each test plays the server that lies, and checks that the log refuses, names what was done,
and stays as it was (no damage).
"""

from __future__ import annotations

import dataclasses

import pytest

from msante.sync.crypto import Purpose, VerifyKey
from msante.sync.items import Breach, DeviceLog, Item, ItemError, write_item
from tests.sync.items_helpers import (
    ALICE,
    BOB,
    MALLORY,
    OTHER_SPACE,
    SCOPE_KEY,
    SPACE,
    chain,
    head_of,
    key_id,
    measurement,
    routing,
)

ITEMS = chain(ALICE, 6)
HEAD = head_of(ALICE, ITEMS[-1])


def _log() -> DeviceLog:
    return DeviceLog(SPACE, ALICE.verify_key())


def _refused(log: DeviceLog, items: list[Item], breach: Breach, *, head: bool = True) -> str:
    """Sync `items` (with the newest head); assert it is refused for `breach`, changing
    nothing; return the message."""
    before = log.state()
    with pytest.raises(ItemError) as caught:
        log.sync(items, HEAD if head else None)
    assert caught.value.breach is breach, caught.value
    assert log.state() == before
    return str(caught.value)


def test_the_honest_chain_is_accepted_in_steps() -> None:
    """Pulled in pages, with the head first or last, the whole chain goes through."""
    log = _log()
    log.sync(ITEMS[:2])
    log.sync(ITEMS[2:4], head_of(ALICE, ITEMS[3]))
    log.sync(ITEMS[4:], HEAD)
    assert log.seq == 5 and log.last == ITEMS[-1].hash() and log.head == HEAD
    log.sync([], HEAD)                                  # nothing new: fine


def test_items_past_the_newest_head_are_accepted() -> None:
    """A head lags its items while the device pushes; the head catches up later."""
    log = _log()
    log.sync(ITEMS, head_of(ALICE, ITEMS[2]))
    log.accept_head(HEAD)
    assert log.head == HEAD


def test_a_dropped_item_is_caught() -> None:
    """The server leaves one item out: the chain has a gap, named."""
    message = _refused(_log(), ITEMS[:2] + ITEMS[3:], Breach.DROPPED)
    assert "2" in message


def test_a_dropped_tail_is_caught_by_the_signed_head() -> None:
    """The server withholds the newest items: the head says they exist."""
    message = _refused(_log(), ITEMS[:4], Breach.DROPPED)
    assert "5" in message and "3" in message


def test_a_replayed_older_item_is_caught() -> None:
    """An item already accepted, served again later: replayed."""
    log = _log()
    log.sync(ITEMS[:4])
    _refused(log, [ITEMS[1], *ITEMS[4:]], Breach.REPLAYED)
    _refused(log, [ITEMS[4], ITEMS[4], ITEMS[5]], Breach.REPLAYED)


def test_reordered_items_are_caught() -> None:
    """The same items in another order: reordered, not merely a gap."""
    _refused(_log(), [ITEMS[0], ITEMS[2], ITEMS[1], *ITEMS[3:]], Breach.REORDERED)


def test_a_rolled_back_head_is_caught() -> None:
    """A head older than one already seen: rolled back."""
    log = _log()
    log.sync(ITEMS, HEAD)
    with pytest.raises(ItemError) as caught:
        log.accept_head(head_of(ALICE, ITEMS[2]))
    assert caught.value.breach is Breach.ROLLED_BACK
    assert log.head == HEAD


def test_a_rolled_back_head_after_a_restart_is_caught() -> None:
    """The check survives the state saved between two syncs."""
    log = _log()
    log.sync(ITEMS, HEAD)
    again = DeviceLog.from_state(SPACE, ALICE.verify_key(), log.state())
    with pytest.raises(ItemError) as caught:
        again.sync([], head_of(ALICE, ITEMS[1]))
    assert caught.value.breach is Breach.ROLLED_BACK


def test_another_branch_of_the_chain_is_caught() -> None:
    """Items of a second history of the same device (a fork shown to this client): swapped."""
    fork = chain(ALICE, 3, start=3, prev=ITEMS[2].hash())    # same seqs, other items
    log = _log()
    log.sync(ITEMS[:3])
    _refused(log, fork, Breach.SWAPPED)                      # the head names the genuine one
    other = _log()
    other.sync(ITEMS[:3])
    with pytest.raises(ItemError) as caught:                 # and a head of the fork, once
        other.sync(ITEMS[3:], head_of(ALICE, fork[-1]))      # the genuine items are in
    assert caught.value.breach is Breach.SWAPPED


def test_an_item_whose_prev_does_not_match_is_caught() -> None:
    """The device's own item at the right number, but chained after another item."""
    record = measurement()
    stray = write_item(record, "measurements", SCOPE_KEY, routing(record), signer=ALICE, seq=1,
                       prev=b"\x07" * 32)
    _refused(_log(), [ITEMS[0], stray], Breach.SWAPPED, head=False)


def test_two_heads_at_one_number_are_a_fork() -> None:
    """Two different signed heads for the same item number: the chain was forked."""
    fork = chain(ALICE, 1, start=5, prev=ITEMS[4].hash())
    log = _log()
    log.accept_head(HEAD)
    with pytest.raises(ItemError) as caught:
        log.accept_head(head_of(ALICE, fork[0]))
    assert caught.value.breach is Breach.SWAPPED


def test_an_item_replayed_from_another_space_is_caught() -> None:
    """Alice's genuine item of another space, served in this one."""
    elsewhere = chain(ALICE, 1, space=OTHER_SPACE)
    message = _refused(_log(), elsewhere, Breach.OTHER_SPACE, head=False)
    assert OTHER_SPACE in message
    with pytest.raises(ItemError) as caught:
        _log().accept_head(head_of(ALICE, elsewhere[0]))
    assert caught.value.breach is Breach.OTHER_SPACE


def test_an_item_of_another_device_or_re_signed_is_caught() -> None:
    """Bob's items in Alice's log; Alice's item re-signed by the server's device."""
    _refused(_log(), chain(BOB, 1), Breach.OTHER_DEVICE, head=False)
    envelope = ITEMS[0].envelope
    renamed = dataclasses.replace(envelope, routing=dataclasses.replace(
        envelope.routing, device=key_id(MALLORY))).sign(MALLORY)
    _refused(_log(), [dataclasses.replace(ITEMS[0], envelope=renamed)], Breach.OTHER_DEVICE,
             head=False)
    forged = dataclasses.replace(envelope, signature=MALLORY.sign(
        "item", envelope.context()))  # type: ignore[arg-type]
    _refused(_log(), [dataclasses.replace(ITEMS[0], envelope=forged)], Breach.FORGED,
             head=False)


def test_a_forged_head_is_caught() -> None:
    """A head signed by the server's device, or naming Alice but signed by it."""
    forged = dataclasses.replace(HEAD, signature=head_of(MALLORY, chain(MALLORY, 1)[0]).signature)
    with pytest.raises(ItemError) as caught:
        _log().accept_head(forged)
    assert caught.value.breach is Breach.FORGED


def test_a_swapped_ciphertext_is_caught() -> None:
    """The envelope of one item with the ciphertext of another."""
    swapped = dataclasses.replace(ITEMS[0], ciphertext=ITEMS[1].ciphertext)
    _refused(_log(), [swapped], Breach.SWAPPED, head=False)


def test_accept_one_at_a_time_refuses_without_change() -> None:
    """`accept` checks the same things item by item; a refused item changes nothing."""
    log = _log()
    log.accept(ITEMS[0])
    for bad, breach in ((ITEMS[2], Breach.DROPPED), (ITEMS[0], Breach.REPLAYED)):
        before = log.state()
        with pytest.raises(ItemError) as caught:
            log.accept(bad)
        assert caught.value.breach is breach
        assert log.state() == before
    log.accept(ITEMS[1])
    assert log.seq == 1


def test_state_round_trips_and_keeps_checking() -> None:
    """A log rebuilt from its state refuses what the original would."""
    log = _log()
    log.sync(ITEMS[:3])
    log.accept_head(HEAD)
    with pytest.raises(ItemError):
        log.check_complete()
    again = DeviceLog.from_state(SPACE, ALICE.verify_key(), log.state())
    assert again.state() == log.state()
    _refused(again, ITEMS[4:], Breach.DROPPED)
    again.sync(ITEMS[3:])
    assert again.seq == 5


def test_an_item_under_an_older_key_version_is_caught() -> None:
    """A device that wrote under key version 2 never writes under version 1 again: such an
    item is a rollback (a restored device, or keys the server kept it on)."""
    newer = chain(ALICE, 2, key_version=2)
    older = chain(ALICE, 1, start=2, prev=newer[-1].hash(), key_version=1)
    log = _log()
    log.sync(newer)
    message = _refused(log, older, Breach.ROLLED_BACK, head=False)
    assert "1" in message and "2" in message
    again = DeviceLog.from_state(SPACE, ALICE.verify_key(), log.state())
    _refused(again, older, Breach.ROLLED_BACK, head=False)
    again.sync(chain(ALICE, 1, start=2, prev=newer[-1].hash(), key_version=3))
    assert again.key_version == 3


def _forged(item: Item, note: str) -> Item:
    """`item` with other content, its envelope signed by the server's device but naming Alice."""
    record = measurement(note=note)
    other = write_item(record, "measurements", SCOPE_KEY, routing(record, signer=MALLORY),
                       signer=MALLORY, seq=item.envelope.seq, prev=item.envelope.prev)
    envelope = dataclasses.replace(other.envelope, routing=dataclasses.replace(
        other.envelope.routing, device=key_id(ALICE)))
    return Item(envelope=envelope, ciphertext=other.ciphertext)


def test_a_signed_head_vouches_for_the_items_below_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a head, one signature is verified for the whole chain below it (the hashes link
    each item to the head); without one, every item's own signature is."""
    calls: list[str] = []
    verify = VerifyKey.verify

    def counting(self: VerifyKey, purpose: Purpose, context: object, sig: bytes) -> None:
        calls.append(str(purpose))
        verify(self, purpose, context, sig)  # type: ignore[arg-type]

    monkeypatch.setattr(VerifyKey, "verify", counting)
    _log().sync(ITEMS, HEAD)
    assert calls == ["chain-head"]
    calls.clear()
    _log().sync(ITEMS)
    assert calls == ["item"] * len(ITEMS)


@pytest.mark.parametrize("where", [0, 2, 5])
def test_an_altered_item_under_a_head_is_caught(where: int) -> None:
    """Another item's content slipped under the head, anywhere in the chain: the next item's
    `prev`, or the head's hash, no longer matches."""
    items = list(ITEMS)
    items[where] = _forged(items[where], "altered")
    _refused(_log(), items, Breach.SWAPPED)
    _refused(_log(), items[:where + 1], Breach.FORGED, head=False)
