"""One client process as pywin32 code sees it: its token, its COM initialisation and security blanket,
its message queue (where BITS' calls into an STA wait to be pumped), its events and its waits.

Callbacks: the native service calls notification objects synchronously while it catches the simulation
up. The process registers a *sink* with the native job; the sink only queues a message. The message is
delivered to the Python object behind ``wrap(obj)`` by ``pythoncom.PumpWaitingMessages()`` (which
``MsgWaitForMultipleObjects`` announces as ``WAIT_OBJECT_0 + nCount``), on the pumping thread, with
wrapper arguments — as an STA receives BITS' calls. Never from another thread.

Waiting: a wait does not sleep. It catches the simulation up; when nothing is ready it runs the service's
simulation forward by up to the timeout (``svc.run_until_idle``; with a ManualClock the clock moves, with
any other clock only the simulation does) and reports what became ready. So a pywin32 message loop runs
deterministically and as fast as the events it waits for.
"""

from __future__ import annotations

import threading
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ... import AccessToken, BitsError, Blanket, ManualClock
from . import _types as t
from . import _wrappers as w

if TYPE_CHECKING:
    from ...service import BitsService

WAIT_OBJECT_0 = 0
WAIT_TIMEOUT = 258
INFINITE = 0xFFFFFFFF
QS_POSTMESSAGE = 0x08
QS_SENDMESSAGE = 0x40
QS_ALLPOSTMESSAGE = 0x100
_MESSAGE_BITS = QS_POSTMESSAGE | QS_SENDMESSAGE | QS_ALLPOSTMESSAGE

CO_E_NOTINITIALIZED = 0x800401F0
REGDB_E_CLASSNOTREG = 0x80040154
RPC_E_TOO_LATE = 0x80010119
RPC_E_CHANGED_MODE = 0x80010106
S_FALSE = 1
CLSCTX_LOCAL_SERVER = 0x4

# The manager's CLSID and its versioned aliases (BITS 1.5 … 10.3): the same class, registered only when
# the Windows release has that BITS version (https://learn.microsoft.com/en-us/windows/win32/bits/
# determining-the-version-of-bits-on-a-computer).
MANAGER_CLSIDS: dict[uuid.UUID, tuple[int, int]] = {
    w.CLSID_BackgroundCopyManager: (1, 0),
    uuid.UUID("F087771F-D74F-4C1A-BB8A-E16ACA9124EA"): (1, 5),
    uuid.UUID("6D18AD12-BDE3-4393-B311-099C346E6DF9"): (2, 0),
    uuid.UUID("03CA98D6-FF5D-49B8-ABC6-03DD84127020"): (2, 5),
    uuid.UUID("659CDEA7-489E-11D9-A9CD-000D56965251"): (3, 0),
    uuid.UUID("BB6DF56B-CACE-11DC-9992-0019B93A3A84"): (4, 0),
    uuid.UUID("1ECCA34C-E88A-44E3-8D6A-8921BDE9E452"): (5, 0),
    uuid.UUID("4BD3E4E1-7BD4-4A2B-9964-496400DE5193"): (10, 1),
    uuid.UUID("4575438F-A6C8-4976-B0FE-2F26B80D959E"): (10, 2),
    uuid.UUID("5FD42AD5-C04E-4D36-ADC7-E08FF15737AD"): (10, 3),
}


@dataclass(slots=True)
class Message:
    method: str
    dispatch: w.PyIDispatch
    job: Any
    error: Any = None
    reserved: int = 0


class CallbackSink:
    """What the native job holds as its notify interface: IBackgroundCopyCallback's three methods, each
    of which only posts a message to the client's queue."""

    __slots__ = ("_process", "dispatch")

    def __init__(self, process: Process, dispatch: w.PyIDispatch) -> None:
        self._process = process
        self.dispatch = dispatch

    def JobTransferred(self, job: Any) -> None:
        self._process.post(Message("JobTransferred", self.dispatch, job))

    def JobError(self, job: Any, error: Any) -> None:
        self._process.post(Message("JobError", self.dispatch, job, error))

    def JobModification(self, job: Any, reserved: int) -> None:
        self._process.post(Message("JobModification", self.dispatch, job, None, reserved))


class OpaqueSink:
    """An object registered with SetNotifyInterface that does not implement IBackgroundCopyCallback:
    BITS' QueryInterface for the callback fails, so nothing can be delivered to it."""

    __slots__ = ("dispatch",)

    def __init__(self, dispatch: w.PyIUnknown | None) -> None:
        self.dispatch = dispatch


class Event(t.PyHANDLE):
    """A Win32 event object (CreateEvent)."""

    __slots__ = ("manual_reset", "signaled")

    def __init__(self, manual_reset: bool, signaled: bool) -> None:
        super().__init__()
        self.manual_reset = manual_reset
        self.signaled = signaled

    def consume(self) -> bool:
        if not self.signaled:
            return False
        if not self.manual_reset:
            self.signaled = False  # an auto-reset event releases one wait and resets
        return True


