"""the interval over respondents: per daily aggregate row, Σm², Σy², Σy·m

A respondent gives several ratings for one target; they are one draw, not several. The
daily aggregate rows now also sum, over respondents, the square of their answers (m), of
their satisfied answers (y) and their product, which the ratio estimator's variance needs
(``surveys.scoring.cluster_rate``).

Rows aggregated before this revision cannot be split back into respondents. They are filled
in as if each respondent had given every rating alike (m = answers / respondents, y = m or
0): the widest assumption, so an old interval is never narrower than the data allow; it
equals the interval on the number of respondents.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("answers_sq", "satisfied_sq", "satisfied_answers")


def upgrade() -> None:
    with op.batch_alter_table("survey_daily_counts", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(
                sa.Column(name, sa.Float(), nullable=False, server_default=sa.text("0"))
            )
    answers = "(level1 + level2 + level3 + level4 + level5)"
    satisfied = "(level4 + level5)"
    op.execute(
        f"UPDATE survey_daily_counts SET"
        f" answers_sq = 1.0 * {answers} * {answers} / respondents,"
        f" satisfied_sq = 1.0 * {satisfied} * {answers} / respondents,"
        f" satisfied_answers = 1.0 * {satisfied} * {answers} / respondents"
        f" WHERE respondents > 0"
    )


def downgrade() -> None:
    with op.batch_alter_table("survey_daily_counts", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.drop_column(name)
