"""MaxInternetBandwidth on the service clock: the cap on background transfers now, and when it next changes.

The scheduler asks ``cap`` for a background job's rate when its transfer begins, and files ``next_at`` as a
timer beside its deadline heap, so a window boundary is an event at its exact nanosecond, never a poll. The
rule's values and window arithmetic are in ``domain/policy.py``; the group policies page
(https://learn.microsoft.com/en-us/windows/win32/bits/group-policies) is the source.

"Changing the system clock does not affect the bandwidth limitation time interval ... To reflect the
system clock change in BITS, you must restart the computer or the BITS service" (same page): when the clock
goes back, the window keeps to the time it had (``skew``) until the service restarts. A clock moved forward
cannot be told apart from time passing, so the emulator treats it as time passing
(docs/reference/readings.md#bandwidth-utc).
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from ..domain.policy import BandwidthLimit

NEVER: Final = 1 << 126  # the scheduler's "never" (an int: comparisons stay int-only)


class BandwidthWindow:
    __slots__ = ("limit", "next_at", "rate", "skew")

    def __init__(self) -> None:
        self.limit: BandwidthLimit | None = None
        self.rate: Fraction | None = None  # bytes per second for background jobs; None: no cap; 0: blocked
        self.next_at = NEVER  # the next boundary, in simulated ns
        self.skew = 0  # ns the window's clock is ahead of the service clock (the clock went back)

    @property
    def blocked(self) -> bool:
        """A limit of 0 for the current interval: background jobs may not transfer (T19)."""
        return self.rate is not None and not self.rate

    def configure(self, limit: BandwidthLimit | None, t: int) -> Fraction | None:
        """A new policy at ``t``; returns the cap that was in force before it."""
        self.limit = limit
        return self.update(t)

    def update(self, t: int) -> Fraction | None:
        """The cap and the next boundary as of ``t``; returns the cap that was in force before."""
        old = self.rate
        limit = self.limit
        if limit is None:
            self.rate, self.next_at = None, NEVER
            return old
        at = t + self.skew
        self.rate = limit.rate_at(at)
        nxt = limit.next_change(at)
        self.next_at = NEVER if nxt is None else nxt - self.skew
        return old

    def cap(self, source: Fraction | None) -> Fraction | None:
        """A background transfer's rate: its source's, held to the cap (``None`` source: as fast as it goes)."""
        rate = self.rate
        if rate is None:
            return source
        if source is None:
            return rate
        return min(source, rate)

    def clock_went_back(self, back: int) -> None:
        self.skew += back
        if self.next_at < NEVER:
            self.next_at -= back

    def restarted(self, t: int) -> Fraction | None:
        """A service restart takes the clock as it is now; returns the cap that was in force before."""
        self.skew = 0
        return self.update(t)
