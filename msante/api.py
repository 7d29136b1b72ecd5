"""The one entry point every interface uses: `Vault.open(path, keys)` and its services."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from msante.errors import BusyError, IntegrityError
from msante.people import People
from msante.vault import crypto, db, header
from msante.vault.keys import Keys
from msante.vault.preferences import Preferences
from msante.vault.store import Store, create, record_header_keys

if TYPE_CHECKING:
    from msante.activity import Activity
    from msante.agenda.service import Agenda
    from msante.documents.service import Documents
    from msante.measures.service import Measures
    from msante.profile.service import Profile

# Tables of records that belong to a person (a `person` column), and their label in counts.
PERSON_TABLES: list[tuple[str, str, str]] = [
    ("documents", "documents", "trashed_at IS NULL"),
    ("profile_entries", "profile_entries", "status = 'current'"),
]


class Vault:
    """An open vault and its services (`people`, `audit`, …)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    @classmethod
    def open(cls, base: Path, keys: Keys) -> Vault:
        """Open the vault at `base` with its keys (upgrading what an earlier version kept, and
        removing copies left by killed readers)."""
        from msante.documents.viewing import clean_stale_copies

        vault = cls(Store.open(base, keys))
        clean_stale_copies()
        try:
            vault._upgrade()
        except BaseException:
            vault.close()
            raise
        return vault

    def _upgrade(self) -> None:
        """Service-level upgrades (docs/architecture.md: Upgrades on open): records an earlier
        msante kept elsewhere, moved where the services read them. Each does nothing when
        nothing is left; a vault that refuses writes (rollback detected) or stays busy is
        opened all the same and upgraded at a later open."""
        from msante.agenda import legacy

        if legacy.pending(self.store.conn):
            try:
                legacy.convert(self.agenda)
            except (IntegrityError, BusyError):
                pass

    @classmethod
    def create(cls, base: Path, passphrase: str, *, name: str, born: str, sex: str,
               params: crypto.KdfParams | None = None) -> tuple[Vault, str]:
        """Create a vault with its owner; return it and the recovery key to show once."""
        from msante.people import validate

        validate(name, born, sex)
        made = create(base, passphrase, params)
        vault = cls(made.store)
        with vault.store.write() as tx:
            vault.store.log(tx, "vault.create")
            record_header_keys(tx, header.load(base))
        vault.people.add(name, born, sex, relation="owner")
        return vault, made.recovery_key

    @cached_property
    def people(self) -> People:
        """People and their spaces."""
        return People(self.store)

    @cached_property
    def documents(self) -> Documents:
        """Stored documents."""
        from msante.documents.service import Documents

        return Documents(self.store, self.people)

    @cached_property
    def profile(self) -> Profile:
        """The medical profile's entries."""
        from msante.profile.service import Profile

        return Profile(self.store, self.people)

    @cached_property
    def measures(self) -> Measures:
        """Measurements (weight, blood pressure, glucose…)."""
        from msante.measures.service import Measures

        return Measures(self.store, self.people)

    @cached_property
    def agenda(self) -> Agenda:
        """Appointments and prevention reminders."""
        from msante.agenda.service import Agenda

        return Agenda(self.store, self.people, self.profile)

    @cached_property
    def preferences(self) -> Preferences:
        """The interfaces' preferences (the folder of the last import)."""
        return Preferences(self.store)

    @cached_property
    def audit(self) -> Activity:
        """The activity history."""
        from msante.activity import Activity

        return Activity(self.store)

    # -- sync (msante.sync imported on first use: `status` and most commands never need it) --

    def sync_status(self) -> dict[str, Any]:
        """Sync set up or not, server, last sync, changes to send, open conflicts, the last
        attempt (with its error) and the agent's background sync (docs/cli.md)."""
        from msante.sync import lastrun, runner
        from msante.vault import agent

        return runner.status(self.store) | {
            "background": lastrun.background(self.path, agent.status(self.path))}

    def sync_now(self, progress: Callable[[str, int, int], None] | None = None, *,
                 by: str = "tui") -> dict[str, Any]:
        """Sync with the server now; what it did (`msante sync --json`'s keys)."""
        from msante.sync import runner

        return runner.run(self.store, by=by, progress=progress).to_json()

    def sync_apart(self, progress: Callable[[str, int, int], None] | None = None, *,
                   by: str = "tui") -> dict[str, Any]:
        """`sync_now` on a vault opened afresh, so that a worker thread can run it (the
        SQLite connection of this one belongs to the thread that opened it)."""
        with Vault.open(self.path, self.store.keys) as own:
            return own.sync_now(progress, by=by)

    def sync_conflicts(self) -> list[dict[str, Any]]:
        """The open sync conflicts, both versions of each."""
        from msante.sync import runner

        return runner.conflicts(self.store)

    def resolve_conflict(self, conflict_id: int, keep: str) -> dict[str, Any]:
        """Keep `mine` or `theirs` for one conflict."""
        from msante.sync import runner

        return runner.resolve(self.store, conflict_id, keep)

    @property
    def path(self) -> Path:
        """The vault's directory."""
        return self.store.base

    def counts(self) -> list[dict[str, Any]]:
        """Per person: name, relation and how many records of each kind."""
        out = []
        for person in self.people.list():
            item: dict[str, Any] = {"name": person.name, "relation": person.relation}
            conn = self.store.conn
            item["activity"] = conn.execute(
                "SELECT count(*) FROM audit WHERE person = ?", (person.id,)).fetchone()[0]
            for table, label, extra in PERSON_TABLES:
                item[label] = conn.execute(
                    f"SELECT count(*) FROM {table} WHERE person = ? AND deleted = 0 AND {extra}",
                    (person.id,)).fetchone()[0]
            out.append(item)
        return out

    def schema_version(self) -> int:
        """The applied schema migration number."""
        return db.schema_version(self.store.conn)

    def close(self) -> None:
        """Close the vault."""
        self.store.close()

    def __enter__(self) -> Vault:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def header_status(base: Path) -> dict[str, Any]:
    """What the plaintext header tells without any key."""
    head = header.load(base)
    return {"vault_id": head.vault_id, "format_version": head.version, "created": head.created,
            "kdf": {k: v for k, v in head.kdf.items() if k != "salt"}}
