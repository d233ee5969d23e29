"""The modules ``installed()`` puts into ``sys.modules``: the parts of pywin32 312 BITS clients use.

Names and values are pywin32 312's (read from its Windows wheel and the Windows headers); the code is
the emulator's own.
"""

from __future__ import annotations

import operator
import types
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from ... import AccessToken, LogonType
from . import _types as t
from . import _wrappers as w
from ._process import INFINITE, Event, Process, TokenHandle

# bits.pyd's constants, exactly: no BG_NOTIFY_FILE_TRANSFERRED (commented out in pywin32's source), no
# BG_ERROR_CONTEXT_SERVER_CERTIFICATE_CALLBACK, no BG_E_*/BG_S_* HRESULTs.
BITS_CONSTANTS: dict[str, int] = {
    "BG_AUTH_SCHEME_BASIC": 1,
    "BG_AUTH_SCHEME_DIGEST": 2,
    "BG_AUTH_SCHEME_NTLM": 3,
    "BG_AUTH_SCHEME_NEGOTIATE": 4,
    "BG_AUTH_SCHEME_PASSPORT": 5,
    "BG_AUTH_TARGET_SERVER": 1,
    "BG_AUTH_TARGET_PROXY": 2,
    "BG_CERT_STORE_LOCATION_CURRENT_USER": 0,
    "BG_CERT_STORE_LOCATION_LOCAL_MACHINE": 1,
    "BG_CERT_STORE_LOCATION_CURRENT_SERVICE": 2,
    "BG_CERT_STORE_LOCATION_SERVICES": 3,
    "BG_CERT_STORE_LOCATION_USERS": 4,
    "BG_CERT_STORE_LOCATION_CURRENT_USER_GROUP_POLICY": 5,
    "BG_CERT_STORE_LOCATION_LOCAL_MACHINE_GROUP_POLICY": 6,
    "BG_CERT_STORE_LOCATION_LOCAL_MACHINE_ENTERPRISE": 7,
    "BG_ERROR_CONTEXT_NONE": 0,
    "BG_ERROR_CONTEXT_UNKNOWN": 1,
    "BG_ERROR_CONTEXT_GENERAL_QUEUE_MANAGER": 2,
    "BG_ERROR_CONTEXT_QUEUE_MANAGER_NOTIFICATION": 3,
    "BG_ERROR_CONTEXT_LOCAL_FILE": 4,
    "BG_ERROR_CONTEXT_REMOTE_FILE": 5,
    "BG_ERROR_CONTEXT_GENERAL_TRANSPORT": 6,
    "BG_ERROR_CONTEXT_REMOTE_APPLICATION": 7,
    "BG_JOB_PRIORITY_FOREGROUND": 0,
    "BG_JOB_PRIORITY_HIGH": 1,
    "BG_JOB_PRIORITY_NORMAL": 2,
    "BG_JOB_PRIORITY_LOW": 3,
    "BG_JOB_PROXY_USAGE_PRECONFIG": 0,
    "BG_JOB_PROXY_USAGE_NO_PROXY": 1,
    "BG_JOB_PROXY_USAGE_OVERRIDE": 2,
    "BG_JOB_PROXY_USAGE_AUTODETECT": 3,
    "BG_JOB_STATE_QUEUED": 0,
    "BG_JOB_STATE_CONNECTING": 1,
    "BG_JOB_STATE_TRANSFERRING": 2,
    "BG_JOB_STATE_SUSPENDED": 3,
    "BG_JOB_STATE_ERROR": 4,
    "BG_JOB_STATE_TRANSIENT_ERROR": 5,
    "BG_JOB_STATE_TRANSFERRED": 6,
    "BG_JOB_STATE_ACKNOWLEDGED": 7,
    "BG_JOB_STATE_CANCELLED": 8,
    "BG_JOB_TYPE_DOWNLOAD": 0,
    "BG_JOB_TYPE_UPLOAD": 1,
    "BG_JOB_TYPE_UPLOAD_REPLY": 2,
    "BG_NOTIFY_JOB_TRANSFERRED": 1,
    "BG_NOTIFY_JOB_ERROR": 2,
    "BG_NOTIFY_DISABLE": 4,
    "BG_NOTIFY_JOB_MODIFICATION": 8,
    "BG_JOB_ENUM_ALL_USERS": 1,
}

