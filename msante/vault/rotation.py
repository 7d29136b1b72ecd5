"""Key rotation: a new vault key, so that an old passphrase or an old backup stops opening it.

`passwd` only rewraps the vault key, so whoever learnt an old passphrase and kept an old
`vault.json` (or a backup) still holds the vault key. `rotate` draws a new one: SQLCipher is
rekeyed, every space key is rewrapped, the audit chain is MACed again under the new audit key,
and the passphrase and a new recovery key wrap it. Blobs are untouched: their data keys are
wrapped by space keys, which live in the rekeyed database.

Crash safety. `vault.json` is written first, wrapping the new key and carrying, under
`rotation`, the old key wrapped by the new one. The database is then changed in one commit
(`PRAGMA rekey` commits the transaction it runs in, rewraps and chain included). Whoever opens
the vault next with the new key and finds the marker finishes the work (`resume`).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING

from msante import paths
from msante.errors import DecryptError, IntegrityError, WrongKeyError
from msante.i18n import _
from msante.vault import audit, crypto, db, header
from msante.vault.fsutil import file_lock
from msante.vault.keys import Keys

if TYPE_CHECKING:
    from msante.vault.store import Store

MARKER = "rotation"
ACTION = "vault.rotate_keys"


def _previous_aad(vault_id: str) -> bytes:
    return crypto.context(purpose="vault-key", vault=vault_id, via="rotation")


def rotate(store: Store, new_passphrase: str, params: crypto.KdfParams) -> str:
    """Give the open `store` a new vault key; return the new recovery key (to show once)."""
    from msante.vault.store import wrap_for_passphrase, wrap_for_recovery

    old = store.keys
    with file_lock(paths.lock_path(store.base)):
        verdict = store.verify()
        if not verdict.ok:
            raise IntegrityError(audit.explain(verdict))
        new = Keys(old.vault_id, crypto.random_key())
        recovery_text, secret = crypto.new_recovery_key()
        kdf, wrapped = wrap_for_passphrase(new.vault_id, new.vault_key, new_passphrase, params)
        salt, by_recovery = wrap_for_recovery(new.vault_id, new.vault_key, secret)
        _announce(store.base, store.conn, old, new, dataclasses.replace(
            header.load(store.base), kdf=kdf, wrapped_by_passphrase=wrapped,
            recovery_salt=salt, wrapped_by_recovery=by_recovery))
        finish(store.conn, old, new, store.actor, header.load(store.base), secret)
        store.keys = new
        settle(store.base, new, store.conn)
    return recovery_text


def _announce(base: Path, conn: db.Connection, old: Keys, new: Keys,
              head: header.Header) -> None:
    """Write vault.json for the new key, with the old key wrapped by it until `settle`."""
    previous = crypto.wrap_key(new.derive("rotation-previous"), old.vault_key,
                               _previous_aad(new.vault_id))
    rows = list(audit.rechain(conn, new.audit))
    count, last = (rows[-1][0], rows[-1][2]) if rows else (0, audit.GENESIS)
    chain = header.ChainHead.make(new.header, new.vault_id, count, last) if count else None
    extra = head.extra | {MARKER: {"previous": header.b64(previous)}}
    header.save(base, dataclasses.replace(head, chain=chain, extra=extra))


def finish(conn: db.Connection, old: Keys, new: Keys, actor: str, head: header.Header,
           recovery: bytes | None = None) -> None:
    """In one commit: rewrap the space keys, MAC the chain anew, log, rekey the database; keep
    the sync public key of the new `recovery` secret (recovery_keys), or, when resuming
    without it, forget the old one (the next `sync setup` asks for the new key)."""
    from msante.vault import recovery_keys
    from msante.vault.store import record_header_keys

    with db.write(conn) as tx:
        verdict = audit.verify_chain(tx, old.audit)
        if not verdict.ok:
            raise IntegrityError(audit.explain(verdict))
        rows = tx.execute("SELECT id, wrapped_key, key_version FROM spaces").fetchall()
        for space_id, wrapped, version in rows:
            key = old.unwrap_space_key(space_id, bytes(wrapped), int(version))
            tx.execute("UPDATE spaces SET wrapped_key = ? WHERE id = ?",
                       (new.wrap_space_key(space_id, key, int(version)), space_id))
        chain = [(prev, mac, seq) for seq, prev, mac in audit.rechain(tx, new.audit)]
        tx.executemany("UPDATE audit SET prev_mac = ?, mac = ? WHERE seq = ?", chain)
        audit.append(tx, new.audit, actor=actor, action=ACTION,
                     detail={"spaces": len(rows)})
        record_header_keys(tx, head)
        if recovery is not None:
            recovery_keys.remember(tx, recovery)
        else:
            recovery_keys.forget(tx)
        tx.execute(f"PRAGMA rekey = \"x'{new.db.hex()}'\"")
    db.checkpoint(conn)


def settle(base: Path, keys: Keys, conn: db.Connection) -> None:
    """Drop the rotation marker and record the database's chain head under the new key."""
    count, last = audit.head(conn)

    def change(head: header.Header) -> header.Header:
        chain = header.ChainHead.make(keys.header, keys.vault_id, count, last) if count else None
        extra = {k: v for k, v in head.extra.items() if k != MARKER}
        return dataclasses.replace(head, chain=chain, extra=extra)

    header.update(base, change)


def pending(head: header.Header) -> bool:
    """Whether `head` carries the marker of a rotation still to finish."""
    return MARKER in head.extra


def resume(base: Path, keys: Keys) -> None:
    """Finish a rotation interrupted after vault.json was written (`keys`: the new key)."""
    with file_lock(paths.lock_path(base)):
        head = header.load(base)
        if not pending(head):
            return
        old = Keys(keys.vault_id, _previous_key(head, keys))
        try:
            conn = db.connect(paths.db_path(base), keys.db)
        except IntegrityError:
            conn = db.connect(paths.db_path(base), old.db)
            try:
                finish(conn, old, keys, "owner", head)
            except BaseException:
                conn.close()
                raise
        try:
            settle(base, keys, conn)
        finally:
            conn.close()


def _previous_key(head: header.Header, keys: Keys) -> bytes:
    marker = head.extra.get(MARKER)
    if not isinstance(marker, dict):
        raise IntegrityError(_("vault.json is corrupt or not an msante header."))
    wrapped = header.unb64(marker.get("previous"))
    try:
        return crypto.unwrap_key(keys.derive("rotation-previous"), wrapped,
                                 _previous_aad(keys.vault_id))
    except DecryptError:
        raise WrongKeyError(_("This key no longer opens the vault: its keys were rotated. "
                              "Unlock again with the passphrase.")) from None
