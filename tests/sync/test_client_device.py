"""This device's sync identity in the vault (msante/sync/device.py, migration 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from msante.api import Vault
from msante.sync import device as devices
from tests.helpers_vault import keys_of


def test_a_vault_that_never_synced_has_no_keys(vault: Any) -> None:
    """The migration makes the table only: keys come from `sync setup`."""
    assert devices.load(vault.store.conn) is None
    assert vault.store.conn.execute("SELECT count(*) FROM sync_device").fetchone()[0] == 0


def test_keys_survive_a_reopen_and_are_audited(vault: Any, home: Path) -> None:
    """What create stored is what the next process loads; each write is in the history."""
    made = devices.create(vault.store, "https://sync.example.org", "srv-1")
    assert made.state == "pending" and not made.ready
    ready = devices.mark_ready(vault.store, made)
    assert ready.ready
    vault.close()
    with Vault.open(home, keys_of(home)) as again:
        found = devices.load(again.store.conn)
        assert found is not None
        assert found.signing.private_bytes() == made.signing.private_bytes()
        assert found.seal.private_bytes() == made.seal.private_bytes()
        assert (found.account, found.device, found.space) == (made.account, made.device,
                                                              made.space)
        actions = [e.action for e in again.audit.entries(limit=5)]
        assert actions[:2] == ["sync.device.ready", "sync.device.create"]
        assert again.audit.verify().ok


def test_ids_are_random_and_fit_the_server(vault: Any) -> None:
    """Account, device and space are distinct random ids of the server's alphabet."""
    import re

    made = devices.create(vault.store, "https://s", "srv")
    ids = [made.account, made.device, made.space]
    assert len(set(ids)) == 3
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{16,64}", i) for i in ids)


def test_the_identity_is_no_record(vault: Any) -> None:
    """Never synced: no change-log row names it, so it cannot be pushed to another device."""
    before = devices.pending_changes(vault.store.conn, None)
    devices.create(vault.store, "https://s", "srv")
    conn = vault.store.conn
    assert conn.execute("SELECT count(*) FROM changes WHERE tbl = 'sync_device'").fetchone()[0] == 0
    assert devices.pending_changes(conn, devices.load(conn)) == before


def test_pending_changes_count_after_the_last_pushed(vault: Any, owner: Any) -> None:
    """Pending = change-log rows after `pushed_seq`: a new record adds one."""
    made = devices.create(vault.store, "https://s", "srv")
    conn = vault.store.conn
    total = conn.execute("SELECT max(seq) FROM changes").fetchone()[0]
    assert devices.pending_changes(conn, made) == total
    with vault.store.write() as tx:
        tx.execute("UPDATE sync_device SET pushed_seq = ?", (total,))
        vault.store.log(tx, "test.pushed")
    assert devices.pending_changes(conn, devices.load(conn)) == 0
    vault.measures.add(owner, "weight", 70.0)
    assert devices.pending_changes(conn, devices.load(conn)) >= 1


def test_the_repr_shows_no_key(vault: Any) -> None:
    """A device printed in a log or a traceback shows ids, never private bytes."""
    made = devices.create(vault.store, "https://s", "srv")
    text = repr(made)
    assert made.signing.private_bytes().hex()[:16] not in text
    assert "SigningKey" not in text and made.account in text
