"""The public surface: ``emulator.__all__`` is pinned (docs/design.md#public-api)."""

from __future__ import annotations

import importlib

import emulator

EXPECTED = {
    "BG_JOB_ENUM_ALL_USERS", "BG_LENGTH_TO_EOF", "BG_SIZE_UNKNOWN", "PROFILES", "AccessToken", "Account",
    "AccountKind", "AuthScheme", "AuthTarget", "BitsError", "BitsService", "Cast", "FakeNetwork", "LocalFileFault",
    "LocalFileSystem", "NotifyCommandLine", "Resource", "Blanket", "Cloaking", "Clock",
    "CopyError", "ElevationType", "ErrorContext", "Event", "EventBus", "File", "FileEnumerator", "FileInfo",
    "FileProgress", "FileRange", "HResult", "HelperTokenRules", "IBackgroundCopyError", "IBackgroundCopyFile",
    "IBackgroundCopyFile2", "IBackgroundCopyFile3", "IBackgroundCopyFile4", "IBackgroundCopyFile5",
    "IBackgroundCopyFile6", "IBackgroundCopyJob", "IBackgroundCopyJob2", "IBackgroundCopyJob3",
    "IBackgroundCopyJob4", "IBackgroundCopyJob5", "IBackgroundCopyJobHttpOptions",
    "IBackgroundCopyJobHttpOptions2", "IBackgroundCopyJobHttpOptions3", "IBackgroundCopyManager",
    "HelperTokenChoices", "GroupPolicy", "BandwidthLimit", "PriorityLimits", "WorkSchedule", "MaintenanceSchedule",
    "Weekday",
    "IBitsTokenOptions", "ImpersonationLevel", "IntegrityLevel", "Interface", "Job", "JobEnumerator",
    "JobPriority", "JobProgress", "JobReplyProgress", "JobState", "JobStateChanged", "JobTimes", "JobType",
    "Logoff", "Logon", "LogonSession", "LogonType", "Manager", "ManualClock", "NotifyFlags", "Profile",
    "ProxyUsage", "ServiceStarted", "ServiceStopping", "StoreError", "StoreVersionError", "SystemClock",
    "TokenFlags", "TokenOptions",
    "CallbackCalled", "Creation", "History", "HistoryRecord", "JobCreated", "Notification", "Request",
    "RequestMade", "StateChange", "UnregisteredURLError",
    "CertStoreLocation", "CostState", "FileAclFlags", "FilePropertyId", "JobPropertyId", "PeerCachingFlags",
    "SecurityFlags", "TransferPolicy",
    "__version__",
}  # fmt: skip


def test_all_is_pinned_design_1() -> None:
    """docs/design.md#public-api: ``__all__`` lists exactly the public names, without duplicates."""
    assert len(emulator.__all__) == len(set(emulator.__all__))
    assert set(emulator.__all__) == EXPECTED


def test_every_public_name_is_importable_design_1() -> None:
    """Every name in ``__all__`` resolves, by attribute and by ``from emulator import …``."""
    fresh = importlib.import_module("emulator")
    for name in emulator.__all__:
        assert getattr(fresh, name) is not None
        ns: dict[str, object] = {}
        exec(f"from emulator import {name}", ns)
        assert ns[name] is getattr(emulator, name)


def test_enums_carry_windows_numbers_bits_core_4() -> None:
    """Issue 2 / docs/reference/interfaces.md#enums: enums exported from ``emulator`` carry Windows' numbers."""
    from emulator import ImpersonationLevel, JobPriority, JobState, JobType

    assert [int(t) for t in (JobType.DOWNLOAD, JobType.UPLOAD, JobType.UPLOAD_REPLY)] == [0, 1, 2]
    assert [s.name for s in sorted(JobState)] == [
        "QUEUED", "CONNECTING", "TRANSFERRING", "SUSPENDED", "ERROR", "TRANSIENT_ERROR", "TRANSFERRED",
        "ACKNOWLEDGED", "CANCELLED",
    ]  # fmt: skip
    assert [int(s) for s in sorted(JobState)] == list(range(9))
    assert (JobPriority.FOREGROUND, JobPriority.HIGH, JobPriority.NORMAL, JobPriority.LOW) == (0, 1, 2, 3)
    assert (ImpersonationLevel.ANONYMOUS, ImpersonationLevel.IDENTIFY) == (1, 2)
    assert (ImpersonationLevel.IMPERSONATE, ImpersonationLevel.DELEGATE) == (3, 4)


