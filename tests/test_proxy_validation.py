"""Proxy settings are validated at transfer time (IBackgroundCopyJob::SetProxySettings,
https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-setproxysettings:
"The proxy information you provide is validated at run time. If the proxy information is invalid, the job
enters the BG_JOB_STATE_ERROR state with a BG_E_INVALID_PROXY_INFO error code"; T13 of
docs/reference/states.md). What counts as invalid is the emulator's reading
(docs/reference/readings.md#proxy-validation)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emulator import BitsError, BitsService, ErrorContext, Job, JobState, JobType, ProxyUsage

pytestmark = pytest.mark.svc(clock="manual")

BG_E_INVALID_PROXY_INFO = 0x8020003F
E_INVALIDARG = 0x80070057

INVALID = [
    ("ftp=p:80", None),  # a protocol other than HTTP and HTTPS
    ("ftp://p:80", None),
    ("http://p:notaport", None),  # a port that is not a number
    ("p:0", None),
    ("p:65536", None),  # ports are 1-65535
    ("%%%", None),  # not a server name
    ("http=", None),
    ("", None),  # OVERRIDE with no proxy at all
    ("   ", None),
    ("proxy:80", "aaa.*"),  # "Wildcard characters must be the left-most characters in the name"
    ("proxy:80", "a%b"),
]

VALID = [
    ("proxy:8080", None),
    ("http=http://proxy:80", "<local>"),
    ("http=http://hp:80 https=https://sp:443 other", "*.microsoft.com *.org <LOCAL>"),
    ("HTTPS://proxy.example.com", None),
    ("[::1]:3128 10.0.0.1:80", "*.example.com * 10.0.0.2"),
    ("a:1;b:2", None),  # WinHTTP's ";" separator
]


def _run(svc: BitsService, tmp_path: Path, proxy: str, bypass: str | None, name: str = "p") -> Job:
    svc.network.register("http://srv/a", b"a" * 100, rate=100)
    _, job = svc.connect().create_job(name, JobType.DOWNLOAD)
    job.set_proxy_settings(ProxyUsage.OVERRIDE, proxy, bypass)  # accepted: validated at run time
    job.add_file("http://srv/a", str(tmp_path / name))
    job.resume()
    svc.run_until_idle()
    return job


@pytest.mark.parametrize(("proxy", "bypass"), INVALID)
def test_invalid_proxy_information_fails_the_job_at_transfer_time(
    svc: BitsService, tmp_path: Path, proxy: str, bypass: str | None
) -> None:
    job = _run(svc, tmp_path, proxy, bypass)
    assert job.get_state() is JobState.ERROR
    error = job.get_error()
    assert error.get_error() == (ErrorContext.GENERAL_TRANSPORT, BG_E_INVALID_PROXY_INFO)
    assert error.get_file().get_remote_name() == "http://srv/a"
    assert job.get_error_count() == 1
    assert list(svc.network.requests) == []  # nothing was sent
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(("proxy", "bypass"), VALID)
def test_valid_proxy_information_transfers(svc: BitsService, tmp_path: Path, proxy: str, bypass: str | None) -> None:
    job = _run(svc, tmp_path, proxy, bypass)
    assert job.get_state() is JobState.TRANSFERRED


def test_fixing_the_settings_and_resuming_transfers(svc: BitsService, tmp_path: Path) -> None:
    """The ERROR is fatal (T13); after SetProxySettings with a good list, Resume (T4) transfers."""
    job = _run(svc, tmp_path, "ftp=p:80", None)
    assert job.get_state() is JobState.ERROR
    job.set_proxy_settings(ProxyUsage.NO_PROXY)
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED


def test_other_usages_never_validate_lists(svc: BitsService, tmp_path: Path) -> None:
    """PRECONFIG, NO_PROXY and AUTODETECT take no lists, so nothing can be invalid at run time."""
    for usage in (ProxyUsage.PRECONFIG, ProxyUsage.NO_PROXY, ProxyUsage.AUTODETECT):
        svc.network.register("http://srv/a", b"a")
        _, job = svc.connect().create_job("u", JobType.DOWNLOAD)
        job.set_proxy_settings(usage)
        job.add_file("http://srv/a", str(tmp_path / f"u{int(usage)}"))
        job.resume()
        svc.run_until_idle()
        assert job.get_state() is JobState.TRANSFERRED


def test_smb_sources_use_no_proxy(svc: BitsService, tmp_path: Path) -> None:
    """A proxy is an HTTP matter: a file:// / UNC source transfers whatever the proxy list says."""
    src = tmp_path / "src"
    src.write_bytes(b"local")
    _, job = svc.connect().create_job("smb", JobType.DOWNLOAD)
    job.set_proxy_settings(ProxyUsage.OVERRIDE, "%%%", None)
    job.add_file(src.as_uri(), str(tmp_path / "dst"))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED


def test_uploads_validate_the_proxy_too(svc: BitsService, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.write_bytes(b"up")
    endpoint = svc.network.register("http://srv/up", upload=True)
    _, job = svc.connect().create_job("up", JobType.UPLOAD)
    job.set_proxy_settings(ProxyUsage.OVERRIDE, "ftp=p:80", None)
    job.add_file("http://srv/up", str(src))
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.GENERAL_TRANSPORT, BG_E_INVALID_PROXY_INFO)
    assert endpoint.received is None


def test_what_set_proxy_settings_itself_refuses_is_unchanged(svc: BitsService) -> None:
    """SetProxySettings page: E_INVALIDARG only for a NULL list with OVERRIDE (and, emulator choice,
    docs/reference/readings.md#proxy-usage-lists, for lists with another usage); a bad list is accepted."""
    _, job = svc.connect().create_job("s", JobType.DOWNLOAD)
    with pytest.raises(BitsError) as exc:
        job.set_proxy_settings(ProxyUsage.OVERRIDE, None, None)
    assert exc.value.hresult == E_INVALIDARG
    job.set_proxy_settings(ProxyUsage.OVERRIDE, "ftp=p:80", "aaa.*")
    assert job.get_proxy_settings() == (ProxyUsage.OVERRIDE, "ftp=p:80", "aaa.*")
