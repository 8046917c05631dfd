"""Argument rules: each bad argument is an InvalidArgumentError and nothing is sent."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

import tilecred
from tests.conftest import CANARY_SECRET, CANARY_TOKEN
from tilecred import (
    AccessCredentialRole,
    AWSCredential,
    AWSRole,
    AzureEntraIDToken,
    CloudProvider,
    Credential,
    CredentialsError,
    CredentialType,
    InvalidArgumentError,
    Teamspace,
    TeamspaceUser,
    Token,
)

ARN = "arn:aws:iam::123456789012:role/demo"
ROLE = {"aws": {"role_arn": ARN}}
KEYS = {"aws": {"access_key_id": "AKIA1", "secret_access_key": "s3cr3t-value"}}
PROVIDERS = "AWS, AZURE, GCP, SNOWFLAKE, DATABRICKS, GENERIC"


class _Box:
    """Any object with a teamspace_id, as tilecred accepts for ``teamspace``."""

    def __init__(self, teamspace_id: object) -> None:
        self.teamspace_id = teamspace_id


class _Broken:
    @property
    def teamspace_id(self) -> str:
        raise RuntimeError("lookup failed")


class _FailingModel:
    """A model object of TileDB's client whose ``to_dict`` fails, quoting a secret."""

    def to_dict(self) -> dict[str, object]:
        raise KeyError(CANARY_SECRET)


class _FailingIterable:
    """A provider list whose iteration fails, quoting a secret."""

    def __iter__(self) -> Iterator[str]:
        yield "aws"
        raise RuntimeError(CANARY_SECRET)


def _self_containing() -> dict[str, Any]:
    role: dict[str, Any] = {"aws": {"role_arn": ARN}}
    role["aws"]["external_id"] = role
    return role


@pytest.fixture(params=["client", "module"])
def api(request: pytest.FixtureRequest, httpserver: HTTPServer) -> Any:
    """The six operations, on a Client or as module functions over the default client."""
    settings: dict[str, Any] = {
        "host": httpserver.url_for("/"),
        "token": CANARY_TOKEN,
        "workspace": "ws_x",
    }
    if request.param == "client":
        return tilecred.Client(**settings)
    tilecred.configure(**settings)
    return tilecred


Call = Callable[[Any], object]

