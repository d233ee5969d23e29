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
from dataclasses import dataclass, fields
from enum import IntEnum
from fractions import Fraction
from typing import Any, Final

from ..clock import NS

BYTES_PER_KBPS: Final = Fraction(1000, 8)  # a kilobit per second is 1,000 bits: 125 bytes each second
MIN_KBPS: Final = 2  # "BITS uses approximately two kilobits if you specify a value less than two kilobits"
MAX_KBPS: Final = 4_294_967_200  # BandwidthThrottlingTransferRate: Range [0-4294967200] (Policy CSP)
MAX_INACTIVITY_DAYS: Final = 999  # JobInactivityTimeout: Range [1-999] (Policy CSP)
MAX_DWORD: Final = 0xFFFF_FFFF
HOUR_NS: Final = 3600 * NS
DAY_NS: Final = 24 * HOUR_NS
EPOCH_WEEKDAY: Final = 4  # 1970-01-01, day 0 of the service clock, was a Thursday
SCHEDULES_SINCE: Final = (4, 0)  # EnableBandwidthLimits and EnableMaintenanceLimits are BITS 4.0 policies (GP page)


class Weekday(IntEnum):
    """A day of the week for the BITS 4.0 schedules, numbered as Windows' SYSTEMTIME.wDayOfWeek: 0 is Sunday,
    6 Saturday (not Python's ``date.weekday()``, where 0 is Monday). Plain ints 0..6 are taken the same way."""

    SUNDAY = 0
    MONDAY = 1
    TUESDAY = 2
    WEDNESDAY = 3
    THURSDAY = 4
    FRIDAY = 5
    SATURDAY = 6


