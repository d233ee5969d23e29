"""Running a scenario on a fresh service, through the public native API only.

One run = one profile. The service gets a ManualClock (so time moves only by ``advance`` and
``run_until_idle`` steps), an in-memory or file store, and a drive root under the run's work
directory. After each step the runner settles the simulation at the current instant
(``svc.advance(0)``: every API call catches up first anyway, so this changes no outcome) so that the
state changes a step caused are reported with it; they are collected from ``svc.bus``
(``JobStateChanged``) with their virtual timestamps.

Job expectations are read through an *observer*: a LocalSystem client that holds a pointer to every
job from its creation, so reading never depends on the caller's rights and still works after
Complete/Cancel (held pointers keep their getters).
"""

from __future__ import annotations

import dataclasses
import enum
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel

from .. import hresults
from ..clock import ManualClock, to_datetime
from ..com.error import CopyError
from ..com.file import File
from ..com.job import Job
from ..com.manager import Manager
from ..com.token_options import TokenOptions
from ..constants import BG_SIZE_UNKNOWN, Cloaking, IBitsTokenOptions, ImpersonationLevel
from ..events import JobStateChanged
from ..hresults import BitsError
from ..identity.accounts import Account
from ..identity.callers import Blanket
from ..identity.sessions import LogonSession, LogonType
from ..identity.tokens import AccessToken
from ..profiles import resolve_profile
from ..service import BitsService
from . import calls
from .load import BUILTIN_ACCOUNTS, LoadedScenario
from .model import (
    AdvanceStep,
    AnyStep,
    BlanketSpec,
    CallExpect,
    CallStep,
    CheckStep,
    CostStep,
    HResultExpect,
    JobExpect,
    LocalFileStep,
    LogoffStep,
    LogonStep,
    NetworkStep,
    PolicyStep,
    ResourceStep,
    RestartStep,
    RunUntilIdleStep,
    cost_value,
    hresult_text,
    parse_hresult,
    substitute,
)


class _StepFailed(Exception):
    """A step could not be carried out (an unknown session at run time, a logoff Windows refuses…)."""


@dataclass(slots=True)
class StateChange:
    job: str
    old: str
    new: str
    at: float  # seconds since the scenario's start

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "from": self.old, "to": self.new, "at": self.at}


@dataclass(slots=True)
class StepResult:
    index: int  # 1-based, as shown to people
    line: int | None
    action: str
    summary: str
    at: float
    note: str = ""
    caller: str | None = None
    job: str | None = None
    call: str | None = None
    args: Any = None
    hresult: int | None = None
    python_error: str | None = None
    returned: Any = None
    returned_text: str | None = None  # for people: SIDs followed by their account name
    changes: list[StateChange] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def outcome(self) -> str:
        if self.python_error is not None:
            return self.python_error
        if self.hresult is not None:
            return hresult_text(self.hresult)
        return ""

    def to_json(self) -> dict[str, Any]:
        hr = None
        if self.hresult is not None:
            entry = hresults.lookup(self.hresult)
            hr = {"value": self.hresult, "hex": f"0x{self.hresult:08X}", "name": entry.name if entry else None}
        return {
            "index": self.index,
            "line": self.line,
            "action": self.action,
            "summary": self.summary,
            "note": self.note,
            "at": self.at,
            "caller": self.caller,
            "job": self.job,
            "call": self.call,
            "args": self.args,
            "hresult": hr,
            "python_error": self.python_error,
            "returned": self.returned,
            "state_changes": [c.to_json() for c in self.changes],
            "passed": self.passed,
            "failures": list(self.failures),
        }


@dataclass(slots=True)
class JobRow:
    name: str
    id: str
    owner: str
    type: str
    state: str
    bytes_transferred: int
    bytes_total: int | None
    files_transferred: int
    files_total: int
    error_count: int
    error: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "id": self.id,
            "owner": self.owner,
            "type": self.type,
            "state": self.state,
            "bytes_transferred": self.bytes_transferred,
            "bytes_total": self.bytes_total,
            "files_transferred": self.files_transferred,
            "files_total": self.files_total,
            "error_count": self.error_count,
            "error": self.error,
        }


