"""The server's tables (SQLAlchemy Core): every one keyed by account id or space id first.

Keying every table by its account or space means it can later be distributed by that key
(docs/scaling.md) without a schema change. Times are Unix seconds (integers) on every dialect.
The Alembic migrations in `migrations/versions/` build exactly this (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
)

ID = 64  # ids are base64url or hex text of at most 64 characters (models.ID_PATTERN)
metadata = MetaData()

server_meta = Table(
    "server_meta", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", String(256), nullable=False),
)

accounts = Table(
    "accounts", metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("used_bytes", BigInteger, nullable=False, server_default="0"),
)

devices = Table(
    "devices", metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("device_id", String(ID), primary_key=True),
    Column("signing_key", LargeBinary, nullable=False),
    Column("bundle", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.account_id"], ondelete="CASCADE"),
)

challenges = Table(
    "challenges", metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("challenge", String(ID), primary_key=True),
    Column("device_id", String(ID), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.account_id"], ondelete="CASCADE"),
)

tokens = Table(
    "tokens", metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("token_hash", String(64), primary_key=True),
    Column("device_id", String(ID), nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.account_id"], ondelete="CASCADE"),
)

spaces = Table(
    "spaces", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("owner_account", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
)

space_members = Table(
    "space_members", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("account_id", String(ID), primary_key=True),
    Column("role", String(16), nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
    Index("ix_space_members_account", "account_id"),
)

items = Table(
    "items", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("record_id", String(ID), nullable=False),
    Column("revision_id", String(ID), nullable=False),
    Column("base_revision", String(ID), nullable=True),
    Column("key_version", Integer, nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("device_seq", BigInteger, nullable=False),
    Column("prev_hash", LargeBinary, nullable=True),
    Column("ciphertext_sha256", LargeBinary, nullable=False),
    Column("envelope", LargeBinary, nullable=False),
    Column("ciphertext", LargeBinary, nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
    UniqueConstraint("space_id", "revision_id", name="uq_items_revision"),
    UniqueConstraint("space_id", "device_id", "device_seq", name="uq_items_device_seq"),
    Index("ix_items_record", "space_id", "record_id", "seq"),
)

record_heads = Table(
    "record_heads", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("record_id", String(ID), primary_key=True),
    Column("revision_id", String(ID), nullable=False),
    Column("seq", BigInteger, nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
)

chain_heads = Table(
    "chain_heads", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("device_id", String(ID), primary_key=True),
    Column("device_seq", BigInteger, nullable=False),
    Column("signed_head", LargeBinary, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
)

blobs = Table(
    "blobs", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("blob_id", String(ID), primary_key=True),
    Column("account_id", String(ID), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
)

blob_chunks = Table(
    "blob_chunks", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("blob_id", String(ID), primary_key=True),
    Column("idx", Integer, primary_key=True, autoincrement=False),
    Column("size", Integer, nullable=False),
    Column("sha256", LargeBinary, nullable=False),
    ForeignKeyConstraint(["space_id", "blob_id"], ["blobs.space_id", "blobs.blob_id"],
                         ondelete="CASCADE"),
)

# --------------------------------------------------------------- the transparency log (0002)

logs = Table(
    "logs", metadata,
    Column("log_id", String(ID), primary_key=True),
    Column("size", BigInteger, nullable=False, server_default="0"),
    Column("verifier", String(256), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

log_nodes = Table(  # every complete subtree's hash (msante.sync.merkle.new_nodes)
    "log_nodes", metadata,
    Column("log_id", String(ID), primary_key=True),
    Column("level", Integer, primary_key=True, autoincrement=False),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("hash", LargeBinary, nullable=False),
    ForeignKeyConstraint(["log_id"], ["logs.log_id"], ondelete="CASCADE"),
)

log_leaves = Table(
    "log_leaves", metadata,
    Column("log_id", String(ID), primary_key=True),
    Column("idx", BigInteger, primary_key=True, autoincrement=False),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["log_id"], ["logs.log_id"], ondelete="CASCADE"),
)

chain_entries = Table(  # owner_id is the account id or the space id: the distribution key
    "chain_entries", metadata,
    Column("owner_id", String(ID), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("prev", LargeBinary, nullable=False),
    Column("hash", LargeBinary, nullable=False),
    Column("entry", LargeBinary, nullable=False),
    Column("leaf_index", BigInteger, nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

space_events = Table(
    "space_events", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("hmac_index", LargeBinary, nullable=False),
    Column("commitment", LargeBinary, nullable=False),
    Column("leaf_index", BigInteger, nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
    UniqueConstraint("space_id", "hmac_index", name="uq_space_events_index"),
)

# ------------------------------------------- linking a device, scope key wraps (0003)

link_rendezvous = Table(  # keyed by the account; the no-token routes find a row by its id
    "link_rendezvous", metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("rendezvous_id", String(ID), primary_key=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("join_message", LargeBinary, nullable=True),
    Column("reply_message", LargeBinary, nullable=True),
    ForeignKeyConstraint(["account_id"], ["accounts.account_id"], ondelete="CASCADE"),
    UniqueConstraint("rendezvous_id", name="uq_link_rendezvous_id"),
    Index("ix_link_rendezvous_expires", "expires_at"),
)

space_wraps = Table(  # a space's scope keys sealed for one device (key id), per key version
    "space_wraps", metadata,
    Column("space_id", String(ID), primary_key=True),
    Column("device_key", String(ID), primary_key=True),
    Column("key_version", Integer, primary_key=True, autoincrement=False),
    Column("sealed", LargeBinary, nullable=False),
    Column("account_id", String(ID), nullable=False),
    Column("device_id", String(ID), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
)

# ------------------------------------------------------------------ account recovery (0004)

recovery_bundles = Table(  # one per recovery key of the account; `lookup` finds it
    "recovery_bundles", metadata,
    Column("account_id", String(ID), primary_key=True),
    Column("lookup", String(ID), primary_key=True),
    Column("device_id", String(ID), nullable=False),
    Column("signer", LargeBinary, nullable=False),
    Column("bundle", LargeBinary, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    ForeignKeyConstraint(["account_id"], ["accounts.account_id"], ondelete="CASCADE"),
    UniqueConstraint("lookup", name="uq_recovery_lookup"),
)
