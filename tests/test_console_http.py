"""The web console's files over HTTP: what is served, with which headers, and --no-console.

What the page does in a browser is tests/browser/ (``nox -s console``).
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import threading
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from tests.test_server_harness import Running
from tilecred._server import create_app
from tilecred._server._serve import make_server

pytest_plugins = ["tests.test_server_harness"]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; font-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
SECURITY = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    "Cache-Control": "no-cache",
}
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
SHIPPED = resources.files("tilecred._server") / "console"
FILES = sorted(entry.name for entry in SHIPPED.iterdir() if entry.is_file())


def assert_secure(reply: object) -> None:
    headers = reply.headers  # type: ignore[attr-defined]
    assert {name: headers[name] for name in SECURITY} == SECURITY
    # No cookie, ever: the token is the page's, sent per request.
    assert headers.get_all("Set-Cookie") is None


def test_the_console_ships_its_files() -> None:
    assert {"index.html", "app.css", "app.js", "api.js", "kinds.js", "dom.js"} <= set(FILES)
    assert {Path(name).suffix for name in FILES} <= set(TYPES)


@pytest.mark.parametrize("name", FILES)
def test_each_file_is_served_without_a_token_with_strict_headers(
    server: Running, name: str
) -> None:
    reply = server.request("GET", f"/console/{name}", token=None, headers={})
    assert reply.status == 200
    assert reply.headers["Content-Type"] == TYPES[Path(name).suffix]
    assert reply.raw == (SHIPPED / name).read_bytes()
    assert reply.headers["Content-Length"] == str(len(reply.raw))
    assert_secure(reply)


def test_the_console_root_is_its_index_and_head_sends_no_body(server: Running) -> None:
    index = (SHIPPED / "index.html").read_bytes()
    reply = server.request("GET", "/console/", token=None)
    assert (reply.status, reply.raw) == (200, index)
    assert_secure(reply)
    head = server.request("HEAD", "/console/", token=None)
    assert (head.status, head.raw, head.headers["Content-Length"]) == (200, b"", str(len(index)))
    assert_secure(head)


def test_console_without_its_slash_is_redirected(server: Running) -> None:
    reply = server.request("GET", "/console", token=None)
    assert (reply.status, reply.headers["Location"]) == (308, "/console/")
    assert_secure(reply)


@pytest.mark.parametrize(
    "path",
    [
        "/console/nothing.js",
        "/console/../tilecred.db",
        "/console/%2e%2e/tilecred.db",
        "/console/sub/app.js",
        "/console/app.js/",
        "/console/__init__.py",
    ],
)
def test_only_shipped_files_are_served(server: Running, path: str) -> None:
    reply = server.request("GET", path, token=None)
    assert (reply.status, reply.raw) == (404, b"no such file in the console\n")
    assert reply.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert_secure(reply)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
def test_the_console_is_read_only(server: Running, method: str) -> None:
    reply = server.request(method, "/console/index.html", token=None, raw=b"")
    assert (reply.status, reply.headers["Allow"]) == (405, "GET, HEAD")
    assert reply.raw == b"the console's files are read-only\n"
    assert_secure(reply)


def test_the_api_still_needs_its_token_beside_the_console(server: Running) -> None:
    reply = server.request("GET", server.credentials_path(), token=None)
    assert reply.status == 401
    assert server.request("GET", server.credentials_path()).status == 200


class _Markup(HTMLParser):
    """Every tag and attribute of a page, and any text inside <script> or <style>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        self._open = tag

    def handle_endtag(self, tag: str) -> None:
        self._open = None

    def handle_data(self, data: str) -> None:
        if self._open in ("script", "style") and data.strip():
            self.inline.append(data)


def test_the_page_has_no_inline_script_or_style() -> None:
    markup = _Markup()
    markup.feed((SHIPPED / "index.html").read_text())
    assert markup.inline == []
    assert all(tag != "style" for tag, _ in markup.tags)
    for tag, attrs in markup.tags:
        assert "style" not in attrs, tag
        assert not [name for name in attrs if name.startswith("on")], tag
        if tag == "script":
            assert attrs == {"type": "module", "src": "app.js"}
        for name in ("src", "href"):
            # Its own files and fragments only: no CDN, nothing from the network.
            assert not re.match(r"^(https?:)?//", attrs.get(name) or ""), (tag, attrs)


@pytest.mark.parametrize("name", [name for name in FILES if name.endswith(".js")])
def test_the_scripts_never_parse_html_or_evaluate_text(name: str) -> None:
    # Every name, description and error goes into the page as text.
    source = (SHIPPED / name).read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "localStorage", "document.cookie"):  # fmt: skip
        assert sink not in source, (name, sink)
    # Modules from the console itself only: nothing from a CDN.
    for specifier in re.findall(r'^import .*? from "([^"]+)";$', source, re.MULTILINE | re.DOTALL):
        assert re.fullmatch(r"\./[a-z_]+\.js", specifier), (name, specifier)
        assert specifier[2:] in FILES


def test_no_console_serves_the_api_only(tmp_path: Path) -> None:
    app = create_app(tmp_path / "home", console=False)
    server = make_server(app, "127.0.0.1", 0, 2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
        conn.request("GET", "/console/")
        reply = conn.getresponse()
        body = reply.read()
        conn.close()
    finally:
        server.stop()
        thread.join(timeout=30)
        app.close()
    assert reply.status == 404
    assert reply.headers["Content-Type"] == "application/json"
    assert b'"message":"no such route: the path has an empty segment"' in body
    assert reply.headers["Content-Security-Policy"] is None


def _serve(home: Path, *options: str) -> tuple[list[str], int, int]:
    """``tilecred serve`` with ``options``: its start-up lines, port, and /console/'s status."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TILEDB_", "TILECRED_"))}
    with subprocess.Popen(
        [sys.executable, "-m", "tilecred._server", "serve", "--home", str(home), "--port", "0",
         "--threads", "2", *options],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    ) as proc:  # fmt: skip
        assert proc.stdout is not None
        try:
            lines: list[str] = []
            for line in proc.stdout:
                lines.append(line.rstrip("\n"))
                if line.startswith("tilecred serving"):
                    break
            found = re.search(r"on http://127\.0\.0\.1:(\d+) ", lines[-1])
            assert found, lines
            port = int(found.group(1))
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("GET", "/console/")
            status = conn.getresponse().status
            conn.close()
        finally:
            proc.terminate()
            # Read through the buffer the loop above filled (communicate would skip it).
            rest = proc.stdout.read()
            proc.wait(timeout=30)
    return lines + rest.splitlines(), port, status


def test_serve_prints_the_console_url_and_no_console_turns_it_off(tmp_path: Path) -> None:
    lines, port, status = _serve(tmp_path / "home")
    assert status == 200
    home = tmp_path / "home"
    assert lines[3:] == [
        f"tilecred serving {home} on http://127.0.0.1:{port} (2 threads); "
        f"console http://127.0.0.1:{port}/console/",
        "tilecred stopped",
    ]
    lines, port, status = _serve(tmp_path / "home", "--no-console")
    assert status == 404
    assert lines == [
        f"tilecred serving {tmp_path / 'home'} on http://127.0.0.1:{port} (2 threads)",
        "tilecred stopped",
    ]