@dataclass(slots=True)
class RunResult:
    """One scenario run on one profile."""

    scenario: str
    file: str
    profile: str
    windows: str
    start: datetime
    label: str = ""  # the profile as the scenario names it ("pre-1607")
    steps: list[StepResult] = field(default_factory=list)
    jobs: list[JobRow] = field(default_factory=list)
    total_steps: int = 0
    timeline: Path | None = None  # the SVG drawn from svc.history, when asked for

    @property
    def passed(self) -> bool:
        return all(s.passed for s in self.steps) and len(self.steps) == self.total_steps

    @property
    def failed_step(self) -> StepResult | None:
        return next((s for s in self.steps if not s.passed), None)

    def failure_message(self) -> str | None:
        step = self.failed_step
        if step is None:
            return None
        where = f"{self.file}:{step.line}" if step.line is not None else self.file
        lines = [f"{where}: scenario {self.scenario!r} [{self.profile}] step {step.index} ({step.summary}):"]
        lines.extend(f"  {f}" for f in step.failures)
        skipped = self.total_steps - len(self.steps)
        if skipped:
            lines.append(f"  ({skipped} later step(s) not run)")
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "file": self.file,
            "profile": self.profile,
            "profile_as_written": self.label,
            "windows": self.windows,
            "start": self.start.isoformat(),
            "passed": self.passed,
            "failure": self.failure_message(),
            "steps": [s.to_json() for s in self.steps],
            "steps_not_run": self.total_steps - len(self.steps),
            "jobs": [j.to_json() for j in self.jobs],
            "timeline": None if self.timeline is None else str(self.timeline),
        }


def _blanket(spec: BlanketSpec) -> Blanket:
    return Blanket(ImpersonationLevel[spec.level], Cloaking[spec.cloaking])


def normalize(value: Any, job_names: dict[uuid.UUID, str] | None = None) -> Any:
    """A returned Python value as plain data (what ``returns`` is compared with and JSON shows)."""
    names = job_names or {}
    if value is None or isinstance(value, bool | str | float):
        return value
    if isinstance(value, enum.IntFlag):
        return int(value)
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, int):
        return value
    if isinstance(value, bytes):
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return value.hex()
    if isinstance(value, uuid.UUID):
        return f"{{{str(value).upper()}}}"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return {k: normalize(getattr(value, k), names) for k in type(value).model_fields}
    if isinstance(value, Job):
        job_id = value.get_id()
        return names.get(job_id, normalize(job_id))
    if isinstance(value, CopyError):
        context, code = value.get_error()
        return {"context": context.name, "code": hresult_text(code)}
    if isinstance(value, File):
        return {"remote_name": value.get_remote_name(), "local_name": value.get_local_name()}
    if isinstance(value, tuple | list):
        return [normalize(v, names) for v in value]
    if hasattr(value, "next") and hasattr(value, "get_count"):  # an enumerator: its items
        return [normalize(v, names) for v in value.next(max(1, value.get_count()))] if value.get_count() else []
    return repr(value)


