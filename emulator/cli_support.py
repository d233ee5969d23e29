"""What every console script of the package shares."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


def guard_closed_pipe(run: Callable[[], int]) -> int:
    """Run a command whose output may go to a pipe that closes early (``… | head``) and stop quietly,
    without a traceback, as other Unix tools do (exit status 1 — the output was cut short)."""
    try:
        status = run()
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # Python flushes stdout again at exit; point it at devnull so that flush cannot fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
