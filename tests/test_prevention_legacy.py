"""Marks kept in `prevention_done` by earlier versions become profile entries when the vault is
opened (issue 11, part 1): the same entry `agenda done` makes now, audited, in one
transaction, exactly once, the old rows then tombstones."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from msante.agenda import prevention
from msante.api import Vault
from msante.errors import IntegrityError
from msante.profile import fhir, summary
from msante.vault import migrations, records, store
from msante.vault.keys import Keys
from tests.helpers_vault import keys_of, make_vault

FULL = list(migrations.MIGRATIONS)
UP_TO_AGENDA = FULL[:[name for name, _f in FULL].index("agenda") + 1]


def _mark_the_old_way(vault: Vault, person_id: str, rule: str, dose: int, day: str,
                      note: str | None = None) -> None:
    """What `agenda done` wrote before marks were profile entries (msante up to e8f275b)."""
    with vault.store.write() as tx:
        records.insert(tx, "prevention_done", {"person": person_id, "rule": rule, "dose": dose,
                                               "done_on": day, "note": note},
                       device=vault.store.device)
        vault.store.log(tx, "agenda.done", person=person_id, detail={"rule": rule, "dose": dose})


@contextmanager
def _old_code(schema: bool = False) -> Iterator[None]:
    """Open vaults as the earlier version did: no upgrade on open (`schema`: nor any
    migration after the agenda's)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Vault, "_upgrade", lambda self: None)
        if schema:
            patch.setattr(migrations, "MIGRATIONS", UP_TO_AGENDA)
            patch.setattr(store, "MIGRATIONS", UP_TO_AGENDA)
        yield


@pytest.fixture
def old_vault(home: Path) -> tuple[Keys, str]:
    """A closed vault of the schema before any later migration, made the old way: Léo (born
    100 days ago) has his first hexavalent dose marked done in `prevention_done`, with a note;
    (keys, Léo's id)."""
    with _old_code(schema=True):
        vault, _rk = make_vault(home)
        leo = vault.people.add("Léo Martin", dt.date.today() - dt.timedelta(days=100), "male")
        _mark_the_old_way(vault, leo.id, "infant_hexa", 1, _day(leo.born), "cabinet Dr Roux")
        keys = vault.store.keys
        vault.close()
    return keys, leo.id


def _day(born: dt.date) -> str:
    return (born + dt.timedelta(days=62)).isoformat()


def _legacy_rows(vault: Vault) -> list[tuple[int, str]]:
    return [tuple(r) for r in vault.store.conn.execute(
        "SELECT deleted, rule FROM prevention_done ORDER BY created_at")]


def _converted(vault: Vault) -> int:
    return int(vault.store.conn.execute(
        "SELECT count(*) FROM audit WHERE action = 'agenda.convert'").fetchone()[0])


def test_an_old_mark_is_a_vaccination_entry_after_open(old_vault, home: Path) -> None:
    """Opened by this version: the entry `agenda done` would make (provenance, external id,
    source, person, day, note), the old row a tombstone, one audit entry, the chain intact,
    and the item still satisfied."""
    keys, leo_id = old_vault
    with Vault.open(home, keys) as vault:
        leo = vault.people.get(leo_id)
        [entry] = vault.profile.list(leo, "vaccinations")
        item = prevention.item_id("infant_hexa", 1, leo.id)
        assert (entry.provenance, entry.external_id, entry.source) == (
            "prevention", "prevention:infant_hexa:1", item)
        assert entry.data["date"] == _day(leo.born) and entry.data["dose"] == 1
        assert entry.data["note"] == "cabinet Dr Roux"
        assert prevention.antigens_of(entry.data["vaccine"]) >= {"diphtheria", "pertussis"}
        assert _legacy_rows(vault) == [(1, "")]
        assert _converted(vault) == 1
        assert vault.audit.verify().ok
        assert ("infant_hexa", 1) not in {(i.rule_id, i.dose) for i in vault.agenda.due(
            leo, horizon_months=0)}
        plan = {(i.rule_id, i.dose): i.status for i in vault.agenda.plan(leo)}
        assert plan[("infant_hexa", 1)] == "done"


def test_an_old_mark_reaches_the_card_the_fhir_export_and_profile_show(
        old_vault, home: Path, cli, passphrase_file: Path) -> None:
    """`profile show --json` (the first command run on the old vault), the emergency card and
    the FHIR IPS all list the dose."""
    keys, leo_id = old_vault
    shown = cli("profile", "show", "--person", "Léo Martin", "--section", "vaccinations",
                "--json", pfile=passphrase_file)
    assert shown.code == 0, shown.err
    assert [(e["provenance"], e["fields"]["dose"]) for e in shown.json()] == [("prevention", 1)]
    with Vault.open(home, keys) as vault:
        leo = vault.people.get(leo_id)
        card = summary.emergency_card(vault, leo)
        assert _day(leo.born) in json.dumps(card.to_json())
        bundle, _counts, _warnings = fhir.build_ips(vault, leo)
        dates = [e["resource"]["occurrenceDateTime"] for e in bundle["entry"]
                 if e["resource"]["resourceType"] == "Immunization"]
        assert dates == [_day(leo.born)]


def test_opening_again_converts_nothing_more(old_vault, home: Path) -> None:
    """Exactly once: a second open writes nothing (no entry, no audit, no change row)."""
    keys, leo_id = old_vault
    Vault.open(home, keys).close()
    with Vault.open(home, keys) as vault:
        before = vault.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0]
        assert len(vault.profile.list(vault.people.get(leo_id), "vaccinations")) == 1
        assert _converted(vault) == 1
    with Vault.open(home, keys) as vault:
        assert vault.store.conn.execute("SELECT count(*) FROM changes").fetchone()[0] == before


