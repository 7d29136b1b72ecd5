"""0003: linking a device (rendezvous) and the spaces' scope keys wrapped for each device.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create the rendezvous and the wraps tables."""
    op.create_table("link_rendezvous",
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("rendezvous_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("join_message", sa.LargeBinary(), nullable=True),
        sa.Column("reply_message", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.account_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("account_id", "rendezvous_id"),
        sa.UniqueConstraint("rendezvous_id", name="uq_link_rendezvous_id")
    )
    op.create_index("ix_link_rendezvous_expires", "link_rendezvous", ["expires_at"])
    op.create_table("space_wraps",
        sa.Column("space_id", sa.String(length=64), nullable=False),
        sa.Column("device_key", sa.String(length=64), nullable=False),
        sa.Column("key_version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["space_id"], ["spaces.space_id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("space_id", "device_key", "key_version")
    )


def downgrade() -> None:
    """Drop them."""
    op.drop_table("space_wraps")
    op.drop_index("ix_link_rendezvous_expires", table_name="link_rendezvous")
    op.drop_table("link_rendezvous")
