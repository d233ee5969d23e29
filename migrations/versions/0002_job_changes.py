"""A change log of job writes, so several services sharing one file store see each other's changes.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_changes",
        sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("writer", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("seq", name="pk_job_changes"),
    )


def downgrade() -> None:
    op.drop_table("job_changes")
