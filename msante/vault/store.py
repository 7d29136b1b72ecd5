"""The vault on disk: create, unlock, open, write with audit, verify, change passphrase, wipe.

`Store` is the low-level handle the domain services use: a SQLCipher connection, the blob
store, the keys, and `write()` — a transaction that must record at least one audit entry.
"""

from __future__ import annotations

import dataclasses
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from msante import paths
from msante.errors import (
    AlreadyExistsError,
    BusyError,
    DecryptError,
    IntegrityError,
    WrongKeyError,
)
from msante.i18n import _
from msante.vault import (
    audit,
    crypto,
    db,
    fsutil,
    header,
    kdfcost,
    recovery_keys,
    rotation,
    walcheck,
)
from msante.vault.blobs import BlobStore
from msante.vault.fsutil import (
    cannot_write,
    file_lock,
    make_private_dir,
    new_private_file,
    process_running,
)
from msante.vault.keys import Keys
from msante.vault.migrations import MIGRATIONS

OWNER_ACTOR = "owner"
DAMAGE = "wal_damage"  # vault.json's mark of committed changes lost with a damaged WAL


def accept_hint() -> str:
    """What a person can do once a rollback or a loss was found."""
    return _("Everything can still be listed and searched; to read, export or change documents "
             "again with the vault as it is now, run 'msante audit accept' (or restore a "
             "backup).")


def _vault_key_aad(vault_id: str, via: str, kdf: dict[str, Any] | None = None) -> bytes:
    fields: dict[str, str | int | bytes] = {"purpose": "vault-key", "vault": vault_id, "via": via}
    if kdf is not None:
        fields["kdf"] = json.dumps(kdf, sort_keys=True)
    return crypto.context(**fields)


def wrap_for_passphrase(vault_id: str, vault_key: bytes, passphrase: str,
                        params: crypto.KdfParams) -> tuple[dict[str, Any], bytes]:
    """(kdf JSON, wrapped vault key) for a passphrase under fresh KDF parameters."""
    params.check()
    kdf = params.to_json()
    kek = crypto.derive_kek(passphrase, params)
    return kdf, crypto.wrap_key(kek, vault_key, _vault_key_aad(vault_id, "passphrase", kdf))


def wrap_for_recovery(vault_id: str, vault_key: bytes, secret: bytes) -> tuple[bytes, bytes]:
    """(salt, wrapped vault key) for a recovery secret."""
    salt = os.urandom(16)
    kek = crypto.recovery_kek(secret, salt)
    return salt, crypto.wrap_key(kek, vault_key, _vault_key_aad(vault_id, "recovery"))


def unlock_with_passphrase(base: Path, passphrase: str,
                           consent: kdfcost.Consent | None = None) -> Keys:
    """The vault's keys from its passphrase; WrongKeyError when it does not fit."""
    return keys_from_passphrase(header.load(base), passphrase, consent)


def keys_from_passphrase(head: header.Header, passphrase: str,
                         consent: kdfcost.Consent | None = None) -> Keys:
    """Unwrap the vault key of `head` with a passphrase (asking before a costly KDF)."""
    params = crypto.KdfParams.from_json(head.kdf)
    kdfcost.require_consent(params, consent)
    kek = crypto.derive_kek(passphrase, params)
    aad = _vault_key_aad(head.vault_id, "passphrase", head.kdf)
    try:
        return Keys(head.vault_id, crypto.unwrap_key(kek, head.wrapped_by_passphrase, aad))
    except DecryptError:
        raise WrongKeyError(_("Wrong passphrase. Nothing was changed.")) from None


def unlock_with_recovery(base: Path, recovery_text: str) -> Keys:
    """The vault's keys from its recovery key; WrongKeyError when it does not fit."""
    return keys_from_recovery(header.load(base), recovery_text)


def keys_from_recovery(head: header.Header, recovery_text: str) -> Keys:
    """Unwrap the vault key of `head` with the recovery key."""
    secret = crypto.parse_recovery_key(recovery_text)
    kek = crypto.recovery_kek(secret, head.recovery_salt)
    aad = _vault_key_aad(head.vault_id, "recovery")
    try:
        return Keys(head.vault_id, crypto.unwrap_key(kek, head.wrapped_by_recovery, aad))
    except DecryptError:
        raise WrongKeyError(_("Wrong recovery key. Nothing was changed.")) from None


class Created(NamedTuple):
    """What `create` returns: the open store and the recovery key to show once (a named
    tuple: a dataclass costs start-up)."""

    store: Store
    recovery_key: str


def vault_exists(base: Path) -> bool:
    """Whether a vault (its header or database) is at `base`."""
    return paths.header_path(base).exists() or paths.db_path(base).exists()


