"""The registry of emulated COM methods and the one dispatcher that applies each method's call policy.

Every method of the facade is declared with ``@com_method``: its interface (which also fixes the minimum
BITS version: a profile whose BITS lacks the interface answers E_NOINTERFACE), its COM name, the access it
needs (``Access``), whether the job must still be live (not ACKNOWLEDGED or CANCELLED), and the converters
of its arguments. The dispatcher then runs, for every call and in this order (docs/ARCHITECTURE.md#api-call;
the order where Microsoft's pages are silent is our reading, docs/design.md#checks):

1. argument conversion: wrong Python types raise ``TypeError`` (or ``OverflowError`` for a number that does
   not fit its C type) before anything is touched, as COM marshalling rejects them before the call reaches
   the service;
2. a closed service (``svc.close()``) answers RPC_S_SERVER_UNAVAILABLE, as a pointer whose server process is
   gone does; then the interface on this profile (E_NOINTERFACE);
3. the service lock; the caller's identity, ANONYMOUS refused (E_ACCESSDENIED);
4. the catch-up of the simulation to "now";
5. the access check against the object's job (READ, WRITE, OWNER, TAKE_OWNERSHIP; CALLER for objects
   whose rule depends on the arguments, decided by the service layer);
6. liveness (BG_E_INVALID_STATE for a job that has left the queue);
7. the body, which receives the caller and the converted arguments, and asks the service layer.

It also logs one DEBUG record per call on ``emulator.calls`` (caller, ``Interface::Method``, HRESULT),
only when that logger is enabled (emulator.logs). The coverage document (COVERAGE.md) and the fuzz
harness are generated from ``REGISTRY``, so what they claim is what the code declares.
"""

from __future__ import annotations

import enum
import inspect
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from .. import hresults
from ..constants import AnyInterface
from ..domain import access as rules
from ..domain.states import FINAL_STATES
from ..hresults import BitsError
from ..identity.tokens import AccessToken
from ..logs import CALLS, FAST_CHECK, log_call

if TYPE_CHECKING:
    from ..domain.records import JobRecord

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")

Converter = Callable[[Any, str], Any]
FIRST_BITS = (1, 0)  # BITS 1.0: its interfaces exist on every Windows version a profile can name


class Access(enum.Enum):
    """What the caller must be allowed to do to the object's job (docs/reference/security.md#ownership)."""

    CALLER = "caller"  # no job-bound check here: the object has no job, or the rule depends on the arguments
    READ = "read"  # owner, administrator (elevated) or LocalSystem
    WRITE = "write"  # READ, and the job is live
    OWNER = "owner"  # WRITE, and the caller is the owner itself (credentials, certificates, headers)
    TAKE_OWNERSHIP = "take_ownership"  # an administrator (elevated) or LocalSystem, and the job is live


@dataclass(frozen=True, slots=True)
class MethodEntry:
    interface: AnyInterface
    com_name: str
    python_name: str
    notes: str
    access: Access = Access.CALLER
    live: bool = False
    converters: tuple[tuple[int, str, Converter], ...] = ()  # (position after self, parameter name, converter)

    @property
    def label(self) -> str:
        return f"{self.interface.name}::{self.com_name}"


REGISTRY: list[MethodEntry] = []


def com_method(
    interface: AnyInterface,
    com_name: str,
    notes: str = "",
    *,
    access: Access,
    live: bool | None = None,
    convert: Mapping[str, Converter] | None = None,
    python_name: str | None = None,
) -> Callable[[Callable[Concatenate[S, AccessToken, P], R]], Callable[Concatenate[S, P], R]]:
    """Declare a facade method. The body is ``def m(self, caller, <public parameters>)``; callers call
    ``m(<public parameters>)``. ``live`` defaults to True for WRITE, OWNER and TAKE_OWNERSHIP.
    ``python_name`` names a body installed under another name (the enumerators share theirs)."""
    must_live = access in (Access.WRITE, Access.OWNER, Access.TAKE_OWNERSHIP) if live is None else live

    def register(func: Callable[Concatenate[S, AccessToken, P], R]) -> Callable[Concatenate[S, P], R]:
        sig = inspect.signature(func)
        params = list(sig.parameters.values())
        public = [params[0], *params[2:]]  # without the caller, which the dispatcher supplies
        names = [p.name for p in public[1:]]
        converters: list[tuple[int, str, Converter]] = []
        for name, conv in (convert or {}).items():
            if name not in names:
                raise TypeError(f"{func.__qualname__}: no parameter {name!r} to convert")
            converters.append((names.index(name), name, conv))
        name = python_name or func.__name__
        entry = MethodEntry(interface, com_name, name, notes, access, must_live, tuple(converters))
        REGISTRY.append(entry)
        return _build(func, entry, sig.replace(parameters=public))

    return register


def _missing(core: Any, entry: MethodEntry) -> None:
    version = ".".join(map(str, core.profile.bits_version))
    raise BitsError(
        hresults.E_NOINTERFACE, f"{entry.interface.name} needs a newer BITS than {core.profile.name} ({version})"
    )


def _closed() -> None:
    raise BitsError(
        hresults.RPC_S_SERVER_UNAVAILABLE,
        "the service is closed (svc.close()): the pointers of a closed service answer no call",
    )


def _dead(rec: JobRecord) -> None:
    raise BitsError(hresults.BG_E_INVALID_STATE, f"job is {rec.state.name}")


