"""files published for Zalo users at an expiring URL (issue 16, item 4)

* ``published_files``: a chart (PNG), workbook (XLSX) or Word report (DOCX) served at
  ``/tep/TOKEN`` for an hour: the SHA-256 of the token, the file's name, media type and
  bytes, when it was made and when it expires (indexed: expired rows are purged).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-10 08:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import db.models

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "published_files",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=200), nullable=False),
        sa.Column("media_type", sa.String(length=100), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", db.models.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_published_files")),
    )
    op.create_index(
        op.f("ix_published_files_expires_at"), "published_files", ["expires_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_published_files_expires_at"), table_name="published_files")
    op.drop_table("published_files")
