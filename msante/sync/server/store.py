"""The server's store (SQLAlchemy Core): accounts, devices, login, spaces and membership.

Items are in `items.py` and blob metadata in `chunks.py`; `Store` gathers the three over one
engine. Every write runs in one transaction (`db.writing`); ids are checked by the API models
before they get here.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from msante.sync.server import schema as t
from msante.sync.server.blobstore import BlobStore
from msante.sync.server.db import reading, writing
from msante.sync.server.problems import Conflict, NotFound, QuotaExceeded
from msante.sync.server.settings import Limits


def now() -> int:
    """The current time in Unix seconds."""
    return int(time.time())


def token_hash(token: str) -> str:
    """What the database keeps of a bearer token: its SHA-256, in hex."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    """Who a valid bearer token belongs to."""

    account: str
    device: str


class AccountStore:
    """Accounts, their devices, login challenges and bearer tokens."""

    def __init__(self, engine: Engine, limits: Limits) -> None:
        self.engine = engine
        self.limits = limits

    def server_id(self) -> str:
        """This server's id (made once, kept in `server_meta`): what login signatures name."""
        with reading(self.engine) as conn:
            found = conn.scalar(select(t.server_meta.c.value).where(t.server_meta.c.name == "id"))
        if found:
            return str(found)
        try:
            with writing(self.engine) as conn:
                conn.execute(insert(t.server_meta).values(name="id",
                                                          value=secrets.token_urlsafe(16)))
        except IntegrityError:
            pass  # another process made it first
        return self.server_id()

    def register(self, account: str, device: str, signing_key: bytes, bundle: bytes) -> None:
        """Create `account` with its first device; Conflict when the account exists."""
        at = now()
        try:
            with writing(self.engine) as conn:
                conn.execute(insert(t.accounts).values(account_id=account, created_at=at))
                conn.execute(insert(t.devices).values(
                    account_id=account, device_id=device, signing_key=signing_key,
                    bundle=bundle, created_at=at))
        except IntegrityError:
            raise Conflict("This account id is already registered.") from None

    def signing_key(self, account: str, device: str) -> bytes | None:
        """The signing key of an active device, or None."""
        d = t.devices.c
        with reading(self.engine) as conn:
            key = conn.scalar(select(d.signing_key).where(
                d.account_id == account, d.device_id == device, d.revoked_at.is_(None)))
        return bytes(key) if key is not None else None

    def new_challenge(self, account: str, device: str) -> tuple[str, int]:
        """A fresh single-use challenge and its expiry; an unknown device gets one never kept."""
        challenge = secrets.token_urlsafe(32)
        at = now()
        expires = at + self.limits.challenge_seconds
        if self.signing_key(account, device) is None:
            return challenge, expires  # the same answer as for a real account: no enumeration
        c = t.challenges.c
        with writing(self.engine) as conn:
            conn.execute(delete(t.challenges).where(c.account_id == account, c.expires_at < at))
            conn.execute(insert(t.challenges).values(
                account_id=account, challenge=challenge, device_id=device, expires_at=expires))
        return challenge, expires

    def take_challenge(self, account: str, device: str, challenge: str) -> bool:
        """Use up a challenge: True when it was issued to this device and has not expired."""
        c = t.challenges.c
        with writing(self.engine) as conn:
            row = conn.execute(delete(t.challenges).where(
                c.account_id == account, c.challenge == challenge
            ).returning(c.device_id, c.expires_at)).first()
        return row is not None and row.device_id == device and row.expires_at >= now()

    def issue_token(self, account: str, device: str) -> tuple[str, int]:
        """A new bearer token (`account.random`) and its expiry; only its hash is stored."""
        token = f"{account}.{secrets.token_urlsafe(32)}"
        at = now()
        expires = at + self.limits.token_seconds
        k = t.tokens.c
        with writing(self.engine) as conn:
            conn.execute(delete(t.tokens).where(k.account_id == account, k.expires_at < at))
            conn.execute(insert(t.tokens).values(account_id=account, token_hash=token_hash(token),
                                                 device_id=device, expires_at=expires))
        return token, expires

    def caller(self, token: str) -> Caller | None:
        """Who `token` belongs to, when it is valid, unexpired and its device not revoked."""
        account = token.rpartition(".")[0]
        if not account:
            return None
        k, d = t.tokens.c, t.devices.c
        query = select(k.device_id).join(t.devices, (d.account_id == k.account_id) & (
            d.device_id == k.device_id)).where(
            k.account_id == account, k.token_hash == token_hash(token),
            k.expires_at >= now(), d.revoked_at.is_(None))
        with reading(self.engine) as conn:
            device = conn.scalar(query)
        return Caller(account, str(device)) if device is not None else None


