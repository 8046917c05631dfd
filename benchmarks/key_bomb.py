"""How ``tilecred serve`` answers a key bomb, and how it answers others meanwhile.

``python -m benchmarks.key_bomb [ITERATIONS]`` starts ``tilecred serve`` (8
threads) in its own process and sends ``POST /v4/actions/credentials/verify``
with a Snowflake key encrypted as PKCS#8 with PBKDF2 at ITERATIONS
(default 30,000,000) and its passphrase. It prints:

- the time one bomb takes to be answered, and its status;
- while 8 bombs are sent at once, the ``/healthz`` answer times of a prober
  that sends one request every 50 ms on its own connection (count, median,
  worst) and how long the 8 bombs took.

The bomb's ciphertext is random (see ``tests/_pkcs8.py``): a server that
derives the key does all the work and then fails to decrypt; one that reads
the parameters first refuses at once. Figures depend on the machine.
"""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.server_load import _start_server
from tests._pkcs8 import encrypted_pkcs8

__all__ = ["run"]

BOMBS = 8
PROBE_EVERY = 0.05


def _verify(port: int, token: str, body: bytes) -> tuple[int, float, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    started = time.perf_counter()
    headers = {"X-TILEDB-REST-API-KEY": token, "Content-Type": "application/json"}
    conn.request("POST", "/v4/actions/credentials/verify", body=body, headers=headers)
    resp = conn.getresponse()
    answer = resp.read()
    elapsed = time.perf_counter() - started
    conn.close()
    return resp.status, elapsed, json.loads(answer).get("message", "")


def _probe(port: int, stop: threading.Event, times: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    while not stop.is_set():
        started = time.perf_counter()
        conn.request("GET", "/healthz")
        conn.getresponse().read()
        times.append(time.perf_counter() - started)
        stop.wait(PROBE_EVERY)
    conn.close()


def run(iterations: int) -> None:
    """Measure and print; see the module docstring."""
    pem = encrypted_pkcs8(None, b"passphrase", iterations=iterations)
    body = json.dumps({"name": "bomb", "provider": "SNOWFLAKE", "token": {"snowflake": {
        "account": "acme", "user": "svc", "private_key_raw": pem,
        "private_key_passphrase": "passphrase"}}}).encode()  # fmt: skip
    with tempfile.TemporaryDirectory() as home:
        proc, port, token = _start_server(Path(home))
        try:
            status, elapsed, message = _verify(port, token, body)
            print(f"one bomb ({iterations:,} PBKDF2 iterations): {status} in {elapsed:.3f} s")
            print(f"  {message}")
            times: list[float] = []
            stop = threading.Event()
            prober = threading.Thread(target=_probe, args=(port, stop, times))
            prober.start()
            time.sleep(0.5)
            started = time.perf_counter()
            bombs = [threading.Thread(target=_verify, args=(port, token, body))
                     for _ in range(BOMBS)]  # fmt: skip
            for bomb in bombs:
                bomb.start()
            for bomb in bombs:
                bomb.join()
            took = time.perf_counter() - started
            time.sleep(0.5)
            stop.set()
            prober.join()
            print(f"{BOMBS} bombs at once: all answered in {took:.3f} s; /healthz meanwhile: "
                  f"{len(times)} answers, median {statistics.median(times) * 1000:.1f} ms, "
                  f"worst {max(times) * 1000:.1f} ms")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    run(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000_000)
