"""The wire models: field names, keyword-only, omitted defaults, tolerant decoding."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec
import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tilecred import (
    AccessCredential,
    AccessCredentialRole,
    Association,
    AuditRecord,
    AWSCredential,
    AWSRole,
    AzureCredential,
    AzureEntraIDTaskToken,
    AzureEntraIDToken,
    AzureServicePrincipal,
    AzureToken,
    BasicCredential,
    BearerToken,
    CloudProvider,
    Credential,
    CredentialCreateRequest,
    CredentialGetResponse,
    CredentialsListResponse,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
    DatabricksPersonalAccessToken,
    DatabricksServicePrincipalSecret,
    GCPInteroperabilityCredential,
    GCPServiceAccountKey,
    OAuthClientCredential,
    PaginationMetadata,
    SnowflakeServiceUserKey,
    Teamspace,
    TeamspaceUser,
    Token,
    UsageSummary,
    Workspace,
    WorkspaceUser,
)
from tilecred._models import (
    SECRET_FIELD_NAMES,
    ErrorBody,
    ErrorResponse,
    Secret,
    SentEmpty,
    TeamspaceCreateRequest,
    _Model,
    iter_secrets,
)

# Every struct in shared/WIRE.md with its fields, in the order the table lists them.
WIRE_FIELDS: dict[type[_Model], tuple[str, ...]] = {
    AccessCredential: (
        "credential_type", "id", "name", "provider", "provider_default", "created_at",
        "updated_at", "allowed_in_tasks", "status", "credential", "role", "token",
        # tilecred's additions (issue #13), all optional.
        "active", "expires_at", "last_used_at", "last_used_by",
        # issue #20
        "description",
    ),
    Credential: ("aws", "azure", "gcp", "azure_service_principal", "basic", "oauth"),
    AWSCredential: (
        "access_key_id", "secret_access_key", "endpoint", "use_path_style", "session_token",
    ),
    AzureCredential: ("blob_endpoint", "account_name", "account_key"),
    GCPInteroperabilityCredential: ("access_key_id", "secret_access_key"),
    AccessCredentialRole: ("aws",),
    AWSRole: ("role_arn", "external_id", "endpoint", "use_path_style"),
    Token: (
        "azure", "azure_entra_id", "azure_entra_id_task", "gcp", "snowflake", "databricks",
        "bearer", "databricks_pat",
    ),
    AzureToken: ("blob_endpoint", "account_name", "sas_token"),
    AzureEntraIDToken: ("blob_endpoint",),
    AzureEntraIDTaskToken: ("client_id", "tenant_id", "blob_endpoint"),
    GCPServiceAccountKey: ("account_id", "key_id", "key_text"),
    SnowflakeServiceUserKey: (
        "account", "user", "private_key_raw", "private_key_passphrase", "role", "warehouse",
    ),
    DatabricksServicePrincipalSecret: ("host", "client_id", "client_secret"),
    # tilecred's kinds (issue #20).
    AzureServicePrincipal: (
        "tenant_id", "client_id", "client_secret", "account_name", "authority",
    ),
    BasicCredential: (
        "user", "password", "host", "port", "database", "scheme", "params",
    ),
    OAuthClientCredential: (
        "token_url", "client_id", "client_secret", "scopes", "audience", "refresh_token",
    ),
    BearerToken: ("token", "url", "header"),
    DatabricksPersonalAccessToken: ("host", "token"),
    CredentialCreateRequest: (
        "name", "provider", "provider_default", "allowed_in_tasks", "credential", "role", "token",
        "description",
    ),
    CredentialUpdateRequest: (
        "name", "provider_default", "provider", "allowed_in_tasks", "credential", "role", "token",
        "description",
    ),
    CredentialsVerifyRequest: (
        "name", "provider", "provider_default", "allowed_in_tasks", "credential", "role", "token",
        "workspace_id", "teamspace_id",
    ),
    CredentialGetResponse: ("data",),
    CredentialsListResponse: ("data", "pagination_metadata"),
    PaginationMetadata: ("page", "per_page", "total_pages", "total_items"),
    ErrorBody: ("code", "message", "request_id", "validation_error"),
    Teamspace: (
        "teamspace_id", "name", "space_type", "created_at", "created_by", "visibility",
        "description", "icon", "updated_at",
    ),
    TeamspaceUser: (
        "user_id", "username", "display_name", "email", "role", "added_by", "created_at",
    ),
    Workspace: ("workspace_id", "name", "created_at", "created_by", "self"),
    WorkspaceUser: (
        "user_id", "username", "display_name", "email", "role", "added_by", "created_at",
    ),
    TeamspaceCreateRequest: ("name", "visibility", "description"),
    AuditRecord: (
        "at", "actor", "workspace", "teamspace", "credential", "action", "outcome",
        "request_id", "detail",
    ),
    UsageSummary: (
        "actor", "uses", "denied", "failed", "first_at", "last_at", "last_request_id",
    ),
    Association: ("name", "teamspace", "target", "default", "created_at"),
}  # fmt: skip

# The fields marked * in WIRE.md, except secrets (never required in a response).
REQUIRED: dict[type[_Model], set[str]] = {
    AccessCredential: {"credential_type", "id", "name", "provider", "created_at"},
    AWSCredential: {"access_key_id"},
    AWSRole: {"role_arn"},
    AzureToken: {"account_name"},
    AzureEntraIDToken: {"blob_endpoint"},
    AzureEntraIDTaskToken: {"client_id"},
    GCPServiceAccountKey: {"account_id", "key_id"},
    AzureServicePrincipal: {"tenant_id", "client_id"},
    BasicCredential: {"user"},
    OAuthClientCredential: {"token_url", "client_id"},
    DatabricksPersonalAccessToken: {"host"},
    CredentialCreateRequest: {"name", "provider"},
    CredentialsVerifyRequest: {"name", "provider"},
    CredentialGetResponse: {"data"},
    CredentialsListResponse: {"data"},
    PaginationMetadata: {"page", "per_page", "total_pages", "total_items"},
    Teamspace: {"teamspace_id", "name", "space_type", "created_at", "created_by", "visibility"},
    TeamspaceUser: set(WIRE_FIELDS[TeamspaceUser]),
    Workspace: set(WIRE_FIELDS[Workspace]),
    WorkspaceUser: set(WIRE_FIELDS[WorkspaceUser]),
    TeamspaceCreateRequest: {"name", "visibility"},
    AuditRecord: {"at", "actor", "workspace", "action", "outcome"},
    UsageSummary: {"actor", "uses", "denied", "failed", "first_at", "last_at"},
    Association: {"name", "target", "default", "created_at"},
}

SECRETS: dict[type[_Model], set[str]] = {
    AWSCredential: {"secret_access_key", "session_token"},
    AzureCredential: {"account_key"},
    GCPInteroperabilityCredential: {"secret_access_key"},
    AzureToken: {"sas_token"},
    GCPServiceAccountKey: {"key_text"},
    SnowflakeServiceUserKey: {"private_key_raw", "private_key_passphrase"},
    DatabricksServicePrincipalSecret: {"client_secret"},
    AzureServicePrincipal: {"client_secret"},
    BasicCredential: {"password"},
    OAuthClientCredential: {"client_secret", "refresh_token"},
    BearerToken: {"token"},
    DatabricksPersonalAccessToken: {"token"},
}


@pytest.mark.parametrize("model", list(WIRE_FIELDS), ids=lambda m: m.__name__)
def test_fields_are_named_as_on_the_wire(model: type[_Model]) -> None:
    assert model.__struct_fields__ == WIRE_FIELDS[model]
    config = model.__struct_config__
    assert config.omit_defaults is True
    assert config.forbid_unknown_fields is False
    assert config.tag is None
    assert config.array_like is False
    fields = msgspec.structs.fields(model)
    assert all(field.encode_name == field.name for field in fields)
    assert {f.name for f in fields if f.required} == REQUIRED.get(model, set())
    # Keyword-only: the order on the wire is no calling convention.
    with pytest.raises(TypeError, match="positional"):
        model(*["x"] * len(fields))


def test_every_public_model_is_covered() -> None:
    public = {
        obj
        for name in tilecred.__all__
        if isinstance(obj := getattr(tilecred, name), type) and issubclass(obj, _Model)
    }
    assert public <= set(WIRE_FIELDS)
    assert len(public) == 32


@pytest.mark.parametrize("model", list(SECRETS), ids=lambda m: m.__name__)
def test_secret_fields_are_declared(model: type[_Model]) -> None:
    assert set(model.__secret_fields__) == SECRETS[model]
    assert SECRETS[model] <= SECRET_FIELD_NAMES


def test_secret_field_names_are_exactly_the_declared_ones() -> None:
    declared = {name for model in WIRE_FIELDS for name in model.__secret_fields__}
    assert declared == SECRET_FIELD_NAMES
    assert {model for model in WIRE_FIELDS if model.__secret_fields__} == set(SECRETS)


class _Vault(_Model, kw_only=True):
    """A model made only for this test: its marks are all it declares."""

    user: str
    password: Annotated[str | None, Secret(required=True)] = None
    pin: Annotated[str | None, Secret()] = None
    hint: Annotated[str | None, SentEmpty()] = None


def test_marking_a_field_is_all_a_model_declares_about_its_secrets() -> None:
    assert _Vault.__secret_fields__ == ("password", "pin")
    assert _Vault.__required_secrets__ == ("password",)
    assert _Vault.__sent_empty__ == ("hint",)
    # "" from a server reads as None, in secret and sent-empty fields alike.
    empty = b'{"user": "u", "password": "", "pin": "", "hint": ""}'
    decoded = msgspec.json.decode(empty, type=_Vault)
    assert (decoded.password, decoded.pin, decoded.hint) == (None, None, None)
    assert msgspec.json.decode(b'{"user": "", "hint": "h"}', type=_Vault).user == ""
    vault = _Vault(user="u", password=CANARY_SECRET, pin=CANARY_SECRET + "-pin")
    assert repr(vault) == "_Vault(user='u', password='***', pin='***')"
    assert list(iter_secrets(vault)) == [CANARY_SECRET, CANARY_SECRET + "-pin"]


def test_the_marks_of_the_wire_models() -> None:
    required = {m: m.__required_secrets__ for m in WIRE_FIELDS if m.__required_secrets__}
    assert required == {
        AWSCredential: ("secret_access_key",),
        AzureToken: ("sas_token",),
        GCPServiceAccountKey: ("key_text",),
        AzureServicePrincipal: ("client_secret",),
        BasicCredential: ("password",),
        OAuthClientCredential: ("client_secret",),
        BearerToken: ("token",),
        DatabricksPersonalAccessToken: ("token",),
    }
    sent_empty = {m: m.__sent_empty__ for m in WIRE_FIELDS if m.__sent_empty__}
    assert sent_empty == {
        AWSCredential: ("secret_access_key",),
        GCPInteroperabilityCredential: ("secret_access_key",),
        AWSRole: ("external_id",),
        AzureToken: ("sas_token",),
        GCPServiceAccountKey: ("key_text",),
    }
    # The first secret field is the secret; the second, where there is one, its passphrase.
    snowflake = SnowflakeServiceUserKey.__secret_fields__
    assert snowflake == ("private_key_raw", "private_key_passphrase")


def test_the_server_error_body_is_the_client_one_with_fields_required() -> None:
    # One model family: what tilecred serve sends is what the client reads.
    from tilecred._server._wire import error_body

    assert issubclass(ErrorResponse, ErrorBody)
    required = {f.name for f in msgspec.structs.fields(ErrorResponse) if f.required}
    assert required == {"code", "message", "request_id"}
    assert not any(f.required for f in msgspec.structs.fields(ErrorBody))
    sent = error_body(422, "bad role", "r-1", field="$.role.aws.role_arn")
    read = msgspec.json.decode(sent, type=ErrorBody)
    assert (read.code, read.message, read.request_id) == (422, "bad role", "r-1")
    assert read.validation_error is not None
    assert [(f.field, f.message) for f in read.validation_error.fields] == [
        ("$.role.aws.role_arn", "bad role")
    ]


def test_enums() -> None:
    assert [p.value for p in CloudProvider] == [
        "AWS", "AZURE", "GCP", "SNOWFLAKE", "DATABRICKS", "GENERIC",
    ]  # fmt: skip
    assert [t.value for t in CredentialType] == ["workspace", "teamspace"]
    assert str(CloudProvider.AZURE) == "AZURE"
    assert f"{CredentialType.TEAMSPACE}" == "teamspace"
    assert msgspec.json.encode(CloudProvider.GCP) == b'"GCP"'


def test_unset_fields_are_omitted_on_encode() -> None:
    assert msgspec.json.encode(CredentialUpdateRequest()) == b"{}"
    assert msgspec.json.encode(CredentialUpdateRequest(allowed_in_tasks=False)) == (
        b'{"allowed_in_tasks":false}'
    )
    assert msgspec.json.encode(CredentialCreateRequest(name="n", provider=CloudProvider.AWS)) == (
        b'{"name":"n","provider":"AWS"}'
    )
    # A required field with a common value still reaches the wire.
    assert msgspec.json.encode(TeamspaceCreateRequest(name="ml", visibility="private")) == (
        b'{"name":"ml","visibility":"private"}'
    )


def test_unknown_response_fields_are_tolerated() -> None:
    body = {
        "data": [
            {
                "credential_type": "teamspace",
                "id": "cred_1",
                "name": "lake",
                "provider": "AWS",
                "created_at": "2026-11-01T10:00:00Z",
                "labels": ["added", "later"],
                "credential": {
                    "aws": {"access_key_id": "AKIA1", "secret_access_key": "", "region": "x"},
                    "future_cloud": {"k": 1},
                },
            }
        ],
        "pagination_metadata": {
            "page": 1, "per_page": 10, "total_pages": 1, "total_items": 1, "cursor": "abc",
        },
        "links": {"next": None},
    }  # fmt: skip
    decoded = msgspec.json.decode(msgspec.json.encode(body), type=CredentialsListResponse)
    assert decoded == CredentialsListResponse(
        data=[
            AccessCredential(
                credential_type=CredentialType.TEAMSPACE,
                id="cred_1",
                name="lake",
                provider=CloudProvider.AWS,
                created_at=datetime.datetime(2026, 11, 1, 10, tzinfo=datetime.UTC),
                credential=Credential(aws=AWSCredential(access_key_id="AKIA1")),
            )
        ],
        pagination_metadata=PaginationMetadata(page=1, per_page=10, total_pages=1, total_items=1),
    )


@pytest.mark.parametrize(
    ("model", "field"),
    [(model, field) for model, fields in SECRETS.items() for field in sorted(fields)],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_empty_secret_in_a_response_reads_as_none(model: type[_Model], field: str) -> None:
    required = {f.name: "x" for f in msgspec.structs.fields(model) if f.required}
    decoded = msgspec.json.decode(msgspec.json.encode({**required, field: ""}), type=model)
    assert getattr(decoded, field) is None
    assert msgspec.json.encode(decoded) == msgspec.json.encode(required)
    # A real value stays readable as a plain attribute.
    kept = msgspec.json.decode(msgspec.json.encode({**required, field: "v4lue"}), type=model)
    assert getattr(kept, field) == "v4lue"


def test_empty_external_id_reads_as_none_but_other_empty_fields_stay() -> None:
    role = msgspec.json.decode(b'{"role_arn":"arn:x","external_id":"","endpoint":""}', type=AWSRole)
    assert role.external_id is None
    assert role.endpoint == ""


def test_iter_secrets_finds_every_secret_in_nested_models() -> None:
    request = CredentialCreateRequest(
        name="n",
        provider=CloudProvider.SNOWFLAKE,
        token=Token(
            snowflake=SnowflakeServiceUserKey(
                user="u", private_key_raw="PEM-VALUE", private_key_passphrase="PASS-VALUE"
            )
        ),
    )
    assert sorted(iter_secrets(request)) == ["PASS-VALUE", "PEM-VALUE"]
    assert list(iter_secrets([request, None])) == list(iter_secrets(request))


CREATED = {
    "credential_type": "workspace",
    "id": "cred_0123",
    "created_at": "2026-11-01T10:00:00Z",
    "updated_at": "2026-11-02T11:30:00+01:00",
    "provider_default": True,
    "allowed_in_tasks": False,
    "status": "verified",
}

# One example of every kind of secret: (provider, container field, wire value).
KINDS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "aws-keys": ("AWS", "credential", {"aws": {
        "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "wJalr/K7MDENG",
        "endpoint": "https://s3.example.com", "use_path_style": True}}),
    "aws-role": ("AWS", "role", {"aws": {
        "role_arn": "arn:aws:iam::123456789012:role/demo", "external_id": "ext-1",
        "endpoint": "https://sts.example.com", "use_path_style": False}}),
    "azure-key": ("AZURE", "credential", {"azure": {
        "blob_endpoint": "https://acct.blob.core.windows.net", "account_name": "acct",
        "account_key": "a2V5LXZhbHVl"}}),
    "azure-sas": ("AZURE", "token", {"azure": {
        "blob_endpoint": "https://acct.blob.core.windows.net", "account_name": "acct",
        "sas_token": "sv=2024-01-01&sig=abc"}}),
    "entra-id": ("AZURE", "token", {"azure_entra_id": {
        "blob_endpoint": "https://acct.blob.core.windows.net"}}),
    "entra-id-task": ("AZURE", "token", {"azure_entra_id_task": {
        "client_id": "00000000-0000-0000-0000-000000000001", "tenant_id": "tenant-9",
        "blob_endpoint": "https://acct.blob.core.windows.net"}}),
    "gcp-hmac": ("GCP", "credential", {"gcp": {
        "access_key_id": "GOOG1EXAMPLE", "secret_access_key": "hmac-secret"}}),
    "gcp-service-account": ("GCP", "token", {"gcp": {
        "account_id": "svc@proj.iam.gserviceaccount.com", "key_id": "k1",
        "key_text": '{"type": "service_account"}'}}),
    "snowflake": ("SNOWFLAKE", "token", {"snowflake": {
        "account": "org-acct", "user": "svc", "private_key_raw": "-----BEGIN PRIVATE KEY-----",
        "private_key_passphrase": "pp", "role": "LOADER", "warehouse": "WH"}}),
    "databricks": ("DATABRICKS", "token", {"databricks": {
        "host": "https://dbc.cloud.databricks.com", "client_id": "sp-1",
        "client_secret": "dose-secret"}}),
}  # fmt: skip
CONTAINERS: dict[str, type[_Model]] = {
    "credential": Credential,
    "role": AccessCredentialRole,
    "token": Token,
}


def _without_secrets(value: Any) -> Any:
    """The wire value as a server returns it: secrets as "" (external_id too)."""
    if isinstance(value, dict):
        return {
            key: "" if key in SECRET_FIELD_NAMES else _without_secrets(inner)
            for key, inner in value.items()
        }
    return value


def _none_secrets(value: Any) -> Any:
    """The wire value as tilecred re-encodes a response: no secrets at all."""
    if isinstance(value, dict):
        return {k: _none_secrets(v) for k, v in value.items() if k not in SECRET_FIELD_NAMES}
    return value


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_kind_round_trips(kind: str) -> None:
    provider, field, wire = KINDS[kind]
    container = msgspec.convert(wire, CONTAINERS[field])
    secret: dict[str, Any] = {field: container}
    # Requests: what the struct encodes is exactly the wire value, and back.
    create = CredentialCreateRequest(name=kind, provider=CloudProvider(provider), **secret)
    body = {"name": kind, "provider": provider, field: wire}
    assert msgspec.json.decode(msgspec.json.encode(create)) == body
    assert msgspec.json.decode(msgspec.json.encode(body), type=CredentialCreateRequest) == create
    verify = CredentialsVerifyRequest(
        name=kind, provider=CloudProvider(provider), teamspace_id="ts_1", **secret
    )
    assert msgspec.json.decode(msgspec.json.encode(verify)) == {**body, "teamspace_id": "ts_1"}
    update = CredentialUpdateRequest(**secret)
    assert msgspec.json.decode(msgspec.json.encode(update)) == {field: wire}

    # Responses: secrets come back as "" and read as None; the rest is kept.
    response = {"data": {**CREATED, "name": kind, "provider": provider,
                         field: _without_secrets(wire)}}  # fmt: skip
    got = msgspec.json.decode(msgspec.json.encode(response), type=CredentialGetResponse).data
    assert got.provider is CloudProvider(provider)
    assert got.credential_type is CredentialType.WORKSPACE
    assert got.created_at == datetime.datetime(2026, 11, 1, 10, tzinfo=datetime.UTC)
    assert got.updated_at == datetime.datetime(2026, 11, 2, 10, 30, tzinfo=datetime.UTC)
    assert (got.provider_default, got.allowed_in_tasks, got.status) == (True, False, "verified")
    assert list(iter_secrets(got)) == []
    assert msgspec.to_builtins(getattr(got, field)) == _none_secrets(wire)
