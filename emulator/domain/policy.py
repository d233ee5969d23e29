"""BITS Group Policy settings: values in, decisions out (docs/reference/limits.md#group-policy).

A ``GroupPolicy`` holds what an administrator configured under Computer Configuration > Administrative
Templates > Network > Background Intelligent Transfer Service; a field left ``None`` is "not configured",
and BITS then uses the default (https://learn.microsoft.com/en-us/windows/win32/bits/group-policies:
"If the policy value is not set, BITS uses the default policy value"). Value ranges are those of the
Policy CSP (https://learn.microsoft.com/en-us/windows/client-management/mdm/policy-csp-bits).

Nothing here knows about jobs or the scheduler: the service layer reads the quotas, the scheduler the
timers and the bandwidth limit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from ..clock import NS

BYTES_PER_KBPS: Final = Fraction(1000, 8)  # a kilobit per second is 1,000 bits: 125 bytes each second
MIN_KBPS: Final = 2  # "BITS uses approximately two kilobits if you specify a value less than two kilobits"
MAX_KBPS: Final = 4_294_967_200  # BandwidthThrottlingTransferRate: Range [0-4294967200] (Policy CSP)
MAX_INACTIVITY_DAYS: Final = 999  # JobInactivityTimeout: Range [1-999] (Policy CSP)
MAX_DWORD: Final = 0xFFFF_FFFF
HOUR_NS: Final = 3600 * NS
DAY_NS: Final = 24 * HOUR_NS


def _check_int(name: str, value: object, low: int, high: int) -> int:
    """A policy value: an int (never a bool) within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, not {value}")
    return value


def bytes_per_second(kbps: int | None) -> Fraction | None:
    """A limit in kilobits per second as an exact rate in bytes per second; ``None``: no limit.

    0 stays 0 (transfers are blocked, T19); 1 is raised to 2 kbps, as BITS does for values under two
    kilobits (group policies page)."""
    if kbps is None:
        return None
    if kbps == 0:
        return Fraction(0)
    return max(kbps, MIN_KBPS) * BYTES_PER_KBPS


@dataclass(frozen=True, slots=True)
class BandwidthLimit:
    """MaxInternetBandwidth: ``kbps`` for background transfers from ``start_hour`` to ``end_hour``, and
    ``outside_kbps`` at all other times (``None``: "use all available unused bandwidth").

    Hours are whole hours of the 24-hour clock, 0..23 (BandwidthThrottlingStartTime / EndTime, Policy CSP).
    The window is [start_hour, end_hour); a start after the end wraps past midnight (22 → 6 is the night),
    and a start equal to the end makes the window the whole day (emulator choice,
    docs/reference/readings.md#bandwidth-window). The hours are read in UTC on the service clock
    (docs/reference/readings.md#bandwidth-utc)."""

    start_hour: int
    end_hour: int
    kbps: int
    outside_kbps: int | None = None

    def __post_init__(self) -> None:
        _check_int("start_hour", self.start_hour, 0, 23)
        _check_int("end_hour", self.end_hour, 0, 23)
        _check_int("kbps", self.kbps, 0, MAX_KBPS)
        if self.outside_kbps is not None:
            _check_int("outside_kbps", self.outside_kbps, 0, MAX_KBPS)

    def in_window(self, at_ns: int) -> bool:
        """Whether the instant ``at_ns`` (ns since the epoch, UTC) falls in the limited window."""
        start, end = self.start_hour * HOUR_NS, self.end_hour * HOUR_NS
        of_day = at_ns % DAY_NS
        if start == end:
            return True
        if start < end:
            return start <= of_day < end
        return of_day >= start or of_day < end  # the window wraps past midnight

    def rate_at(self, at_ns: int) -> Fraction | None:
        """The cap on background transfers at ``at_ns``, in bytes per second (``None``: none, 0: blocked)."""
        return bytes_per_second(self.kbps if self.in_window(at_ns) else self.outside_kbps)

    def next_change(self, at_ns: int) -> int | None:
        """The first window boundary after ``at_ns`` (``None``: a whole-day window never changes)."""
        if self.start_hour == self.end_hour:
            return None
        day = at_ns - at_ns % DAY_NS
        of_day = at_ns - day
        edges = sorted((self.start_hour * HOUR_NS, self.end_hour * HOUR_NS))
        for edge in edges:
            if edge > of_day:
                return day + edge
        return day + DAY_NS + edges[0]


