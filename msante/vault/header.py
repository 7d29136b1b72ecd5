"""The plaintext header `vault.json`: format version, KDF parameters, wrapped keys, chain head.

Nothing personal is stored here. Reading it needs no key and no cryptography import, so that
`msante status` stays fast; the chain head is MACed under a sub-key of the vault key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from msante import paths
from msante.errors import IntegrityError, NotFoundError, UnsupportedError
from msante.i18n import _
from msante.vault.fsutil import file_lock, write_private

FORMAT = "msante-vault"
VERSION = 1


def b64(data: bytes) -> str:
    """Standard base64 text of `data`."""
    return base64.b64encode(data).decode("ascii")


def unb64(text: Any) -> bytes:
    """Bytes of base64 `text`; IntegrityError when it is not base64."""
    try:
        return base64.b64decode(str(text), validate=True)
    except ValueError:
        raise IntegrityError(_("vault.json is corrupt (bad base64).")) from None


@dataclass(frozen=True)
class ChainHead:
    """The audit chain's length and last MAC, with a MAC of its own under the header key."""

    count: int
    last_mac: str
    tag: str

    @staticmethod
    def make(key: bytes, vault_id: str, count: int, last_mac: str) -> ChainHead:
        """A chain head tagged under `key`."""
        return ChainHead(count, last_mac, _head_tag(key, vault_id, count, last_mac))

    def valid(self, key: bytes, vault_id: str) -> bool:
        """Whether the tag matches (nobody without the key wrote it)."""
        expected = _head_tag(key, vault_id, self.count, self.last_mac)
        return hmac.compare_digest(expected.encode(), self.tag.encode("utf-8", "replace"))


def _head_tag(key: bytes, vault_id: str, count: int, last_mac: str) -> str:
    msg = f"msante/v1/chain-head\0{vault_id}\0{count}\0{last_mac}".encode()
    return hmac.new(key, msg, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Header:
    """The decoded contents of vault.json."""

    vault_id: str
    created: str
    kdf: dict[str, Any]
    wrapped_by_passphrase: bytes
    recovery_salt: bytes
    wrapped_by_recovery: bytes
    chain: ChainHead | None = None
    version: int = VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def with_chain(self, chain: ChainHead) -> Header:
        """A copy with another chain head."""
        return replace(self, chain=chain)

    def to_json(self) -> dict[str, Any]:
        """The JSON form written to disk."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "version": self.version,
            "vault_id": self.vault_id,
            "created": self.created,
            "kdf": self.kdf,
            "keys": {
                "passphrase": b64(self.wrapped_by_passphrase),
                "recovery_salt": b64(self.recovery_salt),
                "recovery": b64(self.wrapped_by_recovery),
            },
        }
        if self.chain:
            data["chain_head"] = {
                "count": self.chain.count,
                "last_mac": self.chain.last_mac,
                "tag": self.chain.tag,
            }
        return data | self.extra

    def to_bytes(self) -> bytes:
        """Canonical bytes of the JSON form."""
        return (json.dumps(self.to_json(), indent=2, sort_keys=True) + "\n").encode()


def parse(raw: bytes) -> Header:
    """Decode vault.json bytes; IntegrityError or UnsupportedError on bad content."""
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError("format")
        version = _count(data["version"])
    except (ValueError, KeyError, TypeError, RecursionError):
        raise IntegrityError(_("vault.json is corrupt or not an msante header.")) from None
    if version > VERSION:
        raise UnsupportedError(
            _("This vault has format {found}; this msante reads up to {ours}. Upgrade msante.")
            .format(found=version, ours=VERSION)
        )
    return _decode(data, version)


def _refuse_constant(name: str) -> Any:
    """NaN and Infinity are not JSON numbers: refuse them."""
    raise ValueError(name)


def _count(value: Any) -> int:
    """A non-negative JSON integer (not a bool, a float or a string)."""
    if type(value) is not int or value < 0:
        raise ValueError("not a count")
    return value


def _decode(data: dict[str, Any], version: int) -> Header:
    try:
        keys = data["keys"]
        head = data.get("chain_head")
        chain = (ChainHead(_count(head["count"]), str(head["last_mac"]), str(head["tag"]))
                 if head else None)
        known = {"format", "version", "vault_id", "created", "kdf", "keys", "chain_head"}
        return Header(
            vault_id=str(data["vault_id"]),
            created=str(data["created"]),
            kdf=dict(data["kdf"]),
            wrapped_by_passphrase=unb64(keys["passphrase"]),
            recovery_salt=unb64(keys["recovery_salt"]),
            wrapped_by_recovery=unb64(keys["recovery"]),
            chain=chain,
            version=version,
            extra={k: v for k, v in data.items() if k not in known},
        )
    except (KeyError, TypeError, ValueError):
        raise IntegrityError(_("vault.json is corrupt or not an msante header.")) from None


def load(base: Path) -> Header:
    """Read the header of the vault at `base`; NotFoundError when there is no vault."""
    try:
        raw = paths.header_path(base).read_bytes()
    except FileNotFoundError:
        raise NotFoundError(
            _("No vault in {path}. Create one with 'msante init'.").format(path=base)
        ) from None
    return parse(raw)


def save(base: Path, header: Header) -> None:
    """Write the header atomically, mode 0600."""
    write_private(paths.header_path(base), header.to_bytes())


def update(base: Path, change: Callable[[Header], Header | None]) -> None:
    """Read, change and write vault.json under its lock, so no writer undoes another's change.

    `change` returns the new header, or None to leave it as it is.
    """
    with file_lock(base / "header.lock"):
        new = change(load(base))
        if new is not None:
            save(base, new)


def advance_chain(base: Path, key: bytes, count: int, last_mac: str) -> None:
    """Record a newer chain head in vault.json; never moves it backwards."""
    def change(current: Header) -> Header | None:
        if current.chain and current.chain.count >= count:
            return None
        return current.with_chain(ChainHead.make(key, current.vault_id, count, last_mac))
    update(base, change)
