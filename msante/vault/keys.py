"""The vault key and the sub-keys derived from it (HKDF, one label each)."""

from __future__ import annotations

from typing import NamedTuple

from msante.vault import crypto


class Keys(NamedTuple):
    """The unlocked vault key and its derived sub-keys; salt = the vault id (a named tuple:
    every command makes one, and a frozen dataclass costs start-up)."""

    vault_id: str
    vault_key: bytes

    def derive(self, label: str) -> bytes:
        """A 256-bit sub-key for `label`, bound to this vault."""
        return crypto.hkdf(self.vault_key, label, salt=self.vault_id.encode())

    @property
    def db(self) -> bytes:
        """The raw SQLCipher key."""
        return self.derive("sqlcipher")

    @property
    def audit(self) -> bytes:
        """The audit chain's MAC key."""
        return self.derive("audit-mac")

    @property
    def header(self) -> bytes:
        """The MAC key of the chain head kept in vault.json."""
        return self.derive("header-mac")

    @property
    def spaces(self) -> bytes:
        """The key that wraps each person's space key."""
        return self.derive("space-wrap")

    def wrap_space_key(self, space_id: str, space_key: bytes, version: int = 1) -> bytes:
        """Wrap a space key, bound to its space id and key version."""
        aad = crypto.context(purpose="space-key", space=space_id, key_version=version)
        return crypto.wrap_key(self.spaces, space_key, aad)

    def unwrap_space_key(self, space_id: str, wrapped: bytes, version: int = 1) -> bytes:
        """Unwrap a space key (DecryptError if swapped with another space's)."""
        aad = crypto.context(purpose="space-key", space=space_id, key_version=version)
        return crypto.unwrap_key(self.spaces, wrapped, aad)
