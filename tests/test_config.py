"""Configuration: explicit > environment > TileDB profile > defaults, key by key."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

import tilecred
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred import Client, ConfigurationError, Settings
from tilecred._config import DEFAULT_HOST, mask_token, workspace_from_token

BOUND = "tc-ws_abc123-SECRETPART"


def _profiles(isolated: Path, profiles: dict[str, Any] | str) -> Path:
    """Write a TileDB profiles file where the isolated environment looks for it."""
    directory = isolated / "tiledb-profiles"
    directory.mkdir(exist_ok=True)
    path = directory / "profiles.json"
    text = profiles if isinstance(profiles, str) else json.dumps({**profiles, "version": 1})
    path.write_text(text)
    return path


def _settings(**explicit: Any) -> Settings:
    return Client(**explicit).settings


# -- nothing configured -----------------------------------------------------------


def test_nothing_configured_means_the_local_store(isolated: Path) -> None:
    settings = _settings()
    assert settings.backend == "local"
    assert settings.home == isolated / "tilecred-home"
    assert settings.host is None
    assert settings.token is None
    assert settings.workspace == "default"
    assert dict(settings.sources) == {
        "home": "environment TILECRED_HOME",
        "workspace": "default",
    }
    assert settings.describe() == {
        "backend": "local",
        "home": str(isolated / "tilecred-home"),
        "workspace": "default",
        "sources": {"home": "environment TILECRED_HOME", "workspace": "default"},
    }


def test_local_store_defaults_to_the_user_data_dir(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TILECRED_HOME")
    settings = _settings()
    assert settings.home == isolated / "xdg-data" / "tilecred"
    assert settings.sources["home"] == "default"


def test_local_or_home_wins_over_a_configured_host(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILEDB_REST_SERVER_ADDRESS", "https://api.example.com")
    assert _settings(local=True).backend == "local"
    settings = _settings(home=isolated / "elsewhere")
    assert (settings.backend, settings.home) == ("local", isolated / "elsewhere")
    assert _settings().backend == "http"


# -- precedence, key by key ---------------------------------------------------------


def test_explicit_then_environment_then_profile_key_by_key(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _profiles(
        isolated,
        {
            "default": {
                "rest.server_address": "https://profile.example.com",
                "rest.token": "profile-token",
                "rest.workspace": "profile-ws",
                "rest.username": "profile-user",
                "rest.verify_ssl": "true",
            }
        },
    )
    monkeypatch.setenv("TILEDB_REST_TOKEN", "env-token")
    monkeypatch.setenv("TILEDB_REST_VERIFY_SSL", "false")
    settings = _settings(workspace="explicit-ws")
    label = f"profile default in {path}"
    assert (settings.backend, settings.host, settings.token) == (
        "http",
        "https://profile.example.com",
        "env-token",
    )
    assert (settings.workspace, settings.username, settings.verify_ssl) == (
        "explicit-ws",
        "profile-user",
        False,
    )
    assert dict(settings.sources) == {
        "host": label,
        "token": "environment TILEDB_REST_TOKEN",
        "workspace": "argument",
        "username": label,
        "verify_ssl": "environment TILEDB_REST_VERIFY_SSL",
        "home": "environment TILECRED_HOME",
    }
    assert settings.profile_path == path


def test_an_empty_environment_value_counts_as_set(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profiles(
        isolated,
        {
            "default": {
                "rest.server_address": "https://profile.example.com",
                "rest.token": "profile-token",
                "rest.workspace": "profile-ws",
            }
        },
    )
    monkeypatch.setenv("TILEDB_REST_WORKSPACE", "")
    monkeypatch.setenv("TILEDB_REST_TOKEN", "")
    settings = _settings()
    assert (settings.host, settings.token, settings.workspace) == (
        "https://profile.example.com",
        None,
        None,
    )
    assert settings.sources["token"] == "environment TILEDB_REST_TOKEN"
    # With the host emptied too, nothing remote is left: the local store.
    monkeypatch.setenv("TILEDB_REST_SERVER_ADDRESS", "")
    assert _settings().backend == "local"


def test_named_profile_from_environment_or_argument(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _profiles(
        isolated,
        {
            "default": {"rest.server_address": "default.example.com"},
            "staging": {"rest.server_address": "staging.example.com"},
            "prod": {"rest.server_address": "prod.example.com"},
        },
    )
    assert _settings().host == "https://default.example.com"
    monkeypatch.setenv("TILEDB_PROFILE_NAME", "staging")
    assert _settings().host == "https://staging.example.com"
    settings = _settings(profile="prod")
    assert (settings.host, settings.profile) == ("https://prod.example.com", "prod")


def test_profile_dir_defaults_to_dot_tiledb_in_home(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TILEDB_PROFILE_DIR")
    monkeypatch.setenv("HOME", str(isolated / "home"))
    (isolated / "home" / ".tiledb").mkdir(parents=True)
    (isolated / "home" / ".tiledb" / "profiles.json").write_text(
        json.dumps({"default": {"rest.token": "t"}, "version": 1})
    )
    settings = _settings()
    assert (settings.host, settings.token) == (DEFAULT_HOST, "t")
    assert settings.profile_path == isolated / "home" / ".tiledb" / "profiles.json"


# -- workspace and host rules -------------------------------------------------------


def test_workspace_comes_from_a_bound_token_unless_given_explicitly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TILEDB_REST_WORKSPACE", "named-ws")
    monkeypatch.setenv("TILEDB_REST_TOKEN", BOUND)
    settings = _settings()
    assert settings.workspace == "ws_abc123"
    assert settings.sources["workspace"] == "environment TILEDB_REST_TOKEN (bound token)"
    assert _settings(workspace="mine").workspace == "mine"
    assert _settings(token="plain-token").workspace == "named-ws"


@pytest.mark.parametrize(
    ("token", "workspace"),
    [
        (BOUND, "ws_abc123"),
        ("tiledb-ws_x-s", "ws_x"),
        ("tc-ws_abc-sec-ret", None),  # four parts
        ("ws_abc-secret", None),  # two parts
        ("tc-abc-secret", None),  # middle part is no workspace id
        ("tc-ws_abc-", None),  # empty secret
        ("", None),
        (None, None),
    ],
)
def test_workspace_from_token(token: str | None, workspace: str | None) -> None:
    assert workspace_from_token(token) == workspace


def test_a_token_without_a_host_targets_tiledb(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILEDB_REST_TOKEN", "t0ken")
    settings = _settings()
    assert (settings.backend, settings.host) == ("http", "https://api.tiledb.com")
    assert settings.sources["host"] == "default (no host configured)"
    user = _settings(token=None, username="me")  # username alone is remote too
    assert user.host == "https://api.tiledb.com"


@pytest.mark.parametrize(
    ("given", "host"),
    [
        ("api.example.com", "https://api.example.com"),
        ("api.example.com/", "https://api.example.com"),
        ("http://127.0.0.1:8080//", "http://127.0.0.1:8080"),
        ("  https://api.example.com/  ", "https://api.example.com"),
        ("HTTPS://Api.Example.com", "HTTPS://Api.Example.com"),
        ("localhost:8080", "https://localhost:8080"),
    ],
)
def test_host_normalization(given: str, host: str) -> None:
    assert _settings(host=given).host == host


@pytest.mark.parametrize("given", ["ftp://files.example.com", "https://", "http:///path", "/"])
def test_a_host_that_is_no_http_url_is_refused(given: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(host=f" {given} ")
    assert str(info.value) == f"host must be an http or https URL, not {given!r}"


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ("api.example.com:99999", "Port out of range 0-65535"),
        ("http://[::1]:port", "Port could not be cast to integer value as 'port'"),
        ("https://[::1", "Invalid IPv6 URL"),
    ],
)
def test_a_host_that_does_not_parse_is_refused(given: str, why: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(host=given)
    assert str(info.value) == f"host {given!r} is not a valid URL: {why}"


def test_a_host_with_credentials_in_it_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(host=f"https://me:{CANARY_TOKEN}@api.example.com/")
    assert str(info.value) == ("host must not carry user or password; use username and password")
    assert _settings(host="https://api.example.com/a@b").host == "https://api.example.com/a@b"


@pytest.mark.parametrize(
    "given",
    [
        f"ftp://alice:{CANARY_TOKEN}@host",
        f"alice:{CANARY_TOKEN}@host",
        f"ftp:alice:{CANARY_TOKEN}@host",
        f"https://alice:{CANARY_TOKEN}@host?q#f",
    ],
)
def test_credentials_in_a_host_are_refused_before_the_scheme_is_checked(given: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(host=given)
    assert str(info.value) == "host must not carry user or password; use username and password"


HIDDEN = "the one given (not shown: it has an '@')"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (f"http:///alice:{CANARY_TOKEN}@host", f"host must be an http or https URL, not {HIDDEN}"),
        (
            f"api.example.com:99999/{CANARY_TOKEN}@x",
            f"host {HIDDEN} is not a valid URL: Port out of range 0-65535",
        ),
    ],
)
def test_a_bad_host_with_an_at_sign_is_never_quoted(given: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(host=given)
    assert str(info.value) == message
    assert CANARY_TOKEN not in str(info.value)


def test_blank_host_counts_as_set_to_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILEDB_REST_SERVER_ADDRESS", "   ")
    assert _settings().backend == "local"
    assert _settings(token="t").host == DEFAULT_HOST


# -- TLS -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "explicit", "verify"),
    [
        (None, None, True),
        ("false", None, False),
        ("False", None, False),
        ("true", None, True),
        ("", None, True),
        ("false", True, True),
        (None, False, False),
        (None, "false", False),
    ],
)
def test_verify_ssl(
    monkeypatch: pytest.MonkeyPatch, env: str | None, explicit: Any, verify: bool
) -> None:
    if env is not None:
        monkeypatch.setenv("TILEDB_REST_VERIFY_SSL", env)
    assert _settings(host="h.example.com", verify_ssl=explicit).verify_ssl is verify


def test_verify_ssl_false_from_profile(isolated: Path) -> None:
    _profiles(isolated, {"default": {"rest.token": "t", "rest.verify_ssl": "false"}})
    assert _settings().verify_ssl is False


def test_ca_file_from_environment_and_profile(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = isolated / "ca.pem"
    bundle.write_text("not checked here")
    _profiles(isolated, {"default": {"rest.token": "t", "ssl.ca_file": str(bundle)}})
    assert _settings().ca_file == str(bundle)
    monkeypatch.setenv("TILEDB_SSL_CA_FILE", str(isolated / "missing.pem"))
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == (
        f"ca_file {str(isolated / 'missing.pem')!r} (from environment TILEDB_SSL_CA_FILE) "
        "is not a file"
    )
    # A CA bundle set for other tools does not stop the local store.
    assert _settings(local=True).backend == "local"


# -- unreadable configuration: one line, what and where ------------------------------


def test_malformed_profile_file(isolated: Path) -> None:
    path = _profiles(isolated, "{not json")
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == (
        f"cannot read profile file {path}: JSON is malformed: object keys must be strings (byte 1)"
    )


def test_profile_file_of_the_wrong_shape(isolated: Path) -> None:
    path = _profiles(isolated, "[1, 2]")
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == f"cannot read profile file {path}: Expected `object`, got `array`"


def test_profile_with_a_value_that_is_not_a_string(isolated: Path) -> None:
    path = _profiles(isolated, {"default": {"rest.verify_ssl": False}})
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == f"profile 'default' in {path} must map keys to strings"


def test_unreadable_profile_file(isolated: Path) -> None:
    path = isolated / "tiledb-profiles" / "profiles.json"
    path.mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == f"cannot read profile file {path}: Is a directory"


def test_empty_profile_file_holds_no_profiles(isolated: Path) -> None:
    path = _profiles(isolated, "")
    assert _settings().backend == "local"
    with pytest.raises(ConfigurationError) as info:
        _settings(profile="x")
    assert str(info.value) == f"profile 'x' not found in {path}"


def test_missing_named_profile(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = isolated / "tiledb-profiles" / "profiles.json"
    monkeypatch.setenv("TILEDB_PROFILE_NAME", "staging")
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == f"profile 'staging' not found: {path} does not exist"
    _profiles(isolated, {"default": {"rest.token": "t"}})
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == f"profile 'staging' not found in {path}"


def test_a_missing_default_profile_is_no_error(isolated: Path) -> None:
    _profiles(isolated, {"other": {"rest.token": "t"}})
    assert _settings().backend == "local"


def test_configuration_errors_surface_on_configure_on_client_and_on_first_call(
    isolated: Path,
) -> None:
    path = _profiles(isolated, "{not json")
    reason = (
        f"cannot read profile file {path}: JSON is malformed: object keys must be strings (byte 1)"
    )
    with pytest.raises(ConfigurationError) as configured:
        tilecred.configure()
    with pytest.raises(ConfigurationError) as built:
        Client()  # checked when built, not on the first call
    # The default client is built on the first call, so that call says it.
    with pytest.raises(ConfigurationError) as called:
        tilecred.get_credential("lake")
    assert [str(e.value) for e in (configured, built, called)] == [reason] * 3
    assert isinstance(built.value.__cause__, Exception)


# -- timeout, retries and argument types ----------------------------------------------


def test_timeout_and_retries_defaults_and_values() -> None:
    for settings in (_settings(), _settings(host="h.example.com")):
        assert (settings.timeout, settings.retries) == (30.0, 3)
    settings = _settings(host="h.example.com", timeout=5, retries=0)
    assert (settings.timeout, settings.retries) == (5.0, 0)
    assert isinstance(settings.timeout, float)
    assert _settings(local=True, timeout=0.5).timeout == 0.5


@pytest.mark.parametrize("timeout", [0, -1, math.nan, math.inf, True, "5"])
def test_bad_timeout(timeout: Any) -> None:
    for local in (True, None):
        with pytest.raises(ConfigurationError) as info:
            _settings(host="h.example.com", timeout=timeout, local=local)
        assert str(info.value) == (f"timeout must be a positive number of seconds, not {timeout!r}")


@pytest.mark.parametrize("retries", [-1, 1.5, True, "3"])
def test_bad_retries(retries: Any) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(retries=retries)
    assert str(info.value) == f"retries must be an int of at least 0, not {retries!r}"


@pytest.mark.parametrize(
    ("explicit", "message"),
    [
        ({"token": 12345}, "token must be a str, not int"),
        ({"password": b"pw"}, "password must be a str, not bytes"),
        ({"host": ["h"]}, "host must be a str, not list"),
        ({"profile": 1}, "profile must be a str, not int"),
        ({"verify_ssl": 0}, "verify_ssl must be a bool, not int"),
        ({"home": 3}, "home must be a str or path, not int"),
    ],
)
def test_explicit_values_of_the_wrong_type(explicit: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(**explicit)
    assert str(info.value) == message


@pytest.mark.parametrize("token", ["has space-ws_a-b", "tök-ws_a-b", "line\nbreak"])
def test_a_token_a_header_cannot_carry(token: str) -> None:
    with pytest.raises(ConfigurationError) as info:
        _settings(token=token)
    assert str(info.value) == "token (from argument) must be printable ASCII without spaces"


@pytest.mark.parametrize("where", ["environment", "profile"])
def test_a_bad_token_names_where_it_came_from(
    where: str, isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if where == "environment":
        monkeypatch.setenv("TILEDB_REST_TOKEN", "has space-ws_a-b")
        origin = "environment TILEDB_REST_TOKEN"
    else:
        path = _profiles(isolated, {"default": {"rest.token": "has space-ws_a-b"}})
        origin = f"profile default in {path}"
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == f"token (from {origin}) must be printable ASCII without spaces"


def test_a_username_with_a_colon_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TILEDB_REST_USERNAME", f"me:{CANARY_SECRET}")
    with pytest.raises(ConfigurationError) as info:
        _settings()
    assert str(info.value) == (
        "username (from environment TILEDB_REST_USERNAME) must not contain ':'"
    )


# -- display -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("token", "masked"),
    [
        (None, None),
        (BOUND, "tc-ws_abc123-***"),
        (CANARY_TOKEN, "tc-ws_canary-***"),
        ("plainsecret", "***"),
        ("a-b-c", "***"),
    ],
)
def test_mask_token(token: str | None, masked: str | None) -> None:
    assert mask_token(token) == masked


def test_describe_shows_where_calls_go_without_the_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TILEDB_REST_TOKEN", CANARY_TOKEN)
    monkeypatch.setenv("TILEDB_REST_PASSWORD", "CANARY-password-77")
    settings = _settings(host="api.example.com", verify_ssl=False)
    assert settings.describe() == {
        "backend": "http",
        "host": "https://api.example.com",
        "workspace": "ws_canary",
        "token": "tc-ws_canary-***",
        "verify_ssl": False,
        "sources": {
            "host": "argument",
            "workspace": "environment TILEDB_REST_TOKEN (bound token)",
            "token": "environment TILEDB_REST_TOKEN",
            "verify_ssl": "argument",
        },
    }
    assert settings.token == CANARY_TOKEN
    assert settings.password == "CANARY-password-77"
    for text in (repr(settings), str(settings), repr(settings.describe())):
        assert "CANARYTOKEN" not in text
        assert "CANARY-password" not in text


# -- configure() -----------------------------------------------------------------------


def test_configure_without_arguments_rereads_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert tilecred.get_client().settings.backend == "local"
    monkeypatch.setenv("TILEDB_REST_SERVER_ADDRESS", "one.example.com")
    # The default client already read its configuration...
    assert tilecred.get_client().settings.backend == "local"
    # ...until configure() reads it again.
    first = tilecred.configure()
    assert tilecred.get_client() is first
    assert first.settings.host == "https://one.example.com"
    monkeypatch.setenv("TILEDB_REST_SERVER_ADDRESS", "two.example.com")
    second = tilecred.configure()
    assert second is not first
    assert tilecred.get_client().settings.host == "https://two.example.com"


def test_configure_without_arguments_rereads_the_profile(isolated: Path) -> None:
    _profiles(isolated, {"default": {"rest.server_address": "one.example.com"}})
    assert tilecred.configure().settings.host == "https://one.example.com"
    _profiles(isolated, {"default": {"rest.server_address": "two.example.com"}})
    assert tilecred.get_client().settings.host == "https://one.example.com"
    assert tilecred.configure().settings.host == "https://two.example.com"


def test_configure_with_arguments_replaces_the_default_client() -> None:
    client = tilecred.configure(host="api.example.com", token="t", workspace="ws_1")
    assert tilecred.get_client() is client
    assert (client.settings.host, client.settings.workspace) == ("https://api.example.com", "ws_1")
    with pytest.raises(ConfigurationError):
        tilecred.configure(timeout=-1)
    assert tilecred.get_client() is client  # a failed configure() changes nothing


def test_one_resolution_of_the_data_directory_for_library_server_and_cli(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tilecred._config import default_home, resolve_home
    from tilecred._server._app import create_app

    monkeypatch.setenv("TILECRED_HOME", str(isolated / "from-env"))
    assert resolve_home() == isolated / "from-env"
    assert resolve_home(isolated / "given") == isolated / "given"
    assert resolve_home("~/x", environ={}) == Path.home() / "x"
    # An empty TILECRED_HOME names nothing: the default, for library and server alike.
    monkeypatch.setenv("TILECRED_HOME", "")
    monkeypatch.setenv("XDG_DATA_HOME", str(isolated / "xdg"))
    assert resolve_home() == default_home() == isolated / "xdg" / "tilecred"
    assert tilecred.configure().settings.home == isolated / "xdg" / "tilecred"
    app = create_app()
    try:
        assert app.store.home == isolated / "xdg" / "tilecred"
    finally:
        app.close()


def test_one_resolution_of_tiledbs_profile_file(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tilecred._config import profile_file

    assert profile_file({"TILEDB_PROFILE_DIR": str(isolated)}) == isolated / "profiles.json"
    monkeypatch.setenv("HOME", str(isolated / "home"))
    assert (
        profile_file({"TILEDB_PROFILE_DIR": ""}) == isolated / "home" / ".tiledb" / "profiles.json"
    )