# PyCom_RegisterExtensionSupport's module attributes: one CLSID and the IIDs bits.pyd registers.
BITS_GUIDS: dict[str, uuid.UUID] = {
    "CLSID_BackgroundCopyManager": w.CLSID_BackgroundCopyManager,
    "IID_IBackgroundCopyManager": w.IID_IBackgroundCopyManager,
    "IID_IBackgroundCopyCallback": w.IID_IBackgroundCopyCallback,
    "IID_IBackgroundCopyError": w.IID_IBackgroundCopyError,
    "IID_IBackgroundCopyJob": w.IID_IBackgroundCopyJob,
    "IID_IBackgroundCopyJob2": w.IID_IBackgroundCopyJob2,
    "IID_IBackgroundCopyJob3": w.IID_IBackgroundCopyJob3,
    "IID_IBackgroundCopyFile": w.IID_IBackgroundCopyFile,
    "IID_IBackgroundCopyFile2": w.IID_IBackgroundCopyFile2,
    "IID_IEnumBackgroundCopyJobs": w.IID_IEnumBackgroundCopyJobs,
    "IID_IEnumBackgroundCopyFiles": w.IID_IEnumBackgroundCopyFiles,
}

PYTHONCOM_CONSTANTS: dict[str, int] = {
    "CLSCTX_INPROC_SERVER": 0x1,
    "CLSCTX_INPROC_HANDLER": 0x2,
    "CLSCTX_INPROC": 0x3,
    "CLSCTX_LOCAL_SERVER": 0x4,
    "CLSCTX_REMOTE_SERVER": 0x10,
    "CLSCTX_SERVER": 0x15,
    "CLSCTX_ALL": 0x17,
    "COINIT_MULTITHREADED": 0x0,
    "COINIT_APARTMENTTHREADED": 0x2,
    "COINIT_DISABLE_OLE1DDE": 0x4,
    "COINIT_SPEED_OVER_MEMORY": 0x8,
    "RPC_C_AUTHN_LEVEL_DEFAULT": 0,
    "RPC_C_AUTHN_LEVEL_NONE": 1,
    "RPC_C_AUTHN_LEVEL_CONNECT": 2,
    "RPC_C_AUTHN_LEVEL_CALL": 3,
    "RPC_C_AUTHN_LEVEL_PKT": 4,
    "RPC_C_AUTHN_LEVEL_PKT_INTEGRITY": 5,
    "RPC_C_AUTHN_LEVEL_PKT_PRIVACY": 6,
    "RPC_C_IMP_LEVEL_DEFAULT": 0,
    "RPC_C_IMP_LEVEL_ANONYMOUS": 1,
    "RPC_C_IMP_LEVEL_IDENTIFY": 2,
    "RPC_C_IMP_LEVEL_IMPERSONATE": 3,
    "RPC_C_IMP_LEVEL_DELEGATE": 4,
    "EOAC_NONE": 0x0,
    "EOAC_MUTUAL_AUTH": 0x1,
    "EOAC_SECURE_REFS": 0x2,
    "EOAC_ACCESS_CONTROL": 0x4,
    "EOAC_APPID": 0x8,
    "EOAC_DYNAMIC": 0x10,
    "EOAC_STATIC_CLOAKING": 0x20,
    "EOAC_DYNAMIC_CLOAKING": 0x40,
    "EOAC_ANY_AUTHORITY": 0x80,
    "EOAC_MAKE_FULLSIC": 0x100,
    "EOAC_REQUIRE_FULLSIC": 0x200,
    "EOAC_AUTO_IMPERSONATE": 0x400,
    "EOAC_DEFAULT": 0x800,
    "EOAC_DISABLE_AAA": 0x1000,
    "EOAC_NO_CUSTOM_MARSHAL": 0x2000,
}

