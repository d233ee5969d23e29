"""The pytest plugin shipped through the pytest11 entry point (import-light: docs/design.md#pytest-plugin)."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]


def test_bits_service_fixture_gives_each_test_a_fresh_service(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from emulator import JobType

        @pytest.mark.parametrize("n", [1, 2])
        def test_isolated(bits_manager, n):
            assert bits_manager.enum_jobs().get_count() == 0
            bits_manager.create_job(f"job {n}", JobType.DOWNLOAD)
            assert bits_manager.enum_jobs().get_count() == 1
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_bits_marker_selects_the_profile(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.bits(profile="pre-1607")
        def test_legacy(bits_service):
            assert bits_service.profile.name == "win10-1511"

        def test_default(bits_service):
            assert bits_service.profile.name == "win11"
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=2)


def test_bits_marker_gives_the_service_a_group_policy(pytester: pytest.Pytester) -> None:
    """``@pytest.mark.bits(group_policy=GroupPolicy(...))``: the policy in force from the start
    (docs/reference/limits.md#group-policy); MaxJobsPerUser of 1 (group policies page,
    https://learn.microsoft.com/en-us/windows/win32/bits/group-policies) refuses the second CreateJob of a user
    who is no administrator with BG_E_TOO_MANY_JOBS_PER_USER (0x80200049)."""
    pytester.makepyfile(
        """
        import pytest
        from emulator import BitsError, GroupPolicy, JobType

        @pytest.mark.bits(clock="manual", group_policy=GroupPolicy(max_jobs_per_user=1))
        def test_quota(bits_service):
            assert bits_service.group_policy == GroupPolicy(max_jobs_per_user=1)
            user = bits_service.add_user("bob")
            manager = bits_service.connect(bits_service.logon(user).token)
            manager.create_job("one", JobType.DOWNLOAD)
            with pytest.raises(BitsError) as e:
                manager.create_job("two", JobType.DOWNLOAD)
            assert e.value.hresult == 0x80200049
        """
    )
    pytester.runpytest("-p", "no:cacheprovider", "--strict-markers").assert_outcomes(passed=1)


def test_bits_cast_fixture_gives_the_spec_identities(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from emulator import BitsError, Blanket, Cloaking, IBitsTokenOptions, ImpersonationLevel, JobType

        IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)

        @pytest.mark.bits(profile="post-1607")
        def test_T09(bits_service, bits_cast):
            _, job = bits_service.connect(bits_cast.alice.token, blanket=IMP).create_job("j", JobType.DOWNLOAD)
            options = job.query_interface(IBitsTokenOptions)
            with bits_service.impersonate(bits_cast.hA), pytest.raises(BitsError) as e:
                options.set_helper_token()
            assert e.value.hresult == 0x80070005
            assert not bits_cast.bob_filtered.is_admin and bits_cast.bob_elevated.is_admin
            assert bits_cast.system.token.user_sid == "S-1-5-18"
            assert bits_cast.network_service.token.user_sid == "S-1-5-20"
            assert bits_cast.local_service.token.user_sid == "S-1-5-19"
            assert not bits_cast.hU.is_admin and bits_cast.hA.is_admin
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_the_bits_marker_refuses_a_group_policy_of_another_type(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.bits(group_policy=5)
        def test_wrong_type(bits_service):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.bits: group_policy must be a GroupPolicy, not int*"])


def test_the_bits_marker_names_the_clocks_it_takes(pytester: pytest.Pytester) -> None:
    """docs/observability.md (the bits marker): ``clock`` is "manual", a clock object or None; another string
    fails the test's set-up with a message naming them."""
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.bits(clock="wall")
        def test_wrong_clock(bits_service):
            pass
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        ['*@pytest.mark.bits: clock must be "manual", a clock object (ManualClock(*)) or None, not *wall*']
    )
