"""The pywin32 312 conventions of emulator.compat.pywin32 (docs/pywin32.md), one test per convention.

Facts: pywin32 312's ``bits`` extension as its Windows wheel ships it (names, PyArg_ParseTuple formats,
return shapes), pywintypes' error and IID types, and the BITS pages cited per test.
"""

from __future__ import annotations

import datetime as dt
import pathlib
import re
import threading
import types
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from emulator import BitsService, JobState, ManualClock
from emulator.compat.pywin32 import Pywin32, installed, unwrap

EXPECTED_BG = {
    **{f"BG_AUTH_SCHEME_{n}": v for v, n in enumerate(["BASIC", "DIGEST", "NTLM", "NEGOTIATE", "PASSPORT"], 1)},
    "BG_AUTH_TARGET_SERVER": 1,
    "BG_AUTH_TARGET_PROXY": 2,
    **{
        f"BG_CERT_STORE_LOCATION_{n}": v
        for v, n in enumerate(
            [
                "CURRENT_USER",
                "LOCAL_MACHINE",
                "CURRENT_SERVICE",
                "SERVICES",
                "USERS",
                "CURRENT_USER_GROUP_POLICY",
                "LOCAL_MACHINE_GROUP_POLICY",
                "LOCAL_MACHINE_ENTERPRISE",
            ]
        )
    },
    **{
        f"BG_ERROR_CONTEXT_{n}": v
        for v, n in enumerate(
            [
                "NONE",
                "UNKNOWN",
                "GENERAL_QUEUE_MANAGER",
                "QUEUE_MANAGER_NOTIFICATION",
                "LOCAL_FILE",
                "REMOTE_FILE",
                "GENERAL_TRANSPORT",
                "REMOTE_APPLICATION",
            ]
        )
    },
    **{f"BG_JOB_PRIORITY_{n}": v for v, n in enumerate(["FOREGROUND", "HIGH", "NORMAL", "LOW"])},
    **{f"BG_JOB_PROXY_USAGE_{n}": v for v, n in enumerate(["PRECONFIG", "NO_PROXY", "OVERRIDE", "AUTODETECT"])},
    **{f"BG_JOB_STATE_{s.name}": int(s) for s in JobState},
    **{f"BG_JOB_TYPE_{n}": v for v, n in enumerate(["DOWNLOAD", "UPLOAD", "UPLOAD_REPLY"])},
    "BG_NOTIFY_JOB_TRANSFERRED": 1,
    "BG_NOTIFY_JOB_ERROR": 2,
    "BG_NOTIFY_DISABLE": 4,
    "BG_NOTIFY_JOB_MODIFICATION": 8,
    "BG_JOB_ENUM_ALL_USERS": 1,
}
EXPECTED_GUIDS = {
    "CLSID_BackgroundCopyManager": "{4991D34B-80A1-4291-83B6-3328366B9097}",
    "IID_IBackgroundCopyManager": "{5CE34C0D-0DC9-4C1F-897C-DAA1B78CEE7C}",
    "IID_IBackgroundCopyJob": "{37668D37-507E-4160-9316-26306D150B12}",
    "IID_IBackgroundCopyJob2": "{54B50739-686F-45EB-9DFF-D6A9A0FAA9AF}",
    "IID_IBackgroundCopyJob3": "{443C8934-90FF-48ED-BCDE-26F5C7450042}",
    "IID_IBackgroundCopyFile": "{01B7BD23-FB88-4A77-8490-5891D3E4653A}",
    "IID_IBackgroundCopyFile2": "{83E81B93-0873-474D-8A8C-F2018B1A939C}",
    "IID_IBackgroundCopyError": "{19C613A0-FCB8-4F28-81AE-897C3D078F81}",
    "IID_IEnumBackgroundCopyJobs": "{1AF4F612-3B71-466F-8F58-7B6F73AC57AD}",
    "IID_IEnumBackgroundCopyFiles": "{CA51E165-C365-424C-8D41-24AAA4FF3C40}",
    "IID_IBackgroundCopyCallback": "{97EA99C7-0186-4AD4-8DF9-C5B4E0ED6B22}",
}
IID_IBitsTokenOptions = "{9A2584C3-F7D2-457A-9A5E-22B67BFFC7D2}"
IID_IBackgroundCopyJob4 = "{659CDEAE-489E-11D9-A9CD-000D56965251}"


@pytest.fixture
def layer(svc: BitsService) -> Iterator[Pywin32]:
    with installed(svc) as installed_layer:
        yield installed_layer


@pytest.fixture
def bcm(layer: Pywin32) -> Any:
    import pythoncom
    from win32com.bits import bits

    return pythoncom.CoCreateInstance(
        bits.CLSID_BackgroundCopyManager, None, pythoncom.CLSCTX_LOCAL_SERVER, bits.IID_IBackgroundCopyManager
    )


def _bits() -> types.ModuleType:
    from win32comext.bits import bits

    assert isinstance(bits, types.ModuleType)  # the stand-in module installed() registered
    return bits


# --- the bits module --------------------------------------------------------------------------------


