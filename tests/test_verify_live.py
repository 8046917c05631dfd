"""verify_credential(name, live=True) on the local store: the library calls the
credential's own service, here real HTTP servers on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import json
import sys
from urllib.parse import parse_qsl

import pytest
from pytest_httpserver import HTTPServer

from tilecred import (
    ConfigurationError,
    CredentialsError,
    InvalidArgumentError,
    LiveVerification,
    VerificationFailedError,
    create_credential,
    get_credential,
    read_audit,
    use_credential,
    verify_credential,
)

from .conftest import CANARY_SECRET

# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _bearer(httpserver: HTTPServer, name: str = "api", **extra: str) -> None:
    token = {"token": CANARY_SECRET, "url": httpserver.url_for("/v1/me"), **extra}
    create_credential(name, "GENERIC", token={"bearer": token})


def _trail(name: str) -> list[tuple[str, str, str | None]]:
    return [(r.action, r.outcome, r.detail) for r in read_audit(credential=name)]


def test_a_bearer_token_is_verified_by_a_get_of_its_url(httpserver: HTTPServer) -> None:
    _bearer(httpserver)
    httpserver.expect_request("/v1/me", method="GET").respond_with_json({"user": "etl"})
    result = verify_credential("api", live=True)
    assert isinstance(result, LiveVerification)
    assert (result.name, result.call, result.identity) == ("api", "http:GET", None)
    assert result.endpoint == httpserver.url_for("/v1/me")
    assert result.elapsed >= 0
    [(request, _)] = httpserver.log
    assert request.headers["Authorization"] == f"Bearer {CANARY_SECRET}"
    assert request.get_data() == b""
    where = f"http:GET {httpserver.url_for('/v1/me')}"
    trail = _trail("api")
    assert [(a, o) for a, o, _ in trail] == [
        ("create", "ok"), ("verify.live", "ok"), ("outbound", "ok"),
    ]  # fmt: skip
    assert trail[-2][2] == where
    assert trail[-1][2] is not None
    assert trail[-1][2].startswith(f"{where}: accepted in ")


def test_a_bearer_token_with_a_header_name_sends_it_there(httpserver: HTTPServer) -> None:
    _bearer(httpserver, header="X-Api-Key")
    httpserver.expect_request("/v1/me").respond_with_data("", status=204)
    verify_credential("api", "GENERIC", live=True)
    [(request, _)] = httpserver.log
    assert request.headers["X-Api-Key"] == CANARY_SECRET
    assert "Authorization" not in request.headers


def test_a_refused_bearer_token_raises_the_services_code_and_words(
    httpserver: HTTPServer, capsys: pytest.CaptureFixture[str]
) -> None:
    _bearer(httpserver)
    httpserver.expect_request("/v1/me").respond_with_data(
        f"token {CANARY_SECRET} revoked", status=401
    )
    with pytest.raises(VerificationFailedError) as caught:
        verify_credential("api", live=True)
    exc = caught.value
    assert exc.code == "401"
    assert exc.status == 422
    where = httpserver.url_for("/v1/me")
    assert exc.message == (
        f"credential 'api' failed live verification at {where}: 401: token *** revoked"
    )
    assert CANARY_SECRET not in str(exc)
    trail = _trail("api")
    assert [(a, o) for a, o, _ in trail[-3:]] == [
        ("verify.live", "ok"), ("outbound", "failed"), ("verify.live", "failed"),
    ]  # fmt: skip
    assert all(CANARY_SECRET not in (detail or "") for _, _, detail in trail)
    assert CANARY_SECRET not in capsys.readouterr().out


def test_a_redirect_is_not_followed(httpserver: HTTPServer) -> None:
    _bearer(httpserver)
    httpserver.expect_request("/v1/me").respond_with_data(
        "", status=302, headers={"Location": "http://198.51.100.7/steal"}
    )
    with pytest.raises(VerificationFailedError, match=r": 302: \(no body\)$"):
        verify_credential("api", live=True)
    assert len(httpserver.log) == 1


def _oauth(httpserver: HTTPServer, **extra: object) -> None:
    create_credential("idp", "GENERIC", credential={"oauth": {
        "token_url": httpserver.url_for("/oauth/token"), "client_id": "etl-app",
        "client_secret": CANARY_SECRET, "scopes": ["read"], **extra}})  # fmt: skip


def test_an_oauth_client_is_verified_by_a_token_request(httpserver: HTTPServer) -> None:
    _oauth(httpserver)
    httpserver.expect_request("/oauth/token", method="POST").respond_with_json(
        {"access_token": "at-1", "expires_in": 3600}
    )
    result = verify_credential("idp", live=True)
    assert (result.call, result.identity) == ("oauth:token", "etl-app")
    [(request, _)] = httpserver.log
    assert dict(parse_qsl(request.get_data(as_text=True))) == {
        "grant_type": "client_credentials", "scope": "read",
    }  # fmt: skip


def test_a_refused_oauth_client_carries_the_endpoints_error_code(httpserver: HTTPServer) -> None:
    _oauth(httpserver)
    httpserver.expect_request("/oauth/token").respond_with_json(
        {"error": "invalid_client", "error_description": "unknown client"}, status=401
    )
    with pytest.raises(VerificationFailedError) as caught:
        verify_credential("idp", live=True)
    assert caught.value.code == "invalid_client"
    assert caught.value.message.endswith("refused (401): invalid_client: unknown client")


def test_a_refresh_token_the_endpoint_rotates_is_stored_back(httpserver: HTTPServer) -> None:
    _oauth(httpserver, refresh_token="rt-old-" + CANARY_SECRET)
    httpserver.expect_request("/oauth/token").respond_with_json(
        {"access_token": "at-1", "refresh_token": "rt-new-" + CANARY_SECRET}
    )
    create_credential("x", "GENERIC", allowed_in_tasks=True, credential={"basic": {
        "user": "u", "password": "p"}})  # fmt: skip
    verify_credential("idp", live=True)
    [(request, _)] = httpserver.log
    assert dict(parse_qsl(request.get_data(as_text=True)))["refresh_token"] == (
        "rt-old-" + CANARY_SECRET
    )
    updates = [r for r in read_audit(credential="idp") if r.action == "update"]
    assert [(u.outcome, u.detail) for u in updates] == [
        ("ok", "credential.oauth refresh_token rotated by the token endpoint")
    ]
    # The new one is what the next exchange sends.
    verify_credential("idp", live=True)
    second = httpserver.log[1][0]
    assert dict(parse_qsl(second.get_data(as_text=True)))["refresh_token"] == (
        "rt-new-" + CANARY_SECRET
    )


def test_a_credential_not_allowed_in_tasks_is_still_verified_live(
    httpserver: HTTPServer,
) -> None:
    # The secret goes to its own service, not to a task: the gate is use's.
    _bearer(httpserver)
    assert not get_credential("api").allowed_in_tasks
    httpserver.expect_request("/v1/me").respond_with_data("ok")
    verify_credential("api", live=True)
    with pytest.raises(Exception, match=r"allowed_in_tasks|allowed in tasks"):
        use_credential("api")


def test_kinds_without_a_live_check_say_so_before_anything_is_opened() -> None:
    create_credential("blobs", "AZURE", token={"azure_entra_id": {
        "blob_endpoint": "https://acct.blob.core.windows.net"}})  # fmt: skip
    with pytest.raises(ConfigurationError, match=r"\(AZURE azure_entra_id\) has no live"):
        verify_credential("blobs", live=True)
    # The attempt is recorded; no secret was opened for it (no "outbound" record).
    assert [(r.action, r.outcome) for r in read_audit(credential="blobs")] == [
        ("create", "ok"), ("verify.live", "failed"),
    ]  # fmt: skip


def test_live_arguments_are_checked_before_any_io(httpserver: HTTPServer) -> None:
    _bearer(httpserver)
    with pytest.raises(InvalidArgumentError, match="do not apply"):
        verify_credential("api", live=True, token={"bearer": {"token": "x"}})  # type: ignore[call-overload]
    with pytest.raises(InvalidArgumentError, match="is a GENERIC credential, not AWS"):
        verify_credential("api", "AWS", live=True)
    with pytest.raises(InvalidArgumentError, match="provider is required"):
        verify_credential("api")
    assert httpserver.log == []


def _unreachable_key() -> None:
    create_credential("keys", "AWS", credential={"aws": {
        "access_key_id": "AKIAEXAMPLE", "secret_access_key": CANARY_SECRET,
        "endpoint": "http://127.0.0.1:9"}})  # fmt: skip


def test_an_aws_key_without_botocore_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    _unreachable_key()
    # None in sys.modules makes the import fail, as where the aws extra is not installed.
    monkeypatch.setitem(sys.modules, "botocore", None)
    with pytest.raises(ConfigurationError) as caught:
        verify_credential("keys", live=True)
    assert caught.value.status == 501
    assert str(caught.value).endswith(
        "verifying an AWS credential live needs botocore: pip install 'tilecred[aws]'"
    )
    assert CANARY_SECRET not in str(caught.value)


def test_an_aws_key_at_an_unreachable_endpoint_is_a_clear_error() -> None:
    pytest.importorskip("botocore", reason="the aws extra: the services session has it")
    _unreachable_key()
    with pytest.raises(CredentialsError) as caught:
        verify_credential("keys", live=True)
    assert CANARY_SECRET not in str(caught.value)
    assert "127.0.0.1:9" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_cli_verifies_live_and_prints_who_the_service_says(httpserver: HTTPServer) -> None:
    from tests.test_cli_support import cli_env, run

    _oauth(httpserver)
    httpserver.expect_request("/oauth/token").respond_with_json({"access_token": "at-1"})
    env = cli_env()
    done = run(["verify", "idp", "--live"], env)
    assert (done.code, done.err) == (0, "")
    assert done.out.startswith(
        "credential 'idp' verified live as etl-app: oauth:token "
        f"{httpserver.url_for('/oauth/token')} answered in "
    )
    shown = json.loads(run(["verify", "idp", "--live", "--json"], env).out)
    assert sorted(shown) == ["call", "elapsed", "endpoint", "identity", "name"]
    assert shown["identity"] == "etl-app"


def test_the_cli_prints_the_services_refusal_and_exits_1(httpserver: HTTPServer) -> None:
    from tests.test_cli_support import cli_env, run

    _oauth(httpserver)
    httpserver.expect_request("/oauth/token").respond_with_json(
        {"error": "invalid_client", "error_description": "client disabled"}, status=401
    )
    env = cli_env()
    done = run(["verify", "idp", "--live"], env)
    assert done.code == 1
    assert done.out == ""
    assert "invalid_client: client disabled" in done.err
    assert CANARY_SECRET not in done.err
    misuse = run(["verify", "idp", "--live", "--default"], env)
    assert (misuse.code, misuse.err.strip().splitlines()[-1]) == (
        2,
        "tilecred verify: error: --default does not apply to --live: it verifies the stored secret",
    )  # fmt: skip
    assert len(httpserver.log) == 1
