"""the desk pages: one-time login links and browser sessions (only hashes kept)

* ``desk_logins``: a login link asked with /web in chat (SHA-256 of its token, the chat
  account, expiry, when used);
* ``desk_sessions``: a session opened by such a link (SHA-256 of the cookie's value, the
  chat account, last request, when ended).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _account() -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "desk_logins",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        *_account(),
        sa.Column("expires_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_desk_logins")),
    )
    op.create_table(
        "desk_sessions",
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        *_account(),
        sa.Column("last_seen_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("session_hash", name=op.f("pk_desk_sessions")),
    )


def downgrade() -> None:
    op.drop_table("desk_sessions")
    op.drop_table("desk_logins")