def test_bits_constants_are_exactly_pywin32_312s(layer: Pywin32) -> None:
    """The pywin32 312 surface (docs/pywin32.md): exactly these BG_* names and values (no BG_NOTIFY_FILE_TRANSFERRED,
    no BG_E_*/BG_S_*), and exactly these CLSID_/IID_ PyIIDs (no IBitsTokenOptions, Job4/5, HttpOptions)."""
    bits = _bits()
    ours = {k: v for k, v in vars(bits).items() if k.startswith("BG_")}
    assert ours == EXPECTED_BG
    assert all(type(v) is int for v in ours.values())
    guids = {k: str(v) for k, v in vars(bits).items() if k.startswith(("IID_", "CLSID_"))}
    assert guids == EXPECTED_GUIDS
    assert not [k for k in vars(bits) if not k.startswith(("BG_", "IID_", "CLSID_", "__"))]  # no functions
    assert bits.__doc__ == "A module, encapsulating the Background Intelligent Transfer Service (bits)"


def test_both_import_spellings_give_the_same_bits_module(layer: Pywin32) -> None:
    from win32com.bits import bits as via_win32com
    from win32comext.bits import bits as via_ext

    assert via_win32com is via_ext
    import pythoncom

    assert pythoncom.TypeIIDs[via_ext.IID_IBackgroundCopyJob].__name__ == "PyIBackgroundCopyJob"
    assert via_ext.IID_IBackgroundCopyCallback in pythoncom.ServerInterfaces
    assert pythoncom.InterfaceNames["IBackgroundCopyCallback"] == via_ext.IID_IBackgroundCopyCallback


# --- PyIID ------------------------------------------------------------------------------------------


def test_pyiid_semantics(layer: Pywin32) -> None:
    import pythoncom
    import pywintypes

    iid = pywintypes.IID("{5ce34c0d-0dc9-4c1f-897c-daa1b78cee7c}")
    assert str(iid) == "{5CE34C0D-0DC9-4C1F-897C-DAA1B78CEE7C}"
    assert repr(iid) == "IID('{5CE34C0D-0DC9-4C1F-897C-DAA1B78CEE7C}')"
    assert type(iid).__name__ == "PyIID"
    assert iid == _bits().IID_IBackgroundCopyManager and iid is not _bits().IID_IBackgroundCopyManager
    assert iid != str(iid)  # equality only between PyIIDs
    assert {iid: 1}[pythoncom.MakeIID(str(iid))] == 1  # hashable, MakeIID is the old spelling
    with pytest.raises(pywintypes.com_error) as exc:
        pywintypes.IID("not a guid")
    assert exc.value.args == (-2147221005, "Invalid class string", None, None)  # CO_E_CLASSSTRING


# --- CoCreateInstance ---------------------------------------------------------------------------------


def test_cocreateinstance_argument_rules(layer: Pywin32) -> None:
    """All four positional; clsid/iid PyIID or string; the wrapper type follows the requested iid."""
    import pythoncom

    bits = _bits()
    by_string = pythoncom.CoCreateInstance(
        str(bits.CLSID_BackgroundCopyManager), None, pythoncom.CLSCTX_ALL, str(bits.IID_IBackgroundCopyManager)
    )
    assert type(by_string).__name__ == "PyIBackgroundCopyManager"
    unknown = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, pythoncom.IID_IUnknown)
    assert type(unknown).__name__ == "PyIUnknown" and not hasattr(unknown, "CreateJob")
    assert type(unknown.QueryInterface(bits.IID_IBackgroundCopyManager)).__name__ == "PyIBackgroundCopyManager"
    with pytest.raises(pythoncom.com_error) as exc:  # not a BITS class: REGDB_E_CLASSNOTREG
        pythoncom.CoCreateInstance(bits.IID_IBackgroundCopyJob, None, 4, bits.IID_IBackgroundCopyManager)
    assert exc.value.args == (-2147221164, "Class not registered", None, None)
    with pytest.raises(pythoncom.com_error) as exc:  # BITS is a local server, never in-process
        pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 1, bits.IID_IBackgroundCopyManager)
    assert exc.value.hresult == -2147221164
    with pytest.raises(TypeError, match=r"^Only strings and iids can be converted to a CLSID\.$"):
        pythoncom.CoCreateInstance(42, None, 4, bits.IID_IBackgroundCopyManager)
    with pytest.raises(TypeError):
        pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, iid=bits.IID_IBackgroundCopyManager)
    with pytest.raises(pythoncom.com_error) as exc:  # the manager is no IDispatch
        pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, pythoncom.IID_IDispatch)
    assert exc.value.hresult == -2147467262


def test_cocreateinstance_on_a_thread_without_coinitialize(layer: Pywin32) -> None:
    """Only the importing thread is initialised; another needs CoInitialize (CO_E_NOTINITIALIZED)."""
    import pythoncom

    bits = _bits()
    results: list[Any] = []

    def worker() -> None:
        try:
            pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        except pythoncom.com_error as exc:
            results.append(exc.args)
        pythoncom.CoInitialize()
        try:
            results.append(
                type(
                    pythoncom.CoCreateInstance(
                        bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager
                    )
                ).__name__
            )
        finally:
            pythoncom.CoUninitialize()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert results == [(-2147221008, "CoInitialize has not been called.", None, None), "PyIBackgroundCopyManager"]


