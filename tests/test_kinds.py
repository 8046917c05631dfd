"""tilecred's kinds (GENERIC logins, tokens and OAuth clients, an Azure service
principal, a Databricks personal access token, an AWS session token) and a
credential's description, through the library on the local store."""

from __future__ import annotations

import getpass
import json
import logging
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

import msgspec
import pytest

import tilecred
from tilecred import (
    CredentialsError,
    InvalidArgumentError,
    create_credential,
    get_credential,
    list_credentials,
    read_audit,
    update_credential,
    use_credential,
)

from .conftest import CANARY_SECRET
from .test_cli_support import run

# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")

ACTOR = f"local:{getpass.getuser()}"
# Characters a URL gives meaning to, in every part of a login.
AWKWARD = "p@ss/w:rd?#%&= é"

# One credential of each new kind: (provider, container, member, fields).
NEW_KINDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "basic": ("GENERIC", "credential", {"basic": {
        "user": "etl", "password": CANARY_SECRET, "host": "db.example.com", "port": 5432,
        "database": "sales", "scheme": "postgresql", "params": {"sslmode": "require"}}}),
    "bearer": ("GENERIC", "token", {"bearer": {
        "token": CANARY_SECRET, "url": "https://api.example.com/", "header": "X-Api-Key"}}),
    "oauth": ("GENERIC", "credential", {"oauth": {
        "token_url": "https://login.example.com/oauth/token", "client_id": "app",
        "client_secret": CANARY_SECRET, "scopes": ["read", "write"], "audience": "api",
        "refresh_token": CANARY_SECRET + "-refresh"}}),
    "azure-sp": ("AZURE", "credential", {"azure_service_principal": {
        "tenant_id": "contoso.onmicrosoft.com", "client_id": "11111111-2222-3333-4444-555555555555",
        "client_secret": CANARY_SECRET, "account_name": "lakeacct"}}),
    "pat": ("DATABRICKS", "token", {"databricks_pat": {
        "host": "https://dbc-1.cloud.databricks.com", "token": CANARY_SECRET}}),
}  # fmt: skip


def _create(name: str, *, description: str | None = None) -> None:
    provider, container, secret = NEW_KINDS[name]
    create_credential(
        name,
        provider,
        allowed_in_tasks=True,
        description=description,
        **{container: secret},  # type: ignore[arg-type]
    )


def _public(secret: dict[str, Any]) -> dict[str, Any]:
    """The member's fields as get returns them: no secret."""
    ((member, fields),) = secret.items()
    hidden = {"password", "token", "client_secret", "refresh_token"}
    return {member: {k: v for k, v in fields.items() if k not in hidden}}


@pytest.mark.parametrize("name", sorted(NEW_KINDS))
def test_each_new_kind_is_stored_with_its_description_and_never_returns_its_secret(
    name: str,
) -> None:
    _create(name, description="what it is for\nsecond line")
    provider, container, secret = NEW_KINDS[name]
    got = get_credential(name)
    assert got.provider.value == provider
    assert got.description == "what it is for\nsecond line"
    assert msgspec.to_builtins(getattr(got, container)) == _public(secret)
    assert CANARY_SECRET not in repr(got)
    (listed,) = list(list_credentials())
    assert (listed.name, listed.description) == (name, "what it is for\nsecond line")
    assert msgspec.to_builtins(getattr(listed, container)) == _public(secret)


def test_a_description_is_changed_and_removed_by_update_and_nothing_else_moves() -> None:
    _create("basic", description="first")
    before = get_credential("basic")
    update_credential("basic", description="second")
    after = get_credential("basic")
    assert after.description == "second"
    assert (after.id, after.credential, after.allowed_in_tasks) == (
        before.id, before.credential, before.allowed_in_tasks
    )  # fmt: skip
    update_credential("basic", allowed_in_tasks=False)
    assert get_credential("basic").description == "second"
    update_credential("basic", description="")
    assert get_credential("basic").description is None
    details = [r.detail for r in read_audit(credential="basic") if r.action == "update"]
    assert details == [
        "changed description",
        "changed allowed_in_tasks; allowed_in_tasks=False",
        "changed description",
    ]


