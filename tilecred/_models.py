"""The wire models of TileDB's v4 credentials API, as msgspec Structs.

Field names are exactly those on the wire. Unset fields are omitted when a
request is encoded, and unknown fields in a response are ignored, so a server
that adds fields does not break a client.

Secret fields are write-only: a response never carries them (a server sends
``""`` where TileDB's client insists on the key, and that reads back as
``None``), and they print as ``'***'`` wherever a struct is shown.
"""

import datetime
import enum
from collections.abc import Iterator
from typing import Any, ClassVar

import msgspec

__all__ = [
    "AWSCredential",
    "AWSRole",
    "AccessCredential",
    "AccessCredentialRole",
    "AuditListResponse",
    "AuditRecord",
    "AzureCredential",
    "AzureEntraIDTaskToken",
    "AzureEntraIDToken",
    "AzureToken",
    "CloudProvider",
    "Credential",
    "CredentialCreateRequest",
    "CredentialGetResponse",
    "CredentialType",
    "CredentialUpdateRequest",
    "CredentialsListResponse",
    "CredentialsVerifyRequest",
    "DatabricksServicePrincipalSecret",
    "ErrorBody",
    "GCPInteroperabilityCredential",
    "GCPServiceAccountKey",
    "PaginationMetadata",
    "SnowflakeServiceUserKey",
    "Teamspace",
    "TeamspaceUser",
    "Token",
    "Workspace",
    "WorkspaceUser",
]

MASK = "***"


class CloudProvider(enum.StrEnum):
    """The cloud a credential is for."""

    AWS = "AWS"
    AZURE = "AZURE"
    GCP = "GCP"
    SNOWFLAKE = "SNOWFLAKE"
    DATABRICKS = "DATABRICKS"


class CredentialType(enum.StrEnum):
    """Whether a credential lives at workspace or teamspace level."""

    WORKSPACE = "workspace"
    TEAMSPACE = "teamspace"


