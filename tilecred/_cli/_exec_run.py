"""Running ``exec``'s command: signals, the start, the output relay, the status.

One handler covers every signal whose default action would end ``tilecred``
(SIGKILL and SIGSTOP cannot be caught; the faults — SIGSEGV, SIGBUS, SIGILL,
SIGFPE, SIGTRAP, SIGSYS, SIGABRT — come from a broken process, not from
someone, and are left alone; SIGPIPE is ignored, as Python does). It is
installed before the first credential is used and stays until every access
is closed, so no signal ends ``tilecred`` between writing a key file and
removing it:

- before the command starts, a signal stops ``exec`` (SIGINT as Ctrl-C does);
- while it starts, the signal waits and is delivered once it runs;
- while it runs, the signal is passed on to it;
- once it has exited, signals are not acted on: the clean-up finishes and
  ``exec`` exits with the command's status.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Collection
from types import FrameType, TracebackType

from ._failures import CommandError

__all__ = ["EXIT_CANNOT_EXECUTE", "EXIT_NOT_FOUND", "FORWARDED", "Signals", "Stopped", "run_child"]

EXIT_CANNOT_EXECUTE = 126
EXIT_NOT_FOUND = 127

# Signals a terminal sends to its whole foreground process group.
_FROM_TERMINAL = (signal.SIGINT, signal.SIGQUIT)
_NAMES = ("SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM",
          "SIGVTALRM", "SIGPROF", "SIGXCPU", "SIGXFSZ", "SIGIO", "SIGPWR", "SIGSTKFLT")  # fmt: skip
_REALTIME = range(signal.SIGRTMIN, signal.SIGRTMAX + 1) if hasattr(signal, "SIGRTMIN") else range(0)
FORWARDED: tuple[int, ...] = tuple(
    dict.fromkeys([getattr(signal, name) for name in _NAMES if hasattr(signal, name)])
) + tuple(_REALTIME)


class Stopped(Exception):
    """A signal came before the command started: ``exec`` stops, cleaning up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _terminal_sent_it() -> bool:
    """Whether our process group is a terminal's foreground: its Ctrl-C reached the child too."""
    for stream in (sys.stdin, sys.stdout, sys.stderr):
        try:
            if stream is not None and stream.isatty():
                return os.tcgetpgrp(stream.fileno()) == os.getpgrp()
        except (OSError, ValueError):
            continue
    return False


class Signals:
    """The one handler for every signal that would end ``tilecred``; a context manager."""

    def __init__(self) -> None:
        self.phase = "preparing"  # then "starting", "running", "done"
        self.child: subprocess.Popen[bytes] | None = None
        self.pending: list[int] = []
        self._previous: dict[int, object] = {}

    def __enter__(self) -> Signals:
        for signum in FORWARDED:
            self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.phase == "preparing":
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            raise Stopped(signum)
        if self.phase == "done":
            return  # the clean-up finishes; the command's status follows
        # A terminal's Ctrl-C already went to the child, in our process group.
        if signum in _FROM_TERMINAL and _terminal_sent_it():
            return
        if self.child is None:
            self.pending.append(signum)  # came while it was starting: delivered once it runs
        elif self.child.poll() is None:
            self.child.send_signal(signum)


def _start(
    command: list[str], env: dict[str, str], stdout: int | None, stderr: int | None
) -> subprocess.Popen[bytes] | int:
    """The started child, or the shell's status for a command that cannot start."""
    try:
        return subprocess.Popen(command, env=env, stdout=stdout, stderr=stderr)
    except FileNotFoundError:
        sys.stderr.write(f"tilecred exec: {command[0]}: command not found\n")
        return EXIT_NOT_FOUND
    except PermissionError:
        sys.stderr.write(f"tilecred exec: {command[0]}: permission denied\n")
        return EXIT_CANNOT_EXECUTE
    except OSError as exc:
        raise CommandError(f"cannot run {command[0]!r}: {exc.strerror}") from exc


def run_child(
    command: list[str], env: dict[str, str], signals: Signals, secrets: Collection[bytes] | None
) -> int:
    """Run ``command``, its output masked unless ``secrets`` is None; 128+n for a signal n."""
    from ._relay import Relay

    relay = None if secrets is None else Relay(secrets)
    try:
        signals.phase = "starting"
        out, err = (None, None) if relay is None else (relay.child_stdout, relay.child_stderr)
        started = _start(command, env, out, err)
        if isinstance(started, int):
            return started
        signals.child = started
        signals.phase = "running"
        for signum in signals.pending:
            started.send_signal(signum)
        signals.pending.clear()
        if relay is None:
            code = started.wait()
        else:
            relay.started()
            with relay.terminal_size_followed():
                code = relay.run(started)
    finally:
        signals.phase = "done"
        if relay is not None:
            relay.close()
    return 128 - code if code < 0 else code
