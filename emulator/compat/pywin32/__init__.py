"""A drop-in for the parts of pywin32 312 that BITS clients use, bound to an emulated BITS service.

    from emulator import BitsService
    from emulator.compat.pywin32 import installed

    with BitsService() as svc, installed(svc):
        import pythoncom
        from win32com.bits import bits
        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None,
                                         pythoncom.CLSCTX_LOCAL_SERVER, bits.IID_IBackgroundCopyManager)

Inside ``installed(service, token=None)`` the modules ``pythoncom``, ``pywintypes``, ``win32api``,
``win32event``, ``win32con``, ``win32security``, ``win32com`` (with ``win32com.bits`` and
``win32com.server.util``) and ``win32comext`` (with ``win32comext.bits``) import as one client process
running with ``token`` (default: the service's interactive user). On exit ``sys.modules`` holds exactly
what it held before for those names. The layer is faithful to pywin32 312, limitations included
(docs/pywin32.md); ``unwrap()`` is the explicit way out to the native API for what pywin32 lacks.
"""

from __future__ import annotations

import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ... import AccessToken
from . import _modules
from ._process import Process, TokenHandle
from ._types import PyIID, com_error
from ._wrappers import PyIUnknown

if TYPE_CHECKING:
    from ...service import BitsService

__all__ = ["MODULE_NAMES", "Pywin32", "com_error", "installed", "unwrap"]

_MISSING = object()
_install_lock = threading.Lock()

MODULE_NAMES: tuple[str, ...] = (
    "pywintypes",
    "pythoncom",
    "win32api",
    "win32event",
    "win32con",
    "win32security",
    "win32comext",
    "win32comext.bits",
    "win32comext.bits.bits",
    "win32com",
    "win32com.bits",
    "win32com.bits.bits",
    "win32com.server",
    "win32com.server.util",
)
_PACKAGES = ("win32com.", "win32comext.")


class Pywin32:
    """The installed layer: the module objects and the client process behind them."""

    def __init__(self, service: BitsService, process: Process, modules: dict[str, types.ModuleType]) -> None:
        self.service = service
        self.process = process
        self.modules = modules

    @property
    def token(self) -> AccessToken:
        """The client process's token."""
        return self.process.token

    @property
    def pending_messages(self) -> int:
        """Calls BITS made into this process that wait for ``pythoncom.PumpWaitingMessages()``."""
        return len(self.process.messages)

    def token_handle(self, token: AccessToken) -> TokenHandle:
        """A token handle for ``win32security.ImpersonateLoggedOnUser`` (as LogonUser would give)."""
        if not isinstance(token, AccessToken):
            raise TypeError(f"token must be an emulator.AccessToken, not {type(token).__name__}")
        return TokenHandle(token)

    def __getattr__(self, name: str) -> types.ModuleType:
        modules = self.__dict__.get("modules", {})
        if name in modules:
            return modules[name]  # type: ignore[no-any-return]
        raise AttributeError(name)

    def __repr__(self) -> str:
        return f"<pywin32 layer for {self.token.user_name} on {self.service!r}>"


@contextmanager
def installed(service: BitsService, token: AccessToken | None = None) -> Iterator[Pywin32]:
    """Make the pywin32 modules importable as one client process of ``service`` running with ``token``."""
    from ...service import BitsService

    if not isinstance(service, BitsService):
        raise TypeError(f"service must be an emulator.BitsService, not {type(service).__name__}")
    if token is None:
        token = service.current_session.token
    if not isinstance(token, AccessToken):
        raise TypeError(f"token must be an emulator.AccessToken, not {type(token).__name__}")
    process = Process(service, token)
    modules = _modules.build(process)
    with _install_lock:
        saved = {name: sys.modules.get(name, _MISSING) for name in MODULE_NAMES}
        before = {name for name in sys.modules if name.startswith(_PACKAGES)}
        sys.modules.update(modules)
    try:
        yield Pywin32(service, process, modules)
    finally:
        process.revert()
        with _install_lock:
            for name in [n for n in sys.modules if n.startswith(_PACKAGES) and n not in before]:
                if name not in saved:
                    del sys.modules[name]  # a submodule imported inside the context
            for name, module in saved.items():
                if module is _MISSING:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = module  # type: ignore[assignment]


def unwrap(obj: Any) -> Any:
    """The native interface object behind a pywin32 wrapper: the explicit opt-in to what pywin32 does
    not wrap (``IBitsTokenOptions``, Job4/Job5, HttpOptions, File3–File6). Real pywin32 has no such way."""
    if isinstance(obj, PyIID):
        return obj.uuid
    if not isinstance(obj, PyIUnknown):
        raise TypeError(f"unwrap() takes a pywin32 interface object, not {type(obj).__name__}")
    return obj._native
