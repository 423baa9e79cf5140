"""qualitative notes: a unit's short text on the qualitative part of a target (10, 13)

Issue 15, item 6: the plan's targets 10 and 13 have parts that are no number; a unit may
write a short text on them per round (/dinhtinh), listed in the reports as such.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "qualitative_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("unit_code", sa.String(length=16), nullable=False),
        sa.Column("indicator_code", sa.String(length=8), nullable=False),
        sa.Column("text", sa.String(length=500), nullable=False),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        sa.Column("entered_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"], ["rounds.id"], name=op.f("fk_qualitative_notes_round_id_rounds")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qualitative_notes")),
    )
    with op.batch_alter_table("qualitative_notes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qualitative_notes_round_id"), ["round_id"])


def downgrade() -> None:
    with op.batch_alter_table("qualitative_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qualitative_notes_round_id"))
    op.drop_table("qualitative_notes")
