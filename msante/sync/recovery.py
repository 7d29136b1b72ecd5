"""Account recovery with the recovery key: the recovery device and the recovery bundle.

The vault keeps only what `msante.vault.recovery_keys` derives from its recovery key: an HPKE
public key (`open_key`) and the `lookup` under which the server keeps the bundle. At `sync
setup` the vault makes the account's **recovery device** (`ensure_device`): a second device
of the account (its own SigningKey + SealKey, named "recovery key"), added to the account
chain and as a writer of every synced space by this device, and registered on the server.
Its private keys are sealed to `open_key` at once and kept only so (`device_sealed`): this
vault cannot open them; only the recovery key can.

The **bundle** (`reseal`, after setup and after every key change):

    sign_then_seal(this device, open_key, Purpose.RECOVERY,
                   context = {"account", "server", "lookup"},
                   body = canonical({"account", "server", "space": the owner's space,
                                     "device": the recovery device's server id,
                                     "keys": device_sealed,
                                     "spaces": {space: [ScopeKeys.body() text, …]}}))

stored with `PUT /v1/accounts/{account}/recovery` next to the lookup, the recovery device's
id and the signer's key id. `msante.sync.recover` opens it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from msante.errors import IntegrityError, SyncError, UsageError, WrongKeyError
from msante.i18n import _
from msante.sync import device as devices
from msante.sync import spaces
from msante.sync.chains import (
    AccountChain,
    AccountState,
    ChainEntry,
    SpaceChain,
    SpaceState,
    b64d,
    b64e,
    device_bundle,
)
from msante.sync.client import Client
from msante.sync.crypto import OpenKey, Purpose, SealKey, SigningKey, canonical, sign_then_seal
from msante.vault import recovery_keys
from msante.vault.crypto import parse_recovery_key
from msante.vault.db import Connection
from msante.vault.store import Store

RECOVERY_NAME = "recovery key"
DEVICE_INFO = b"msante/v1/recovery-device\0"


class StaleBundle(IntegrityError):
    """A recovery bundle older than the keys the chains name (exit 6)."""


class BadBundle(IntegrityError):
    """A recovery bundle that does not say what the server and the chains say (exit 6)."""


@dataclass(frozen=True)
class RecoveryKey:
    """What the recovery key derives: the bundle's opening key and its lookup."""

    seal: SealKey
    lookup: str

    @classmethod
    def parse(cls, text: str) -> RecoveryKey:
        """From the key as a person typed it (UsageError for a typo)."""
        secret = parse_recovery_key(text)
        return cls(SealKey.from_private_bytes(recovery_keys.seal_private(secret)),
                   recovery_keys.lookup(secret))

    def __repr__(self) -> str:  # never the key
        return "RecoveryKey(…)"


@dataclass(frozen=True)
class Row:
    """The vault's `sync_recovery` row: the recovery key's public side and recovery device."""

    open_key: OpenKey
    lookup: str
    account: str | None
    device: str | None
    device_key_id: bytes | None
    device_sealed: bytes | None
    posted_lookup: str | None

    def device_for(self, account: str) -> bool:
        """Whether this row's recovery device is the one of `account`, for this key."""
        return self.account == account and self.device_sealed is not None


def load(conn: Connection) -> Row | None:
    """The vault's recovery row, or None (a vault made before migration 12, not yet told)."""
    row = conn.execute("SELECT open_key, lookup, account, device, device_key_id, "
                       "device_sealed, posted_lookup FROM sync_recovery").fetchone()
    if row is None:
        return None
    return Row(OpenKey.from_bytes(bytes(row[0])), str(row[1]), row[2], row[3],
               bytes(row[4]) if row[4] is not None else None,
               bytes(row[5]) if row[5] is not None else None, row[6])


def learn(store: Store, text: str) -> None:
    """Keep the public side of this vault's recovery key, typed by the person (older vaults):
    WrongKeyError unless it opens this very vault."""
    from msante.vault import header
    from msante.vault.store import keys_from_recovery

    keys = keys_from_recovery(header.load(store.base), text)
    if keys.vault_key != store.keys.vault_key:
        raise WrongKeyError(_("Wrong recovery key. Nothing was changed."))
    with store.write() as tx:
        recovery_keys.remember(tx, parse_recovery_key(text))
        store.log(tx, "sync.recovery.key", detail={})


def context(account: str, server_id: str, lookup: str) -> dict[str, object]:
    """What the bundle's signature and seal name."""
    return {"account": account, "server": server_id, "lookup": lookup}


def device_info(account: str) -> bytes:
    """HPKE `info` of the recovery device's sealed private keys."""
    return DEVICE_INFO + account.encode("utf-8")


# -- the recovery device -----------------------------------------------------------------