class TokenHandle(t.PyHANDLE):
    """A token handle (LogonUser, OpenProcessToken) carrying the emulator's AccessToken."""

    __slots__ = ("token",)

    def __init__(self, token: AccessToken) -> None:
        super().__init__()
        self.token = token


class Process:
    def __init__(self, service: BitsService, token: AccessToken) -> None:
        self.service = service
        self.token = token
        self.blanket: Blanket | None = None
        self.security_set = False
        self.marshalled = False  # a proxy exists: CoInitializeSecurity is too late from now on
        self.apartments: dict[int, int] = {threading.get_ident(): 1}  # thread → CoInitialize count
        self.messages: deque[Message] = deque()
        self.lock = threading.RLock()
        self.waited = 0.0  # simulated seconds waits moved ahead of a clock that does not move itself
        self.impersonations: dict[int, list[Any]] = {}
        self.interface_names: dict[str, t.PyIID] = {}

    # COM initialisation and security ------------------------------------------------------------

    def co_initialize(self, flags: int) -> int:
        me = threading.get_ident()
        with self.lock:
            count = self.apartments.get(me, 0)
            self.apartments[me] = count + 1
        return S_FALSE if count else 0

    def co_uninitialize(self) -> None:
        me = threading.get_ident()
        with self.lock:
            count = self.apartments.get(me, 0)
            if count <= 1:
                self.apartments.pop(me, None)
            else:
                self.apartments[me] = count - 1

    def require_apartment(self) -> None:
        if threading.get_ident() not in self.apartments:
            raise t.make_com_error(CO_E_NOTINITIALIZED)

    def initialize_security(self, level: int, capabilities: int) -> None:
        self.require_apartment()
        if self.security_set or self.marshalled:
            raise t.make_com_error(RPC_E_TOO_LATE)
        blanket = Blanket(level, capabilities & 0x60)
        try:
            # The native API validates the blanket as CoInitializeSecurity would (E_INVALIDARG).
            self.service.connect(self.token, blanket=blanket)
        except BitsError as exc:
            raise t.from_bits_error(exc) from None
        self.blanket = blanket
        self.security_set = True

    def create_instance(self, clsid: uuid.UUID, outer: Any, context: int, iid: uuid.UUID) -> Any:
        # pywin32 converts unkOuter (a COM object, one with an ``_oleobj_``, or None) before it calls
        # CoCreateInstance: a bad one is a TypeError whatever the CLSID and the thread's COM state.
        com_object = isinstance(outer, w.PyIUnknown) or isinstance(getattr(outer, "_oleobj_", None), w.PyIUnknown)
        if outer is not None and not com_object:
            raise TypeError("The Python instance can not be converted to a COM object")
        self.require_apartment()
        version = MANAGER_CLSIDS.get(clsid)
        if version is None or version > self.service.profile.bits_version or not context & CLSCTX_LOCAL_SERVER:
            raise t.make_com_error(REGDB_E_CLASSNOTREG)  # BITS is a local server with these CLSIDs only
        if outer is not None:
            raise t.make_com_error(w.CLASS_E_NOAGGREGATION)
        with w.com_call():
            manager = self.service.connect(self.token, blanket=self.blanket)
            native = manager if iid == w.IID_IBackgroundCopyManager else manager.query_interface(iid)
        self.marshalled = True
        return self.make_wrapper(iid, native, None)

    # wrappers -----------------------------------------------------------------------------------

    def make_wrapper(self, iid: uuid.UUID, native: Any, source: w.PyIUnknown | None) -> w.PyIUnknown:
        """PyCom_PyObjectFromIUnknown: the wrapper type registered for ``iid``, else TypeError."""
        cls = w.TYPE_BY_IID.get(iid)
        if cls is None:
            raise TypeError(w.NO_WRAPPER)
        if isinstance(native, w.Policy):  # a Python object's gateway, reached through QueryInterface
            if cls is w.PyIDispatch:
                return source if isinstance(source, w.PyIDispatch) else w.PyIDispatch(self, native)
            return w.PyIUnknown(self, native)
        if cls is w.PyIDispatch:
            raise t.make_com_error(w.E_NOINTERFACE)
        return cls(self, native)

    def wrap(self, obj: Any, iid: uuid.UUID | None) -> w.PyIUnknown:
        """win32com.server.util.wrap: a PyIDispatch by default; the callback IID has no client type."""
        dispatch = w.PyIDispatch(self, w.Policy(obj, self.interface_names))
        if iid is None or iid == w.IID_IDispatch:
            return dispatch
        if iid == w.IID_IUnknown:
            return w.PyIUnknown(self, dispatch.policy)
        raise TypeError(w.NO_WRAPPER)

    def callback_sink(self, value: Any) -> Any:
        """SetNotifyInterface's argument (any COM object or None) → what the native job holds."""
        if value is None:
            return None
        if not isinstance(value, w.PyIUnknown):
            inner = getattr(value, "_oleobj_", None)
            if not isinstance(inner, w.PyIUnknown):
                raise TypeError("The Python instance can not be converted to a COM object")
            value = inner
        policy = value.policy if isinstance(value, w.PyIDispatch) else None
        if policy is None and type(value) is w.PyIUnknown and isinstance(value._native, w.Policy):
            policy = value._native
        if policy is not None and w.IID_IBackgroundCopyCallback in policy.interfaces:
            return CallbackSink(self, w.PyIDispatch(self, policy))
        return OpaqueSink(value)

    def notify_interface(self, native: Any) -> w.PyIUnknown | None:
        if native is None:
            return None
        if isinstance(native, CallbackSink):
            return w.PyIUnknown(self, native.dispatch.policy)
        if isinstance(native, OpaqueSink) and native.dispatch is not None:
            return w.PyIUnknown(self, native.dispatch._native)
        return w.PyIUnknown(self, native)

    # messages -----------------------------------------------------------------------------------

    def post(self, message: Message) -> None:
        with self.lock:
            self.messages.append(message)

    def catch_up(self) -> None:
        """Let the service run up to "now" (every API call does this; a pump or a wait does too)."""
        self.service.run_until_idle(0)

    def pump(self) -> int:
        """PumpWaitingMessages: deliver every queued message, including those posted meanwhile."""
        self.catch_up()
        while True:
            with self.lock:
                if not self.messages:
                    return 0
                message = self.messages.popleft()
            self.deliver(message)

    def deliver(self, message: Message) -> None:
        policy: w.Policy = message.dispatch.policy
        if message.method not in policy.public:
            return  # DISP_E_MEMBERNOTFOUND: the call fails in COM, nothing runs
        job = w.PyIBackgroundCopyJob(self, message.job)
        args: tuple[Any, ...]
        if message.method == "JobError":
            args = (job, w.PyIBackgroundCopyError(self, message.error))
        elif message.method == "JobModification":
            args = (job, message.reserved)
        else:
            args = (job,)
        try:
            getattr(policy.obj, message.method)(*args)
        except Exception:
            w.log_gateway_error(message.method)

    # waits --------------------------------------------------------------------------------------

    def wait(self, milliseconds: int, ready: Callable[[], int | None]) -> int:
        """Wait up to ``milliseconds`` for ``ready()`` to give a result, moving the simulation instead of
        sleeping (module docstring)."""
        result = ready()
        if result is not None:
            return result
        self.catch_up()
        result = ready()
        if result is not None or milliseconds == 0:
            return WAIT_TIMEOUT if result is None else result
        svc = self.service
        if milliseconds == INFINITE:
            svc.run_until_idle()
            result = ready()
            if result is None:
                raise RuntimeError(
                    "the wait could never end: no handle is signalled, no message is queued and the "
                    "emulated service has nothing left to do"
                )
            return result
        seconds = milliseconds / 1000
        clock = svc.clock
        if isinstance(clock, ManualClock):
            end = clock.time() + seconds
            svc.run_until_idle(seconds)
            result = ready()
            if result is not None:
                return result
            if end > clock.time():
                svc.advance(end - clock.time())
            result = ready()
            return WAIT_TIMEOUT if result is None else result
        svc.run_until_idle(self.waited + seconds)
        result = ready()
        if result is not None:
            return result
        self.waited += seconds
        return WAIT_TIMEOUT

    def msg_wait(self, handles: list[Event], wait_all: bool, milliseconds: int, mask: int) -> int:
        count = len(handles)

        def ready() -> int | None:
            if wait_all:
                if handles and all(h.signaled for h in handles):
                    for h in handles:
                        h.consume()
                    return WAIT_OBJECT_0
            else:
                for index, handle in enumerate(handles):
                    if handle.consume():
                        return WAIT_OBJECT_0 + index
            if mask & _MESSAGE_BITS and self.messages:
                return WAIT_OBJECT_0 + count
            return None

        return self.wait(milliseconds, ready)

    def wait_handles(self, handles: list[Event], wait_all: bool, milliseconds: int) -> int:
        return self.msg_wait(handles, wait_all, milliseconds, 0)

    # impersonation --------------------------------------------------------------------------------

    def impersonate(self, token: AccessToken) -> None:
        cm = self.service.impersonate(token)
        cm.__enter__()
        self.impersonations.setdefault(threading.get_ident(), []).append(cm)

    def revert(self) -> None:
        stack = self.impersonations.pop(threading.get_ident(), [])
        while stack:
            stack.pop().__exit__(None, None, None)