WIN32EVENT_CONSTANTS: dict[str, int] = {
    "INFINITE": -1,
    "WAIT_OBJECT_0": 0,
    "WAIT_ABANDONED": 0x80,
    "WAIT_ABANDONED_0": 0x80,
    "WAIT_IO_COMPLETION": 0xC0,
    "WAIT_TIMEOUT": 258,
    "WAIT_FAILED": -1,
    "QS_KEY": 0x1,
    "QS_MOUSEMOVE": 0x2,
    "QS_MOUSEBUTTON": 0x4,
    "QS_MOUSE": 0x6,
    "QS_INPUT": 0x7,
    "QS_POSTMESSAGE": 0x8,
    "QS_TIMER": 0x10,
    "QS_PAINT": 0x20,
    "QS_SENDMESSAGE": 0x40,
    "QS_HOTKEY": 0x80,
    "QS_ALLEVENTS": 0xBF,
    "QS_ALLINPUT": 0xFF,
}

WIN32CON_CONSTANTS: dict[str, int] = {
    **{k: v for k, v in WIN32EVENT_CONSTANTS.items() if k != "WAIT_FAILED"},
    "WAIT_FAILED": -1,
    "STATUS_WAIT_0": 0,
    "STATUS_TIMEOUT": 258,
    "LOGON32_LOGON_INTERACTIVE": 2,
    "LOGON32_LOGON_NETWORK": 3,
    "LOGON32_LOGON_BATCH": 4,
    "LOGON32_LOGON_SERVICE": 5,
    "LOGON32_LOGON_UNLOCK": 7,
    "LOGON32_LOGON_NETWORK_CLEARTEXT": 8,
    "LOGON32_LOGON_NEW_CREDENTIALS": 9,
    "LOGON32_PROVIDER_DEFAULT": 0,
    "TOKEN_DUPLICATE": 0x2,
    "TOKEN_IMPERSONATE": 0x4,
    "TOKEN_QUERY": 0x8,
    "TOKEN_ALL_ACCESS": 0xF01FF,
    "FORMAT_MESSAGE_IGNORE_INSERTS": 0x200,
    "FORMAT_MESSAGE_FROM_SYSTEM": 0x1000,
}

# The logon types LogonUser accepts and the emulator distinguishes.
_LOGON_TYPES = {2: LogonType.INTERACTIVE, 3: LogonType.NETWORK, 4: LogonType.BATCH, 5: LogonType.SERVICE}
ERROR_LOGON_FAILURE = 1326
ERROR_MR_MID_NOT_FOUND = 317
ERROR_INVALID_HANDLE = 6


def _module(name: str, doc: str | None = None, *, package: bool = False) -> types.ModuleType:
    module = types.ModuleType(name, doc)
    if package:
        module.__path__ = []
    module.__package__ = name if package else name.rpartition(".")[0]
    return module


def _export(module: types.ModuleType, *functions: Callable[..., Any]) -> None:
    for fn in functions:
        fn.__module__ = module.__name__
        setattr(module, fn.__name__, fn)


def _events(value: Any, fname: str) -> list[Event]:
    if isinstance(value, Event):
        return [value]
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise TypeError(f"{fname}: handleList must be a sequence of handles")
    handles = list(value)
    for h in handles:
        if not isinstance(h, Event):
            raise t.error(ERROR_INVALID_HANDLE, fname, "The handle is invalid.")
    return handles


def _milliseconds(value: Any) -> int:
    """A DWORD timeout; -1 and 0xFFFFFFFF are INFINITE (win32event.INFINITE is -1)."""
    ms = operator.index(value)
    if ms in (-1, INFINITE):
        return INFINITE
    if not -(1 << 31) <= ms <= 0xFFFFFFFF:
        raise OverflowError("Python int too large to convert to C unsigned long")
    return ms & 0xFFFFFFFF


