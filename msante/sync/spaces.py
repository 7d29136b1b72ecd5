"""Synced spaces: their scope keys on this device, their wraps for other devices, and the
chain entries this device keeps (vault tables `sync_spaces` and `sync_chains`, migration 9).

A synced space has, per key version, four random scope keys (agenda, documents, measurements,
profile), an inbox key pair and a space signing key pair; the public halves of the last two
are in the space chain (genesis or rotation). They are stored here only, inside SQLCipher, and
travel to another device only as a **wrap**: signed by a writer of the space, then sealed to
the recipient device's HPKE key, the space, version and recipient named in the signed context
and in HPKE's `info` (`crypto.sign_then_seal`, purpose `scope-keys`).

Chain entries are kept before they are posted (`keep`), so a setup cut short posts the very
same bytes again, which the server takes as a retry; `posted` marks what it confirmed.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from msante.i18n import _
from msante.sync.chains import ChainEntry, Rotation, b64d, b64e
from msante.sync.crypto import (
    OpenKey,
    Purpose,
    SealKey,
    SigningKey,
    VerifyKey,
    canonical,
    open_signed,
    sign_then_seal,
)
from msante.vault.db import Connection, now

SCOPES = ("agenda", "documents", "measurements", "profile")

TABLE_SCOPES: Mapping[str, str] = {
    "people": "profile", "profile_entries": "profile", "profile_history": "profile",
    "documents": "documents", "measurements": "measurements",
    "agenda_items": "agenda", "prevention_done": "agenda",
}
"""The scope whose key seals each synced table's items (`spaces`, `identities`: never)."""


class BadWrap(ValueError):
    """A wrap that does not open, or opens to something other than what was asked."""


