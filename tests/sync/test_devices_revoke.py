"""`devices revoke`: the account chain drops the device, every synced space gets new keys it
never sees, the server stops its logins; what it held before it keeps (no forward secrecy)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.api import Vault
from msante.errors import LoginRefused, NotFoundError, UsageError
from msante.sync import linking, revoke, spaces
from msante.sync.chains import b64e
from msante.sync.client import Client
from msante.sync.crypto import BadSeal
from msante.sync.items import ItemError, Routing, open_item, seal_item
from msante.sync.server.settings import Settings
from tests.helpers_vault import keys_of
from tests.server.server_helpers import live_server
from tests.sync.devices_helpers import identity, link, logged_in, owner_vault, set_up


@pytest.fixture
def url(tmp_path: Path) -> Iterator[str]:
    """A real server (SQLite) on a free port of 127.0.0.1."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (base, _app):
        yield base


@pytest.fixture
def pair(home: Path, tmp_path: Path, url: str) -> Iterator[tuple[Vault, Path, str]]:
    """The first device (at MSANTE_HOME), a second one linked to it (its home, its
    fingerprint)."""
    vault = owner_vault(home)
    set_up(vault, url)
    result, joined = link(vault, tmp_path / "b")
    assert result is not None and joined.error is None, joined.error
    yield vault, tmp_path / "b", result["fingerprint"]
    vault.close()


def revoke_second(first: Vault, fingerprint: str) -> dict[str, object]:
    """The first device revokes the second (named by its fingerprint's first two words)."""
    dev = identity(first)
    with logged_in(dev) as client:
        state, _unexpected = linking.server_account(first.store, client, dev)
        target = revoke.find_device(state, " ".join(fingerprint.split()[:2]),
                                    dev.signing.verify_key().key_id())
        return revoke.revoke(first.store, client, dev, target)


def test_a_revoked_device_cannot_log_in_nor_read_what_comes_after(
        pair: tuple[Vault, Path, str]) -> None:
    """After the revocation: its login is refused; with its old keys and every wrap the server
    holds, it opens no key of the new version and no item sealed under it."""
    first, second_home, fingerprint = pair
    with Vault.open(second_home, keys_of(second_home)) as second:
        gone = identity(second)
        old_keys = {s: spaces.load(second.store.conn, s) for s in spaces.synced(second.store.conn)}
    result = revoke_second(first, fingerprint)
    assert result["server_revoked"] is True
    assert {s["key_version"] for s in result["spaces"]} == {2}  # type: ignore[union-attr]
    with Client(gone.server) as client, pytest.raises(LoginRefused):
        client.login(gone.account, gone.device, gone.signing, gone.server_id)
    dev = identity(first)
    me = dev.signing.verify_key().key_id()
    with logged_in(dev) as client:
        state, _u = linking.server_account(first.store, client, dev)
        assert not state.is_active(gone.signing.verify_key().key_id())
        for space, versions in old_keys.items():
            chain = linking.space_state(first.store, client, space, state)
            assert chain.key_version == 2 and set(chain.writers) == {me}
            new = spaces.load(first.store.conn, space)[2]
            routing = Routing(space, "profile", "record-1", "rev-1", None, 2, me)
            sealed = seal_item({"id": "record-1", "name": "x"}, "people",
                               new.key("profile"), routing)
            assert open_item(sealed, new.key("profile"), routing).fields["name"] == "x"
            for old in versions.values():
                with pytest.raises(ItemError):
                    open_item(sealed, old.key("profile"), routing)
            assert [v for v, _s in client.wraps(space, gone.device)] == [1]
            newer = [(v, w) for v, w in client.wraps(space, b64e(me)) if v == 2]
            assert newer  # the remaining device's wrap of the new version
            for version, wrap in newer:
                with pytest.raises(BadSeal):
                    spaces.unwrap(wrap, gone.seal, gone.signing.verify_key().key_id(),
                                  dev.signing.verify_key(), space, version)


