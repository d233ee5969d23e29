"""pywin32 312 details of emulator.compat.pywin32 found by auditing the layer against pywin32's behaviour
(docs/pywin32.md): argument-count messages, keywords on GetId, QueryInterface's useIID, wrapper equality.

Facts: CPython's own ``PyArg_ParseTuple`` (called through ctypes, so the expected text is the real one),
https://docs.python.org/3/c-api/structures.html#c.METH_VARARGS,
https://mhammond.github.io/pywin32/PyIUnknown__QueryInterface_meth.html and
https://learn.microsoft.com/en-us/windows/win32/api/unknwn/nf-unknwn-iunknown-queryinterface(refiid_void).
"""

from __future__ import annotations

import ctypes
from collections.abc import Iterator
from typing import Any

import pytest

from emulator import BitsService
from emulator.compat.pywin32 import Pywin32, installed

IID_IBitsTokenOptions = "{9A2584C3-F7D2-457A-9A5E-22B67BFFC7D2}"
NO_WRAPPER = "^There is no interface object registered that supports this IID$"


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


def _cpython_parse_error(args: tuple[Any, ...], fmt: bytes) -> str:
    """The TypeError CPython's PyArg_ParseTuple raises for a count mismatch (no value is converted, so the
    output pointers are never written)."""
    parse = ctypes.pythonapi.PyArg_ParseTuple
    parse.restype = ctypes.c_int
    out = (ctypes.c_void_p * 4)()
    with pytest.raises(TypeError) as exc:
        parse(ctypes.py_object(args), ctypes.c_char_p(fmt), ctypes.byref(out), ctypes.byref(out, 8))
    return str(exc.value)


def test_argument_count_messages_are_pyarg_parsetuples(bcm: Any) -> None:
    """pywin32's methods parse with PyArg_ParseTuple; a format without arguments (":GetState") given one
    says "takes exactly 0 arguments", as CPython's own function does (there is no "takes no arguments"
    wording in PyArg_ParseTuple)."""
    import pythoncom

    job = bcm.CreateJob("j", 0)
    expected = _cpython_parse_error((1,), b":GetState")
    assert expected == "GetState() takes exactly 0 arguments (1 given)"
    with pytest.raises(TypeError) as exc:
        job.GetState(1)
    assert str(exc.value) == expected
    with pytest.raises(TypeError) as exc:
        job.Resume(1, 2)
    assert str(exc.value) == _cpython_parse_error((1, 2), b":Resume")
    with pytest.raises(TypeError) as exc:
        job.EnumFiles().Next(1, 2)
    assert str(exc.value) == _cpython_parse_error((1, 2), b"|l:Next") == "Next() takes at most 1 argument (2 given)"
    with pytest.raises(TypeError) as exc:
        bcm.CreateJob("j", 0, 1)
    assert str(exc.value) == _cpython_parse_error(("j", 0, 1), b"Ol:CreateJob")
    with pytest.raises(TypeError) as exc:
        pythoncom.CoUninitialize(0)
    assert str(exc.value) == "CoUninitialize() takes exactly 0 arguments (1 given)"


def test_getid_ignores_extra_positionals_but_refuses_keywords(bcm: Any) -> None:
    """GetId parses no arguments (extra positional ones are ignored), but it is a METH_VARARGS method:
    CPython refuses keywords before the call, naming the type of the object it is bound to."""
    from win32com.bits import bits

    job = bcm.CreateJob("j", 0)
    assert job.GetId(1, "x") == job.GetId()
    with pytest.raises(TypeError) as exc:
        job.GetId(extra=1)
    assert str(exc.value) == "PyIBackgroundCopyJob.GetId() takes no keyword arguments"
    job2 = job.QueryInterface(bits.IID_IBackgroundCopyJob2)
    with pytest.raises(TypeError) as exc:
        job2.GetId(extra=1)
    assert str(exc.value) == "PyIBackgroundCopyJob2.GetId() takes no keyword arguments"


def test_queryinterface_useiid_is_only_a_fallback(bcm: Any) -> None:
    """useIID "will return an interface for the specified IID if (and only if) a native interface can not
    be supported. If the interface specified by iid is natively supported, this option is ignored." None
    and the int 0 mean no useIID, the int 1 means IID_IUnknown (PyIUnknown.QueryInterface page)."""
    import pythoncom
    from win32com.bits import bits

    job = bcm.CreateJob("j", 0)
    assert type(job.QueryInterface(bits.IID_IBackgroundCopyJob2, pythoncom.IID_IUnknown)).__name__ == (
        "PyIBackgroundCopyJob2"
    )
    assert type(job.QueryInterface(bits.IID_IBackgroundCopyJob3, None)).__name__ == "PyIBackgroundCopyJob3"
    assert type(job.QueryInterface(IID_IBitsTokenOptions, pythoncom.IID_IUnknown)).__name__ == "PyIUnknown"
    assert type(job.QueryInterface(IID_IBitsTokenOptions, 1)).__name__ == "PyIUnknown"
    for no_use in (None, 0):
        with pytest.raises(TypeError, match=NO_WRAPPER):
            job.QueryInterface(IID_IBitsTokenOptions, no_use)
    with pytest.raises(TypeError, match=NO_WRAPPER):  # useIID names no wrapper either
        job.QueryInterface(IID_IBitsTokenOptions, bits.IID_IBackgroundCopyCallback)
    with pytest.raises(pythoncom.com_error) as exc:  # the object lacks it: E_NOINTERFACE before any wrapper
        job.QueryInterface(bits.IID_IBackgroundCopyManager, pythoncom.IID_IUnknown)
    assert exc.value.args == (-2147467262, "No such interface supported", None, None)