def ensure_device(store: Store, client: Client, dev: devices.Device) -> bool:
    """Make the account's recovery device unless this vault has one for it: True if made.

    The device is added to the account chain and as a writer of every space the account owns
    or manages (entries signed by this device, kept before posting), and registered on the
    server; its private keys are kept only sealed to the recovery key's public key. Refused
    (UsageError) while the account chain has entries this device did not expect. The client
    is logged in.
    """
    from msante.sync import linking

    row = load(store.conn)
    if row is None:
        raise UsageError(_("This vault does not know its recovery key's public key yet: give "
                           "the recovery key once (--recovery-key-from-file)."))
    if row.device_for(dev.account):
        return False
    account, unexpected = linking.server_account(store, client, dev)
    linking.require_expected(unexpected)
    signing, seal = SigningKey.generate(), SealKey.generate()
    key_id = signing.verify_key().key_id()
    chain = f"account:{dev.account}"
    entry = AccountChain.add_device(account, dev.signing, device_bundle(
        chain, RECOVERY_NAME, signing, seal.public_key()))
    after = AccountChain.verify([*account.entries, entry], chain=chain)
    states = {space: linking.space_state(store, client, space, after)
              for space in account_spaces(store, client)}
    writers = add_writers(states, after, dev.signing, key_id)
    sealed = row.open_key.seal(canonical({"signing": signing.private_bytes(),
                                          "seal": seal.private_bytes()}),
                               device_info(dev.account))
    with store.write() as tx:
        linking.keep_seen(tx, account.entries[len(spaces.entries(tx, chain)):])
        for state in states.values():
            linking.keep_seen(tx, state.entries[len(spaces.entries(tx, state.chain)):])
        for made in (entry, *writers):
            spaces.keep(tx, made)
        tx.execute("UPDATE sync_recovery SET account = ?, device = ?, device_key_id = ?, "
                   "device_sealed = ?", (dev.account, b64e(key_id), key_id, sealed))
        store.log(tx, "sync.recovery.device", detail={
            "account": dev.account, "device": b64e(key_id),
            "fingerprint": signing.verify_key().fingerprint()})
    client.add_device(dev.account, b64e(key_id), signing.verify_key().to_bytes(),
                      canonical(device_bundle(chain, RECOVERY_NAME, signing,
                                              seal.public_key())))
    post(store, client)
    return True


def add_writers(states: dict[str, SpaceState], account: AccountState, signer: SigningKey,
                key_id: bytes) -> list[ChainEntry]:
    """An add-writer entry for device `key_id` of `account` in each of these spaces."""
    return [SpaceChain.append(state, signer, "add-writer", {
        "account": account.account, "device": b64e(key_id)}) for state in states.values()]


def account_spaces(store: Store, client: Client) -> list[str]:
    """The synced spaces of this vault that the account owns or manages on the server."""
    mine = {s["space"] for s in client.spaces() if s["role"] in ("owner", "manage")}
    return [space for space in spaces.synced(store.conn) if space in mine]


def server_chain(store: Store | None, client: Client, chain: str) -> AccountState:
    """A recovering device's first view of the account chain, verified and kept whole (with
    no store: only verified)."""
    if store is not None:
        post(store, client)
    entries = _fetch(store, client, chain)
    return AccountChain.verify(entries, chain=chain)


def server_space(store: Store | None, client: Client, space: str,
                 account: AccountState) -> SpaceState:
    """A recovering device's first view of a space chain, verified against `account` (and
    the other members' account chains, fetched)."""
    from msante.sync import linking

    entries = _fetch(store, client, f"space:{space}")
    return SpaceChain.verify(entries, linking.lookup_accounts(client, account),
                             chain=f"space:{space}")


def _fetch(store: Store | None, client: Client, chain: str) -> list[ChainEntry]:
    """A chain's entries from the server, the ones this vault lacked kept as posted."""
    try:
        entries = [ChainEntry.from_json(r.entry) for r in client.chain_records(chain)]
    except ValueError as exc:
        raise BadBundle(_("The server sent a malformed chain entry: {error}").format(
            error=exc)) from None
    if store is None:
        return entries
    known = len(spaces.entries(store.conn, chain))
    if len(entries) > known:
        with store.write() as tx:
            for entry in entries[known:]:
                spaces.keep(tx, entry)
                spaces.mark_posted(tx, entry)
            store.log(tx, "sync.chain.fetched", detail={"chain": chain,
                                                        "entries": len(entries) - known})
    return entries


def post(store: Store, client: Client) -> None:
    """Post the chain entries kept but not yet confirmed, in order."""
    from msante.sync import setup

    setup.post_kept(store, client)


# -- the bundle ----------------------------------------------------------------------------

def bundle_body(store: Store, dev: devices.Device, row: Row, names: list[str]) -> bytes:
    """What the bundle carries (see the module's docstring) for spaces `names`."""
    held = {space: [keys.body().decode("ascii")
                    for keys in spaces.load(store.conn, space).values()] for space in names}
    assert row.device is not None and row.device_sealed is not None
    return canonical({"account": dev.account, "server": dev.server_id, "space": dev.space,
                      "device": row.device, "keys": row.device_sealed, "spaces": held})


