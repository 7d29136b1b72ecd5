"""`msante sync verify`, and the check every sync runs: the server's log, walked and proven.

    verify_all(store, client, device) -> dict     the engine calls it on every sync
    verify_vault(store)                -> dict     the command: logs in, then verify_all

The checks themselves are in `msante.sync.logcheck` (no vault; re-exported here):
`check_log` (pinned key, checkpoint, consistency from the stored one), `walk_chain`,
`walk_events`, `scan_log` (every new leaf of the log read: none of the walked chains'
entries hidden). This module reads and keeps what was checked (`msante.sync.logstate`):
nothing is kept unless every check passed, so a lying server never moves the stored
checkpoint. Any inconsistency is a `LogError` or a `ChainError` (exit 6).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from msante.errors import IntegrityError, NotFoundError
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import logstate
from msante.sync.chains import AccountState
from msante.sync.client import Client, b64
from msante.sync.logcheck import (
    ChainWalk,
    EventWalk,
    Head,
    LogView,
    Scan,
    check_log,
    scan_log,
    walk_chain,
    walk_events,
)
from msante.vault.store import Store

__all__ = ["check_log", "scan_log", "spaces_of", "verify_all", "verify_vault", "walk_chain",
           "walk_events"]

ClientFactory = Callable[[str, bool], Client]


def default_client(url: str, insecure: bool) -> Client:
    """A client of `url` over the network."""
    return Client(url, insecure=insecure)


def spaces_of(store: Store, device: devices.Device) -> list[str]:
    """The spaces whose chains and events this device walks: every space it holds keys for
    (`sync_spaces`), else the device row's own."""
    from msante.sync import spaces

    return spaces.synced(store.conn) or [device.space]


class _Walker:
    """One verification: the log view, what earlier walks proved, what this one proves."""

    def __init__(self, client: Client, log: LogView, known: dict[str, Head]) -> None:
        self.client, self.log, self.known = client, log, known
        self.accounts: dict[str, AccountState | None] = {}
        self.chains: list[ChainWalk] = []
        self.events: list[EventWalk] = []

    def account(self, account: str) -> AccountState | None:
        """The verified account chain of `account` (walked once, every entry proven)."""
        if account not in self.accounts:
            walk = self.chain(f"account:{account}")
            state = walk.state
            self.accounts[account] = state if isinstance(state, AccountState) else None
        return self.accounts[account]

    def chain(self, chain: str) -> ChainWalk:
        """Walk one chain."""
        walk = walk_chain(self.client, chain, self.log, known=self.known.get(chain),
                          lookup=self.account)
        self.chains.append(walk)
        return walk

    def space_events(self, space: str) -> EventWalk:
        """Walk one space's events."""
        walk = walk_events(self.client, space, self.log, known=self.known.get(f"events:{space}"))
        self.events.append(walk)
        return walk

    def heads(self) -> dict[str, Head]:
        """What this verification proved, by sequence."""
        found = {w.chain: w.head for w in self.chains}
        return found | {f"events:{w.space}": w.head for w in self.events}


def verify_all(store: Store, client: Client, device: devices.Device) -> dict[str, Any]:
    """Check the log and walk this device's account chain, its spaces' chains and events.

    `client` is logged in as `device`. Raises LogError / ChainError (exit 6) on any
    inconsistency, keeping nothing; otherwise keeps the new checkpoint and heads.
    """
    pinned = logstate.load(store.conn, device.server_id)
    log = check_log(client, pinned.key if pinned else None, pinned.note if pinned else None)
    walker = _Walker(client, log, logstate.heads(store.conn, device.server_id))
    _check_me(walker.account(device.account), device)
    for space in spaces_of(store, device):
        walker.chain(f"space:{space}")
        walker.space_events(space)
    since = pinned.scan if pinned is not None else Scan(0, ())
    scan = scan_log(log, since, {w.chain: [e.hash() for e in w.entries] for w in walker.chains})
    saved = logstate.save(store, device.server_id, log.key, log.checkpoint, log.note,
                          walker.heads(), scan)
    return _report(device, log, walker, pinned, saved) | {"scanned": scan.size - since.size}


def _check_me(state: AccountState | None, device: devices.Device) -> None:
    """This device must be in its account chain, once the chain exists."""
    if state is not None and not state.knows(device.signing.verify_key().key_id()):
        raise IntegrityError(_(
            "This device is not in the account chain the server shows for account {account}: "
            "the server shows another history than the one this device wrote.").format(
                account=device.account))


def _report(device: devices.Device, log: LogView, walker: _Walker,
            pinned: logstate.Pinned | None, saved: bool) -> dict[str, Any]:
    """What was checked (stable keys, documented in docs/cli.md)."""
    return {
        "server": device.server, "server_id": device.server_id,
        "log": {"origin": log.checkpoint.origin, "key": log.key,
                "size": log.checkpoint.size, "root": b64(log.checkpoint.root),
                "previous_size": pinned.size if pinned else None,
                "pinned_now": pinned is None},
        "chains": [{"chain": w.chain, "entries": len(w.entries), "proven": w.proven,
                    "gossip": w.gossip} for w in walker.chains],
        "events": [{"space": w.space, "events": w.count, "proven": w.proven}
                   for w in walker.events],
        "proofs": log.proofs, "saved": saved,
    }


def verify_vault(store: Store, connect: ClientFactory = default_client) -> dict[str, Any]:
    """`msante sync verify`: log in with this device's keys, then `verify_all`."""
    dev = devices.load(store.conn)
    if dev is None or not dev.ready:
        raise NotFoundError(_("This vault is not set up for sync: msante sync setup "
                              "SERVER_URL."))
    with connect(dev.server, dev.insecure) as client:
        client.login(dev.account, dev.device, dev.signing, dev.server_id)
        return verify_all(store, client, dev)
