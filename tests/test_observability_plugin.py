"""The pytest plugin's marker, strict network, log capture and timeline of failing tests (pytester).

All emulator choices, documented in docs/observability.md and the README's "pytest plugin" section.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]


def test_marker_takes_the_profile_positionally_and_rejects_unknown_arguments(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from pathlib import Path
        from emulator import ManualClock

        CLOCK = ManualClock(1_000_000.0)

        @pytest.mark.bits("pre-1607")
        def test_positional(bits_service):
            assert bits_service.profile.name == "win10-1511"

        @pytest.mark.bits(profile="win8.1", clock=CLOCK, seed=3)
        def test_keywords(bits_service):
            assert bits_service.profile.name == "win8.1"
            assert bits_service.clock is CLOCK

        @pytest.mark.bits(clock="manual")
        def test_manual_clock(bits_service):
            assert isinstance(bits_service.clock, ManualClock)
            bits_service.advance(5)

        @pytest.mark.bits(profle="pre-1607")
        def test_typo(bits_service):
            pass

        @pytest.mark.bits("pre-1607", "win11")
        def test_two_profiles(bits_service):
            pass

        @pytest.mark.bits("pre-1607", profile="win11")
        def test_profile_twice(bits_service):
            pass

        @pytest.mark.bits("windows-95")
        def test_unknown_profile(bits_service):
            pass

        def test_state_under_tmp_path(bits_service, tmp_path):
            assert bits_service.filesystem.drive_root == tmp_path / "bits" / "drives"
            bits_service.filesystem.makedirs("C:\\\\data")
            assert (tmp_path / "bits" / "drives" / "C" / "data").is_dir()
            assert bits_service.network.strict

        @pytest.mark.bits(database="store.db")
        def test_relative_database_under_tmp_path(bits_service, tmp_path):
            bits_service.connect().create_job("kept", 0)
            assert (tmp_path / "bits" / "store.db").exists()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers")
    result.assert_outcomes(passed=5, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*@pytest.mark.bits: unknown argument(s) profle; it takes profile, database, clock, seed, "
            "helper_token_choices, group_policy, strict*",
            "*@pytest.mark.bits takes one positional argument, the profile: ('pre-1607', 'win11')*",
            "*@pytest.mark.bits: the profile is given both positionally and as profile=*",
            "*@pytest.mark.bits: *windows-95*",
        ]
    )


def test_strict_network_fails_the_test_and_the_report_has_logs_and_a_timeline(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        from emulator import JobState

        def job_for(svc, url):
            svc.network.register("http://server/a.bin", b"x" * 100)
            svc.filesystem.makedirs("C:\\\\dl")
            _, job = svc.connect().create_job("nightly", 0)
            job.add_file(url, "C:\\\\dl\\\\a.bin")
            job.resume()
            return job

        @pytest.mark.bits(clock="manual")
        def test_typo_in_host(bits_service):
            job = job_for(bits_service, "http://srever/a.bin")
            bits_service.advance(5)
            assert job.get_state() is JobState.TRANSIENT_ERROR  # passes, but strict mode fails the test

        @pytest.mark.bits(clock="manual", strict=False)
        def test_typo_allowed(bits_service):
            job = job_for(bits_service, "http://srever/a.bin")
            bits_service.advance(5)
            assert job.get_state() is JobState.TRANSIENT_ERROR

        @pytest.mark.bits(clock="manual")
        def test_wrong_expectation(bits_service):
            job = job_for(bits_service, "http://server/a.bin")
            bits_service.advance(5)
            assert job.get_state() is JobState.QUEUED
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2)
    out = result.stdout.str()
    result.stdout.fnmatch_lines(
        [
            "*UnregisteredURLError: jobs requested URLs whose host is not registered on the fake network*",
            "*http://srever/a.bin (1 request)*",
            "*registered URLs:*",
            "*http://server/a.bin*",
        ]
    )
    # pytest's log capture shows the calls, state changes and requests of the failing test.
    assert "User IBackgroundCopyJob::Resume job 'nightly' -> S_OK (0x00000000)" in out
    assert "SUSPENDED -> QUEUED" in out
    assert "GET http://server/a.bin (bytes=0-) for job 'nightly' -> HTTP 200" in out
    # ... and the timeline, as a file under the test's tmp_path and as text.
    assert "bits timeline" in out
    svgs = re.findall(r"^(/\S+/bits/timeline\.svg)$", out, re.MULTILINE)
    assert len(svgs) == 2
    for svg in svgs:
        texts = "".join(ET.parse(svg).getroot().itertext())
        assert "nightly" in texts and "SUSPENDED" in texts
    assert "'nightly' {" in out and "SUSPENDED@0 s -> QUEUED@0 s -> CONNECTING@0 s" in out


def test_log_level_ini_option(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nbits_log_level = INFO\n")
    pytester.makepyfile(
        """
        import logging

        def test_level(bits_service):
            assert logging.getLogger("emulator").level == logging.INFO
            assert not logging.getLogger("emulator.calls").isEnabledFor(logging.DEBUG)

        def test_restored():
            assert logging.getLogger("emulator").level == logging.NOTSET
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)


def test_plugin_module_stays_import_light() -> None:
    """The plugin imports nothing of the emulator at load time (pytest-cov measures it otherwise)."""
    source = Path(__file__).parents[1].joinpath("emulator", "pytest_plugin.py").read_text()
    top_level = [line for line in source.splitlines() if line.startswith(("import ", "from "))]
    assert all(".service" not in line and "drawsvg" not in line for line in top_level)
