"""The local file system as BITS jobs see it: a sandbox for Windows paths, temp files, directory ACLs.

* Windows drive paths ``C:\\x\\y`` map to ``<drive_root>/C/x/y``; UNC paths ``\\\\server\\share\\p`` to
  ``<unc_root>/server/share/p``; absolute POSIX paths are used as they are. ``drive_root`` is
  ``BitsService(root=…)/drives``, or set ``svc.filesystem.drive_root``; else a per-service
  ``tempfile.mkdtemp()`` made on first use and deleted when the service closes.
* Windows name rules below the drive letter (https://learn.microsoft.com/en-us/windows/win32/fileio/naming-a-file):
  ``\\`` and ``/`` are both separators, names are case-insensitive (``c:\\OUT\\x`` finds an existing
  ``C:\\Out``; among several host names that differ only in case the exact one, else the first in sorted
  order), and trailing dots and spaces of every name component are dropped (``x. `` is ``x``; a
  component that is nothing but dots and spaces is E_INVALIDARG). The name as given is what GetLocalName
  returns; the rules decide only where it lands. POSIX names keep POSIX rules (case-sensitive, exact).
  Matching up to case reads a directory's listing once and keeps it current through the sandbox's own
  changes (a change made by anyone else moves the directory's mtime and forces a new read), so a new name
  costs O(1) whatever the number of files beside it. A name's parse (segments checked and host-spelled)
  is kept per string, bounded: it depends on the text alone, never on the disk, which every step walks again.
* Lone surrogates (legal in Windows names) are written to disk as their generalised UTF-8 bytes
  (``str.encode("utf-8", "surrogatepass")``), so any Windows name has one host name.
* No name escapes its root: ``..`` segments and device names (CON, NUL, COM1 …) → E_INVALIDARG; a
  symlink that leads out of the root → E_ACCESSDENIED. Alternate data streams are refused by the name
  rules (domain/names.py). Nothing is written when a name is refused.
* Race-free writes: every write walks from the root one directory descriptor at a time with
  ``O_NOFOLLOW`` (a symlink inside the root is resolved by hand and must stay inside it), opens the
  temporary relative to its directory with ``O_NOFOLLOW`` and refuses a file with other hard links, and
  Complete renames relative to the directory descriptor. A symlink swapped in at any moment — for the
  temporary, or for a directory between the check and the rename — gets no byte and no file:
  :class:`LocalFileFault` (E_ACCESSDENIED, context LOCAL_FILE) instead.
* The destination directory is not required to exist at AddFile (BITS creates nothing before the
  transfer); OUR CHOICE: when the transfer starts and it does not exist, the job goes to ERROR with
  context LOCAL_FILE and HRESULT_FROM_WIN32(ERROR_PATH_NOT_FOUND) 0x80070003.
* Downloads write a temporary file ``.BIT<hex>.tmp`` in the destination directory (life-cycle page:
  https://learn.microsoft.com/en-us/windows/win32/bits/life-cycle-of-a-bits-job); Complete renames it
  over the local name (an existing file is replaced); Cancel deletes it. A HIGH_PERFORMANCE job writes
  into the destination itself (``prepare`` creates or empties it when the file first starts), reached
  the same way: no symlink followed, no file with other hard links; nothing renames or deletes it.
* A minimal ACL model: ``restrict(directory, writers=[sid, …])`` lets only those SIDs create files in
  the directory and below. The identity writing is the job owner, or the helper token's user when the
  job has BG_TOKEN_LOCAL_FILE and a helper token (IBitsTokenOptions::SetHelperTokenFlags page).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shutil
import stat
import tempfile
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from .. import hresults
from ..domain.acting import acting_sid
from ..domain.names import is_unc
from ..domain.properties import writes_in_place
from ..domain.records import FileRecord, JobRecord
from ..hresults import BitsError

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")
DEVICE_NAMES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"COM{i}" for i in range(1, 10)}
    | {f"LPT{i}" for i in range(1, 10)}
)
LOCAL_FILE_FLAG = 0x1  # BG_TOKEN_LOCAL_FILE
MAX_LINKS = 40  # symlinks followed in one name, as Linux's MAXSYMLINKS
LISTINGS = 64  # directories whose folded listings are kept (LocalFileSystem._listings)
NAMES = 1024  # parsed names kept (LocalFileSystem._names)
OWNERS = 65536  # owners of completed files kept (LocalFileSystem._owners), the oldest dropped first
_HOST_NAME_MAX = 255  # bytes in one name component (NAME_MAX of the usual Linux and macOS file systems)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC
_NOFOLLOW = os.O_NOFOLLOW


class LocalFileFault(BitsError, OSError):
    """A local-file failure found while writing, renaming or creating a job's file: the Windows HRESULT
    for the job's error object (context BG_ERROR_CONTEXT_LOCAL_FILE). Raised by ``prepare``, ``write``,
    ``truncate``, ``copy_into``, ``open_temp``, ``finalize`` and ``put``.

    It is a ``BitsError`` (what a caller of Complete sees) and an ``OSError`` whose ``errno`` maps back to
    the same HRESULT, so every handler of local-file faults (``except OSError``) fails the job with it
    instead of letting it reach an unrelated caller."""

    def __init__(self, hresult: hresults.HResult | int, detail: str | None = None) -> None:
        super().__init__(hresult, detail)
        self.errno = _ERRNO_OF.get(self.hresult, errno.EACCES)


# A host file-system error as the Win32 error Windows reports for the same failure (HRESULT_FROM_WIN32).
# Every other errno — EACCES, EPERM, EROFS, ELOOP (a symlink where a file must be), EISDIR, EMLINK … —
# is access denied, what Windows says when the sandbox's rules or the host refuse a file (our reading).
_BY_ERRNO: dict[int, int] = {
    errno.ENOENT: int(hresults.ERROR_FILE_NOT_FOUND),
    errno.ENOTDIR: int(hresults.ERROR_PATH_NOT_FOUND),
    errno.ENOSPC: int(hresults.ERROR_DISK_FULL),
    errno.EDQUOT: int(hresults.ERROR_DISK_FULL),
    errno.ENAMETOOLONG: int(hresults.ERROR_FILENAME_EXCED_RANGE),
    errno.EBUSY: int(hresults.ERROR_SHARING_VIOLATION),
    errno.ETXTBSY: int(hresults.ERROR_SHARING_VIOLATION),
    errno.ENOMEM: int(hresults.E_OUTOFMEMORY),
}


# A fault's errno, back from its HRESULT (the first errno of each in _BY_ERRNO): os_error_hresult gives
# the fault's own HRESULT again.
_ERRNO_OF = {hr: code for code, hr in reversed(_BY_ERRNO.items())} | {int(hresults.E_ACCESSDENIED): errno.EACCES}


def os_error_hresult(exc: OSError) -> int:
    """The HRESULT of a local-file fault (one mapping for the sandbox and the scheduler; never the errno
    itself read as a Win32 code: ENAMETOOLONG, 36, is not ERROR_SHARING_BUFFER_EXCEEDED)."""
    return _BY_ERRNO.get(exc.errno or 0, int(hresults.E_ACCESSDENIED))


def fault_from_oserror(exc: OSError, what: str) -> LocalFileFault:
    """The HRESULT Windows gives for the same local-file failure (``os_error_hresult``)."""
    if isinstance(exc, LocalFileFault):
        return exc
    return LocalFileFault(os_error_hresult(exc), f"{what}: {exc.strerror or exc}")


def host_segment(name: str) -> str:
    """The host spelling of one Windows name component (identity for names without lone surrogates)."""
    return os.fsdecode(name.encode("utf-8", "surrogatepass"))


def posix_segment(name: str) -> str:
    """A POSIX name component as given when the file system encoding can take it (``os.fsdecode``
    spellings included), else its generalised UTF-8 spelling like a Windows name."""
    try:
        os.fsencode(name)
    except UnicodeEncodeError:
        return host_segment(name)
    return name


def _fold(name: str) -> str:
    """Windows compares names through its upcase table: one code unit to one code unit."""
    return "".join(u if len(u := c.upper()) == 1 else c for c in name)


def _segments(path: str) -> list[str]:
    return [s for s in re.split(r"[\\/]", path) if s]


def _check_segments(segments: Iterable[str]) -> None:
    for seg in segments:
        if seg in (".", ".."):
            raise BitsError(hresults.E_INVALIDARG, f"{seg!r} segments are not allowed in a local name")
        stem = seg.split(".", 1)[0].rstrip(" ").upper()
        if stem in DEVICE_NAMES:
            raise BitsError(hresults.E_INVALIDARG, f"{seg!r} is a device name")


def _windows_segments(path: str) -> list[str]:
    """Components of a Windows name: checked, trailing dots and spaces dropped, host-spelled."""
    segs = _segments(path)
    _check_segments(segs)
    out: list[str] = []
    for seg in segs:
        trimmed = seg.rstrip(". ")
        if not trimmed:
            raise BitsError(hresults.E_INVALIDARG, f"{seg!r} is not a valid name component")
        out.append(host_segment(trimmed))
    return out


_POSIX, _DRIVE_KIND, _UNC_KIND = "posix", "drive", "unc"


class _Name:
    """A local or SMB name once parsed (LocalFileSystem._parsed): which root it hangs under, its host
    segments, and for a POSIX name its directory and host path (pure functions of the name: no root, no
    file system), built once instead of through pathlib at every step."""

    __slots__ = ("_host", "_parent", "kind", "posix_dir", "segs")

    def __init__(self, kind: str, segs: tuple[str, ...]) -> None:
        self.kind = kind
        self.segs = segs
        # What os.open gets for the directory of a POSIX name (unused for the rooted kinds).
        self.posix_dir = "/" + "/".join(segs[:-1]) if kind is _POSIX else ""
        self._host: Path | None = None
        self._parent: Path | None = None

    def posix_host(self) -> Path:
        """The host path of a POSIX name (segments are never ``.``, ``..`` or empty: one plain join)."""
        if self._host is None:
            self._host = Path("/" + "/".join(self.segs))
        return self._host

    def posix_parent(self) -> Path:
        """The host path of a POSIX name's directory, where its temporary goes."""
        if self._parent is None:
            self._parent = self.posix_host().parent
        return self._parent