@dataclass(frozen=True, slots=True)
class GroupPolicy:
    """The BITS group policies; every field ``None`` (the default) is "not configured".

    - ``max_jobs_per_user``, ``max_jobs_per_machine``, ``max_files_per_job``, ``max_ranges_per_file``:
      the BITS 3.0 quotas (defaults 60, 300, 200, 500), which bind users other than administrators and
      service accounts;
    - ``job_inactivity_timeout``: JobInactivityTimeout, in days (1..999; default 90);
    - ``max_download_time``: MaxDownloadTime, in seconds (default 7,776,000, 90 days); a job's
      SetMaximumDownloadTime overrides it;
    - ``max_internet_bandwidth``: MaxInternetBandwidth, a ``BandwidthLimit`` for background jobs.
    """

    max_jobs_per_user: int | None = None
    max_jobs_per_machine: int | None = None
    max_files_per_job: int | None = None
    max_ranges_per_file: int | None = None
    job_inactivity_timeout: int | None = None
    max_download_time: int | None = None
    max_internet_bandwidth: BandwidthLimit | None = None

    def __post_init__(self) -> None:
        for name in ("max_jobs_per_user", "max_jobs_per_machine", "max_files_per_job", "max_ranges_per_file"):
            value = getattr(self, name)
            if value is not None:
                _check_int(name, value, 0, MAX_DWORD)
        if self.job_inactivity_timeout is not None:
            _check_int("job_inactivity_timeout", self.job_inactivity_timeout, 1, MAX_INACTIVITY_DAYS)
        if self.max_download_time is not None:
            _check_int("max_download_time", self.max_download_time, 1, MAX_DWORD)
        limit = self.max_internet_bandwidth
        if limit is not None and not isinstance(limit, BandwidthLimit):
            raise TypeError(f"max_internet_bandwidth must be a BandwidthLimit, not {type(limit).__name__}")


# The one written form of a policy (a file store keeps the machine's policy in its settings, written and read
# by transfer/scheduler.py, docs/ARCHITECTURE.md#machine): JSON of the configured fields only,
# MaxInternetBandwidth as an object of its four fields. Reading it back goes through the constructors, so a
# stored value out of range or of a wrong type is refused as a policy given in Python would be.
_POLICY_FIELDS: Final = (
    "max_jobs_per_user",
    "max_jobs_per_machine",
    "max_files_per_job",
    "max_ranges_per_file",
    "job_inactivity_timeout",
    "max_download_time",
)
_LIMIT_FIELDS: Final = ("start_hour", "end_hour", "kbps", "outside_kbps")


def policy_to_json(policy: GroupPolicy) -> str:
    """``policy`` as compact JSON: ``{}`` configures nothing (``GroupPolicy()``)."""
    out: dict[str, object] = {n: getattr(policy, n) for n in _POLICY_FIELDS if getattr(policy, n) is not None}
    limit = policy.max_internet_bandwidth
    if limit is not None:
        out["max_internet_bandwidth"] = {name: getattr(limit, name) for name in _LIMIT_FIELDS}
    return json.dumps(out, sort_keys=True, separators=(",", ":"))


def policy_from_json(text: str) -> GroupPolicy:
    """The policy ``policy_to_json`` wrote. ValueError for text that is no such policy (an unknown field, a
    value out of range); TypeError for a value of the wrong type."""
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"a group policy is a JSON object, not {type(data).__name__}")
    unknown = data.keys() - {*_POLICY_FIELDS, "max_internet_bandwidth"}
    if unknown:
        raise ValueError(f"unknown group policy fields {sorted(unknown)}")
    fields = {name: data[name] for name in _POLICY_FIELDS if name in data}
    limit = data.get("max_internet_bandwidth")
    if limit is not None:
        if not isinstance(limit, dict) or limit.keys() - set(_LIMIT_FIELDS):
            raise ValueError(f"max_internet_bandwidth must be an object of {', '.join(_LIMIT_FIELDS)}")
        return GroupPolicy(**fields, max_internet_bandwidth=BandwidthLimit(**limit))
    return GroupPolicy(**fields)
