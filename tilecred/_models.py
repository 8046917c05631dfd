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
import types
import typing
from collections.abc import Callable, Iterator
from typing import Annotated, Any, ClassVar

import msgspec

from ._display import Masked, Plain, credentials_html, shown
from ._limits import MAX_DESCRIPTION

__all__ = [
    "AWSCredential",
    "AWSRole",
    "AccessCredential",
    "AccessCredentialRole",
    "Association",
    "AssociationListResponse",
    "AssociationRequest",
    "AssociationResponse",
    "AuditListResponse",
    "AuditRecord",
    "AzureCredential",
    "AzureEntraIDTaskToken",
    "AzureEntraIDToken",
    "AzureServicePrincipal",
    "AzureToken",
    "BasicCredential",
    "BearerToken",
    "CloudProvider",
    "Credential",
    "CredentialCreateRequest",
    "CredentialGetResponse",
    "CredentialType",
    "CredentialUpdateRequest",
    "CredentialsListResponse",
    "CredentialsVerifyRequest",
    "DatabricksPersonalAccessToken",
    "DatabricksServicePrincipalSecret",
    "ErrorBody",
    "ErrorResponse",
    "GCPInteroperabilityCredential",
    "GCPServiceAccountKey",
    "OAuthClientCredential",
    "PaginationMetadata",
    "Secret",
    "SentEmpty",
    "SnowflakeServiceUserKey",
    "Teamspace",
    "TeamspaceUser",
    "Token",
    "UsageSummary",
    "UsageSummaryResponse",
    "Workspace",
    "WorkspaceUser",
]


class CloudProvider(enum.StrEnum):
    """The cloud a credential is for."""

    AWS = "AWS"
    AZURE = "AZURE"
    GCP = "GCP"
    SNOWFLAKE = "SNOWFLAKE"
    DATABRICKS = "DATABRICKS"
    #: tilecred's extension: database logins, API tokens and OAuth clients,
    #: for any service. TileDB's service and client do not know it.
    GENERIC = "GENERIC"


class CredentialType(enum.StrEnum):
    """Whether a credential lives at workspace or teamspace level."""

    WORKSPACE = "workspace"
    TEAMSPACE = "teamspace"


# -- field metadata: the one place that says which fields are secret -----------


class Secret:
    """Field metadata (``Annotated[str | None, Secret()]``): the field holds a secret.

    A secret prints as ``'***'``, never comes back in a response, is sealed
    by the local store and blanked by the server; ``""`` from a server reads
    as ``None``. Everything that treats secrets differently reads this mark
    (``__secret_fields__`` of each model), so it is written nowhere else.

    Parameters:
        required: a create or verify request must carry it (checked before sending).
    """

    __slots__ = ("required",)

    def __init__(self, *, required: bool = False) -> None:
        self.required = required

    def __repr__(self) -> str:
        return "Secret(required=True)" if self.required else "Secret()"


class SentEmpty:
    """Field metadata: responses carry this key even without a value.

    TileDB's client rejects a response that lacks it, so a server sends
    ``""`` when it has nothing to give (a secret, or a role's missing
    ``external_id``), and tilecred reads that ``""`` back as ``None``.
    """

    __slots__ = ()

    def __repr__(self) -> str:
        return "SentEmpty()"


def _marked_fields(cls: type) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
    """The fields of ``cls`` marked secret, required secret, and sent empty, in order."""
    secret: list[str] = []
    required: list[str] = []
    sent_empty: list[str] = []
    # The classes' own annotations, base first so a subclass's redefinition
    # wins: cheaper at import than typing.get_type_hints or inspect (not
    # imported otherwise). String annotations (``from __future__ import
    # annotations`` in the defining module) are resolved the slow way.
    hints: dict[str, Any] = {}
    for klass in reversed(cls.__mro__):
        hints.update(klass.__dict__.get("__annotations__", {}))  # noqa: RUF063
    if any(isinstance(hint, str) for hint in hints.values()):
        hints = typing.get_type_hints(cls, include_extras=True)
    for name, hint in hints.items():
        for mark in getattr(hint, "__metadata__", ()):
            if isinstance(mark, Secret):
                secret.append(name)
                if mark.required:
                    required.append(name)
            elif isinstance(mark, SentEmpty):
                sent_empty.append(name)
    return tuple(secret), tuple(required), tuple(sent_empty)


