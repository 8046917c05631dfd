"""The web console's static files, ``/console/``, with strict security headers.

The console is a page of plain HTML, CSS and JavaScript modules shipped in
``tilecred/_server/console/``; it calls the same ``/v4`` and ``/tilecred/v1``
routes as every other client, with the token the user signs in with, so its
files need no token and hold nothing secret. The files are read once, when
the application is made, and served from memory: a request can name only a
file that was there then, never a path on disk.
"""

from __future__ import annotations

import dataclasses
from importlib import resources

__all__ = ["CONSOLE_PATH", "Console", "ConsoleReply", "load_console"]

CONSOLE_PATH = "/console/"

# The page may load its own files and call its own server, and nothing else:
# no inline script or style, no plugin, no frame around it, no form posting
# elsewhere. connect-src 'self' is the API on the same origin.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "font-src 'none'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
    )
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()"),
    # A new release's files must not be mixed with an old page's in a cache.
    ("Cache-Control", "no-cache"),
)

_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}


@dataclasses.dataclass(frozen=True, slots=True)
class ConsoleReply:
    """One answer of the console: status, headers and body."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes


def _reply(status: int, content_type: str, body: bytes, *extra: tuple[str, str]) -> ConsoleReply:
    headers = (("Content-Type", content_type), *SECURITY_HEADERS, *extra)
    return ConsoleReply(status, headers, body)


class Console:
    """The console's files by name (``index.html``, ``app.js``…), answering GET and HEAD."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self._files = dict(files)

    @staticmethod
    def serves(path: str) -> bool:
        """Whether a raw request path is the console's: ``/console`` or under ``/console/``."""
        return path == "/console" or path.startswith(CONSOLE_PATH)

    def answer(self, method: str, path: str) -> ConsoleReply:
        """The answer to ``method`` on ``path`` (one the console :meth:`serves`)."""
        if method not in ("GET", "HEAD"):
            return _reply(
                405, "text/plain; charset=utf-8", b"the console's files are read-only\n",
                ("Allow", "GET, HEAD"),
            )  # fmt: skip
        if path == "/console":
            return _reply(
                308, "text/plain; charset=utf-8", b"the console is at /console/\n",
                ("Location", CONSOLE_PATH),
            )  # fmt: skip
        name = path[len(CONSOLE_PATH) :] or "index.html"
        body = self._files.get(name)
        if body is None:
            return _reply(404, "text/plain; charset=utf-8", b"no such file in the console\n")
        content_type = _TYPES[name[name.rfind(".") :]]
        # HEAD: the length GET would send, and no body.
        length = ("Content-Length", str(len(body)))
        return _reply(200, content_type, b"" if method == "HEAD" else body, length)


def load_console() -> Console:
    """The console shipped in the package (``tilecred/_server/console/``), read into memory."""
    folder = resources.files(__package__ or "tilecred._server") / "console"
    files: dict[str, bytes] = {}
    for entry in folder.iterdir():
        suffix = entry.name[entry.name.rfind(".") :]
        if entry.is_file() and suffix in _TYPES:
            files[entry.name] = entry.read_bytes()
    return Console(files)
