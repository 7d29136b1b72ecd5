"""The sync engine between two vaults of one person, through a real server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from msante.sync import setup
from msante.sync.server.settings import Settings
from tests.server.server_helpers import live_server
from tests.sync.engine_helpers import Pair, second_device, sync


@pytest.fixture
def pair(vault: Any, tmp_path: Path) -> Iterator[Pair]:
    """Device A (the `vault` fixture, set up) and device B (a second vault, no owner)."""
    with live_server(Settings(data_dir=tmp_path / "srv")) as (url, app):
        setup.setup(vault.store, url)
        b = second_device(vault, tmp_path / "b", app)
        try:
            yield Pair(vault, b, app)
        finally:
            b.close()


def test_a_profile_entry_made_on_a_reaches_b(pair: Pair) -> None:
    """Edit on A, sync A, sync B: B has the owner and the entry, audited as from A."""
    a, b = pair.a, pair.b
    owner = a.people.owner()
    entry = a.profile.add(owner, "allergies", {"substance": "pollen"})
    first = sync(a)
    assert first.pushed > 0 and first.applied == 0
    got = sync(b)
    assert got.applied > 0 and got.conflicts == 0
    assert b.people.owner().name == owner.name
    again = b.profile.get(entry.id)
    assert again.data == entry.data and again.person == owner.id
    entries = list(b.audit.entries(action="sync.apply"))
    assert entries and all(e.detail["device"] for e in entries)
    assert b.audit.verify().ok and a.audit.verify().ok
    # nothing pushed back, nothing applied again
    assert sync(b).pushed == 0
    back = sync(a)
    assert back.applied == 0 and back.pushed == 0
