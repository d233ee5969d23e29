"""Shared fixtures for the project's own tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from emulator import BitsService, ManualClock


@pytest.fixture
def svc() -> Iterator[BitsService]:
    with BitsService() as service:
        yield service


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