@pytest.mark.parametrize(
    ("description", "message"),
    [
        ("x" * 1001, "description is 1001 characters long; the limit is 1000"),
        ("bell\a", "description must not contain control characters"),
        (5, "description must be a str, not int"),
    ],
)
def test_a_bad_description_is_refused_before_anything_is_stored(
    description: Any, message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        _create("basic", description=description)
    assert caught.value.message == message
    with pytest.raises(InvalidArgumentError) as caught:
        update_credential("basic", description=description)
    assert caught.value.message == message
    assert list(list_credentials()) == []
    assert read_audit() == []


def test_a_description_of_exactly_the_limit_is_kept() -> None:
    _create("basic", description="é" * 1000)
    assert get_credential("basic").description == "é" * 1000


# -- the forms ------------------------------------------------------------------


def test_a_basic_login_as_a_url_and_as_variables() -> None:
    create_credential("wh", "generic", allowed_in_tasks=True, credential={"basic": {
        "user": "etl user@corp", "password": AWKWARD, "host": "db.example.com", "port": 6432,
        "database": "sales/eu", "scheme": "postgresql",
        "params": {"sslmode": "require", "application_name": "nightly etl"}}})  # fmt: skip
    with use_credential("wh") as access:
        assert access.url() == (
            "postgresql://etl%20user%40corp:p%40ss%2Fw%3Ard%3F%23%25%26%3D%20%C3%A9"
            "@db.example.com:6432/sales%2Feu?sslmode=require&application_name=nightly%20etl"
        )
        assert access.env() == {
            "PGUSER": "etl user@corp", "PGPASSWORD": AWKWARD, "PGHOST": "db.example.com",
            "PGPORT": "6432", "PGDATABASE": "sales/eu", "PGSSLMODE": "require",
            "PGAPPNAME": "nightly etl",
        }  # fmt: skip
        assert access.env(prefix="WAREHOUSE") == {
            "WAREHOUSE_USER": "etl user@corp", "WAREHOUSE_PASSWORD": AWKWARD,
            "WAREHOUSE_HOST": "db.example.com", "WAREHOUSE_PORT": "6432",
            "WAREHOUSE_DATABASE": "sales/eu",
        }  # fmt: skip


def test_a_basic_login_of_another_scheme_needs_a_prefix_and_url_needs_a_host() -> None:
    create_credential("my", "GENERIC", allowed_in_tasks=True, credential={"basic": {
        "user": "u", "password": CANARY_SECRET, "scheme": "mysql"}})  # fmt: skip
    with use_credential("my") as access:
        with pytest.raises(CredentialsError) as caught:
            access.env()
        assert str(caught.value) == (
            "could not use credential 'my': env() knows the variables of postgresql, postgres, "
            "snowflake, mssql; for scheme 'mysql' give env(prefix='NAME') for NAME_USER, "
            "NAME_PASSWORD, NAME_HOST, …"
        )
        with pytest.raises(CredentialsError) as caught:
            access.url()
        assert str(caught.value) == (
            "could not use credential 'my': url() needs a basic login's scheme and host"
        )
        assert access.env(prefix="DB") == {"DB_USER": "u", "DB_PASSWORD": CANARY_SECRET}
        with pytest.raises(CredentialsError) as caught:
            access.env(prefix="9x")
        assert str(caught.value) == (
            "could not use credential 'my': prefix must be a variable name such as "
            "'WAREHOUSE', not '9x'"
        )


def test_an_ipv6_host_is_bracketed_and_an_mssql_login_has_sqlcmds_names() -> None:
    create_credential("sql", "GENERIC", allowed_in_tasks=True, credential={"basic": {
        "user": "sa", "password": "pw", "host": "::1", "port": 1433, "database": "master",
        "scheme": "mssql"}})  # fmt: skip
    with use_credential("sql") as access:
        assert access.url() == "mssql://sa:pw@[::1]:1433/master"
        assert access.env() == {
            "SQLCMDUSER": "sa", "SQLCMDPASSWORD": "pw", "SQLCMDSERVER": "::1",
            "SQLCMDDBNAME": "master",
        }  # fmt: skip


def test_a_url_masks_the_password_as_it_spells_it_in_logs() -> None:
    password = f"{uuid.uuid4().hex} /@:?"
    create_credential("pg", "GENERIC", allowed_in_tasks=True, credential={"basic": {
        "user": "etl", "password": password, "host": "db", "scheme": "postgresql"}})  # fmt: skip
    with use_credential("pg") as access:
        url = access.url()
    encoded = quote(password, safe="")
    assert url == f"postgresql://etl:{encoded}@db/"
    record = logging.makeLogRecord({"msg": "connecting to %s", "args": (url,)})
    assert record.getMessage() == "connecting to postgresql://etl:***@db/"


class _Prepared:
    """What requests hands an ``auth=`` callable: a request with a headers mapping."""

    def __init__(self) -> None:
        self.headers: dict[str, str] = {"Accept": "*/*"}


def test_a_bearer_token_as_headers_and_as_requests_and_httpx_auth() -> None:
    create_credential("api", "GENERIC", allowed_in_tasks=True,
                      token={"bearer": {"token": CANARY_SECRET}})  # fmt: skip
    create_credential("keyed", "GENERIC", allowed_in_tasks=True,
                      token={"bearer": {"token": "k-1", "header": "X-Api-Key",
                                        "url": "https://api.example.com/"}})  # fmt: skip
    with use_credential("api") as access:
        assert access.headers() == {"Authorization": f"Bearer {CANARY_SECRET}"}
        auth = access.auth()
        assert CANARY_SECRET not in repr(auth)
        prepared = _Prepared()
        assert auth(prepared) is prepared
        assert prepared.headers == {"Accept": "*/*", "Authorization": f"Bearer {CANARY_SECRET}"}
        flow = auth.auth_flow(_Prepared())
        assert next(flow).headers["Authorization"] == f"Bearer {CANARY_SECRET}"
    with pytest.raises(CredentialsError, match="is closed"):
        auth(_Prepared())  # closing the access stops its auth too
    with use_credential("keyed") as access:
        assert access.headers() == {"X-Api-Key": "k-1"}
        assert access.env(prefix="CRM") == {
            "CRM_TOKEN": "k-1",
            "CRM_URL": "https://api.example.com/",
        }
        with pytest.raises(CredentialsError) as caught:
            access.env()
        assert str(caught.value) == (
            "could not use credential 'keyed': env() does not apply to a bearer token: its "
            "variables have no standard names: give env(prefix='NAME') for NAME_TOKEN and NAME_URL"
        )


def test_the_forms_of_logins_and_tokens_are_refused_for_a_clouds_key() -> None:
    create_credential("s3", "AWS", allowed_in_tasks=True, credential={"aws": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}})  # fmt: skip
    with use_credential("s3") as access:
        for form, why in (
            ("url", "it is not a login to a service (url() is for basic logins)"),
            ("headers", "it is not sent in an HTTP header (headers() is for tokens and OAuth "
                        "clients)"),
            ("auth", "it is not sent in an HTTP header (auth() is for tokens and OAuth clients)"),
        ):  # fmt: skip
            with pytest.raises(CredentialsError) as caught:
                getattr(access, form)()
            assert str(caught.value) == (
                f"could not use credential 's3': {form}() does not apply to an AWS access key: "
                f"{why}"
            )
        with pytest.raises(CredentialsError) as caught:
            access.env(prefix="X")
        assert str(caught.value) == (
            "could not use credential 's3': env(prefix=...) is for basic logins and bearer "
            "tokens, not an AWS access key"
        )


