"""Who does the work for a resource: the helper token or the job's owner.

IBitsTokenOptions::SetHelperTokenFlags names the resources a helper token is used for
(BG_TOKEN_LOCAL_FILE, BG_TOKEN_NETWORK); everything the flags do not name is accessed in the owner's
context (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags).
This is the one place that rule is written.
"""

from __future__ import annotations

from ..identity.tokens import AccessToken
from .records import JobRecord


def acting_identity(rec: JobRecord, usage: int) -> AccessToken | str:
    """The helper token when the job has one and its flags name ``usage``, else the owner's SID."""
    if rec.helper is not None and rec.helper_flags & usage:
        return rec.helper.token
    return rec.owner_sid


def acting_sid(rec: JobRecord, usage: int) -> str:
    identity = acting_identity(rec, usage)
    return identity if isinstance(identity, str) else identity.user_sid
