"""The pytest plugin shipped through the pytest11 entry point (notes/python-libraries.md §3.6)."""

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