def _parse_name(name: str) -> _Name:
    """Parse a drive, UNC or absolute POSIX name (E_INVALIDARG for refused ones)."""
    m = _DRIVE.match(name)
    if m:
        return _Name(_DRIVE_KIND, (m.group(1).upper(), *_windows_segments(name[2:])))
    if is_unc(name):
        return _Name(_UNC_KIND, tuple(_windows_segments(name)))
    if name.startswith("/"):
        segs = _segments(name)
        _check_segments(segs)
        return _Name(_POSIX, tuple(posix_segment(seg) for seg in segs))
    raise BitsError(hresults.E_INVALIDARG, f"{name!r} is not a full path")


def _within(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _close(fd: int | None) -> None:
    if fd is not None and fd >= 0:
        os.close(fd)


def _host_child(directory: Path, name: str) -> str:
    """The host path text of ``name`` in ``directory`` (what ``str(directory / name)`` gives: a Path's text
    has no trailing separator but the root's)."""
    text = str(directory)
    return text + name if text.endswith("/") else f"{text}/{name}"


def _host_leaf(path: str | Path) -> str:
    """The last component of a host path (its text, or a Path), for messages."""
    return str(path).rpartition("/")[2]


def _leaf(name: str) -> tuple[str, str, str]:
    """(head, separator, last component) of a Windows or POSIX name, whichever separator comes last."""
    i = max(name.rfind("\\"), name.rfind("/"))
    if i < 0:
        return "", "\\", name
    return name[:i], name[i], name[i + 1 :]


def _copy_file(src: IO[bytes], dst: IO[bytes]) -> None:
    """Copy a whole file: in the kernel where it can (as shutil.copyfile does), else through a buffer."""
    if hasattr(os, "sendfile") and os.uname().sysname == "Linux":
        in_fd, out_fd, offset = src.fileno(), dst.fileno(), 0
        while True:
            sent = os.sendfile(out_fd, in_fd, offset, 1 << 30)
            if sent == 0:
                return
            offset += sent
    shutil.copyfileobj(src, dst, 1 << 20)


Listings = dict[tuple[int, int], tuple[int, dict[str, list[str]]]]


class _Changing:
    """The context manager of ``LocalFileSystem._changing``. A class, not a @contextmanager generator:
    every temporary's creation and every rename goes through one, and a plain object with two methods
    costs a fraction of a generator driven through contextlib."""

    __slots__ = ("_added", "_cached", "_fd", "_key", "_listings", "_mtime", "_removed")

    def __init__(self, listings: Listings, dir_fd: int, added: Iterable[str], removed: Iterable[str]) -> None:
        self._listings = listings
        self._fd = dir_fd
        self._added = added
        self._removed = removed

    def __enter__(self) -> None:
        st = os.fstat(self._fd)
        self._key = (st.st_dev, st.st_ino)
        self._mtime = st.st_mtime_ns
        self._cached = self._listings.get(self._key)

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        listings, key, cached = self._listings, self._key, self._cached
        if exc_type is not None or cached is None or cached[0] != self._mtime:
            listings.pop(key, None)  # failed, or the listing was not current: read it again when needed
            return
        folded = cached[1]
        for name in self._removed:
            names = folded.get(_fold(name))
            if names is not None and name in names:
                names.remove(name)
                if not names:
                    del folded[_fold(name)]
        for name in self._added:
            names = folded.setdefault(_fold(name), [])
            if name not in names:
                names.append(name)
                names.sort()
        listings[key] = (os.fstat(self._fd).st_mtime_ns, folded)


class LocalFileSystem:
    """The sandbox of one service. It needs nothing from the service: roots are set or made on first use."""

    def __init__(self, drive_root: str | os.PathLike[str] | None = None) -> None:
        self._drive_root: Path | None = None if drive_root is None else Path(drive_root)
        self._owned_root: Path | None = None
        self._unc_root: Path | None = None
        self._finalizer: Callable[[], object] | None = None
        self._writers: dict[Path, frozenset[str]] = {}
        # Case-insensitive lookups without listing a directory on every call: per directory (device,
        # inode), its modification time and its names by folded spelling. A listing is trusted while the
        # directory's mtime is the one it was read (or last updated by this sandbox) at; the sandbox's own
        # creations, renames and deletions update it in place (_changing), so a stream of files into one
        # directory costs O(1) per file, not a listing each. Bounded: the most recent LISTINGS directories.
        self._listings: Listings = {}
        # Names parsed and checked (_parsed), by the string given: bounded, the oldest dropped first.
        self._names: dict[str, _Name] = {}
        # Who owns each file Complete made available, by (device, inode): ownership sits on the file, as
        # on NTFS, so it follows a later rename. "The owner of the file is the user who made the call"
        # (https://learn.microsoft.com/en-us/windows/win32/api/bits/nf-bits-ibackgroundcopyjob-complete).
        self._owners: dict[tuple[int, int], str] = {}
        # Files another application holds open (``hold_open``), by (device, inode): the handles' count
        # and how many of them refuse writers (opened without FILE_SHARE_WRITE).
        self._held: dict[tuple[int, int], list[int]] = {}

    # roots ----------------------------------------------------------------------------------------

    @property
    def drive_root(self) -> Path:
        if self._drive_root is None:
            self._drive_root = self._owned_root = Path(tempfile.mkdtemp(prefix="bits-drives-"))
            # A service dropped without close() still leaves nothing behind once it is collected.
            self._finalizer = weakref.finalize(self, shutil.rmtree, self._owned_root, ignore_errors=True)
            # The system drive's root exists on every Windows machine: C:\file is a valid destination.
            (self._drive_root / "C").mkdir()
        return self._drive_root

    @drive_root.setter
    def drive_root(self, value: str | os.PathLike[str]) -> None:
        self._drive_root = Path(value)

    @property
    def unc_root(self) -> Path:
        if self._unc_root is None:
            return self.drive_root / "UNC"
        return self._unc_root

    @unc_root.setter
    def unc_root(self, value: str | os.PathLike[str]) -> None:
        self._unc_root = Path(value)

    def close(self, records: Iterable[JobRecord] = ()) -> None:
        """Service close: delete the temporaries of ``records`` and the drive root the service made (a
        HIGH_PERFORMANCE job's partial destinations are the caller's to clean up, as at Cancel)."""
        for rec in records:
            if writes_in_place(rec):
                continue
            for f in rec.files:
                if not f.completed:
                    self.discard(f)
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
            if self._drive_root == self._owned_root:
                self._drive_root = None
            self._owned_root = None

    def _parse(self, name: str) -> tuple[Path | None, tuple[str, ...]]:
        """(root or None for POSIX paths, host segments) of a local or SMB name; E_INVALIDARG if refused."""
        parsed = self._parsed(name)
        if parsed.kind is _POSIX:
            return None, parsed.segs
        return self._rooted(parsed), parsed.segs

    def _rooted(self, parsed: _Name) -> Path:
        """The root a drive or UNC name hangs under. Looked up at every call, not kept with the parsed
        name: a test may move a root (``drive_root = …``) after names were parsed."""
        return self.drive_root if parsed.kind is _DRIVE_KIND else self.unc_root

    def _parsed(self, name: str) -> _Name:
        """The checked, host-spelled form of ``name``, parsed once per name string: every step of a
        download (AddFile, the transfer, Complete) asks for the same names, and the parse is a pure function
        of the string (refused names are not kept: they raise at every call)."""
        parsed = self._names.get(name)
        if parsed is None:
            parsed = _parse_name(name)
            if len(self._names) >= NAMES:
                del self._names[next(iter(self._names))]  # the oldest name first
            self._names[name] = parsed
        return parsed

    # the walk: one directory descriptor at a time, no symlink followed blindly ----------------------

    def _root_fd(self, root: Path) -> int:
        try:
            return os.open(root, _DIR_FLAGS)
        except OSError as exc:
            raise fault_from_oserror(exc, f"the root {root}") from None

    def _listing(self, dir_fd: int, *, fresh: bool = False) -> dict[str, list[str]]:
        """The names of ``dir_fd`` by folded spelling (see ``_listings``)."""
        st = os.fstat(dir_fd)
        key = (st.st_dev, st.st_ino)
        cached = self._listings.pop(key, None)
        if cached is not None and cached[0] == st.st_mtime_ns and not fresh:
            self._listings[key] = cached  # most recently used last
            return cached[1]
        folded: dict[str, list[str]] = {}
        for entry in os.listdir(dir_fd):
            folded.setdefault(_fold(entry), []).append(entry)
        for names in folded.values():
            names.sort()  # several spellings of one name: the first in sorted order wins (module docstring)
        self._listings[key] = (st.st_mtime_ns, folded)
        if len(self._listings) > LISTINGS:
            del self._listings[next(iter(self._listings))]
        return folded

    def _changing(self, dir_fd: int, added: Iterable[str] = (), removed: Iterable[str] = ()) -> _Changing:
        """Around one change this sandbox makes to ``dir_fd``'s entries: a listing that was current just
        before is updated in place (and stamped with the new mtime); any other is dropped."""
        return _Changing(self._listings, dir_fd, added, removed)

    def _forget(self, dir_fd: int) -> None:
        with contextlib.suppress(OSError):
            st = os.fstat(dir_fd)
            self._listings.pop((st.st_dev, st.st_ino), None)

    def _match(self, dir_fd: int, seg: str) -> str | None:
        """The entry of ``dir_fd`` named ``seg`` up to case (the exact name first), or None."""
        try:
            os.lstat(seg, dir_fd=dir_fd)
            return seg
        except FileNotFoundError:
            pass
        except OSError:
            return seg
        return self._match_folded(dir_fd, seg)

    def _match_folded(self, dir_fd: int, seg: str) -> str | None:
        """The entry of ``dir_fd`` named ``seg`` up to case, once the exact name is known to be absent."""
        want = _fold(seg)
        try:
            names = self._listing(dir_fd).get(want)
            if names is not None and seg in names:  # the exact name is gone: the listing is stale
                names = self._listing(dir_fd, fresh=True).get(want)
        except OSError:
            return None
        return names[0] if names else None

    def _walk(self, root: Path, segs: Sequence[str], *, create: bool = False) -> tuple[int, list[str], list[str]]:
        """Walk ``segs`` (directories) from ``root``: (fd of the deepest directory reached, the host names
        walked, the segments left because they do not exist). Symlinks are resolved by hand and must stay
        under the root (E_ACCESSDENIED); ``create`` makes the missing directories."""
        pending = list(segs)
        walked: list[str] = []
        links = 0
        if not os.path.isdir(root):
            if not create:
                return -1, [], pending
            root.mkdir(parents=True, exist_ok=True)
        fd = self._root_fd(root)
        try:
            while pending:
                seg = pending[0]
                # _match inlined: the exact name's lstat is the one this step needs, not made twice.
                st: os.stat_result | None = None
                entry: str | None = seg
                try:
                    st = os.lstat(seg, dir_fd=fd)
                except FileNotFoundError:
                    entry = self._match_folded(fd, seg)
                except OSError:
                    pass  # the lstat below meets the same error and reports it
                if entry is None:
                    if not create:
                        return fd, walked, pending
                    try:
                        with self._changing(fd, added=(seg,)):
                            os.mkdir(seg, 0o777, dir_fd=fd)
                    except FileExistsError:
                        pass
                    except OSError as exc:
                        raise fault_from_oserror(exc, f"cannot create {seg!r}") from None
                    entry = seg
                if st is None:
                    try:
                        st = os.lstat(entry, dir_fd=fd)
                    except FileNotFoundError:
                        self._forget(fd)
                        continue  # it went away between the listing and now: look again
                    except OSError as exc:
                        raise fault_from_oserror(exc, f"cannot reach {entry!r}") from None
                if stat.S_ISLNK(st.st_mode):
                    links += 1
                    if links > MAX_LINKS:
                        raise LocalFileFault(hresults.hresult_from_win32(1921), "too many levels of symbolic links")
                    target = os.readlink(entry, dir_fd=fd)
                    pending = [*self._link_segments(root, Path(os.path.realpath(root)), walked, target), *pending[1:]]
                    # Restart from the root: the link's target is walked with the same rules.
                    _close(fd)
                    fd = -1
                    fd = self._root_fd(root)
                    walked = []
                    continue
                if not stat.S_ISDIR(st.st_mode):
                    raise LocalFileFault(hresults.ERROR_PATH_NOT_FOUND, f"{entry!r} is not a directory")
                try:
                    nfd = os.open(entry, _DIR_FLAGS | _NOFOLLOW, dir_fd=fd)
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    # ELOOP: swapped for a symlink since the lstat: refuse rather than follow it.
                    raise fault_from_oserror(exc, f"cannot open {entry!r}") from None
                _close(fd)
                fd = nfd
                walked.append(entry)
                pending.pop(0)
            return fd, walked, []
        except BaseException:
            if fd >= 0:
                _close(fd)
            raise

    @staticmethod
    def _link_segments(root: Path, real_root: Path, walked: list[str], target: str) -> list[str]:
        """The segments below the root that a symlink's target names; E_ACCESSDENIED if it leaves."""
        if target.startswith("/"):
            tpath = Path(os.path.normpath(target))
            for base in (root, real_root):
                if _within(tpath, base):
                    parts = list(tpath.relative_to(base).parts)
                    break
            else:
                raise LocalFileFault(hresults.E_ACCESSDENIED, f"a link to {target!r} leads out of its root")
        else:
            parts = [*walked, *target.split("/")]
        out: list[str] = []
        for part in parts:
            if part in ("", "."):
                continue
            if part == "..":
                if not out:
                    raise LocalFileFault(hresults.E_ACCESSDENIED, f"a link to {target!r} leads out of its root")
                out.pop()
                continue
            out.append(part)
        return out

    @contextmanager
    def _directory(self, name: str, *, create: bool = False) -> Iterator[tuple[int, str]]:
        """(fd of the directory that holds ``name``, the leaf's host name); ERROR_PATH_NOT_FOUND when the
        directory does not exist. The descriptor is what every write and rename is made relative to."""
        fd, leaf, _walked = self._open_directory(name, create=create)
        try:
            yield fd, leaf
        finally:
            _close(fd)

    def _open_directory(self, name: str, *, create: bool = False) -> tuple[int, str, list[str]]:
        """What ``_directory`` yields, and the host names walked below the root (none for a POSIX name), for
        the caller to close: prepare and finalize (once per file each) call it in a plain try/finally
        instead of through a contextlib generator."""
        parsed = self._parsed(name)
        if not parsed.segs:
            raise BitsError(hresults.E_INVALIDARG, f"{name!r} names no file")
        leaf = parsed.segs[-1]
        walked: list[str] = []
        if parsed.kind is _POSIX:
            try:
                fd = os.open(parsed.posix_dir, _DIR_FLAGS)
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    raise LocalFileFault(
                        hresults.ERROR_PATH_NOT_FOUND, f"{parsed.posix_dir} does not exist"
                    ) from None
                raise fault_from_oserror(exc, name) from None
        else:
            fd, walked, missing = self._walk(self._rooted(parsed), parsed.segs[:-1], create=create)
            if missing:
                _close(fd)
                raise LocalFileFault(hresults.ERROR_PATH_NOT_FOUND, f"the directory of {name!r} does not exist")
            leaf = self._match(fd, leaf) or leaf
        return fd, leaf, walked

    def host_path(self, name: str) -> Path:
        """Where a Windows (or POSIX) name lives on this machine, with the existing components spelled as
        on disk; raises for names that escape (a symlink anywhere on the way, the last one included)."""
        parsed = self._parsed(name)
        if parsed.kind is _POSIX:
            return parsed.posix_host()
        root, segs = self._rooted(parsed), parsed.segs
        if not segs:
            return root
        dirs: Sequence[str] = segs[:-1]
        leaf = segs[-1]
        first: Path | None = None
        for _ in range(MAX_LINKS + 1):
            fd, walked, missing = self._walk(root, dirs)
            try:
                if missing:
                    return first or root.joinpath(*walked, *missing, leaf)
                entry = self._match(fd, leaf) or leaf
                first = first or root.joinpath(*walked, entry)
                try:
                    if not stat.S_ISLNK(os.lstat(entry, dir_fd=fd).st_mode):
                        return first
                except FileNotFoundError:
                    return first
                target = os.readlink(entry, dir_fd=fd)
            finally:
                _close(fd)
            link = self._link_segments(root, Path(os.path.realpath(root)), walked, target)
            if not link:
                return first  # a link to the root itself
            dirs, leaf = link[:-1], link[-1]
        raise LocalFileFault(hresults.hresult_from_win32(1921), "too many levels of symbolic links")

    def makedirs(self, name: str) -> Path:
        """Create a directory given by a Windows or POSIX name (a test convenience)."""
        root, segs = self._parse(name)
        if root is None:
            path = Path("/", *segs)
            path.mkdir(parents=True, exist_ok=True)
            return path
        fd, walked, _ = self._walk(root, segs, create=True)
        _close(fd)
        return root.joinpath(*walked)

    # files other applications hold open ------------------------------------------------------------

    def hold_open(self, name: str | os.PathLike[str], *, share_write: bool = False) -> HeldFile:
        """Play another application that opens the existing file ``name`` (a Windows or host path: typically
        what IBackgroundCopyFile3::GetTemporaryName returns) for reading, until the returned handle is closed
        (``close()`` or a ``with`` block). Linux has no share modes; the sandbox applies Windows' to BITS:

        * held when BITS begins transferring the file (the job resumes, or retries), whatever the share mode,
          the transfer fails with ERROR_SHARING_VIOLATION 0x80070020, a transient error: "Do not open the
          file for reading until BITS begins transferring the file; otherwise, the job will go into the
          transient error state" (T27,
          https://learn.microsoft.com/en-us/windows/win32/api/bits3_0/nf-bits3_0-ibackgroundcopyfile3-gettemporaryname);
        * opened while BITS transfers the file: with ``share_write`` (FILE_SHARE_WRITE, the way that page
          asks readers to open it) the transfer goes on; without it, BITS's next write fails the same way;
        * either way the file cannot be renamed or deleted while held (no FILE_SHARE_DELETE): Complete
          fails with 0x80070020 and the job stays TRANSFERRED, Cancel cancels and returns
          BG_S_UNABLE_TO_DELETE_FILES ("handles must be closed before Complete/Cancel").

        Readings: docs/reference/readings.md#temporary-in-use. Raises FileNotFoundError for a missing file,
        IsADirectoryError for a directory."""
        if not isinstance(share_write, bool):
            raise TypeError("share_write must be a bool")
        if not isinstance(name, (str, os.PathLike)):
            raise TypeError(f"name must be a str or path, not {type(name).__name__}")
        path = self._any_path(name)
        st = os.stat(path)
        if not stat.S_ISREG(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "hold_open takes a file", str(path))
        key = (st.st_dev, st.st_ino)
        counts = self._held.setdefault(key, [0, 0])
        counts[0] += 1
        counts[1] += 0 if share_write else 1
        return HeldFile(self._held, key, share_write)

    def _check_unheld(self, st: os.stat_result, what: str, *, writers_only: bool = False) -> None:
        """ERROR_SHARING_VIOLATION when another application holds the file ``st`` describes open — only a
        handle that refuses writers counts with ``writers_only`` (a write), any handle otherwise (the start of
        the file's transfer, a rename, a delete)."""
        held = self._held.get((st.st_dev, st.st_ino))
        if held is not None and (held[1] or not writers_only):
            raise LocalFileFault(hresults.ERROR_SHARING_VIOLATION, f"{what} is open in another application")

    def _check_unheld_at(self, dir_fd: int, leaf: str) -> None:
        """``_check_unheld`` for the entry ``leaf`` of the directory ``dir_fd``; a missing one is held by none."""
        try:
            st = os.stat(leaf, dir_fd=dir_fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        self._check_unheld(st, repr(leaf))

    # access control ------------------------------------------------------------------------------

    def _any_path(self, directory: str | os.PathLike[str]) -> Path:
        d = str(directory)
        return self.host_path(d) if (_DRIVE.match(d) or is_unc(d)) else Path(d)

    def restrict(self, directory: str | os.PathLike[str], writers: Iterable[str]) -> None:
        """Only ``writers`` (SIDs) may create files in ``directory`` and below (a Windows or host path)."""
        self._writers[Path(os.path.realpath(self._any_path(directory)))] = frozenset(writers)

    def unrestrict(self, directory: str | os.PathLike[str]) -> None:
        self._writers.pop(Path(os.path.realpath(self._any_path(directory))), None)

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
        return acting_sid(job, LOCAL_FILE_FLAG)

    def check_writer(self, job: JobRecord, name: str) -> None:
        """The job's writer (``writer_sid``) may create ``name``: the rule ``prepare`` applies to a download's
        temporary, for the reply file of an upload-reply job (BG_TOKEN_LOCAL_FILE covers creating and
        renaming it: https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertokenflags).
        Raises LocalFileFault E_ACCESSDENIED; a name the sandbox refuses is left to the write that follows."""
        if not self._writers:  # (no directory restricted: the walk below is not needed)
            return
        try:
            directory = self.host_path(name).parent
        except BitsError:
            return
        self._check_writer_in(job, directory)

    def _check_writer_in(self, job: JobRecord, directory: Path) -> None:
        """The job's writer may create files in ``directory``, else LocalFileFault E_ACCESSDENIED. Who writes
        matters only once some directory is restricted (may_write allows all before)."""
        if self._writers and not self.may_write(self.writer_sid(job), directory):
            raise LocalFileFault(hresults.E_ACCESSDENIED, f"{self.writer_sid(job)} may not write in {directory}")

    # the facade's hooks ----------------------------------------------------------------------------

    def check_destination(self, local_name: str) -> str:
        """The local name as stored; raises E_INVALIDARG / E_ACCESSDENIED for names the sandbox refuses."""
        # A component longer than the host file system holds (255 bytes; NTFS allows 255 UTF-16 units, so
        # such a name is one Windows refuses too, or one the sandbox cannot place) is refused here, whether
        # or not its directory exists yet, instead of an OSError later (emulator choice,
        # docs/reference/readings.md#long-component).
        for seg in self._parsed(local_name).segs:
            # (encoded only when it could be too long: at most 4 bytes per character, so 63 never are)
            if len(seg) > _HOST_NAME_MAX // 4 and len(os.fsencode(seg)) > _HOST_NAME_MAX:
                raise BitsError(hresults.E_INVALIDARG, "a component of the local name is too long")
        self.host_path(local_name)
        return local_name

    def check_new_owner(self, new_owner_sid: str, job: JobRecord) -> None:
        """TakeOwnership: BG_E_NEW_OWNER_NO_FILE_ACCESS when the new owner cannot reach the job's files."""
        if not self._writers:
            return
        for f in job.files:
            try:
                directory = self.host_path(f.local_name).parent
            except BitsError:
                continue
            if not self.may_write(new_owner_sid, directory):
                raise BitsError(hresults.BG_E_NEW_OWNER_NO_FILE_ACCESS)

    # temporary files -------------------------------------------------------------------------------

    @staticmethod
    def _maybe_link(fd: int, leaf: str) -> bool:
        """``leaf`` in ``fd`` is a symlink, or lstat fails other than by its absence."""
        try:
            return stat.S_ISLNK(os.lstat(leaf, dir_fd=fd).st_mode)
        except FileNotFoundError:
            return False
        except OSError:
            return True

    @staticmethod
    def _regular(fd: int, leaf: str) -> bool:
        """``leaf`` in ``fd`` is a plain file (not a symlink); False when it does not exist."""
        try:
            st = os.lstat(leaf, dir_fd=fd)
        except FileNotFoundError:
            return False
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISREG(st.st_mode):
            raise LocalFileFault(hresults.E_ACCESSDENIED, f"{leaf!r} is not a plain file")
        return True

    def prepare(self, job: JobRecord, f: FileRecord) -> tuple[str, str | None]:
        """The temp file's host path, creating it if needed; (path, new temp name or None if unchanged).
        The path is text (``_host_child``): it goes only to ``write``, ``truncate`` and ``copy_into``, which
        take a path's text apart again, so no Path object is built and stringified for it on every file.

        Raises BitsError with the LOCAL_FILE failure (missing directory, escape, ACL). A HIGH_PERFORMANCE
        job's file has no temporary: ``_prepare_in_place``."""
        if writes_in_place(job):
            return self._prepare_in_place(job, f)
        fd, leaf, walked = self._open_directory(f.local_name)
        try:
            parsed = self._parsed(f.local_name)
            if parsed.kind is _POSIX:
                directory = parsed.posix_parent()  # a POSIX name's directory is its text
            elif self._maybe_link(fd, leaf):
                # The local name is itself a link (or cannot be looked at): host_path follows it and refuses
                # one that leads out of the root, as before any byte is written.
                directory = self.host_path(f.local_name).parent
            else:
                # host_path would walk the same directories again to the same place: the walk just made
                # (host spellings, links resolved) gives the directory.
                directory = self._rooted(parsed).joinpath(*walked)
            self._check_writer_in(job, directory)
            if f.temp_name is not None:
                old = _leaf(f.temp_name)[2]
                if self._held:
                    # BITS opens it as the file's transfer begins: a reader that opened it before then, with or
                    # without FILE_SHARE_WRITE, puts the job in a transient error (T27: hold_open).
                    self._check_unheld_at(fd, old)
                if self._regular(fd, old):
                    return _host_child(directory, old), None
            n = f.file_id & 0xFFFF
            while True:
                # FILE_ATTRIBUTE_HIDDEN, spelled the POSIX way: a leading dot (our choice, docs/transfers.md).
                name = f".BIT{n:04X}.tmp"
                try:
                    with self._changing(fd, added=(name,)):
                        tfd = os.open(name, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW, 0o600, dir_fd=fd)
                except FileExistsError:
                    n = (n + 0x1F3) & 0xFFFFF
                    continue
                except OSError as exc:
                    raise fault_from_oserror(exc, f"cannot create a temporary file in {directory}") from None
                os.close(tfd)
                break
        finally:
            _close(fd)
        head, sep, _ = _leaf(f.local_name)
        return _host_child(directory, name), f"{head}{sep}{name}"

    def _prepare_in_place(self, job: JobRecord, f: FileRecord) -> tuple[str, str | None]:
        """A HIGH_PERFORMANCE file: BITS downloads "directly into the destination file"
        (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id), so the
        destination is what the bytes go into. (host path, the local name when the file starts from an empty
        destination, None when it goes on in the one it has). OUR CHOICE (docs/reference/readings.md#high-performance):
        the destination is created, or emptied, when the file first starts (``f.temp_name`` unset) or when it is
        gone; it is reached as a temporary is (no symlink followed, a file with other hard links refused:
        E_ACCESSDENIED, nothing written), under the same writer rule and the same T27 check for a file another
        application holds open."""
        fd, leaf, walked = self._open_directory(f.local_name)
        try:
            parsed = self._parsed(f.local_name)
            directory = parsed.posix_parent() if parsed.kind is _POSIX else self._rooted(parsed).joinpath(*walked)
            self._check_writer_in(job, directory)
            if self._held:
                self._check_unheld_at(fd, leaf)  # T27: held open when BITS begins transferring the file
            if self._regular(fd, leaf) and f.temp_name is not None:
                return _host_child(directory, leaf), None  # begun before: the bytes already there stay
            try:
                with self._changing(fd, added=(leaf,)):
                    wfd = os.open(leaf, os.O_CREAT | os.O_WRONLY | _NOFOLLOW | _CLOEXEC, 0o600, dir_fd=fd)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot open the destination {f.local_name!r}") from None
            try:
                st = os.fstat(wfd)
                linked = not stat.S_ISREG(st.st_mode) or st.st_nlink != 1
                if not linked:
                    os.ftruncate(wfd, 0)  # (after the link check: a file linked elsewhere loses no byte)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot empty the destination {f.local_name!r}") from None
            finally:
                os.close(wfd)
            if linked:
                raise LocalFileFault(hresults.E_ACCESSDENIED, f"the destination {leaf!r} is linked elsewhere")
        finally:
            _close(fd)
        return _host_child(directory, leaf), f.local_name

    def _split_host(self, path: str | Path) -> tuple[Path, list[str], str] | None:
        """(root, directory segments, leaf) of a host path this sandbox handed out under a root; None for
        a path under no root (a POSIX name's)."""
        text = str(path)
        for root in (self._unc_root, self._drive_root):
            if root is None:
                continue
            # A Path's text is normal (no doubled or trailing separator, no "." segment), so "under the root"
            # is "starts with the root's text and a separator", and the segments are what follows, split —
            # what ``path.relative_to(root).parts`` gives, lexically as it does, at a fifth of its cost.
            base = str(root)
            prefix = base if base.endswith("/") else base + "/"
            if text.startswith(prefix):
                parts = text[len(prefix) :].split("/")
                return root, parts[:-1], parts[-1]
        return None

    def _open_temp_fd(self, tmp: str | Path, *, truncate: bool = False) -> int:
        """A descriptor for writing a temporary, following no symlink anywhere under the root: a temporary
        (or a directory) swapped for a link, or a file with other hard links, gets none (LocalFileFault)."""
        split = self._split_host(tmp)
        if split is None:
            # A host path under no root (a POSIX name's temporary): its directory is opened by the path's
            # own text (a Path's text is normal: no trailing or doubled separators), "/" for a bare name.
            # (str.rpartition gives os.path.split's answer for such a text, without its Python code.)
            head, _, leaf = str(tmp).rpartition("/")
            try:
                dfd = os.open(head or "/", _DIR_FLAGS)
            except OSError as exc:
                raise fault_from_oserror(exc, head or "/") from None
        else:
            root, dirs, leaf = split
            dfd, _, missing = self._walk(root, dirs)
            if missing:
                _close(dfd)
                raise LocalFileFault(hresults.ERROR_PATH_NOT_FOUND, f"{Path(tmp).parent} does not exist")
        try:
            flags = os.O_WRONLY | _NOFOLLOW | _CLOEXEC | (os.O_TRUNC if truncate else 0)
            try:
                fd = os.open(leaf, flags, dir_fd=dfd)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot open the temporary {leaf!r}") from None
        finally:
            _close(dfd)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise LocalFileFault(hresults.E_ACCESSDENIED, f"the temporary {leaf!r} is linked elsewhere")
        if self._held:
            try:
                self._check_unheld(st, f"the temporary {leaf!r}", writers_only=True)  # T27 (hold_open)
            except LocalFileFault:
                os.close(fd)
                raise
        return fd

    @contextmanager
    def open_temp(self, tmp: str | Path, *, truncate: bool = False) -> Iterator[IO[bytes]]:
        """The temporary as a file object opened the same safe way (``_open_temp_fd``)."""
        fh = os.fdopen(self._open_temp_fd(tmp, truncate=truncate), "wb")
        try:
            yield fh
        except OSError as exc:
            raise fault_from_oserror(exc, f"cannot write the temporary {_host_leaf(tmp)!r}") from None
        finally:
            try:
                fh.close()
            except OSError as exc:  # ENOSPC may surface only at the final flush
                raise fault_from_oserror(exc, f"cannot write the temporary {_host_leaf(tmp)!r}") from None

    def write(self, tmp: str | Path, offset: int, data: bytes) -> None:
        fd = self._open_temp_fd(tmp)
        try:
            view = memoryview(data)
            done = 0
            while done < len(view):
                done += os.pwrite(fd, view[done:], offset + done)
        except OSError as exc:
            raise fault_from_oserror(exc, f"cannot write the temporary {_host_leaf(tmp)!r}") from None
        finally:
            os.close(fd)

    def set_time_stamp(self, tmp: str | Path, mtime: float) -> None:
        """Give a whole download its source's time stamp: "For HTTP downloads, BITS propagates the file's
        modification time stamp and sets the file's creation time to the modification time"; SMB downloads
        keep the source's time stamps (https://learn.microsoft.com/en-us/windows/win32/api/bits/ns-bits-bg_file_info).
        The host has no settable creation time: the access and modification times are both set
        (docs/reference/readings.md#time-stamps)."""
        fd = self._open_temp_fd(tmp)
        try:
            os.utime(fd, (mtime, mtime))
        except OSError as exc:
            raise fault_from_oserror(exc, f"cannot stamp the temporary {_host_leaf(tmp)!r}") from None
        finally:
            os.close(fd)

    def truncate(self, tmp: str | Path, size: int = 0) -> None:
        fd = self._open_temp_fd(tmp)
        try:
            os.ftruncate(fd, size)
        except OSError as exc:
            raise fault_from_oserror(exc, f"cannot truncate the temporary {_host_leaf(tmp)!r}") from None
        finally:
            os.close(fd)

    def _open_source(self, source: Path) -> IO[bytes]:
        """A local source (a drive, UNC or POSIX path of an SMB-style remote name) opened for reading; under a
        root it is reached one directory descriptor at a time and its last component is no symlink, so a
        link swapped in after AddFile copies nothing from outside the sandbox."""
        split = self._split_host(source)
        if split is None:
            return open(source, "rb")
        root, dirs, leaf = split
        dfd, _, missing = self._walk(root, dirs)
        try:
            if missing:
                raise LocalFileFault(hresults.ERROR_PATH_NOT_FOUND, f"{source.parent} does not exist")
            try:
                rfd = os.open(leaf, os.O_RDONLY | _NOFOLLOW | _CLOEXEC, dir_fd=dfd)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot open the source {source}") from None
        finally:
            _close(dfd)
        return os.fdopen(rfd, "rb")

    def read_range(self, source: Path, start: int, end: int) -> bytes:
        """Bytes ``start``..``end`` of a local source, opened as ``_open_source`` does."""
        with self._open_source(source) as src:
            src.seek(start)
            return src.read(end - start)

    def copy_into(self, source: Path, tmp: str | Path) -> None:
        with self._open_source(source) as src, self.open_temp(tmp, truncate=True) as fh:
            _copy_file(src, fh)

    def _before_rename(self, directory_fd: int, temp: str, dest: str) -> None:
        """A seam between Complete's checks and its rename (tests plant a symlink swap here)."""

    def finalize(self, f: FileRecord, owner_sid: str | None = None) -> None:
        """Complete: the temp file replaces the local name, renamed relative to the directory descriptor
        that was checked (raises LocalFileFault, an OSError-free BitsError, when the rename fails); the
        renamed file belongs to ``owner_sid`` (the caller of Complete, see ``owner``)."""
        if f.temp_name is None:
            raise LocalFileFault(hresults.ERROR_FILE_NOT_FOUND, f"{f.local_name!r} has no temporary file")
        temp = host_segment(_leaf(f.temp_name)[2])
        fd, dest, _walked = self._open_directory(f.local_name)
        try:
            if not self._regular(fd, temp):
                raise LocalFileFault(hresults.ERROR_FILE_NOT_FOUND, f"the temporary {f.temp_name!r} is gone")
            if self._held:  # neither file may be renamed over while another application holds it open
                self._check_unheld_at(fd, temp)
                self._check_unheld_at(fd, dest)
            self._before_rename(fd, temp, dest)
            try:
                with self._changing(fd, added=(dest,), removed=(temp,)):
                    os.rename(temp, dest, src_dir_fd=fd, dst_dir_fd=fd)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot rename {f.temp_name!r}") from None
            if owner_sid is not None:
                self._own(os.stat(dest, dir_fd=fd, follow_symlinks=False), owner_sid)
        finally:
            _close(fd)

    def _own(self, st: os.stat_result, owner_sid: str) -> None:
        owners = self._owners
        key = (st.st_dev, st.st_ino)
        owners.pop(key, None)  # a file completed again moves to the newest end
        if len(owners) >= OWNERS:
            del owners[next(iter(owners))]  # bounded: a long-lived service does not grow with its history
        owners[key] = owner_sid

    def set_owner(self, name: str, owner_sid: str) -> None:
        """Record ``owner_sid`` as the owner of the existing file ``name`` (the reply file Complete makes
        available)."""
        self._own(os.lstat(self.host_path(name)), owner_sid)

    def owner(self, name: str | os.PathLike[str]) -> str | None:
        """The SID of the user a Complete made the file ``name`` (a Windows or host path) available to — the
        caller of Complete, not necessarily the job owner (Complete page) — or None for a file no Complete
        of this service produced (ownership is kept in memory, for the last OWNERS files)."""
        try:
            st = os.lstat(self._any_path(name))
        except OSError:
            return None
        return self._owners.get((st.st_dev, st.st_ino))

    def discard(self, f: FileRecord) -> bool:
        """Delete a file's temporary; False when it exists but cannot be deleted."""
        if f.temp_name is None:
            return True
        try:
            with self._directory(f.temp_name) as (fd, leaf):
                if self._held:
                    self._check_unheld_at(fd, leaf)
                with self._changing(fd, removed=(leaf,)):
                    os.unlink(leaf, dir_fd=fd)
        except FileNotFoundError:
            return True
        except LocalFileFault as exc:
            return exc.hresult in (int(hresults.ERROR_PATH_NOT_FOUND), int(hresults.ERROR_FILE_NOT_FOUND))
        except (OSError, BitsError):
            return False
        return True

    # small whole-file writes (upload-reply files) ----------------------------------------------------

    def put(self, name: str, data: bytes, mtime: float | None = None) -> None:
        """Write ``data`` as the file ``name`` (created or replaced), following no symlink; ``mtime``: its
        access and modification times (an SMB upload keeps the local file's, BG_FILE_INFO page)."""
        with self._directory(name) as (fd, leaf):
            if self._regular(fd, leaf):
                with self._changing(fd, removed=(leaf,)):
                    os.unlink(leaf, dir_fd=fd)
            try:
                with self._changing(fd, added=(leaf,)):
                    wfd = os.open(leaf, os.O_CREAT | os.O_EXCL | os.O_WRONLY | _NOFOLLOW, 0o644, dir_fd=fd)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot create {name!r}") from None
            with os.fdopen(wfd, "wb") as fh:
                fh.write(data)
                if mtime is not None:
                    fh.flush()
                    os.utime(fh.fileno(), (mtime, mtime))

    def read(self, name: str) -> bytes:
        """The bytes of the file ``name`` (an upload's source), following no symlink under a root: a link
        swapped in after AddFile reads nothing from outside the sandbox (LocalFileFault)."""
        return self.read_stamped(name)[0]

    def read_stamped(self, name: str) -> tuple[bytes, float]:
        """``read``, with the file's last-write time (seconds) taken from the same open file: an upload
        compares size and time stamp with those it recorded when it started (upload.py)."""
        with self._source(name) as fh:
            return fh.read(), os.fstat(fh.fileno()).st_mtime

    def stamp(self, name: str) -> tuple[int, float]:
        """The size and last-write time of the file ``name``, opened as ``read`` opens it."""
        with self._source(name) as fh:
            st = os.fstat(fh.fileno())
            return st.st_size, st.st_mtime

    @contextmanager
    def _source(self, name: str) -> Iterator[IO[bytes]]:
        # A POSIX name is the user's own file: a symlink there is theirs to follow.
        nofollow = _NOFOLLOW if self._parse(name)[0] is not None else 0
        with self._directory(name) as (fd, leaf):
            try:
                rfd = os.open(leaf, os.O_RDONLY | nofollow | _CLOEXEC, dir_fd=fd)
            except OSError as exc:
                raise fault_from_oserror(exc, f"cannot open {name!r}") from None
            with os.fdopen(rfd, "rb") as fh:
                yield fh

    def rename(self, source: str, dest: str) -> bool:
        """Rename ``source`` over ``dest`` (same directory) relative to its directory descriptor; False
        when ``source`` does not exist."""
        with self._directory(dest) as (fd, leaf):
            src = self._match(fd, self._parse(source)[1][-1])
            if src is None or not self._regular(fd, src):
                return False
            with self._changing(fd, added=(leaf,), removed=(src,)):
                os.rename(src, leaf, src_dir_fd=fd, dst_dir_fd=fd)
        return True

    # local sources (file://, drive paths, UNC, POSIX paths) --------------------------------------------

    def source_path(self, remote: str) -> Path:
        """The host path of a ``file://`` URL, drive path, UNC path or absolute POSIX path (raises
        BitsError if refused)."""
        return self.host_path(self.source_name(remote))

    def source_name(self, remote: str) -> str:
        """The local name (drive, UNC or POSIX path) a ``file://`` URL, drive path, UNC path or absolute POSIX
        path designates: what ``put`` and ``read`` take."""
        name = remote
        if remote.lower().startswith("file://"):
            rest = remote[7:]
            from urllib.parse import unquote

            rest = unquote(rest, errors="surrogatepass")
            if rest.lower().startswith("localhost/"):
                rest = rest[9:]  # file://localhost/C:/x is file:///C:/x
            if _DRIVE.match(rest):
                # file://C:\dir\file (a drive path straight after the scheme, backslashes or not) names
                # the local file C:\dir\file: Windows transfers it (issue 9, Wine's qmgr tests).
                name = rest
            elif rest.startswith("/") and _DRIVE.match(rest[1:]):
                name = rest[1:]
            elif rest.startswith("/"):
                name = rest
            else:
                name = "\\\\" + rest.replace("/", "\\")
        return name


class HeldFile:
    """A file another application holds open (``LocalFileSystem.hold_open``); ``close()`` releases it
    (idempotent), as does leaving a ``with`` block."""

    __slots__ = ("_held", "_key", "closed", "share_write")

    def __init__(self, held: dict[tuple[int, int], list[int]], key: tuple[int, int], share_write: bool) -> None:
        self._held = held
        self._key = key
        self.share_write = share_write
        self.closed = False

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        counts = self._held.get(self._key)
        if counts is None:
            return
        counts[0] -= 1
        counts[1] -= 0 if self.share_write else 1
        if counts[0] <= 0:
            del self._held[self._key]

    def __enter__(self) -> HeldFile:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> None:
        self.close()
