"""A server that shows two devices of one person two different histories (a split view).

Both devices pin the server's log; then another account's entries are appended, and the
server shows device B a log in which those leaves are other bytes (same size, another root,
signed with its real key, consistent with what B pinned) while device A sees the real one.
Neither view is inconsistent on its own: only comparing checkpoints finds the fork. A then
revokes a third device — chain entries A signs, which B walks — and B's next sync and
`msante sync verify` must see that A's checkpoint and its own disagree (DESIGN.md: every
signed object carries its signer's latest checkpoint; the recipients compare).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from msante.api import Vault
from msante.errors import ExitCode, IntegrityError
from msante.sync import device as devices
from msante.sync import merkle, revoke, spaces, verify
from msante.sync.chains import AccountChain, SpaceChain
from msante.sync.checkpoint import Checkpoint, ForkError, NoteSigner, sign_checkpoint
from msante.sync.client import Client, b64
from msante.sync.logleaf import event_leaf
from tests.sync.engine_helpers import _post, second_device
from tests.sync.lying_server import Liar, Pair, client_of, pair_of, snapshot, sync
from tests.sync.test_lying_keys import other_person


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A (set up with a live server) and device B of the same person."""
    with pair_of(vault, tmp_path) as made:
        yield made


class SplitView:
    """The log as the server shows it to one device: the leaves at `hidden` replaced by
    other bytes, every checkpoint and proof made from that tree, signed with the real key."""

    def __init__(self, liar: Liar, signer: NoteSigner, hidden: range, reader: Vault) -> None:
        self.liar, self.signer, self.reader = liar, signer, reader
        self.fresh = {i: event_leaf(secrets.token_bytes(32), secrets.token_bytes(40))
                      for i in hidden}
        for path, answer in (("/log/checkpoint$", self.checkpoint),
                             ("/log/proof/consistency$", self.consistency),
                             ("/log/proof/inclusion$", self.inclusion),
                             ("/log/entries$", self.entries)):
            liar.on("GET", path, before=answer)

    def tree(self, request: httpx.Request) -> merkle.MemoryTree:
        """The real leaves (read by an honest client), some replaced."""
        with client_of(self.reader) as client:
            size = int(client.log_checkpoint().split("\n")[1])
            real = [data for _i, data in client.log_entries(0, size)]
        self.leaves = [self.fresh.get(i, data) for i, data in enumerate(real)]
        tree = merkle.MemoryTree()
        for leaf in self.leaves:
            tree.append(leaf)
        return tree

    @staticmethod
    def _args(request: httpx.Request) -> dict[str, int]:
        return {k: int(v[0]) for k, v in parse_qs(request.url.query.decode()).items()}

    def checkpoint(self, request: httpx.Request) -> httpx.Response:
        tree = self.tree(request)
        note = sign_checkpoint(Checkpoint(self.signer.name, tree.size, tree.root()),
                               self.signer)
        return httpx.Response(200, json={"note": note})

    def consistency(self, request: httpx.Request) -> httpx.Response:
        tree, args = self.tree(request), self._args(request)
        proof = merkle.consistency_proof(args["old"], args["new"], tree)
        return httpx.Response(200, json={**args, "proof": [b64(h) for h in proof]})

    def inclusion(self, request: httpx.Request) -> httpx.Response:
        tree, args = self.tree(request), self._args(request)
        proof = merkle.inclusion_proof(args["size"], args["index"], tree)
        return httpx.Response(200, json={**args, "proof": [b64(h) for h in proof]})

    def entries(self, request: httpx.Request) -> httpx.Response:
        self.tree(request)
        args = self._args(request)
        return httpx.Response(200, json={"entries": [
            {"index": i, "data": b64(self.leaves[i])}
            for i in range(args["start"], min(args["end"], len(self.leaves)))]})


def verified(pair: Pair, which: str, liar: Liar | None = None) -> dict[str, Any]:
    """`msante sync verify` on device `which`, through `liar` if given."""
    vault = pair.a if which == "a" else pair.b
    return verify.verify_vault(vault.store, connect=lambda url, insecure: Client(
        url, insecure=insecure, transport=liar))


def log_size(pair: Pair) -> int:
    with client_of(pair.a) as client:
        return int(client.log_checkpoint().split("\n")[1])


