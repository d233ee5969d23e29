"""The schema of the job store as SQLAlchemy 2.0 typed models.

These models are the source of truth that Alembic's revisions reproduce (a test compares them). Times are
float seconds since the epoch, UTC, computed in Python on the service clock (never ``func.now()``, which
time mocking cannot reach). BG_SIZE_UNKNOWN does not fit SQLite's signed 64-bit integers, so an unknown
size is stored as NULL.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class SettingRow(Base):
    """Machine-wide values that must survive a restart (the machine SID, the next RID)."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AccountRow(Base):
    __tablename__ = "accounts"
    sid: Mapped[str] = mapped_column(String(184), primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    admin: Mapped[bool] = mapped_column(Boolean)


class JobRow(Base):
    __tablename__ = "jobs"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    job_type: Mapped[int] = mapped_column(Integer)
    state: Mapped[int] = mapped_column(Integer)
    display_name: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[int] = mapped_column(Integer)
    notify_flags: Mapped[int] = mapped_column(Integer)
    notify_program: Mapped[str | None] = mapped_column(Text)
    notify_parameters: Mapped[str | None] = mapped_column(Text)
    min_retry_delay: Mapped[int] = mapped_column(Integer)
    no_progress_timeout: Mapped[int] = mapped_column(Integer)
    max_download_time: Mapped[int] = mapped_column(Integer)
    proxy_usage: Mapped[int] = mapped_column(Integer)
    proxy_list: Mapped[str | None] = mapped_column(Text)
    proxy_bypass_list: Mapped[str | None] = mapped_column(Text)
    owner_sid: Mapped[str] = mapped_column(String(184), index=True)
    owner_name: Mapped[str] = mapped_column(Text)
    owner_elevated: Mapped[bool] = mapped_column(Boolean)
    owner_integrity: Mapped[int] = mapped_column(Integer)
    error_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[float] = mapped_column(Float)
    modified_at: Mapped[float] = mapped_column(Float)
    transferred_at: Mapped[float | None] = mapped_column(Float)
    error_context: Mapped[int | None] = mapped_column(Integer)
    error_code: Mapped[int | None] = mapped_column(Integer)
    error_file_index: Mapped[int | None] = mapped_column(Integer)
    error_protocol: Mapped[str | None] = mapped_column(String(16))
    security_flags: Mapped[int] = mapped_column(Integer)
    file_acl_flags: Mapped[int] = mapped_column(Integer)
    peer_caching_flags: Mapped[int] = mapped_column(Integer)
    custom_headers: Mapped[str | None] = mapped_column(Text)
    custom_headers_write_only: Mapped[bool] = mapped_column(Boolean)
    client_certificate: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    credentials: Mapped[list[Any]] = mapped_column(JSON)
    http_method: Mapped[str | None] = mapped_column(Text)
    reply_file_name: Mapped[str | None] = mapped_column(Text)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Helper token (IBitsTokenOptions): the identity it carries, the logon session that supplied it
    # and the usage flags. Flags persist; the token columns are emptied at every service start (SHT).
    helper_flags: Mapped[int] = mapped_column(Integer)
    helper_sid: Mapped[str | None] = mapped_column(String(184))
    helper_groups: Mapped[list[Any] | None] = mapped_column(JSON)
    helper_elevation: Mapped[int | None] = mapped_column(Integer)
    helper_integrity: Mapped[int | None] = mapped_column(Integer)
    helper_session_id: Mapped[int | None] = mapped_column(Integer, index=True)
    retry_at: Mapped[float | None] = mapped_column(Float)
    no_progress_since: Mapped[float | None] = mapped_column(Float)
    active_seconds: Mapped[float] = mapped_column(Float)
    last_activity_at: Mapped[float] = mapped_column(Float)


class FileRow(Base):
    __tablename__ = "files"
    __table_args__ = (Index("ix_files_job_position", "job_id", "position", unique=True),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    job_id: Mapped[str] = mapped_column(String(36), ForeignKey("jobs.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    remote_name: Mapped[str] = mapped_column(Text)
    local_name: Mapped[str] = mapped_column(Text)
    bytes_total: Mapped[int | None] = mapped_column(Integer)
    bytes_transferred: Mapped[int] = mapped_column(Integer)
    completed: Mapped[bool] = mapped_column(Boolean)
    transferred: Mapped[bool] = mapped_column(Boolean)
    temp_name: Mapped[str | None] = mapped_column(Text)
    ranges: Mapped[list[Any] | None] = mapped_column(JSON)
    validation_state: Mapped[bool] = mapped_column(Boolean)
    remote_mtime: Mapped[float | None] = mapped_column(Float)
    response_headers: Mapped[str | None] = mapped_column(Text)


class JobChangeRow(Base):
    """Which jobs each committed write touched, so other services sharing a file store reload just those
    (several processes are several clients of one queue). ``writer`` is the service that wrote it."""

    __tablename__ = "job_changes"
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(String(36))
    writer: Mapped[str] = mapped_column(String(32))


JOBS: Table = JobRow.__table__  # type: ignore[assignment]
FILES: Table = FileRow.__table__  # type: ignore[assignment]
