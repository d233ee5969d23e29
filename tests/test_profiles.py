"""Windows profiles: names and aliases, BITS versions, interfaces present (docs/reference/interfaces.md;
issue 2)."""

from __future__ import annotations

import pytest

from emulator import (
    PROFILES,
    BitsError,
    BitsService,
    HelperTokenRules,
    IBackgroundCopyFile6,
    IBackgroundCopyJob,
    IBackgroundCopyJob4,
    IBackgroundCopyJob5,
    IBackgroundCopyJobHttpOptions2,
    IBackgroundCopyJobHttpOptions3,
    IBackgroundCopyManager,
    Job,
    JobType,
    Profile,
)

E_NOINTERFACE = 0x80004002

REQUIRED = ("win7", "win8.1", "win10-1511", "win10-1607", "win10-1809", "win11")


def test_profile_list_issue_2() -> None:
    """Issue 2: at least win7, win8.1, win10-1511, win10-1607, win10-1809, win11."""
    assert set(REQUIRED) <= set(PROFILES)
    for name in REQUIRED:
        with BitsService(name) as svc:
            assert svc.profile.name == name


@pytest.mark.parametrize(("alias", "target"), [("pre-1607", "win10-1511"), ("post-1607", "win11")])
def test_profile_aliases_issue_2(alias: str, target: str) -> None:
    """Issue 2: pre-1607 → win10-1511, post-1607 → win11; post-1607 is the default."""
    with BitsService(alias) as svc:
        assert svc.profile.name == target
    with BitsService() as svc:
        assert svc.profile.name == "win11"


def test_unknown_profile_lists_the_valid_ones_issue_2() -> None:
    """Issue 2: an unknown profile name is a clear error listing the valid ones."""
    with pytest.raises(ValueError, match="win10-3000") as exc:
        BitsService("win10-3000")
    for name in (*REQUIRED, "pre-1607", "post-1607"):
        assert name in str(exc.value)
    with pytest.raises(TypeError):
        BitsService(7)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "version", "rules"),
    [
        ("win7", (4, 0), HelperTokenRules.LEGACY),
        ("win8.1", (5, 0), HelperTokenRules.LEGACY),
        ("win10-1511", (5, 0), HelperTokenRules.LEGACY),
        ("win10-1607", (5, 0), HelperTokenRules.V1607),
        ("win10-1809", (10, 2), HelperTokenRules.V1607),
        ("win11", (10, 3), HelperTokenRules.V1607),
    ],
)
def test_profile_bits_version_and_helper_rules_bits_core_9_8(
    name: str, version: tuple[int, int], rules: HelperTokenRules
) -> None:
    """docs/reference/interfaces.md#versions (versions per release) and the rule sets of
docs/reference/security.md (LEGACY before 1607)."""
    p = PROFILES[name]
    assert isinstance(p, Profile)
    assert p.bits_version == version
    assert p.helper_rules is rules
    assert (p.max_jobs_per_user, p.max_jobs_per_machine, p.max_files_per_job) == (60, 300, 200)


def _job(profile: str) -> tuple[BitsService, Job]:
    svc = BitsService(profile)
    _, job = svc.connect().create_job("qi", JobType.DOWNLOAD)
    return svc, job


def test_qi_http_options3_on_win10_1607_is_e_nointerface_bits_core_1_1() -> None:
    """docs/reference/interfaces.md#interfaces: QI for an interface the version lacks → E_NOINTERFACE 0x80004002
    (HttpOptions3 is BITS 10.3; win10-1607 has 5.0)."""
    svc, job = _job("win10-1607")
    with svc:
        for iface in (IBackgroundCopyJobHttpOptions3, IBackgroundCopyJobHttpOptions2):
            with pytest.raises(BitsError) as exc:
                job.query_interface(iface)
            assert exc.value.hresult == E_NOINTERFACE
        assert isinstance(job.query_interface(IBackgroundCopyJob5), Job)


def test_qi_job5_on_win7_is_e_nointerface_bits_core_1_1() -> None:
    """docs/reference/interfaces.md#interfaces: IBackgroundCopyJob5 is BITS 5.0; win7 has 4.0 → E_NOINTERFACE
    0x80004002."""
    svc, job = _job("win7")
    with svc:
        with pytest.raises(BitsError) as exc:
            job.query_interface(IBackgroundCopyJob5)
        assert exc.value.hresult == E_NOINTERFACE
        with pytest.raises(BitsError) as exc:
            job.query_interface(str(IBackgroundCopyJob5.iid))
        assert exc.value.hresult == E_NOINTERFACE
        assert isinstance(job.query_interface(IBackgroundCopyJob4), Job)


def test_qi_on_win11_has_everything_bits_core_1_2() -> None:
    """docs/reference/interfaces.md#interfaces: win11 (BITS 10.3) answers every job interface; by IID or name too."""
    svc, job = _job("win11")
    with svc:
        for iface in (IBackgroundCopyJob, IBackgroundCopyJob5, IBackgroundCopyJobHttpOptions3):
            assert isinstance(job.query_interface(iface), Job)
        assert isinstance(job.query_interface(IBackgroundCopyJob5.iid), Job)
        assert isinstance(job.query_interface("IBackgroundCopyJob4"), Job)


def test_qi_for_an_interface_the_object_lacks_bits_core_1_2(svc: BitsService) -> None:
    """docs/reference/interfaces.md#interfaces: a job is not a manager or a file; an unknown IID → E_NOINTERFACE."""
    _, job = svc.connect().create_job("qi", JobType.DOWNLOAD)
    for iface in (IBackgroundCopyManager, IBackgroundCopyFile6, "00112233-4455-6677-8899-aabbccddeeff"):
        with pytest.raises(BitsError) as exc:
            job.query_interface(iface)
        assert exc.value.hresult == E_NOINTERFACE
    with pytest.raises(BitsError) as exc:
        svc.connect().query_interface(IBackgroundCopyJob)
    assert exc.value.hresult == E_NOINTERFACE
    with pytest.raises(TypeError):
        job.query_interface(5)  # type: ignore[call-overload]


@pytest.mark.parametrize("profile", ["win7", "win11"])
def test_the_peer_cache_administration_interface_is_not_emulated(profile: str) -> None:
    """docs/COVERAGE.md#interfaces-not-emulated: BITS 3.0 peer caching (IBitsPeerCacheAdministration, IID
    659cdead-489e-11d9-a9cd-000d56965251, https://learn.microsoft.com/en-us/windows/win32/bits/what-s-new) is
    not emulated: the manager answers E_NOINTERFACE, on every profile."""
    with BitsService(profile=profile) as svc, pytest.raises(BitsError) as exc:
        svc.connect().query_interface("659cdead-489e-11d9-a9cd-000d56965251")
    assert exc.value.hresult == E_NOINTERFACE