class _Model(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every model: keyword-only, unset fields omitted, secrets masked."""

    # Names of this struct's fields that hold secrets.
    __secret_fields__: ClassVar[frozenset[str]] = frozenset()

    def _shown_fields(self) -> list[tuple[str, Any]]:
        shown = []
        for field in self.__struct_fields__:
            value = getattr(self, field)
            if value is None:
                continue
            if field in self.__secret_fields__:
                value = _Masked()
            shown.append((field, value))
        return shown

    def __repr__(self) -> str:
        body = ", ".join(f"{field}={value!r}" for field, value in self._shown_fields())
        return f"{type(self).__name__}({body})"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # msgspec's own __rich_repr__ would yield the raw values.
        return self._shown_fields()

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's pretty printer looks here before __repr__.
        printer.text(repr(self))


class _SecretModel(_Model, kw_only=True):
    """A model with secret fields, where ``""`` from a server means "not returned".

    A server sends ``""`` in a secret field because TileDB's client insists on
    the key. Each subclass clears its own fields in ``__post_init__`` by name:
    msgspec calls it for every struct it decodes, and a loop over
    ``__secret_fields__`` with getattr/setattr costs 2.5 times as much per
    struct, most of what a listing costs above bare msgspec.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__post_init__" not in cls.__dict__:
            raise TypeError(f"{cls.__name__} must clear its secret fields in __post_init__")


class _Masked:
    """Stands in for a secret when a struct is displayed."""

    __slots__ = ()

    def __repr__(self) -> str:
        return repr(MASK)


# -- secrets: credentials --------------------------------------------------------


class AWSCredential(_SecretModel, kw_only=True):
    """An AWS access key pair."""

    __secret_fields__ = frozenset({"secret_access_key"})

    access_key_id: str
    secret_access_key: str | None = None
    endpoint: str | None = None
    use_path_style: bool | None = None

    def __post_init__(self) -> None:
        if self.secret_access_key == "":
            self.secret_access_key = None


class AzureCredential(_SecretModel, kw_only=True):
    """An Azure storage account key."""

    __secret_fields__ = frozenset({"account_key"})

    blob_endpoint: str | None = None
    account_name: str | None = None
    account_key: str | None = None

    def __post_init__(self) -> None:
        if self.account_key == "":
            self.account_key = None


class GCPInteroperabilityCredential(_SecretModel, kw_only=True):
    """A GCP HMAC (interoperability) key pair."""

    __secret_fields__ = frozenset({"secret_access_key"})

    access_key_id: str | None = None
    secret_access_key: str | None = None

    def __post_init__(self) -> None:
        if self.secret_access_key == "":
            self.secret_access_key = None


class Credential(_Model, kw_only=True):
    """A key-based secret: exactly one of ``aws``, ``azure`` or ``gcp``."""

    aws: AWSCredential | None = None
    azure: AzureCredential | None = None
    gcp: GCPInteroperabilityCredential | None = None


# -- secrets: roles -------------------------------------------------------------


class AWSRole(_Model, kw_only=True):
    """An AWS IAM role to assume."""

    role_arn: str
    external_id: str | None = None
    endpoint: str | None = None
    use_path_style: bool | None = None

    def __post_init__(self) -> None:
        # TileDB's client insists on external_id in responses, so a server
        # sends "" when the role has none.
        if self.external_id == "":
            self.external_id = None


class AccessCredentialRole(_Model, kw_only=True):
    """A role-based secret: ``aws``."""

    aws: AWSRole | None = None


# -- secrets: tokens ------------------------------------------------------------


class AzureToken(_SecretModel, kw_only=True):
    """An Azure shared access signature."""

    __secret_fields__ = frozenset({"sas_token"})

    blob_endpoint: str | None = None
    account_name: str
    sas_token: str | None = None

    def __post_init__(self) -> None:
        if self.sas_token == "":
            self.sas_token = None


class AzureEntraIDToken(_Model, kw_only=True):
    """Azure Entra ID access to a blob endpoint (https only)."""

    blob_endpoint: str


class AzureEntraIDTaskToken(_Model, kw_only=True):
    """Azure Entra ID access for tasks, as an application client id."""

    client_id: str
    tenant_id: str | None = None
    blob_endpoint: str | None = None


class GCPServiceAccountKey(_SecretModel, kw_only=True):
    """A GCP service-account key; ``key_text`` is the JSON key file."""

    __secret_fields__ = frozenset({"key_text"})

    account_id: str
    key_id: str
    key_text: str | None = None

    def __post_init__(self) -> None:
        if self.key_text == "":
            self.key_text = None


class SnowflakeServiceUserKey(_SecretModel, kw_only=True):
    """A Snowflake service user's key pair."""

    __secret_fields__ = frozenset({"private_key_raw", "private_key_passphrase"})

    account: str | None = None
    user: str | None = None
    private_key_raw: str | None = None
    private_key_passphrase: str | None = None
    role: str | None = None
    warehouse: str | None = None

    def __post_init__(self) -> None:
        if self.private_key_raw == "":
            self.private_key_raw = None
        if self.private_key_passphrase == "":
            self.private_key_passphrase = None


class DatabricksServicePrincipalSecret(_SecretModel, kw_only=True):
    """A Databricks service principal's OAuth secret."""

    __secret_fields__ = frozenset({"client_secret"})

    host: str | None = None
    client_id: str | None = None
    client_secret: str | None = None

    def __post_init__(self) -> None:
        if self.client_secret == "":
            self.client_secret = None


class Token(_Model, kw_only=True):
    """A token-based secret: exactly one member."""

    azure: AzureToken | None = None
    azure_entra_id: AzureEntraIDToken | None = None
    azure_entra_id_task: AzureEntraIDTaskToken | None = None
    gcp: GCPServiceAccountKey | None = None
    snowflake: SnowflakeServiceUserKey | None = None
    databricks: DatabricksServicePrincipalSecret | None = None


# -- credentials ----------------------------------------------------------------


class AccessCredential(_Model, kw_only=True):
    """A stored credential, as get and list return it (secrets not included)."""

    credential_type: CredentialType
    id: str
    name: str
    provider: CloudProvider
    provider_default: bool | None = None
    created_at: datetime.datetime
    updated_at: datetime.datetime | None = None
    allowed_in_tasks: bool | None = None
    status: str | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None


class CredentialCreateRequest(_Model, kw_only=True):
    """The body of a create request."""

    name: str
    provider: CloudProvider
    provider_default: bool | None = None
    allowed_in_tasks: bool | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None


class CredentialUpdateRequest(_Model, kw_only=True):
    """The body of an update request; every field optional."""

    name: str | None = None
    provider_default: bool | None = None
    provider: CloudProvider | None = None
    allowed_in_tasks: bool | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None


class CredentialsVerifyRequest(_Model, kw_only=True):
    """The body of a verify request."""

    name: str
    provider: CloudProvider
    provider_default: bool | None = None
    allowed_in_tasks: bool | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None
    workspace_id: str | None = None
    teamspace_id: str | None = None


class PaginationMetadata(_Model, kw_only=True):
    """Where a page sits in a listing."""

    page: int
    per_page: int
    total_pages: int
    total_items: int


class CredentialGetResponse(_Model, kw_only=True):
    """The body of a get response."""

    data: AccessCredential


class CredentialsListResponse(_Model, kw_only=True):
    """The body of a list response."""

    data: list[AccessCredential]
    pagination_metadata: PaginationMetadata | None = None


# -- errors ---------------------------------------------------------------------


class ValidationField(_Model, kw_only=True):
    """One field a server rejected."""

    field: str
    message: str


class ValidationError(_Model, kw_only=True):
    """The fields a server rejected."""

    fields: list[ValidationField] = msgspec.field(default_factory=list)


class ErrorBody(_Model, kw_only=True):
    """An error response body.

    Every field is optional here so that a partial body from a proxy or an
    older server still yields what it does carry.
    """

    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    validation_error: ValidationError | None = None


# -- workspaces and teamspaces --------------------------------------------------


class TeamspaceUser(_Model, kw_only=True):
    """A member of a teamspace."""

    user_id: str
    username: str
    display_name: str
    email: str
    role: str
    added_by: str
    created_at: datetime.datetime


class Teamspace(_Model, kw_only=True):
    """A teamspace: a scope for credentials inside a workspace."""

    teamspace_id: str
    name: str
    space_type: str
    created_at: datetime.datetime
    created_by: TeamspaceUser
    visibility: str
    description: str | None = None
    icon: str | None = None
    updated_at: datetime.datetime | None = None


class WorkspaceUser(_Model, kw_only=True):
    """A member of a workspace."""

    user_id: str
    username: str
    display_name: str
    email: str
    role: str
    added_by: str
    created_at: datetime.datetime


class Workspace(_Model, kw_only=True):
    """A workspace."""

    workspace_id: str
    name: str
    created_at: datetime.datetime
    created_by: WorkspaceUser
    self: WorkspaceUser


class TeamspaceResponse(_Model, kw_only=True):
    """The body of a teamspace lookup or create response."""

    data: Teamspace


class TeamspaceListResponse(_Model, kw_only=True):
    """The body of a teamspace list response."""

    data: list[Teamspace]


class WorkspaceResponse(_Model, kw_only=True):
    """The body of a workspace lookup response."""

    data: Workspace


class TeamspaceCreateRequest(_Model, kw_only=True):
    """The body of a teamspace create request."""

    name: str
    # No default: omit_defaults would drop a default value from the request,
    # and the field is required on the wire.
    visibility: str
    description: str | None = None


# -- the audit log ----------------------------------------------------------------


class AuditRecord(_Model, kw_only=True):
    """One entry of the append-only audit log: who did what to which credential.

    ``actor`` is ``"local:<os user>"`` for the library on the local store, or
    ``"token:<id> (<token name>)"`` for a call to ``tilecred serve``.
    ``action`` is ``create``, ``update``, ``delete``, ``verify``, ``use``,
    ``token.create`` or ``token.revoke``, or, for a request a server refused,
    the route's action (``get``, ``list``, ``audit``, ``teamspace.create``…);
    ``outcome`` is ``ok``, ``denied`` (refused: not allowed) or ``failed``. ``detail`` says why, or
    what changed, by field name; it never holds a secret.
    """

    at: datetime.datetime
    actor: str
    workspace: str
    teamspace: str | None = None
    credential: str | None = None
    action: str
    outcome: str
    request_id: str | None = None
    detail: str | None = None


class AuditListResponse(_Model, kw_only=True):
    """The body of an audit log response: records oldest first."""

    data: list[AuditRecord]


# Which member of each secret container belongs to which provider.
MEMBER_PROVIDERS: dict[type[_Model], dict[str, CloudProvider]] = {
    Credential: {
        "aws": CloudProvider.AWS,
        "azure": CloudProvider.AZURE,
        "gcp": CloudProvider.GCP,
    },
    AccessCredentialRole: {"aws": CloudProvider.AWS},
    Token: {
        "azure": CloudProvider.AZURE,
        "azure_entra_id": CloudProvider.AZURE,
        "azure_entra_id_task": CloudProvider.AZURE,
        "gcp": CloudProvider.GCP,
        "snowflake": CloudProvider.SNOWFLAKE,
        "databricks": CloudProvider.DATABRICKS,
    },
}

# Secret fields a create or verify request must carry.
REQUIRED_SECRETS: dict[type[_Model], tuple[str, ...]] = {
    AWSCredential: ("secret_access_key",),
    AzureToken: ("sas_token",),
    GCPServiceAccountKey: ("key_text",),
}

SECRET_FIELD_NAMES: frozenset[str] = frozenset(
    {
        "secret_access_key",
        "account_key",
        "sas_token",
        "key_text",
        "private_key_raw",
        "private_key_passphrase",
        "client_secret",
    }
)


def iter_secrets(value: object) -> Iterator[str]:
    """Yield every secret string held anywhere inside a model."""
    if isinstance(value, _Model):
        for field in value.__struct_fields__:
            inner = getattr(value, field)
            if field in value.__secret_fields__ and isinstance(inner, str):
                yield inner
            else:
                yield from iter_secrets(inner)
    elif isinstance(value, list):
        for item in value:
            yield from iter_secrets(item)
