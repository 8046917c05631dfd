"""Proxies: through a real proxy on 127.0.0.1, and the rules that pick one.

The proxy (tests/_proxy_server.py) records every request head it receives:
the API token must never be among them when the target is HTTPS.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests._http_helpers import (
    WORKSPACE,
    base_url,
    credential_json,
    free_port,
    seen,
)
from tests._proxy_server import RecordingProxy
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred._config import resolve_settings
from tilecred._proxy import proxies_from

PATH = f"/v4/credentials/{WORKSPACE}/c"
PROXY_PASSWORD = "pr0xy-" + CANARY_SECRET


@pytest.fixture
def https(tls_server: tuple[HTTPServer, str]) -> tuple[HTTPServer, str]:
    """The HTTPS server, answering the one credential, with an empty log."""
    server, cert_file = tls_server
    server.clear()
    server.expect_request(PATH).respond_with_json({"data": credential_json("c")})
    return server, cert_file


@pytest.fixture
def proxy() -> Iterator[RecordingProxy]:
    made = RecordingProxy()
    yield made
    made.close()


def https_client(server: HTTPServer, cert_file: str, **settings: Any) -> tilecred.Client:
    return tilecred.Client(
        host=f"https://127.0.0.1:{server.port}",
        token=CANARY_TOKEN,
        workspace=WORKSPACE,
        ca_file=cert_file,
        **settings,
    )


# -- through a real proxy -------------------------------------------------------------


def test_https_goes_through_connect_and_the_token_stays_inside_the_tunnel(
    https: tuple[HTTPServer, str], proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)

    with https_client(server, cert_file) as client:
        assert client.get_credential("c").name == "c"
        assert client.get_credential("c").name == "c"

    # One tunnel per connection (this test server closes each one after answering).
    assert [line.rsplit(" ", 1)[0] for line in proxy.request_lines] == (
        [f"CONNECT 127.0.0.1:{server.port}"] * 2
    )
    assert proxy.headers(0) == {}  # no token, no other header
    assert all(CANARY_TOKEN.encode() not in head for head in proxy.heads)
    requests = seen(server)
    assert [r.path for r in requests] == [PATH, PATH]
    assert requests[0].headers["x-tiledb-rest-api-key"] == CANARY_TOKEN
    assert "proxy-authorization" not in requests[0].headers


def test_proxy_credentials_go_to_the_proxy_alone(
    https: tuple[HTTPServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    pair = base64.b64encode(f"ada:{PROXY_PASSWORD}@x".encode()).decode()
    proxy = RecordingProxy(auth=f"Basic {pair}")
    # Percent-encoded in the URL, decoded in the header; the argument wins over
    # the environment.
    url = f"http://ada:{PROXY_PASSWORD}%40x@127.0.0.1:{proxy.port}"
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")
    try:
        with https_client(server, cert_file, proxy=url) as client:
            assert client.get_credential("c").name == "c"
            described = client.settings.describe()
            shown = repr(client.settings)
    finally:
        proxy.close()

    assert [line.rsplit(" ", 1)[0] for line in proxy.request_lines] == (
        [f"CONNECT 127.0.0.1:{server.port}"]
    )
    assert proxy.headers(0)["proxy-authorization"] == f"Basic {pair}"
    assert "proxy-authorization" not in seen(server)[0].headers
    assert described["proxy"] == f"http://ada:***@127.0.0.1:{proxy.port}"
    assert described["sources"]["proxy"] == "argument"
    assert PROXY_PASSWORD not in shown


def test_a_proxy_that_refuses_the_tunnel(
    https: tuple[HTTPServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    proxy = RecordingProxy(auth="Basic something-else")
    monkeypatch.setenv("https_proxy", f"http://ada:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}")
    try:
        with (
            https_client(server, cert_file, retries=3) as client,
            pytest.raises(tilecred.TransportError) as caught,
        ):
            client.get_credential("c")
    finally:
        proxy.close()

    assert str(caught.value) == (
        f"could not get credential 'c': proxy http://ada:***@127.0.0.1:{proxy.port} gave no way "
        f"through to https://127.0.0.1:{server.port}: Tunnel connection failed: "
        "407 Proxy Authentication Required"
    )
    assert (caught.value.attempts, caught.value.retryable) == (0, False)
    assert len(proxy.heads) == 1
    assert seen(server) == []


def test_a_proxy_that_is_not_there_is_retried_then_named(
    https: tuple[HTTPServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    url = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("ALL_PROXY", url)

    with (
        https_client(server, cert_file, retries=1) as client,
        pytest.raises(tilecred.TransportError) as caught,
    ):
        client.create_credential("c", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/r"}})

    assert str(caught.value) == (
        f"could not create credential 'c': cannot connect to proxy {url}: Connection refused"
    )
    assert (caught.value.attempts, caught.value.retryable) == (0, True)


def test_plain_http_through_a_proxy_is_refused_so_the_proxy_never_sees_the_token(
    httpserver: HTTPServer, proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A forward proxy reads a plain-HTTP request whole, login headers included.
    monkeypatch.setenv("http_proxy", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")  # lower case wins

    with pytest.raises(tilecred.ConfigurationError) as caught:
        tilecred.Client(host=base_url(httpserver), token=CANARY_TOKEN, workspace=WORKSPACE)
    assert str(caught.value) == (
        f"host {base_url(httpserver)} is plain HTTP and would go through proxy {proxy.url}, "
        "which would then see the API token or password: use https://, or add the host "
        "to NO_PROXY (or give proxy='') to reach it directly"
    )
    assert CANARY_TOKEN not in str(caught.value)
    assert proxy.request_lines == []
    assert seen(httpserver) == []

    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    httpserver.expect_request(PATH).respond_with_json({"data": credential_json("c")})
    with tilecred.Client(
        host=base_url(httpserver), token=CANARY_TOKEN, workspace=WORKSPACE
    ) as client:
        assert client.get_credential("c", teamspace="ts_1").name == "c"
    assert proxy.request_lines == []


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "*", "127.0.0.0/8", "localhost,127.0.0.1"])
def test_no_proxy_goes_direct(
    https: tuple[HTTPServer, str],
    proxy: RecordingProxy,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
) -> None:
    server, cert_file = https
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)

    with https_client(server, cert_file) as client:
        assert client.get_credential("c").name == "c"
        assert client.settings.proxy is None

    assert proxy.heads == []
    assert len(seen(server)) == 1


def test_proxy_argument_empty_turns_the_environment_off(
    https: tuple[HTTPServer, str], proxy: RecordingProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)

    with https_client(server, cert_file, proxy="") as client:
        assert client.get_credential("c").name == "c"

    assert proxy.heads == []


# -- the rules ------------------------------------------------------------------------


def proxy_for(host: str, env: dict[str, str], proxy: str | None = None) -> str | None:
    # The rules alone: a plain-HTTP host with a login is refused before they matter.
    found = proxies_from(proxy, env).for_url(host)
    return None if found is None else found[0]


P = "http://proxy.example:3128"


@pytest.mark.parametrize(
    ("host", "no_proxy", "direct"),
    [
        ("https://api.example.com", "example.com", True),
        ("https://example.com", "example.com", True),
        ("https://notexample.com", "example.com", False),
        ("https://api.example.com", ".example.com", True),
        ("https://api.example.com", "*.example.com", True),
        ("https://API.Example.COM", "example.com", True),
        ("https://example.com", " other.org , example.com ", True),
        ("https://example.com:8443", "example.com:8443", True),
        ("https://example.com", "example.com:8443", False),
        ("https://example.com", "example.com:443", True),
        ("https://10.1.2.3", "10.0.0.0/8", True),
        ("https://11.1.2.3", "10.0.0.0/8", False),
        ("https://10.1.2.3", "10.1.2.3", True),
        ("https://10.1.2.3:9000", "10.1.2.3:9000", True),
        ("https://10.1.2.3", "10.1.2.3:9000", False),
        ("https://[::1]:9000", "::1", True),
        ("https://[::1]:9000", "[::1]:9000", True),
        ("https://[2001:db8::5]", "2001:db8::/32", True),
        ("https://10.1.2.3", "example.com", False),
        ("https://example.com", "*", True),
        ("https://example.com", "https://example.com", True),
        ("https://example.com", "http://example.com", False),
        ("https://example.com", "", False),
    ],
)
def test_no_proxy_matching(host: str, no_proxy: str, direct: bool) -> None:
    assert proxy_for(host, {"HTTPS_PROXY": P, "NO_PROXY": no_proxy}) == (None if direct else P)


@pytest.mark.parametrize(
    ("host", "env", "expected"),
    [
        ("https://h.example", {"HTTPS_PROXY": P}, P),
        ("https://h.example", {"HTTP_PROXY": P}, None),
        ("http://h.example", {"HTTP_PROXY": P}, P),
        ("https://h.example", {"ALL_PROXY": P}, P),
        ("https://h.example", {"all_proxy": P, "HTTPS_PROXY": "http://p2:1"}, "http://p2:1"),
        ("https://h.example", {"https_proxy": P, "HTTPS_PROXY": "http://p2:1"}, P),
        ("https://h.example", {"https_proxy": " ", "HTTPS_PROXY": P}, P),
        ("https://h.example", {"HTTPS_PROXY": "proxy.example:3128"}, P),
        ("https://h.example", {"HTTPS_PROXY": P + "/"}, P),
        ("https://h.example", {"HTTPS_PROXY": P, "no_proxy": "h.example", "NO_PROXY": ""}, None),
        ("https://h.example", {"HTTPS_PROXY": P, "NO_PROXY": "h.example"}, None),
        # Behind CGI, HTTP_PROXY may be a request's "Proxy:" header (httpoxy).
        ("http://h.example", {"HTTP_PROXY": P, "REQUEST_METHOD": "GET"}, None),
        ("http://h.example", {"http_proxy": P, "REQUEST_METHOD": "GET"}, P),
    ],
)
def test_which_variable_is_used(host: str, env: dict[str, str], expected: str | None) -> None:
    assert proxy_for(host, env) == expected


def test_proxy_argument_wins_over_the_environment_and_no_proxy() -> None:
    env = {"HTTPS_PROXY": "http://p2:1", "NO_PROXY": "*"}
    assert proxy_for("https://h.example", env, proxy=P) == P
    assert proxy_for("https://h.example", env, proxy="") is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("socks5://u:pw@p:1080", "proxy socks5://u:***@p:1080 (from environment HTTPS_PROXY) "
         "must be an http or https URL; socks5 proxies are not supported"),
        ("http://p:notaport", "proxy http://p:notaport (from environment HTTPS_PROXY) "
         "is not a valid URL"),
        ("http://p:1/path", "proxy http://p:1/path (from environment HTTPS_PROXY) "
         "must be scheme://[user:password@]host[:port]"),
    ],
)  # fmt: skip
def test_a_wrong_proxy_is_a_configuration_error(value: str, message: str) -> None:
    with pytest.raises(tilecred.ConfigurationError) as caught:
        proxy_for("https://h.example", {"HTTPS_PROXY": value})
    assert str(caught.value) == message


def test_the_local_store_ignores_proxies(isolated: Path) -> None:
    settings = resolve_settings({}, {"HTTPS_PROXY": "socks5://p:1"})
    assert (settings.backend, settings.proxy) == ("local", None)


def test_describe_shows_the_proxy_masked_and_where_it_came_from() -> None:
    env = {"https_proxy": f"http://ada:{PROXY_PASSWORD}@p.example:3128", "no_proxy": "other"}
    settings = resolve_settings({"host": "h.example", "token": "t"}, env)
    shown = settings.describe()
    assert (shown["proxy"], shown["sources"]["proxy"]) == (
        "http://ada:***@p.example:3128",
        "environment https_proxy",
    )
    assert PROXY_PASSWORD not in repr(settings) + repr(settings.proxies) + repr(shown)
    bypassed = resolve_settings(
        {"host": "h.example", "token": "t"}, {**env, "no_proxy": "h.example"}
    )
    described = bypassed.describe()
    assert (described["proxy"], described["sources"]["proxy"]) == (
        "none",
        "environment no_proxy matches the host",
    )


def test_a_proxy_password_echoed_by_the_server_is_scrubbed(
    https: tuple[HTTPServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, cert_file = https
    pair = base64.b64encode(f"ada:{PROXY_PASSWORD}".encode()).decode()
    proxy = RecordingProxy(auth=f"Basic {pair}")
    monkeypatch.setenv("HTTPS_PROXY", f"http://ada:{PROXY_PASSWORD}@127.0.0.1:{proxy.port}")
    server.clear()
    server.expect_request(PATH).respond_with_json(
        {"message": f"bad proxy {PROXY_PASSWORD} / Basic {pair}", "request_id": "e1"}, status=400
    )
    try:
        with (
            https_client(server, cert_file) as c,
            pytest.raises(tilecred.CredentialsError) as caught,
        ):
            c.get_credential("c")
    finally:
        proxy.close()

    assert str(caught.value) == (
        "could not get credential 'c': 400 Bad Request: bad proxy *** / Basic *** (request id e1)"
    )