def test_an_aws_session_token_flows_into_every_form() -> None:
    create_credential("sts", "AWS", allowed_in_tasks=True, credential={"aws": {
        "access_key_id": "ASIAIOSFODNN7EXAMPLE", "secret_access_key": "s",
        "session_token": CANARY_SECRET}})  # fmt: skip
    assert get_credential("sts").credential.aws.session_token is None  # type: ignore[union-attr]
    with use_credential("sts") as access:
        assert access.env() == {
            "AWS_ACCESS_KEY_ID": "ASIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_SESSION_TOKEN": CANARY_SECRET,
        }  # fmt: skip
        assert access.storage_options() == {
            "key": "ASIAIOSFODNN7EXAMPLE", "secret": "s", "token": CANARY_SECRET
        }  # fmt: skip
        assert access.tiledb_config() == {
            "vfs.s3.aws_access_key_id": "ASIAIOSFODNN7EXAMPLE",
            "vfs.s3.aws_secret_access_key": "s",
            "vfs.s3.aws_session_token": CANARY_SECRET,
        }
        assert CANARY_SECRET not in repr(access.credential)


def test_an_azure_service_principal_and_a_databricks_token_in_their_forms() -> None:
    _create("azure-sp")
    _create("pat")
    with use_credential("azure-sp") as access:
        assert access.env() == {
            "AZURE_TENANT_ID": "contoso.onmicrosoft.com",
            "AZURE_CLIENT_ID": "11111111-2222-3333-4444-555555555555",
            "AZURE_CLIENT_SECRET": CANARY_SECRET,
            "AZURE_STORAGE_ACCOUNT_NAME": "lakeacct",
        }
        assert access.storage_options() == {
            "account_name": "lakeacct", "tenant_id": "contoso.onmicrosoft.com",
            "client_id": "11111111-2222-3333-4444-555555555555", "client_secret": CANARY_SECRET,
        }  # fmt: skip
    with use_credential("pat") as access:
        assert access.env() == {
            "DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com",
            "DATABRICKS_TOKEN": CANARY_SECRET,
        }


