"""Reading a scenario file: TOML syntax, the pydantic models, then the references between its parts.

Every problem is reported with the file, the line (when it can be found), the field path and what was
expected, e.g. ``x.toml:42: step[3].expect: unknown HRESULT 'E_ACCES' …``.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..profiles import resolve_profile
from . import calls
from .locate import locate
from .model import (
    STEP_TAGS,
    BlanketSpec,
    CallStep,
    CheckStep,
    LogoffStep,
    LogonStep,
    ResourceStep,
    Scenario,
    placeholders,
    substitute,
)

# Accounts every service has, by the names a scenario may use for them.
BUILTIN_ACCOUNTS = {
    "User": "User",
    "LocalSystem": "SYSTEM",
    "SYSTEM": "SYSTEM",
    "LocalService": "LOCAL SERVICE",
    "LOCAL SERVICE": "LOCAL SERVICE",
    "NetworkService": "NETWORK SERVICE",
    "NETWORK SERVICE": "NETWORK SERVICE",
}
_STAND_IN_SID = "S-1-5-21-0-0-0-1000"
_STAND_IN_GUID = "{00000000-0000-0000-0000-000000000000}"
MANAGER_CALLS = frozenset({"create_job", "get_job", "enum_jobs", "get_error_description"})


@dataclass(frozen=True, slots=True)
class Problem:
    file: str
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class ScenarioError(Exception):
    """A scenario file that cannot be run: each problem names the file, line, field and what was expected."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


@dataclass(frozen=True, slots=True)
class LoadedScenario:
    """A validated scenario, with the text it came from (for line numbers in reports)."""

    scenario: Scenario
    path: Path
    text: str

    def line_of(self, *loc: str | int) -> int | None:
        return locate(self.text, loc)

    @property
    def name(self) -> str:
        return self.scenario.scenario.name


def _path_text(loc: tuple[str | int, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + (part if part.replace("_", "").replace("-", "").isalnum() else repr(part))
    return out


def _strip_tags(loc: tuple[str | int, ...], error_type: str) -> tuple[str | int, ...]:
    """pydantic puts the union tag after a step's index (``step.3.call.expect``); readers want ``step[3].expect``."""
    out: list[str | int] = []
    skip = False
    for i, part in enumerate(loc):
        if skip:
            skip = False
            continue
        out.append(part)
        after_step_index = isinstance(part, int) and i >= 1 and loc[i - 1] == "step" and error_type != "step_action"
        if after_step_index and i + 1 < len(loc) and loc[i + 1] in STEP_TAGS:
            skip = True
    return tuple(out)


def _describe(err: dict[str, Any]) -> str:
    message = str(err["msg"])
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    kind = err["type"]
    if kind == "missing":
        return "required field missing"
    if kind == "extra_forbidden":
        return "unknown field (see docs/scenarios.md for the fields this table takes)"
    if kind not in ("value_error", "step_action") and "input" in err and not isinstance(err["input"], dict | list):
        message += f" (got {err['input']!r})"
    return message


def loads(text: str, path: str | Path = "<scenario>") -> LoadedScenario:
    """Validate scenario text; ScenarioError lists every problem."""
    file = str(path)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem(file, None, "", f"not valid TOML: {exc}")]) from None
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = _strip_tags(tuple(err["loc"]), err["type"])
            problems.append(Problem(file, locate(text, loc), _path_text(loc), _describe(dict(err))))
        raise ScenarioError(problems) from None
    loaded = LoadedScenario(scenario, Path(path), text)
    problems = list(check_references(loaded))
    if problems:
        raise ScenarioError(problems)
    return loaded


def load(path: str | Path) -> LoadedScenario:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ScenarioError([Problem(str(p), None, "", f"cannot read the file: {exc.strerror or exc}")]) from None
    return loads(text, p)


