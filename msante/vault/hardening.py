"""Process hardening for whoever holds a key: no core dumps, no same-user debugger (Linux)."""

from __future__ import annotations

import resource
import sys

PR_SET_DUMPABLE = 4


def protect_process() -> None:
    """Refuse core dumps and make the process non-dumpable (so no same-uid ptrace on Linux)."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_DUMPABLE, ctypes.c_ulong(0), ctypes.c_ulong(0), ctypes.c_ulong(0),
                   ctypes.c_ulong(0))
