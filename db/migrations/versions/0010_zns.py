"""ZNS reminders by phone number (issue 17, the optional ZNS item)

* ``members.phone``: a unit head's work mobile ("84" + 9 digits), given with
  ``/sodienthoai``, kept on the row of the account they registered with first; NULL when
  they gave none (or removed it). ZNS reminders go to it when the OA cannot deliver.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("phone", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("members") as batch:
        batch.drop_column("phone")