BAD: list[tuple[str, Call, str]] = [
    # -- exactly one of credential, role and token for create and verify --
    ("create none", lambda a: a.create_credential("c", "AWS"),
     "give one of credential, role or token"),
    ("create two", lambda a: a.create_credential("c", "AWS", credential=KEYS, role=ROLE),
     "give only one of credential, role and token, not credential and role"),
    ("create three", lambda a: a.create_credential(
        "c", "AWS", credential=KEYS, role=ROLE, token={"gcp": {}}),
     "give only one of credential, role and token, not credential and role and token"),
    ("verify none", lambda a: a.verify_credential("c", "AWS"),
     "give one of credential, role or token"),
    ("verify two", lambda a: a.verify_credential("c", "AZURE", role=ROLE, token={"azure": {}}),
     "give only one of credential, role and token, not role and token"),
    # -- at most one for update, and something to change --
    ("update two", lambda a: a.update_credential("c", credential=KEYS, role=ROLE),
     "give only one of credential, role and token, not credential and role"),
    ("update nothing", lambda a: a.update_credential("c"),
     "nothing to update for credential 'c': give at least one change"),
    ("update nothing in teamspace", lambda a: a.update_credential("c", teamspace="ml"),
     "nothing to update for credential 'c': give at least one change"),
    # -- the container: exactly one member, fitting the provider --
    ("empty struct", lambda a: a.create_credential("c", "AWS", credential=Credential()),
     "credential must hold exactly one member, found none"),
    ("empty dict", lambda a: a.create_credential("c", "AWS", token={}),
     "token must hold exactly one member, found none"),
    ("two members", lambda a: a.create_credential("c", "AZURE", token=Token(
        azure_entra_id=AzureEntraIDToken(blob_endpoint="https://a"),
        azure_entra_id_task={"client_id": "x"})),  # type: ignore[arg-type]
     "token must hold exactly one member, found azure_entra_id, azure_entra_id_task"),
    ("unchecked struct", lambda a: a.create_credential("c", "AWS", credential=Credential(
        aws=AWSCredential(access_key_id=5, secret_access_key="s3cr3t"))),  # type: ignore[arg-type]
     "invalid credential: Expected `str`, got `int` - at `$.aws.access_key_id`"),
    ("dict in struct", lambda a: a.create_credential("c", "AWS", role=AccessCredentialRole(
        aws={"role_arn": b"arn"})),  # type: ignore[arg-type]
     "invalid role: Expected `str`, got `bytes` - at `$.aws.role_arn`"),
    ("two member dicts", lambda a: a.create_credential("c", "AWS", credential={
        **KEYS, "gcp": {"access_key_id": "G"}}),
     "credential must hold exactly one member, found aws, gcp"),
    ("role not for GCP", lambda a: a.create_credential("c", "GCP", role=ROLE),
     "role.aws is for provider AWS, not GCP"),
    ("entra id not for AWS", lambda a: a.verify_credential(
        "c", CloudProvider.AWS, token={"azure_entra_id": {"blob_endpoint": "https://a"}}),
     "token.azure_entra_id is for provider AZURE, not AWS"),
    ("update provider mismatch", lambda a: a.update_credential("c", provider="azure", role=ROLE),
     "role.aws is for provider AWS, not AZURE"),
    ("lone struct in wrong container", lambda a: a.create_credential(
        "c", "AWS", role=AWSCredential(access_key_id="A", secret_access_key="s3cr3t")),
     "role must be of type AccessCredentialRole or dict, not AWSCredential"),
    ("container in wrong place", lambda a: a.create_credential(
        "c", "AWS", credential=AccessCredentialRole(aws=AWSRole(role_arn=ARN))),
     "credential must be of type Credential or dict, not AccessCredentialRole"),
    # -- dicts converted with msgspec, failures naming the path --
    ("bad type in dict", lambda a: a.create_credential("c", "AWS", role={"aws": {"role_arn": 5}}),
     "invalid role: Expected `str`, got `int` - at `$.aws.role_arn`"),
    ("missing field in dict", lambda a: a.create_credential("c", "AWS", role={"aws": {}}),
     "invalid role: Object missing required field `role_arn` - at `$.aws`"),
    ("not an object", lambda a: a.create_credential("c", "AWS", role=ARN),
     "invalid role: Expected `object`, got `str`"),
    ("bool as str", lambda a: a.create_credential("c", "AWS", credential={"aws": {
        **KEYS["aws"], "use_path_style": "yes"}}),
     "invalid credential: Expected `bool | null`, got `str` - at `$.aws.use_path_style`"),
    ("object in dict", lambda a: a.create_credential("c", "AWS", role={"aws": {
        "role_arn": ARN, "endpoint": object()}}),
     "invalid role: Encoding objects of type object is unsupported"),
    ("bytes in dict", lambda a: a.create_credential("c", "AWS", role={"aws": {
        "role_arn": ARN.encode()}}),
     "invalid role: Expected `str`, got `bytes` - at `$.aws.role_arn`"),
    ("lone surrogate in a secret", lambda a: a.create_credential("c", "DATABRICKS", token={
        "databricks": {"client_id": "sp", "client_secret": "ab\ud800"}}),
     "invalid token: String contains a lone surrogate - at `$.databricks.client_secret`"),
    ("lone surrogate in a struct", lambda a: a.update_credential("c", role=AWSRole(
        role_arn=ARN, external_id="\udfff")),
     "invalid role: String contains a lone surrogate - at `$.aws.external_id`"),
    # -- required secrets --
    ("aws key without secret", lambda a: a.create_credential(
        "c", "AWS", credential={"aws": {"access_key_id": "A"}}),
     "credential.aws.secret_access_key is required"),
    ("aws key with empty secret", lambda a: a.verify_credential(
        "c", "AWS", credential=AWSCredential(access_key_id="A", secret_access_key="")),
     "credential.aws.secret_access_key is required"),
    ("sas without token", lambda a: a.create_credential(
        "c", "AZURE", token={"azure": {"account_name": "acct"}}),
     "token.azure.sas_token is required"),
    ("service account without key", lambda a: a.update_credential(
        "c", token={"gcp": {"account_id": "svc", "key_id": "k"}}),
     "token.gcp.key_text is required"),
    # -- unknown fields in a request: a misspelt key must not vanish --
    ("misspelt nested field", lambda a: a.create_credential(
        "c", "AWS", role={"aws": {"role_arn": ARN, "externalid": "x"}}),
     "invalid role: unknown field `externalid` - at `$.aws` (did you mean 'external_id'?); "
     "valid: role_arn, external_id, endpoint, use_path_style"),
    ("unknown member", lambda a: a.verify_credential(
        "c", "AWS", credential={"aws": KEYS["aws"], "s3": {}}),
     "invalid credential: unknown field `s3` - at `$`; valid: aws, azure, gcp, "
     "azure_service_principal, basic, oauth"),
    ("misspelt required field", lambda a: a.create_credential(
        "c", "AWS", credential={"aws": {"acess_key_id": "AKIAIOSFODNN7EXAMPLE",
                                        "secret_access_key": "s"}}),
     "invalid credential: unknown field `acess_key_id` - at `$.aws` (did you mean "
     "'access_key_id'?); valid: access_key_id, secret_access_key, endpoint, use_path_style, "
     "session_token"),
    # -- provider --
    ("unknown provider", lambda a: a.create_credential("c", "S3", role=ROLE),
     f"provider must be one of {PROVIDERS}, not 'S3'"),
    ("provider not a str", lambda a: a.verify_credential("c", 5, role=ROLE),
     f"provider must be one of {PROVIDERS}, not 5"),
    ("provider None on create", lambda a: a.create_credential("c", None, role=ROLE),
     f"provider must be one of {PROVIDERS}, not None"),
    ("update unknown provider", lambda a: a.update_credential("c", provider="aws2"),
     f"provider must be one of {PROVIDERS}, not 'aws2'"),
    # -- names --
    ("empty name", lambda a: a.create_credential("", "AWS", role=ROLE),
     "name must not be empty"),
    ("name not str", lambda a: a.get_credential(5), "name must be a str, not int"),
    ("name None", lambda a: a.delete_credential(None), "name must be a str, not NoneType"),
    ("name with slash", lambda a: a.get_credential("a/b"), "name 'a/b' must not contain '/'"),
    ("name with newline", lambda a: a.delete_credential("a\nb"),
     "name 'a\\nb' must not contain control characters"),
    ("name with NUL", lambda a: a.verify_credential("a\x00", "AWS", role=ROLE),
     "name 'a\\x00' must not contain control characters"),
    ("name with DEL", lambda a: a.get_credential("a\x7f"),
     "name 'a\\x7f' must not contain control characters"),
    ("name with C1 control", lambda a: a.get_credential("a\x85"),
     "name 'a\\x85' must not contain control characters"),
    ("name with lone surrogate", lambda a: a.get_credential("a\ud800"),
     "name 'a\\ud800' must not contain lone surrogates"),
    ("empty cred_name", lambda a: a.update_credential("", name="n"),
     "cred_name must not be empty"),
    ("new name with slash", lambda a: a.update_credential("c", name="x/y"),
     "name 'x/y' must not contain '/'"),
    # -- teamspace --
    ("teamspace int", lambda a: a.get_credential("c", teamspace=7),
     "teamspace must be a str or have a teamspace_id attribute, not int"),
    ("teamspace id None", lambda a: a.list_credentials(_Box(None)),
     "teamspace must be a str or have a teamspace_id attribute, not _Box"),
    ("teamspace id int", lambda a: a.delete_credential("c", teamspace=_Box(3)),
     "teamspace must be a str, not int"),
    ("teamspace empty", lambda a: a.create_credential("c", "AWS", teamspace="", role=ROLE),
     "teamspace must not be empty"),
    ("teamspace slash", lambda a: a.list_credentials("a/b"),
     "teamspace 'a/b' must not contain '/'"),
    ("teamspace property fails", lambda a: a.get_credential("c", teamspace=_Broken()),
     "teamspace: reading teamspace_id of _Broken failed: RuntimeError: lookup failed"),
    # -- flags --
    ("provider_default str", lambda a: a.create_credential(
        "c", "AWS", role=ROLE, provider_default="yes"),
     "provider_default must be a bool, not str"),
    ("allowed_in_tasks int", lambda a: a.update_credential("c", allowed_in_tasks=1),
     "allowed_in_tasks must be a bool, not int"),
    # -- paging --
    ("page zero", lambda a: a.list_credentials(page=0),
     "page must be an int of at least 1, not 0"),
    ("page bool", lambda a: a.list_credentials(None, True),
     "page must be an int of at least 1, not True"),
    ("page str", lambda a: a.list_credentials(page="2"),
     "page must be an int of at least 1, not '2'"),
    ("per_page zero", lambda a: a.list_credentials(per_page=0),
     "per_page must be None or an int of at least 1, not 0"),
    ("per_page float", lambda a: a.list_credentials(per_page=2.5),
     "per_page must be None or an int of at least 1, not 2.5"),
    ("page above int32", lambda a: a.list_credentials(page=2**31),
     "page must be at most 2147483647, not 2147483648"),
    ("per_page above int32", lambda a: a.list_credentials(per_page=2**63),
     "per_page must be at most 2147483647, not 9223372036854775808"),
    # -- arguments whose own code fails: the caller's argument, named, values unshown --
    ("dict containing itself", lambda a: a.create_credential("c", "AWS", role=_self_containing()),
     "invalid role: nested too deeply (does it contain itself?)"),
    ("to_dict fails", lambda a: a.update_credential("c", credential=_FailingModel()),
     "invalid credential: _FailingModel.to_dict() failed: KeyError"),
    ("provider iteration fails", lambda a: a.list_credentials(provider=_FailingIterable()),
     "provider: iterating over _FailingIterable failed: RuntimeError"),
    # -- list filters --
    ("filter provider", lambda a: a.list_credentials(provider="s3"),
     f"provider must be one of {PROVIDERS}, not 's3'"),
    ("filter one of many", lambda a: a.list_credentials(exclude_provider=["aws", "x"]),
     f"exclude_provider must be one of {PROVIDERS}, not 'x'"),
    ("filter not a provider", lambda a: a.list_credentials(provider=5),
     "provider must be a provider or a list of them, not 5"),
    ("filter credential_type", lambda a: a.list_credentials(credential_type="user"),
     "credential_type must be workspace or teamspace, not 'user'"),
    ("filter verify", lambda a: a.list_credentials(verify="yes"),
     "verify must be a bool, not str"),
]  # fmt: skip


