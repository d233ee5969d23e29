"""The scenario file format: pydantic models for a TOML file (documented field by field in docs/scenarios.md).

A scenario names a Windows profile (or several), the accounts, logon sessions and client processes
("callers") of a story, the fake network's resources, local files, and a timeline of steps. Each step
does one thing (an API call, a logon or logoff, a network change, a clock move …) and may state what
must hold afterwards. Expectations that differ between profiles go under ``on.<profile>``.

Every model forbids unknown keys, so a typo is reported with its field path instead of being ignored.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictInt,
    Tag,
    field_validator,
    model_validator,
)

from .. import hresults
from ..constants import NETWORK_COST_STATES, CostState, ErrorContext, JobState
from ..domain.policy import (
    BandwidthLimit,
    GroupPolicy,
    MaintenanceSchedule,
    PriorityLimits,
    Weekday,
    WorkSchedule,
)
from ..profiles import resolve_profile

# The keys that make a step what it is; a step has exactly one of them.
ACTION_KEYS = (
    "call",
    "logon",
    "logoff",
    "network",
    "cost",
    "policy",
    "advance",
    "run_until_idle",
    "restart",
    "check",
    "resource",
    "local_file",
)
# Besides HRESULT names: any success code, anything at all, and the Python errors of the API edge.
SPECIAL_EXPECT = ("success", "any", "TypeError", "ValueError")
_HEX = re.compile(r"^0[xX][0-9a-fA-F]{1,8}$")
_PLACEHOLDER = re.compile(r"\$\{(sid|job):([^}]+)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _profile_name(value: str) -> str:
    try:
        return resolve_profile(value).name
    except ValueError as exc:
        raise ValueError(str(exc)) from None


def parse_hresult(value: str | int) -> int:
    """An HRESULT given by name (``E_ACCESSDENIED``, ``BG_E_HTTP_ERROR_503``), hex text or int (signed or
    unsigned), as its unsigned value. ValueError names what was expected."""
    if isinstance(value, bool):
        raise ValueError("an HRESULT is a name, a 0x… string or an integer, not a boolean")
    if isinstance(value, int):
        try:
            return hresults.to_unsigned(value)
        except ValueError:
            raise ValueError(f"{value} does not fit in 32 bits") from None
    text = value.strip()
    if _HEX.match(text):
        return int(text, 16)
    entry = hresults.BY_NAME.get(text)
    if entry is not None:
        return entry.value
    m = re.fullmatch(r"BG_E_HTTP_ERROR_(\d{3})", text)
    if m and 100 <= int(m.group(1)) <= 599:
        return hresults.http_error(int(m.group(1))).value
    raise ValueError(f"unknown HRESULT {value!r}: expected a name such as E_ACCESSDENIED or S_OK, or 0x80070005")


def hresult_text(value: int) -> str:
    entry = hresults.lookup(value)
    name = entry.name if entry is not None else "HRESULT"
    return f"{name} 0x{value:08X}"


class HResultExpect(_Model):
    """What a call must return: an HRESULT, or one of SPECIAL_EXPECT."""

    special: str | None = None
    value: int | None = None

    def text(self) -> str:
        if self.special is not None:
            return self.special
        assert self.value is not None
        return hresult_text(self.value)


def _expect(value: object) -> HResultExpect:
    if isinstance(value, HResultExpect):
        return value
    if isinstance(value, str) and value in SPECIAL_EXPECT:
        return HResultExpect(special=value)
    if not isinstance(value, (str, int)):
        raise ValueError("expected an HRESULT name (E_ACCESSDENIED), a 0x… string or an integer")
    return HResultExpect(value=parse_hresult(value))


# --- the world of the story ---------------------------------------------------------------------------


class BlanketSpec(_Model):
    """A COM proxy blanket: the process default every interface pointer of a caller starts with."""

    level: Literal["DEFAULT", "ANONYMOUS", "IDENTIFY", "IMPERSONATE", "DELEGATE"] = "IDENTIFY"
    cloaking: Literal["NONE", "STATIC", "DYNAMIC"] = "NONE"


class Header(_Model):
    name: str = Field(min_length=1)
    description: str = ""
    profiles: list[str] = Field(default_factory=lambda: ["post-1607"], min_length=1)
    start: datetime | None = None
    store: Literal["memory", "file"] = "memory"
    seed: int = 0
    blanket: BlanketSpec = BlanketSpec()

    @model_validator(mode="before")
    @classmethod
    def _one_or_many(cls, data: Any) -> Any:
        if isinstance(data, dict) and "profile" in data:
            if "profiles" in data:
                raise ValueError("give `profile` or `profiles`, not both")
            data = {**data, "profiles": [data["profile"]]}
            del data["profile"]
        return data

    @field_validator("profiles")
    @classmethod
    def _known_profiles(cls, value: list[str]) -> list[str]:
        for name in value:
            _profile_name(name)
        if len({_profile_name(n) for n in value}) != len(value):
            raise ValueError("a profile is listed twice")
        return value

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("give the start time with an offset, e.g. 2026-01-01T00:00:00Z")
        return value


class AccountSpec(_Model):
    admin: bool = False


# The logon kinds a scenario names: the SECURITY_LOGON_TYPE values BITS distinguishes, and
# REMOTE_POWERSHELL — a NETWORK logon that is a remote PowerShell session (counts as logged on from
# Windows 10 1607: https://learn.microsoft.com/en-us/windows/win32/bits/using-windows-powershell-to-create-bits-transfer-jobs).
LogonKind = Literal["INTERACTIVE", "REMOTE_INTERACTIVE", "NETWORK", "BATCH", "NEW_CREDENTIALS", "REMOTE_POWERSHELL"]


class SessionSpec(_Model):
    account: str
    type: LogonKind = "INTERACTIVE"


class CallerSpec(_Model):
    """A client process: the token of a logon session (the elevated one if asked) and its blanket."""

    session: str
    elevated: bool = False
    blanket: BlanketSpec | None = None


class ResourceSpec(_Model):
    """One URL of the fake network (the parameters of ``svc.network.register``)."""

    content: str | None = None
    content_file: str | None = None
    size: int | None = Field(default=None, ge=0)
    rate: float | None = Field(default=None, gt=0)
    status: int = Field(default=200, ge=100, le=599)
    headers: dict[str, str] = Field(default_factory=dict)
    ranges: bool = True
    transient_failures: int = Field(default=0, ge=0)
    failure_status: int = Field(default=503, ge=100, le=599)
    latency: float | None = Field(default=None, ge=0)
    content_length: bool = True
    change_content_after: int | None = Field(default=None, ge=0)
    changed_content: str | None = None
    auth: Literal["basic", "ntlm", "negotiate"] | None = None
    users: dict[str, str] = Field(default_factory=dict)
    authorized: list[str] = Field(default_factory=list)
    upload: bool = False
    reply: str | None = None
    application_status: int = Field(default=200, ge=100, le=599)
    client_certificate: bool = False

    @model_validator(mode="after")
    def _one_body(self) -> ResourceSpec:
        given = [k for k in ("content", "content_file", "size") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give one of content, content_file or size, not {' and '.join(given)}")
        return self


class FilesystemSpec(_Model):
    directories: list[str] = Field(default_factory=list)
    files: dict[str, str] = Field(default_factory=dict)
    restricted: dict[str, list[str]] = Field(default_factory=dict)


# --- expectations ----------------------------------------------------------------------------------


class ProgressExpect(_Model):
    bytes_total: int | Literal["UNKNOWN"] | None = None
    bytes_transferred: int | None = None
    files_total: int | None = None
    files_transferred: int | None = None


class ErrorExpect(_Model):
    context: str | None = None
    code: HResultExpect | None = None

    @field_validator("code", mode="before")
    @classmethod
    def _code(cls, value: Any) -> Any:
        return None if value is None else _expect(value)

    @field_validator("context")
    @classmethod
    def _context(cls, value: str | None) -> str | None:
        if value is not None and value not in ErrorContext.__members__:
            raise ValueError(f"unknown error context {value!r}; expected one of {', '.join(ErrorContext.__members__)}")
        return value


def _state(value: str | None) -> str | None:
    if value is not None and value not in JobState.__members__:
        raise ValueError(f"unknown job state {value!r}; expected one of {', '.join(JobState.__members__)}")
    return value


class JobExpect(_Model):
    """What must hold for the step's job after the step (read through an observer, see docs)."""

    state: str | None = None
    progress: ProgressExpect | None = None
    error: ErrorExpect | None = None
    error_count: int | None = Field(default=None, ge=0)
    transitions: list[str] | None = None

    @field_validator("state")
    @classmethod
    def _known_state(cls, value: str | None) -> str | None:
        return _state(value)

    @field_validator("transitions")
    @classmethod
    def _transitions(cls, value: list[str] | None) -> list[str] | None:
        for name in value or ():
            _state(name)
        return value

    def job_checks(self) -> bool:
        return any(getattr(self, k) is not None for k in ("state", "progress", "error", "error_count", "transitions"))


