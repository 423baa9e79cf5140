"""figures by channel and the counter tablet: survey_responses.channel and .kiosk_id, the
channel in the daily aggregates' key, kiosk_devices; chat_offers under pseudonyms

Responses and aggregate rows stored before this revision have no channel: NULL on the
responses, "" in the aggregates (shown as "chưa ghi kênh"), never guessed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEY = ["day", "point_code", "field", "target"]
COUNTERS = [
    *(f"level{n}" for n in range(1, 6)),
    "respondents",
    "fully_satisfied",
    "answers_sq",
    "satisfied_sq",
    "satisfied_answers",
]


def upgrade() -> None:
    # The numbered choices last shown in a Zalo chat are now kept under a keyed hash of the
    # chat, not its platform id (most are citizens' surveys): the old rows, kept under raw
    # ids, are dropped (they only let a typed digit press the last button shown).
    op.execute("DELETE FROM chat_offers")
    op.create_table(
        "kiosk_devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("point_code", sa.String(length=24), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kiosk_devices")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_kiosk_devices_key_hash")),
    )
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("kiosk_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_survey_responses_kiosk_id_kiosk_devices"),
            "kiosk_devices",
            ["kiosk_id"],
            ["id"],
        )
    with op.batch_alter_table("survey_daily_counts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="")
        )
        batch_op.drop_constraint("pk_survey_daily_counts", type_="primary")
        batch_op.create_primary_key("pk_survey_daily_counts", [*KEY, "channel"])


def downgrade() -> None:
    # The channels' rows of a key are added back together before the key loses the channel.
    sums = ", ".join(f"SUM({name}) AS {name}" for name in COUNTERS)
    keys = ", ".join(KEY)
    op.execute(
        f"CREATE TABLE daily_counts_merged AS SELECT {keys}, {sums}"
        f" FROM survey_daily_counts GROUP BY {keys}"
    )
    op.execute("DELETE FROM survey_daily_counts")
    with op.batch_alter_table("survey_daily_counts", schema=None) as batch_op:
        batch_op.drop_constraint("pk_survey_daily_counts", type_="primary")
        batch_op.drop_column("channel")
        batch_op.create_primary_key("pk_survey_daily_counts", KEY)
    columns = ", ".join([*KEY, *COUNTERS])
    op.execute(
        f"INSERT INTO survey_daily_counts ({columns}) SELECT {columns} FROM daily_counts_merged"
    )
    op.drop_table("daily_counts_merged")
    with op.batch_alter_table("survey_responses", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_survey_responses_kiosk_id_kiosk_devices"), type_="foreignkey"
        )
        batch_op.drop_column("kiosk_id")
        batch_op.drop_column("channel")
    op.drop_table("kiosk_devices")
