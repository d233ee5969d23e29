"""T26: the owner and ACL information of an SMB file needs privileges (docs/reference/states.md#t26).

IBackgroundCopyJob3::SetFileACLFlags page
(https://learn.microsoft.com/en-us/windows/win32/api/bits2_0/nf-bits2_0-ibackgroundcopyjob3-setfileaclflags):
BG_COPY_FILE_OWNER and BG_COPY_FILE_GROUP need SeRestorePrivilege, BG_COPY_FILE_SACL SeSecurityPrivilege "on
both the local and remote computers", the Administrators group holds both; the information is applied when
the file's transfer completes; the flags apply to SMB remote names and are ignored for HTTP; "If the user
does not have privileges ... BITS places the job in a transient error state and sets the error code to
E_ACCESSDENIED". Context and retry: docs/reference/readings.md#acl-flags (emulator choice).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from emulator import (
    AccessToken,
    BitsService,
    Blanket,
    Cloaking,
    ErrorContext,
    FileAclFlags,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobState,
    JobType,
    ManualClock,
    TokenFlags,
)

S = JobState
E_ACCESSDENIED = 0x80070005
CONTENT = b"smb bytes " * 10
OWNER, GROUP, DACL, SACL = FileAclFlags.OWNER, FileAclFlags.GROUP, FileAclFlags.DACL, FileAclFlags.SACL
ALL = OWNER | GROUP | DACL | SACL
IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService(clock=ManualClock()) as service:
        yield service


def smb_job(svc: BitsService, tmp_path: Path, flags: int, owner: AccessToken | None = None) -> Job:
    """A download from a local (SMB) source with ``flags``, resumed once."""
    source = tmp_path / "source.bin"
    source.write_bytes(CONTENT)
    _, job = svc.connect(owner).create_job("acl", JobType.DOWNLOAD)
    job.add_file(source.as_uri(), str(tmp_path / "copy.bin"))
    job.set_file_acl_flags(flags)
    job.resume()
    return job


@pytest.mark.parametrize("flags", [OWNER, GROUP, SACL, ALL, OWNER | DACL], ids=lambda f: f"{int(f):#x}")
def test_a_standard_user_lacks_the_privilege_transient_access_denied(
    svc: BitsService, tmp_path: Path, flags: int
) -> None:
    job = smb_job(svc, tmp_path, flags)
    assert job.get_state() is S.TRANSIENT_ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)
    assert error.get_protocol() == "file"
    assert error.get_file().get_local_name() == str(tmp_path / "copy.bin")
    assert error.get_error_description() == "Access is denied.\r\n"
    progress = job.get_progress()
    # The bytes are in (the information is applied when the file's transfer completes), the file is not.
    assert (progress.bytes_transferred, progress.files_transferred) == (len(CONTENT), 0)
    assert not (tmp_path / "copy.bin").exists()


def test_the_copy_is_tried_again_at_each_retry_and_succeeds_once_the_flags_allow(
    svc: BitsService, tmp_path: Path
) -> None:
    job = smb_job(svc, tmp_path, OWNER | DACL)
    assert (job.get_state(), job.get_error_count()) == (S.TRANSIENT_ERROR, 1)
    svc.advance(job.get_minimum_retry_delay())
    assert (job.get_state(), job.get_error_count()) == (S.TRANSIENT_ERROR, 2)
    job.set_file_acl_flags(DACL)  # allowed before TRANSFERRED; DACL needs no privilege
    svc.advance(job.get_minimum_retry_delay())
    assert job.get_state() is S.TRANSFERRED
    job.complete()
    assert (tmp_path / "copy.bin").read_bytes() == CONTENT


def test_dacl_alone_needs_no_privilege(svc: BitsService, tmp_path: Path) -> None:
    job = smb_job(svc, tmp_path, DACL)
    assert job.get_state() is S.TRANSFERRED


def test_an_elevated_administrator_holds_both_privileges(svc: BitsService, tmp_path: Path) -> None:
    admin = svc.logon(svc.add_user("adm", admin=True))
    job = smb_job(svc, tmp_path, ALL, owner=admin.elevated_token)
    assert job.get_state() is S.TRANSFERRED


def test_a_filtered_administrator_token_does_not(svc: BitsService, tmp_path: Path) -> None:
    """UAC's filtered token has the Administrators group for deny only, and none of its privileges."""
    admin = svc.logon(svc.add_user("adm", admin=True))
    job = smb_job(svc, tmp_path, OWNER, owner=admin.token)
    assert job.get_state() is S.TRANSIENT_ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)


