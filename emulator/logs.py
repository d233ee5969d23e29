"""Logging of API calls: one record per COM call on the ``emulator.calls`` logger, at DEBUG.

Every ``@com_method`` is wrapped once, at class creation, by a function with the method's exact
signature (so a call costs one extra Python frame and no ``*args``/``**kwargs`` packing) whose first
statement asks whether ``emulator.calls`` is enabled for DEBUG; only when it is is the caller
identified and the outcome recorded. The ``emulator`` logger has a ``NullHandler``, so nothing is printed unless the
application (or pytest's log capture, or the plugin) enables it. Records carry ``extra`` fields:
``bits_caller`` (account name), ``bits_caller_sid``, ``bits_method`` (``Interface::Method``),
``bits_hresult`` (unsigned int) and ``bits_hresult_name``.

State changes, requests and callbacks are logged by ``emulator.history`` (loggers ``emulator.jobs``,
``emulator.network``, ``emulator.notify``, at INFO; a request to an unregistered host in strict mode at
WARNING). Guide: docs/observability.md.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from .hresults import BitsError

if TYPE_CHECKING:
    from .com.registry import MethodEntry

ROOT = logging.getLogger("emulator")
CALLS = logging.getLogger("emulator.calls")
ROOT.addHandler(logging.NullHandler())

F = TypeVar("F", bound=Callable[..., object])

# The disabled path reads the answer ``Logger.isEnabledFor`` caches per level (``Logger._cache``, which
# ``setLevel``, ``logging.disable`` and the config functions clear in place through the manager) instead
# of calling it: a dict lookup instead of a method call, a third of the wrapper's cost on the cheapest
# calls (docs/observability.md). Only a cached False skips the call; a missing entry or True asks
# ``isEnabledFor`` itself, which also honours ``Logger.disabled``. Where a Python's logging has no such
# dict, the wrapper calls ``isEnabledFor`` every time. A test pins the behaviour (test_observability.py).
_FAST_CHECK = isinstance(getattr(CALLS, "_cache", None), dict)

# The methods whose int result is an HRESULT (a success code other than S_OK) rather than a value.
HRESULT_RESULTS = frozenset({"Cancel", "Complete", "RemoveCredentials", "RemoveClientCertificate", "Skip"})


def _caller_of(obj: Any) -> tuple[str, str]:
    """(account name, SID) of the identity BITS sees for a call on ``obj`` now, without side effects."""
    proxy = getattr(obj, "_proxy", None)
    svc = getattr(obj, "_svc", None)
    if proxy is None or svc is None:
        return "?", "?"
    if proxy.anonymous:
        return "ANONYMOUS", "S-1-5-7"
    token = proxy.peek(svc.thread_token)
    return token.user_name, token.user_sid


def _job_of(obj: Any) -> str:
    rec = getattr(obj, "_rec", None)
    if rec is None or not hasattr(rec, "display_name"):
        return ""
    return f" job {rec.display_name!r}"


def traced_call(
    entry: MethodEntry, obj: Any, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run ``func(*args, **kwargs)`` (the method) and log one record with its caller and HRESULT."""
    name, sid = _caller_of(obj)
    method = f"{entry.interface.name}::{entry.com_name}"
    try:
        result = func(*args, **kwargs)
    except BitsError as exc:
        _emit(name, sid, method, _job_of(obj), exc.hresult, exc.name)
        raise
    except (TypeError, ValueError) as exc:
        # Bad Python input is refused before COM would see it: no HRESULT, the exception type instead.
        CALLS.debug(
            "%s %s%s -> %s: %s",
            name,
            method,
            _job_of(obj),
            type(exc).__name__,
            exc,
            extra={"bits_caller": name, "bits_caller_sid": sid, "bits_method": method},
            stacklevel=3,  # the record points at the line that made the call (this, the wrapper, caller)
        )
        raise
    code = 0
    if entry.com_name in HRESULT_RESULTS and isinstance(result, int) and not isinstance(result, bool):
        code = result
    _emit(name, sid, method, _job_of(obj), code, _hresult_name(code))
    return result


