"""A fast fixed-answer HTTP server on 127.0.0.1, run in its own process.

It answers the two calls the benchmarks time, from bodies rendered before the
clock starts:

- ``GET /v4/credentials/{workspace}/{name}``: one credential;
- ``GET /v4/credentials/{workspace}?teamspace_id=ts_n{total}&page=P&per_page=S``:
  page P of a listing of ``total`` items. Listings up to :data:`CACHE_LIMIT` items are rendered once
  and kept; larger ones (the 1,000,000-item memory case) are generated page by
  page, so the server's own memory stays small too.

Every response goes out as headers and body in **one** write: with two writes
the second waits for the client's delayed ACK (Nagle's algorithm), which adds
about 40 ms to each request and would swamp what is being measured.
Connections are kept alive. Run it with ``python -m benchmarks.fixed_server``;
it prints ``PORT <n>`` when it is listening. :class:`FixedServer` does that
from the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
from pathlib import Path
from types import TracebackType
from urllib.parse import parse_qs

from .payloads import get_body, page_body, teamspace_for, total_of_teamspace

__all__ = ["CACHE_LIMIT", "LIST_PATH", "ROOT", "WORKSPACE", "FixedServer", "response_for"]

CACHE_LIMIT = 200_000
# Where ``python -m benchmarks...`` works from, whatever the caller's directory.
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PER_PAGE = 1000
WORKSPACE = "ws_bench"
LIST_PATH = f"/v4/credentials/{WORKSPACE}"

_responses: dict[bytes, bytes] = {}


def _http(status: bytes, body: bytes) -> bytes:
    head = b"HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n" % (
        status,
        len(body),
    )
    return head + b"X-Request-Id: bench-0001\r\n\r\n" + body


_GET = _http(b"200 OK", get_body())
_NOT_FOUND = _http(
    b"404 Not Found", b'{"code":404,"message":"no such route","request_id":"bench-0001"}'
)


def _route(target: bytes) -> tuple[bytes, bool]:
    """The response for a request target, and whether it may be kept."""
    path, _, query = target.decode("ascii").partition("?")
    parts = path.split("/")
    if len(parts) == 5 and parts[:3] == ["", "v4", "credentials"]:
        return _GET, True
    if len(parts) != 4 or parts[:3] != ["", "v4", "credentials"]:
        return _NOT_FOUND, True
    params = parse_qs(query)
    total = total_of_teamspace(params.get("teamspace_id", [""])[0]) or 0
    page = int(params.get("page", ["1"])[0])
    per_page = int(params.get("per_page", [str(DEFAULT_PER_PAGE)])[0])
    return _http(b"200 OK", page_body(total, page, per_page)), total <= CACHE_LIMIT


def response_for(target: bytes) -> bytes:
    """The whole response (status line, headers and body) for a request target."""
    response = _responses.get(target)
    if response is None:
        response, keep = _route(target)
        if keep:
            _responses[target] = response
    return response


class _Connection(asyncio.Protocol):
    """One keep-alive connection: parse each request head, write the answer at once."""

    def __init__(self) -> None:
        self._buffer = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self._buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end]
            skip = end + 4
            lowered = head.lower()
            at = lowered.find(b"\r\ncontent-length:")
            if at >= 0:
                line_end = lowered.find(b"\r\n", at + 2)
                value = lowered[at + 17 : line_end if line_end >= 0 else len(lowered)]
                length = int(value)
                if len(buffer) < skip + length:
                    break  # the body has not all arrived yet
                skip += length
            buffer = buffer[skip:]
            target = head[head.find(b" ") + 1 : head.find(b" HTTP/")]
            assert self._transport is not None
            self._transport.write(response_for(target))
        self._buffer = buffer


async def _serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Connection, "127.0.0.1", port, backlog=256)
    bound = server.sockets[0].getsockname()[1]
    print(f"PORT {bound}", flush=True)
    async with server:
        await server.serve_forever()


def main(argv: list[str] | None = None) -> None:
    """Render the listings named on the command line, then serve until killed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fixed_server")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--per-page", type=int, default=DEFAULT_PER_PAGE)
    parser.add_argument("--prerender", type=int, nargs="*", default=[], metavar="TOTAL")
    args = parser.parse_args(argv)
    for total in args.prerender:
        # The same targets both clients send, so the first timed request is a hit.
        pages = -(-total // args.per_page)
        for page in range(1, pages + 2):
            target = (
                f"{LIST_PATH}?teamspace_id={teamspace_for(total)}"
                f"&page={page}&per_page={args.per_page}"
            )
            response_for(target.encode())
    asyncio.run(_serve(args.port))


class FixedServer:
    """The fixed-answer server in a child process, for a ``with`` block.

    Parameters:
        prerender: listing sizes to render before serving.
        per_page: the page size those listings are rendered for.
    """

    def __init__(self, prerender: tuple[int, ...] = (), per_page: int = DEFAULT_PER_PAGE) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "benchmarks.fixed_server",
            "--per-page",
            str(per_page),
            "--prerender",
            *map(str, prerender),
        ]
        self._process: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> FixedServer:
        self._process = subprocess.Popen(self._argv, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        assert self._process.stdout is not None
        line = self._process.stdout.readline()
        if not line.startswith("PORT "):
            self._process.kill()
            raise RuntimeError(f"the fixed-answer server did not start: {line!r}")
        self.url = f"http://127.0.0.1:{int(line.split()[1])}"
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            if self._process.stdout is not None:
                self._process.stdout.close()


if __name__ == "__main__":
    main()