def split(pair: Pair, tmp_path: Path) -> Vault:
    """Device C added; A and B pin the log; another account's entries are appended; B is
    shown them as other bytes and accepts its view, A the real one. Returns C."""
    c = second_device(pair.a, tmp_path / "c", pair.server.app, name="tablet")
    with pair.b.store.write() as tx:  # as linking.adopt_owner does after B's first sync
        tx.execute("UPDATE sync_device SET space = ?", (pair.space,))
        pair.b.store.log(tx, "sync.device.space", detail={"space": pair.space})
    verified(pair, "a")
    verified(pair, "b")
    pinned = log_size(pair)
    other_person(tmp_path, pair.server.url).close()
    grown = log_size(pair)
    assert grown > pinned
    signer = NoteSigner.from_skey(pair.server.settings.log_key_file.read_text().strip())
    SplitView(pair.liar_b, signer, range(pinned, grown), pair.a)
    verified(pair, "b", pair.liar_b)  # B accepts its view: nothing to compare yet
    verified(pair, "a")  # A accepts the real one
    return c


@pytest.mark.slow
def test_a_split_view_is_caught_by_a_checkpoint_in_a_chain_entry(pair: Pair,
                                                                  tmp_path: Path) -> None:
    """The mechanism: an entry A signs carrying A's checkpoint (written here by the test)
    makes B's `sync verify` find the two histories (ForkError, exit 6)."""
    c = split(pair, tmp_path)
    try:
        dev_a = devices.load(pair.a.store.conn)
        assert dev_a is not None
        account = AccountChain.verify(spaces.entries(pair.a.store.conn,
                                                     f"account:{dev_a.account}"))
        state = SpaceChain.verify(spaces.entries(pair.a.store.conn, f"space:{pair.space}"),
                                  lambda acc: account)
        keys = spaces.ScopeKeys.new(pair.space, state.key_version + 1)
        with client_of(pair.a) as client:
            note = client.log_checkpoint()
            with pair.a.store.write() as tx:
                spaces.save(tx, keys)
                pair.a.store.log(tx, "sync.space.create", detail={"space": pair.space})
            _post(pair.a, client, SpaceChain.append(state, dev_a.signing, "rotate",
                                                    keys.rotation().body(), note))
        with pytest.raises(ForkError) as caught:
            verified(pair, "b", pair.liar_b)
        assert caught.value.exit_code == ExitCode.INTEGRITY
        assert "different histories" in caught.value.message
    finally:
        c.close()


def revoke_c(pair: Pair, c: Vault) -> None:
    """A revokes C: account and space chain entries signed by A, carrying A's checkpoint."""
    dev_a, dev_c = devices.load(pair.a.store.conn), devices.load(c.store.conn)
    assert dev_a is not None and dev_c is not None
    with client_of(pair.a) as client:
        state = AccountChain.verify(spaces.entries(pair.a.store.conn,
                                                   f"account:{dev_a.account}"))
        revoke.revoke(pair.a.store, client, dev_a,
                      state.devices[dev_c.signing.verify_key().key_id()])


@pytest.mark.slow
def test_two_devices_shown_two_histories(pair: Pair, tmp_path: Path) -> None:
    """A split view between A and B: A revokes a device (its entries carry A's checkpoint);
    B's `sync verify` compares it with its own and stops (ForkError, exit 6), keeping
    nothing."""
    c = split(pair, tmp_path)
    try:
        revoke_c(pair, c)
        kept = snapshot(pair.b, ("sync_checkpoints", "sync_log_heads"))
        with pytest.raises(ForkError) as caught:
            verified(pair, "b", pair.liar_b)
        assert caught.value.exit_code == ExitCode.INTEGRITY
        assert "different histories" in caught.value.message
        assert snapshot(pair.b, ("sync_checkpoints", "sync_log_heads")) == kept
    finally:
        c.close()


@pytest.mark.slow
def test_the_sync_itself_stops_on_two_histories(pair: Pair, tmp_path: Path) -> None:
    """The same split view: B's plain `msante sync` must stop too."""
    c = split(pair, tmp_path)
    try:
        revoke_c(pair, c)
        with pytest.raises(IntegrityError):
            sync(pair.b, pair.liar_b)
    finally:
        c.close()