# --- wrappers, signatures, shapes ---------------------------------------------------------------------


def test_wrapper_types_and_reprs(bcm: Any) -> None:
    bits = _bits()
    job = bcm.CreateJob("j", bits.BG_JOB_TYPE_DOWNLOAD)  # the job only: no (guid, job) tuple
    assert type(job).__name__ == "PyIBackgroundCopyJob"
    assert re.fullmatch(r"<PyIBackgroundCopyJob at 0x[0-9A-F]+ with obj at 0x[0-9A-F]+>", repr(job))
    job2 = job.QueryInterface(bits.IID_IBackgroundCopyJob2)
    job3 = job.QueryInterface(bits.IID_IBackgroundCopyJob3)
    assert type(job2).__name__ == "PyIBackgroundCopyJob2" and type(job3).__name__ == "PyIBackgroundCopyJob3"
    assert isinstance(job3, type(job2)) and isinstance(job2, type(job))
    assert job == job2 == bcm.GetJob(job.GetId())  # COM identity, new wrapper per call
    job.AddFile("http://server/a", "/x/a")
    (f,) = job.EnumFiles().Next(1)
    f2 = f.QueryInterface(bits.IID_IBackgroundCopyFile2)
    assert type(f).__name__ == "PyIBackgroundCopyFile" and isinstance(f2, type(f))
    assert f2.GetFileRanges() is None  # pywin32 drops the ranges


def test_getid_getjob_and_strings(bcm: Any) -> None:
    import pywintypes

    job = bcm.CreateJob("name", 0)
    job_id = job.GetId("ignored", "too")  # GetId parses no arguments in pywin32 312
    assert type(job_id) is pywintypes.IID and job_id == job.GetId() and job_id is not job.GetId()
    assert bcm.GetJob(str(job_id)).GetDisplayName() == "name"
    job.SetDescription("d")
    assert job.GetDescription() == "d"
    for bad, name in ((b"x", "bytes"), (pathlib.PurePosixPath("/x"), "PurePosixPath"), (3, "int")):
        with pytest.raises(TypeError) as exc:
            job.SetDisplayName(bad)
        assert str(exc.value) == f"Objects of type '{name}' can not be converted to Unicode."
    with pytest.raises(TypeError, match=r"^None is not a valid string in this context$"):
        job.AddFile(None, "/x/a")
    with pytest.raises(TypeError, match="takes no keyword arguments"):
        job.SetDisplayName(val="x")
    with pytest.raises(TypeError, match=r"^GetState\(\) takes exactly 0 arguments \(1 given\)$"):
        job.GetState(1)
    with pytest.raises(TypeError, match=r"^CreateJob\(\) takes exactly 2 arguments \(1 given\)$"):
        bcm.CreateJob("x")
    with pytest.raises(TypeError, match=r"^EnumJobs\(\) takes exactly 1 argument \(0 given\)$"):
        bcm.EnumJobs()  # the flags are required in pywin32


def test_long_arguments_are_signed_32_bit(bcm: Any) -> None:
    """``"l"`` on Windows: OverflowError from 2**31 up, TypeError for what is not an int."""
    job = bcm.CreateJob("j", 0)
    with pytest.raises(OverflowError):
        job.SetPriority(2**31)
    with pytest.raises(OverflowError):
        bcm.GetErrorDescription(0x80200001, 0x409)  # an unsigned failure HRESULT does not fit
    for bad in ("1", 1.0, None):
        with pytest.raises(TypeError):
            job.SetPriority(bad)
    job.SetNoProgressTimeout(-1)  # a negative "l" lands in the ULONG as 0xFFFFFFFF
    assert job.GetNoProgressTimeout() == 0xFFFFFFFF
    assert bcm.GetErrorDescription(-2145386495, 0x409)  # BG_E_NOT_FOUND passed negative


def test_com_error_shape_and_identity(bcm: Any) -> None:
    """Signed hresult, ``args == (hresult, strerror, excepinfo, argerror)``, one class under four names;
    BITS codes are no system messages: "OLE error 0x%08x" in lower case."""
    import pythoncom
    import pywintypes

    assert pythoncom.com_error is pythoncom.error is pythoncom.ole_error is pywintypes.com_error
    assert issubclass(pythoncom.com_error, Exception)
    with pytest.raises(pythoncom.com_error) as exc:
        bcm.GetJob("{00000000-0000-0000-0000-000000000001}")
    e = exc.value
    assert e.args == (-2145386495, "OLE error 0x80200001", None, None)  # BG_E_NOT_FOUND
    assert (e.hresult, e.strerror, e.excepinfo, e.argerror) == e.args
    assert str(e) == "(-2145386495, 'OLE error 0x80200001', None, None)"
    job = bcm.CreateJob("j", 0)
    with pytest.raises(pythoncom.com_error) as exc:
        job.Resume()  # BG_E_EMPTY
    assert exc.value.args[:2] == (-2145386493, "OLE error 0x80200003")
    with pytest.raises(pythoncom.com_error) as exc:
        job.GetError()
    assert exc.value.args[:2] == (-2145386481, "OLE error 0x8020000f")
    with pytest.raises(pythoncom.com_error) as exc:
        job.SetPriority(9)  # E_NOTIMPL has a system message
    assert exc.value.args == (-2147467263, "Not implemented", None, None)


