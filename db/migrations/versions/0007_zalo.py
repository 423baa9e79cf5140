"""Zalo as offices run it: updates seen once; the Official Account's tokens and windows

* ``seen_updates``: updates of platforms without offsets (Zalo Bot, Zalo OA) by channel and
  ``event_name:message_id``, kept for a window so that a redelivered one is handled once.
* ``zalo_oa_tokens``: the Official Account's OAuth v4 tokens; the refresh token is single
  use and rotates, so each new one is stored at once (one process refreshes at a time).
* ``zalo_oa_windows``: when a person last wrote to the OA (message id to quote, replies
  since), under the keyed hash of their Zalo id.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "seen_updates",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("update_key", sa.String(length=160), nullable=False),
        sa.Column("seen_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "update_key", name=op.f("pk_seen_updates")),
    )
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.create_index("ix_seen_updates_seen_at", ["seen_at"], unique=False)
    op.create_table(
        "zalo_oa_tokens",
        sa.Column("app_id", sa.String(length=32), nullable=False),
        sa.Column("access_token", sa.Text(), nullable=True),
        sa.Column("refresh_token", sa.Text(), nullable=False),
        sa.Column("access_expires_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("app_id", name=op.f("pk_zalo_oa_tokens")),
    )
    op.create_table(
        "zalo_oa_windows",
        sa.Column("user_key", sa.String(length=64), nullable=False),
        sa.Column("last_message_id", sa.String(length=64), nullable=True),
        sa.Column("last_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("replies", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("user_key", name=op.f("pk_zalo_oa_windows")),
    )


def downgrade() -> None:
    op.drop_table("zalo_oa_windows")
    op.drop_table("zalo_oa_tokens")
    with op.batch_alter_table("seen_updates", schema=None) as batch_op:
        batch_op.drop_index("ix_seen_updates_seen_at")
    op.drop_table("seen_updates")
