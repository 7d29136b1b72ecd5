"""`msante sync setup SERVER_URL --recover`: every device lost, the recovery key brings the
account back onto a new device.

In order, nothing written anywhere until every check has passed:

1. from the recovery key: the bundle's opening key and its lookup (msante.sync.recovery);
2. `GET /v1/recovery/{lookup}` (no token): the account, the recovery device, the signer, the
   bundle (none: a wrong key or another server, WrongKeyError, exit 4);
3. open the bundle (HPKE with the recovery key: another account's bundle does not open) and
   the recovery device's keys inside; the body must name the account, this server and the
   recovery device the server named;
4. log in as the recovery device; fetch and verify the account chain: the recovery device
   must be in it, and the bundle's signer a device it lists (then its signature is checked);
5. fetch and verify the chain of every space the account owns or manages: the bundle must
   hold each one's current key version, with the public halves the chain names — else the
   bundle is **stale** (a device did not re-seal it after a rotation), StaleBundle, exit 6;
6. then: this device's keys, added to the account chain and as a writer of every space by the
   recovery device, registered on the server; scope keys and chains kept; state ready.
"""

from __future__ import annotations

from typing import Any

from msante.errors import AlreadyExistsError, ServerNotFound, UsageError, WrongKeyError
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import recovery, setup, spaces
from msante.sync.chains import AccountChain, AccountState, SpaceState, b64e, device_bundle
from msante.sync.client import Client, RecoveryBundle
from msante.sync.crypto import Purpose, SealKey, SigningKey, check_signed, unseal
from msante.sync.recovery import BadBundle, Opened, RecoveryKey, StaleBundle
from msante.vault.store import Store


def recover(store: Store, url: str, text: str, *, insecure: bool = False,
            connect: setup.ClientFactory = setup.default_client) -> dict[str, Any]:
    """Bring the account of recovery key `text` back onto this (new, empty) vault."""
    _refuse_used(store)
    key = RecoveryKey.parse(text)
    with connect(url, insecure) as client:
        server_id = client.health().server
        opened, account, states = _checked(client, key, url, server_id, store)
        dev = _join(store, client, server_id, opened, account, states, insecure)
        _replace_on_reseal(store, key)
        client.login(dev.account, dev.device, dev.signing, server_id)
        recovery.protect(store, client, dev)
        devices.mark_ready(store, dev)
    return setup.status(store)


def _checked(client: Client, key: RecoveryKey, url: str, server_id: str,
             store: Store | None) -> tuple[Opened, AccountState, dict[str, SpaceState]]:
    """Steps 2 to 5: find, open, log in as the recovery device, check against the chains
    (kept in `store` when given). The client is then logged in as the recovery device."""
    found = _find(client, key, url)
    opened, signature, body = _open(key, found, server_id)
    client.login(found.account, found.device, opened.signing, server_id)
    account = recovery.server_chain(store, client, f"account:{found.account}")
    _check_signer(account, opened, found, key, server_id, signature, body)
    return opened, account, _check_spaces(store, client, account, opened)


def check_key(url: str, text: str, *, insecure: bool = False,
              connect: setup.ClientFactory = setup.default_client) -> str:
    """Before anything is made: every check of `recover`, with nothing kept (WrongKeyError,
    BadBundle, StaleBundle, BadSeal, ChainError otherwise); the account's id."""
    key = RecoveryKey.parse(text)
    with connect(url, insecure) as client:
        opened, _account, _states = _checked(client, key, url, client.health().server, None)
    return opened.account


def _replace_on_reseal(store: Store, key: RecoveryKey) -> None:
    """The bundle of the key just used goes when this vault first seals its own: the lost
    vault's recovery key stops recovering the account."""
    with store.write() as tx:
        tx.execute("UPDATE sync_recovery SET posted_lookup = ?", (key.lookup,))
        store.log(tx, "sync.recovery.key", detail={"replaces_used_key": True})


def _refuse_used(store: Store) -> None:
    """Recovery fills a new vault: no sync identity, no person yet."""
    if devices.load(store.conn) is not None:
        raise AlreadyExistsError(_("This vault is already set up for sync: --recover needs a "
                                   "new vault (an empty MSANTE_HOME)."))
    if spaces.live_spaces(store.conn):
        raise UsageError(_("This vault already holds people: --recover needs a new vault (an "
                           "empty MSANTE_HOME), which the recovered account then fills."))


