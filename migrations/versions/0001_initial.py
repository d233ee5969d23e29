"""Initial job store: settings, accounts, jobs (with helper-token columns) and files.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    op.create_table(
        "accounts",
        sa.Column("sid", sa.String(184), nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("sid", name="pk_accounts"),
        sa.UniqueConstraint("name", name="uq_accounts_name"),
    )
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("job_type", sa.Integer(), nullable=False),
        sa.Column("state", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("notify_flags", sa.Integer(), nullable=False),
        sa.Column("notify_program", sa.Text(), nullable=True),
        sa.Column("notify_parameters", sa.Text(), nullable=True),
        sa.Column("min_retry_delay", sa.Integer(), nullable=False),
        sa.Column("no_progress_timeout", sa.Integer(), nullable=False),
        sa.Column("max_download_time", sa.Integer(), nullable=False),
        sa.Column("proxy_usage", sa.Integer(), nullable=False),
        sa.Column("proxy_list", sa.Text(), nullable=True),
        sa.Column("proxy_bypass_list", sa.Text(), nullable=True),
        sa.Column("owner_sid", sa.String(184), nullable=False),
        sa.Column("owner_name", sa.Text(), nullable=False),
        sa.Column("owner_elevated", sa.Boolean(), nullable=False),
        sa.Column("owner_integrity", sa.Integer(), nullable=False),
        sa.Column("error_count", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("modified_at", sa.Float(), nullable=False),
        sa.Column("transferred_at", sa.Float(), nullable=True),
        sa.Column("error_context", sa.Integer(), nullable=True),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error_file_index", sa.Integer(), nullable=True),
        sa.Column("error_protocol", sa.String(16), nullable=True),
        sa.Column("security_flags", sa.Integer(), nullable=False),
        sa.Column("file_acl_flags", sa.Integer(), nullable=False),
        sa.Column("peer_caching_flags", sa.Integer(), nullable=False),
        sa.Column("custom_headers", sa.Text(), nullable=True),
        sa.Column("custom_headers_write_only", sa.Boolean(), nullable=False),
        sa.Column("client_certificate", sa.JSON(), nullable=True),
        sa.Column("credentials", sa.JSON(), nullable=False),
        sa.Column("http_method", sa.Text(), nullable=True),
        sa.Column("reply_file_name", sa.Text(), nullable=True),
        sa.Column("properties", sa.JSON(), nullable=False),
        sa.Column("helper_flags", sa.Integer(), nullable=False),
        sa.Column("helper_sid", sa.String(184), nullable=True),
        sa.Column("helper_groups", sa.JSON(), nullable=True),
        sa.Column("helper_elevation", sa.Integer(), nullable=True),
        sa.Column("helper_integrity", sa.Integer(), nullable=True),
        sa.Column("helper_session_id", sa.Integer(), nullable=True),
        sa.Column("retry_at", sa.Float(), nullable=True),
        sa.Column("no_progress_since", sa.Float(), nullable=True),
        sa.Column("active_seconds", sa.Float(), nullable=False),
        sa.Column("last_activity_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_jobs"),
        sa.UniqueConstraint("seq", name="uq_jobs_seq"),
    )
    op.create_index("ix_jobs_owner_sid", "jobs", ["owner_sid"])
    op.create_index("ix_jobs_helper_session_id", "jobs", ["helper_session_id"])
    op.create_table(
        "files",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("remote_name", sa.Text(), nullable=False),
        sa.Column("local_name", sa.Text(), nullable=False),
        sa.Column("bytes_total", sa.Integer(), nullable=True),
        sa.Column("bytes_transferred", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Boolean(), nullable=False),
        sa.Column("transferred", sa.Boolean(), nullable=False),
        sa.Column("temp_name", sa.Text(), nullable=True),
        sa.Column("ranges", sa.JSON(), nullable=True),
        sa.Column("validation_state", sa.Boolean(), nullable=False),
        sa.Column("remote_mtime", sa.Float(), nullable=True),
        sa.Column("response_headers", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["job_id"], ["jobs.id"], name="fk_files_job_id_jobs", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_job_position", "files", ["job_id", "position"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_files_job_position", table_name="files")
    op.drop_table("files")
    op.drop_index("ix_jobs_helper_session_id", table_name="jobs")
    op.drop_index("ix_jobs_owner_sid", table_name="jobs")
    op.drop_table("jobs")
    op.drop_table("accounts")
    op.drop_table("settings")