class SpaceStore:
    """Spaces and the `space_members` mirror of their chains (for now: the owner)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def create(self, account: str, space: str) -> bool:
        """Create `space` owned by `account`: True if new, False if already the caller's."""
        if self.is_member(account, space):
            return False
        try:
            with writing(self.engine) as conn:
                conn.execute(insert(t.spaces).values(space_id=space, owner_account=account,
                                                     created_at=now()))
                conn.execute(insert(t.space_members).values(space_id=space, account_id=account,
                                                            role="owner"))
        except IntegrityError:
            raise Conflict("This space id is taken: choose another random id.") from None
        return True

    def is_member(self, account: str, space: str) -> bool:
        """Whether `account` may touch `space`."""
        m = t.space_members.c
        with reading(self.engine) as conn:
            role = conn.scalar(select(m.role).where(m.space_id == space, m.account_id == account))
        return role is not None

    def check_member(self, account: str, space: str) -> None:
        """NotFound unless `account` may touch `space` (the same answer as an unknown space)."""
        if not self.is_member(account, space):
            raise NotFound("No such space.")


def charge(conn: Any, account: str, size: int, quota: int) -> None:
    """Add `size` bytes to the account's usage, in one statement; QuotaExceeded past `quota`."""
    a = t.accounts.c
    done = conn.execute(update(t.accounts).where(
        a.account_id == account, a.used_bytes + size <= quota).values(
        used_bytes=a.used_bytes + size)).rowcount
    if not done:
        used = conn.scalar(select(a.used_bytes).where(a.account_id == account))
        raise QuotaExceeded(int(used or 0), quota)


def counts(engine: Engine) -> dict[str, int]:
    """Rows per table, and stored bytes, for `msante-server status`."""
    out: dict[str, int] = {}
    with reading(engine) as conn:
        for name in ("accounts", "devices", "spaces", "items", "blobs", "blob_chunks"):
            out[name] = int(conn.scalar(select(func.count()).select_from(t.metadata.tables[name]))
                            or 0)
        out["stored_bytes"] = int(conn.scalar(select(func.sum(t.accounts.c.used_bytes))) or 0)
    return out


class Store:
    """The stores over one engine: accounts, spaces, items, chunks, heads, devices, links, wraps."""

    def __init__(self, engine: Engine, blobs: BlobStore, limits: Limits) -> None:
        from msante.sync.server.chunks import ChunkStore
        from msante.sync.server.devices import DeviceStore
        from msante.sync.server.heads import HeadStore
        from msante.sync.server.items import ItemStore
        from msante.sync.server.linkstore import LinkStore
        from msante.sync.server.recovery import RecoveryStore
        from msante.sync.server.wraps import WrapStore

        self.engine = engine
        self.accounts = AccountStore(engine, limits)
        self.spaces = SpaceStore(engine)
        self.items = ItemStore(engine, limits)
        self.chunks = ChunkStore(engine, blobs, limits)
        self.heads = HeadStore(engine)
        self.devices = DeviceStore(engine, limits)
        self.recovery = RecoveryStore(engine, limits)
        self.links = LinkStore(engine, limits)
        self.wraps = WrapStore(engine, limits)

    def ping(self) -> bool:
        """Whether the database answers."""
        try:
            with reading(self.engine) as conn:
                conn.execute(select(1))
        except SQLAlchemyError:
            return False
        return True