@pytest.mark.parametrize(("call", "message"), [c[1:] for c in BAD], ids=[c[0] for c in BAD])
def test_bad_argument_is_rejected_before_any_request(
    api: Any, httpserver: HTTPServer, call: Call, message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        call(api)
    error = info.value
    assert str(error) == message
    assert isinstance(error, ValueError)
    assert isinstance(error, CredentialsError)
    assert error.status is None
    assert httpserver.log == []


@pytest.mark.parametrize(
    ("call", "cause"),
    [
        (lambda c: c.create_credential("c", "AWS", role=_self_containing()), RecursionError),
        (lambda c: c.verify_credential("c", "AWS", credential=_FailingModel()), KeyError),
        (lambda c: c.list_credentials(exclude_provider=_FailingIterable()), RuntimeError),
    ],
    ids=["recursion", "to_dict", "iteration"],
)
def test_a_failing_argument_is_chained_and_never_shows_its_values(
    httpserver: HTTPServer, call: Call, cause: type[Exception]
) -> None:
    client = tilecred.Client(host=httpserver.url_for("/"), token=CANARY_TOKEN, workspace="ws_x")
    with pytest.raises(InvalidArgumentError) as info:
        call(client)
    assert isinstance(info.value.__cause__, cause)
    assert CANARY_SECRET not in repr(info.value)
    assert httpserver.log == []


def test_a_failing_teamspace_property_is_chained(httpserver: HTTPServer) -> None:
    client = tilecred.Client(host=httpserver.url_for("/"), token=CANARY_TOKEN)
    with pytest.raises(InvalidArgumentError) as info:
        client.get_credential("c", teamspace=_Broken())
    assert isinstance(info.value.__cause__, RuntimeError)


# -- what good arguments become on the wire ---------------------------------------


def _sent(httpserver: HTTPServer) -> tuple[str, str, list[tuple[str, str]], Any]:
    assert len(httpserver.log) == 1
    request = httpserver.log[0][0]
    body = json.loads(request.data) if request.data else None
    return request.method, request.path, sorted(request.args.items(multi=True)), body


def test_provider_any_case_and_dicts_reach_the_wire(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/credentials/ws_x", method="POST").respond_with_data(
        "", status=201
    )
    api.create_credential(
        "prod-s3",
        "aWs",
        teamspace=_Box("ts_9"),
        provider_default=False,
        allowed_in_tasks=False,
        role={"aws": {"role_arn": ARN, "external_id": "ext"}},
    )
    assert _sent(httpserver) == (
        "POST",
        "/v4/credentials/ws_x",
        [("teamspace_id", "ts_9")],
        {
            "name": "prod-s3",
            "provider": "AWS",
            "provider_default": False,
            "allowed_in_tasks": False,
            "role": {"aws": {"role_arn": ARN, "external_id": "ext"}},
        },
    )


def test_a_teamspace_model_or_id_reaches_the_wire(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/credentials/ws_x/c", method="DELETE").respond_with_data(
        "", status=204
    )
    user = TeamspaceUser(
        user_id="u_1",
        username="me",
        display_name="Me",
        email="me@example.com",
        role="owner",
        added_by="u_1",
        created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC),
    )
    teamspace = Teamspace(
        teamspace_id="ts_42",
        name="ml",
        space_type="teamspace",
        created_at=user.created_at,
        created_by=user,
        visibility="private",
    )
    api.delete_credential("c", teamspace=teamspace)
    api.delete_credential("c", teamspace="ts_43")
    sent = [sorted(entry[0].args.items(multi=True)) for entry in httpserver.log]
    assert sent == [[("teamspace_id", "ts_42")], [("teamspace_id", "ts_43")]]