def test_a_pointer_into_a_closed_service_raises_rpc_server_unavailable() -> None:
    """docs/pywin32.md: objects kept past their service's close (a module cached from an earlier test) raise
    com_error RPC_S_SERVER_UNAVAILABLE, with FormatMessage's text, as pointers into a stopped service do."""
    with BitsService(clock=ManualClock()) as svc, installed(svc):
        import pythoncom
        import pywintypes
        from win32comext.bits import bits

        bcm = pythoncom.CoCreateInstance(
            bits.CLSID_BackgroundCopyManager, None, pythoncom.CLSCTX_LOCAL_SERVER, bits.IID_IBackgroundCopyManager
        )
        job = bcm.CreateJob("kept", 0)
        com_error = pywintypes.com_error
    for call in (lambda: bcm.EnumJobs(0), job.GetState):
        with pytest.raises(com_error) as exc:
            call()
        assert exc.value.args == (-2147023174, "The RPC server is unavailable.", None, None)  # 0x800706BA


def test_progress_times_and_proxy_shapes(svc: BitsService, bcm: Any) -> None:
    import pywintypes

    job = bcm.CreateJob("j", 0)
    job.AddFile("http://server/a", "/x/a")
    assert job.GetProgress() == (-1, 0, 1, 0)  # BG_SIZE_UNKNOWN built with PyLong_FromLongLong
    (f,) = job.EnumFiles()
    assert f.GetProgress() == (-1, 0, False)  # (total, transferred, completed)
    created, modified, completed = job.GetTimes()
    assert completed is None  # zero FILETIME
    assert type(created) is pywintypes.datetime and isinstance(created, dt.datetime)
    assert created.utcoffset() == dt.timedelta(0) and created.microsecond % 1000 == 0
    assert modified >= created
    assert job.GetProxySettings() == (0, None, None)
    job.SetProxySettings(2, "proxy:8080", None)
    assert job.GetProxySettings() == (2, "proxy:8080", None)
    assert job.GetNotifyFlags() == 3 and type(job.GetState()) is int
    job2 = job.QueryInterface(_bits().IID_IBackgroundCopyJob2)
    # empty strings when none is registered (IBackgroundCopyJob2::GetNotifyCmdLine page)
    assert job2.GetNotifyCmdLine() == ("", "")
    with pytest.raises(TypeError, match=r"^None is not a valid string in this context$"):
        job2.SetNotifyCmdLine("/opt/app/notify", None)
    job2.SetNotifyCmdLine("/opt/app/notify", "--done")
    assert job2.GetNotifyCmdLine() == ("/opt/app/notify", "--done")


def test_hresult_returns_and_unsigned_error_code(svc: BitsService, bcm: Any) -> None:
    """Suspend/Resume/Cancel/Complete/TakeOwnership return the HRESULT as an int; the error object's
    code is unsigned ("k"), unlike com_error.hresult."""
    svc.network.register("http://server/a", b"abc")
    bits = _bits()
    job = bcm.CreateJob("j", 0)
    job.AddFile("http://server/a", "/no-such-dir/a")
    job.AddFile("http://server/missing", "/no-such-dir/b")
    assert job.Suspend() == 0
    assert job.Resume() == 0
    svc.run_until_idle()
    assert job.GetState() == bits.BG_JOB_STATE_ERROR
    err = job.GetError()
    assert type(err).__name__ == "PyIBackgroundCopyError"
    context, code = err.GetError()
    assert context == bits.BG_ERROR_CONTEXT_LOCAL_FILE and code == 0x80070003  # unsigned
    assert err.GetFile().GetLocalName() == "/no-such-dir/a"
    assert err.GetErrorContextDescription(0x409)
    import pythoncom

    with pytest.raises(pythoncom.com_error) as exc:
        err.GetErrorContextDescription(0)
    assert exc.value.hresult == -2147024809  # E_INVALIDARG: LanguageId 0
    with pytest.raises(TypeError):
        err.GetErrorContextDescription()  # required in pywin32
    assert err.GetErrorDescription()  # omitted: the user's default language
    assert job.Cancel() == 0


def test_stubs_raise_not_implemented(bcm: Any) -> None:
    bits = _bits()
    job = bcm.CreateJob("j", 0)
    with pytest.raises(NotImplementedError, match=r"^fix me$"):
        job.AddFileSet([("http://server/a", "/x/a")])
    with pytest.raises(NotImplementedError, match=r"^fix me$"):
        job.QueryInterface(bits.IID_IBackgroundCopyJob2).SetCredentials((1, 1, "u", "p"))
    with pytest.raises(NotImplementedError, match=r"^fix me$"):
        job.QueryInterface(bits.IID_IBackgroundCopyJob3).AddFileWithRanges("http://s/a", "/x/a", [(0, 10)])