def test_queryinterface_from_the_token_options_back_to_the_job(bcm: Any) -> None:
    """QueryInterface is symmetric (IUnknown::QueryInterface page): the job's IBitsTokenOptions (a PyIUnknown:
    pywin32 wraps no IBitsTokenOptions) answers IID_IBackgroundCopyJob with the same job, equal to it."""
    import pythoncom
    from win32com.bits import bits

    job = bcm.CreateJob("j", 0)
    opts = job.QueryInterface(IID_IBitsTokenOptions, pythoncom.IID_IUnknown)
    back = opts.QueryInterface(bits.IID_IBackgroundCopyJob)
    assert type(back).__name__ == "PyIBackgroundCopyJob"
    assert back.GetId() == job.GetId()
    assert back == job


def test_wrappers_of_one_object_compare_equal_across_queryinterface(svc: BitsService, bcm: Any) -> None:
    """pywin32's == compares COM identities, and a QueryInterface for IUnknown on any interface of one
    object gives the same pointer (IUnknown::QueryInterface page): the manager, a file and an enumerator
    are equal to what QueryInterface returns for them; distinct objects are not."""
    import pythoncom
    from win32com.bits import bits

    unknown = bcm.QueryInterface(pythoncom.IID_IUnknown)
    assert type(unknown).__name__ == "PyIUnknown"
    assert bcm == unknown and hash(bcm) == hash(unknown)
    assert bcm == unknown.QueryInterface(bits.IID_IBackgroundCopyManager)
    job = bcm.CreateJob("j", 0)
    job.AddFile("http://server/a", "/x/a")
    job.AddFile("http://server/b", "/x/b")
    first, second = job.EnumFiles().Next(2)
    file2 = first.QueryInterface(bits.IID_IBackgroundCopyFile2)
    assert type(file2).__name__ == "PyIBackgroundCopyFile2"
    assert first == file2 == file2.QueryInterface(pythoncom.IID_IUnknown) and hash(first) == hash(file2)
    assert first != second
    enum = job.EnumFiles()
    assert enum == enum.QueryInterface(bits.IID_IEnumBackgroundCopyFiles)
    assert enum != job.EnumFiles()
    assert bcm != job and job != first
    assert job.QueryInterface(pythoncom.IID_IUnknown) == job.QueryInterface(bits.IID_IBackgroundCopyJob3)


def test_cocreateinstance_converts_unkouter_before_any_com_work(layer: Pywin32) -> None:
    """unkOuter is "The outer unknown, or None" (https://mhammond.github.io/pywin32/
    pythoncom__CoCreateInstance_meth.html); pywin32 converts it before it calls CoCreateInstance, so a
    Python object that is no COM object is a TypeError even for an unregistered CLSID or on a thread
    without CoInitialize. A real COM object (or one holding it in ``_oleobj_``) reaches COM, and BITS
    refuses aggregation (CLASS_E_NOAGGREGATION)."""
    import threading

    import pythoncom
    from win32com.bits import bits

    message = "^The Python instance can not be converted to a COM object$"
    with pytest.raises(TypeError, match=message):
        pythoncom.CoCreateInstance(bits.IID_IBackgroundCopyJob, object(), 4, bits.IID_IBackgroundCopyManager)
    seen: list[str] = []

    def worker() -> None:  # never calls CoInitialize
        try:
            pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, 5, 4, bits.IID_IBackgroundCopyManager)
        except TypeError as exc:
            seen.append(str(exc))

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    assert seen == ["The Python instance can not be converted to a COM object"]
    bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)

    class Holder:
        _oleobj_ = bcm

    with pytest.raises(pythoncom.com_error) as exc:
        pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, Holder(), 4, bits.IID_IBackgroundCopyManager)
    assert exc.value.args == (-2147221232, "Class does not support aggregation (or class object is remote)", None, None)
    with pytest.raises(pythoncom.com_error) as exc:  # an unregistered CLSID fails first in COM
        pythoncom.CoCreateInstance(bits.IID_IBackgroundCopyJob, bcm, 4, bits.IID_IBackgroundCopyManager)
    assert exc.value.hresult == -2147221164  # REGDB_E_CLASSNOTREG
