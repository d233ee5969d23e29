"""HIGH_PERFORMANCE download jobs (BITS 5.0): written straight into their destination files.

BITS_JOB_PROPERTY_ID (https://learn.microsoft.com/en-us/windows/win32/api/bits5_0/ne-bits5_0-bits_job_property_id):
the property "causes BITS to download directly into the destination file, instead of downloading to a
temporary file and moving the temporary file to the final destination once the transfer is complete. This
means that BITS will not clean up any partially downloaded content if a job is cancelled or encounters a fatal
error condition; the BITS caller is responsible for cleaning up the destination file, if it gets created."
And BITS avoids "persisting information about normal job progress": after "an unexpected shutdown, such as a
power loss, during a transfer", BITS will "lose progress and restart the job from the beginning".

Where each piece is (readings: docs/reference/readings.md#high-performance):

* the destination is created, or emptied, when the file first starts, then receives the bytes in place:
  ``LocalFileSystem.prepare`` (localfs.py). From then on the file's temporary name *is* its local name, so
  GetTemporaryName returns the local name (None before the file has begun, as for any job);
* Cancel, the inactivity timeout (T32), SetValidationState(FALSE) and the close of a memory store delete
  nothing (``Scheduler.discard_files``, the backend, ``LocalFileSystem.close``);
* Complete renames nothing: ``complete_file``;
* a service start (``svc.restart()``, or the first service to open a file store) loses the unsaved progress:
  ``lose_unsaved_progress``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..domain.properties import writes_in_place
from ..domain.records import FileRecord, JobRecord
from ..domain.states import FINAL_STATES
from ..hresults import BitsError
from . import ranges

if TYPE_CHECKING:
    from ..queue import JobQueue
    from .localfs import LocalFileSystem


def complete_file(
    queue: JobQueue,
    fs: LocalFileSystem,
    rec: JobRecord,
    f: FileRecord,
    caller_sid: str | None,
    partial: bool,
    deleted: bool,
) -> tuple[bool, bool]:
    """One file of a HIGH_PERFORMANCE job's Complete: (some file was partial, every temporary could be deleted),
    as ``Scheduler._complete_file``. A whole file is in its destination already: nothing is renamed, and the
    file made available belongs to the caller of Complete, as after a rename. OUR CHOICE: a partial file's
    destination is left as it is (BITS cleans up no partial content of such a job), and a destination someone
    removed after the transfer does not fail Complete (there is no rename to fail)."""
    if not f.transferred:
        return True, deleted
    if f.completed:
        return partial, deleted
    if caller_sid is not None:
        with contextlib.suppress(OSError, BitsError):  # (the destination is gone: nobody to own)
            fs.set_owner(f.local_name, caller_sid)
    queue.update_file(rec, f, completed=True)
    return partial, deleted


def lose_unsaved_progress(queue: JobQueue, records: Iterable[JobRecord]) -> None:
    """The start of the BITS service: a HIGH_PERFORMANCE job saved none of its files' progress, so every file
    not yet whole goes back to byte 0 — ``bytes_transferred`` 0, no temporary name — and its destination is
    emptied when it next starts. OUR CHOICE of what survives (docs/reference/readings.md#high-performance):
    the job itself, its state, properties and error; files already whole (a file's end is saved, as a state
    change is, not periodic progress) and their destinations; the partial destination's bytes on disk until
    the file restarts. An on-demand file's filled ranges are requested again. The emulator cannot tell a clean
    stop from a power loss: every start is treated as after an unexpected one."""
    for rec in records:
        if rec.state in FINAL_STATES or not writes_in_place(rec):
            continue
        for f in rec.files:
            if f.transferred or (not f.bytes_transferred and f.temp_name is None):
                continue
            ranges.refill(queue, rec, f)
            queue.update_file(rec, f, bytes_transferred=0, temp_name=None)