def test_two_processes_that_opened_together_convert_once(old_vault, home: Path) -> None:
    """The second process re-reads the old rows inside its own write transaction: what the
    first converted meanwhile is not converted again."""
    keys, leo_id = old_vault
    with _old_code():
        late = Vault.open(home, keys)  # opened, not yet upgraded
    try:
        Vault.open(home, keys).close()  # the other process converts
        late._upgrade()
        assert len(late.profile.list(late.people.get(leo_id), "vaccinations")) == 1
        assert _converted(late) == 1
    finally:
        late.close()


def test_processes_opening_at_the_same_time_convert_once(old_vault, home: Path,
                                                         passphrase_file: Path) -> None:
    """Four `msante profile show` started together on the old vault: all succeed, one
    entry."""
    keys, leo_id = old_vault
    command = [sys.executable, "-m", "msante", "profile", "show", "--person", "Léo Martin",
               "--json"]
    env = dict(os.environ) | {"MSANTE_PASSPHRASE_FILE": str(passphrase_file)}
    runs = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True) for _ in range(4)]
    outs = [(p.wait(60), p.communicate()) for p in runs]
    assert [code for code, _out in outs] == [0, 0, 0, 0], [o[1] for o in outs]
    with Vault.open(home, keys) as vault:
        assert len(vault.profile.list(vault.people.get(leo_id), "vaccinations")) == 1
        assert _converted(vault) == 1


def test_an_entry_made_since_has_the_last_word(old_vault, home: Path) -> None:
    """Marked again by a newer version (a profile entry already linked to the item): that
    entry stays as it is, and the old row is only made a tombstone."""
    keys, leo_id = old_vault
    with _old_code(), Vault.open(home, keys) as vault:
        leo = vault.people.get(leo_id)
        vault.agenda.done(prevention.item_id("infant_hexa", 1, leo.id),
                          leo.born + dt.timedelta(days=65), product="Vaxelis")
    with Vault.open(home, keys) as vault:
        [entry] = vault.profile.list(vault.people.get(leo_id), "vaccinations", everything=True)
        assert entry.data["vaccine"] == "Vaxelis" and entry.revision == 1
        assert _legacy_rows(vault) == [(1, "")]


def test_an_old_screening_mark_is_a_screening_entry(home: Path) -> None:
    """A test marked done the old way becomes the screening entry `agenda done` makes."""
    with _old_code():
        vault, _rk = make_vault(home, born="1970-03-01", sex="female")
        owner = vault.people.list()[0]
        _mark_the_old_way(vault, owner.id, "screen_breast", 3, "2024-05-02")
        vault.close()
    with Vault.open(home, keys_of(home)) as vault:
        [entry] = vault.profile.list(owner, "screenings")
        assert entry.external_id == "prevention:screen_breast:3"
        assert entry.data["date"] == "2024-05-02"
        assert vault.profile.list(owner, "vaccinations") == []


def test_a_mark_of_a_rule_this_version_lacks_is_kept(old_vault, home: Path) -> None:
    """A rule no longer known cannot say what entry to make: that row stays as it was (and the
    rest is converted); opening works."""
    keys, leo_id = old_vault
    with _old_code(), Vault.open(home, keys) as vault:
        _mark_the_old_way(vault, leo_id, "withdrawn_rule", 1, "2026-01-02")
    with Vault.open(home, keys) as vault:
        assert sorted(_legacy_rows(vault)) == [(0, "withdrawn_rule"), (1, "")]
        assert len(vault.profile.list(vault.people.get(leo_id), "vaccinations")) == 1


def test_a_vault_that_refuses_writes_still_opens_and_counts_its_old_marks(
        old_vault, home: Path, monkeypatch) -> None:
    """A vault whose writes are refused (a rollback detected) opens all the same; the old
    mark, not converted yet, still closes its item."""
    keys, leo_id = old_vault

    def refuse(self, tx) -> None:
        raise IntegrityError("rolled back")

    monkeypatch.setattr(store.Store, "_refuse_rolled_back", refuse)
    with Vault.open(home, keys) as vault:
        leo = vault.people.get(leo_id)
        assert _legacy_rows(vault) == [(0, "infant_hexa")]
        assert ("infant_hexa", 1) not in {(i.rule_id, i.dose) for i in vault.agenda.due(
            leo, horizon_months=0)}
