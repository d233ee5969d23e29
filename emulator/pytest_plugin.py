"""pytest plugin: a fresh BITS service per test, with a marker for the profile.

Import-light on purpose (docs/design.md#pytest-plugin): the package is imported inside fixtures, not at plugin load, so
pytest-cov measures it and users who never ask for the fixture pay nothing.

    @pytest.mark.bits(profile="pre-1607")
    def test_something(bits_service): ...

It also collects scenario files (``scenario_*.toml``, ``bits_*.toml``; ini option
``bits_scenario_files``) as one test item per profile: docs/scenarios.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from fnmatch import fnmatch
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .identity.cast import Cast
    from .service import BitsService


SCENARIO_FILES = ["scenario_*.toml", "bits_*.toml"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "bits_scenario_files",
        type="args",
        default=SCENARIO_FILES,
        help="glob patterns of TOML scenario files collected as tests (default: scenario_*.toml bits_*.toml)",
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
    config.addinivalue_line("markers", "bits(profile=..., database=...): configure the bits_service fixture")


@pytest.fixture
def bits_service(request: pytest.FixtureRequest) -> Iterator[BitsService]:
    """A fresh in-memory BitsService; ``@pytest.mark.bits(profile=...)`` chooses the Windows profile."""
    from .service import BitsService

    marker = request.node.get_closest_marker("bits")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    with BitsService(**options) as service:
        yield service


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
