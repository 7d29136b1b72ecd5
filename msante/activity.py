"""The activity history service: list entries, verify the chain (the vault's audit log)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from msante.i18n import _
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
        if self.ok:
            return _("The activity history is whole: {n} entries, none edited, removed or "
                     "reordered.").format(n=self.count)
        texts = {
            "order": _("entry {n} was removed, reordered or inserted"),
            "mac": _("entry {n} was edited or forged"),
            "truncated": _("the newest entries, from {n} on, were removed"),
            "rolled-back": _("vault.db was replaced by an older copy (entry {n} differs from the "
                             "recorded head)"),
            "head-forged": _("the chain head in vault.json was forged (entry {n})"),
        }
        return _("The activity history was tampered with: {what}.").format(
            what=texts[self.reason].format(n=self.first_bad))


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