def create(base: Path, passphrase: str, params: crypto.KdfParams | None = None) -> Created:
    """Create a new vault at `base` and open it."""
    _refuse_existing(base)
    make_private_dir(base)
    with file_lock(paths.lock_path(base), wait=False):
        keys = Keys(str(uuid.uuid4()), crypto.random_key())
        recovery_text, secret = crypto.new_recovery_key()
        kdf, wrapped = wrap_for_passphrase(keys.vault_id, keys.vault_key, passphrase,
                                           params or crypto.KdfParams.new())
        salt, wrapped_recovery = wrap_for_recovery(keys.vault_id, keys.vault_key, secret)
        store = Store._open_locked(base, keys, new=True)
        if recovery_keys.has_table(store.conn):  # not in tests of older schemas
            with db.write(store.conn) as tx:
                recovery_keys.remember(tx, secret)
        # The header is written last: it is what makes the directory a vault.
        header.save(base, header.Header(keys.vault_id, db.now(), kdf, wrapped, salt,
                                        wrapped_recovery))
    return Created(store, recovery_text)


def _refuse_existing(base: Path) -> None:
    if paths.header_path(base).exists():
        raise AlreadyExistsError(_("A vault already exists in {path}.").format(path=base))
    if paths.db_path(base).exists():
        raise AlreadyExistsError(
            _("{path} holds a vault.db without its vault.json: an interrupted 'msante init' or a "
              "damaged vault. Move it away (or restore a backup) to start again.")
            .format(path=base))


