"""pytest plugin: a fresh BITS service per test, with a marker for the profile.

Import-light on purpose (docs/design.md#pytest-plugin): the package is imported inside fixtures, not at plugin load, so
pytest-cov measures it and users who never ask for the fixture pay nothing.

    @pytest.mark.bits(profile="pre-1607")
    def test_something(bits_service): ...
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .identity.cast import Cast
    from .service import BitsService


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