# -- verify ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("provider", "secret", "message"),
    [
        ("GENERIC", {"credential": {"basic": {"user": "u", "password": "p", "port": 70000}}},
         "credential.basic.port: not a port number (1-65535)"),
        ("GENERIC", {"credential": {"basic": {"user": "u", "password": "p", "scheme": "Pg SQL"}}},
         "credential.basic.scheme: not a URL scheme (postgresql, mysql, snowflake, mssql, http…)"),
        ("GENERIC", {"token": {"bearer": {"token": "a\r\nX-Evil: 1"}}},
         "token.bearer.token: holds a line break or control character, which no header can "
         "carry"),
        ("GENERIC", {"token": {"bearer": {"token": "t", "header": "X Bad"}}},
         "token.bearer.header: not a header name (letters, digits and !#$%&'*+-.^_`|~)"),
        ("GENERIC", {"credential": {"oauth": {"token_url": "http://login.example.com/token",
                                              "client_id": "a", "client_secret": "s"}}},
         "credential.oauth.token_url: not an https URL (http only to localhost)"),
        ("GENERIC", {"credential": {"oauth": {"token_url": "https://login.example.com/token",
                                              "client_id": "a", "client_secret": "s",
                                              "scopes": ["read write"]}}},
         "credential.oauth.scopes: each scope must be one non-empty word (they are sent "
         "space-separated)"),
        ("AZURE", {"credential": {"azure_service_principal": {
            "tenant_id": "not a tenant", "client_id": "11111111-2222-3333-4444-555555555555",
            "client_secret": "s"}}},
         "credential.azure_service_principal.tenant_id: not a tenant id (a GUID, or a domain "
         "such as x.onmicrosoft.com)"),
        ("DATABRICKS", {"token": {"databricks_pat": {"host": "http://dbc", "token": "t"}}},
         "token.databricks_pat.host: not an https URL (https://<host>)"),
    ],
)  # fmt: skip
def test_verify_checks_the_new_kinds_structure(
    provider: str, secret: dict[str, Any], message: str
) -> None:
    with pytest.raises(CredentialsError) as caught:
        tilecred.verify_credential("x", provider, **secret)
    assert (caught.value.status, caught.value.message) == (422, message)
    assert str(caught.value) == (
        f"could not verify credential 'x': 422 Unprocessable Entity: {message}"
    )