class CallExpect(JobExpect):
    """A call's outcome: its HRESULT and what it returned, then the job's state."""

    expect: HResultExpect | None = None
    returns: Any = None
    returns_null: bool = False

    @field_validator("expect", mode="before")
    @classmethod
    def _hresult(cls, value: Any) -> Any:
        return None if value is None else _expect(value)

    @model_validator(mode="after")
    def _one_return(self) -> CallExpect:
        if self.returns_null and self.returns is not None:
            raise ValueError("give `returns` or `returns_null`, not both")
        return self


# --- steps ----------------------------------------------------------------------------------------


class _Step(JobExpect):
    note: str = ""
    job: str | None = None
    on: dict[str, JobExpect] = Field(default_factory=dict)

    @property
    def action(self) -> str:
        raise NotImplementedError


class CallStep(CallExpect):
    """An API call by a caller: on the manager, a job, its IBitsTokenOptions, or one of its files."""

    call: str
    caller: str
    note: str = ""
    job: str | None = None
    args: dict[str, Any] | list[Any] = Field(default_factory=dict)
    impersonate: str | None = None
    file: int | None = Field(default=None, ge=0)
    on: dict[str, CallExpect] = Field(default_factory=dict)

    @property
    def action(self) -> str:
        return "call"

    def call_args(self) -> dict[str, Any] | list[Any]:
        """The arguments, with create_job's display name defaulting to the job's scenario name."""
        if self.call == "create_job" and isinstance(self.args, dict) and "display_name" not in self.args:
            return {"display_name": self.job or "", **self.args}
        return self.args