def _check_owner(caller: AccessToken, rec: JobRecord) -> None:
    rules.check_write(caller, rec)
    rules.check_owner_only(caller, rec)


_CHECKS: dict[Access, Callable[[AccessToken, JobRecord], None]] = {
    Access.READ: rules.check_read,
    Access.WRITE: rules.check_write,
    Access.OWNER: _check_owner,
    Access.TAKE_OWNERSHIP: rules.check_take_ownership,
}


def _build(func: Callable[..., Any], entry: MethodEntry, public: inspect.Signature) -> Callable[..., Any]:
    """The method users call: generated once per declared method from its policy, with the body's
    signature minus the caller (a wrong argument count is Python's own TypeError, raised before
    anything), and the policy written out for that method — the order is the module docstring's. One
    frame per call plus the body: the same depth as hand-written code."""
    namespace: dict[str, Any] = {
        "_entry": entry,
        "_func": func,
        "_iface": entry.interface,
        "_version": entry.interface.bits_version,
        "_missing": _missing,
        "_dead": _dead,
        "_closed": _closed,
        "_log": log_call,
        "_is_enabled": CALLS.isEnabledFor,
        "_DEBUG": logging.DEBUG,
    }
    if FAST_CHECK:
        namespace["_cached"] = CALLS._cache.get  # type: ignore[attr-defined]  # cleared in place, never replaced
        enabled = "_cached(_DEBUG) is not False and _is_enabled(_DEBUG)"
    else:
        enabled = "_is_enabled(_DEBUG)"
    params: list[str] = []
    passed: list[str] = []
    for i, p in enumerate(public.parameters.values()):
        default = ""
        if p.default is not inspect.Parameter.empty:
            namespace[f"_d{i}"] = p.default
            default = f"=_d{i}"
        if p.kind not in (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.POSITIONAL_ONLY):
            raise TypeError(f"{func.__qualname__}: COM methods take plain named parameters only")
        params.append(f"{p.name}{default}")
        passed.append(p.name)
    me = passed[0]
    args = ", ".join(passed)
    policy = [f"def _policy({args}):"]
    for pos, name, conv in entry.converters:
        namespace[f"_c{pos}"] = conv
        policy.append(f"    {name} = _c{pos}({name}, {name!r})")  # 1. Python types, before anything
    policy.append(f"    core = {me}._svc")
    # 2. a closed service answers no call: the server process of every pointer is gone (RPC_S_SERVER_UNAVAILABLE).
    # (An attribute read per call; the lock is not taken, so a call racing close() gets the store's error.)
    policy += ["    if core.closed:", "        _closed()"]
    if entry.interface.bits_version > FIRST_BITS:
        # 2. the interface on this Windows version (BITS 1.0 interfaces are on every version: no check)
        policy += ["    if core.profile.bits_version < _version:", "        _missing(core, _entry)"]
    policy += [
        # 3. the lock, and the caller (ANONYMOUS refused). acquire/release rather than ``with``: a with
        # statement on a C lock looks up and binds __enter__ and __exit__ at every call, about twice the
        # cost of the two calls (0.6 against 0.3 µs on 3.11), paid on every call of every method.
        "    lock = core.lock",
        "    lock.acquire()",
        "    try:",
        # A pointer whose calls always present the process token (Proxy.fixed) needs no look at the
        # thread: that is nearly every pointer, so the common case costs two attribute reads.
        f"        proxy = {me}._proxy",
        f"        caller = proxy.token if proxy.fixed else {me}._caller()",
        "        core.scheduler.catch_up()",  # 4. the simulation up to now
    ]
    if entry.access is not Access.CALLER:  # 5. access to the object's job, 6. liveness
        namespace["_check"] = _CHECKS[entry.access]
        policy += [f"        rec = {me}._job_record", "        _check(caller, rec)"]
        if entry.live:
            # (JobRecord.is_final written out: a property call less on every call of a live-job method)
            namespace["_FINAL"] = tuple(FINAL_STATES)  # (two items: identity tests, no hashing)
            policy += ["        if rec.state in _FINAL:", "            _dead(rec)"]
    policy.append(f"        return _func({', '.join([me, 'caller', *passed[1:]])})")  # 7. the body
    policy += ["    finally:", "        lock.release()"]
    # The method users call runs the policy written out in its own body (one frame per call, not two);
    # only when the emulator.calls logger wants a record does it go through ``_policy`` inside log_call.
    wrapper_lines = [
        f"def {entry.python_name}({', '.join(params)}):",
        f"    if {enabled}:",  # the emulator.calls logger wants a record of this call (emulator/logs.py)
        f"        return _log(_entry, {me}, _policy, ({args},))",
        *policy[1:],
    ]
    source = "\n".join(policy) + "\n" + "\n".join(wrapper_lines) + "\n"
    exec(compile(source, f"<com_method {entry.label}>", "exec"), namespace)
    wrapper: Callable[..., Any] = namespace[entry.python_name]
    wrapper.__module__ = func.__module__
    wrapper.__qualname__ = func.__qualname__.rpartition(".")[0] + "." + entry.python_name
    wrapper.__doc__ = func.__doc__
    wrapper.__signature__ = public  # type: ignore[attr-defined]  # what inspect and the fuzz harness see
    wrapper.__wrapped__ = func  # type: ignore[attr-defined]
    wrapper.com_entry = entry  # type: ignore[attr-defined]
    return wrapper
