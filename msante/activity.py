"""The activity history service: list entries, verify the chain (the vault's audit log)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from msante.vault import audit
from msante.vault.store import Store


@dataclass(frozen=True)
class Verification:
    """What `audit verify` found, with a sentence for people."""

    ok: bool
    count: int
    first_bad: int | None
    reason: str

    def explain(self) -> str:
        """One plain sentence saying what was found."""
        return audit.explain(audit.Verdict(self.ok, self.count, self.first_bad, self.reason))


class Activity:
    """Reading and checking the audit log."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def entries(self, *, person: str | None = None, since: str | None = None,
                action: str | None = None, limit: int | None = None) -> Iterator[audit.Entry]:
        """Entries newest first, filtered."""
        return audit.entries(self.store.conn, person=person, since=since, action=action,
                             limit=limit)

    def verify(self) -> Verification:
        """Check the chain and the head kept in vault.json."""
        v = self.store.verify()
        return Verification(v.ok, v.count, v.first_bad, v.reason)