def _find(client: Client, key: RecoveryKey, url: str) -> RecoveryBundle:
    """The bundle stored under the key's lookup; WrongKeyError when there is none."""
    try:
        return client.find_recovery(key.lookup)
    except ServerNotFound:
        raise WrongKeyError(_(
            "No account on {server} is recovered by this recovery key: check the key and the "
            "server's address. Nothing was changed.").format(server=url)) from None


def _open(key: RecoveryKey, found: RecoveryBundle,
          server_id: str) -> tuple[Opened, bytes, bytes]:
    """Open the bundle and check it names what the server said."""
    ctx = recovery.context(found.account, server_id, key.lookup)
    signature, body = unseal(key.seal, Purpose.RECOVERY, ctx, found.bundle)
    opened = recovery.read_body(body, key)
    device = b64e(opened.signing.verify_key().key_id())
    if (opened.account, opened.server, opened.device) != (
            found.account, server_id, found.device) or device != found.device:
        raise BadBundle(_("The recovery bundle names another account, server or recovery "
                          "device than the server does: it was swapped."))
    return opened, signature, body


def _check_signer(account: AccountState, opened: Opened, found: RecoveryBundle,
                  key: RecoveryKey, server_id: str, signature: bytes, body: bytes) -> None:
    """The recovery device is in the account; the signer is a device it lists, and signed."""
    if not account.is_active(opened.signing.verify_key().key_id()):
        raise BadBundle(_("The account chain does not list this recovery key's device (it was "
                          "removed, or the chain is another account's): this recovery key no "
                          "longer opens the account."))
    signer = account.keys_of(found.signer)
    if signer is None:
        raise BadBundle(_("The recovery bundle was signed by a device the account chain does "
                          "not list."))
    check_signed(signer.verify, key.seal.public_key(), Purpose.RECOVERY,
                 recovery.context(found.account, server_id, key.lookup), signature, body)


def _check_spaces(store: Store | None, client: Client, account: AccountState,
                  opened: Opened) -> dict[str, SpaceState]:
    """Every space of the account, verified; the bundle must hold its current keys."""
    names = {s["space"] for s in client.spaces() if s["role"] in ("owner", "manage")}
    states = {}
    for space in sorted(names | set(opened.keys)):
        state = recovery.server_space(store, client, space, account)
        held = opened.keys.get(space, {})
        newest = max(held, default=0)
        if newest < state.key_version:
            raise StaleBundle(_(
                "The recovery bundle is stale: it holds key version {held} of space {space} "
                "but its chain is at version {chain}. A device of the account did not re-seal "
                "it after a key rotation; run 'msante sync' on a device you still have, or "
                "nothing newer can be read.").format(held=newest or "-", space=space,
                                                     chain=state.key_version))
        current = held[state.key_version]
        if newest > state.key_version or (current.inbox.public_key(),
                                           current.signing.verify_key()) != (
                state.inbox, state.signing):
            raise BadBundle(_("The recovery bundle's keys of space {space} are not the ones "
                              "its chain names.").format(space=space))
        states[space] = state
    return states


def _join(store: Store, client: Client, server_id: str, opened: Opened,
          account: AccountState, states: dict[str, SpaceState],
          insecure: bool) -> devices.Device:
    """This device: keys, account chain entry and space writers signed by the recovery
    device, registration, scope keys kept."""
    signing, seal = SigningKey.generate(), SealKey.generate()
    key_id = signing.verify_key().key_id()
    chain = f"account:{opened.account}"
    entry = AccountChain.add_device(account, opened.signing, device_bundle(
        chain, setup.device_name(), signing, seal.public_key()))
    after = AccountChain.verify([*account.entries, entry], chain=chain)
    dev = devices.adopt(store, client.url, server_id, opened.account, b64e(key_id),
                        opened.space, signing, seal, insecure=insecure)
    writers = recovery.add_writers(states, after, opened.signing, key_id)
    with store.write() as tx:
        for made in (entry, *writers):
            spaces.keep(tx, made)
        for held in opened.keys.values():
            for keys in held.values():
                spaces.save(tx, keys)
        store.log(tx, "sync.recovery.recovered", detail={
            "account": opened.account, "device": dev.device, "fingerprint": dev.fingerprint(),
            "spaces": sorted(states)})
    client.add_device(opened.account, dev.device, signing.verify_key().to_bytes(),
                      setup.bundle(dev))
    recovery.post(store, client)
    return dev


def recovery_key_needed(store: Store) -> bool:
    """Whether `sync setup` must ask for the recovery key (a vault made before it was kept)."""
    return recovery.load(store.conn) is None


__all__ = ["BadBundle", "StaleBundle", "check_key", "recover", "recovery_key_needed"]