def _same(expected: Any, actual: Any) -> bool:
    """``returns`` matching: tables match as subsets, HRESULT-looking text matches codes, GUIDs ignore case."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(k in actual and _same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return isinstance(actual, list) and len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, str) and isinstance(actual, str):
        if expected == actual:
            return True
        if expected.startswith("{") and actual.startswith("{"):
            return expected.upper() == actual.upper()
        try:  # "code" fields are shown as "NAME 0x........"
            return parse_hresult(expected) == parse_hresult(actual.split()[-1])
        except ValueError:
            return False
    if isinstance(expected, str) and isinstance(actual, int) and not isinstance(actual, bool):
        try:
            return parse_hresult(expected) == actual
        except ValueError:
            return False
    if isinstance(expected, bool) or isinstance(actual, bool):
        return expected is actual
    return bool(expected == actual)


def _fmt_seconds(value: float) -> str:
    if value == int(value):
        return f"{int(value)}s"
    return f"{value:.3f}".rstrip("0") + "s"


def _fmt_value(value: Any) -> str:
    if value == {"null": True}:
        return "NULL"
    if isinstance(value, str):
        return f'"{value}"'  # Windows paths read better without repr's doubled backslashes
    return repr(value)


def _fmt_args(args: Any) -> str:
    if isinstance(args, dict):
        return ", ".join(f"{k}={_fmt_value(v)}" for k, v in args.items())
    if isinstance(args, list):
        return ", ".join(_fmt_value(v) for v in args)
    return ""


class Runner:
    def __init__(
        self,
        loaded: LoadedScenario,
        profile: str,
        workdir: Path,
        *,
        store: Literal["memory", "file"] | None = None,
        timeline: Path | None = None,
    ) -> None:
        self.store = store or loaded.scenario.scenario.store
        self.timeline = timeline
        self.loaded = loaded
        self.sc = loaded.scenario
        self.profile = resolve_profile(profile)
        self.label = profile
        self.workdir = workdir
        header = self.sc.scenario
        self.clock = ManualClock(header.start) if header.start is not None else ManualClock()
        self.t0 = self.clock.time()
        self.sessions: dict[str, LogonSession] = {}
        self.session_accounts: dict[str, str] = {}
        self.jobs: dict[str, uuid.UUID] = {}
        self.job_names: dict[uuid.UUID, str] = {}
        self.observed: dict[str, Job] = {}
        self.managers: dict[str, tuple[AccessToken, Manager]] = {}
        self.pointers: dict[tuple[str, str], Job] = {}
        self.options: dict[tuple[str, str], TokenOptions] = {}
        self.events: list[JobStateChanged] = []

    # identities ------------------------------------------------------------------------------------

    def account(self, svc: BitsService, name: str) -> Account:
        builtin = BUILTIN_ACCOUNTS.get(name)
        if builtin == "SYSTEM":
            return svc.local_system
        if builtin == "LOCAL SERVICE":
            return svc.local_service
        if builtin == "NETWORK SERVICE":
            return svc.network_service
        return svc.account(builtin or name)

    def session(self, name: str) -> LogonSession:
        try:
            return self.sessions[name]
        except KeyError:
            raise _StepFailed(f"session {name!r} is not logged on at this point") from None

    def identity(self, name: str) -> tuple[AccessToken, Blanket]:
        """The token and process-default blanket of a caller (or of a session used as a caller)."""
        default = _blanket(self.sc.scenario.blanket)
        spec = self.sc.callers.get(name)
        if spec is not None:
            s = self.session(spec.session)
            token = s.elevated_token if spec.elevated else s.token
            return token, _blanket(spec.blanket) if spec.blanket is not None else default
        return self.session(name).token, default

    def manager(self, svc: BitsService, caller: str) -> Manager:
        token, blanket = self.identity(caller)
        held = self.managers.get(caller)
        if held is not None and held[0] is token:
            return held[1]
        # A new token (the session logged on again): a new client process, without the old pointers.
        for key in [k for k in self.pointers if k[0] == caller]:
            del self.pointers[key]
        for key in [k for k in self.options if k[0] == caller]:
            del self.options[key]
        mgr = svc.connect(token, blanket=blanket)
        self.managers[caller] = (token, mgr)
        return mgr

    def job_pointer(self, svc: BitsService, caller: str, job: str) -> Job:
        if job not in self.jobs:
            raise _StepFailed(f"there is no job {job!r}: its create_job step did not succeed")
        mgr = self.manager(svc, caller)
        pointer = self.pointers.get((caller, job))
        if pointer is None:
            pointer = mgr.get_job(self.jobs[job])  # another process reaches the job by its id (GetJob)
            self.pointers[(caller, job)] = pointer
        return pointer

    def token_options(self, svc: BitsService, caller: str, job: str) -> TokenOptions:
        held = self.options.get((caller, job))
        if held is None:
            # Implicit QueryInterface, made before any impersonation ("QI first", as Microsoft's example).
            held = self.job_pointer(svc, caller, job).query_interface(IBitsTokenOptions)
            self.options[(caller, job)] = held
        return held

    # the run ---------------------------------------------------------------------------------------

    def build(self) -> BitsService:
        header = self.sc.scenario
        database = self.workdir / "bits.db" if self.store == "file" else None
        svc = BitsService(self.profile, database=database, clock=self.clock, seed=header.seed)
        drives = self.workdir / "drives"
        drives.mkdir(parents=True, exist_ok=True)
        svc.filesystem.drive_root = drives
        svc.bus.subscribe(JobStateChanged, self.events.append)
        for name, spec in self.sc.accounts.items():
            svc.add_user(name, admin=spec.admin)
        self.sessions["User"] = svc.current_session
        self.session_accounts["User"] = "User"
        for name, s in self.sc.sessions.items():
            self.sessions[name] = _logon(svc, self.account(svc, s.account), s.type)
            self.session_accounts[name] = s.account
        for directory in self.sc.filesystem.directories:
            svc.filesystem.makedirs(directory)
        for name, text in self.sc.filesystem.files.items():
            host = svc.filesystem.host_path(name)
            host.parent.mkdir(parents=True, exist_ok=True)
            host.write_text(text, encoding="utf-8")
        for directory, writers in self.sc.filesystem.restricted.items():
            host = svc.filesystem.makedirs(directory)
            svc.filesystem.restrict(host, writers=[self.account(svc, w).sid for w in writers])
        for url, r in self.sc.network.items():
            if r.content_file is not None:
                content: bytes | None = (self.loaded.path.parent / r.content_file).read_bytes()
            else:
                content = r.content.encode("utf-8") if r.content is not None else None
            svc.network.register(
                url,
                content,
                size=r.size,
                rate=r.rate,
                status=r.status,
                headers=r.headers,
                ranges=r.ranges,
                transient_failures=r.transient_failures,
                failure_status=r.failure_status,
                latency=r.latency,
                content_length=r.content_length,
                change_content_after=r.change_content_after,
                changed_content=r.changed_content.encode("utf-8") if r.changed_content is not None else None,
                auth=r.auth,
                users=r.users,
                authorized_sids={self.account(svc, a).sid for a in r.authorized},
                upload=r.upload,
                reply=r.reply.encode("utf-8") if r.reply is not None else None,
                application_status=r.application_status,
                client_certificate=r.client_certificate,
            )
        self.observer = svc.connect(svc.logon(svc.local_system).token)
        return svc

    def run(self) -> RunResult:
        result = RunResult(
            self.sc.scenario.name,
            str(self.loaded.path),
            self.profile.name,
            self.profile.windows,
            to_datetime(self.t0),
            label=self.label,
            total_steps=len(self.sc.step),
        )
        with self.build() as svc:
            for index, step in enumerate(self.sc.step):
                outcome = self.step(svc, index, step)
                result.steps.append(outcome)
                if not outcome.passed:
                    break
            result.jobs = self.job_table(svc)
            if self.timeline is not None:
                # Each job's states over virtual time, as svc.history saw them (emulator.timeline).
                title = f"{self.sc.scenario.name} ({self.label})"
                result.timeline = svc.history.timeline(self.timeline, title=title)
        return result

    def now(self) -> float:
        return self.clock.time() - self.t0

    def expectations(self, step: AnyStep) -> JobExpect:
        """The step's expectations with the ``on.<profile>`` overrides of this run applied."""
        base: JobExpect = step
        for key, override in step.on.items():
            if resolve_profile(key).name == self.profile.name:
                base = base.model_copy(update={k: getattr(override, k) for k in override.model_fields_set})
        return base

    def step(self, svc: BitsService, index: int, step: AnyStep) -> StepResult:
        sc_line = self.loaded.line_of("step", index)
        res = StepResult(index + 1, sc_line, step.action, "", self.now(), note=step.note)
        seen = len(self.events)
        expect = self.expectations(step)
        try:
            if isinstance(step, CallStep):
                assert isinstance(expect, CallExpect)
                self.call(svc, step, expect, res)
            else:
                try:
                    self.control(svc, step, res)
                except (KeyError, TypeError, ValueError) as exc:
                    # e.g. logging on an account the service refuses: a failed step, not a crash.
                    raise _StepFailed(f"{step.action} failed: {type(exc).__name__}: {exc}") from None
            svc.advance(0)  # settle this instant (see the module docstring)
        except _StepFailed as exc:
            res.failures.append(str(exc))
        res.changes = [
            StateChange(self.job_names.get(e.job_id, str(e.job_id)), e.old.name, e.new.name, e.at - self.t0)
            for e in self.events[seen:]
        ]
        job = step.check if isinstance(step, CheckStep) else step.job
        if not res.failures and job is not None and expect.job_checks():
            if job in self.jobs:
                res.failures.extend(self.check_job(job, expect, res.changes))
            else:
                res.failures.append(f"there is no job {job!r} to check: its create_job step did not succeed")
        return res

    # steps -----------------------------------------------------------------------------------------

    def set_blanket(self, svc: BitsService, step: CallStep, expect: CallExpect, res: StepResult) -> None:
        """CoSetProxyBlanket on one of the caller's pointers; blankets are not inherited (SVC page)."""
        assert isinstance(step.args, dict)
        pointer = step.args.get("pointer", "job")
        spec = BlanketSpec.model_validate({k: v for k, v in step.args.items() if k in ("level", "cloaking")})
        res.caller, res.job, res.call, res.args = step.caller, step.job, step.call, step.args
        kind = "IBitsTokenOptions" if pointer == "token_options" else "job"
        where = "manager" if pointer == "manager" else f"{step.job}.{kind}"
        res.summary = f"{step.caller}: {where}.set_blanket({spec.level}, {spec.cloaking})"
        if step.impersonate is not None:
            res.summary += f" impersonating {step.impersonate}"
        try:
            obj: Manager | Job | TokenOptions
            if pointer == "manager":
                obj = self.manager(svc, step.caller)
            elif pointer == "token_options":
                assert step.job is not None
                obj = self.token_options(svc, step.caller, step.job)
            else:
                assert step.job is not None
                obj = self.job_pointer(svc, step.caller, step.job)
            imp = self.identity(step.impersonate)[0] if step.impersonate is not None else None
            with svc.impersonate(imp) if imp is not None else nullcontext():
                obj.set_blanket(_blanket(spec))
            res.hresult = 0
        except BitsError as exc:
            res.hresult = exc.hresult
        res.failures.extend(self.check_call(svc, expect, res))

    def call(self, svc: BitsService, step: CallStep, expect: CallExpect, res: StepResult) -> None:
        if step.call == "set_blanket":
            self.set_blanket(svc, step, expect, res)
            return
        info = calls.resolve(step.call, file=step.file is not None)
        assert info is not None  # checked at load time
        args = substitute(
            step.call_args(),
            lambda name: self.account(svc, name).sid,
            lambda name: f"{{{str(self.jobs[name]).upper()}}}",
        )
        res.caller, res.job, res.call, res.args = step.caller, step.job, step.call, args
        target = f"{step.job}." if step.job is not None and info.target != "manager" else ""
        if step.file is not None:
            target = f"{step.job}.file[{step.file}]."
        if info.target == "token_options":
            target = f"{step.job}.IBitsTokenOptions."
        res.summary = f"{step.caller}: {target}{step.call}({_fmt_args(args)})"
        if step.impersonate is not None:
            res.summary += f" impersonating {step.impersonate}"
        positional, keywords = calls.bind(info, args)
        value: Any = None
        try:
            obj: Any
            if info.target == "manager":
                obj = self.manager(svc, step.caller)
            elif info.target == "token_options":
                assert step.job is not None
                obj = self.token_options(svc, step.caller, step.job)
            else:
                assert step.job is not None
                obj = self.job_pointer(svc, step.caller, step.job)
                if step.file is not None:
                    files = obj.enum_files()
                    items = files.next(max(1, files.get_count())) if files.get_count() else []
                    if step.file >= len(items):
                        raise _StepFailed(f"job {step.job!r} has {len(items)} file(s); there is no file[{step.file}]")
                    obj = items[step.file]
            imp = self.identity(step.impersonate)[0] if step.impersonate is not None else None
            with svc.impersonate(imp) if imp is not None else nullcontext():
                value = getattr(obj, step.call)(*positional, **keywords)
            res.hresult = int(value) if step.call in calls.HRESULT_RETURNING else 0
        except BitsError as exc:
            res.hresult = exc.hresult
            value = None
        except (TypeError, ValueError) as exc:
            res.python_error = f"{type(exc).__name__}: {exc}"
        if res.hresult == 0 or (res.hresult is not None and not res.hresult & 0x80000000):
            self.remember(svc, step, value)
        if step.call not in calls.HRESULT_RETURNING and res.hresult is not None and not res.hresult & 0x80000000:
            res.returned = self.returned(step, value)
            res.returned_text = self.describe(svc, res.returned)
        res.failures.extend(self.check_call(svc, expect, res))

    def remember(self, svc: BitsService, step: CallStep, value: Any) -> None:
        if step.call == "create_job":
            assert step.job is not None
            job_id, job = value
            self.jobs[step.job] = job_id
            self.job_names[job_id] = step.job
            self.pointers[(step.caller, step.job)] = job
            self.observed[step.job] = self.observer.get_job(job_id)
        elif step.call == "query_interface" and isinstance(value, TokenOptions):
            assert step.job is not None
            self.options[(step.caller, step.job)] = value

    def describe(self, svc: BitsService, value: Any) -> str | None:
        if value is None:
            return None
        if isinstance(value, str) and value.startswith("S-1-"):
            try:
                return f"{value} ({svc.account(value).name})"
            except KeyError:
                return value
        return repr(value)

    def returned(self, step: CallStep, value: Any) -> Any:
        if step.call == "create_job":
            return {"job_id": normalize(value[0]), "job": step.job}
        if step.call == "query_interface":
            return type(value).__name__ if value is not None else None
        return normalize(value, self.job_names)

    def check_call(self, svc: BitsService, expect: CallExpect, res: StepResult) -> list[str]:
        failures: list[str] = []
        wanted = expect.expect or HResultExpect(special="success")
        got = res.outcome
        if res.python_error is not None:
            if wanted.special not in ("any", res.python_error.split(":")[0]):
                failures.append(f"expected {wanted.text()}, got {res.python_error}")
            return failures
        assert res.hresult is not None
        if wanted.special == "success":
            if res.hresult & 0x80000000:
                why = "" if expect.expect else " (the step gives no `expect`, so it must succeed)"
                failures.append(f"expected success, got {got}{why}")
        elif wanted.special in ("TypeError", "ValueError"):
            failures.append(f"expected {wanted.special}, got {got}")
        elif wanted.special is None and wanted.value != res.hresult:
            failures.append(f"expected {wanted.text()}, got {got}")
        if failures:
            return failures
        if expect.returns_null and res.returned is not None:
            failures.append(f"expected the call to return NULL, it returned {res.returned!r}")
        if expect.returns is not None:
            wanted_value = substitute(
                expect.returns,
                lambda name: self.account(svc, name).sid,
                lambda name: f"{{{str(self.jobs[name]).upper()}}}",
            )
            if not _same(wanted_value, res.returned):
                failures.append(f"expected the call to return {wanted_value!r}, it returned {res.returned!r}")
        return failures

    def control(self, svc: BitsService, step: AnyStep, res: StepResult) -> None:
        if isinstance(step, LogonStep):
            account_name = step.account or self.session_accounts.get(step.logon) or (
                self.sc.sessions[step.logon].account if step.logon in self.sc.sessions else step.logon
            )
            self.sessions[step.logon] = _logon(svc, self.account(svc, account_name), step.type or "INTERACTIVE")
            self.session_accounts[step.logon] = account_name
            res.summary = f"logon {step.logon} ({account_name}, session {self.sessions[step.logon].id})"
        elif isinstance(step, LogoffStep):
            s = self.session(step.logoff)
            res.summary = f"logoff {step.logoff} (session {s.id})"
            try:
                svc.logoff(s)
            except ValueError as exc:
                raise _StepFailed(f"logoff refused: {exc}") from None
        elif isinstance(step, NetworkStep):
            res.summary = f"network {step.network}"
            svc.network.disconnect() if step.network == "down" else svc.network.reconnect()
        elif isinstance(step, CostStep):
            state = cost_value(step.cost)
            res.summary = f"network cost {state.name or hex(state)}"
            svc.network.cost_state = state
        elif isinstance(step, PolicyStep):
            policy = step.policy.group_policy()
            configured = [
                f"{f.name}={getattr(policy, f.name)!r}"
                for f in dataclasses.fields(policy)
                if getattr(policy, f.name) is not None
            ]
            res.summary = f"group policy {', '.join(configured) or 'not configured'}"
            svc.group_policy = policy
        elif isinstance(step, AdvanceStep):
            res.summary = f"advance {_fmt_seconds(step.advance)}"
            svc.advance(step.advance)
        elif isinstance(step, RunUntilIdleStep):
            before = self.now()
            if step.run_until_idle is True:
                svc.run_until_idle()
            else:
                svc.run_until_idle(float(step.run_until_idle))
            res.summary = f"run until idle (+{_fmt_seconds(self.now() - before)})"
        elif isinstance(step, RestartStep):
            res.summary = "restart the BITS service"
            svc.restart()
        elif isinstance(step, CheckStep):
            res.summary = f"check {step.check}"
        elif isinstance(step, ResourceStep):
            resource = svc.network.resource(step.resource)
            assert resource is not None
            changes = step.set.model_dump(exclude_none=True)
            res.summary = f"server {step.resource}: {_fmt_args(changes)}"
            for key, value in changes.items():
                if key == "content":
                    data = str(value).encode("utf-8")
                    resource.content, resource.size, resource.generator = data, len(data), None
                else:
                    setattr(resource, key, value)
        elif isinstance(step, LocalFileStep):
            res.summary = f"local file {step.local_file}"
            res.failures.extend(self.check_local_file(svc, step))

    def check_local_file(self, svc: BitsService, step: LocalFileStep) -> list[str]:
        host = svc.filesystem.host_path(step.local_file)
        exists = host.is_file()
        if step.exists is not None and exists != step.exists:
            wanted = "exist" if step.exists else "be absent"
            return [f"expected {step.local_file} to {wanted}; it {'exists' if exists else 'does not'}"]
        if (step.content is not None or step.size is not None) and not exists:
            return [f"expected {step.local_file} to exist; it does not"]
        failures = []
        if step.size is not None and host.stat().st_size != step.size:
            failures.append(f"expected {step.local_file} to hold {step.size} bytes, it holds {host.stat().st_size}")
        if step.content is not None:
            data = host.read_bytes()
            if data != step.content.encode("utf-8"):
                failures.append(f"expected {step.local_file} to contain {step.content!r}, it contains {data[:80]!r}")
        return failures

    def check_job(self, job: str, expect: JobExpect, changes: list[StateChange]) -> list[str]:
        pointer = self.observed[job]
        failures: list[str] = []
        if expect.state is not None:
            state = pointer.get_state().name
            if state != expect.state:
                failures.append(f"expected job {job!r} in state {expect.state}, it is {state}")
        if expect.progress is not None:
            p = pointer.get_progress()
            for key, wanted in expect.progress.model_dump(exclude_none=True).items():
                actual = getattr(p, key)
                shown = "UNKNOWN" if key == "bytes_total" and actual == BG_SIZE_UNKNOWN else actual
                if shown != wanted:
                    failures.append(f"expected job {job!r} progress {key} = {wanted}, it is {shown}")
        if expect.error is not None:
            try:
                context, code = pointer.get_error().get_error()
            except BitsError as exc:
                failures.append(f"expected job {job!r} to have an error, GetError gave {hresult_text(exc.hresult)}")
            else:
                if expect.error.context is not None and context.name != expect.error.context:
                    failures.append(f"expected job {job!r} error context {expect.error.context}, it is {context.name}")
                if expect.error.code is not None and expect.error.code.value != code:
                    failures.append(
                        f"expected job {job!r} error code {expect.error.code.text()}, it is {hresult_text(code)}"
                    )
        if expect.error_count is not None:
            count = pointer.get_error_count()
            if count != expect.error_count:
                failures.append(f"expected job {job!r} error count {expect.error_count}, it is {count}")
        if expect.transitions is not None:
            seen = [c.new for c in changes if c.job == job]
            if seen != expect.transitions:
                failures.append(
                    f"expected job {job!r} to pass through {' → '.join(expect.transitions) or 'no state'}, "
                    f"it went {' → '.join(seen) or 'nowhere'}"
                )
        return failures

    def job_table(self, svc: BitsService) -> list[JobRow]:
        rows = []
        for name, pointer in self.observed.items():
            p = pointer.get_progress()
            state = pointer.get_state()
            error = None
            try:
                context, code = pointer.get_error().get_error()
                error = f"{context.name} {hresult_text(code)}"
            except BitsError:
                pass
            owner_sid = pointer.get_owner()
            try:
                owner = svc.account(owner_sid).name
            except KeyError:
                owner = owner_sid
            rows.append(
                JobRow(
                    name,
                    f"{{{str(self.jobs[name]).upper()}}}",
                    owner,
                    pointer.get_type().name,
                    state.name,
                    p.bytes_transferred,
                    None if p.bytes_total == BG_SIZE_UNKNOWN else p.bytes_total,
                    p.files_transferred,
                    p.files_total,
                    pointer.get_error_count(),
                    error,
                )
            )
        return rows