def test_cost_state_carries_the_bits_cost_state_numbers() -> None:
    """``emulator.CostState`` (svc.network.cost_state, COST_FLAGS bits): the BITS_COST_STATE values of
    https://learn.microsoft.com/en-us/windows/win32/bits/bits-cost-state (ROAMING 0x80 from bits5_0.h)."""
    from emulator import CostState

    assert {m.name: int(m) for m in CostState} == {
        "UNRESTRICTED": 0x1, "CAPPED_USAGE_UNKNOWN": 0x2, "BELOW_CAP": 0x4, "NEAR_CAP": 0x8,
        "OVERCAP_CHARGED": 0x10, "OVERCAP_THROTTLED": 0x20, "USAGE_BASED": 0x40, "ROAMING": 0x80,
        "RESERVED": 0x40000000, "IGNORE_CONGESTION": 0x80000000,
    }  # fmt: skip


def test_flag_enums_carry_the_sdk_numbers() -> None:
    """BITS_JOB_TRANSFER_POLICY
    (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_transfer_policy), the
    redirect-policy field of SetSecurityFlags (default ALLOW_SILENT 0, MASK 0x700) and BG_COPY_FILE_ALL."""
    from emulator import FileAclFlags, SecurityFlags, TransferPolicy

    assert {m.name: int(m) for m in TransferPolicy} == {
        "ALWAYS": 0x800000FF, "NOT_ROAMING": 0x8000007F, "NO_SURCHARGE": 0x8000006F, "STANDARD": 0x80000067,
        "UNRESTRICTED": 0x80000021,
    }  # fmt: skip
    assert int(SecurityFlags.REDIRECT_POLICY_ALLOW_SILENT) == 0
    assert int(SecurityFlags.REDIRECT_POLICY_MASK) == 0x700
    every = FileAclFlags.OWNER | FileAclFlags.GROUP | FileAclFlags.DACL | FileAclFlags.SACL
    assert int(FileAclFlags.ALL) == 0xF == int(every)


def test_a_new_jobs_cost_flags_are_transfer_policy_always() -> None:
    """docs/reference/readings.md#job5-defaults: a new job's COST_FLAGS is BITS_JOB_TRANSFER_POLICY_ALWAYS; a
    job whose policy is NOT_ROAMING is held on a roaming network (BG_E_BLOCKED_BY_COST_TRANSFER_POLICY)."""
    from emulator import BitsService, CostState, JobPropertyId, JobState, JobType, ManualClock, TransferPolicy

    with BitsService(clock=ManualClock()) as svc:
        svc.network.register("http://server/a", b"x" * 10, rate=1)
        svc.filesystem.makedirs("C:\\dl")
        _, job = svc.connect().create_job("j", JobType.DOWNLOAD)
        assert job.get_property(JobPropertyId.COST_FLAGS) == TransferPolicy.ALWAYS
        job.set_property(JobPropertyId.COST_FLAGS, TransferPolicy.NOT_ROAMING)
        job.add_file("http://server/a", "C:\\dl\\a")
        job.resume()
        svc.network.cost_state = CostState.ROAMING
        assert (job.get_state(), job.get_error().get_error()[1]) == (JobState.TRANSIENT_ERROR, 0x80200059)


def test_bits_error_carries_unsigned_hresult_and_name_issue_2() -> None:
    """Issue 2: BitsError(Exception) with .hresult (unsigned 32-bit) and .name."""
    from emulator import BitsError, BitsService, JobType

    with BitsService() as svc:
        _, job = svc.connect().create_job("e", JobType.DOWNLOAD)
        try:
            job.resume()
        except BitsError as exc:
            assert isinstance(exc, Exception)
            assert exc.hresult == 0x80200003
            assert exc.name == "BG_E_EMPTY"
        else:  # pragma: no cover
            raise AssertionError("Resume of an empty job must fail")