@pytest.mark.parametrize(("account", "state"), [("local_system", S.TRANSFERRED), ("local_service", S.TRANSIENT_ERROR)])
def test_service_accounts(svc: BitsService, tmp_path: Path, account: str, state: JobState) -> None:
    """LocalSystem holds every privilege; LocalService holds neither of these
    (https://learn.microsoft.com/en-us/windows/win32/services/localservice-account)."""
    token = svc.logon(getattr(svc, account)).token
    assert smb_job(svc, tmp_path, SACL, owner=token).get_state() is state


def test_the_flags_are_ignored_for_http(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register("http://server/a.bin", CONTENT)
    _, job = svc.connect().create_job("http", JobType.DOWNLOAD)
    job.add_file("http://server/a.bin", str(tmp_path / "a.bin"))
    job.set_file_acl_flags(ALL)
    job.resume()
    assert job.get_state() is S.TRANSFERRED


def test_the_local_side_is_the_helper_token_with_the_local_file_flag(svc: BitsService, tmp_path: Path) -> None:
    """The identity that writes the job's files (BG_TOKEN_LOCAL_FILE: IBitsTokenOptions::SetHelperTokenFlags
    page) is the one whose privileges count: a job of an administrator's filtered token, whose helper token
    is the same administrator's elevated one."""
    admin = svc.logon(svc.add_user("adm", admin=True))
    source = tmp_path / "source.bin"
    source.write_bytes(CONTENT)
    _, job = svc.connect(admin.token, blanket=IMP).create_job("helped", JobType.DOWNLOAD)
    job.add_file(source.as_uri(), str(tmp_path / "copy.bin"))
    job.set_file_acl_flags(OWNER)
    with svc.impersonate(admin.elevated_token):  # an administrator's helper token needs an administrator's QI
        opts = job.query_interface(IBitsTokenOptions)
        opts.set_helper_token()
    job.resume()
    assert job.get_state() is S.TRANSIENT_ERROR  # no LOCAL_FILE flag: the owner's filtered token writes
    opts.set_helper_token_flags(TokenFlags.LOCAL_FILE)
    job.resume()
    assert job.get_state() is S.TRANSFERRED


def test_sacl_from_a_share_needs_the_privilege_on_the_remote_side_too(tmp_path: Path) -> None:
    """SACL: SeSecurityPrivilege on both computers. A LocalSystem job (before 1607) whose helper token, a
    standard user's, reaches the network (BG_TOKEN_NETWORK): the local side may, the remote side may not."""
    with BitsService("pre-1607", clock=ManualClock()) as svc:
        svc.filesystem.unc_root = tmp_path / "unc"
        share = tmp_path / "unc" / "server" / "share"
        share.mkdir(parents=True)
        (share / "f.bin").write_bytes(CONTENT)
        owner = svc.logon(svc.local_system).token
        user = svc.logon(svc.add_user("hU"))

        def job_with(flags: int) -> Job:
            _, job = svc.connect(owner, blanket=IMP).create_job("share", JobType.DOWNLOAD)
            job.add_file("\\\\server\\share\\f.bin", str(tmp_path / f"copy{int(flags)}.bin"))
            job.set_file_acl_flags(flags)
            opts = job.query_interface(IBitsTokenOptions)
            with svc.impersonate(user.token):
                opts.set_helper_token()
            opts.set_helper_token_flags(TokenFlags.NETWORK)
            job.resume()
            return job

        sacl = job_with(SACL)
        assert sacl.get_state() is S.TRANSIENT_ERROR
        assert sacl.get_error().get_error() == (ErrorContext.REMOTE_FILE, E_ACCESSDENIED)
        assert job_with(OWNER | GROUP).get_state() is S.TRANSFERRED  # SeRestorePrivilege: the local side only
