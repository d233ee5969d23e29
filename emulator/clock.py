"""Where "now" comes from.

The default clock reads ``time.time()`` on every call, through the module attribute, so freezegun and
time-machine move the emulator together with the test. BITS timers (retry delay, no-progress timeout,
inactivity, maximum download time) are all measured on this clock, never on ``time.monotonic`` —
a frozen monotonic clock would otherwise hang or stall them (notes/python-libraries.md §3.5).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Protocol

LAST_INSTANT = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()  # FILETIME shown as a datetime


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the Unix epoch, UTC."""
        ...


class SystemClock:
    """Wall time, as the test sees it (frozen or travelling when the test says so)."""

    def time(self) -> float:
        return time.time()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to; for tests that want explicit control."""

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            self._now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
        elif isinstance(start, datetime):
            if start.tzinfo is None:
                raise ValueError("ManualClock needs an aware datetime (naive times are ambiguous)")
            self._now = start.timestamp()
        else:
            self._now = float(start)

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        from .com.args import seconds as checked  # TypeError / ValueError for NaN, inf, negative

        now = self._now + checked(seconds)
        if now > LAST_INSTANT:
            raise ValueError(f"advance({seconds!r}) would move the clock past {to_datetime(LAST_INSTANT)}")
        self._now = now

    def set(self, when: datetime) -> None:
        if when.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = when.timestamp()

    def __repr__(self) -> str:
        return f"ManualClock({to_datetime(self._now).isoformat()})"


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