class Store:
    """An open vault: connection, blobs, keys, and audited write transactions."""

    def __init__(self, base: Path, keys: Keys, conn: db.Connection) -> None:
        self.base = base
        self.keys = keys
        self.conn = conn
        self.blobs = BlobStore(paths.blobs_dir(base))
        self.actor = OWNER_ACTOR
        self._audited: tuple[int, str] | None = None
        self.problem: str | None = None  # set at open when the chain head and database differ
        row = conn.execute("SELECT value FROM meta WHERE key = 'device_id'").fetchone()
        self.device = str(row[0])

    @classmethod
    def open(cls, base: Path, keys: Keys) -> Store:
        """Open the vault at `base` with `keys`, upgrading its schema if it is older."""
        head = header.load(base)
        if head.vault_id != keys.vault_id:
            raise WrongKeyError(_("This key belongs to another vault."))
        if rotation.pending(head):
            rotation.resume(base, keys)
        conn = _connect(base, keys, head)
        try:
            if db.pending(conn, MIGRATIONS):
                conn.close()
                with file_lock(paths.lock_path(base)):
                    return cls._open_locked(base, keys)
            return cls._checked(base, keys, conn)
        except BaseException:
            conn.close()
            raise

    @classmethod
    def _open_locked(cls, base: Path, keys: Keys, *, new: bool = False) -> Store:
        conn = db.connect(paths.db_path(base), keys.db) if new else \
            _connect(base, keys, header.load(base))
        try:
            os.chmod(paths.db_path(base), 0o600)
            db.migrate(conn, MIGRATIONS, keys)
            if new:
                _init_meta(conn, keys)
            return cls._checked(base, keys, conn)
        except BaseException:
            conn.close()
            raise

    @classmethod
    def _checked(cls, base: Path, keys: Keys, conn: db.Connection) -> Store:
        row = conn.execute("SELECT value FROM meta WHERE key = 'vault_id'").fetchone()
        if not row or row[0] != keys.vault_id:
            raise IntegrityError(_("vault.db belongs to another vault."))
        store = cls(base, keys, conn)
        store.blobs.clean_temp()
        clean_orphans(base)
        fsutil.TEMP_JOURNAL[:] = [base]
        if paths.header_path(base).exists():  # not yet while `create` runs
            verdict = store.state()
            store.problem = None if verdict.ok else audit.explain(verdict)
            if verdict.ok:
                _record_unaudited_key_change(store, header.load(base))
        return store

    def close(self) -> None:
        """Close the connection."""
        self.conn.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def write(self) -> Iterator[db.Connection]:
        """A write transaction; it must record an audit entry, and commits all or nothing."""
        self._audited = None
        with db.write(self.conn) as tx:
            self._refuse_rolled_back(tx)
            yield tx
            if self._audited is None:
                raise RuntimeError("a write transaction recorded no audit entry")
        count, mac = self._audited
        header.advance_chain(self.base, self.keys.header, count, mac)

    def _refuse_rolled_back(self, tx: db.Connection) -> None:
        """Refuse to write over a chain that an older vault.db or a cut made inconsistent.

        Heads only ever lag behind the database (they are advanced after commit), so a head
        ahead of it, or one whose MAC differs, means tampering; writing on would hide it.
        """
        verdict = self.state(tx)
        if not verdict.ok:
            raise IntegrityError(audit.explain(verdict) + " " + accept_hint())

    def state(self, conn: db.Connection | None = None) -> audit.Verdict:
        """The chain head of vault.json against the database's last entry (no full walk)."""
        count, _mac = audit.head(conn or self.conn)
        head = header.load(self.base)
        if DAMAGE in head.extra:
            return audit.Verdict(False, count, count, "wal-damaged")
        return _check_head(head, self, audit.Verdict(True, count))

    def accept_state(self) -> audit.Verdict:
        """Take the vault as it is now after a rollback, a cut or a WAL loss was detected.

        The acceptance is an audit entry naming what was found, and the head moves to it, so
        that writes (and audited reads) work again. Returns what was accepted (ok: nothing).
        """
        with file_lock(paths.lock_path(self.base)):
            verdict = self.state()
            if verdict.ok:
                return verdict
            recorded = header.load(self.base).chain
            with db.write(self.conn) as tx:
                seq, mac = audit.append(tx, self.keys.audit, actor=self.actor,
                                        action="audit.accept", detail={
                                            "reason": verdict.reason, "found": verdict.count,
                                            "recorded": recorded.count if recorded else 0})
            header.update(self.base, lambda head: dataclasses.replace(
                head, chain=header.ChainHead.make(self.keys.header, head.vault_id, seq, mac),
                extra={k: v for k, v in head.extra.items() if k != DAMAGE}))
            db.checkpoint(self.conn)
        self.problem = None
        return verdict

    def log(self, tx: db.Connection, action: str, *, person: str | None = None,
            record: str | None = None, detail: dict[str, Any] | None = None) -> None:
        """Append an audit entry inside the current write transaction."""
        self._audited = audit.append(tx, self.keys.audit, actor=self.actor, action=action,
                                     person=person, record=record, detail=detail)

    def export(self, path: Path, data: bytes, action: str, *, person: str | None = None,
               detail: dict[str, Any] | None = None, overwrite: bool = False) -> None:
        """Write plaintext out of the vault: a new 0600 file, audited before it appears.

        The bytes go to a temporary file beside `path`; the audit entry is committed; only
        then is the file put in place, in one step. If the audited write fails, nothing has
        changed: no new file, and the one `overwrite` (the CLI's --force) would replace is
        untouched. A folder that is missing or closed is the user's to fix.
        """
        try:
            with new_private_file(path, overwrite=overwrite) as out:
                out.write(data)
                with self.write() as tx:
                    self.log(tx, action, person=person, detail=detail)
        except OSError as exc:
            raise cannot_write(path, exc) from None

    def verify(self) -> audit.Verdict:
        """Check the whole audit chain and the chain head kept in vault.json.

        The head is read first: heads are advanced after commit, so one read before the walk
        never counts more entries than the walk sees, even while another process writes
        (read after, it could, and a busy vault looked truncated)."""
        head = header.load(self.base)
        verdict = audit.verify_chain(self.conn, self.keys.audit)
        if not verdict.ok:
            return verdict
        if DAMAGE in head.extra:
            return audit.Verdict(False, verdict.count, verdict.count, "wal-damaged")
        return _check_head(head, self, verdict)


def _connect(base: Path, keys: Keys, head: header.Header) -> db.Connection:
    """The connection keyed by `keys`; WrongKeyError for a key that the vault no longer uses.

    A leftover WAL whose damage made SQLite drop committed transactions is marked in
    vault.json (`wal_damage`), which stops writes until the person accepts or restores."""
    try:
        conn = db.connect(paths.db_path(base), keys.db)
    except IntegrityError:
        if head.chain is not None and not head.chain.valid(keys.header, keys.vault_id):
            raise WrongKeyError(_("This key no longer opens the vault: its keys were rotated. "
                                  "Unlock again with the passphrase.")) from None
        raise
    try:
        lost = walcheck.lost_commits(conn, paths.db_path(base).with_name("vault.db-wal"))
        if lost:
            header.update(base, lambda h: dataclasses.replace(
                h, extra=h.extra | {DAMAGE: {"lost_commits": lost, "found": db.now()}}))
    except BaseException:
        conn.close()
        raise
    return conn


