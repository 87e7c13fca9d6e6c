"""Child processes of a test that never outlive it: each dies with its parent."""

from __future__ import annotations

import ctypes
import ctypes.util
import signal

PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """`preexec_fn` of a child: the kernel SIGKILLs it when the test process dies, so a
    crashed or killed test run leaves no node, balancer or redis-server behind."""
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