def _check_int(name: str, value: object, low: int, high: int) -> int:
    """A policy value: an int (never a bool) within ``low..high``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if not low <= value <= high:
        raise ValueError(f"{name} must be in {low}..{high}, not {value}")
    return value


def _check_kbps(name: str, value: int | None) -> None:
    if value is not None:
        _check_int(name, value, 0, MAX_KBPS)


def _hours_contain(start_hour: int, end_hour: int, of_day_ns: int) -> bool:
    """Whether a time of day falls in [start_hour, end_hour): equal hours are the whole day, a start after the
    end wraps past midnight (docs/reference/readings.md#bandwidth-window)."""
    start, end = start_hour * HOUR_NS, end_hour * HOUR_NS
    if start == end:
        return True
    if start < end:
        return start <= of_day_ns < end
    return of_day_ns >= start or of_day_ns < end


def weekday_at(at_ns: int) -> int:
    """The day of the week (0 Sunday .. 6 Saturday) of an instant in ns since the epoch, UTC."""
    return (at_ns // DAY_NS + EPOCH_WEEKDAY) % 7


def _days_contain(first_day: int, last_day: int, weekday: int) -> bool:
    """Whether ``weekday`` is in first_day..last_day, both included; a first day after the last wraps past
    Saturday (Friday..Monday is Friday, Saturday, Sunday, Monday) (docs/reference/readings.md#schedule-days)."""
    if first_day <= last_day:
        return first_day <= weekday <= last_day
    return weekday >= first_day or weekday <= last_day


def _in_schedule(first_day: int, last_day: int, start_hour: int, end_hour: int, at_ns: int) -> bool:
    """A weekly calendar of days and hours: the instant's day is one of the days AND its hour one of the hours,
    each read on its own (docs/reference/readings.md#schedule-days)."""
    return _days_contain(first_day, last_day, weekday_at(at_ns)) and _hours_contain(
        start_hour, end_hour, at_ns % DAY_NS
    )


def _next_schedule_change(first_day: int, last_day: int, start_hour: int, end_hour: int, at_ns: int) -> int | None:
    """The first instant after ``at_ns`` where it goes in or out of the schedule (``None``: never).

    Membership can only change at midnight or at the start or end hour of a day, and the calendar repeats each
    week: at most 3 instants a day over 8 days are looked at, and only when a boundary comes or a policy is set
    (a constant, whatever the queue)."""
    inside = _in_schedule(first_day, last_day, start_hour, end_hour, at_ns)
    day = at_ns - at_ns % DAY_NS
    edges = sorted({0, start_hour * HOUR_NS, end_hour * HOUR_NS})
    for _ in range(8):
        for edge in edges:
            instant = day + edge
            if instant > at_ns and _in_schedule(first_day, last_day, start_hour, end_hour, instant) != inside:
                return instant
        day += DAY_NS
    return None


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
        _check_kbps("outside_kbps", self.outside_kbps)

    def in_window(self, at_ns: int) -> bool:
        """Whether the instant ``at_ns`` (ns since the epoch, UTC) falls in the limited window."""
        return _hours_contain(self.start_hour, self.end_hour, at_ns % DAY_NS)

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
class PriorityLimits:
    """A limit in kilobits per second for each background priority (``None``: that priority is not limited).

    Same values as MaxInternetBandwidth's: 0..4,294,967,200; under 2 counts as 2; 0 blocks (T19)."""

    high: int | None = None
    normal: int | None = None
    low: int | None = None

    def __post_init__(self) -> None:
        _check_kbps("high", self.high)
        _check_kbps("normal", self.normal)
        _check_kbps("low", self.low)

    def kbps(self, priority: int) -> int | None:
        """The limit for a background priority, as BG_JOB_PRIORITY numbers it (1 HIGH, 2 NORMAL, 3 LOW)."""
        if priority == 1:
            return self.high
        if priority == 2:
            return self.normal
        if priority == 3:
            return self.low
        raise ValueError(f"no bandwidth limit for priority {priority}: foreground jobs are never limited")


def _check_schedule(schedule: object, first_day: int, last_day: int, start_hour: int, end_hour: int) -> None:
    """Days 0..6 (stored as ``Weekday``), hours 0..23."""
    _check_int("first_day", first_day, 0, 6)
    _check_int("last_day", last_day, 0, 6)
    _check_int("start_hour", start_hour, 0, 23)
    _check_int("end_hour", end_hour, 0, 23)
    object.__setattr__(schedule, "first_day", Weekday(first_day))
    object.__setattr__(schedule, "last_day", Weekday(last_day))


def _check_limits(name: str, limits: object) -> None:
    if not isinstance(limits, PriorityLimits):
        raise TypeError(f"{name} must be a PriorityLimits, not {type(limits).__name__}")


@dataclass(frozen=True, slots=True)
class WorkSchedule:
    """EnableBandwidthLimits (BITS 4.0): ``work`` limits background jobs during the work schedule — the hours
    [start_hour, end_hour) on the days first_day..last_day —, ``non_work`` at all other times ("All hours and
    days that are not defined in a work schedule are considered non-work hours", GP page).

    Days are ``Weekday``s or ints 0 (Sunday)..6 (Saturday); a first day after the last wraps (FRIDAY..MONDAY).
    Hours are read as MaxInternetBandwidth's (docs/reference/readings.md#bandwidth-window), in UTC on the
    service clock (docs/reference/readings.md#bandwidth-utc)."""

    first_day: int
    last_day: int
    start_hour: int
    end_hour: int
    work: PriorityLimits
    non_work: PriorityLimits = PriorityLimits()

    def __post_init__(self) -> None:
        _check_schedule(self, self.first_day, self.last_day, self.start_hour, self.end_hour)
        _check_limits("work", self.work)
        _check_limits("non_work", self.non_work)

    def in_window(self, at_ns: int) -> bool:
        """Whether ``at_ns`` is a work hour."""
        return _in_schedule(self.first_day, self.last_day, self.start_hour, self.end_hour, at_ns)

    def kbps(self, priority: int, at_ns: int) -> int | None:
        return (self.work if self.in_window(at_ns) else self.non_work).kbps(priority)

    def next_change(self, at_ns: int) -> int | None:
        return _next_schedule_change(self.first_day, self.last_day, self.start_hour, self.end_hour, at_ns)


@dataclass(frozen=True, slots=True)
class MaintenanceSchedule:
    """EnableMaintenanceLimits (BITS 4.0): ``limits`` for background jobs in the hours [start_hour, end_hour)
    on the days first_day..last_day (read as ``WorkSchedule``'s); a priority it limits follows it there,
    whatever the work schedule says ("the bandwidth limits that are set for the maintenance period supersede
    any limits defined for work and other schedules", GP page); a priority it leaves ``None`` keeps the work
    schedule's limit (docs/reference/readings.md#bandwidth-combined)."""

    first_day: int
    last_day: int
    start_hour: int
    end_hour: int
    limits: PriorityLimits

    def __post_init__(self) -> None:
        _check_schedule(self, self.first_day, self.last_day, self.start_hour, self.end_hour)
        _check_limits("limits", self.limits)

    def in_window(self, at_ns: int) -> bool:
        """Whether ``at_ns`` is a maintenance hour."""
        return _in_schedule(self.first_day, self.last_day, self.start_hour, self.end_hour, at_ns)

    def next_change(self, at_ns: int) -> int | None:
        return _next_schedule_change(self.first_day, self.last_day, self.start_hour, self.end_hour, at_ns)


def _lower(a: Fraction | None, b: Fraction | None) -> Fraction | None:
    """The tighter of two caps (``None``: no cap)."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


@dataclass(frozen=True, slots=True)
class BandwidthRules:
    """The bandwidth policies a BITS version reads, and what they make of each background priority's cap.

    The one place for "which cap binds a background job of priority p at t": the maintenance limit when the
    maintenance schedule is on and limits p, else the work schedule's (work or non-work), then the lower of
    that and MaxInternetBandwidth's (docs/reference/readings.md#bandwidth-combined)."""

    max_internet_bandwidth: BandwidthLimit | None = None
    work_schedule: WorkSchedule | None = None
    maintenance_schedule: MaintenanceSchedule | None = None

    @classmethod
    def of(cls, policy: GroupPolicy, bits_version: tuple[int, int]) -> BandwidthRules | None:
        """The rules in force under ``policy`` for a service of ``bits_version`` (``None``: no limit at all).

        A BITS before 4.0 (the vista profile) does not know EnableBandwidthLimits and EnableMaintenanceLimits
        and ignores them, as a registry value it never reads (docs/reference/readings.md#schedules-version)."""
        schedules = bits_version >= SCHEDULES_SINCE
        rules = cls(
            policy.max_internet_bandwidth,
            policy.work_schedule if schedules else None,
            policy.maintenance_schedule if schedules else None,
        )
        if rules.max_internet_bandwidth is None and rules.work_schedule is None and rules.maintenance_schedule is None:
            return None
        return rules

    def rate_at(self, priority: int, at_ns: int) -> Fraction | None:
        """The cap on a background job of ``priority`` (1..3) at ``at_ns``, bytes a second (``None``: none, 0:
        blocked)."""
        rate: Fraction | None = None
        maintenance = self.maintenance_schedule
        kbps = maintenance.limits.kbps(priority) if maintenance is not None and maintenance.in_window(at_ns) else None
        if kbps is not None:
            rate = bytes_per_second(kbps)  # the maintenance limit supersedes the work schedule's
        elif self.work_schedule is not None:
            rate = bytes_per_second(self.work_schedule.kbps(priority, at_ns))
        if self.max_internet_bandwidth is not None:
            rate = _lower(rate, self.max_internet_bandwidth.rate_at(at_ns))
        return rate

    def next_change(self, at_ns: int) -> int | None:
        """The first boundary of any of the three after ``at_ns`` (``None``: none ever comes)."""
        nxt: int | None = None
        for part in (self.max_internet_bandwidth, self.work_schedule, self.maintenance_schedule):
            if part is not None:
                edge = part.next_change(at_ns)
                if edge is not None and (nxt is None or edge < nxt):
                    nxt = edge
        return nxt


@dataclass(frozen=True, slots=True)
class GroupPolicy:
    """The BITS group policies; every field ``None`` (the default) is "not configured".

    - ``max_jobs_per_user``, ``max_jobs_per_machine``, ``max_files_per_job``, ``max_ranges_per_file``:
      the BITS 3.0 quotas (defaults 60, 300, 200, 500), which bind users other than administrators and
      service accounts;
    - ``job_inactivity_timeout``: JobInactivityTimeout, in days (1..999; default 90);
    - ``max_download_time``: MaxDownloadTime, in seconds (default 7,776,000, 90 days); a job's
      SetMaximumDownloadTime overrides it;
    - ``max_internet_bandwidth``: MaxInternetBandwidth, a ``BandwidthLimit`` for background jobs;
    - ``work_schedule``: EnableBandwidthLimits (BITS 4.0), a ``WorkSchedule``;
    - ``maintenance_schedule``: EnableMaintenanceLimits (BITS 4.0), a ``MaintenanceSchedule``.
    """

    max_jobs_per_user: int | None = None
    max_jobs_per_machine: int | None = None
    max_files_per_job: int | None = None
    max_ranges_per_file: int | None = None
    job_inactivity_timeout: int | None = None
    max_download_time: int | None = None
    max_internet_bandwidth: BandwidthLimit | None = None
    work_schedule: WorkSchedule | None = None
    maintenance_schedule: MaintenanceSchedule | None = None

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
        if self.work_schedule is not None and not isinstance(self.work_schedule, WorkSchedule):
            raise TypeError(f"work_schedule must be a WorkSchedule, not {type(self.work_schedule).__name__}")
        maintenance = self.maintenance_schedule
        if maintenance is not None and not isinstance(maintenance, MaintenanceSchedule):
            raise TypeError(f"maintenance_schedule must be a MaintenanceSchedule, not {type(maintenance).__name__}")


# The one written form of a policy (a file store keeps the machine's policy in its settings, written and read
# by transfer/scheduler.py, docs/ARCHITECTURE.md#machine): JSON of the configured fields only, each nested
# value (BandwidthLimit, WorkSchedule, MaintenanceSchedule, PriorityLimits) as an object of its own configured
# fields, days as their numbers. Reading it back goes through the constructors, so a stored value out of range
# or of a wrong type is refused as a policy given in Python would be.
_Policy = GroupPolicy | BandwidthLimit | WorkSchedule | MaintenanceSchedule | PriorityLimits
_NESTED: Final[dict[tuple[type[_Policy], str], type[_Policy]]] = {
    (GroupPolicy, "max_internet_bandwidth"): BandwidthLimit,
    (GroupPolicy, "work_schedule"): WorkSchedule,
    (GroupPolicy, "maintenance_schedule"): MaintenanceSchedule,
    (WorkSchedule, "work"): PriorityLimits,
    (WorkSchedule, "non_work"): PriorityLimits,
    (MaintenanceSchedule, "limits"): PriorityLimits,
}


def _encode(value: _Policy) -> dict[str, object]:
    out: dict[str, object] = {}
    for field in fields(value):
        item = getattr(value, field.name)
        if item is not None:
            out[field.name] = _encode(item) if (type(value), field.name) in _NESTED else int(item)
    return out


def _decode(cls: type[_Policy], data: object, where: str) -> _Policy:
    if not isinstance(data, dict):
        raise ValueError(f"{where} is a JSON object, not {type(data).__name__}")
    names = {field.name for field in fields(cls)}
    unknown = data.keys() - names
    if unknown:
        raise ValueError(f"unknown {where} fields {sorted(unknown)}")
    values: dict[str, Any] = {}  # checked by the constructor, as a policy given in Python
    for name, item in data.items():
        nested = _NESTED.get((cls, name))
        values[name] = _decode(nested, item, name) if nested is not None and item is not None else item
    return cls(**values)


def policy_to_json(policy: GroupPolicy) -> str:
    """``policy`` as compact JSON: ``{}`` configures nothing (``GroupPolicy()``)."""
    return json.dumps(_encode(policy), sort_keys=True, separators=(",", ":"))


def policy_from_json(text: str) -> GroupPolicy:
    """The policy ``policy_to_json`` wrote. ValueError for text that is no such policy (an unknown field, a
    value out of range); TypeError for a value of the wrong type or a missing one."""
    policy = _decode(GroupPolicy, json.loads(text), "a group policy")
    assert isinstance(policy, GroupPolicy)
    return policy