def build(process: Process) -> dict[str, types.ModuleType]:
    """Fresh module objects bound to ``process``."""
    names = process.interface_names
    iids = {name: t.PyIID(value) for name, value in BITS_GUIDS.items()}
    for name in BITS_GUIDS:
        if name.startswith("IID_"):
            names[name[4:]] = iids[name]
    names["IUnknown"] = t.PyIID(w.IID_IUnknown)
    names["IDispatch"] = t.PyIID(w.IID_IDispatch)
    names["IClientSecurity"] = t.PyIID(w.IID_IClientSecurity)

    # pywintypes -----------------------------------------------------------------------------------
    pywintypes = _module(
        "pywintypes", "Module containing common objects and functions used by various Pywin32 modules."
    )
    pywintypes.error = t.error  # type: ignore[attr-defined]
    pywintypes.com_error = t.com_error  # type: ignore[attr-defined]
    pywintypes.IID = t.PyIID  # type: ignore[attr-defined]
    pywintypes.IIDType = t.PyIID  # type: ignore[attr-defined]
    pywintypes.datetime = t.datetime  # type: ignore[attr-defined]
    pywintypes.TimeType = t.datetime  # type: ignore[attr-defined]
    pywintypes.HANDLE = t.PyHANDLE  # type: ignore[attr-defined]
    pywintypes.HANDLEType = t.PyHANDLE  # type: ignore[attr-defined]

    def Time(value: Any) -> t.datetime:
        import datetime as dt

        if isinstance(value, dt.datetime):
            moment = value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)
        else:
            moment = dt.datetime.fromtimestamp(float(value), tz=dt.UTC)
        converted = t.from_native_time(moment)
        assert converted is not None
        return converted

    pywintypes.Time = Time  # type: ignore[attr-defined]

    # pythoncom ------------------------------------------------------------------------------------
    pythoncom = _module("pythoncom")
    for key, number in PYTHONCOM_CONSTANTS.items():
        setattr(pythoncom, key, number)
    pythoncom.com_error = pythoncom.error = pythoncom.ole_error = t.com_error  # type: ignore[attr-defined]
    pythoncom.IID_IUnknown = t.PyIID(w.IID_IUnknown)  # type: ignore[attr-defined]
    pythoncom.IID_IDispatch = t.PyIID(w.IID_IDispatch)  # type: ignore[attr-defined]
    pythoncom.IID_IClientSecurity = t.PyIID(w.IID_IClientSecurity)  # type: ignore[attr-defined]
    pythoncom.IID_NULL = t.PyIID(uuid.UUID(int=0))  # type: ignore[attr-defined]
    pythoncom.TypeIIDs = {t.PyIID(iid): cls for iid, cls in w.TYPE_BY_IID.items()}  # type: ignore[attr-defined]
    pythoncom.ServerInterfaces = {iids["IID_IBackgroundCopyCallback"]: "IBackgroundCopyCallback"}  # type: ignore[attr-defined]
    pythoncom.InterfaceNames = names  # type: ignore[attr-defined]

    def CoInitialize(*args: Any, **kwargs: Any) -> None:
        t.parse("CoInitialize", "", args, kwargs)
        process.co_initialize(2)

    def CoInitializeEx(*args: Any, **kwargs: Any) -> None:
        (flags,) = t.parse("CoInitializeEx", "l", args, kwargs)
        process.co_initialize(flags)

    def CoUninitialize(*args: Any, **kwargs: Any) -> None:
        t.parse("CoUninitialize", "", args, kwargs)
        process.co_uninitialize()

    def CoInitializeSecurity(*args: Any, **kwargs: Any) -> None:
        values = t.parse("CoInitializeSecurity", "OOOiiOiO", args, kwargs)
        process.initialize_security(values[4], values[6])

    def CoCreateInstance(*args: Any, **kwargs: Any) -> Any:
        clsid, outer, context, iid = t.parse("CoCreateInstance", "OOiO", args, kwargs)
        return process.create_instance(t.as_iid(clsid), outer, context, t.as_iid(iid))

    def PumpWaitingMessages(*args: Any, **kwargs: Any) -> int:
        t.parse("PumpWaitingMessages", "|ii", args, kwargs)
        return process.pump()

    def WrapObject(ob: Any, gatewayIID: Any = None, interfaceIID: Any = None) -> Any:
        wanted = interfaceIID if interfaceIID is not None else gatewayIID
        return process.wrap(ob, None if wanted is None else t.as_iid(wanted))

    def MakeIID(value: Any, is_bytes: Any = False) -> t.PyIID:
        return t.PyIID(value, is_bytes)

    def CreateGuid() -> t.PyIID:
        return t.PyIID(uuid.uuid4())

    _export(
        pythoncom,
        CoInitialize,
        CoInitializeEx,
        CoUninitialize,
        CoInitializeSecurity,
        CoCreateInstance,
        PumpWaitingMessages,
        WrapObject,
        MakeIID,
        CreateGuid,
    )

    # win32event -----------------------------------------------------------------------------------
    win32event = _module("win32event")
    for key, number in WIN32EVENT_CONSTANTS.items():
        setattr(win32event, key, number)
    win32event.error = t.error  # type: ignore[attr-defined]

    def CreateEvent(*args: Any, **kwargs: Any) -> Event:
        _sa, manual, initial, name = t.parse("CreateEvent", "OiiO", args, kwargs)
        t.as_text(name, none_ok=True)
        return Event(bool(manual), bool(initial))

    def _event(value: Any, fname: str) -> Event:
        if not isinstance(value, Event):
            raise t.error(ERROR_INVALID_HANDLE, fname, "The handle is invalid.")
        return value

    def SetEvent(*args: Any, **kwargs: Any) -> None:
        (h,) = t.parse("SetEvent", "O", args, kwargs)
        _event(h, "SetEvent").signaled = True

    def ResetEvent(*args: Any, **kwargs: Any) -> None:
        (h,) = t.parse("ResetEvent", "O", args, kwargs)
        _event(h, "ResetEvent").signaled = False

    def WaitForSingleObject(*args: Any, **kwargs: Any) -> int:
        h, ms = t.parse("WaitForSingleObject", "OO", args, kwargs)
        return process.wait_handles([_event(h, "WaitForSingleObject")], False, _milliseconds(ms))

    def WaitForMultipleObjects(*args: Any, **kwargs: Any) -> int:
        handles, wait_all, ms = t.parse("WaitForMultipleObjects", "OiO", args, kwargs)
        return process.wait_handles(_events(handles, "WaitForMultipleObjects"), bool(wait_all), _milliseconds(ms))

    def MsgWaitForMultipleObjects(*args: Any, **kwargs: Any) -> int:
        handles, wait_all, ms, mask = t.parse("MsgWaitForMultipleObjects", "OiOO", args, kwargs)
        events = _events(handles, "MsgWaitForMultipleObjects")
        return process.msg_wait(events, bool(wait_all), _milliseconds(ms), int(mask))

    _export(
        win32event,
        CreateEvent,
        SetEvent,
        ResetEvent,
        WaitForSingleObject,
        WaitForMultipleObjects,
        MsgWaitForMultipleObjects,
    )

    # win32api -------------------------------------------------------------------------------------
    win32api = _module("win32api")
    win32api.error = t.error  # type: ignore[attr-defined]

    def FormatMessage(*args: Any, **kwargs: Any) -> str:
        """The old one-argument form: the system's message for an error code (with its line break)."""
        (code,) = t.parse("FormatMessageW", "|k", args, kwargs) or [0]
        text = t.SYSTEM_MESSAGES.get(code)
        if text is None and code < 0x10000:
            text = t.SYSTEM_MESSAGES.get(0x80070000 | code)
        if text is None:
            raise t.error(
                ERROR_MR_MID_NOT_FOUND,
                "FormatMessageW",
                "The system cannot find message text for message number 0x%1 in the message file for %2.",
            )
        return text + "\r\n"

    def CloseHandle(*args: Any, **kwargs: Any) -> None:
        (h,) = t.parse("CloseHandle", "O", args, kwargs)
        if isinstance(h, t.PyHANDLE):
            h.Close()

    def GetCurrentProcess() -> t.PyHANDLE:
        return t.PyHANDLE(-1)

    def Sleep(*args: Any, **kwargs: Any) -> None:
        """Sleep(ms): the simulation moves on by ``ms`` (no real sleeping, no message delivery)."""
        values = t.parse("Sleep", "l|i", args, kwargs)
        process.wait_handles([], False, _milliseconds(values[0]))

    _export(win32api, FormatMessage, CloseHandle, GetCurrentProcess, Sleep)

    # win32security --------------------------------------------------------------------------------
    win32security = _module("win32security")
    win32security.error = t.error  # type: ignore[attr-defined]

    def LogonUser(*args: Any, **kwargs: Any) -> TokenHandle:
        """A token for an account of the emulated service (passwords are not modelled)."""
        user, _domain, _password, logon_type, _provider = t.parse("LogonUser", "OOOll", args, kwargs)
        name = t.required_text(user)
        svc = process.service
        try:
            account = svc.account(name)
        except KeyError:
            raise t.error(ERROR_LOGON_FAILURE, "LogonUser", "The user name or password is incorrect.") from None
        kind = _LOGON_TYPES.get(logon_type, LogonType.INTERACTIVE)
        return TokenHandle(svc.logon(account, logon_type=kind).token)

    def OpenProcessToken(*args: Any, **kwargs: Any) -> TokenHandle:
        t.parse("OpenProcessToken", "Ol", args, kwargs)
        return TokenHandle(process.token)

    def ImpersonateLoggedOnUser(*args: Any, **kwargs: Any) -> None:
        """The calling thread impersonates the token (the service's thread impersonation). Takes a
        token handle, or — an emulator convenience — an ``emulator.AccessToken``."""
        (h,) = t.parse("ImpersonateLoggedOnUser", "O", args, kwargs)
        token = h.token if isinstance(h, TokenHandle) else h
        if not isinstance(token, AccessToken):
            raise t.error(ERROR_INVALID_HANDLE, "ImpersonateLoggedOnUser", "The handle is invalid.")
        process.impersonate(token)

    def RevertToSelf(*args: Any, **kwargs: Any) -> None:
        t.parse("RevertToSelf", "", args, kwargs)
        process.revert()

    _export(win32security, LogonUser, OpenProcessToken, ImpersonateLoggedOnUser, RevertToSelf)

    # win32con -------------------------------------------------------------------------------------
    win32con = _module("win32con")
    for key, number in WIN32CON_CONSTANTS.items():
        setattr(win32con, key, number)

    # bits, win32comext, win32com ------------------------------------------------------------------
    bits = _module(
        "win32comext.bits.bits", "A module, encapsulating the Background Intelligent Transfer Service (bits)"
    )
    for key, number in BITS_CONSTANTS.items():
        setattr(bits, key, number)
    for key, iid in iids.items():
        setattr(bits, key, iid)

    win32comext = _module("win32comext", package=True)
    ext_bits = _module("win32comext.bits", package=True)
    ext_bits.bits = bits  # type: ignore[attr-defined]
    win32comext.bits = ext_bits  # type: ignore[attr-defined]

    win32com = _module("win32com", package=True)
    # pywin32 extends win32com.__path__ with the win32comext directory, so win32com.bits is the same
    # package under a second name; here both names are registered in sys.modules.
    win32com.__path__ = list(win32comext.__path__)
    com_bits = _module("win32com.bits", package=True)
    com_bits.bits = bits  # type: ignore[attr-defined]
    win32com.bits = com_bits  # type: ignore[attr-defined]
    server = _module("win32com.server", package=True)
    util = _module("win32com.server.util", "General Server side utilities")

    def wrap(ob: Any, iid: Any = None, usePolicy: Any = None, useDispatcher: Any = None) -> Any:
        return process.wrap(ob, None if iid is None else t.as_iid(iid))

    util.wrap = wrap  # type: ignore[attr-defined]
    server.util = util  # type: ignore[attr-defined]
    win32com.server = server  # type: ignore[attr-defined]

    return {
        "pywintypes": pywintypes,
        "pythoncom": pythoncom,
        "win32api": win32api,
        "win32event": win32event,
        "win32con": win32con,
        "win32security": win32security,
        "win32comext": win32comext,
        "win32comext.bits": ext_bits,
        "win32comext.bits.bits": bits,
        "win32com": win32com,
        "win32com.bits": com_bits,
        "win32com.bits.bits": bits,
        "win32com.server": server,
        "win32com.server.util": util,
    }