def test_unwrapped_iids_raise_type_error(bcm: Any) -> None:
    """pywin32 has no wrapper for IBitsTokenOptions, Job4/5, HttpOptions, File3+: TypeError after a
    successful QueryInterface, unless the caller names a wrapper with useIID."""
    import pythoncom

    job = bcm.CreateJob("j", 0)
    for iid in (IID_IBitsTokenOptions, IID_IBackgroundCopyJob4):
        with pytest.raises(TypeError, match=r"^There is no interface object registered that supports this IID$"):
            job.QueryInterface(iid)
    assert type(job.QueryInterface(IID_IBitsTokenOptions, pythoncom.IID_IUnknown)).__name__ == "PyIUnknown"
    with pytest.raises(pythoncom.com_error) as exc:  # the object lacks it: E_NOINTERFACE
        job.QueryInterface(pythoncom.IID_IDispatch)
    assert exc.value.args == (-2147467262, "No such interface supported", None, None)


@pytest.mark.bits(profile="vista")
def test_interfaces_the_profile_lacks_give_e_nointerface(bits_pywin32: Pywin32) -> None:
    import pythoncom

    bits = _bits()
    bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
    with pytest.raises(pythoncom.com_error) as exc:
        bcm.CreateJob("j", 0).QueryInterface(IID_IBitsTokenOptions)  # BITS 4.0 > vista's 3.0
    assert exc.value.hresult == -2147467262
    with pytest.raises(pythoncom.com_error):  # the BITS 4.0 CLSID is not registered on vista
        pythoncom.CoCreateInstance("{BB6DF56B-CACE-11DC-9992-0019B93A3A84}", None, 4, bits.IID_IBackgroundCopyManager)


def test_enumerators_iterate_and_next_returns_tuples(bcm: Any) -> None:
    for n in range(3):
        bcm.CreateJob(f"j{n}", 0)
    enum = bcm.EnumJobs(0)
    assert type(enum).__name__ == "PyIEnumBackgroundCopyJobs" and not hasattr(enum, "GetCount")
    first = enum.Next(2)
    assert isinstance(first, tuple) and len(first) == 2
    clone = enum.Clone()
    assert [j.GetDisplayName() for j in enum] == ["j2"]  # iteration continues from the position
    assert enum.Next() == () and enum.Next(5) == ()
    enum.Reset()
    enum.Skip(1)
    assert [j.GetDisplayName() for j in enum] == ["j1", "j2"]
    assert len(clone.Next(10)) == 1
    enum.Reset()
    enum.Skip(10)  # S_FALSE is no error
    assert enum.Next() == ()
    assert sorted(j.GetDisplayName() for j in bcm.EnumJobs(0)) == ["j0", "j1", "j2"]
    with pytest.raises(TypeError):
        iter(bcm)  # neither the manager nor a job iterates


# --- callbacks ----------------------------------------------------------------------------------------


class Recorder:
    _public_methods_: ClassVar[list[str]] = ["JobTransferred", "JobError", "JobModification"]

    def __init__(self, iids: list[Any], complete: bool = True) -> None:
        self._com_interfaces_ = iids
        self.calls: list[tuple[str, str, int]] = []
        self.complete = complete

    def JobTransferred(self, job: Any) -> None:
        self.calls.append(("JobTransferred", type(job).__name__, threading.get_ident()))
        if self.complete:
            job.Complete()

    def JobError(self, job: Any, error: Any) -> None:
        self.calls.append(("JobError", type(error).__name__, threading.get_ident()))

    def JobModification(self, job: Any, reserved: int) -> None:
        self.calls.append(("JobModification", type(job).__name__, reserved))


def _watched_job(svc: BitsService, bcm: Any, cb: Any, url: str = "http://server/a") -> Any:
    from win32com.server.util import wrap

    bits = _bits()
    job = bcm.CreateJob("watched", 0)
    job.AddFile(url, "/x/a")
    dispatch = wrap(cb)
    assert type(dispatch).__name__ == "PyIDispatch"
    job.SetNotifyInterface(dispatch)
    job.SetNotifyFlags(bits.BG_NOTIFY_JOB_TRANSFERRED | bits.BG_NOTIFY_JOB_ERROR)
    return job


def test_callbacks_arrive_only_from_the_pump(svc: BitsService, bcm: Any, tmp_path: pathlib.Path) -> None:
    """STA delivery: BITS' calls wait in the message queue until PumpWaitingMessages, then run on the
    pumping thread with PyIBackgroundCopyJob / PyIBackgroundCopyError arguments."""
    import pythoncom

    svc.network.register("http://server/a", b"abc")
    svc.filesystem.makedirs(str(tmp_path))
    cb = Recorder([_bits().IID_IBackgroundCopyCallback])
    job = _watched_job(svc, bcm, cb)
    job.Resume()
    svc.run_until_idle()
    assert job.GetState() == _bits().BG_JOB_STATE_ERROR  # /x does not exist: ERROR, no callback yet
    assert cb.calls == []
    assert pythoncom.PumpWaitingMessages() == 0
    assert cb.calls == [("JobError", "PyIBackgroundCopyError", threading.get_ident())]
    (_file,) = job.EnumFiles()
    job2 = bcm.CreateJob("ok", 0)
    job2.AddFile("http://server/a", str(tmp_path / "a"))
    from win32com.server.util import wrap

    job2.SetNotifyInterface(wrap(cb))
    job2.Resume()
    pythoncom.PumpWaitingMessages()  # a pump catches the simulation up too
    assert cb.calls[-1] == ("JobTransferred", "PyIBackgroundCopyJob", threading.get_ident())
    assert (tmp_path / "a").read_bytes() == b"abc"  # the callback's Complete ran


