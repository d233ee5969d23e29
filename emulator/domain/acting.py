"""Who does the work for a resource: the helper token or the job's owner.

IBitsTokenOptions::SetHelperTokenFlags names the resources a helper token is used for
(BG_TOKEN_LOCAL_FILE, BG_TOKEN_NETWORK); everything the flags do not name is accessed in the owner's
context (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags).
This is the one place that rule is written.
"""

from __future__ import annotations

from ..identity import sids
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


def network_credentials_sid(rec: JobRecord, usage: int) -> str | None:
    """Whose implicit (NTLM/Negotiate) credentials answer a server's challenge, or None when nobody's can.

    The helper token with BG_TOKEN_NETWORK, else the owner. Without a helper token LocalSystem and
    NetworkService authenticate with the machine account (modelled by their own SIDs) and LocalService
    anonymously, so a LocalService job's implicit credentials answer no challenge
    (https://learn.microsoft.com/en-us/windows/win32/bits/service-accounts-and-bits).
    """
    sid = acting_sid(rec, usage)
    return None if sid == sids.LOCAL_SERVICE else sid
