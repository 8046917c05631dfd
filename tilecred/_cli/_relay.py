"""The command's stdout and stderr, passed through ``tilecred exec`` with secrets masked.

Each of our output streams becomes a *channel*: the child writes into a pipe,
or into a pseudo-terminal when our stream is a terminal (so that ``isatty``
stays true for it, and it keeps the terminal's size and settings); we read
each chunk as it arrives and write it on, masked (``StreamMasker``). When our
stdout and stderr are the same file or terminal, the child gets one channel
for both, so their order is kept exactly. The child's stdin is ours, as it is.

Once the child has exited, what it wrote is already in the channel: it is
read out and the channels are closed; a process it left running in the
background and that writes later gets EPIPE (or EIO), as it would writing to
a closed terminal. When our own output is closed (``| head``), that channel's
reading end is closed too, and the child gets EPIPE (SIGPIPE) as it would have.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import os
import select
import signal
import subprocess
from collections.abc import Collection, Iterator
from types import FrameType

from .._stream_mask import StreamMasker

__all__ = ["Relay"]

_READ_BYTES = 65536
# After the child exits: at most this many chunks more (16 MiB, more than any
# pipe or pseudo-terminal holds).
_READ_OUT_CHUNKS = 256
# Without a pidfd (not Linux, or Linux before 5.3), how often to look whether
# the child has exited while its output channels are quiet.
_POLL_SECONDS = 0.1


@dataclasses.dataclass
class _Channel:
    """One of our output streams and the pipe or pseudo-terminal the child writes into."""

    sink: int  # our fd 1 or 2
    source: int  # the end we read
    child_end: int | None  # the end the child writes (closed here once it started)
    masker: StreamMasker
    terminal: bool

    def close(self) -> None:
        for fd in (self.source, self.child_end):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self.source = -1
        self.child_end = None


def _same_file(a: int, b: int) -> bool:
    try:
        one, two = os.fstat(a), os.fstat(b)
    except OSError:
        return False
    return (one.st_dev, one.st_ino) == (two.st_dev, two.st_ino)


def _terminal_channel(sink: int, secrets: Collection[bytes]) -> _Channel:
    import fcntl
    import termios

    source, child_end = os.openpty()
    try:
        settings = termios.tcgetattr(sink)
        # Output processing (\n to \r\n, …) happens once, at the real terminal.
        settings[1] &= ~termios.OPOST
        termios.tcsetattr(child_end, termios.TCSANOW, settings)
        fcntl.ioctl(child_end, termios.TIOCSWINSZ, fcntl.ioctl(sink, termios.TIOCGWINSZ, b"\0" * 8))
    except OSError:
        pass  # a terminal that will not say its settings: the pty's defaults
    return _Channel(sink, source, child_end, StreamMasker(secrets), terminal=True)


def _pipe_channel(sink: int, secrets: Collection[bytes]) -> _Channel:
    source, child_end = os.pipe()
    return _Channel(sink, source, child_end, StreamMasker(secrets), terminal=False)


class Relay:
    """The child's output channels; ``child_stdout``/``child_stderr`` go to ``Popen``.

    Parameters:
        secrets: the byte strings to mask.
    """

    def __init__(self, secrets: Collection[bytes]) -> None:
        self.channels: list[_Channel] = []
        try:
            for sink in (1, 2):
                if sink == 2 and self.channels and _same_file(1, 2):
                    break  # one channel for both: their order is kept
                make = _terminal_channel if os.isatty(sink) else _pipe_channel
                self.channels.append(make(sink, secrets))
        except BaseException:
            self.close()
            raise
        self._pidfd: int | None = None

    @property
    def child_stdout(self) -> int | None:
        return self.channels[0].child_end

    @property
    def child_stderr(self) -> int | None:
        return self.channels[-1].child_end

    @contextlib.contextmanager
    def terminal_size_followed(self) -> Iterator[None]:
        """While in the block, a resized terminal resizes the child's pseudo-terminals."""
        terminals = [c for c in self.channels if c.terminal]
        if not terminals or not hasattr(signal, "SIGWINCH"):
            yield
            return
        import fcntl
        import termios

        def resize(signum: int, frame: FrameType | None) -> None:
            for channel in terminals:
                with contextlib.suppress(OSError):
                    size = fcntl.ioctl(channel.sink, termios.TIOCGWINSZ, b"\0" * 8)
                    fcntl.ioctl(channel.source, termios.TIOCSWINSZ, size)

        previous = signal.signal(signal.SIGWINCH, resize)
        try:
            yield
        finally:
            signal.signal(signal.SIGWINCH, previous)

    def started(self) -> None:
        """The child has its ends: close ours, so that its exit ends the stream."""
        for channel in self.channels:
            if channel.child_end is not None:
                os.close(channel.child_end)
                channel.child_end = None

    def run(self, child: subprocess.Popen[bytes]) -> int:
        """Pass the output on until the child exits and its output is read; its status."""
        poller = select.poll()
        by_fd = {channel.source: channel for channel in self.channels}
        for fd in by_fd:
            poller.register(fd, select.POLLIN)
        pidfd = _pidfd(child.pid)
        if pidfd is not None:
            poller.register(pidfd, select.POLLIN)
        try:
            while by_fd:
                timeout = None if pidfd is not None else _POLL_SECONDS * 1000
                ready = poller.poll(timeout)
                exited = child.poll() is not None
                for fd, _event in ready:
                    if fd in by_fd and not self._pass_on(by_fd[fd]):
                        poller.unregister(fd)
                        self._end(by_fd.pop(fd))
                if exited:
                    self._read_out(list(by_fd.values()))
                    by_fd.clear()
            return child.wait()
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _read_out(self, channels: list[_Channel]) -> None:
        """What the exited child left in ``channels`` (no more than a pipe holds), then their end.

        The bound: a process it left behind may keep writing; that is not waited for.
        """
        for channel in channels:
            waiting = select.poll()
            waiting.register(channel.source, select.POLLIN)
            for _ in range(_READ_OUT_CHUNKS):
                if not waiting.poll(0) or not self._pass_on(channel):
                    break
            self._end(channel)

    def _pass_on(self, channel: _Channel) -> bool:
        """Read one chunk and write it on, masked; False at the end of the stream."""
        try:
            data = os.read(channel.source, _READ_BYTES)
        except OSError as exc:
            if exc.errno == errno.EIO:  # a pseudo-terminal whose writers are all gone
                return False
            raise
        if not data:
            return False
        return self._write(channel, channel.masker.feed(data))

    def _end(self, channel: _Channel) -> None:
        self._write(channel, channel.masker.flush())
        channel.close()

    def _write(self, channel: _Channel, data: bytes) -> bool:
        """Write all of ``data`` to the channel's sink; False once the sink is gone."""
        view = memoryview(data)
        while view:
            try:
                written = os.write(channel.sink, view)
            except BlockingIOError:
                select.select([], [channel.sink], [])
                continue
            except OSError:
                return False  # EPIPE, EIO: our reader left; the child will find out
            view = view[written:]
        return True

    def close(self) -> None:
        for channel in self.channels:
            channel.close()


def _pidfd(pid: int) -> int | None:
    """A descriptor that becomes readable when ``pid`` exits (Linux 5.3+), else None."""
    opener = getattr(os, "pidfd_open", None)
    if opener is None:
        return None
    try:
        fd: int = opener(pid)
    except OSError:
        return None
    return fd
