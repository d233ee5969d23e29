"""Who does the work for a resource: the helper token or the job's owner.

IBitsTokenOptions::SetHelperTokenFlags names the resources a helper token is used for
(BG_TOKEN_LOCAL_FILE, BG_TOKEN_NETWORK); everything the flags do not name is accessed in the owner's
context (https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags).
This is the one place that rule is written.
"""

from __future__ import annotations

from ..constants import FileAclFlags, TokenFlags
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


# The file-ACL flags (IBackgroundCopyJob3::SetFileACLFlags) by the privilege each needs.
_NEEDS_RESTORE = FileAclFlags.OWNER | FileAclFlags.GROUP  # SeRestorePrivilege
_NEEDS_SECURITY = FileAclFlags.SACL  # SeSecurityPrivilege, "on both the local and remote computers"


def holds_admin_privileges(rec: JobRecord, usage: int) -> bool:
    """Whether the identity that does the work for ``usage`` holds the privileges of the Administrators
    group (SeRestorePrivilege, SeSecurityPrivilege): an elevated administrator's token or LocalSystem's.

    A standard user's token, a UAC-filtered administrator's token (its privileges are removed with the
    group), LocalService and NetworkService hold neither
    (https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/restore-files-and-directories,
    https://learn.microsoft.com/en-us/previous-versions/windows/it-pro/windows-10/security/threat-protection/security-policy-settings/manage-auditing-and-security-log,
    https://learn.microsoft.com/en-us/windows/win32/services/localservice-account). For the owner, the
    token BITS keeps is the one that created the job (its elevation: GetOwnerElevationState)."""
    identity = acting_identity(rec, usage)
    if isinstance(identity, str):
        return rec.owner_elevated or identity == sids.LOCAL_SYSTEM
    return identity.is_admin or identity.user_sid == sids.LOCAL_SYSTEM


def acl_copy_denied(rec: JobRecord, unc_source: bool) -> str | None:
    """Where an SMB file's owner and ACL copy lacks a privilege: ``"local"``, ``"remote"``, or None when the
    copy may go ahead.

    IBackgroundCopyJob3::SetFileACLFlags page: OWNER and GROUP need SeRestorePrivilege, SACL needs
    SeSecurityPrivilege on both the local and the remote computer; DACL needs none; lacking a privilege
    puts the job in a transient error with E_ACCESSDENIED
    (https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-setfileaclflags).
    The local side is the identity that writes the job's files (BG_TOKEN_LOCAL_FILE); the remote side of a
    UNC source the identity that reaches the network (BG_TOKEN_NETWORK); a local source has no remote side.
    """
    flags = rec.file_acl_flags
    if not flags & (_NEEDS_RESTORE | _NEEDS_SECURITY):
        return None
    if not holds_admin_privileges(rec, TokenFlags.LOCAL_FILE):
        return "local"
    if flags & _NEEDS_SECURITY and unc_source and not holds_admin_privileges(rec, TokenFlags.NETWORK):
        return "remote"
    return None
