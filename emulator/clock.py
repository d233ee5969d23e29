"""Where "now" comes from.

The default clock reads ``time.time()`` on every call, through the module attribute, so freezegun and
time-machine move the emulator together with the test. BITS timers (retry delay, no-progress timeout,
inactivity, maximum download time) are all measured on this clock, never on ``time.monotonic`` —
a frozen monotonic clock would otherwise hang or stall them (docs/design.md#time).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from functools import partial
from operator import methodcaller
from typing import Protocol

NS = 1_000_000_000  # simulated time is counted in integer nanoseconds: no rate or date loses a byte
LAST_NS = 253_402_300_799 * NS  # 9999-12-31T23:59:59Z, the last instant a datetime can show
_call_time_ns = methodcaller("time_ns")


class Clock(Protocol):
    def time(self) -> float:
        """Seconds since the Unix epoch, UTC."""
        ...


def to_ns(seconds: float | int | Fraction) -> int:
    """Seconds → integer nanoseconds, exactly for ints and Fractions, to the nearest ns for floats."""
    if type(seconds) is not float:  # (the records' timestamps are floats: for them, this one test)
        if isinstance(seconds, bool):
            raise TypeError("seconds must be a number, not bool")
        if isinstance(seconds, int):
            return seconds * NS
        if not isinstance(seconds, float):
            return round(Fraction(seconds) * NS)
    if not math.isfinite(seconds):
        raise ValueError(f"{seconds} is not a finite number of seconds")
    # the float's exact value as a fraction, rounded half up to the nanosecond, in integers only
    num, den = seconds.as_integer_ratio()
    return (2 * num * NS + den) // (2 * den)


def exact(value: float | int | Fraction | Decimal) -> Fraction:
    """A user's number as an exact fraction: 0.1 means one tenth, not the nearest binary float (a Decimal is
    exact already: Fraction takes it as it is)."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite number")
        return Fraction(repr(value))
    return Fraction(value)


def reader_ns(clock: Clock) -> Callable[[], int]:
    """How to read ``clock`` in nanoseconds: its own ``time_ns`` when it has one (freezegun and
    time-machine patch ``time.time_ns`` too), else its seconds converted."""
    if type(clock) is SystemClock:
        # ``time.time_ns`` looked up on the module at each reading (freezegun and time-machine replace it
        # there), by two C calls rather than SystemClock.time_ns's Python frame: the catch-up of every API
        # call and every job write read the clock.
        return partial(_call_time_ns, time)
    read = getattr(clock, "time_ns", None)
    if callable(read):
        return read  # type: ignore[no-any-return]
    return lambda: to_ns(clock.time())


class SystemClock:
    """Wall time, as the test sees it (frozen or travelling when the test says so)."""

    def time(self) -> float:
        return time.time()

    def time_ns(self) -> int:
        return time.time_ns()

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when told to; for tests that want explicit control."""

    def __init__(self, start: datetime | float | None = None) -> None:
        if start is None:
            self._ns = _datetime_ns(datetime(2026, 1, 1, tzinfo=UTC))
        elif isinstance(start, datetime):
            self._ns = _datetime_ns(start)
        elif isinstance(start, (int, float, Fraction)) and not isinstance(start, bool):
            self._ns = to_ns(exact(start))
        else:
            raise TypeError(f"ManualClock start must be a datetime or seconds, not {type(start).__name__}")
        # The net ns ``set`` moved the clock by: a change of the system clock, not time passing — BITS' retry
        # delays and timeouts keep what remained of them (docs/reference/readings.md#clock-forward).
        self.jumps_ns = 0

    def time(self) -> float:
        return self._ns / NS

    def time_ns(self) -> int:
        return self._ns

    def advance(self, seconds: float | int | Fraction) -> None:
        """Move forward by ``seconds`` (exact: 0.1 is one tenth of a second)."""
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float, Fraction)):
            raise TypeError(
                f"seconds must be a number (an int, a float or a fractions.Fraction), not {type(seconds).__name__}"
            )
        step = exact(seconds)  # ValueError for NaN and infinities, before anything moves
        if step < 0:
            raise ValueError("a clock does not run backwards")
        if self._ns + to_ns(step) > LAST_NS:  # times are shown as datetimes: year 9999 at most
            raise ValueError(f"advance({seconds!r}) would move the clock past the year 9999")
        self._ns += to_ns(step)

    def set(self, when: datetime) -> None:
        """Set the clock to ``when``, as a user changes the system clock: the emulator's timers keep what
        remained of them (``advance`` is time passing)."""
        new = _datetime_ns(when)
        self.jumps_ns += new - self._ns
        self._ns = new

    def __repr__(self) -> str:
        return f"ManualClock({to_datetime(self._ns / NS).isoformat()})"


def _datetime_ns(when: datetime) -> int:
    if not isinstance(when, datetime):
        raise TypeError(f"expected a datetime, not {type(when).__name__}")
    if when.tzinfo is None:
        raise ValueError("ManualClock needs an aware datetime (naive times are ambiguous)")
    delta = when - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * NS + delta.microseconds * 1000


class SimTime:
    """The simulation's "now" in integer nanoseconds, shared by the queue (timestamps) and the scheduler.

    While the scheduler replays events (``running``) "now" is the simulated instant; otherwise it is the
    clock's time, or the simulation's when ``run_until_idle`` took it past a clock that does not move by
    itself.
    """

    __slots__ = ("clock", "clock_ns", "running", "sim_ns")

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.clock_ns = reader_ns(clock)
        self.sim_ns = self.clock_ns()
        self.running = False

    def now_ns(self) -> int:
        if self.running:
            return self.sim_ns
        now = self.clock_ns()
        if now > self.sim_ns:
            # "Now" never goes back: what the next catch-up replays starts here, not at the instant of the
            # last one. A clock that moves by itself (the wall clock) has moved since that catch-up, and a
            # write stamped now followed by events stamped at the older instant would put the history out of
            # order (a job CONNECTING before it was QUEUED).
            self.sim_ns = now
            return now
        return self.sim_ns

    def time(self) -> float:
        """Seconds since the epoch, for the timestamps records keep."""
        # ``now_ns`` written out: every job write reads it (issue 8: Python calls per API call)
        if self.running:
            return self.sim_ns / NS
        now = self.clock_ns()
        if now > self.sim_ns:
            self.sim_ns = now  # never back (see now_ns)
            return now / NS
        return self.sim_ns / NS


def to_datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)