class LogonStep(_Step):
    logon: str
    account: str | None = None
    type: LogonKind | None = None

    @property
    def action(self) -> str:
        return "logon"


class LogoffStep(_Step):
    logoff: str

    @property
    def action(self) -> str:
        return "logoff"


class NetworkStep(_Step):
    network: Literal["down", "up"]

    @property
    def action(self) -> str:
        return "network"


class CostStep(_Step):
    """``svc.network.cost_state``: CostState names joined with ``|`` (``"ROAMING|USAGE_BASED"``) or an integer;
    only the state bits 0x1..0x80 (docs/transfers.md#cost)."""

    cost: str | int

    @field_validator("cost", mode="before")
    @classmethod
    def _a_state(cls, value: Any) -> Any:
        cost_value(value)  # (before pydantic's coercion: ``true`` is not 1 here)
        return value

    @property
    def action(self) -> str:
        return "cost"


def cost_value(value: str | int) -> CostState:
    """The CostState a ``cost`` step names; ValueError for an unknown name or what is not a network state."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("give CostState names joined with '|', or an integer")
    if isinstance(value, str):
        result = 0
        for part in (p.strip() for p in value.split("|")):
            if part not in CostState.__members__:
                raise ValueError(f"unknown CostState {part!r}; expected names joined with '|' of "
                                 f"{', '.join(CostState.__members__)}")
            result |= CostState[part].value
        value = result
    if value <= 0 or value & ~NETWORK_COST_STATES:
        raise ValueError(f"{value:#x} is not a network cost state (one or more of the bits 0x1..0x80)")
    return CostState(value)


class BandwidthSpec(_Model):
    """A ``BandwidthLimit`` (MaxInternetBandwidth): hours 0..23 UTC, kbps (docs/transfers.md#group-policy)."""

    start_hour: StrictInt
    end_hour: StrictInt
    kbps: StrictInt
    outside_kbps: StrictInt | None = None


class PriorityLimitsSpec(_Model):
    """A ``PriorityLimits``: kbps for each background priority; a priority left out is not limited."""

    high: StrictInt | None = None
    normal: StrictInt | None = None
    low: StrictInt | None = None

    def limits(self) -> PriorityLimits:
        return PriorityLimits(self.high, self.normal, self.low)


def _weekday(day: int | str) -> int:
    """A day as an int 0 (Sunday)..6 (Saturday) or a name ("monday", case-insensitive)."""
    if isinstance(day, str):
        try:
            return Weekday[day.upper()]
        except KeyError:
            raise ValueError(f"unknown day {day!r}: one of sunday..saturday, or 0..6") from None
    return day


class WorkScheduleSpec(_Model):
    """A ``WorkSchedule`` (EnableBandwidthLimits, BITS 4.0): days as names or 0 (Sunday)..6, hours 0..23 UTC."""

    first_day: StrictInt | str
    last_day: StrictInt | str
    start_hour: StrictInt
    end_hour: StrictInt
    work: PriorityLimitsSpec
    non_work: PriorityLimitsSpec = PriorityLimitsSpec()

    def schedule(self) -> WorkSchedule:
        return WorkSchedule(_weekday(self.first_day), _weekday(self.last_day), self.start_hour, self.end_hour,
                            self.work.limits(), self.non_work.limits())


class MaintenanceScheduleSpec(_Model):
    """A ``MaintenanceSchedule`` (EnableMaintenanceLimits, BITS 4.0): as ``WorkScheduleSpec``, with ``limits``."""

    first_day: StrictInt | str
    last_day: StrictInt | str
    start_hour: StrictInt
    end_hour: StrictInt
    limits: PriorityLimitsSpec

    def schedule(self) -> MaintenanceSchedule:
        return MaintenanceSchedule(_weekday(self.first_day), _weekday(self.last_day), self.start_hour, self.end_hour,
                                   self.limits.limits())


class PolicySpec(_Model):
    """A ``GroupPolicy``: each field left out is not configured (docs/reference/limits.md#group-policy)."""

    max_jobs_per_user: StrictInt | None = None
    max_jobs_per_machine: StrictInt | None = None
    max_files_per_job: StrictInt | None = None
    max_ranges_per_file: StrictInt | None = None
    job_inactivity_timeout: StrictInt | None = None
    max_download_time: StrictInt | None = None
    max_internet_bandwidth: BandwidthSpec | None = None
    work_schedule: WorkScheduleSpec | None = None
    maintenance_schedule: MaintenanceScheduleSpec | None = None

    @model_validator(mode="after")
    def _in_range(self) -> PolicySpec:
        self.group_policy()  # the ranges are GroupPolicy's and BandwidthLimit's own (ValueError, named)
        return self

    def group_policy(self) -> GroupPolicy:
        limit = self.max_internet_bandwidth
        work, maintenance = self.work_schedule, self.maintenance_schedule
        return GroupPolicy(
            **self.model_dump(exclude={"max_internet_bandwidth", "work_schedule", "maintenance_schedule"}),
            max_internet_bandwidth=BandwidthLimit(**limit.model_dump()) if limit is not None else None,
            work_schedule=work.schedule() if work is not None else None,
            maintenance_schedule=maintenance.schedule() if maintenance is not None else None,
        )


class PolicyStep(_Step):
    """``svc.group_policy = GroupPolicy(...)``, effective at once; ``policy = {}`` configures nothing."""

    policy: PolicySpec

    @property
    def action(self) -> str:
        return "policy"


class AdvanceStep(_Step):
    advance: float = Field(ge=0)

    @property
    def action(self) -> str:
        return "advance"


class RunUntilIdleStep(_Step):
    run_until_idle: bool | float

    @field_validator("run_until_idle")
    @classmethod
    def _positive(cls, value: bool | float) -> bool | float:
        if value is False or (not isinstance(value, bool) and value <= 0):
            raise ValueError("give true, or the most seconds to run (a positive number)")
        return value

    @property
    def action(self) -> str:
        return "run_until_idle"


class RestartStep(_Step):
    restart: Literal[True]

    @property
    def action(self) -> str:
        return "restart"


class CheckStep(_Step):
    check: str

    @property
    def action(self) -> str:
        return "check"


class ResourceUpdate(_Model):
    status: int | None = Field(default=None, ge=100, le=599)
    rate: float | None = Field(default=None, gt=0)
    transient_failures: int | None = Field(default=None, ge=0)
    failure_status: int | None = Field(default=None, ge=100, le=599)
    latency: float | None = Field(default=None, ge=0)
    content: str | None = None
    application_status: int | None = Field(default=None, ge=100, le=599)


class ResourceStep(_Step):
    resource: str
    set: ResourceUpdate

    @property
    def action(self) -> str:
        return "resource"


class LocalFileStep(_Step):
    local_file: str
    exists: bool | None = None
    content: str | None = None
    size: int | None = Field(default=None, ge=0)

    @property
    def action(self) -> str:
        return "local_file"


def _step_kind(value: Any) -> str | None:
    if isinstance(value, BaseModel):
        return str(getattr(value, "action", None))
    if not isinstance(value, dict):
        return None
    present = [k for k in ACTION_KEYS if k in value]
    return present[0] if len(present) == 1 else None


Step = Annotated[
    Annotated[CallStep, Tag("call")]
    | Annotated[LogonStep, Tag("logon")]
    | Annotated[LogoffStep, Tag("logoff")]
    | Annotated[NetworkStep, Tag("network")]
    | Annotated[CostStep, Tag("cost")]
    | Annotated[PolicyStep, Tag("policy")]
    | Annotated[AdvanceStep, Tag("advance")]
    | Annotated[RunUntilIdleStep, Tag("run_until_idle")]
    | Annotated[RestartStep, Tag("restart")]
    | Annotated[CheckStep, Tag("check")]
    | Annotated[ResourceStep, Tag("resource")]
    | Annotated[LocalFileStep, Tag("local_file")],
    Discriminator(
        _step_kind,
        custom_error_type="step_action",
        custom_error_message=f"a step needs exactly one action key: {', '.join(ACTION_KEYS)}",
    ),
]
STEP_TAGS = frozenset(ACTION_KEYS)
AnyStep = (
    CallStep
    | LogonStep
    | LogoffStep
    | NetworkStep
    | CostStep
    | PolicyStep
    | AdvanceStep
    | RunUntilIdleStep
    | RestartStep
    | CheckStep
    | ResourceStep
    | LocalFileStep
)


class Scenario(_Model):
    scenario: Header
    accounts: dict[str, AccountSpec] = Field(default_factory=dict)
    sessions: dict[str, SessionSpec] = Field(default_factory=dict)
    callers: dict[str, CallerSpec] = Field(default_factory=dict)
    network: dict[str, ResourceSpec] = Field(default_factory=dict)
    filesystem: FilesystemSpec = FilesystemSpec()
    step: list[Step] = Field(min_length=1)

    @field_validator("sessions", mode="before")
    @classmethod
    def _short_sessions(cls, value: Any) -> Any:
        # `alice = "alice"` is short for `alice = { account = "alice" }`.
        if isinstance(value, dict):
            return {k: {"account": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @property
    def name(self) -> str:
        return self.scenario.name


def placeholders(value: Any) -> list[tuple[str, str]]:
    """Every ``${sid:NAME}`` / ``${job:NAME}`` inside a TOML value."""
    found: list[tuple[str, str]] = []
    if isinstance(value, str):
        found.extend((m.group(1), m.group(2)) for m in _PLACEHOLDER.finditer(value))
    elif isinstance(value, dict):
        for v in value.values():
            found.extend(placeholders(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(placeholders(v))
    return found


def substitute(value: Any, sid_of: Any, job_id_of: Any) -> Any:
    """Replace placeholders: a string that is exactly one placeholder, or text around them."""
    if isinstance(value, str):
        return _PLACEHOLDER.sub(lambda m: sid_of(m.group(2)) if m.group(1) == "sid" else job_id_of(m.group(2)), value)
    if isinstance(value, dict):
        return {k: substitute(v, sid_of, job_id_of) for k, v in value.items()}
    if isinstance(value, list):
        return [substitute(v, sid_of, job_id_of) for v in value]
    return value