def check_references(loaded: LoadedScenario) -> Iterable[Problem]:
    """Names used before they are defined, calls the API does not have, arguments it does not take."""
    sc = loaded.scenario
    file = str(loaded.path)

    def problem(loc: tuple[str | int, ...], message: str) -> Problem:
        return Problem(file, loaded.line_of(*loc), _path_text(loc), message)

    profiles = {resolve_profile(p).name for p in sc.scenario.profiles}
    accounts = set(sc.accounts) | set(BUILTIN_ACCOUNTS)
    for name in sc.accounts:
        if name in BUILTIN_ACCOUNTS or name.lower() in {v.lower() for v in BUILTIN_ACCOUNTS.values()}:
            yield problem(("accounts", name), f"{name!r} is a built-in account; give your account another name")
    for name, session in sc.sessions.items():
        if session.account not in accounts:
            message = f"unknown account {session.account!r}; declare it in [accounts]"
            yield problem(("sessions", name, "account"), message)
    sessions = set(sc.sessions) | {"User"}
    sessions |= {s.logon for s in sc.step if isinstance(s, LogonStep)}
    for name, caller in sc.callers.items():
        if caller.session not in sessions:
            yield problem(("callers", name, "session"), f"unknown session {caller.session!r}; declare it in [sessions]")
    identities = set(sc.callers) | sessions
    for url, res in sc.network.items():
        for i, who in enumerate(res.authorized):
            if who not in accounts:
                yield problem(("network", url, "authorized", i), f"unknown account {who!r}")
        if res.content_file is not None and not (loaded.path.parent / res.content_file).is_file():
            yield problem(("network", url, "content_file"), f"no file {res.content_file!r} next to the scenario")
    for directory, writers in sc.filesystem.restricted.items():
        for i, who in enumerate(writers):
            if who not in accounts:
                yield problem(("filesystem", "restricted", directory, i), f"unknown account {who!r}")

    jobs: set[str] = set()
    for index, step in enumerate(sc.step):
        at: tuple[str | int, ...] = ("step", index)
        for key in step.on:
            try:
                name = resolve_profile(key).name
            except ValueError as exc:
                yield problem((*at, "on", key), str(exc))
                continue
            if name not in profiles:
                yield problem((*at, "on", key), f"profile {key!r} is not among the scenario's profiles")
        for kind, name in placeholders(getattr(step, "args", None)) + placeholders(getattr(step, "returns", None)):
            if kind == "sid" and name not in accounts:
                field = "args" if isinstance(step, CallStep) else "returns"
                yield problem((*at, field), f"${{sid:{name}}}: unknown account")
            if kind == "job" and name not in jobs:
                yield problem(at, f"${{job:{name}}}: no job {name!r} was created before this step")
        if isinstance(step, CallStep):
            yield from _check_call(step, at, identities, jobs, problem)
        elif isinstance(step, LogonStep):
            account = step.account or (sc.sessions[step.logon].account if step.logon in sc.sessions else step.logon)
            if account not in accounts:
                yield problem((*at, "account"), f"unknown account {account!r}; give `account` or declare it")
        elif isinstance(step, LogoffStep):
            if step.logoff not in sessions:
                yield problem((*at, "logoff"), f"unknown session {step.logoff!r}")
        elif isinstance(step, ResourceStep) and step.resource not in sc.network:
            yield problem((*at, "resource"), f"{step.resource!r} is not in [network]")
        job = step.check if isinstance(step, CheckStep) else step.job
        reads_job = isinstance(step, CheckStep) or (not isinstance(step, CallStep) and step.job is not None)
        if reads_job and job not in jobs:
            field = "check" if isinstance(step, CheckStep) else "job"
            yield problem((*at, field), f"no job {job!r} was created before this step")
        needs_job = step.job_checks() or any(e.job_checks() for e in step.on.values())
        if needs_job and job is None:
            yield problem(at, "state, progress, error, error_count and transitions need `job` (the job they read)")


def _check_call(
    step: CallStep, at: tuple[str | int, ...], identities: set[str], jobs: set[str], problem: Any
) -> Iterable[Problem]:
    if step.caller not in identities:
        yield problem((*at, "caller"), f"unknown caller {step.caller!r}; declare it in [callers] or [sessions]")
    if step.impersonate is not None and step.impersonate not in identities:
        yield problem((*at, "impersonate"), f"unknown identity {step.impersonate!r}; name a caller or a session")
    if step.call == "set_blanket":
        yield from _check_set_blanket(step, at, jobs, problem)
        return
    info = calls.resolve(step.call, file=step.file is not None)
    if info is None:
        where = "a file method" if step.file is not None else "an emulated method"
        yield problem((*at, "call"), f"{step.call!r} is not {where}; see docs/scenarios.md for the list")
        return
    if step.call == "create_job":
        if step.job is None:
            yield problem(at, "create_job needs `job`, the name later steps use for the new job")
        elif step.job in jobs:
            yield problem((*at, "job"), f"a job named {step.job!r} was already created")
        else:
            jobs.add(step.job)
    elif info.target != "manager":
        if step.job is None:
            yield problem(at, f"{step.call} is a method of a job: give `job`")
        elif step.job not in jobs:
            yield problem((*at, "job"), f"no job {step.job!r} was created before this step")
    if step.file is not None and info.target != "file":
        yield problem((*at, "file"), f"{step.call} is not a file method")
    # Placeholders are filled at run time; a stand-in value is enough to check names and enum members.
    args = substitute(step.call_args(), lambda _: _STAND_IN_SID, lambda _: _STAND_IN_GUID)
    try:
        calls.bind(info, args)
    except ValueError as exc:
        yield problem((*at, "args"), str(exc))


BLANKET_POINTERS = ("manager", "job", "token_options")


def _check_set_blanket(step: CallStep, at: tuple[str | int, ...], jobs: set[str], problem: Any) -> Iterable[Problem]:
    """``set_blanket``: CoSetProxyBlanket on one of the caller's pointers (args pointer, level, cloaking)."""
    args = step.args
    if not isinstance(args, dict):
        yield problem((*at, "args"), "set_blanket takes a table: { pointer = ..., level = ..., cloaking = ... }")
        return
    unknown = [k for k in args if k not in ("pointer", "level", "cloaking")]
    if unknown:
        yield problem((*at, "args"), f"unknown argument {unknown[0]!r} for set_blanket(pointer, level, cloaking)")
    try:
        BlanketSpec.model_validate({k: v for k, v in args.items() if k in ("level", "cloaking")})
    except ValidationError as exc:
        yield problem((*at, "args"), exc.errors()[0]["msg"])
    pointer = args.get("pointer", "job")
    if pointer not in BLANKET_POINTERS:
        yield problem((*at, "args"), f"pointer must be one of {', '.join(BLANKET_POINTERS)}, not {pointer!r}")
    elif pointer != "manager" and step.job not in jobs:
        yield problem(at, f"set_blanket on a {pointer} pointer needs `job`, a job created before this step")
