"""Syntax rules for remote and local names (docs/reference/limits.md#names). Pure checks; where a local
name lands on disk, and who may write there, is the file system sandbox's business (transfer/localfs.py)."""

from __future__ import annotations

import re
from enum import Enum
from functools import lru_cache
from typing import Final
from urllib.parse import urlsplit

from .. import hresults
from ..constants import JobType
from ..hresults import BitsError
from .limits import MAX_PATH, MAX_REMOTE_NAME, utf16_len


class RemoteKind(Enum):
    HTTP = "http"
    SMB = "file"


_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")
_URL_ILLEGAL = re.compile(r"[\s<>\"{}|^`]")


def _invalid(detail: str) -> BitsError:
    return BitsError(hresults.E_INVALIDARG, detail)


def is_unc(path: str) -> bool:
    return path.startswith(("\\\\", "//")) and not path.startswith(("\\\\?\\", "\\\\.\\", "//?/", "//./"))


# (members as globals: read at each check; see domain/states.QUEUED for why)
_SMB: Final = RemoteKind.SMB
_UPLOAD_REPLY: Final = JobType.UPLOAD_REPLY


def remote_kind(url: str, job_type: JobType) -> RemoteKind:
    """Validate a remote name; E_INVALIDARG for what AddFile rejects (bg_file_info, addfile pages)."""
    kind = _remote_kind(url)
    if kind is _SMB and job_type is _UPLOAD_REPLY:
        raise _invalid("upload-reply jobs cannot use SMB remote names")
    return kind


# A job's remote name is checked at AddFile and again at every connection; the check is a pure function
# of the string (URL parsing included), so the last REMOTE_NAMES answers are kept. A refused name is not
# kept (lru_cache keeps no exception): it raises, with a fresh error, at every call.
REMOTE_NAMES = 1024


@lru_cache(maxsize=REMOTE_NAMES)
def _remote_kind(url: str) -> RemoteKind:
    if utf16_len(url) > MAX_REMOTE_NAME:
        raise _invalid(f"remote name longer than {MAX_REMOTE_NAME} characters")
    if "*" in url or ("?" in url.split("://", 1)[-1].split("?", 1)[0] and url.lower().startswith("file")):
        raise _invalid("wildcards are not allowed in a remote name")
    lowered = url.lower()
    if lowered.startswith(("http://", "https://")):
        if _URL_ILLEGAL.search(url):
            raise _invalid("the URL contains characters that are not legal in a URL")
        try:
            parts = urlsplit(url)
            hostname = parts.hostname
            parts.port  # noqa: B018 - a port that is not a number is refused here, not at transfer time
        except ValueError:
            raise _invalid("the URL is malformed (an unclosed IPv6 bracket or a bad port)") from None
        if not hostname:
            raise _invalid("the URL names no server")
        if any(len(segment) > MAX_PATH for segment in parts.path.split("/")):
            raise _invalid(f"a URL segment is longer than MAX_PATH ({MAX_PATH})")
        return RemoteKind.HTTP
    # An absolute POSIX path is a local file copied like a path on a mapped drive (emulator choice: Linux
    # users write such names, and they are already accepted as local names).
    if lowered.startswith("file://") or is_unc(url) or _DRIVE.match(url) or url.startswith("/"):
        if "*" in url or "?" in url:
            raise _invalid("wildcards are not allowed in a remote name")
        return RemoteKind.SMB  # upload-reply jobs refuse it (remote_kind): the only rule that needs the job
    raise _invalid(f"unsupported protocol in remote name {url[:40]!r}")


@lru_cache(maxsize=REMOTE_NAMES)  # AddFile checks the same few local names again and again (remote_kind)
def check_local_name(path: str) -> None:
    """A local name must be a full path, no wildcards, no ``\\\\?\\`` prefix, no alternate data stream."""
    if utf16_len(path) > MAX_PATH:
        raise _invalid(f"local name longer than MAX_PATH ({MAX_PATH})")
    if path.startswith(("\\\\?\\", "\\\\.\\", "//?/", "//./")):
        raise _invalid("the \\\\?\\ and \\\\.\\ prefixes are not supported")
    if "*" in path or "?" in path:
        raise _invalid("wildcards are not allowed in a local name")
    if _DRIVE.match(path):
        rest = path[2:]
    elif is_unc(path) or path.startswith("/"):
        rest = path
    else:
        raise _invalid(f"local name {path!r} is not a full path")
    if ":" in rest:
        raise _invalid("NTFS alternate data streams are not supported")
    if path.endswith(("\\", "/")):
        raise _invalid("a local name must name a file, not a directory")
