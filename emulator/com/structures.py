"""Structures BITS returns, as small immutable models with snake_case fields
(docs/reference/interfaces.md#structures)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


class _Struct(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobProgress(_Struct):
    """BG_JOB_PROGRESS. ``bytes_total`` is BG_SIZE_UNKNOWN until every file's size is known."""

    bytes_total: int
    bytes_transferred: int
    files_total: int
    files_transferred: int


class JobTimes(_Struct):
    """BG_JOB_TIMES. ``transfer_completion_time`` is None until the job first reaches TRANSFERRED
    (Windows returns a zero FILETIME, which bitsadmin prints as UNKNOWN)."""

    creation_time: datetime
    modification_time: datetime
    transfer_completion_time: datetime | None


class FileProgress(_Struct):
    """BG_FILE_PROGRESS."""

    bytes_total: int
    bytes_transferred: int
    completed: bool


class JobReplyProgress(_Struct):
    """BG_JOB_REPLY_PROGRESS."""

    bytes_total: int
    bytes_transferred: int


class FileRange(_Struct):
    """BG_FILE_RANGE."""

    initial_offset: int
    length: int


class FileInfo(_Struct):
    """BG_FILE_INFO, the element of AddFileSet."""

    remote_name: str
    local_name: str
