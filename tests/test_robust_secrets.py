"""No secret lingers on disk (issue 11): a purged helper token's identity leaves the database file and its
WAL while the service is still open, and after an unclean stop the reopened store is cleared before
anything else; passwords are stored sealed and leave the disk with RemoveCredentials or the job's end.

Facts: helper tokens are not persistent and end with their logon session
(https://learn.microsoft.com/en-us/windows/win32/api/bits4_0/nf-bits4_0-ibitstokenoptions-sethelpertoken);
Windows keeps credentials encrypted
(https://learn.microsoft.com/en-us/windows/win32/api/bits1_5/nf-bits1_5-ibackgroundcopyjob2-setcredentials).
How they are kept on disk here (WAL checkpoint, Fernet with a per-store key file) is the emulator's choice.
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from emulator import (
    AccessToken,
    AuthScheme,
    AuthTarget,
    BitsService,
    Blanket,
    Cloaking,
    IBitsTokenOptions,
    ImpersonationLevel,
    Job,
    JobType,
    ManualClock,
    StoreError,
)

IMP = Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)
PASSWORD = "hunter2-\u00e9t\u00e9-s3cr3t"


def disk_bytes(directory: Path, stem: str = "queue.db") -> bytes:
    """The database file, its WAL, its shared-memory index and any journal."""
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.name.startswith(stem) and p.is_file())


def forms(text: str) -> list[bytes]:
    return [text.encode("utf-8"), text.encode("utf-16-le"), json.dumps(text).encode()]


def _logon_sid(session_token: AccessToken) -> str:
    return next(g.sid for g in session_token.groups if g.sid.startswith("S-1-5-5-"))


def test_a_purged_token_leaves_db_and_wal_while_the_service_is_open(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with BitsService("post-1607", db, clock=ManualClock()) as svc:
        user = svc.logon(svc.add_user("hU"))
        keep = svc.logon(svc.add_user("keep"))
        manager = svc.connect(blanket=IMP)
        groups = {}
        for helper in (user, keep):
            _, job = manager.create_job("job", JobType.DOWNLOAD)
            options = job.query_interface(IBitsTokenOptions)  # the access check is made at QI
            with svc.impersonate(helper.token):
                options.set_helper_token()
            groups[helper.id] = json.dumps(
                [[g.sid, int(g.attributes)] for g in helper.token.groups], separators=(",", ":")
            ).encode()
        gone, kept = _logon_sid(user.token), _logon_sid(keep.token)
        before = disk_bytes(tmp_path)
        assert gone.encode() in before and groups[user.id] in before  # the scan sees a token on disk
        svc.logoff(user)
        after = disk_bytes(tmp_path)
        assert all(form not in after for form in forms(gone))
        assert groups[user.id] not in after
        assert kept.encode() in after and groups[keep.id] in after  # a token not purged is still found
        assert (tmp_path / "queue.db-wal").stat().st_size == 0


_KILLED_WRITER = textwrap.dedent(
    """
    import os, signal, sys
    from emulator import BitsService, Blanket, Cloaking, IBitsTokenOptions, ImpersonationLevel, JobType
    from emulator import ManualClock

    svc = BitsService("post-1607", sys.argv[1], clock=ManualClock())
    user = svc.logon(svc.add_user("hU"))
    _, job = svc.connect(blanket=Blanket(ImpersonationLevel.IMPERSONATE, Cloaking.DYNAMIC)).create_job(
        "job", JobType.DOWNLOAD
    )
    options = job.query_interface(IBitsTokenOptions)
    with svc.impersonate(user.token):
        options.set_helper_token()
    print(next(g.sid for g in user.token.groups if g.sid.startswith("S-1-5-5-")), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)  # an unclean stop: no close(), no checkpoint
    """
)


def test_after_an_unclean_stop_reopening_clears_tokens_before_anything_else(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_WRITER, str(db)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    logon_sid = proc.stdout.strip()
    assert logon_sid.startswith("S-1-5-5-")
    assert logon_sid.encode() in disk_bytes(tmp_path)  # the killed writer left the token on disk
    with BitsService("post-1607", db, clock=ManualClock()) as svc:
        assert all(form not in disk_bytes(tmp_path) for form in forms(logon_sid))
        assert svc.store.conn.execute("SELECT COUNT(*) FROM jobs WHERE helper_sid IS NOT NULL").fetchone() == (0,)


def _credentialed_job(svc: BitsService) -> tuple[Job, str]:
    _, job = svc.connect().create_job("cred", JobType.DOWNLOAD)
    job.set_credentials(AuthTarget.SERVER, AuthScheme.BASIC, "alice", PASSWORD)
    (row,) = svc.store.conn.execute("SELECT credentials FROM jobs WHERE id=?", (str(job.get_id()),)).fetchall()
    sealed: str = json.loads(row[0])[0][3]["fernet"]
    return job, sealed


def test_passwords_are_never_stored_in_clear_and_reopen_with_the_key(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with BitsService(database=db) as svc:
        job, sealed = _credentialed_job(svc)
        job_id = job.get_id()
        data = disk_bytes(tmp_path)
        assert sealed.encode() in data
        assert all(form not in data for form in forms(PASSWORD))
    key = tmp_path / "queue.db.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert all(form not in disk_bytes(tmp_path) for form in forms(PASSWORD))
    with BitsService(database=db) as svc:
        assert svc.queue.jobs[job_id].credentials[0].password == PASSWORD


def test_remove_credentials_and_the_jobs_end_take_the_sealed_password_off_the_disk(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with BitsService(database=db) as svc:
        job, sealed = _credentialed_job(svc)
        assert job.remove_credentials(AuthTarget.SERVER, AuthScheme.BASIC) == 0
        assert sealed.encode() not in disk_bytes(tmp_path)
        job, sealed = _credentialed_job(svc)
        job.cancel()
        assert sealed.encode() not in disk_bytes(tmp_path)
        assert (tmp_path / "queue.db-wal").stat().st_size == 0


def test_a_store_whose_key_is_lost_is_refused_with_store_error(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with BitsService(database=db) as svc:
        _credentialed_job(svc)
    (tmp_path / "queue.db.key").unlink()
    with pytest.raises(StoreError, match=r"queue\.db\.key"):
        BitsService(database=db)


def test_a_key_file_readable_by_others_is_narrowed_to_the_owner(tmp_path: Path) -> None:
    db = tmp_path / "queue.db"
    with BitsService(database=db) as svc:
        _credentialed_job(svc)
    key = tmp_path / "queue.db.key"
    os.chmod(key, 0o644)
    with BitsService(database=db):
        pass
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
