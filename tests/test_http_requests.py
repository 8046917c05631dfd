"""The six functions over HTTP: exactly what goes on the wire, and what comes back.

Each test runs twice: on a :class:`tilecred.Client`, and on the module
functions after :func:`tilecred.configure`.
"""

from __future__ import annotations

import base64
import collections
import datetime
import gzip
import json
import logging
import secrets
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import urllib3
from pytest_httpserver import HTTPServer
from urllib3.exceptions import InsecureRequestWarning
from werkzeug import Response

import tilecred
from tests._http_helpers import (
    ARN,
    WORKSPACE,
    base_url,
    credential_json,
    make_client,
    seen,
    teamspace_json,
    workspace_json,
)
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred._config import Settings
from tilecred._remote import HttpBackend

Q = collections.Counter
CREDENTIALS = f"/v4/credentials/{WORKSPACE}"
USER_AGENT = f"tilecred/{tilecred.__version__}"
UTC = datetime.UTC


@pytest.fixture(params=["client", "module"])
def api(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Iterator[Any]:
    """Something with the six functions: a Client, or the tilecred module."""
    if request.param == "client":
        with make_client(httpserver) as client:
            yield client
    else:
        tilecred.configure(host=base_url(httpserver), token=CANARY_TOKEN, workspace=WORKSPACE)
        yield tilecred


def assert_token_auth(headers: dict[str, str], *, json_body: bool) -> None:
    assert headers["x-tiledb-rest-api-key"] == CANARY_TOKEN
    assert "authorization" not in headers
    assert headers["user-agent"] == USER_AGENT
    assert headers.get("content-type") == ("application/json" if json_body else None)


def expected_credential(name: str = "prod-s3") -> tilecred.AccessCredential:
    return tilecred.AccessCredential(
        credential_type=tilecred.CredentialType.WORKSPACE,
        id=f"cred_{name}",
        name=name,
        provider=tilecred.CloudProvider.AWS,
        provider_default=True,
        created_at=datetime.datetime(2026, 11, 1, 10, 0, tzinfo=UTC),
        updated_at=datetime.datetime(2026, 11, 2, 10, 0, tzinfo=UTC),
        allowed_in_tasks=False,
        role=tilecred.AccessCredentialRole(aws=tilecred.AWSRole(role_arn=ARN)),
    )


# -- create -----------------------------------------------------------------------


def test_create_sends_every_given_argument(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)

    result = api.create_credential(
        "prod s3 100%",
        "aws",
        teamspace="ts_abc",
        provider_default=True,
        allowed_in_tasks=False,
        credential={
            "aws": {
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": CANARY_SECRET,
                "endpoint": "https://s3.example.com",
                "use_path_style": True,
            }
        },
    )

    assert result is None
    [request] = seen(httpserver)
    assert (request.method, request.path) == ("POST", CREDENTIALS)
    assert request.query == Q({("teamspace_id", "ts_abc"): 1})
    assert request.json() == {
        "name": "prod s3 100%",
        "provider": "AWS",
        "provider_default": True,
        "allowed_in_tasks": False,
        "credential": {
            "aws": {
                "access_key_id": "AKIAIOSFODNN7EXAMPLE",
                "secret_access_key": CANARY_SECRET,
                "endpoint": "https://s3.example.com",
                "use_path_style": True,
            }
        },
    }
    assert_token_auth(request.headers, json_body=True)


def test_create_sends_nothing_that_was_not_given(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("", status=201)

    api.create_credential(
        "n",
        tilecred.CloudProvider.AWS,
        role=tilecred.AccessCredentialRole(aws=tilecred.AWSRole(role_arn=ARN)),
    )

    [request] = seen(httpserver)
    assert request.query == Q()
    assert request.json() == {"name": "n", "provider": "AWS", "role": {"aws": {"role_arn": ARN}}}


def test_create_accepts_any_2xx_with_any_body(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data("not json", status=200)

    api.create_credential("n", "AWS", role={"aws": {"role_arn": ARN}})

    assert len(seen(httpserver)) == 1


@pytest.mark.parametrize("call", ["create", "update", "verify"])
def test_secret_that_cannot_be_encoded_sends_nothing(
    api: Any, httpserver: HTTPServer, call: str
) -> None:
    token = {"snowflake": {"user": "u", "private_key_raw": CANARY_SECRET + "\ud800"}}

    function = getattr(api, f"{call}_credential")
    args = ("c",) if call == "update" else ("c", "SNOWFLAKE")

    with pytest.raises(tilecred.InvalidArgumentError) as caught:
        function(*args, teamspace="ml", token=token)

    # Rejected by the argument checks, before any lookup or request.
    assert str(caught.value) == (
        "invalid token: String contains a lone surrogate - at `$.snowflake.private_key_raw`"
    )
    assert seen(httpserver) == []


def test_backend_refuses_a_body_it_cannot_encode(httpserver: HTTPServer) -> None:
    # The argument checks catch this first; the backend still never sends it.
    backend = HttpBackend(
        Settings(backend="http", host=base_url(httpserver), token=CANARY_TOKEN, workspace=WORKSPACE)
    )
    key = tilecred.SnowflakeServiceUserKey(private_key_raw=CANARY_SECRET + "\ud800")
    request = tilecred.CredentialCreateRequest(
        name="c", provider=tilecred.CloudProvider.SNOWFLAKE, token=tilecred.Token(snowflake=key)
    )

    with pytest.raises(tilecred.InvalidArgumentError) as caught:
        backend.create(request, "ml")

    assert str(caught.value) == (
        "the request cannot be sent as JSON: 'utf-8' codec can't encode character '\\ud800' "
        "in position 22: surrogates not allowed"
    )
    assert seen(httpserver) == []
    backend.close()


# -- get --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "encoded"),
    [("prod-s3", "prod-s3"), ("a b%c", "a%20b%25c"), ("ünï?#&=+", "%C3%BCn%C3%AF%3F%23%26%3D%2B")],
)
def test_get_percent_encodes_the_name(
    api: Any, httpserver: HTTPServer, name: str, encoded: str
) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/{name}", method="GET").respond_with_json(
        {"data": credential_json(name)}
    )

    result = api.get_credential(name)

    assert result == expected_credential(name)
    [request] = seen(httpserver)
    assert (request.method, request.path) == ("GET", f"{CREDENTIALS}/{encoded}")
    assert request.query == Q()
    assert request.body == b""
    assert_token_auth(request.headers, json_body=False)


def test_get_in_a_teamspace_by_id(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json({"data": credential_json("c")})

    api.get_credential("c", teamspace="ts_42")

    [request] = seen(httpserver)
    assert request.query == Q({("teamspace_id", "ts_42"): 1})


def test_get_turns_empty_secret_fields_into_none(api: Any, httpserver: HTTPServer) -> None:
    body = credential_json(
        "k",
        role=None,
        credential={"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": ""}},
    )
    httpserver.expect_request(f"{CREDENTIALS}/k").respond_with_json({"data": body})

    result = api.get_credential("k")

    assert result.credential == tilecred.Credential(
        aws=tilecred.AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=None)
    )


