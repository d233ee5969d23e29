"""The bandwidth group policies on the service clock: each background priority's cap now, and when it next changes.

MaxInternetBandwidth (BITS 2.0), EnableBandwidthLimits' work schedule and EnableMaintenanceLimits' maintenance
schedule (BITS 4.0) come together in ``domain.policy.BandwidthRules``, the one rule for "which cap binds a
background job of priority p now"; this window keeps the caps it gives for HIGH, NORMAL and LOW as of now. The
scheduler asks ``cap`` for a background job's rate when its transfer begins, and files ``next_at`` as a
timer beside its deadline heap, so a boundary (an hour edge, a day edge) is an event at its exact nanosecond,
never a poll. The group policies page (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies)
is the source.

"Changing the system clock does not affect the bandwidth limitation time interval ... To reflect the
system clock change in BITS, you must restart the computer or the BITS service" (same page): when the clock
goes back, the window keeps to the time it had (``skew``) until the service restarts. A clock moved forward
cannot be told apart from time passing, so the emulator treats it as time passing
(docs/reference/readings.md#bandwidth-utc). The schedules keep to the same clock.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Final

from ..domain.policy import BandwidthRules

NEVER: Final = 1 << 126  # the scheduler's "never" (an int: comparisons stay int-only)


Rates = tuple[Fraction | None, Fraction | None, Fraction | None, Fraction | None]
NO_CAPS: Final[Rates] = (None, None, None, None)
BACKGROUND: Final = (1, 2, 3)  # BG_JOB_PRIORITY HIGH, NORMAL, LOW


class BandwidthWindow:
    __slots__ = ("any_blocked", "capped", "next_at", "rates", "rules", "skew")

    def __init__(self) -> None:
        self.rules: BandwidthRules | None = None
        # bytes per second for each BG_JOB_PRIORITY (FOREGROUND's is always None); None: no cap; 0: blocked
        self.rates: Rates = NO_CAPS
        self.capped = False  # some background priority has a cap (the scheduler's one-comparison test)
        self.any_blocked = False  # some background priority's cap is 0 (T19)
        self.next_at = NEVER  # the next boundary, in simulated ns
        self.skew = 0  # ns the window's clock is ahead of the service clock (the clock went back)

    def blocks(self, priority: int) -> bool:
        """A limit of 0 for ``priority`` in the current interval: its background jobs may not transfer (T19)."""
        rate = self.rates[priority]
        return rate is not None and not rate

    def configure(self, rules: BandwidthRules | None, t: int) -> Rates:
        """New policies at ``t``; returns the caps that were in force before them."""
        self.rules = rules
        return self.update(t)

    def update(self, t: int) -> Rates:
        """The caps and the next boundary as of ``t``; returns the caps that were in force before."""
        old = self.rates
        rules = self.rules
        if rules is None:
            self.rates, self.next_at = NO_CAPS, NEVER
        else:
            at = t + self.skew
            self.rates = (None, rules.rate_at(1, at), rules.rate_at(2, at), rules.rate_at(3, at))
            nxt = rules.next_change(at)
            self.next_at = NEVER if nxt is None else nxt - self.skew
        self.capped = any(self.rates[p] is not None for p in BACKGROUND)
        self.any_blocked = any(self.blocks(p) for p in BACKGROUND)
        return old

    def cap(self, priority: int, source: Fraction | None) -> Fraction | None:
        """A transfer's rate at ``priority``: its source's, held to the cap (``None`` source: as fast as it goes)."""
        rate = self.rates[priority]
        if rate is None:
            return source
        if source is None:
            return rate
        return min(source, rate)

    def clock_went_back(self, back: int) -> None:
        self.skew += back
        if self.next_at < NEVER:
            self.next_at -= back

    def restarted(self, t: int) -> Rates:
        """A service restart takes the clock as it is now; returns the caps that were in force before."""
        self.skew = 0
        return self.update(t)