def clean_orphans(base: Path) -> int:
    """Remove temporaries left by crashed processes (named `.tmp-…-PID…`); return how many.

    Also the `.tmp-…-PID` files such a process left in other folders (a partial backup or
    export), which its `.tmp-outputs-PID` journal names."""
    import re
    import shutil

    from msante.vault.fsutil import clean_noted_temps

    removed = 0
    for path in base.glob(".tmp-*"):
        match = re.search(r"-(\d+)(?:\.db(?:-wal|-shm|-journal)?)?$", path.name)
        if not match or process_running(int(match.group(1))):
            continue
        if path.name.startswith(".tmp-outputs-"):
            removed += clean_noted_temps(path, int(match.group(1)))
            continue
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
        removed += 1
    return removed


def _init_meta(conn: db.Connection, keys: Keys) -> None:
    with db.write(conn):
        conn.executemany("INSERT INTO meta VALUES (?, ?)", [
            ("vault_id", keys.vault_id), ("device_id", str(uuid.uuid4())),
            ("created", db.now()),
        ])


def _check_head(head: header.Header, store: Store, verdict: audit.Verdict) -> audit.Verdict:
    chain = head.chain
    if chain is None:
        if verdict.count:
            return audit.Verdict(False, verdict.count, 1, "head-missing")
        return verdict
    if not chain.valid(store.keys.header, head.vault_id):
        return audit.Verdict(False, verdict.count, chain.count, "head-forged")
    if chain.count > verdict.count:
        return audit.Verdict(False, verdict.count, verdict.count + 1, "truncated")
    if chain.count and audit.mac_at(store.conn, chain.count) != chain.last_mac:
        return audit.Verdict(False, verdict.count, chain.count, "rolled-back")
    return verdict


def header_keys_digest(head: header.Header) -> str:
    """A digest of the wrapped keys in `head`, kept in the database when they change."""
    import hashlib

    return hashlib.sha256(head.wrapped_by_passphrase + b"\0" + head.wrapped_by_recovery
                          ).hexdigest()


def record_header_keys(tx: db.Connection, head: header.Header) -> None:
    """Note, inside an audited transaction, which wrapped keys vault.json holds now."""
    tx.execute("INSERT OR REPLACE INTO meta VALUES ('header_keys', ?)",
               (header_keys_digest(head),))


def _record_unaudited_key_change(store: Store, head: header.Header) -> None:
    """vault.json's wrapped keys changed without their audit entry (passwd killed between the
    header and the commit, or an older vault.json put back): record it now."""
    row = store.conn.execute("SELECT value FROM meta WHERE key = 'header_keys'").fetchone()
    if row is None or row[0] == header_keys_digest(head):
        return
    try:
        with store.write() as tx:
            store.log(tx, "vault.passwd", detail={"via": "unrecorded"})
            record_header_keys(tx, head)
    except (IntegrityError, BusyError):
        pass  # a rollback finding or a busy vault: the next open records it


def change_passphrase(store: Store, new_passphrase: str,
                      params: crypto.KdfParams | None = None, *, via: str = "passphrase") -> None:
    """Rewrap the vault key for a new passphrase; re-encrypts nothing."""
    kdf, wrapped = wrap_for_passphrase(store.keys.vault_id, store.keys.vault_key, new_passphrase,
                                       params or crypto.KdfParams.new())
    saved: list[header.Header] = []

    def rewrap(head: header.Header) -> header.Header:
        saved.append(dataclasses.replace(head, kdf=kdf, wrapped_by_passphrase=wrapped))
        return saved[-1]

    with file_lock(paths.lock_path(store.base)):
        with store.write() as tx:
            store.log(tx, "vault.passwd", detail={"via": via})
            header.update(store.base, rewrap)
            record_header_keys(tx, saved[-1])


def _shred(path: Path) -> None:
    """Overwrite a small file with random bytes, flush it, then remove it."""
    try:
        size = path.stat().st_size
        with open(path, "r+b") as f:
            f.write(os.urandom(size))
            f.flush()
            os.fsync(f.fileno())
        path.unlink()
    except FileNotFoundError:
        pass


def wipe(base: Path) -> None:
    """Erase the vault for good: the wrapped keys first, then the database and the files."""
    import shutil

    with file_lock(paths.lock_path(base), wait=False):
        _shred(paths.header_path(base))
        db_file = paths.db_path(base)
        for extra in ("", "-wal", "-shm"):
            _shred(db_file.with_name(db_file.name + extra))
        shutil.rmtree(paths.blobs_dir(base), ignore_errors=True)
        for leftover in base.iterdir():
            if leftover.name != paths.lock_path(base).name:
                leftover.unlink() if leftover.is_file() else shutil.rmtree(leftover, True)
    paths.lock_path(base).unlink(missing_ok=True)
    try:
        base.rmdir()
    except OSError:
        pass
