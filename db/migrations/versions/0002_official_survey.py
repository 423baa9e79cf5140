"""official survey figures

Satisfaction rates from official surveys (SIPAS, the health ministry's survey), entered by
Phòng Nội vụ per round and target and shown beside the bot's own figures, never mixed in.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 04:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "official_survey_figures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("target", sa.String(length=8), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("sample", sa.Integer(), nullable=True),
        sa.Column("entered_by", sa.String(length=200), nullable=False),
        sa.Column("entered_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["round_id"],
            ["rounds.id"],
            name=op.f("fk_official_survey_figures_round_id_rounds"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_official_survey_figures")),
    )
    with op.batch_alter_table("official_survey_figures", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_official_survey_figures_round_id"), ["round_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("official_survey_figures", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_official_survey_figures_round_id"))
    op.drop_table("official_survey_figures")
