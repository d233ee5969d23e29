"""Names are parsed once per string (the sandbox's parsed-name cache, the remote-name and URL memos): what
the caches must not change. Facts: BITS limits count UTF-16 code units (docs/reference/limits.md); "there is
no SMB support for upload-reply jobs" (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info);
everything else here is the emulator's own rule: a cache is invisible."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from emulator import BitsError, BitsService, ErrorContext, JobState, JobType
from emulator.domain.limits import utf16_len
from emulator.domain.names import remote_kind
from emulator.transfer import localfs

E_INVALIDARG = 0x80070057
E_ACCESSDENIED = 0x80070005
ERROR_PATH_NOT_FOUND = 0x80070003

pytestmark = pytest.mark.svc(clock="manual", sandbox=True)


@pytest.mark.parametrize("text", ["", "abc", "é", "\U0001f600x", "\ud800", "\ud800\udc00", "a\udfffb\U00010000"])
def test_utf16_len_counts_code_units_astral_pairs_and_lone_surrogates(text: str) -> None:
    # One unit per character, two for a character above U+FFFF; a lone surrogate (legal in Windows
    # names) is one unit.
    assert utf16_len(text) == len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def test_utf16_len_of_a_non_string_is_a_type_error() -> None:
    with pytest.raises(TypeError):
        utf16_len(None)  # type: ignore[arg-type]


def test_a_refused_local_name_is_refused_at_every_call(svc: BitsService) -> None:
    job = svc.connect().create_job("job", JobType.DOWNLOAD)[1]
    for _ in range(3):
        with pytest.raises(BitsError) as e:
            job.add_file("http://server/a", "C:\\a\\..\\b.bin")
        assert e.value.hresult == E_INVALIDARG
    assert job.get_progress().files_total == 0


def test_a_refused_remote_name_is_refused_at_every_call(svc: BitsService) -> None:
    job = svc.connect().create_job("job", JobType.DOWNLOAD)[1]
    for _ in range(3):
        with pytest.raises(BitsError) as e:
            job.add_file("http://[::1/a", "C:\\a.bin")
        assert e.value.hresult == E_INVALIDARG


def test_an_smb_name_checked_for_a_download_is_still_refused_to_an_upload_reply_job() -> None:
    name = "\\\\fs\\share\\cached-kind.bin"
    assert remote_kind(name, JobType.DOWNLOAD).value == "file"  # now remembered as SMB
    with pytest.raises(BitsError) as e:
        remote_kind(name, JobType.UPLOAD_REPLY)
    assert e.value.hresult == E_INVALIDARG


def test_the_parsed_name_cache_is_bounded(svc: BitsService) -> None:
    fs = svc.filesystem
    for i in range(localfs.NAMES + 50):
        fs.check_destination(f"C:\\many\\{i}.bin")
    assert len(fs._names) == localfs.NAMES  # the oldest names went first
    assert "C:\\many\\0.bin" not in fs._names and f"C:\\many\\{localfs.NAMES + 49}.bin" in fs._names


def test_a_root_moved_after_a_name_was_parsed_is_used(svc: BitsService, tmp_path: Path) -> None:
    fs = svc.filesystem
    before = fs.host_path("C:\\moved\\a.bin")
    fs.drive_root = tmp_path / "elsewhere"
    after = fs.host_path("C:\\moved\\a.bin")
    assert before.parent.parent.parent != after.parent.parent.parent
    assert after == tmp_path / "elsewhere" / "C" / "moved" / "a.bin"


def test_a_symlink_planted_between_transfer_and_complete_is_still_refused(svc: BitsService, tmp_path: Path) -> None:
    """The name was parsed at AddFile and again used at the transfer; Complete still walks the disk."""
    outside = tmp_path / "outside"
    outside.mkdir()
    svc.network.register("http://server/a", b"payload")
    drive = svc.filesystem.makedirs("C:\\d")
    job = svc.connect().create_job("job", JobType.DOWNLOAD)[1]
    job.add_file("http://server/a", "C:\\d\\a.bin")
    job.resume()
    svc.run_until_idle()
    assert job.get_state() is JobState.TRANSFERRED
    os.rename(drive, drive.with_name("moved"))
    os.symlink(outside, drive)
    with pytest.raises(BitsError) as e:
        job.complete()
    assert e.value.hresult == E_ACCESSDENIED
    assert list(outside.iterdir()) == []


def test_a_posix_directory_removed_after_add_file_fails_the_transfer(svc: BitsService, tmp_path: Path) -> None:
    """A POSIX name's parse is kept, not what the disk held: the directory is opened again at the transfer."""
    where = tmp_path / "posix" / "sub"
    where.mkdir(parents=True)
    svc.network.register("http://server/a", b"payload")
    job = svc.connect().create_job("job", JobType.DOWNLOAD)[1]
    job.add_file("http://server/a", str(where / "a.bin"))
    shutil.rmtree(where)
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, ERROR_PATH_NOT_FOUND)


def test_a_local_name_swapped_for_a_link_out_of_the_root_before_the_transfer_gets_nothing(
    svc: BitsService, tmp_path: Path
) -> None:
    """The transfer does not walk the directory twice any more: a local name that is itself a link out of
    the root is still followed and refused before the temporary is made (E_ACCESSDENIED, LOCAL_FILE)."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim").write_bytes(b"T")
    svc.network.register("http://server/a", b"payload")
    drive = svc.filesystem.makedirs("C:\\d")
    job = svc.connect().create_job("job", JobType.DOWNLOAD)[1]
    job.add_file("http://server/a", "C:\\d\\a.bin")
    os.symlink(outside / "victim", drive / "a.bin")
    job.resume()
    assert job.get_state() is JobState.ERROR
    assert job.get_error().get_error() == (ErrorContext.LOCAL_FILE, E_ACCESSDENIED)
    assert sorted(p.name for p in drive.iterdir()) == ["a.bin"]  # no temporary
    assert (outside / "victim").read_bytes() == b"T"


def test_a_local_name_linked_inside_the_root_keeps_its_temporary_beside_the_name(svc: BitsService) -> None:
    svc.network.register("http://server/a", b"payload")
    drive = svc.filesystem.makedirs("C:\\d")
    other = svc.filesystem.makedirs("C:\\e")
    (other / "b.bin").write_bytes(b"old")
    os.symlink(other / "b.bin", drive / "a.bin")
    job = svc.connect().create_job("job", JobType.DOWNLOAD)[1]
    job.add_file("http://server/a", "C:\\d\\a.bin")
    job.resume()
    assert job.get_state() is JobState.TRANSFERRED
    assert [p.name for p in drive.iterdir() if p.name.startswith(".BIT")] != []
    assert [p.name for p in other.iterdir()] == ["b.bin"]
