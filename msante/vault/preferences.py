"""Preferences of this vault's interfaces (the folder of the last import), kept in the vault.

They live in the encrypted `meta` table beside the device id, never in a plaintext file: a
folder's path can say who a person sees ("~/Oncologie/…"). They are local to this vault's
device: not records, not in the change log, never synced. Changing one is a mutation, so it
is audited ("vault.preference", naming the preference, not its value) in the same
transaction, and only when the value really changes.
"""

from __future__ import annotations

from msante.vault.store import Store

LAST_IMPORT_FOLDER = "last_import_folder"
"""The folder the TUI last imported from (where its next file picker starts)."""

_PREFIX = "preference."


class Preferences:
    """Named text values of the interfaces, read and changed through the vault."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def get(self, name: str) -> str | None:
        """The value of `name`, or None when it was never set."""
        row = self.store.conn.execute("SELECT value FROM meta WHERE key = ?",
                                      (_PREFIX + name,)).fetchone()
        return str(row[0]) if row else None

    def set(self, name: str, value: str) -> bool:
        """Keep `value` for `name` (audited); False when it was already that value."""
        if self.get(name) == value:
            return False
        with self.store.write() as tx:
            tx.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (_PREFIX + name, value))
            self.store.log(tx, "vault.preference", detail={"name": name})
        return True