def _hresult_name(code: int) -> str:
    if code == 0:
        return "S_OK"
    from . import hresults

    entry = hresults.lookup(code)
    return entry.name if entry is not None else f"0x{code:08X}"


def _emit(name: str, sid: str, method: str, job: str, code: int, code_name: str) -> None:
    CALLS.debug(
        "%s %s%s -> %s (0x%08X)",
        name,
        method,
        job,
        code_name,
        code,
        extra={
            "bits_caller": name,
            "bits_caller_sid": sid,
            "bits_method": method,
            "bits_hresult": code,
            "bits_hresult_name": code_name,
        },
        stacklevel=4,  # the record points at the line that made the call (_emit, traced_call, the wrapper)
    )


def traced(func: F, entry: MethodEntry) -> F:
    """``func`` wrapped for call logging, with the same signature (no ``*args`` packing when disabled)."""
    sig = inspect.signature(func)
    namespace: dict[str, Any] = {
        "_func": func,
        "_entry": entry,
        "_calls": CALLS,
        "_enabled": CALLS.isEnabledFor,
        "_DEBUG": logging.DEBUG,
        "_traced": traced_call,
    }
    params: list[str] = []
    passed: list[str] = []
    positional: list[str] = []  # the same arguments as a tuple and a dict, for the logging path
    keywords: list[str] = []
    star_done = False
    kinds = [p.kind for p in sig.parameters.values()]
    for i, p in enumerate(sig.parameters.values()):
        default = ""
        if p.default is not inspect.Parameter.empty:
            namespace[f"_d{i}"] = p.default
            default = f"=_d{i}"
        if p.kind is inspect.Parameter.VAR_POSITIONAL:
            params.append(f"*{p.name}")
            passed.append(f"*{p.name}")
            positional.append(f"*{p.name}")
            star_done = True
        elif p.kind is inspect.Parameter.VAR_KEYWORD:
            params.append(f"**{p.name}")
            passed.append(f"**{p.name}")
            keywords.append(f"**{p.name}")
        elif p.kind is inspect.Parameter.KEYWORD_ONLY:
            if not star_done:
                params.append("*")
                star_done = True
            params.append(f"{p.name}{default}")
            passed.append(f"{p.name}={p.name}")
            keywords.append(f"{p.name!r}: {p.name}")
        else:
            params.append(f"{p.name}{default}")
            passed.append(p.name)
            positional.append(p.name)
            if p.kind is inspect.Parameter.POSITIONAL_ONLY and (
                i + 1 == len(kinds) or kinds[i + 1] is not inspect.Parameter.POSITIONAL_ONLY
            ):
                params.append("/")
    first = next(iter(sig.parameters))
    args = ", ".join(passed)
    check = "_calls._cache.get(_DEBUG) is not False and _enabled(_DEBUG)" if _FAST_CHECK else "_enabled(_DEBUG)"
    source = (
        f"def {func.__name__}({', '.join(params)}):\n"
        f"    if {check}:\n"
        f"        return _traced(_entry, {first}, _func, ({', '.join(positional)},), {{{', '.join(keywords)}}})\n"
        f"    return _func({args})\n"
    )
    exec(compile(source, f"<com_method {entry.interface.name}::{entry.com_name}>", "exec"), namespace)
    wrapper = namespace[func.__name__]
    wrapper.__module__ = func.__module__
    wrapper.__qualname__ = func.__qualname__
    wrapper.__doc__ = func.__doc__
    wrapper.__annotations__ = getattr(func, "__annotations__", {})
    wrapper.__wrapped__ = func
    wrapper.__dict__.update(getattr(func, "__dict__", {}))
    return wrapper  # type: ignore[no-any-return]