@contextmanager
def _workdir(workdir: Path | None) -> Iterator[Path]:
    if workdir is not None:
        workdir.mkdir(parents=True, exist_ok=True)
        yield workdir
        return
    with tempfile.TemporaryDirectory(prefix="bits-scenario-") as tmp:
        yield Path(tmp)


def run(
    loaded: LoadedScenario,
    profile: str | None = None,
    *,
    workdir: Path | None = None,
    store: Literal["memory", "file"] | None = None,
    timelines: Path | None = None,
) -> list[RunResult]:
    """Run a loaded scenario on each of its profiles (or only ``profile``), each on a fresh service.

    ``workdir`` holds the drive root and file store of each run (a temporary directory, removed
    afterwards, when omitted). ``store`` overrides the scenario's ``store`` setting. ``timelines`` is a
    directory that receives one SVG timeline per run, ``<file stem>-<profile>.svg``."""
    profiles = loaded.scenario.scenario.profiles
    if profile is not None:
        wanted = resolve_profile(profile).name
        profiles = [p for p in profiles if resolve_profile(p).name == wanted]
        if not profiles:
            raise ValueError(f"scenario {loaded.name!r} does not run on {profile!r}")
    results = []
    with _workdir(workdir) as root:
        for name in profiles:
            sub = root / resolve_profile(name).name
            sub.mkdir(parents=True, exist_ok=True)
            svg = None if timelines is None else timelines / f"{loaded.path.stem}-{resolve_profile(name).name}.svg"
            results.append(Runner(loaded, name, sub, store=store, timeline=svg).run())
    return results


def _logon(svc: BitsService, account: Account, kind: str) -> LogonSession:
    """A logon of a scenario's kind (model.LogonKind): REMOTE_POWERSHELL is a NETWORK logon marked as a
    remote PowerShell session."""
    if kind == "REMOTE_POWERSHELL":
        return svc.logon(account, logon_type=LogonType.NETWORK, remote_powershell=True)
    return svc.logon(account, logon_type=LogonType[kind])
