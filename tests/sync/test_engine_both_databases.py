"""Two vaults of one person stay in step through a server over SQLite and over PostgreSQL:
linked for real (`devices link`), records and a document's file both ways, a conflict resolved,
a person added later, the log verified on both."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from msante.api import Vault
from msante.sync import engine, verify
from msante.sync.engine import conflicts
from msante.sync.server.settings import Settings
from tests.helpers_vault import keys_of
from tests.server.server_helpers import live_server
from tests.sync.devices_helpers import identity, link, owner_vault, set_up
from tests.sync.engine_helpers import add_document


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A real server on 127.0.0.1 over each database (PostgreSQL: tests/pg_cluster.py)."""
    db = "" if request.param == "sqlite" else str(request.getfixturevalue("postgresql_url"))
    settings = Settings(data_dir=tmp_path / "srv", db_url=db, log_id=secrets.token_hex(8))
    with live_server(settings) as (base, _app):
        yield base


def test_two_linked_vaults_stay_in_step(url: str, tmp_path: Path) -> None:
    """Everything either device writes reaches the other; nothing twice, nothing lost."""
    a = owner_vault(tmp_path / "a")
    try:
        set_up(a, url)
        engine.run(a.store)
        result, joined = link(a, tmp_path / "b")
        assert result is not None and joined.error is None, joined.error
        with Vault.open(tmp_path / "b", keys_of(tmp_path / "b")) as b:
            _in_step(a, b)
    finally:
        a.close()


def _in_step(a: Vault, b: Vault) -> None:
    engine.run(b.store)
    assert sorted(p.name for p in b.people.list()) == sorted(p.name for p in a.people.list())
    owner = a.people.owner()
    entry = a.profile.add(owner, "allergies", {"substance": "pollen"})
    doc = add_document(a, b"compte rendu " * 1000, "Compte rendu")
    engine.run(a.store)
    engine.run(b.store)
    assert b.profile.get(entry.id).data == entry.data
    assert b.documents.get(doc).title == "Compte rendu"
    b.measures.add(b.people.owner(), "weight", "70.5")
    engine.run(b.store)
    engine.run(a.store)
    assert [m.value for m in a.measures.list(owner)] == [m.value for m in
                                                         b.measures.list(b.people.owner())]
    a.profile.edit(entry.id, {"substance": "birch"}, revision=a.profile.get(entry.id).revision)
    b.profile.edit(entry.id, {"substance": "grass"}, revision=b.profile.get(entry.id).revision)
    engine.run(a.store)
    assert engine.run(b.store).conflicts == 1
    (one,) = conflicts.listing(b.store)
    conflicts.resolve(b.store, identity(b), one["id"], "theirs")
    engine.run(b.store)
    engine.run(a.store)
    assert a.profile.get(entry.id).data == b.profile.get(entry.id).data
    assert a.profile.get(entry.id).data["substance"] == "birch"
    child = a.people.add("Jeanne Martin", "2012-09-01", "female")
    engine.run(a.store)
    engine.run(b.store)
    assert b.people.get("Jeanne").id == child.id
    for vault in (a, b):
        assert conflicts.listing(vault.store) == [] and vault.audit.verify().ok
        report = verify.verify_vault(vault.store)
        assert report["log"]["size"] > 0
