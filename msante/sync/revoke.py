"""Revoking a device of the account (`msante devices revoke`), as a service.

In order: the account chain's `remove-device`; for every synced space new keys (version + 1:
scope keys, inbox and space signing key) and the space chain's `remove-writer` naming them
(`rotate` when the device was no writer there), naming the device's last item this device
accepted there (`last_item`: no client takes its items past it) — all kept, with the new
keys, in ONE audited transaction before anything is posted; then the entries posted (the
same bytes again on a retry); the new version wrapped for every remaining device of the
account; and the device revoked on the server (its tokens stop, its logins are refused).
What the revoked device already holds stays readable to it: there is no forward secrecy
(docs/security.md).
"""

from __future__ import annotations

from typing import Any

from msante.errors import NotFoundError, UsageError
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import linking, setup, spaces
from msante.sync.chains import AccountChain, AccountState, DeviceKeys, SpaceChain, b64e
from msante.sync.client import Client
from msante.vault.store import Store

MIN_ID_PREFIX = 4


def _matching(devices: list[DeviceKeys], text: str) -> list[DeviceKeys]:
    """The devices `text` names: by name (any case), else fingerprint start, else key id
    start (at least four characters)."""
    wanted = " ".join(text.split())
    folded = wanted.casefold()
    return [d for d in devices if d.name.casefold() == folded] or \
        [d for d in devices if folded and d.verify.fingerprint().startswith(folded)] or \
        [d for d in devices if len(wanted) >= MIN_ID_PREFIX
         and b64e(d.key_id).startswith(wanted)]


def find_device(state: AccountState, text: str, me: bytes) -> DeviceKeys:
    """The active device named by `text`: its name (any case), the start of its six-word
    fingerprint, or the start of its key id; never this device (UsageError)."""
    found = _matching(sorted(state.devices.values(), key=lambda d: d.added_seq), text)
    if not found:
        if _matching(list(state.removed.values()), text):
            raise NotFoundError(_("“{text}” was already revoked.").format(text=text))
        raise NotFoundError(_("No device of the account is “{text}”: see 'msante devices "
                              "list'.").format(text=text))
    if len(found) > 1:
        raise UsageError(_("“{text}” names several devices: {names}. Give more of the "
                           "fingerprint or of the key id.").format(
            text=text, names="; ".join(f"{d.name} ({d.verify.fingerprint()})" for d in found)))
    if found[0].key_id == me:
        raise UsageError(_("That is this device: revoke it from another device of the "
                           "account."))
    return found[0]


def revoke(store: Store, client: Client, dev: devices.Device,
           target: DeviceKeys) -> dict[str, Any]:
    """Remove `target` from the account and every synced space, rotating their keys."""
    state, unexpected = linking.server_account(store, client, dev)
    linking.require_expected(unexpected)
    if not state.is_active(target.key_id):
        raise NotFoundError(_("That device is no longer in the account."))
    removal = AccountChain.remove_device(state, dev.signing, target.key_id,
                                         setup.gossip(store, dev))
    after = AccountChain.verify([*state.entries, removal], chain=state.chain)
    plans = [_plan(store, client, dev, (state, after), space, target)
             for space in spaces.synced(store.conn)]
    with store.write() as tx:
        spaces.keep(tx, removal)
        for seen, entry, keys in plans:
            linking.keep_seen(tx, seen)
            spaces.keep(tx, entry)
            spaces.save(tx, keys)
        store.log(tx, "sync.device.revoke", detail={
            "account": dev.account, "device": b64e(target.key_id), "name": target.name,
            "fingerprint": target.verify.fingerprint(), "seq": removal.seq,
            "spaces": {keys.space: keys.version for _s, _e, keys in plans}})
    linking.post_kept(store, client)
    for _seen, _entry, keys in plans:
        for other in after.devices.values():
            client.put_wrap(keys.space, keys.version, b64e(other.key_id),
                            spaces.wrap(keys, dev.signing, other.seal, other.key_id))
    server_revoked = _revoke_on_server(client, dev, target)
    _reseal(store, client, dev)
    return {"account": dev.account, "device": b64e(target.key_id), "name": target.name,
            "fingerprint": target.verify.fingerprint(), "removed_seq": removal.seq,
            "server_revoked": server_revoked,
            "spaces": [{"space": keys.space, "key_version": keys.version}
                       for _s, _e, keys in plans]}


def _reseal(store: Store, client: Client, dev: devices.Device) -> None:
    """The keys rotated: seal the account's recovery bundle again (a failure is retried by
    the next sync, which re-seals whenever the keys moved)."""
    from msante.errors import SyncError
    from msante.sync import recovery

    try:
        recovery.reseal_if_changed(store, client, dev)
    except (SyncError, UsageError):
        pass


def _plan(store: Store, client: Client, dev: devices.Device,
          accounts: tuple[AccountState, AccountState], space: str,
          target: DeviceKeys) -> tuple[tuple[Any, ...], Any, spaces.ScopeKeys]:
    """For one space: the server's entries not kept yet, the rotating entry, the new keys
    (checked against the account chain after the removal)."""
    now, after = accounts
    before = linking.space_state(store, client, space, now)
    kept = len(spaces.entries(store.conn, before.chain))
    keys = spaces.ScopeKeys.new(space, before.key_version + 1)
    rotation = keys.rotation().body()
    if target.key_id in before.writers:
        entry = SpaceChain.append(before, dev.signing, "remove-writer",
                                  {"device": b64e(target.key_id),
                                   "last": last_item(store, space, target.key_id), **rotation},
                                  setup.gossip(store, dev))
    else:
        entry = SpaceChain.append(before, dev.signing, "rotate", rotation,
                                  setup.gossip(store, dev))
    SpaceChain.verify([*before.entries, entry], linking.lookup_accounts(client, after),
                      chain=before.chain)
    return before.entries[kept:], entry, keys


def last_item(store: Store, space: str, key_id: bytes) -> dict[str, Any] | None:
    """The removed device's last item this device accepted in `space` (from its DeviceLog
    state, `sync_logs`): every client refuses the device's items past it. None: none."""
    from msante.sync.engine import state

    kept = state.log_state(store.conn, space, key_id)
    if kept is None or kept["seq"] < 0:
        return None
    return {"seq": kept["seq"], "item": b64e(kept["last"])}


def _revoke_on_server(client: Client, dev: devices.Device, target: DeviceKeys) -> bool:
    """Revoke the device's logins; False when the server knows it under another id (the
    account's first device registered with a random one)."""
    try:
        client.remove_device(dev.account, b64e(target.key_id))
    except NotFoundError:
        return False
    return True
