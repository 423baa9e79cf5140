"""one person on several platforms; typed choices on platforms without buttons

* ``members.person_id``: the id of the member row a person registered with first. A unit head
  who links a second account (Telegram and Zalo) gets a second member row pointing at the
  first; their conversation is kept under the first account, so a report begun on one
  platform is finished on the other. NULL: the person has one account.
* ``link_codes``: one-time 6-digit codes of ``/lienket`` (only their SHA-256 is kept).
* ``chat_offers``: the buttons last shown in a chat of a platform without buttons (Zalo), so
  that a typed digit presses the n-th one, also after a restart or in another process.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 05:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("person_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_members_person_id_members"), "members", ["person_id"], ["id"]
        )
    op.create_table(
        "link_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", db.models.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"], ["members.id"], name=op.f("fk_link_codes_member_id_members")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_codes")),
    )
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_link_codes_code_hash"), ["code_hash"], unique=False)
    op.create_table(
        "chat_offers",
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat_id", sa.String(length=64), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("free_text", sa.Boolean(), nullable=False),
        sa.Column("updated_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "chat_id", name=op.f("pk_chat_offers")),
    )


def downgrade() -> None:
    op.drop_table("chat_offers")
    with op.batch_alter_table("link_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_link_codes_code_hash"))
    op.drop_table("link_codes")
    with op.batch_alter_table("members", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_members_person_id_members"), type_="foreignkey")
        batch_op.drop_column("person_id")
