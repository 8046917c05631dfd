"""Private directories for key files, and sweeping those whose process is gone.

A key file (a GCP service account key, say) lives in a 0700 directory of its
own in the temporary directory, removed when its access is closed. A process
killed with SIGKILL cannot remove it. So each directory is named for the
process that made it (``tilecred-<pid>-<random>``) and that process holds an
``flock`` on it for as long as it lives; the kernel drops the lock when the
process ends, however it ends. ``sweep()`` removes the directories of this
user whose lock nobody holds and whose process is not running.

Two checks, because each alone can be wrong: a pid is reused, and a process in
another PID namespace sharing the temporary directory has a pid that means
nothing here; the lock is taken a moment after the directory is made.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import tempfile

__all__ = ["KeyDirectory", "sweep"]

_PREFIX = "tilecred-"
_NAME = re.compile(r"tilecred-(\d+)-[A-Za-z0-9_]+\Z")


class KeyDirectory:
    """A new 0700 directory for key files, locked by this process until ``remove()``."""

    def __init__(self) -> None:
        self.path = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")  # mode 0700
        self._fd = _lock(self.path, wait=True)

    def __repr__(self) -> str:
        return f"KeyDirectory({self.path!r})"

    def remove(self) -> None:
        """Remove the directory and everything in it, then let go of the lock."""
        import shutil

        shutil.rmtree(self.path, ignore_errors=True)
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _lock(path: str, *, wait: bool) -> int | None:
    """An open descriptor of directory ``path`` holding its lock; None if another holds it.

    Where ``flock`` does not exist (Windows), nothing is locked and nothing is swept.
    """
    try:
        import fcntl
    except ImportError:
        return None
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        if wait:
            raise
        return None
    return fd


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's
    return True


def sweep(directory: str | None = None) -> list[str]:
    """Remove the key directories of processes that are gone; the paths removed.

    Only directories named as ``KeyDirectory`` names them, owned by this user,
    not symbolic links, whose process is not running and whose lock is free.
    """
    if os.name != "posix":
        return []  # no flock, and os.kill(pid, 0) would end the process on Windows
    import shutil

    where = directory or tempfile.gettempdir()
    removed: list[str] = []
    try:
        names = os.listdir(where)
    except OSError:
        return removed
    for name in names:
        found = _NAME.match(name)
        if found is None or _running(int(found.group(1))):
            continue
        path = os.path.join(where, name)
        try:
            info = os.lstat(path)
            if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
                continue
            fd = _lock(path, wait=False)
        except OSError:
            continue
        if fd is None:
            continue  # its process is alive, elsewhere
        try:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        finally:
            with contextlib.suppress(OSError):
                os.close(fd)
    return removed