@dataclass(frozen=True)
class ScopeKeys:
    """One key version of one space: its scope keys, inbox key and space signing key."""

    space: str
    version: int
    scopes: Mapping[str, bytes]
    inbox: SealKey
    signing: SigningKey

    @classmethod
    def new(cls, space: str, version: int) -> ScopeKeys:
        """Fresh random keys for `space` at `version`."""
        return cls(space, version, {s: secrets.token_bytes(32) for s in SCOPES},
                   SealKey.generate(), SigningKey.generate())

    def key(self, scope: str) -> bytes:
        """The key of one scope (KeyError for a scope that does not exist)."""
        return self.scopes[scope]

    def rotation(self) -> Rotation:
        """The public halves, as a space chain's genesis or rotation names them."""
        return Rotation(self.version, self.inbox.public_key(), self.signing.verify_key())

    def body(self) -> bytes:
        """The canonical JSON a wrap carries and the vault stores."""
        return canonical({"space": self.space, "key_version": self.version,
                          "scopes": {s: self.scopes[s] for s in SCOPES},
                          "inbox": self.inbox.private_bytes(),
                          "signing": self.signing.private_bytes()})

    @classmethod
    def from_body(cls, data: bytes) -> ScopeKeys:
        """Read `body()` back; ValueError on anything else."""
        try:
            obj = json.loads(data)
            scopes = obj["scopes"]
            if (set(obj) != {"space", "key_version", "scopes", "inbox", "signing"}
                    or set(scopes) != set(SCOPES) or not isinstance(obj["space"], str)
                    or type(obj["key_version"]) is not int or obj["key_version"] < 1):
                raise ValueError("fields")
            keys = cls(obj["space"], obj["key_version"],
                       {s: b64d(scopes[s], s, 32) for s in SCOPES},
                       SealKey.from_private_bytes(b64d(obj["inbox"], "inbox")),
                       SigningKey.from_private_bytes(b64d(obj["signing"], "signing")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"not a set of scope keys: {exc}") from None
        if keys.body() != data:
            raise ValueError("not a set of scope keys: not canonical")
        return keys

    def __repr__(self) -> str:  # never the keys
        return f"ScopeKeys({self.space!r}, version {self.version})"


def wrap_context(space: str, version: int, recipient_key_id: bytes) -> dict[str, object]:
    """What a wrap's signature and seal name: the space, the version, the recipient."""
    return {"space": space, "key_version": version, "device": b64e(recipient_key_id)}


def wrap(keys: ScopeKeys, sender: SigningKey, recipient: OpenKey,
         recipient_key_id: bytes) -> bytes:
    """`keys` signed by `sender`, then sealed to one device."""
    return sign_then_seal(sender, recipient, Purpose.SCOPE_KEYS,
                          wrap_context(keys.space, keys.version, recipient_key_id), keys.body())


def unwrap(sealed: bytes, me: SealKey, my_key_id: bytes, sender: VerifyKey, space: str,
           version: int) -> ScopeKeys:
    """Open a wrap meant for this device, from `sender`, for `space` at `version`.

    BadSeal/BadSignature (IntegrityError) when it was not sealed to me or not signed by
    `sender` for that context; BadWrap when its content names another space or version.
    """
    body = open_signed(me, sender, Purpose.SCOPE_KEYS,
                       wrap_context(space, version, my_key_id), sealed)
    try:
        keys = ScopeKeys.from_body(body)
    except ValueError as exc:
        raise BadWrap(str(exc)) from None
    if keys.space != space or keys.version != version:
        raise BadWrap(_("The keys wrapped for space {space} version {version} are another "
                        "space's or version's.").format(space=space, version=version))
    return keys


# -- the vault's tables ------------------------------------------------------------------

def save(tx: Connection, keys: ScopeKeys) -> None:
    """Keep a key version (the same version again must be the same keys)."""
    row = tx.execute("SELECT keys FROM sync_spaces WHERE space = ? AND key_version = ?",
                     (keys.space, keys.version)).fetchone()
    if row is not None:
        if bytes(row[0]) != keys.body():
            raise BadWrap(_("Space {space} already has other keys at version {version}.")
                          .format(space=keys.space, version=keys.version))
        return
    tx.execute("INSERT INTO sync_spaces (space, key_version, keys, created_at) "
               "VALUES (?, ?, ?, ?)", (keys.space, keys.version, keys.body(), now()))


def load(conn: Connection, space: str) -> dict[int, ScopeKeys]:
    """Every key version of `space` this device holds, by version."""
    rows = conn.execute("SELECT key_version, keys FROM sync_spaces WHERE space = ? "
                        "ORDER BY key_version", (space,)).fetchall()
    return {int(v): ScopeKeys.from_body(bytes(k)) for v, k in rows}


def current(conn: Connection, space: str) -> ScopeKeys | None:
    """The newest key version of `space` held here, or None."""
    row = conn.execute("SELECT keys FROM sync_spaces WHERE space = ? "
                       "ORDER BY key_version DESC LIMIT 1", (space,)).fetchone()
    return ScopeKeys.from_body(bytes(row[0])) if row else None


def synced(conn: Connection) -> list[str]:
    """The spaces this device holds keys for."""
    return [str(r[0]) for r in
            conn.execute("SELECT DISTINCT space FROM sync_spaces ORDER BY space").fetchall()]


def live_spaces(conn: Connection) -> list[str]:
    """The vault's spaces that are not tombstones (the owner's first)."""
    rows = conn.execute(
        "SELECT s.id FROM spaces s LEFT JOIN people p ON p.id = s.id "
        "WHERE s.deleted = 0 AND s.wrapped_key IS NOT NULL "
        "ORDER BY COALESCE(p.relation, '') != 'owner', s.created_at, s.id").fetchall()
    return [str(r[0]) for r in rows]


def keep(tx: Connection, entry: ChainEntry) -> None:
    """Keep a chain entry (before posting it); the same entry again is a no-op."""
    row = tx.execute("SELECT entry FROM sync_chains WHERE chain = ? AND seq = ?",
                     (entry.chain, entry.seq)).fetchone()
    if row is not None:
        if bytes(row[0]) != entry.to_json():
            raise ValueError(f"{entry.chain} already has another entry {entry.seq}")
        return
    tx.execute("INSERT INTO sync_chains (chain, seq, entry) VALUES (?, ?, ?)",
               (entry.chain, entry.seq, entry.to_json()))


def mark_posted(tx: Connection, entry: ChainEntry) -> None:
    """The server has this entry."""
    tx.execute("UPDATE sync_chains SET posted = 1 WHERE chain = ? AND seq = ?",
               (entry.chain, entry.seq))


def entries(conn: Connection, chain: str) -> list[ChainEntry]:
    """The entries of `chain` kept here, in order."""
    rows = conn.execute("SELECT entry FROM sync_chains WHERE chain = ? ORDER BY seq",
                        (chain,)).fetchall()
    return [ChainEntry.from_json(bytes(r[0])) for r in rows]


def unposted(conn: Connection) -> list[ChainEntry]:
    """Entries kept but not confirmed by the server, chain by chain, in order."""
    rows = conn.execute("SELECT entry FROM sync_chains WHERE posted = 0 "
                        "ORDER BY chain LIKE 'space:%', chain, seq").fetchall()
    return [ChainEntry.from_json(bytes(r[0])) for r in rows]