def test_revoke_keeps_keys_and_entries_before_posting(pair: tuple[Vault, Path, str]) -> None:
    """The new keys and every entry are in the vault, audited once, all posted."""
    first, _home, fingerprint = pair
    result = revoke_second(first, fingerprint)
    assert spaces.unposted(first.store.conn) == []
    rows = first.store.conn.execute(
        "SELECT detail FROM audit WHERE action = 'sync.device.revoke'").fetchall()
    assert len(rows) == 1 and fingerprint in rows[0][0]
    for space in result["spaces"]:  # type: ignore[attr-defined]
        assert spaces.current(first.store.conn, space["space"]).version == 2  # type: ignore[union-attr]


def test_which_device_to_revoke(pair: tuple[Vault, Path, str]) -> None:
    """By fingerprint or key id prefix; never this device; an unknown one is exit 5."""
    first, _home, fingerprint = pair
    dev = identity(first)
    me = dev.signing.verify_key().key_id()
    with logged_in(dev) as client:
        state, _u = linking.server_account(first.store, client, dev)
    other = next(d for d in state.devices.values() if d.key_id != me)
    assert revoke.find_device(state, b64e(other.key_id)[:6], me) == other
    assert revoke.find_device(state, fingerprint.upper(), me) == other
    with pytest.raises(UsageError, match="this device"):
        revoke.find_device(state, dev.fingerprint(), me)
    with pytest.raises(NotFoundError):
        revoke.find_device(state, "no such device", me)
    with pytest.raises(UsageError, match="several"):  # both devices bear the machine's name
        revoke.find_device(state, other.name, me)


def test_the_revoke_command(cli, pair: tuple[Vault, Path, str], passphrase_file: Path) -> None:
    """Without a terminal it needs --yes; then the JSON names the device and the new keys."""
    _first, _home, fingerprint = pair
    words = " ".join(fingerprint.split()[:3])
    refused = cli("devices", "revoke", words, pfile=passphrase_file)
    assert refused.code == 2 and "--yes" in refused.err
    done = cli("devices", "revoke", words, "--yes", "--json", pfile=passphrase_file)
    assert done.code == 0, done.err
    assert done.json()["fingerprint"] == fingerprint and done.json()["server_revoked"]
    listed = cli("devices", "list", "--json", pfile=passphrase_file).json()
    assert [r["active"] for r in listed] == [True, False]
    again = cli("devices", "revoke", words, "--yes", pfile=passphrase_file)
    assert again.code == 5 and "already revoked" in again.err


def test_revoking_the_first_device_rotates_every_key_but_the_server_keeps_its_login(
        pair: tuple[Vault, Path, str]) -> None:
    """The account's first device registered under a random server id the others never
    learn: revoked from the second device, it leaves the account and every space (new keys),
    but the server still lets it log in — `server_revoked` says so (a known limit)."""
    first, second_home, _fingerprint = pair
    old = identity(first)
    with Vault.open(second_home, keys_of(second_home)) as second:
        dev = identity(second)
        with logged_in(dev) as client:
            state, _u = linking.server_account(second.store, client, dev)
            target = revoke.find_device(state, old.fingerprint(),
                                        dev.signing.verify_key().key_id())
            result = revoke.revoke(second.store, client, dev, target)
            after, _u = linking.server_account(second.store, client, dev)
        assert result["server_revoked"] is False
        assert not after.is_active(old.signing.verify_key().key_id())
        assert all(s["key_version"] == 2 for s in result["spaces"])  # type: ignore[attr-defined]
    with Client(old.server) as client:
        client.login(old.account, old.device, old.signing, old.server_id)  # the known limit


def test_syncing_goes_on_after_a_revocation(pair: tuple[Vault, Path, str]) -> None:
    """After revoking the second device, the first syncs under the new keys (version 2)."""
    from msante.sync import engine

    first, second_home, fingerprint = pair
    engine.run(first.store)
    with Vault.open(second_home, keys_of(second_home)) as second:
        assert engine.run(second.store).pulled > 0
    revoke_second(first, fingerprint)
    first.measures.add(first.people.owner(), "weight", 72.5)
    result = engine.run(first.store)
    assert result.pushed >= 1
