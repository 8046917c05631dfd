"""Whether ``tilecred serve`` keeps answering while idle connections pile up.

``python -m benchmarks.idle_connections [--sockets N] [--seconds S] [-- SERVE-ARGS…]``
starts ``tilecred serve`` in its own process over a fresh data directory, then
opens N connections to it on 127.0.0.1 that each send the start of a request
and then one header line a second, never finishing it (a slow-headers client).
A connection the server closes is opened again at once, so the pressure stays.
Meanwhile a probe asks ``GET /healthz`` on a new connection every half second,
with a 5-second timeout, and records how long each answer took.

It prints how many of the N connections the server held open (sampled at
each probe: the median and the most), how many it closed, how many probes
were answered and their latency. Figures
depend on the machine; nothing here judges them.
"""

from __future__ import annotations

import argparse
import http.client
import signal
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

from .server_load import start_server

__all__ = ["run"]

PROBE_EVERY = 0.5
PROBE_TIMEOUT = 5.0


class _Attack:
    """N slow-headers connections, each sent one more header line a second."""

    def __init__(self, port: int, count: int) -> None:
        self.port = port
        self.sockets: list[socket.socket | None] = [None] * count
        self.closed_by_server = 0
        self.failed_connects = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()  # the sockets' timeouts change while peeking

    def _open(self, index: int) -> None:
        try:
            sock = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        except OSError:
            self.failed_connects += 1
            self.sockets[index] = None
            return
        self.sockets[index] = sock

    def run(self) -> None:
        for index in range(len(self.sockets)):
            self._open(index)
        tick = 0
        while not self._stop.wait(1.0):
            tick += 1
            with self._lock:
                self._drip(tick)

    def _drip(self, tick: int) -> None:
        for index, sock in enumerate(self.sockets):
            if sock is None:
                self._open(index)
                continue
            try:
                sock.sendall(f"X-Drip-{tick}: {tick}\r\n".encode())
            except OSError:
                self.closed_by_server += 1
                sock.close()
                self._open(index)

    def held(self) -> int:
        """Connections the server still has open (a zero-byte peek would see its close)."""
        held = 0
        with self._lock:
            for sock in self.sockets:
                if sock is None:
                    continue
                sock.settimeout(0)
                try:
                    held += sock.recv(1, socket.MSG_PEEK) != b""
                except BlockingIOError:
                    held += 1
                except OSError:
                    pass
                finally:
                    sock.settimeout(2)
        return held

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        for sock in self.sockets:
            if sock is not None:
                sock.close()


def _probe(port: int, seconds: float, attack: _Attack) -> tuple[list[float], int, list[int]]:
    latencies: list[float] = []
    failures = 0
    held: list[int] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        began = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
        try:
            conn.request("GET", "/healthz")
            answer = conn.getresponse()
            if answer.status != 200 or answer.read() != b'{"status":"ok"}':
                failures += 1
            else:
                latencies.append(time.perf_counter() - began)
        except OSError:
            failures += 1
        finally:
            conn.close()
        held.append(attack.held())
        time.sleep(max(0.0, PROBE_EVERY - (time.perf_counter() - began)))
    return latencies, failures, held


def run(sockets: int, seconds: float, serve_args: list[str]) -> dict[str, float]:
    """Attack a fresh server with ``sockets`` slow connections for ``seconds``; the figures."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, _token = start_server(Path(tmp) / "home", *serve_args)
        attack = _Attack(port, sockets)
        driver = threading.Thread(target=attack.run, daemon=True)
        try:
            driver.start()
            time.sleep(2.0)  # let the connections open before probing
            latencies, failures, held = _probe(port, seconds, attack)
            attack.stop()
            driver.join(timeout=30)
        finally:
            attack.close()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
    latencies.sort()
    answered = len(latencies)

    def quantile(q: float) -> float:
        return latencies[min(answered - 1, int(q * answered))] * 1000 if answered else float("nan")

    return {
        "held_median": sorted(held)[len(held) // 2],
        "held_max": max(held),
        "closed_by_server": attack.closed_by_server,
        "failed_connects": attack.failed_connects,
        "probes_answered": answered,
        "probes_failed": failures,
        "healthz_p50_ms": quantile(0.5),
        "healthz_p95_ms": quantile(0.95),
        "healthz_max_ms": latencies[-1] * 1000 if answered else float("nan"),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the arguments, run, print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.idle_connections")
    parser.add_argument("--sockets", type=int, default=150)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("serve_args", nargs="*", help="extra arguments for tilecred serve")
    args = parser.parse_args(argv)
    result = run(args.sockets, args.seconds, args.serve_args)
    print(f"{args.sockets} slow-headers connections for {args.seconds:g} s, "
          f"serve {' '.join(args.serve_args) or '(defaults)'}:")  # fmt: skip
    for key, value in result.items():
        print(f"  {key}: {value:,.1f}" if isinstance(value, float) else f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