def reseal(store: Store, client: Client, dev: devices.Device) -> bool:
    """Seal the account's recovery bundle anew (every space's keys, every version) and store
    it on the server, first making the recovery device if this vault has none for the account
    (a new recovery key since); False when the vault does not know its recovery key's public
    key. Called after `sync setup` and after any change of keys; the client is logged in."""
    row = load(store.conn)
    if row is None:
        return False
    if not row.device_for(dev.account):
        ensure_device(store, client, dev)
        row = load(store.conn)
    assert row is not None and row.device is not None
    names = account_spaces(store, client)
    sealed = sign_then_seal(dev.signing, row.open_key, Purpose.RECOVERY,
                            context(dev.account, dev.server_id, row.lookup),
                            bundle_body(store, dev, row, names))
    replaces = row.posted_lookup if row.posted_lookup != row.lookup else None
    client.put_recovery(dev.account, row.lookup, row.device,
                        dev.signing.verify_key().key_id(), sealed, replaces)
    versions = {space: max(spaces.load(store.conn, space)) for space in names}
    with store.write() as tx:
        tx.execute("UPDATE sync_recovery SET posted_lookup = lookup, sealed_versions = ?",
                   (json.dumps(_versions(store), sort_keys=True),))
        store.log(tx, "sync.recovery.sealed", detail={
            "account": dev.account, "key_versions": versions,
            "replaced_older_key": replaces is not None})
    return True


def _versions(store: Store) -> dict[str, int]:
    """The newest key version of every space this vault holds keys for."""
    return {space: max(spaces.load(store.conn, space)) for space in spaces.synced(store.conn)}


def reseal_if_changed(store: Store, client: Client, dev: devices.Device) -> bool:
    """`reseal` when the keys held moved since the last seal (a rotation here or received,
    a new space) or the recovery key changed; nothing to send otherwise (no round trip).
    The sync engine and `devices revoke` call it; True when it sealed."""
    row = store.conn.execute("SELECT sealed_versions, lookup = posted_lookup "
                             "FROM sync_recovery").fetchone()
    if row is None:
        return False
    if row[0] is not None and row[1] and json.loads(row[0]) == _versions(store):
        return False
    return reseal(store, client, dev)


def protect(store: Store, client: Client, dev: devices.Device) -> bool:
    """After setup: make the recovery device if needed, then seal the bundle."""
    return reseal(store, client, dev)


def protected(store: Store) -> bool:
    """Whether this vault's account has its recovery device for the current recovery key."""
    row, dev = load(store.conn), devices.load(store.conn)
    return row is not None and dev is not None and row.device_for(dev.account)


@dataclass(frozen=True)
class Opened:
    """A recovery bundle's content, before its signature is checked."""

    account: str
    server: str
    space: str
    device: str
    signing: SigningKey
    seal: SealKey
    keys: dict[str, dict[int, spaces.ScopeKeys]]

    def __repr__(self) -> str:  # never the keys
        return f"Opened({self.account!r}, {sorted(self.keys)})"


def read_body(body: bytes, key: RecoveryKey) -> Opened:
    """Parse a bundle's body and open the recovery device's keys; BadBundle otherwise."""
    try:
        obj = json.loads(body)
        if set(obj) != {"account", "server", "space", "device", "keys", "spaces"}:
            raise ValueError("fields")
        inner = json.loads(key.seal.open(b64d(obj["keys"], "keys"),
                                         device_info(obj["account"])))
        held: dict[str, dict[int, spaces.ScopeKeys]] = {}
        for space, bodies in obj["spaces"].items():
            found = [spaces.ScopeKeys.from_body(b.encode("ascii")) for b in bodies]
            if not found or any(k.space != space for k in found):
                raise ValueError(space)
            held[space] = {k.version: k for k in found}
        opened = Opened(str(obj["account"]), str(obj["server"]), str(obj["space"]),
                        str(obj["device"]),
                        SigningKey.from_private_bytes(b64d(inner["signing"], "signing")),
                        SealKey.from_private_bytes(b64d(inner["seal"], "seal")), held)
    except (KeyError, TypeError, ValueError, AttributeError, IntegrityError):
        raise BadBundle(_("The recovery bundle is malformed: it was not written by msante, "
                          "or was altered.")) from None
    if canonical(json.loads(body)) != body:
        raise BadBundle(_("The recovery bundle is not in its canonical form: it was "
                          "altered."))
    return opened


def after_setup(store: Store, *, insecure: bool = False,
                connect: Callable[[str, bool], Client] | None = None) -> str | None:
    """`sync setup` done: log in again, make the recovery device if needed, seal the bundle.

    The setup itself stands whatever happens here: a failure is returned as a message to
    show (None when the account is protected), and the next `sync setup` tries again.
    """
    dev = devices.load(store.conn)
    if dev is None or not dev.ready:
        return None
    try:
        with (connect or _client)(dev.server, insecure) as client:
            client.login(dev.account, dev.device, dev.signing, dev.server_id)
            protect(store, client, dev)
    except (SyncError, UsageError) as exc:
        return _("Account recovery is not set up yet: {detail} Run 'msante sync setup "
                 "{server}' again to retry; if this recovery key already recovers another "
                 "account (one that --force left), draw a new one first with 'msante passwd "
                 "--rotate-keys'.").format(detail=exc.message, server=dev.server)
    return None


def _client(url: str, insecure: bool) -> Client:
    return Client(url, insecure=insecure)