def test_an_object_without_the_callback_interface_gets_nothing(svc: BitsService, bcm: Any) -> None:
    import pythoncom

    svc.network.register("http://server/a", b"abc")
    cb = Recorder([])  # _com_interfaces_ does not list IBackgroundCopyCallback: BITS' QI fails
    job = _watched_job(svc, bcm, cb)
    job.Resume()
    pythoncom.PumpWaitingMessages()
    assert cb.calls == []
    named = Recorder(["IBackgroundCopyCallback"])  # a registered interface name works as the IID
    job.SetNotifyInterface(__import__("win32com.server.util").server.util.wrap(named))
    pythoncom.PumpWaitingMessages()
    assert [c[0] for c in named.calls] == ["JobError"]


def test_a_raising_callback_is_logged_and_the_pump_goes_on(
    svc: BitsService, bcm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import pythoncom

    class Broken(Recorder):
        def JobError(self, job: Any, error: Any) -> None:
            raise RuntimeError("boom")

    svc.network.register("http://server/a", b"abc")
    broken = Broken([_bits().IID_IBackgroundCopyCallback])
    ok = Recorder([_bits().IID_IBackgroundCopyCallback])
    _watched_job(svc, bcm, broken).Resume()
    _watched_job(svc, bcm, ok).Resume()
    assert pythoncom.PumpWaitingMessages() == 0
    assert [c[0] for c in ok.calls] == ["JobError"]
    err = capsys.readouterr().err
    assert "pythoncom error: Unexpected exception in gateway method 'JobError'" in err
    assert "RuntimeError: boom" in err


def test_msgwait_reports_messages_events_and_timeouts(tmp_path: pathlib.Path) -> None:
    """MsgWaitForMultipleObjects: WAIT_TIMEOUT while nothing is ready (a ManualClock moves by the
    timeout), WAIT_OBJECT_0 + nCount when BITS' calls are queued, WAIT_OBJECT_0 + i for a signalled
    handle (auto-reset events reset, manual ones do not)."""
    clock = ManualClock()
    with BitsService(clock=clock) as svc, installed(svc) as layer:
        import pythoncom
        import win32event
        from win32com.server.util import wrap

        bits = _bits()
        svc.network.register("http://server/a", b"x" * 1000, rate=100)  # 10 s of transfer
        svc.filesystem.drive_root = tmp_path
        svc.filesystem.makedirs(r"C:\data")
        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        stop = win32event.CreateEvent(None, 0, 0, None)
        other = win32event.CreateEvent(None, 1, 0, None)
        cb = Recorder([bits.IID_IBackgroundCopyCallback], complete=False)
        job = bcm.CreateJob("j", 0)
        job.AddFile("http://server/a", r"C:\data\a")
        job.SetNotifyInterface(wrap(cb))
        job.SetNotifyFlags(bits.BG_NOTIFY_JOB_TRANSFERRED)
        job.Resume()
        start = clock.time()
        rc = win32event.MsgWaitForMultipleObjects((stop, other), 0, 200, win32event.QS_ALLEVENTS)
        assert rc == win32event.WAIT_TIMEOUT and clock.time() == start + 0.2
        assert win32event.MsgWaitForMultipleObjects((stop, other), 0, 0, win32event.QS_ALLEVENTS) == 258
        assert clock.time() == start + 0.2  # a zero timeout only polls
        waits = 0
        while (rc := win32event.MsgWaitForMultipleObjects((stop,), 0, 1000, win32event.QS_ALLEVENTS)) == 258:
            waits += 1
        assert rc == win32event.WAIT_OBJECT_0 + 1 and layer.pending_messages == 1 and cb.calls == []
        assert waits == 9 and clock.time() == pytest.approx(start + 10.0)
        assert win32event.MsgWaitForMultipleObjects((stop,), 0, 0, 0) == 258  # no QS_POSTMESSAGE wake
        pythoncom.PumpWaitingMessages()
        assert [c[0] for c in cb.calls] == ["JobTransferred"] and layer.pending_messages == 0
        win32event.SetEvent(other)
        assert win32event.MsgWaitForMultipleObjects((stop, other), 0, 1000, win32event.QS_ALLEVENTS) == 1
        assert win32event.WaitForSingleObject(other, 0) == 0  # manual reset: still signalled
        win32event.SetEvent(stop)
        assert win32event.WaitForSingleObject(stop, 0) == 0
        assert win32event.WaitForSingleObject(stop, 0) == 258  # auto reset
        assert job.Complete() == 0
        with pytest.raises(RuntimeError, match="could never end"):
            win32event.MsgWaitForMultipleObjects((stop,), 0, win32event.INFINITE, win32event.QS_ALLEVENTS)


def test_waits_run_transfers_deterministically(tmp_path: pathlib.Path) -> None:
    """A 10-second transfer behind a 200 ms message loop: 50 waits of simulated time, no sleeping —
    with a ManualClock and with the wall clock alike."""
    for clock in (ManualClock(), None):
        with BitsService(clock=clock) as svc, installed(svc):
            import pythoncom
            import win32event
            from win32com.server.util import wrap

            bits = _bits()
            svc.network.register("http://server/a", b"x" * 1000, rate=100)
            svc.filesystem.drive_root = tmp_path / str(clock is None)
            svc.filesystem.makedirs(r"C:\data")
            bcm = pythoncom.CoCreateInstance(
                bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager
            )
            cb = Recorder([bits.IID_IBackgroundCopyCallback])
            job = bcm.CreateJob("j", 0)
            job.AddFile("http://server/a", r"C:\data\a")
            job.SetNotifyInterface(wrap(cb))
            job.Resume()
            waits = 0
            while not cb.calls:
                rc = win32event.MsgWaitForMultipleObjects((), 0, 200, win32event.QS_ALLEVENTS)
                if rc == win32event.WAIT_OBJECT_0:
                    pythoncom.PumpWaitingMessages()
                waits += 1
                assert waits < 100
            assert 50 <= waits <= 51
            assert svc.filesystem.host_path(r"C:\data\a").read_bytes() == b"x" * 1000


# --- security ---------------------------------------------------------------------------------------


def test_coinitializesecurity_and_impersonation(svc: BitsService) -> None:
    """A service process (LocalSystem) with dynamic cloaking creates the job as the user it impersonates
    (ImpersonateLoggedOnUser → the service's thread impersonation); RevertToSelf goes back."""
    alice = svc.logon(svc.add_user("alice"))
    system = svc.logon(svc.local_system)
    with installed(svc, system.token) as layer:
        import pythoncom
        import win32security

        bits = _bits()
        pythoncom.CoInitializeSecurity(
            None, None, None, 0, pythoncom.RPC_C_IMP_LEVEL_IMPERSONATE, None, pythoncom.EOAC_DYNAMIC_CLOAKING, None
        )
        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        win32security.ImpersonateLoggedOnUser(layer.token_handle(alice.token))
        as_alice = bcm.CreateJob("a", 0)
        win32security.RevertToSelf()
        as_system = bcm.CreateJob("s", 0)
        assert as_alice.GetOwner() == alice.token.user_sid
        assert as_system.GetOwner() == system.token.user_sid
        handle = win32security.LogonUser("alice", ".", "secret", 2, 0)
        win32security.ImpersonateLoggedOnUser(handle)
        assert bcm.CreateJob("b", 0).GetOwner() == alice.token.user_sid
        with pytest.raises(pythoncom.com_error) as exc:
            pythoncom.CoInitializeSecurity(None, None, None, 0, 3, None, 0, None)
        assert exc.value.hresult == -2147417831  # RPC_E_TOO_LATE
    assert svc.thread_token is None  # leaving the layer ends the thread's impersonation


def test_set_blanket_per_proxy_through_iclientsecurity(svc: BitsService) -> None:
    """pywin32 spells CoSetProxyBlanket as IClientSecurity.SetBlanket; it changes that proxy only."""
    alice = svc.logon(svc.add_user("alice"))
    system = svc.logon(svc.local_system)
    with installed(svc, system.token) as layer:
        import pythoncom
        import win32security

        bits = _bits()
        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        security = bcm.QueryInterface(pythoncom.IID_IClientSecurity)
        assert type(security).__name__ == "PyIClientSecurity"
        security.SetBlanket(bcm, 10, 0, None, 6, 3, None, pythoncom.EOAC_DYNAMIC_CLOAKING)
        assert security.QueryBlanket(bcm)[4] == 3
        win32security.ImpersonateLoggedOnUser(alice.token)  # an AccessToken works as the handle too
        assert bcm.CreateJob("a", 0).GetOwner() == alice.token.user_sid
        other = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        assert other.CreateJob("s", 0).GetOwner() == system.token.user_sid  # default blanket: no cloaking
        with pytest.raises(pythoncom.com_error) as exc:  # static and dynamic cloaking together
            security.SetBlanket(bcm, 10, 0, None, 6, 3, None, 0x60)
        assert exc.value.hresult == -2147024809
        win32security.RevertToSelf()
        assert layer.token is system.token


@pytest.mark.parametrize("caps", [0x2, 0x4, 0x8, 0x10, 0x200, 0x400, 0x1000, 0x2000, 0x10000, 0x42, 0x1002])
def test_set_blanket_refuses_capability_flags_cosetproxyblanket_does_not_take(svc: BitsService, caps: int) -> None:
    """https://learn.microsoft.com/en-us/windows/win32/api/combaseapi/nf-combaseapi-cosetproxyblanket: "If any
    capability flags other than those mentioned here are set, CoSetProxyBlanket will fail" (E_INVALIDARG);
    the proxy keeps the blanket it had."""
    with installed(svc, svc.current_session.token):
        import pythoncom

        bits = _bits()
        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        job = bcm.CreateJob("x", 0)
        security = job.QueryInterface(pythoncom.IID_IClientSecurity)
        security.SetBlanket(job, 10, 0, None, 6, 3, None, pythoncom.EOAC_DYNAMIC_CLOAKING)
        with pytest.raises(pythoncom.com_error) as exc:
            security.SetBlanket(job, 10, 0, None, 6, 2, None, caps)
        assert exc.value.hresult == -2147024809  # E_INVALIDARG
        assert security.QueryBlanket(job)[4] == 3
        assert security.QueryBlanket(job)[6] == 0x40


@pytest.mark.parametrize(
    ("caps", "cloaking"),
    [(0x0, 0x0), (0x1, 0x0), (0x20, 0x20), (0x40, 0x40), (0x80, 0x0), (0x100, 0x0), (0x800, 0x0), (0x9C1, 0x40)],
)
def test_set_blanket_takes_the_settable_capability_flags(svc: BitsService, caps: int, cloaking: int) -> None:
    """Same page: EOAC_MUTUAL_AUTH, STATIC/DYNAMIC_CLOAKING, ANY_AUTHORITY, MAKE_FULLSIC and DEFAULT may be set;
    only the cloaking bits change what BITS sees (emulator choice), so QueryBlanket reports those."""
    with installed(svc, svc.current_session.token):
        import pythoncom

        bits = _bits()
        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        job = bcm.CreateJob("x", 0)
        security = job.QueryInterface(pythoncom.IID_IClientSecurity)
        security.SetBlanket(job, 10, 0, None, 6, 3, None, caps)
        assert security.QueryBlanket(job)[6] == cloaking


def test_unwrap_reaches_the_native_api(svc: BitsService, bcm: Any) -> None:
    """The explicit way to what pywin32 lacks: the native object behind a wrapper."""
    from emulator import IBitsTokenOptions, Job

    job = bcm.CreateJob("j", 0)
    native = unwrap(job)
    assert isinstance(native, Job)
    assert native.query_interface(IBitsTokenOptions).get_helper_token_flags() == 0
    assert unwrap(job.GetId()) == native.get_id()
    with pytest.raises(TypeError):
        unwrap(object())


def test_transient_errors_reach_jobmodification_not_joberror(svc: BitsService, bcm: Any) -> None:
    """test_bits.py's note: a TRANSIENT_ERROR fires JobModification, not JobError; the job's error is
    there to read (an unresolvable host: ERROR_WINHTTP_NAME_NOT_RESOLVED, transient)."""
    import pythoncom
    from win32com.server.util import wrap

    bits = _bits()
    seen: list[tuple[str, int, int]] = []

    class Watcher(Recorder):
        def JobModification(self, job: Any, reserved: int) -> None:
            if job.GetState() == bits.BG_JOB_STATE_TRANSIENT_ERROR:
                seen.append(("JobModification", reserved, job.GetError().GetError()[1]))

    watcher = Watcher([bits.IID_IBackgroundCopyCallback])
    job = bcm.CreateJob("j", 0)
    job.AddFile("http://nowhere.invalid/a", "/x/a")
    job.SetNotifyInterface(wrap(watcher))
    job.SetNotifyFlags(bits.BG_NOTIFY_JOB_ERROR | bits.BG_NOTIFY_JOB_MODIFICATION)
    job.Resume()
    svc.run_until_idle(10)
    pythoncom.PumpWaitingMessages()
    assert seen and seen[-1] == ("JobModification", 0, 0x80072EE7)
    assert not [c for c in watcher.calls if c[0] == "JobError"]
    notify = job.GetNotifyInterface()
    assert type(notify).__name__ == "PyIUnknown"
    assert type(notify.QueryInterface(pythoncom.IID_IDispatch)).__name__ == "PyIDispatch"
    job.SetNotifyInterface(None)
    assert job.GetNotifyInterface() is None
    with pytest.raises(TypeError, match=r"^The Python instance can not be converted to a COM object$"):
        job.SetNotifyInterface(watcher)  # a bare Python object is no COM object: wrap() it


def test_win32api_formatmessage_knows_system_messages_only(layer: Pywin32) -> None:
    """FormatMessage(FROM_SYSTEM): Win32 texts with their line break; BITS' own codes are not system
    messages, so pywin32 raises win32api.error (what test_bits.py catches)."""
    import pywintypes
    import win32api

    assert win32api.FormatMessage(5) == "Access is denied.\r\n"
    assert win32api.FormatMessage(0x80070005) == "Access is denied.\r\n"
    with pytest.raises(win32api.error) as exc:
        win32api.FormatMessage(0x80190194)
    assert win32api.error is pywintypes.error and exc.value.winerror == 317
    assert exc.value.funcname == "FormatMessageW"
    assert not issubclass(pywintypes.com_error, pywintypes.error)


def test_aggregation_is_refused(bcm: Any) -> None:
    import pythoncom

    bits = _bits()
    with pytest.raises(pythoncom.com_error) as exc:
        pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, bcm, 4, bits.IID_IBackgroundCopyManager)
    assert exc.value.hresult == -2147221232  # CLASS_E_NOAGGREGATION