def _clear_one(self: Any) -> None:
    if self.FIELD_1 == "":
        self.FIELD_1 = None


def _clear_two(self: Any) -> None:
    if self.FIELD_1 == "":
        self.FIELD_1 = None
    if self.FIELD_2 == "":
        self.FIELD_2 = None


def _empty_to_none(fields: tuple[str, ...]) -> Callable[[Any], None]:
    """A ``__post_init__`` that turns ``""`` into ``None`` in ``fields``.

    msgspec calls ``__post_init__`` for every struct it decodes, so this is on
    the hot path of every listing. For one or two fields (every model here)
    it is a template above with the attribute names swapped in: the same
    bytecode as a hand-written hook, without the cost of compiling source at
    import. More fields get a loop, which costs more per struct (see
    docs/benchmarks.md).
    """
    template = {1: _clear_one, 2: _clear_two}.get(len(fields))
    if template is not None:
        code = template.__code__
        names = tuple(fields[int(name[-1]) - 1] for name in code.co_names)
        return types.FunctionType(code.replace(co_names=names), {}, "__post_init__")

    def __post_init__(self: Any) -> None:
        for field in fields:
            if getattr(self, field) == "":
                setattr(self, field, None)

    return __post_init__


class _Model(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Base of every model: keyword-only, unset fields omitted, secrets masked."""

    # Worked out from the fields' metadata when each subclass is made, in field order.
    __secret_fields__: ClassVar[tuple[str, ...]] = ()
    # The secret fields a create or verify request must carry.
    __required_secrets__: ClassVar[tuple[str, ...]] = ()
    # Fields a server sends as "" when it has no value for them.
    __sent_empty__: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.__secret_fields__, cls.__required_secrets__, cls.__sent_empty__ = _marked_fields(cls)
        cleared = tuple(dict.fromkeys(cls.__secret_fields__ + cls.__sent_empty__))
        if cleared:
            # Set here, while msgspec is still making the class: it looks
            # ``__post_init__`` up once, when the class is created.
            cls.__post_init__ = _empty_to_none(cleared)  # type: ignore[attr-defined]

    def _shown_fields(self) -> list[tuple[str, Any]]:
        shown = []
        for field in self.__struct_fields__:
            value = getattr(self, field)
            if value is None:
                continue
            if field in self.__secret_fields__:
                value = Masked()
            shown.append((field, value))
        return shown

    def __repr__(self) -> str:
        body = ", ".join(f"{field}={shown(value)}" for field, value in self._shown_fields())
        return f"{type(self).__name__}({body})"

    __str__ = __repr__

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        # msgspec's own __rich_repr__ would yield the raw values.
        return [
            (field, Plain(value) if isinstance(value, datetime.datetime | enum.Enum) else value)
            for field, value in self._shown_fields()
        ]

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        # IPython's pretty printer looks here before __repr__.
        printer.text(repr(self))


# -- secrets: credentials --------------------------------------------------------


class AWSCredential(_Model, kw_only=True):
    """An AWS access key pair."""

    access_key_id: str
    secret_access_key: Annotated[str | None, Secret(required=True), SentEmpty()] = None
    endpoint: str | None = None
    use_path_style: bool | None = None
    # tilecred's addition: the third part of temporary (STS) keys.
    session_token: Annotated[str | None, Secret()] = None


class AzureCredential(_Model, kw_only=True):
    """An Azure storage account key."""

    blob_endpoint: str | None = None
    account_name: str | None = None
    account_key: Annotated[str | None, Secret()] = None


class GCPInteroperabilityCredential(_Model, kw_only=True):
    """A GCP HMAC (interoperability) key pair."""

    access_key_id: str | None = None
    secret_access_key: Annotated[str | None, Secret(), SentEmpty()] = None


class AzureServicePrincipal(_Model, kw_only=True):
    """An Azure service principal's client secret (Entra ID), for storage or any Azure API.

    ``authority`` is the Entra ID host when it is not the public cloud's
    (``login.microsoftonline.us``); ``account_name`` the storage account it is for.
    """

    tenant_id: str
    client_id: str
    client_secret: Annotated[str | None, Secret(required=True)] = None
    account_name: str | None = None
    authority: str | None = None


class BasicCredential(_Model, kw_only=True):
    """A user name and password, and where they log in: a database, a warehouse, an API.

    ``scheme`` names the service (``postgresql``, ``mysql``, ``snowflake``,
    ``mssql``, ``http``…) and ``params`` the URL's query (``sslmode``…).
    """

    user: str
    password: Annotated[str | None, Secret(required=True)] = None
    host: str | None = None
    port: int | None = None
    database: str | None = None
    scheme: str | None = None
    params: dict[str, str] | None = None


class OAuthClientCredential(_Model, kw_only=True):
    """An OAuth 2.0 client: what gets an access token from ``token_url``.

    The client-credentials grant, or the refresh-token grant when a
    ``refresh_token`` is stored; ``scopes`` are sent space-separated and
    ``audience`` as a form field when set.
    """

    token_url: str
    client_id: str
    client_secret: Annotated[str | None, Secret(required=True)] = None
    scopes: list[str] | None = None
    audience: str | None = None
    refresh_token: Annotated[str | None, Secret()] = None


class Credential(_Model, kw_only=True):
    """A key-based secret: exactly one member.

    ``aws``, ``azure`` and ``gcp`` are TileDB's; ``azure_service_principal``,
    ``basic`` and ``oauth`` are tilecred's.
    """

    aws: AWSCredential | None = None
    azure: AzureCredential | None = None
    gcp: GCPInteroperabilityCredential | None = None
    azure_service_principal: AzureServicePrincipal | None = None
    basic: BasicCredential | None = None
    oauth: OAuthClientCredential | None = None


# -- secrets: roles -------------------------------------------------------------


class AWSRole(_Model, kw_only=True):
    """An AWS IAM role to assume."""

    role_arn: str
    external_id: Annotated[str | None, SentEmpty()] = None
    endpoint: str | None = None
    use_path_style: bool | None = None


class AccessCredentialRole(_Model, kw_only=True):
    """A role-based secret: ``aws``."""

    aws: AWSRole | None = None


# -- secrets: tokens ------------------------------------------------------------


class AzureToken(_Model, kw_only=True):
    """An Azure shared access signature."""

    blob_endpoint: str | None = None
    account_name: str
    sas_token: Annotated[str | None, Secret(required=True), SentEmpty()] = None


class AzureEntraIDToken(_Model, kw_only=True):
    """Azure Entra ID access to a blob endpoint (https only)."""

    blob_endpoint: str


class AzureEntraIDTaskToken(_Model, kw_only=True):
    """Azure Entra ID access for tasks, as an application client id."""

    client_id: str
    tenant_id: str | None = None
    blob_endpoint: str | None = None


class GCPServiceAccountKey(_Model, kw_only=True):
    """A GCP service-account key; ``key_text`` is the JSON key file."""

    account_id: str
    key_id: str
    key_text: Annotated[str | None, Secret(required=True), SentEmpty()] = None


class SnowflakeServiceUserKey(_Model, kw_only=True):
    """A Snowflake service user's key pair."""

    account: str | None = None
    user: str | None = None
    private_key_raw: Annotated[str | None, Secret()] = None
    private_key_passphrase: Annotated[str | None, Secret()] = None
    role: str | None = None
    warehouse: str | None = None


class DatabricksServicePrincipalSecret(_Model, kw_only=True):
    """A Databricks service principal's OAuth secret."""

    host: str | None = None
    client_id: str | None = None
    client_secret: Annotated[str | None, Secret()] = None


class BearerToken(_Model, kw_only=True):
    """An API token sent in a header: ``Authorization: Bearer <token>``, or
    ``<header>: <token>`` when ``header`` is set. ``url`` is the API it is for."""

    token: Annotated[str | None, Secret(required=True)] = None
    url: str | None = None
    header: str | None = None


class DatabricksPersonalAccessToken(_Model, kw_only=True):
    """A Databricks personal access token for one workspace (``host``)."""

    host: str
    token: Annotated[str | None, Secret(required=True)] = None


class Token(_Model, kw_only=True):
    """A token-based secret: exactly one member.

    ``bearer`` and ``databricks_pat`` are tilecred's; the others TileDB's.
    """

    azure: AzureToken | None = None
    azure_entra_id: AzureEntraIDToken | None = None
    azure_entra_id_task: AzureEntraIDTaskToken | None = None
    gcp: GCPServiceAccountKey | None = None
    snowflake: SnowflakeServiceUserKey | None = None
    databricks: DatabricksServicePrincipalSecret | None = None
    bearer: BearerToken | None = None
    databricks_pat: DatabricksPersonalAccessToken | None = None


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
    # tilecred's additions (issue #13), all optional so that answers from
    # TileDB's service, which has none of them, still decode. tilecred always
    # sends ``active``; the others are omitted when not known.
    active: bool | None = None
    expires_at: datetime.datetime | None = None
    last_used_at: datetime.datetime | None = None
    last_used_by: str | None = None
    # tilecred's addition (issue #20): what the credential is for, in words.
    description: str | None = None

    def _repr_html_(self) -> str:
        # Jupyter shows this instead of the repr: one row of the credential table.
        return credentials_html([self])


# A credential's description, as a request carries it: the limit is checked
# wherever a request is decoded or converted (library and server alike).
Description = Annotated[str, msgspec.Meta(max_length=MAX_DESCRIPTION)]


class CredentialCreateRequest(_Model, kw_only=True):
    """The body of a create request."""

    name: str
    provider: CloudProvider
    provider_default: bool | None = None
    allowed_in_tasks: bool | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None
    description: Description | None = None


class CredentialUpdateRequest(_Model, kw_only=True):
    """The body of an update request; every field optional.

    ``description=""`` removes the description.
    """

    name: str | None = None
    provider_default: bool | None = None
    provider: CloudProvider | None = None
    allowed_in_tasks: bool | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None
    description: Description | None = None


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
    """One field a server rejected, by JSON path (``$.credential.aws.role_arn``)."""

    field: str
    message: str


class ValidationError(_Model, kw_only=True):
    """The fields a server rejected."""

    fields: list[ValidationField] = msgspec.field(default_factory=list)


class ErrorBody(_Model, kw_only=True):
    """An error response body, as a client reads it.

    Every field is optional here so that a partial body from a proxy or an
    older server still yields what it does carry.
    """

    code: int | str | None = None
    message: str | None = None
    request_id: str | None = None
    validation_error: ValidationError | None = None


class ErrorResponse(ErrorBody, kw_only=True):
    """An error response body, as ``tilecred serve`` sends it: ``code`` is the HTTP status."""

    code: int
    message: str
    request_id: str


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


class UsageSummary(_Model, kw_only=True):
    """One actor's uses of one credential, from the audit log: "who uses this?".

    ``uses`` counts the uses that succeeded, ``denied`` those refused and
    ``failed`` those that failed otherwise; ``first_at`` and ``last_at`` are
    the actor's first and newest attempt, whatever its outcome, and
    ``last_request_id`` the newest attempt's request id (``None`` for the
    library on the local store). ``actor`` reads as in :class:`AuditRecord`.
    """

    actor: str
    uses: int
    denied: int
    failed: int
    first_at: datetime.datetime
    last_at: datetime.datetime
    last_request_id: str | None = None


class UsageSummaryResponse(_Model, kw_only=True):
    """The body of an audit summary response: one entry per actor, the most recent first."""

    data: list[UsageSummary]


class Association(_Model, kw_only=True):
    """A credential associated with what it is for: a URL prefix or an object id.

    ``target`` is a URL prefix (``s3://bucket/prefix/``) or an opaque id
    (``dag:etl_daily``); ``teamspace`` is the credential's teamspace (``None``
    at the workspace level); ``default`` says it is the target's default, which
    ``use_credential(url=…)`` picks when several credentials share the target.
    """

    name: str
    teamspace: str | None = None
    target: str
    default: bool
    created_at: datetime.datetime


class AssociationRequest(_Model, kw_only=True):
    """The body of a request to associate a credential with a target."""

    name: str
    target: str
    default: bool = False


class AssociationResponse(_Model, kw_only=True):
    """The body of a response with one association."""

    data: Association


class AssociationListResponse(_Model, kw_only=True):
    """The body of an association listing: by target, then by name."""

    data: list[Association]


# Which member of each secret container belongs to which provider.
MEMBER_PROVIDERS: dict[type[_Model], dict[str, CloudProvider]] = {
    Credential: {
        "aws": CloudProvider.AWS,
        "azure": CloudProvider.AZURE,
        "gcp": CloudProvider.GCP,
        "azure_service_principal": CloudProvider.AZURE,
        "basic": CloudProvider.GENERIC,
        "oauth": CloudProvider.GENERIC,
    },
    AccessCredentialRole: {"aws": CloudProvider.AWS},
    Token: {
        "azure": CloudProvider.AZURE,
        "azure_entra_id": CloudProvider.AZURE,
        "azure_entra_id_task": CloudProvider.AZURE,
        "gcp": CloudProvider.GCP,
        "snowflake": CloudProvider.SNOWFLAKE,
        "databricks": CloudProvider.DATABRICKS,
        "bearer": CloudProvider.GENERIC,
        "databricks_pat": CloudProvider.DATABRICKS,
    },
}

# The members TileDB's models have no room for (tilecred's kinds): TileDB's
# own client cannot decode a credential that holds one, so /v4 answers leave
# such credentials out unless the client asks for every kind.
EXTENSION_MEMBERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("credential", "azure_service_principal"),
        ("credential", "basic"),
        ("credential", "oauth"),
        ("token", "bearer"),
        ("token", "databricks_pat"),
    }
)

# The secret containers, by the field of AccessCredential (and of every
# request) that holds each.
CONTAINERS: dict[str, type[Credential] | type[AccessCredentialRole] | type[Token]] = {
    "credential": Credential,
    "role": AccessCredentialRole,
    "token": Token,
}


def _member_types(container: type[_Model]) -> dict[str, type[_Model]]:
    """Each member field of a secret container, and the struct it holds."""
    members: dict[str, type[_Model]] = {}
    for field in msgspec.structs.fields(container):
        for hint in typing.get_args(field.type):
            if isinstance(hint, type) and issubclass(hint, _Model):
                members[field.name] = hint
    return members


# container -> member field -> the member's struct (``Credential`` -> ``aws`` -> ``AWSCredential``).
MEMBER_TYPES: dict[type[_Model], dict[str, type[_Model]]] = {
    container: _member_types(container) for container in CONTAINERS.values()
}

# Every secret field any member has, worked out from the members' marks.
SECRET_FIELD_NAMES: frozenset[str] = frozenset(
    field
    for members in MEMBER_TYPES.values()
    for member in members.values()
    for field in member.__secret_fields__
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
