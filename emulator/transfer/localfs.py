"""The local file system as BITS jobs see it: a sandbox for Windows paths, temp files, directory ACLs.

* Windows drive paths ``C:\\x\\y`` map to ``<drive_root>/C/x/y``; UNC paths ``\\\\server\\share\\p`` to
  ``<unc_root>/server/share/p``; absolute POSIX paths are used as they are. ``drive_root`` is
  ``BitsService(root=…)/drives``, or set ``svc.filesystem.drive_root``; else a per-service
  ``tempfile.mkdtemp()`` made on first use and deleted when the service closes.
* No name escapes its root: ``..`` segments and device names (CON, NUL, COM1 …) → E_INVALIDARG; a
  symlink that leads out of the root → E_ACCESSDENIED. Alternate data streams are refused by the name
  rules (domain/names.py). Nothing is written when a name is refused.
* The destination directory is not required to exist at AddFile (BITS creates nothing before the
  transfer); OUR CHOICE: when the transfer starts and it does not exist, the job goes to ERROR with
  context LOCAL_FILE and HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) 0x80070003.
* Downloads write a temporary file ``BIT<hex>.tmp`` in the destination directory (bits-core §3.5);
  Complete renames it over the local name (an existing file is replaced); Cancel deletes it.
* A minimal ACL model: ``restrict(directory, writers=[sid, …])`` lets only those SIDs create files in
  the directory and below. The identity writing is the job owner, or the helper token's user when the
  job has BG_TOKEN_LOCAL_FILE and a helper token (bits-security §5).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from .. import hresults
from ..domain.names import is_unc
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError
from ..identity.tokens import AccessToken

if TYPE_CHECKING:
    from ..service import BitsService

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
LOCAL_FILE_FLAG = 0x1  # BG_TOKEN_LOCAL_FILE


def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"[\\/]", path) if s]


def _check_segments(segments: Iterable[str]) -> None:
    for seg in segments:
        if seg in (".", ".."):
            raise BitsError(hresults.E_INVALIDARG, f"{seg!r} segments are not allowed in a local name")
        stem = seg.split(".", 1)[0].rstrip(" ").upper()
        if stem in DEVICE_NAMES:
            raise BitsError(hresults.E_INVALIDARG, f"{seg!r} is a device name")


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _existing_realpath(path: Path) -> Path:
    """The real path of the deepest existing ancestor, with the rest appended."""
    probe = path
    rest: list[str] = []
    while not probe.exists() and probe != probe.parent:
        if probe.is_symlink():  # a dangling symlink: its target is what counts
            break
        rest.append(probe.name)
        probe = probe.parent
    real = Path(os.path.realpath(probe))
    for name in reversed(rest):
        real = real / name
    return real


class LocalFileSystem:
    def __init__(self, svc: BitsService) -> None:
        self._svc = svc
        self._drive_root: Path | None = None
        self._made_root: Path | None = None  # a temporary drive root of our own, deleted at close
        self._unc_root: Path | None = None
        self._writers: dict[Path, frozenset[str]] = {}

    # roots ----------------------------------------------------------------------------------------

    @property
    def drive_root(self) -> Path:
        if self._drive_root is None:
            self._drive_root = self._made_root = Path(tempfile.mkdtemp(prefix="bits-drives-"))
        return self._drive_root

    @drive_root.setter
    def drive_root(self, value: str | os.PathLike[str]) -> None:
        self._drive_root = Path(value)

    def close(self) -> None:
        """Delete the temporary drive root this object made (never a root it was given)."""
        if self._made_root is not None:
            shutil.rmtree(self._made_root, ignore_errors=True)
            if self._drive_root == self._made_root:
                self._drive_root = None
            self._made_root = None

    @property
    def unc_root(self) -> Path:
        if self._unc_root is None:
            return self.drive_root / "UNC"
        return self._unc_root

    @unc_root.setter
    def unc_root(self, value: str | os.PathLike[str]) -> None:
        self._unc_root = Path(value)

    def _root_of(self, name: str) -> tuple[Path | None, Path]:
        """(root or None for POSIX paths, host path) for a local or SMB name; E_INVALIDARG if refused."""
        m = _DRIVE.match(name)
        if m:
            segs = _segments(name[2:])
            _check_segments(segs)
            root = self.drive_root
            return root, root.joinpath(m.group(1).upper(), *segs)
        if is_unc(name):
            segs = _segments(name)
            _check_segments(segs)
            root = self.unc_root
            return root, root.joinpath(*segs)
        if name.startswith("/"):
            segs = _segments(name)
            _check_segments(segs)
            return None, Path(str(PurePosixPath("/", *segs)))
        raise BitsError(hresults.E_INVALIDARG, f"{name!r} is not a full path")

    def host_path(self, name: str) -> Path:
        """Where a Windows (or POSIX) name lives on this machine; raises for names that escape."""
        root, path = self._root_of(name)
        if root is not None:
            real_root = Path(os.path.realpath(root))
            if not _within(_existing_realpath(path), real_root):
                raise BitsError(hresults.E_ACCESSDENIED, f"{name!r} leads out of its root through a link")
        return path

    def makedirs(self, name: str) -> Path:
        """Create a directory given by a Windows or POSIX name (a test convenience)."""
        path = self.host_path(name)
        path.mkdir(parents=True, exist_ok=True)
        return path

    # access control ------------------------------------------------------------------------------

    def restrict(self, directory: str | os.PathLike[str], writers: Iterable[str]) -> None:
        """Only ``writers`` (SIDs) may create files in ``directory`` and below (a Windows or host path)."""
        d = str(directory)
        path = self.host_path(d) if (_DRIVE.match(d) or is_unc(d)) else Path(d)
        self._writers[Path(os.path.realpath(path))] = frozenset(writers)

    def unrestrict(self, directory: str | os.PathLike[str]) -> None:
        d = str(directory)
        path = self.host_path(d) if (_DRIVE.match(d) or is_unc(d)) else Path(d)
        self._writers.pop(Path(os.path.realpath(path)), None)

    def may_write(self, sid: str, directory: Path) -> bool:
        if not self._writers:
            return True
        real = Path(os.path.realpath(directory))
        for restricted, writers in self._writers.items():
            if _within(real, restricted) and sid not in writers:
                return False
        return True

    def writer_sid(self, job: JobRecord) -> str:
        """Who creates the job's files: the helper token's user with BG_TOKEN_LOCAL_FILE, else the owner."""
        if job.helper_flags & LOCAL_FILE_FLAG and job.helper is not None:
            return job.helper.token.user_sid
        return job.owner_sid

    # the facade's hooks ----------------------------------------------------------------------------

    def check_destination(self, caller: AccessToken, job: JobRecord, local_name: str) -> str:
        """The local name as stored; raises E_INVALIDARG / E_ACCESSDENIED for names the sandbox refuses."""
        self.host_path(local_name)
        return local_name

    def check_new_owner(self, caller: AccessToken, job: JobRecord) -> None:
        """TakeOwnership: BG_E_NEW_OWNER_NO_FILE_ACCESS when the new owner cannot reach the job's files."""
        if not self._writers:
            return
        for f in job.files:
            try:
                directory = self.host_path(f.local_name).parent
            except BitsError:
                continue
            if not self.may_write(caller.user_sid, directory):
                raise BitsError(hresults.BG_E_NEW_OWNER_NO_FILE_ACCESS)

    # temporary files -------------------------------------------------------------------------------

    def prepare(self, job: JobRecord, f: FileRecord) -> tuple[Path, str | None]:
        """The temp file's host path, creating it if needed; (path, new temp name or None if unchanged).

        Raises BitsError with the LOCAL_FILE failure (missing directory, escape, ACL)."""
        dest = self.host_path(f.local_name)
        directory = dest.parent
        if not directory.is_dir():
            raise BitsError(hresults.ERROR_PATH_NOT_FOUND, f"{directory} does not exist")
        if not self.may_write(self.writer_sid(job), directory):
            raise BitsError(hresults.E_ACCESSDENIED, f"{self.writer_sid(job)} may not write in {directory}")
        if f.temp_name is not None:
            tmp = self.host_path(f.temp_name)
            if tmp.exists():
                return tmp, None
        n = f.file_id & 0xFFFF
        while True:
            # FILE_ATTRIBUTE_HIDDEN, spelled the POSIX way: a leading dot (our choice, docs/transfers.md).
            name = f".BIT{n:04X}.tmp"
            tmp = directory / name
            try:
                fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
            except FileExistsError:
                n = (n + 0x1F3) & 0xFFFFF
                continue
            os.close(fd)
            break
        sep = "/" if f.local_name.startswith("/") else "\\"
        head = f.local_name.rsplit(sep, 1)[0] if sep in f.local_name else f.local_name.rsplit("/", 1)[0]
        return tmp, f"{head}{sep}{name}"

    def write(self, tmp: Path, offset: int, data: bytes) -> None:
        with open(tmp, "r+b") as fh:
            fh.seek(offset)
            fh.write(data)

    def truncate(self, tmp: Path, size: int = 0) -> None:
        with open(tmp, "r+b") as fh:
            fh.truncate(size)

    def copy_into(self, source: Path, tmp: Path) -> None:
        shutil.copyfile(source, tmp)

    def finalize(self, f: FileRecord) -> None:
        """Complete: the temp file replaces the local name (raises OSError when the rename fails)."""
        if f.temp_name is None:
            raise FileNotFoundError(f.local_name)
        os.replace(self.host_path(f.temp_name), self.host_path(f.local_name))

    def discard(self, f: FileRecord) -> bool:
        """Delete a file's temporary; False when it exists but cannot be deleted."""
        if f.temp_name is None:
            return True
        try:
            os.unlink(self.host_path(f.temp_name))
        except FileNotFoundError:
            return True
        except (OSError, BitsError):
            return False
        return True

    # local sources (file://, drive paths, UNC) ---------------------------------------------------

    def source_path(self, remote: str) -> Path:
        """The host path of a ``file://`` URL, drive path or UNC path (raises BitsError if refused)."""
        name = remote
        if remote.lower().startswith("file://"):
            rest = remote[7:]
            from urllib.parse import unquote

            rest = unquote(rest)
            if rest.startswith("/") and _DRIVE.match(rest[1:]):
                name = rest[1:]
            elif rest.startswith("/"):
                name = rest
            else:
                name = "\\\\" + rest.replace("/", "\\")
        return self.host_path(name)