def test_a_lone_member_struct_stands_for_its_container(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/actions/credentials/verify", method="POST").respond_with_data(
        "", status=200
    )
    api.verify_credential(
        "k",
        CloudProvider.AWS,
        credential=AWSCredential(access_key_id="AKIA1", secret_access_key="s3cr3t-value"),
    )
    assert _sent(httpserver)[3] == {
        "name": "k",
        "provider": "AWS",
        "credential": KEYS,
        "workspace_id": "ws_x",
    }


class _OpenApiModel:
    """Shaped like the OpenAPI-generated models of TileDB's client: to_dict()."""

    def __init__(self, **fields: object) -> None:
        self.fields = fields

    def to_dict(self) -> dict[str, object]:
        return {
            key: value.to_dict() if isinstance(value, _OpenApiModel) else value
            for key, value in self.fields.items()
        }


def test_a_tiledb_client_model_object_is_accepted(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/credentials/ws_x", method="POST").respond_with_data(
        "", status=201
    )
    # TileDB's to_dict() lists every attribute, unset ones as None.
    role = _OpenApiModel(
        aws=_OpenApiModel(role_arn=ARN, external_id=None, endpoint=None, use_path_style=None)
    )
    api.create_credential("r", "AWS", role=role)
    assert _sent(httpserver)[3] == {"name": "r", "provider": "AWS", "role": ROLE}


