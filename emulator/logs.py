"""Logging of API calls: one record per COM call on the ``emulator.calls`` logger, at DEBUG.

The wrapper of each ``@com_method`` (com/registry.py) asks once per call whether it is enabled; only when
``emulator.calls`` is enabled for DEBUG is the caller identified and the outcome recorded. The
``emulator`` logger has a ``NullHandler``, so nothing is printed unless the application (or pytest's log
capture, or the plugin) enables it. Records carry ``extra`` fields: ``bits_caller`` (account name),
``bits_caller_sid``, ``bits_method`` (``Interface::Method``), ``bits_hresult`` (unsigned int) and
``bits_hresult_name``.

State changes, requests and callbacks are logged by ``emulator.history`` (loggers ``emulator.jobs``,
``emulator.network``, ``emulator.notify``, at INFO; a request to an unregistered host in strict mode at
WARNING). Guide: docs/observability.md.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .hresults import BitsError

if TYPE_CHECKING:
    from .com.registry import MethodEntry

ROOT = logging.getLogger("emulator")
CALLS = logging.getLogger("emulator.calls")
ROOT.addHandler(logging.NullHandler())

# The disabled path reads the answer ``Logger.isEnabledFor`` caches per level (``Logger._cache``, which
# ``setLevel``, ``logging.disable`` and the config functions clear in place through the manager) instead
# of calling it: a dict lookup instead of a method call on every API call (docs/observability.md). Only a
# cached False skips the call; a missing entry or True asks ``isEnabledFor`` itself, which also honours
# ``Logger.disabled``. Where a Python's logging has no such dict, the wrappers call ``isEnabledFor``
# every time. A test pins the behaviour (test_observability.py).
FAST_CHECK = isinstance(getattr(CALLS, "_cache", None), dict)


def _ask(level: int) -> None:
    return None


def cached_answer(logger: logging.Logger) -> Callable[[int], bool | None]:
    """``logger``'s cached ``isEnabledFor`` answer per level (see ``FAST_CHECK``): test ``is not False``
    before calling ``isEnabledFor``. Without the cache, every answer is None (ask)."""
    cache = getattr(logger, "_cache", None)
    return cache.get if isinstance(cache, dict) else _ask

# The methods whose int result is an HRESULT (a success code other than S_OK) rather than a value.
HRESULT_RESULTS = frozenset({"Cancel", "Complete", "RemoveCredentials", "RemoveClientCertificate", "Skip"})


def _caller_of(obj: Any) -> tuple[str, str]:
    """(account name, SID) of the identity BITS sees for a call on ``obj`` now, without side effects."""
    proxy = getattr(obj, "_proxy", None)
    core = getattr(obj, "_svc", None)
    if proxy is None or core is None:
        return "?", "?"
    if proxy.anonymous:
        return "ANONYMOUS", "S-1-5-7"
    token = proxy.peek(core.thread_token)
    return token.user_name, token.user_sid


def _job_of(obj: Any) -> str:
    rec = getattr(obj, "_rec", None)
    if rec is None or not hasattr(rec, "display_name"):
        return ""
    return f" job {rec.display_name!r}"


# The record points at the line that made the API call: log_call ← the method's wrapper ← the caller.
_STACKLEVEL = 3


def log_call(entry: MethodEntry, obj: Any, policy: Callable[..., Any], arguments: tuple[Any, ...]) -> Any:
    """Run ``policy(*arguments)`` (the method's call policy and body) and log one record with its caller
    and HRESULT."""
    name, sid = _caller_of(obj)
    method = f"{entry.interface.name}::{entry.com_name}"
    job = _job_of(obj)
    try:
        result = policy(*arguments)
    except BitsError as exc:
        _emit(name, sid, method, job, exc.hresult, exc.name)
        raise
    except (TypeError, ValueError) as exc:
        # Bad Python input is refused before COM would see it: no HRESULT, the exception type instead.
        CALLS.debug(
            "%s %s%s -> %s: %s",
            name,
            method,
            job,
            type(exc).__name__,
            exc,
            extra={"bits_caller": name, "bits_caller_sid": sid, "bits_method": method},
            stacklevel=_STACKLEVEL,
        )
        raise
    code = 0
    if entry.com_name in HRESULT_RESULTS and isinstance(result, int) and not isinstance(result, bool):
        code = result
    _emit(name, sid, method, job, code, _hresult_name(code))
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
        stacklevel=_STACKLEVEL + 1,  # _emit is one frame deeper than log_call
    )
