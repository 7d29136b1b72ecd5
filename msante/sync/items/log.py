"""A device's chain of items in one space, accepted only unbroken and up to its signed head.

Each device numbers its items in a space 0, 1, 2… and each envelope names the hash of the one
before, so the items form a hash chain; after a push the device signs its newest item (a
`ChainHead`). A `DeviceLog` accepts that device's items in order and refuses, naming what the
server did, an item from another space or device, a forged signature, a swapped ciphertext,
a gap (dropped), an item already passed (replayed), items out of order (reordered), another
item where the chain or the signed head names one (swapped), and a head older than one seen
(rolled back). It holds no items, only where the chain stands: the caller keeps `state()`
with its sync token and gives it back to `from_state` next time.
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from msante.i18n import _
from msante.sync.crypto import VerifyKey
from msante.sync.items.envelope import ZERO_HASH, ChainHead, Item, check_hash, check_id
from msante.sync.items.errors import Breach, ItemError


class DeviceLog:
    """Where one device's chain of items in one space stands, and what may come next."""

    def __init__(self, space: str, device: VerifyKey) -> None:
        self.space = check_id(space, "space")
        self.device = device
        self.seq = -1
        """The number of the last item accepted (-1: none yet)."""
        self.last = ZERO_HASH
        """The hash of the last item accepted (what the next item's `prev` must be)."""
        self.key_version = 0
        """The key version of the last item accepted: a device never writes under an older
        one (key versions are the space's, DESIGN.md)."""
        self.head: ChainHead | None = None
        """The newest signed chain head seen."""
        self._tail: dict[int, bytes] = {}
        """Hashes of the items accepted past the head's (to check a later head against)."""

    # -- the state the caller keeps between syncs --------------------------------------------

    def state(self) -> dict[str, Any]:
        """Where the chain stands, as JSON-able values (bytes stay bytes)."""
        return {"seq": self.seq, "last": self.last, "key_version": self.key_version,
                "head": None if self.head is None else self.head.to_json(),
                "tail": [[seq, digest] for seq, digest in sorted(self._tail.items())]}

    @classmethod
    def from_state(cls, space: str, device: VerifyKey, state: Mapping[str, Any]) -> DeviceLog:
        """The log `state()` described; the head is verified again (ItemError if it fails)."""
        log = cls(space, device)
        log.seq, log.last = int(state["seq"]), check_hash(state["last"], "last")
        log.key_version = int(state["key_version"])
        if state["head"] is not None:
            log.head = ChainHead.from_json(state["head"])
            log._check_head_identity(log.head)
        log._tail = {int(seq): check_hash(digest, "tail") for seq, digest in state["tail"]}
        return log

    # -- accepting ---------------------------------------------------------------------------

    def accept(self, item: Item) -> None:
        """Accept the device's next item; ItemError (and no change) if it is not that."""
        self._check_item(item)
        self._take(item)

    def accept_head(self, head: ChainHead) -> None:
        """Take a newer signed chain head; ItemError (and no change) if it is not one."""
        self._check_head_identity(head)
        if self.head is not None:
            if head.seq < self.head.seq:
                raise ItemError(Breach.ROLLED_BACK, _(
                    "The signed chain head of device {device} in space {space} went back from "
                    "item {old} to item {new}: the server rolled it back.").format(
                    device=self._name(), space=self.space, old=self.head.seq, new=head.seq))
            if head.seq == self.head.seq:
                if head.item != self.head.item:
                    raise self._head_swapped(head.seq)
                return
        if head.seq <= self.seq:
            if self._tail.get(head.seq, head.item) != head.item or (
                    head.seq == self.seq and head.item != self.last):
                raise self._head_swapped(head.seq)
            self._tail = {s: h for s, h in self._tail.items() if s > head.seq}
        self.head = head

    def check_complete(self) -> None:
        """ItemError (dropped) unless every item up to the newest signed head was accepted."""
        if self.head is not None and self.seq < self.head.seq:
            raise ItemError(Breach.DROPPED, _(
                "Device {device} signed its chain in space {space} up to item {head}, but the "
                "server served items only up to {last}: it dropped the rest.").format(
                device=self._name(), space=self.space, head=self.head.seq, last=self.seq))

    def sync(self, items: Sequence[Item], head: ChainHead | None = None) -> None:
        """Accept a pull's items of this device (and its newest head), all or nothing.

        Afterwards the chain must reach the newest head: a gap, a replay, an item out of
        order or a head rolled back raises ItemError naming it, and the log stays as it was.
        Items up to the head are authenticated by the head's signature through their hash
        chain; only those past it have their own signatures verified.
        """
        trial = copy.copy(self)
        trial._tail = dict(self._tail)
        if head is not None:
            trial.accept_head(head)
        for index, item in enumerate(items):
            try:
                trial._check_item(item, under_head=trial._under_head(item))
            except ItemError as error:
                expected = trial.seq + 1
                if error.breach is Breach.DROPPED and any(
                        other.envelope.seq == expected for other in items[index + 1:]):
                    raise trial._reordered(item.envelope.seq) from None
                raise
            trial._take(item)
        trial.check_complete()
        self.__dict__.update(trial.__dict__)

    # -- checks ------------------------------------------------------------------------------

    def _check_head_identity(self, head: ChainHead) -> None:
        """The head is this device's, for this space, and its signature verifies."""
        if head.space != self.space:
            raise self._other_space(head.space)
        head.verify(self.device)

    def _under_head(self, item: Item) -> bool:
        """Whether the (verified) newest head's signature covers the item once the batch
        reaches it: each item's hash is in the next one's `prev`, up to the head's hash."""
        return self.head is not None and item.envelope.seq <= self.head.seq

    def _check_item(self, item: Item, *, under_head: bool = False) -> None:
        """Everything `accept` checks, without changing anything.

        `under_head`: the item's own signature is not verified, because `sync` refuses the
        batch unless the chain of hashes reaches the signed head's (one verification per
        device and pull instead of one per item).
        """
        envelope = item.envelope
        if envelope.routing.space != self.space:
            raise self._other_space(envelope.routing.space)
        if not under_head:
            item.check(self.device)
        elif envelope.routing.device != self.device.key_id():
            raise ItemError(Breach.OTHER_DEVICE)
        elif hashlib.sha256(item.ciphertext).digest() != envelope.ciphertext_sha256:
            raise ItemError(Breach.SWAPPED)
        seq, expected = envelope.seq, self.seq + 1
        if seq < expected:
            raise ItemError(Breach.REPLAYED, _(
                "Item {seq} of device {device} in space {space} was served again after item "
                "{last}: the server replayed it.").format(
                seq=seq, device=self._name(), space=self.space, last=self.seq))
        if seq > expected:
            raise ItemError(Breach.DROPPED, _(
                "Item {expected} of device {device} in space {space} is missing (the next one "
                "served is {seq}): the server dropped it.").format(
                expected=expected, device=self._name(), space=self.space, seq=seq))
        if envelope.prev != self.last:
            raise ItemError(Breach.SWAPPED, _(
                "Item {seq} of device {device} in space {space} does not follow the item "
                "before it: the server swapped or rewrote it.").format(
                seq=seq, device=self._name(), space=self.space))
        if self.head is not None and self.head.seq == seq and self.head.item != item.hash():
            raise self._head_swapped(seq)
        if envelope.routing.key_version < self.key_version:
            raise ItemError(Breach.ROLLED_BACK, _(
                "Item {seq} of device {device} in space {space} is under key version {old}, "
                "after items under version {new}: a device never goes back to an older "
                "key.").format(seq=seq, device=self._name(), space=self.space,
                               old=envelope.routing.key_version, new=self.key_version))

    def _take(self, item: Item) -> None:
        """Move the chain on by one checked item."""
        self.seq, self.last = item.envelope.seq, item.hash()
        self.key_version = item.envelope.routing.key_version
        if self.head is None or self.seq > self.head.seq:
            self._tail[self.seq] = self.last
        elif self.seq == self.head.seq:
            self._tail.clear()

    # -- messages ----------------------------------------------------------------------------

    def _name(self) -> str:
        """The device as people compare it: its six-word fingerprint."""
        return self.device.fingerprint()

    def _other_space(self, other: str) -> ItemError:
        return ItemError(Breach.OTHER_SPACE, _(
            "An item signed for space {other} was served in space {space}: the server replayed "
            "it from another space.").format(other=other, space=self.space))

    def _reordered(self, seq: int) -> ItemError:
        return ItemError(Breach.REORDERED, _(
            "Items of device {device} in space {space} came out of order: item {seq} before "
            "item {expected}.").format(device=self._name(), space=self.space, seq=seq,
                                       expected=self.seq + 1))

    def _head_swapped(self, seq: int) -> ItemError:
        return ItemError(Breach.SWAPPED, _(
            "The signed chain head of device {device} in space {space} names another item "
            "{seq} than the one served: the server swapped it or forked the chain.").format(
            device=self._name(), space=self.space, seq=seq))
