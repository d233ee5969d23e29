"""T38: jobs of a remote PowerShell session (docs/reference/security.md#logon).

Fact (https://learn.microsoft.com/en-us/windows/win32/bits/using-windows-powershell-to-create-bits-transfer-jobs):
from Windows 10 1607, jobs created in a remote PowerShell session progress while at least one local or
remote PowerShell session of the account exists (a persistent PSSession keeps them going) and stall when
all sessions end; before 1607 such a session does not count as logged on
(https://learn.microsoft.com/en-us/windows/win32/bits/users-and-network-connections: transfers happen only
while the owner is logged on). A remote PowerShell session is a WinRM network logon; a plain network logon
never counts.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import BitsService, Job, JobState, JobType, LogonSession, LogonType, ManualClock

URL = "http://server/big.bin"


def _job_in_session(svc: BitsService, tmp_path: Path, *, remote_powershell: bool) -> tuple[LogonSession, Job]:
    tmp_path.mkdir(exist_ok=True)
    svc.network.register(URL, b"x" * 100_000, rate=1000)
    session = svc.logon(svc.add_user("remote"), logon_type=LogonType.NETWORK, remote_powershell=remote_powershell)
    _, job = svc.connect(session.token).create_job("ps", JobType.DOWNLOAD)
    job.add_file(URL, str(tmp_path / "a.bin"))
    job.resume()
    return session, job


def test_T38_from_1607_a_remote_powershell_session_runs_its_jobs_until_it_ends(tmp_path: Path) -> None:
    """Using Windows PowerShell to create BITS transfer jobs: from 1607 the session keeps the job going
    while it exists; when every session of the account has ended the job stalls (QUEUED, no progress)."""
    for profile in ("win10-1607", "post-1607"):
        with BitsService(profile, clock=ManualClock()) as svc:
            session, job = _job_in_session(svc, tmp_path / profile, remote_powershell=True)
            assert svc.directory.is_logged_on(session.account.sid) is True
            svc.advance(2)
            assert job.get_state() is JobState.TRANSFERRING
            assert job.get_progress().bytes_transferred == 2000
            svc.logoff(session)
            svc.advance(10)
            assert job.get_state() is JobState.QUEUED
            assert job.get_progress().bytes_transferred == 2000
            # a new (persistent) PSSession of the account: the job progresses again
            svc.logon(session.account, logon_type=LogonType.NETWORK, remote_powershell=True)
            svc.advance(3)
            assert job.get_state() is JobState.TRANSFERRING
            assert job.get_progress().bytes_transferred == 5000


def test_T38_before_1607_a_remote_powershell_session_is_not_logged_on(tmp_path: Path) -> None:
    """Before 1607 a remote PowerShell session does not count as logged on: the job never progresses."""
    for profile in ("win7", "pre-1607"):
        with BitsService(profile, clock=ManualClock()) as svc:
            session, job = _job_in_session(svc, tmp_path / profile, remote_powershell=True)
            assert svc.directory.is_logged_on(session.account.sid) is False
            svc.advance(10)
            assert job.get_state() is JobState.QUEUED
            assert job.get_progress().bytes_transferred == 0


@pytest.mark.parametrize("profile", ["pre-1607", "post-1607"])
def test_a_plain_network_logon_never_runs_jobs(tmp_path: Path, profile: str) -> None:
    """users-and-network-connections: only interactive-type logons count; a network logon that is not a
    remote PowerShell session does not, on either rule set."""
    with BitsService(profile, clock=ManualClock()) as svc:
        session, job = _job_in_session(svc, tmp_path, remote_powershell=False)
        assert session.remote_powershell is False
        svc.advance(10)
        assert job.get_state() is JobState.QUEUED
        assert job.get_progress().bytes_transferred == 0


def test_remote_powershell_is_a_network_logon_emulator_choice() -> None:
    """Emulator choice: a remote PowerShell session is a WinRM network logon, so ``remote_powershell=True``
    with another logon type is a ValueError, and a non-bool is a TypeError."""
    with BitsService() as svc:
        user = svc.add_user("remote")
        with pytest.raises(ValueError, match="network logon"):
            svc.logon(user, logon_type=LogonType.INTERACTIVE, remote_powershell=True)
        with pytest.raises(TypeError, match="remote_powershell must be a bool"):
            svc.logon(user, logon_type=LogonType.NETWORK, remote_powershell=1)  # type: ignore[arg-type]
        session = svc.logon(user, logon_type=LogonType.NETWORK, remote_powershell=True)
        assert session.logon_type is LogonType.NETWORK
        assert "remote PowerShell" in repr(session)