def test_page_none_means_the_first_page(api: Any, httpserver: HTTPServer) -> None:
    # TileDB's list_credentials declares page: Optional[int] = 1.
    httpserver.expect_request("/v4/credentials/ws_x", method="GET").respond_with_json(
        {
            "data": [],
            "pagination_metadata": {"page": 1, "per_page": 10, "total_pages": 0, "total_items": 0},
        }
    )
    assert list(api.list_credentials(None, None, 10)) == []
    assert _sent(httpserver)[2] == [("page", "1"), ("per_page", "10")]


def test_update_sends_only_what_was_given(api: Any, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v4/credentials/ws_x/old name", method="PATCH").respond_with_data(
        "", status=204
    )
    api.update_credential("old name", name="new", token={"azure_entra_id": {"blob_endpoint": "x"}})
    method, _path, query, body = _sent(httpserver)
    assert (method, query) == ("PATCH", [])
    assert body == {"name": "new", "token": {"azure_entra_id": {"blob_endpoint": "x"}}}


@pytest.mark.parametrize(
    ("filters", "query"),
    [
        ({}, [("page", "1")]),
        (
            {"provider": "aws", "exclude_provider": CloudProvider.GCP},
            [("excl_provider", "GCP"), ("page", "1"), ("provider", "AWS")],
        ),
        (
            {
                "provider": ["aws", CloudProvider.AZURE, "Snowflake"],
                "exclude_provider": ("databricks", "gcp"),
                "credential_type": "Teamspace",
                "verify": False,
            },
            [
                ("excl_provider", "DATABRICKS"),
                ("excl_provider", "GCP"),
                ("page", "1"),
                ("provider", "AWS"),
                ("provider", "AZURE"),
                ("provider", "SNOWFLAKE"),
                ("type", "teamspace"),
                ("verify", "False"),
            ],
        ),
        (
            {"credential_type": CredentialType.WORKSPACE, "verify": True, "provider": []},
            [("page", "1"), ("type", "workspace"), ("verify", "True")],
        ),
    ],
)
def test_list_filters(
    api: Any, httpserver: HTTPServer, filters: dict[str, Any], query: list[tuple[str, str]]
) -> None:
    httpserver.expect_request("/v4/credentials/ws_x", method="GET").respond_with_json({"data": []})
    pager = api.list_credentials(**filters)
    assert httpserver.log == []  # nothing is sent until the pager is used
    assert list(pager) == []
    assert _sent(httpserver) == ("GET", "/v4/credentials/ws_x", query, None)


def test_a_teamspace_name_that_reads_as_an_id_is_refused_everywhere_alike() -> None:
    from tilecred._arguments import TEAMSPACE_ID_PREFIX, check_teamspace_name, is_teamspace_id

    assert TEAMSPACE_ID_PREFIX == "ts_"
    assert is_teamspace_id("ts_0123")
    assert not is_teamspace_id("ml")
    assert check_teamspace_name("ml") == "ml"
    with pytest.raises(InvalidArgumentError) as caught:
        check_teamspace_name("ts_ml", "teamspace name")
    assert caught.value.message == "teamspace name 'ts_ml' must not start with 'ts_'"
    with pytest.raises(InvalidArgumentError) as caught:
        check_teamspace_name("a/b", "teamspace name")
    assert caught.value.message == "teamspace name 'a/b' must not contain '/'"
