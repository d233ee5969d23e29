"""installed() and the bits_pywin32 fixture: what sys.modules holds inside and after (docs/pywin32.md)."""

from __future__ import annotations

import sys
import types

import pytest

from emulator import BitsService
from emulator.compat.pywin32 import MODULE_NAMES, installed

pytest_plugins = ["pytester"]


def test_modules_are_importable_inside_and_gone_after(svc: BitsService) -> None:
    """Emulator choice: the names installed() registers, and any win32com.*/win32comext.* submodule
    imported meanwhile, are restored exactly; other modules are left alone."""
    assert not any(name in sys.modules for name in MODULE_NAMES)  # nothing on Linux imports them
    with installed(svc) as layer:
        import pythoncom
        import pywintypes
        import win32api
        import win32con
        import win32event
        import win32security
        from win32com.bits import bits
        from win32com.server.util import wrap

        assert pythoncom is layer.modules["pythoncom"] is layer.pythoncom
        assert {pywintypes, win32api, win32con, win32event, win32security} <= set(layer.modules.values())
        assert callable(wrap) and bits.BG_JOB_TYPE_DOWNLOAD == 0
        sys.modules["win32com.extra"] = types.ModuleType("win32com.extra")  # imported inside
    for name in (*MODULE_NAMES, "win32com.extra"):
        assert name not in sys.modules, name
    with pytest.raises(ImportError):
        import pythoncom


def test_existing_modules_are_put_back(svc: BitsService) -> None:
    before = {name: types.ModuleType(name) for name in ("pythoncom", "win32com", "win32com.bits")}
    sys.modules.update(before)
    try:
        with installed(svc) as layer:
            assert sys.modules["pythoncom"] is layer.modules["pythoncom"]
            assert sys.modules["win32com.bits"] is layer.modules["win32com.bits"]
        for name, module in before.items():
            assert sys.modules[name] is module
        assert "win32comext" not in sys.modules and "pywintypes" not in sys.modules
    finally:
        for name in before:
            sys.modules.pop(name, None)


def test_restored_even_when_the_block_raises(svc: BitsService) -> None:
    with pytest.raises(ZeroDivisionError), installed(svc):
        1 / 0  # noqa: B018
    assert "pythoncom" not in sys.modules


def test_installed_checks_its_arguments(svc: BitsService) -> None:
    with pytest.raises(TypeError), installed(object()):  # type: ignore[arg-type]
        pass
    with pytest.raises(TypeError), installed(svc, "User"):  # type: ignore[arg-type]
        pass


def test_the_client_process_runs_as_the_given_token(svc: BitsService) -> None:
    alice = svc.logon(svc.add_user("alice"))
    with installed(svc) as layer:
        assert layer.token is svc.current_session.token
    with installed(svc, alice.token) as layer:
        import pythoncom
        from win32com.bits import bits

        bcm = pythoncom.CoCreateInstance(bits.CLSID_BackgroundCopyManager, None, 4, bits.IID_IBackgroundCopyManager)
        assert bcm.CreateJob("j", 0).GetOwner() == alice.token.user_sid


def test_bits_pywin32_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import sys

        def test_inside(bits_pywin32, bits_service):
            import pythoncom
            from win32com.bits import bits
            assert bits_pywin32.service is bits_service
            bcm = pythoncom.CoCreateInstance(
                bits.CLSID_BackgroundCopyManager, None, pythoncom.CLSCTX_LOCAL_SERVER,
                bits.IID_IBackgroundCopyManager)
            assert type(bcm.CreateJob("j", bits.BG_JOB_TYPE_DOWNLOAD)).__name__ == "PyIBackgroundCopyJob"

        def test_after():
            assert "pythoncom" not in sys.modules
        """
    )
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=2)
