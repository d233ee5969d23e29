"""IBackgroundCopyManager: CreateJob quotas, GetJob, EnumJobs and enumerators, GetErrorDescription
(the pages
https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-<method>,
docs/reference/limits.md#quotas, docs/reference/return-codes.md)."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from emulator import BG_JOB_ENUM_ALL_USERS, BitsError, BitsService, JobType

E_INVALIDARG = 0x80070057
BG_E_NOT_FOUND = 0x80200001
BG_E_TOO_MANY_JOBS_PER_USER = 0x80200049
BG_E_TOO_MANY_JOBS_PER_MACHINE = 0x80200050
BG_E_TOO_MANY_FILES_IN_JOB = 0x80200051
ERROR_RESOURCE_LANG_NOT_FOUND = 0x80070717
S_OK = 0
S_FALSE = 1


def test_create_job_returns_id_and_job_bits_core_2_1(svc: BitsService) -> None:
    """T1 (docs/reference/states.md#t1), CreateJob page: a new GUID per job, owned by the caller, SUSPENDED; names need
    not be unique."""
    mgr = svc.connect()
    id1, j1 = mgr.create_job("same", JobType.DOWNLOAD)
    id2, j2 = mgr.create_job("same", JobType.UPLOAD)
    assert isinstance(id1, uuid.UUID) and id1 != id2
    assert j1.get_id() == id1 and j2.get_id() == id2
    assert j2.get_type() is JobType.UPLOAD
    assert j1.get_owner() == svc.current_session.token.user_sid
    assert mgr.get_job(id1).get_display_name() == "same"
    assert mgr.get_job(str(id1)).get_id() == id1
    assert mgr.get_job("{" + str(id1).upper() + "}").get_id() == id1


def test_create_job_bad_type_bits_core_4_1(svc: BitsService) -> None:
    """docs/reference/interfaces.md#enums: BG_JOB_TYPE is 0..2; other values → E_INVALIDARG (CreateJob's page
    names no code for it: docs/reference/readings.md#job-type) and no job is created; wrong Python type →
    TypeError."""
    mgr = svc.connect()
    for bad in (3, -1):
        with pytest.raises(BitsError) as exc:
            mgr.create_job("x", bad)
        assert exc.value.hresult == E_INVALIDARG
    assert mgr.enum_jobs(0).get_count() == 0
    with pytest.raises(TypeError):
        mgr.create_job("x", "download")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mgr.create_job(b"x", JobType.DOWNLOAD)  # type: ignore[arg-type]
    assert svc.store.conn.execute("SELECT count(*) FROM jobs").fetchone() == (0,)
    assert svc.queue.jobs == {}


def test_get_job_unknown_id_is_not_found_bits_core_2_1(svc: BitsService) -> None:
    """GetJob page: BG_E_NOT_FOUND 0x80200001 for an id not in the queue."""
    with pytest.raises(BitsError) as exc:
        svc.connect().get_job(uuid.uuid4())
    assert exc.value.hresult == BG_E_NOT_FOUND
    with pytest.raises(BitsError) as exc:
        svc.connect().get_job("not-a-guid")
    assert exc.value.hresult == E_INVALIDARG
    with pytest.raises(TypeError):
        svc.connect().get_job(42)  # type: ignore[arg-type]


def test_quota_61st_job_per_user_bits_core_6_4(svc: BitsService) -> None:
    """docs/reference/limits.md#quotas: a non-admin's 61st job → BG_E_TOO_MANY_JOBS_PER_USER 0x80200049."""
    mgr = svc.connect()
    for i in range(60):
        mgr.create_job(f"j{i}", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as exc:
        mgr.create_job("j60", JobType.DOWNLOAD)
    assert exc.value.hresult == BG_E_TOO_MANY_JOBS_PER_USER
    assert len(mgr.enum_jobs()) == 60
    assert svc.store.conn.execute("SELECT count(*) FROM jobs").fetchone() == (60,)


def test_quota_301st_machine_job_bits_core_6_4(svc: BitsService) -> None:
    """docs/reference/limits.md#quotas: the 301st job on the machine (non-admin creator) → 0x80200050."""
    for u in range(5):
        mgr = svc.connect(svc.logon(svc.add_user(f"user{u}")).token)
        for i in range(60):
            mgr.create_job(f"u{u}-{i}", JobType.DOWNLOAD)
    assert len(svc.queue.jobs) == 300
    late = svc.connect(svc.logon(svc.add_user("late")).token)
    with pytest.raises(BitsError) as exc:
        late.create_job("301", JobType.DOWNLOAD)
    assert exc.value.hresult == BG_E_TOO_MANY_JOBS_PER_MACHINE
    assert len(svc.queue.jobs) == 300


def test_quota_exemptions_for_admins_and_service_accounts_bits_core_6_4(svc: BitsService) -> None:
    """docs/reference/limits.md#quotas: quotas do not apply to administrators (elevated) or service accounts."""
    admin = svc.connect(svc.logon(svc.add_user("bob", admin=True)).elevated_token)
    system = svc.connect(svc.logon(svc.local_system).token)
    netsvc = svc.connect(svc.logon(svc.network_service).token)
    for mgr in (admin, system, netsvc):
        for i in range(61):
            mgr.create_job(f"x{i}", JobType.DOWNLOAD)
    _, job = netsvc.create_job("files", JobType.DOWNLOAD)
    job.add_file_set([(f"http://example.com/{i}", f"C:\\data\\{i}") for i in range(201)])
    assert job.get_progress().files_total == 201


def test_quota_filtered_admin_is_not_exempt_bits_core_6_4(svc: BitsService) -> None:
    """docs/reference/limits.md#quotas with ADM (docs/reference/security.md#admin): a filtered (non-elevated) admin
    token is not exempt."""
    mgr = svc.connect(svc.logon(svc.add_user("bob", admin=True)).token)
    for i in range(60):
        mgr.create_job(f"j{i}", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as exc:
        mgr.create_job("j60", JobType.DOWNLOAD)
    assert exc.value.hresult == BG_E_TOO_MANY_JOBS_PER_USER


def test_quota_201st_file_bits_core_6_4(svc: BitsService) -> None:
    """docs/reference/limits.md#quotas: the 201st file of a non-admin's job → 0x80200051, nothing of the set added."""
    _, job = svc.connect().create_job("files", JobType.DOWNLOAD)
    job.add_file_set([(f"http://example.com/{i}", f"C:\\data\\{i}") for i in range(199)])
    with pytest.raises(BitsError) as exc:
        job.add_file_set([("http://example.com/a", "C:\\data\\a"), ("http://example.com/b", "C:\\data\\b")])
    assert exc.value.hresult == BG_E_TOO_MANY_FILES_IN_JOB
    assert job.get_progress().files_total == 199
    job.add_file("http://example.com/200", "C:\\data\\200")
    with pytest.raises(BitsError) as exc:
        job.add_file("http://example.com/201", "C:\\data\\201")
    assert exc.value.hresult == BG_E_TOO_MANY_FILES_IN_JOB
    assert job.get_progress().files_total == 200


def test_no_quotas_before_bits_3_bits_core_6_4() -> None:
    """docs/reference/limits.md#quotas: before Vista (BITS < 3.0) there were no quotas — every profile we ship has
    them."""
    with BitsService("win7") as s:
        mgr = s.connect()
        for i in range(60):
            mgr.create_job(f"j{i}", JobType.DOWNLOAD)
        with pytest.raises(BitsError) as exc:
            mgr.create_job("j60", JobType.DOWNLOAD)
        assert exc.value.hresult == BG_E_TOO_MANY_JOBS_PER_USER


def test_enum_jobs_bad_flags_is_e_invalidarg_security_a13(svc: BitsService) -> None:
    """docs/reference/readings.md#a13: EnumJobs flags other than 0 and 1 → E_INVALIDARG."""
    with pytest.raises(BitsError) as exc:
        svc.connect().enum_jobs(2)
    assert exc.value.hresult == E_INVALIDARG
    with pytest.raises(TypeError):
        svc.connect().enum_jobs("1")  # type: ignore[arg-type]


def test_enumerator_is_a_snapshot_with_live_properties_bits_core_2_9(svc: BitsService) -> None:
    """EnumJobs page, docs/reference/security.md#enumjobs: membership frozen at call time; properties read are live."""
    mgr = svc.connect()
    _, a = mgr.create_job("a", JobType.DOWNLOAD)
    e = mgr.enum_jobs()
    mgr.create_job("b", JobType.DOWNLOAD)
    a.set_display_name("renamed")
    assert e.get_count() == 1
    (only,) = e.next(5)
    assert only.get_display_name() == "renamed"
    assert mgr.enum_jobs().get_count() == 2


def test_enumerator_next_skip_reset_clone_count_bits_core_2_9(svc: BitsService) -> None:
    """IEnumBackgroundCopyJobs pages: Next returns fewer than asked at the end (S_FALSE), Skip returns S_FALSE (1) when
    short, Reset rewinds, Clone keeps the position and is independent, GetCount is the snapshot size."""
    mgr = svc.connect()
    ids = {mgr.create_job(f"j{i}", JobType.DOWNLOAD)[0] for i in range(5)}
    e = mgr.enum_jobs()
    assert e.get_count() == 5
    first = e.next(2)
    assert len(first) == 2
    clone = e.clone()
    assert e.skip(2) == S_OK
    rest = e.next(3)
    assert len(rest) == 1
    assert e.next(1) == []
    assert e.skip(1) == S_FALSE
    assert e.get_count() == 5
    from_clone = clone.next(10)
    assert len(from_clone) == 3
    assert {j.get_id() for j in first + from_clone} == ids
    e.reset()
    assert {j.get_id() for j in e} == ids
    e.reset()
    assert e.skip(7) == S_FALSE
    assert e.next(1) == []
    with pytest.raises(BitsError) as exc:
        e.next(0)
    assert exc.value.hresult == E_INVALIDARG
    assert len(clone) == 5


def test_enum_jobs_excludes_final_jobs_bits_core_2_1(svc: BitsService) -> None:
    """docs/reference/states.md#finality: jobs in ACKNOWLEDGED/CANCELLED do not appear."""
    mgr = svc.connect()
    _, a = mgr.create_job("a", JobType.DOWNLOAD)
    keep_id, _ = mgr.create_job("b", JobType.DOWNLOAD)
    a.cancel()
    assert [j.get_id() for j in mgr.enum_jobs()] == [keep_id]


def test_enum_files_is_a_snapshot_bits_core_2_9(svc: BitsService) -> None:
    """EnumFiles page (snapshot of the file list): file list frozen at call time."""
    _, job = svc.connect().create_job("f", JobType.DOWNLOAD)
    job.add_file("http://example.com/a", "C:\\data\\a")
    files = job.enum_files()
    job.add_file("http://example.com/b", "C:\\data\\b")
    assert files.get_count() == 1
    assert [f.get_local_name() for f in files] == ["C:\\data\\a"]
    assert job.enum_files().get_count() == 2


@pytest.mark.parametrize(
    ("code", "text"),
    [
        (0x80200001, "not found"),
        (0x80200002, "state"),
        (0x80200003, "no files"),
    ],
)
def test_get_error_description_english_bits_core_9_2(svc: BitsService, code: int, text: str) -> None:
    """docs/reference/return-codes.md#descriptions: GetErrorDescription(hr, 0x0409) returns the message text."""
    desc = svc.connect().get_error_description(code, 0x0409)
    assert text in desc.lower()


def test_get_error_description_unknown_language_bits_core_9_2(svc: BitsService) -> None:
    """docs/reference/return-codes.md#descriptions: no string for that locale →
    HRESULT_FROM_WIN32(ERROR_RESOURCE_LANG_NOT_FOUND) 0x80070717."""
    with pytest.raises(BitsError) as exc:
        svc.connect().get_error_description(0x80200001, 0x0407)
    assert exc.value.hresult == ERROR_RESOURCE_LANG_NOT_FOUND


def test_get_error_description_accepts_signed_hresults_bits_core_5(svc: BitsService) -> None:
    """docs/reference/return-codes.md: HRESULTs are 32-bit; a signed value (as pywin32 passes them) names the same
    code."""
    mgr = svc.connect()
    assert mgr.get_error_description(0x80200001 - (1 << 32), 0x0409) == mgr.get_error_description(0x80200001, 0x0409)


def test_enum_all_users_constant_security_1_2() -> None:
    """docs/reference/interfaces.md#enums: BG_JOB_ENUM_ALL_USERS = 0x0001."""
    assert BG_JOB_ENUM_ALL_USERS == 1


def test_get_error_description_hresult_out_of_32_bits_issue_2(svc: BitsService) -> None:
    """Issue 2 bad input: an int that fits no 32-bit HRESULT cannot be marshalled (OverflowError, as for
    every DWORD argument); a non-int is a TypeError."""
    mgr = svc.connect()
    for bad in (1 << 32, -(1 << 31) - 1):
        with pytest.raises(OverflowError):
            mgr.get_error_description(bad, 0x0409)
    with pytest.raises(TypeError):
        mgr.get_error_description("0x80200001", 0x0409)  # type: ignore[arg-type]
    assert mgr.get_error_description(0x80200001 - (1 << 32), 0x0409)


def test_enumerator_and_control_plane_type_errors_issue_2(svc: BitsService) -> None:
    """Issue 2 "Bad input at every method": wrong Python types raise TypeError, position unchanged."""
    mgr = svc.connect()
    mgr.create_job("a", JobType.DOWNLOAD)
    e = mgr.enum_jobs()
    calls: list[Callable[[], object]] = [
        lambda: e.next("1"),  # type: ignore[arg-type]
        lambda: e.skip(1.5),  # type: ignore[arg-type]
        lambda: e.next(None),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(TypeError):
            call()
    assert len(e.next(1)) == 1
    with pytest.raises(TypeError):
        svc.logon("alice")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        svc.add_user("x", admin="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        mgr.get_error_description(0x80200001, "en-US")  # type: ignore[arg-type]


def test_machine_quota_counts_exempt_users_jobs_bits_core_10_24(svc: BitsService) -> None:
    """docs/reference/readings.md#machine-quota (undocumented; our choice): jobs of exempt users count toward
    MaxJobsPerMachine, so a standard user's job after 300 admin jobs → 0x80200050; the admin goes on."""
    admin = svc.connect(svc.logon(svc.add_user("bob", admin=True)).elevated_token)
    for i in range(300):
        admin.create_job(f"a{i}", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as exc:
        svc.connect().create_job("user", JobType.DOWNLOAD)
    assert exc.value.hresult == BG_E_TOO_MANY_JOBS_PER_MACHINE
    admin.create_job("a300", JobType.DOWNLOAD)


def test_iterating_an_enumerator_fetches_in_chunks_emulator_choice(
    svc: BitsService, caplog: pytest.LogCaptureFixture
) -> None:
    """Emulator choice (issue 8): a Python loop over an enumerator asks Next for 64 items at a time, as a
    COM client fetching in chunks does; a chunk shorter than asked for is the end (S_FALSE), so 150 jobs
    take three Next calls, a single job one, and every job comes once, in creation order. (An elevated
    administrator, whom the 60-jobs-per-user quota does not bind.)"""
    import logging

    mgr = svc.connect(svc.logon(svc.add_user("admin", admin=True)).elevated_token)
    ids = [mgr.create_job(f"j{i}", JobType.DOWNLOAD)[0] for i in range(150)]
    caplog.set_level(logging.DEBUG, logger="emulator.calls")
    assert [j.get_id() for j in mgr.enum_jobs()] == ids
    nexts = [r for r in caplog.records if getattr(r, "bits_method", "") == "IEnumBackgroundCopyJobs::Next"]
    assert len(nexts) == 3
    caplog.clear()
    with BitsService() as other:
        m = other.connect()
        only, _ = m.create_job("one", JobType.DOWNLOAD)
        assert [j.get_id() for j in list(m.enum_jobs())] == [only]
    assert [getattr(r, "bits_method", "") for r in caplog.records if r.name == "emulator.calls"].count(
        "IEnumBackgroundCopyJobs::Next"
    ) == 1


def test_queryinterface_on_an_enumerator_is_the_same_enumerator(svc: BitsService) -> None:
    """QueryInterface hands out another pointer to the same object
    (https://learn.microsoft.com/en-us/windows/win32/api/unknwn/nf-unknwn-iunknown-queryinterface(refiid_void)):
    Next through either pointer moves the one position; Clone (IEnumBackgroundCopyJobs::Clone page) makes a
    new enumerator whose position is its own. The same holds for file enumerators."""
    from emulator.constants import IEnumBackgroundCopyFiles, IEnumBackgroundCopyJobs

    mgr = svc.connect()
    for i in range(4):
        mgr.create_job(f"j{i}", JobType.DOWNLOAD)
    e = mgr.enum_jobs()
    again = e.query_interface(IEnumBackgroundCopyJobs)
    assert [j.get_display_name() for j in e.next(1)] == ["j0"]
    assert [j.get_display_name() for j in again.next(1)] == ["j1"]
    clone = again.clone()
    assert [j.get_display_name() for j in e.next(1)] == ["j2"]
    assert [j.get_display_name() for j in clone.next(5)] == ["j2", "j3"]
    again.reset()
    assert [j.get_display_name() for j in e.next(1)] == ["j0"]

    _, job = mgr.create_job("files", JobType.DOWNLOAD)
    job.add_file_set([("http://server/a", "C:\\d\\a"), ("http://server/b", "C:\\d\\b")])
    files = job.enum_files()
    other = files.query_interface(IEnumBackgroundCopyFiles)
    assert [f.get_remote_name() for f in files.next(1)] == ["http://server/a"]
    assert [f.get_remote_name() for f in other.next(1)] == ["http://server/b"]
    assert files.next(1) == []


# The BITS codes bitsmsg.h defines, written out from the table of
# https://learn.microsoft.com/en-us/windows/win32/bits/bits-return-values and docs/reference/return-codes.md:
# 0x80200001–0x80200076 without the unused ranges 0x2F–0x3D, 0x4A–0x4F, 0x5A–0x5F and the low words that
# are success codes (BG_S_* 0x06, 0x17, 0x1A, 0x2A, 0x55).
_UNUSED_BITS_LOW_WORDS = {0x06, 0x17, 0x1A, 0x2A, 0x55, *range(0x2F, 0x3E), *range(0x4A, 0x50), *range(0x5A, 0x60)}
BITS_ERROR_CODES = [0x80200000 + low for low in range(0x01, 0x77) if low not in _UNUSED_BITS_LOW_WORDS]
BITS_SUCCESS_CODES = [0x00200006, 0x00200017, 0x0020001A, 0x0020002A, 0x00200055]


def test_every_bits_code_has_an_english_description(svc: BitsService) -> None:
    """GetErrorDescription page (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopymanager-geterrordescription):
    each of the 86 BG_E_* codes and 5 BG_S_* codes has a message text, returned followed by CRLF."""
    assert len(BITS_ERROR_CODES) == 86
    mgr = svc.connect()
    for code in [*BITS_ERROR_CODES, *BITS_SUCCESS_CODES]:
        desc = mgr.get_error_description(code, 0x0409)
        assert desc.endswith("\r\n") and desc.strip(), hex(code)
