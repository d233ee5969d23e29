"""A fake-network HTTPS server whose certificate the operating system's checks refuse, and SetSecurityFlags.

IBackgroundCopyJobHttpOptions::SetSecurityFlags
(https://learn.microsoft.com/en-us/windows/win32/api/bits2_5/nf-bits2_5-ibackgroundcopyjobhttpoptions-setsecurityflags):
BG_SSL_IGNORE_CERT_CN_INVALID, _CERT_DATE_INVALID, _UNKNOWN_CA and _CERT_WRONG_USAGE ignore those certificate
problems. A refused certificate fails the job as a loopback TLS server's does: ERROR, context GENERAL_TRANSPORT,
ERROR_WINHTTP_SECURE_FAILURE 0x80072F8F (emulator choice, docs/transfers.md). The server-certificate callback
runs "after the operating system's checks passed" (SetServerCertificateValidationInterface page), so a refused
certificate never reaches it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from emulator import BitsService, ErrorContext, Job, JobState, JobType, ManualClock, SecurityFlags

S = JobState
ERROR_WINHTTP_SECURE_FAILURE = 0x80072F8F
URL = "https://cdn.example.com/a.bin"
IGNORE = {
    "cn_invalid": SecurityFlags.SSL_IGNORE_CERT_CN_INVALID,
    "date_invalid": SecurityFlags.SSL_IGNORE_CERT_DATE_INVALID,
    "unknown_ca": SecurityFlags.SSL_IGNORE_UNKNOWN_CA,
    "wrong_usage": SecurityFlags.SSL_IGNORE_CERT_WRONG_USAGE,
}


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService(clock=ManualClock()) as service:
        yield service


def download(svc: BitsService, tmp_path: Path, flags: int = 0, name: str = "a.bin") -> Job:
    _, job = svc.connect().create_job("tls", JobType.DOWNLOAD)
    job.add_file(URL, str(tmp_path / name))
    job.set_security_flags(flags)
    job.resume()
    return job


@pytest.mark.parametrize("problem", sorted(IGNORE))
def test_a_refused_certificate_fails_the_job_unless_its_flag_ignores_it(
    svc: BitsService, tmp_path: Path, problem: str
) -> None:
    res = svc.network.register(URL, b"secret", certificate_errors=[problem])
    job = download(svc, tmp_path)
    assert job.get_state() is S.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_TRANSPORT, ERROR_WINHTTP_SECURE_FAILURE)
    assert error.get_protocol() == "http"
    assert res.requests == 0  # no request reached the server
    others = [flag for name, flag in IGNORE.items() if name != problem]
    assert download(svc, tmp_path, int(others[0] | others[1] | others[2]), "b.bin").get_state() is S.ERROR
    assert download(svc, tmp_path, int(IGNORE[problem]), "c.bin").get_state() is S.TRANSFERRED


def test_every_problem_must_be_ignored(svc: BitsService, tmp_path: Path) -> None:
    svc.network.register(URL, b"x", certificate_errors=("unknown_ca", "date_invalid"))
    assert download(svc, tmp_path, SecurityFlags.SSL_IGNORE_UNKNOWN_CA).get_state() is S.ERROR
    both = SecurityFlags.SSL_IGNORE_UNKNOWN_CA | SecurityFlags.SSL_IGNORE_CERT_DATE_INVALID
    assert download(svc, tmp_path, both, "b.bin").get_state() is S.TRANSFERRED


def test_a_test_may_repair_the_certificate(svc: BitsService, tmp_path: Path) -> None:
    res = svc.network.register(URL, b"x", certificate_errors={"cn_invalid"})
    assert download(svc, tmp_path).get_state() is S.ERROR
    res.certificate_errors = frozenset()
    assert download(svc, tmp_path, name="b.bin").get_state() is S.TRANSFERRED


def test_a_refused_certificate_never_reaches_the_validation_callback(svc: BitsService, tmp_path: Path) -> None:
    calls: list[Any] = []

    class Validator:
        def ValidateServerCertificate(self, *args: Any) -> int:
            calls.append(args)
            return 0

    svc.network.register(URL, b"x", certificate_errors=["unknown_ca"])
    _, job = svc.connect().create_job("cb", JobType.DOWNLOAD)
    job.set_server_certificate_validation_interface(Validator())
    job.add_file(URL, str(tmp_path / "a.bin"))
    job.resume()
    assert job.get_state() is S.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, ERROR_WINHTTP_SECURE_FAILURE)
    assert calls == []


def test_bad_input(svc: BitsService) -> None:
    with pytest.raises(ValueError, match="unknown certificate errors"):
        svc.network.register(URL, b"x", certificate_errors=["expired"])
    with pytest.raises(ValueError, match="https"):
        svc.network.register("http://cdn.example.com/a.bin", b"x", certificate_errors=["unknown_ca"])
    with pytest.raises(TypeError):
        svc.network.register(URL, b"x", certificate_errors="unknown_ca")
