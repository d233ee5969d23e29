"""pytest plugin: a fresh BITS service per test, a marker to configure it, and reports that say what happened.

Import-light on purpose: the package is imported inside fixtures and hooks, not at plugin load, so
pytest-cov measures it and users who never ask for the fixture pay nothing (pytest-cov issue 635).

    @pytest.mark.bits("pre-1607")                       # the profile, positionally or profile=...
    @pytest.mark.bits(profile="win8.1", clock="manual", strict=False)
    def test_something(bits_service): ...

Marker arguments: ``profile`` (also the one positional argument), ``database`` (a relative path is
placed under the test's ``tmp_path``), ``clock`` (a ``ManualClock`` instance, or ``"manual"`` for a fresh
one per test), ``seed``, ``helper_token_choices``, ``strict`` (default True: a request to a host that is
not registered on the fake network fails the test). Anything else is an error of the test.

Each test's service keeps its files under ``tmp_path / "bits"`` (the sandbox's drives, a file store
named relatively, and — when the test fails — ``timeline.svg`` and ``history.json``). While the fixture
is active the ``emulator`` logger is set to the ``bits_log_level`` ini option (default DEBUG), so
pytest's log capture shows every API call, state change and request of a failing test.

It also collects scenario files (``scenario_*.toml``, ``bits_*.toml``; ini option
``bits_scenario_files``) as one test item per profile: docs/scenarios.md.
"""

from __future__ import annotations

import logging
from collections.abc import Generator, Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .identity.cast import Cast
    from .service import BitsService

MARKER_ARGUMENTS = ("profile", "database", "clock", "seed", "helper_token_choices", "group_policy", "strict")
_SERVICE = pytest.StashKey["tuple[BitsService, Path]"]()


SCENARIO_FILES = ["scenario_*.toml", "bits_*.toml"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "bits_scenario_files",
        type="args",
        default=SCENARIO_FILES,
        help="glob patterns of TOML scenario files collected as tests (default: scenario_*.toml bits_*.toml)",
    )
    parser.addini(
        "bits_log_level",
        "level of the 'emulator' logger while a bits_service fixture is active (DEBUG: every API call; "
        "INFO: state changes, requests, callbacks; NONE: leave the logger alone)",
        default="DEBUG",
    )


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """Scenario files (docs/scenarios.md) become one test item per profile they name."""
    if file_path.suffix != ".toml":
        return None
    patterns = parent.config.getini("bits_scenario_files")
    if not any(fnmatch(file_path.name, pattern) for pattern in patterns):
        return None
    from .scenarios.pytest_items import ScenarioFile

    file: pytest.Collector = ScenarioFile.from_parent(parent, path=file_path)
    return file


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "bits(profile=None, *, database=None, clock=None, seed=0, helper_token_choices=None, group_policy=None, "
        "strict=True): "
        "configure the bits_service fixture (the profile may be given positionally)",
    )


def _marker_options(marker: pytest.Mark | None, base: Path) -> tuple[dict[str, Any], bool]:
    """BitsService keyword arguments and the strict flag from ``@pytest.mark.bits``; fails on bad ones."""
    if marker is None:
        return {}, True
    kwargs = dict(marker.kwargs)
    if len(marker.args) > 1:
        pytest.fail(f"@pytest.mark.bits takes one positional argument, the profile: {marker.args!r}", pytrace=False)
    if marker.args:
        if "profile" in kwargs:
            pytest.fail("@pytest.mark.bits: the profile is given both positionally and as profile=", pytrace=False)
        kwargs["profile"] = marker.args[0]
    unknown = sorted(set(kwargs) - set(MARKER_ARGUMENTS))
    if unknown:
        pytest.fail(
            f"@pytest.mark.bits: unknown argument(s) {', '.join(unknown)}; "
            f"it takes {', '.join(MARKER_ARGUMENTS)}",
            pytrace=False,
        )
    strict = kwargs.pop("strict", True)
    if not isinstance(strict, bool):
        pytest.fail(f"@pytest.mark.bits: strict must be True or False, not {strict!r}", pytrace=False)
    clock = kwargs.get("clock")
    if clock == "manual":
        from .clock import ManualClock

        kwargs["clock"] = ManualClock()
    elif isinstance(clock, str):
        pytest.fail(
            f'@pytest.mark.bits: clock must be "manual", a clock object (ManualClock(…)) or None, not {clock!r}',
            pytrace=False,
        )
    database = kwargs.get("database")
    if isinstance(database, (str, Path)) and not str(database).startswith("sqlite:"):
        path = Path(database)
        if not path.is_absolute():
            kwargs["database"] = base / path
    return kwargs, strict


@pytest.fixture
def bits_service(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BitsService]:
    """A fresh BitsService whose files live under ``tmp_path / "bits"``; ``@pytest.mark.bits`` configures it."""
    from .hresults import BitsError
    from .service import BitsService

    base = tmp_path / "bits"
    base.mkdir(exist_ok=True)
    options, strict = _marker_options(request.node.get_closest_marker("bits"), base)
    try:
        service = BitsService(root=base, **options)
    except (TypeError, ValueError, BitsError) as exc:
        pytest.fail(f"@pytest.mark.bits: {exc}", pytrace=False)
    service.network.strict = strict
    logger = logging.getLogger("emulator")
    previous = logger.level
    level = str(request.config.getini("bits_log_level")).upper()
    if level != "NONE":
        logger.setLevel(level)
    request.node.stash[_SERVICE] = (service, base)
    try:
        yield service
    finally:
        logger.setLevel(previous)
        service.close()


@pytest.fixture
def bits_manager(bits_service: BitsService) -> Any:
    """The manager as the service's default interactive user sees it."""
    return bits_service.connect()


@pytest.fixture
def bits_cast(bits_service: BitsService) -> Cast:
    """The identities of docs/reference/security.md#scenarios (alice, bob, charlie, hU, hA, SYS, NS, LS), logged on."""
    from .identity.cast import Cast

    return Cast.on(bits_service)


@pytest.fixture
def bits_pywin32(bits_service: BitsService) -> Iterator[Any]:
    """pywin32 312's BITS modules (pythoncom, win32com.bits …) bound to ``bits_service`` as one client
    process of its interactive user; ``sys.modules`` is restored after the test (docs/pywin32.md)."""
    from .compat.pywin32 import installed

    with installed(bits_service) as layer:
        yield layer


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    """Strict mode fails a test whose jobs asked for unregistered hosts; a failing test gets its timeline."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    entry = item.stash.get(_SERVICE, None)
    if report.when != "call" or entry is None:
        return
    service, base = entry
    network = service.network
    unregistered = network.unregistered_report() if network.strict else None
    if unregistered is not None:
        report.sections.append(("bits: unregistered URLs", unregistered))
        if report.passed:
            # Decided here, after the test body, rather than raised from the API call whose catch-up made
            # the request: that call may be unrelated, and an exception there would cut a catch-up short.
            report.outcome = "failed"
            report.longrepr = f"UnregisteredURLError: {unregistered}"
    if report.failed:
        try:
            svg = service.history.timeline(base / "timeline.svg", title=item.nodeid)
            saved = service.history.save(base / "history.json")
            text = f"{svg}\n{saved}\n{service.history.summary()}"
        except Exception as exc:  # a report must never hide the test's own failure
            text = f"the timeline could not be drawn: {exc!r}"
        report.sections.append(("bits timeline", text))
