"""`Vault.sync_now` and friends (msante/sync/runner.py): what the TUI and the background child
call. Two vaults of one person through a real server on loopback."""

from __future__ import annotations

from typing import Any

import pytest

from msante.errors import SyncError, UsageError
from tests.sync.engine_helpers import Pair


def conflicted(pair: Pair) -> str:
    """One allergy edited on both devices, A synced first: B holds the conflict."""
    a, b = pair.a, pair.b
    entry = a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    a.sync_now()
    b.sync_now()
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    b.profile.edit(entry.id, {"substance": "grass"}, revision=b.profile.get(entry.id).revision)
    a.sync_now()
    assert b.sync_now()["conflicts"] == 1
    return str(entry.id)


def test_a_vault_not_set_up_says_how_and_remembers_nothing(vault: Any) -> None:
    """Sync now on a vault without a sync identity: the setup command, no attempt kept."""
    status = vault.sync_status()
    assert status["configured"] is False and status["last_attempt"] is None
    assert status["background"]["on"] is False
    with pytest.raises(UsageError, match="msante sync setup"):
        vault.sync_now()
    assert vault.sync_status()["last_attempt"] is None


def test_sync_now_moves_the_changes_and_says_when(pair: Pair) -> None:
    """A's change reaches B; both remember a good attempt and the time of the last sync."""
    a, b = pair.a, pair.b
    a.profile.add(a.people.owner(), "allergies", {"substance": "pollen"})
    assert a.sync_status()["pending_changes"] > 0
    assert a.sync_now()["pushed"] > 0
    assert b.sync_now(by="script")["applied"] > 0
    for vault, by in ((a, "tui"), (b, "script")):
        status = vault.sync_status()
        assert status["configured"] and status["last_sync"]
        assert status["last_attempt"]["ok"] and status["last_attempt"]["by"] == by
    assert a.sync_status()["pending_changes"] == 0


def test_a_failed_sync_is_remembered_without_secrets_then_cleared(pair: Pair) -> None:
    """The server gone: the error is raised and kept as its message, naming no key or
    token; the next good sync clears it."""
    a = pair.a
    with a.store.write() as tx:  # a port nothing listens on
        tx.execute("UPDATE sync_device SET server = 'http://127.0.0.1:9'")
        a.store.log(tx, "test.move")
    with pytest.raises(SyncError) as caught:
        a.sync_now()
    kept = a.sync_status()["last_attempt"]
    assert kept["ok"] is False and kept["error"] == caught.value.message
    assert "127.0.0.1:9" in kept["error"]
    row = a.store.conn.execute("SELECT signing_key, seal_key FROM sync_device").fetchone()
    for secret in row:
        assert bytes(secret).hex() not in kept["error"]
    with a.store.write() as tx:
        tx.execute("UPDATE sync_device SET server = ?", (pair.b.sync_status()["server"],))
        a.store.log(tx, "test.move")
    a.sync_now()
    assert a.sync_status()["last_attempt"]["error"] is None


def test_conflicts_are_listed_and_resolved_through_the_vault(pair: Pair) -> None:
    """The Conflicts screen's calls: the list names both versions; keeping theirs writes
    it and the conflict leaves the list; a second resolve is refused."""
    record = conflicted(pair)
    b = pair.b
    assert b.sync_status()["conflicts"] == 1
    (one,) = b.sync_conflicts()
    assert one["record"] == record and one["differs"] == ["substance"]
    assert "grass" in one["mine"]["fields"]["data"]
    assert "birch" in one["theirs"]["fields"]["data"]
    b.resolve_conflict(one["id"], "theirs")
    assert b.sync_conflicts() == [] and b.sync_status()["conflicts"] == 0
    assert b.profile.get(record).data["substance"] == "birch"
    with pytest.raises(UsageError):
        b.resolve_conflict(one["id"], "mine")
