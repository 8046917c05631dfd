"""Keep this process's memory out of core files and debuggers' reach.

``tilecred serve`` holds the raw master key and opens secrets; ``tilecred exec``
holds the secrets it hands to its command. A core file of either would hold
them on disk, readable by whoever reads the core directory. Both commands call
``harden_process()`` first: the core size limit goes to zero (soft and hard,
so the process cannot raise it again), and on Linux the process is marked not
dumpable, which also stops other processes of the same user from attaching a
debugger (ptrace) or reading its ``/proc/<pid>/mem`` and ``environ``.
"""

from __future__ import annotations

import sys

from ._errors import ConfigurationError

__all__ = ["harden_process"]

# <linux/prctl.h>
_PR_SET_DUMPABLE = 4


def harden_process() -> None:
    """No core dumps, and (on Linux) not dumpable; what a platform lacks is skipped.

    Children inherit the core size limit (a command run by ``exec`` holds the
    same secrets); not being dumpable ends at their ``execve``.
    """
    try:
        import resource
    except ImportError:  # Windows: no core files to turn off
        pass
    else:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        _set_not_dumpable()


def _set_not_dumpable() -> None:
    import ctypes
    import os

    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    prctl.restype = ctypes.c_int
    if prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
        # Not expected on any kernel tilecred runs on: fail closed if it happens.
        reason = os.strerror(ctypes.get_errno())
        raise ConfigurationError(f"could not make this process non-dumpable: {reason}")