@pytest.mark.parametrize("name", sorted(NEW_KINDS))
def test_verify_passes_each_good_new_kind(name: str) -> None:
    provider, container, secret = NEW_KINDS[name]
    tilecred.verify_credential(name, provider, **{container: secret})  # type: ignore[call-overload]


def test_a_member_that_does_not_fit_the_provider_is_refused() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        create_credential("x", "AWS", credential=NEW_KINDS["basic"][2])
    assert caught.value.message == "credential.basic is for provider GENERIC, not AWS"


# -- the command line --------------------------------------------------------------


def test_the_command_line_creates_each_new_kind_with_its_options(isolated: Path) -> None:
    import os

    from tilecred._config import DATABASE_ENV, MASTER_KEY_ENV

    env = {
        "TILECRED_HOME": str(isolated / "tilecred-home"),
        "PW": CANARY_SECRET,
        "RT": CANARY_SECRET + "-refresh",
        **{k: os.environ[k] for k in (DATABASE_ENV, MASTER_KEY_ENV) if k in os.environ},
    }
    created = run(
        ["create", "wh", "--provider", "generic", "--kind", "basic", "--user", "etl",
         "--service-host", "db.example.com", "--port", "5432", "--database", "sales",
         "--scheme", "postgresql", "--param", "sslmode=require", "--param", "a=b=c",
         "--secret-env", "PW", "--description", "the nightly ETL's login", "--allow-in-tasks"],
        env,
    )  # fmt: skip
    assert (created.code, created.err) == (0, ""), created.err
    oauth = run(
        ["create", "idp", "--provider", "generic", "--kind", "oauth",
         "--token-url", "https://login.example.com/token", "--client-id", "app",
         "--scope", "read", "--scope", "write", "--audience", "api", "--secret-env", "PW",
         "--refresh-token-env", "RT", "--allow-in-tasks"],
        env,
    )  # fmt: skip
    assert (oauth.code, oauth.err) == (0, ""), oauth.err
    got = run(["get", "wh", "--json"], env)
    assert got.code == 0
    data = json.loads(got.out)
    assert data["description"] == "the nightly ETL's login"
    assert data["credential"] == {"basic": {
        "user": "etl", "host": "db.example.com", "port": 5432, "database": "sales",
        "scheme": "postgresql", "params": {"sslmode": "require", "a": "b=c"}}}  # fmt: skip
    shown = run(["get", "wh"], env).out
    assert "description       the nightly ETL's login\n" in shown
    assert CANARY_SECRET not in shown + got.out
    with use_credential("idp") as access:
        member = access.credential.credential.oauth  # type: ignore[union-attr]
        assert member is not None
        assert (member.scopes, member.refresh_token) == (
            ["read", "write"], CANARY_SECRET + "-refresh"
        )  # fmt: skip
    wrong = run(["create", "x", "--provider", "aws", "--access-key-id", "AKIA1",
                 "--refresh-token-env", "RT", "--allow-in-tasks"], env)  # fmt: skip
    assert (wrong.code, wrong.err.splitlines()[-1]) == (
        2, "tilecred create: error: --refresh-token-env applies only to --kind oauth"
    )  # fmt: skip
    port = run(["create", "x", "--provider", "generic", "--kind", "basic", "--user", "u",
                "--port", "five", "--secret-env", "PW"], env)  # fmt: skip
    assert (port.code, port.err.splitlines()[-1]) == (
        2, "tilecred create: error: --port takes a number, not 'five'"
    )  # fmt: skip
    cleared = run(["update", "wh", "--description", ""], env)
    assert cleared.code == 0
    assert get_credential("wh").description is None