# -- list -------------------------------------------------------------------------


def test_list_sends_every_filter(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS, method="GET").respond_with_json(
        {
            "data": [credential_json("a")],
            "pagination_metadata": {"page": 2, "per_page": 5, "total_pages": 2, "total_items": 6},
        }
    )

    pager = api.list_credentials(
        "ts_x",
        2,
        5,
        provider=["AWS", "gcp"],
        exclude_provider="azure",
        credential_type="teamspace",
        verify=True,
    )
    items = list(pager)

    assert items == [expected_credential("a")]
    [request] = seen(httpserver)
    assert (request.method, request.path) == ("GET", CREDENTIALS)
    assert request.query == Q(
        {
            ("teamspace_id", "ts_x"): 1,
            ("provider", "AWS"): 1,
            ("provider", "GCP"): 1,
            ("excl_provider", "AZURE"): 1,
            ("type", "teamspace"): 1,
            ("verify", "True"): 1,
            ("page", "2"): 1,
            ("per_page", "5"): 1,
        }
    )
    assert_token_auth(request.headers, json_body=False)


def test_list_sends_verify_false_and_repeated_exclusions(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_json({"data": []})

    assert list(api.list_credentials(exclude_provider=["AWS", "AZURE"], verify=False)) == []

    [request] = seen(httpserver)
    assert request.query == Q(
        {
            ("excl_provider", "AWS"): 1,
            ("excl_provider", "AZURE"): 1,
            ("verify", "False"): 1,
            ("page", "1"): 1,
        }
    )


def test_list_with_no_filters_sends_only_the_page(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_json({"data": [credential_json("a")]})

    assert [c.name for c in api.list_credentials()] == ["a"]

    [request] = seen(httpserver)
    assert request.query == Q({("page", "1"): 1})


# -- update -----------------------------------------------------------------------


def test_update_sends_every_given_argument(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/old name", method="PATCH").respond_with_data(
        "", status=204
    )

    result = api.update_credential(
        "old name",
        teamspace="ts_1",
        name="new name",
        provider_default=False,
        provider="azure",
        allowed_in_tasks=False,
        token={"azure": {"account_name": "lake", "sas_token": CANARY_SECRET}},
    )

    assert result is None
    [request] = seen(httpserver)
    assert (request.method, request.path) == ("PATCH", f"{CREDENTIALS}/old%20name")
    assert request.query == Q({("teamspace_id", "ts_1"): 1})
    assert request.json() == {
        "name": "new name",
        "provider_default": False,
        "provider": "AZURE",
        "allowed_in_tasks": False,
        "token": {"azure": {"account_name": "lake", "sas_token": CANARY_SECRET}},
    }
    assert_token_auth(request.headers, json_body=True)


def test_update_sends_only_the_one_change(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c", method="PATCH").respond_with_data("")

    api.update_credential("c", allowed_in_tasks=False)

    [request] = seen(httpserver)
    assert request.query == Q()
    assert request.json() == {"allowed_in_tasks": False}


# -- delete -----------------------------------------------------------------------


def test_delete_sends_exact_request(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/a b", method="DELETE").respond_with_data(
        "", status=204
    )

    assert api.delete_credential("a b", teamspace="ts_9") is None

    [request] = seen(httpserver)
    assert (request.method, request.path) == ("DELETE", f"{CREDENTIALS}/a%20b")
    assert request.query == Q({("teamspace_id", "ts_9"): 1})
    assert request.body == b""
    assert_token_auth(request.headers, json_body=False)


# -- verify -----------------------------------------------------------------------

VERIFY = "/v4/actions/credentials/verify"
SNOWFLAKE = {"account": "acme", "user": "svc", "private_key_raw": CANARY_SECRET}


def test_verify_puts_workspace_and_teamspace_in_the_body(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(VERIFY, method="POST").respond_with_data("", status=204)

    result = api.verify_credential(
        "snow",
        "snowflake",
        teamspace="ts_7",
        provider_default=False,
        allowed_in_tasks=False,
        token={"snowflake": SNOWFLAKE},
    )

    assert result is None
    [request] = seen(httpserver)
    assert (request.method, request.path) == ("POST", VERIFY)
    assert request.query == Q()
    assert request.json() == {
        "name": "snow",
        "provider": "SNOWFLAKE",
        "provider_default": False,
        "allowed_in_tasks": False,
        "token": {"snowflake": SNOWFLAKE},
        "workspace_id": WORKSPACE,
        "teamspace_id": "ts_7",
    }
    assert_token_auth(request.headers, json_body=True)


def test_verify_at_workspace_level_sends_no_teamspace(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(VERIFY, method="POST").respond_with_data("")

    api.verify_credential("r", "AWS", role={"aws": {"role_arn": ARN}})

    [request] = seen(httpserver)
    assert request.json() == {
        "name": "r",
        "provider": "AWS",
        "role": {"aws": {"role_arn": ARN}},
        "workspace_id": WORKSPACE,
    }


# -- teamspaces and workspaces by name ------------------------------------------------


def test_teamspace_name_is_looked_up_once(api: Any, httpserver: HTTPServer) -> None:
    lookup = f"/v4/teamspaces/{WORKSPACE}/ml team"
    httpserver.expect_request(lookup).respond_with_json(teamspace_json("ml team", "ts_ml"))
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json({"data": credential_json("c")})
    httpserver.expect_request(f"{CREDENTIALS}/c", method="DELETE").respond_with_data("")

    api.get_credential("c", teamspace="ml team")
    api.delete_credential("c", teamspace="ml team")

    requests = seen(httpserver)
    assert [(r.method, r.path) for r in requests] == [
        ("GET", f"/v4/teamspaces/{WORKSPACE}/ml%20team"),
        ("GET", f"{CREDENTIALS}/c"),
        ("DELETE", f"{CREDENTIALS}/c"),
    ]
    assert requests[0].query == Q()
    assert_token_auth(requests[0].headers, json_body=False)
    assert requests[1].query == requests[2].query == Q({("teamspace_id", "ts_ml"): 1})


def test_teamspace_object_gives_its_id(api: Any, httpserver: HTTPServer) -> None:
    class Team:
        teamspace_id = "ts_obj"

    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json({"data": credential_json("c")})

    api.get_credential("c", teamspace=Team())

    [request] = seen(httpserver)
    assert request.query == Q({("teamspace_id", "ts_obj"): 1})


def test_teamspace_name_in_verify_body_is_the_id(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/v4/teamspaces/{WORKSPACE}/ml").respond_with_json(
        teamspace_json("ml", "ts_ml")
    )
    httpserver.expect_request(VERIFY, method="POST").respond_with_data("")

    api.verify_credential("r", "AWS", teamspace="ml", role={"aws": {"role_arn": ARN}})

    lookup, verify = seen(httpserver)
    assert lookup.path == f"/v4/teamspaces/{WORKSPACE}/ml"
    assert verify.json()["teamspace_id"] == "ts_ml"


def test_unknown_teamspace_is_not_found_and_nothing_else_is_sent(
    api: Any, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(f"/v4/teamspaces/{WORKSPACE}/nope").respond_with_json(
        {"code": 404, "message": "teamspace not found", "request_id": "r-404"}, status=404
    )

    with pytest.raises(tilecred.NotFoundError) as caught:
        api.get_credential("c", teamspace="nope")

    assert str(caught.value) == (
        "could not get credential 'c' in teamspace 'nope': 404 Not Found: "
        "teamspace 'nope' not found (request id r-404)"
    )
    assert caught.value.teamspace == "nope"
    assert [r.path for r in seen(httpserver)] == [f"/v4/teamspaces/{WORKSPACE}/nope"]


def test_workspace_name_is_looked_up_once(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/workspaces/my ws").respond_with_json(
        workspace_json("my ws", "ws_resolved")
    )
    httpserver.expect_request("/v4/credentials/ws_resolved/c").respond_with_json(
        {"data": credential_json("c")}
    )
    httpserver.expect_request(VERIFY, method="POST").respond_with_data("")

    with make_client(httpserver, workspace="my ws") as client:
        client.get_credential("c")
        client.get_credential("c")
        client.verify_credential("r", "AWS", role={"aws": {"role_arn": ARN}})

    requests = seen(httpserver)
    assert [(r.method, r.path) for r in requests] == [
        ("GET", "/v4/workspaces/my%20ws"),
        ("GET", "/v4/credentials/ws_resolved/c"),
        ("GET", "/v4/credentials/ws_resolved/c"),
        ("POST", VERIFY),
    ]
    assert requests[-1].json()["workspace_id"] == "ws_resolved"


def test_unknown_workspace_is_not_found(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/workspaces/ghost").respond_with_json(
        {"code": 404, "message": "no such workspace", "request_id": "r-1"}, status=404
    )

    with (
        make_client(httpserver, workspace="ghost") as client,
        pytest.raises(tilecred.NotFoundError) as caught,
    ):
        client.delete_credential("c")

    assert str(caught.value) == (
        "could not delete credential 'c': 404 Not Found: workspace 'ghost' not found "
        "(request id r-1)"
    )
    assert len(seen(httpserver)) == 1


# -- auth -------------------------------------------------------------------------


def test_basic_auth_when_no_token(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_json({"data": credential_json("c")})

    with tilecred.Client(
        host=base_url(httpserver), username="ada", password=CANARY_SECRET, workspace=WORKSPACE
    ) as client:
        client.get_credential("c")

    [request] = seen(httpserver)
    expected = base64.b64encode(f"ada:{CANARY_SECRET}".encode()).decode()
    assert request.headers["authorization"] == f"Basic {expected}"
    assert "x-tiledb-rest-api-key" not in request.headers
    assert request.headers["user-agent"] == USER_AGENT


def test_host_path_prefix_is_kept(httpserver: HTTPServer) -> None:
    httpserver.expect_request(f"/prefix{CREDENTIALS}/c").respond_with_json(
        {"data": credential_json("c")}
    )

    with tilecred.Client(
        host=base_url(httpserver) + "/prefix/", token=CANARY_TOKEN, workspace=WORKSPACE
    ) as client:
        client.get_credential("c")

    assert [r.path for r in seen(httpserver)] == [f"/prefix{CREDENTIALS}/c"]


# -- logging ----------------------------------------------------------------------


def test_debug_log_has_method_path_status_request_id_and_time(
    api: Any, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request(CREDENTIALS, method="POST").respond_with_data(
        "", status=201, headers={"X-Request-Id": "req-77"}
    )
    caplog.set_level(logging.DEBUG, logger="tilecred")

    api.create_credential(
        "c",
        "AWS",
        credential={"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}},
    )

    lines = [r.getMessage() for r in caplog.records if r.name == "tilecred"]
    [line] = [x for x in lines if x.startswith("POST")]
    assert line.startswith(f"POST {CREDENTIALS} -> 201 in ")
    assert line.endswith(" ms (request id req-77)")
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "tilecred")
    for text in lines:
        assert CANARY_TOKEN not in text
        assert CANARY_SECRET not in text


# -- TLS --------------------------------------------------------------------------


def tls_client(server: HTTPServer, **settings: Any) -> tilecred.Client:
    return tilecred.Client(
        host=f"https://127.0.0.1:{server.port}",
        token=CANARY_TOKEN,
        workspace=WORKSPACE,
        retries=0,
        **settings,
    )


def test_tls_certificate_is_verified(tls_server: tuple[HTTPServer, str]) -> None:
    server, _ = tls_server
    server.clear()

    with tls_client(server) as client, pytest.raises(tilecred.CredentialsError) as caught:
        client.get_credential("c")

    assert str(caught.value).startswith(
        f"could not get credential 'c': TLS failure talking to https://127.0.0.1:{server.port}: "
    )
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert server.log == []


@pytest.mark.parametrize("how", ["ca_file", "verify_ssl=False"])
def test_tls_with_ca_file_or_verification_off(tls_server: tuple[HTTPServer, str], how: str) -> None:
    server, cert_file = tls_server
    server.clear()
    server.expect_request(f"{CREDENTIALS}/c").respond_with_json({"data": credential_json("c")})
    settings: dict[str, Any] = {"ca_file": cert_file} if how == "ca_file" else {"verify_ssl": False}

    with warnings.catch_warnings(record=True) as caught, tls_client(server, **settings) as client:
        warnings.simplefilter("always")
        assert client.get_credential("c") == expected_credential("c")

    # Verification off is said once, by tilecred; a CA file raises no warning.
    assert len(caught) == (0 if how == "ca_file" else 1)

    [request] = seen(server)
    assert request.headers["x-tiledb-rest-api-key"] == CANARY_TOKEN


def test_verification_off_warns_once_and_quiets_urllib3_for_that_host_only(
    tls_server: tuple[HTTPServer, str],
) -> None:
    server, _ = tls_server
    server.clear()
    server.expect_request(f"{CREDENTIALS}/c").respond_with_json({"data": credential_json("c")})

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with tls_client(server, verify_ssl=False) as client:
            for _ in range(3):
                client.get_credential("c")
        ours = [(w.category, str(w.message)) for w in caught]
        # Another host (the same server by name) verified by no one: urllib3
        # still warns about it, as it would without tilecred.
        other = urllib3.PoolManager(cert_reqs="CERT_NONE")
        other.request("GET", f"https://localhost:{server.port}{CREDENTIALS}/c", retries=False)
        other.clear()
        theirs = [(w.category, str(w.message)) for w in caught[len(ours) :]]

    unverified = "TLS certificates of 127.0.0.1 are not verified: verify_ssl is off"
    assert ours == [(InsecureRequestWarning, unverified)]
    assert len(seen(server)) == 4
    assert [(category, text.split(". ")[0]) for category, text in theirs] == [
        (InsecureRequestWarning, "Unverified HTTPS request is being made to host 'localhost'")
    ]


@pytest.mark.parametrize("chunked", [False, True], ids=["length", "chunked"])
def test_a_gzip_encoded_answer_is_read_whole(httpserver: HTTPServer, chunked: bool) -> None:
    # Large and random enough to arrive in several reads, compressed or not.
    noise = secrets.token_hex(200_000)
    packed = gzip.compress(json.dumps({"data": credential_json("c", noise=noise)}).encode())
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}

    def pieces() -> Iterator[bytes]:
        yield from (packed[i : i + 997] for i in range(0, len(packed), 997))

    httpserver.expect_request(f"{CREDENTIALS}/c").respond_with_response(
        Response(pieces() if chunked else packed, headers=headers)
    )

    with make_client(httpserver) as client:
        assert client.get_credential("c") == expected_credential("c")
    [request] = seen(httpserver)
    assert request.path == f"{CREDENTIALS}/c"
