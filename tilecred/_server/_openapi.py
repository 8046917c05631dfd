"""The OpenAPI 3.1 document, generated from the msgspec models the server speaks."""

from __future__ import annotations

from typing import Any

import msgspec

from .._arguments import DEFAULT_PER_PAGE, MAX_PAGE, VISIBILITIES
from .._backend import DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT
from .._limits import (
    MAX_CREDENTIAL_NAME,
    MAX_PER_PAGE,
    MAX_PURPOSE,
    MAX_TARGET,
    MAX_TEAMSPACE_NAME,
    MAX_TOKEN_NAME,
    MAX_WORKSPACE_NAME,
)
from .._live import LiveVerificationResponse
from .._models import (
    AssociationListResponse,
    AssociationRequest,
    AssociationResponse,
    AuditListResponse,
    CredentialCreateRequest,
    CredentialGetResponse,
    CredentialsListResponse,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    ErrorResponse,
    TeamspaceCreateRequest,
    TeamspaceListResponse,
    TeamspaceResponse,
    UsageSummaryResponse,
    WorkspaceResponse,
)
from .._version import __version__
from ._routes import EXTENSION, ROUTES, Route
from ._token_api import (
    IssuedTokenResponse,
    TokenCreateRequest,
    TokenListResponse,
    TokenRenameRequest,
    TokenResponse,
)

__all__ = ["openapi_document", "takes_body"]

_REF = "#/components/schemas/{name}"

# handler -> (summary, request model, success status, response model)
_OPERATIONS: dict[str, tuple[str, type | None, int, type | None]] = {
    "healthz": ("Liveness check", None, 200, None),
    "openapi": ("This document", None, 200, None),
    "create_credential": ("Create a credential", CredentialCreateRequest, 201,
                          CredentialGetResponse),
    "list_credentials": ("List credentials", None, 200, CredentialsListResponse),
    "get_credential": ("Get a credential by name (secrets not included)", None, 200,
                       CredentialGetResponse),
    "update_credential": ("Update a credential by name", CredentialUpdateRequest, 200,
                          CredentialGetResponse),
    "delete_credential": ("Delete a credential by name", None, 204, None),
    "verify_credential": ("Check a credential's structure without storing it",
                          CredentialsVerifyRequest, 200, None),
    "create_teamspace": ("Create a teamspace", TeamspaceCreateRequest, 201, TeamspaceResponse),
    "list_teamspaces": ("List teamspaces", None, 200, TeamspaceListResponse),
    "get_teamspace": ("Look a teamspace up by name or id", None, 200, TeamspaceResponse),
    "get_workspace": ("Look the token's workspace up by name or id", None, 200,
                      WorkspaceResponse),
    "use_credential": ("Use a credential: its secrets, for a task token (tilecred extension; "
                       "allowed_in_tasks credentials only, over TLS or loopback; "
                       "Cache-Control: no-store)", None, 200, CredentialGetResponse),
    "use_chosen_credential": ("Use the credential that a URL (its longest associated prefix), "
                              "an object id (an exact target) or a provider's default "
                              "chooses: give exactly one of url, target and provider "
                              "(tilecred extension; as use_credential, and the task token's "
                              "limits hold for the credential chosen)", None, 200,
                              CredentialGetResponse),
    "list_associations": ("List associations of credentials with targets, by target then name "
                          "(tilecred extension)", None, 200, AssociationListResponse),
    "create_association": ("Associate a credential with a target, a URL prefix or an object "
                           "id; default moves the target's default to it (tilecred extension)",
                           AssociationRequest, 201, AssociationResponse),
    "delete_association": ("Remove a credential's association with a target (tilecred "
                           "extension)", None, 204, None),
    "read_audit": ("Read the workspace's audit log, oldest first (tilecred extension; "
                   "management tokens)", None, 200, AuditListResponse),
    "audit_summary": ("Who uses a credential: its uses per actor, the most recent first "
                      "(tilecred extension; management tokens)", None, 200,
                      UsageSummaryResponse),
    "deactivate_credential": ("Deactivate a credential: kept and listed, never used, no "
                              "longer its provider's default (tilecred extension)", None, 200,
                              CredentialGetResponse),
    "activate_credential": ("Activate a deactivated credential (tilecred extension)", None,
                            200, CredentialGetResponse),
    "verify_credential_live": ("Verify a stored credential against its own service, with the "
                               "smallest real call its kind allows (tilecred extension; "
                               "read-write management tokens; only on a server started with "
                               "--outbound)", None, 200, LiveVerificationResponse),
    "list_tokens": ("List the workspace's API tokens, never their text (tilecred extension; "
                    "management tokens)", None, 200, TokenListResponse),
    "create_token": ("Issue an API token; its text is in this answer only (tilecred "
                     "extension)", TokenCreateRequest, 201, IssuedTokenResponse),
    "rename_token": ("Rename an API token (tilecred extension)", TokenRenameRequest, 200,
                     TokenResponse),
    "revoke_token": ("Revoke an API token for good (tilecred extension)", None, 204, None),
    "deactivate_token": ("Stop an API token working until it is activated (tilecred "
                         "extension)", None, 200, TokenResponse),
    "activate_token": ("Let a deactivated API token work again (tilecred extension)", None,
                       200, TokenResponse),
    "regenerate_token": ("A new text for an API token, same id, name and limits; the old text "
                         "stops working at once (tilecred extension)", None, 200,
                         IssuedTokenResponse),
}  # fmt: skip

# What check_name accepts: no "/", no control characters (C0, DEL, C1).
_NAME_PATTERN = "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$"


def takes_body(route: Route) -> bool:
    """Whether the operation has a request body (any other refuses one)."""
    return _OPERATIONS[route.handler][1] is not None


def _name(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit, "pattern": _NAME_PATTERN}


# A path segment's schema: workspaces and teamspaces by name or id.
_SEGMENTS = {
    "workspace": _name(MAX_WORKSPACE_NAME),
    "teamspace": _name(MAX_TEAMSPACE_NAME),
    "name": _name(MAX_CREDENTIAL_NAME),
    "token_id": _name(MAX_TOKEN_NAME),
}

# (collection, index after it) -> the name of a captured path segment.
_PATH_NAMES = {
    ("credentials", 1): "workspace",
    ("credentials", 2): "name",
    ("teamspaces", 1): "workspace",
    ("teamspaces", 2): "teamspace",
    ("workspaces", 1): "workspace",
    ("audit", 1): "workspace",
    ("associations", 1): "workspace",
    ("tokens", 1): "workspace",
    ("tokens", 2): "token_id",
}


def _path_name(pattern: tuple[str | None, ...], index: int) -> str:
    # /v4/<collection>/... and /tilecred/v1/<collection>/...
    start = len(EXTENSION) if pattern[: len(EXTENSION)] == EXTENSION else 1
    return _PATH_NAMES[(str(pattern[start]), index - start)]


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


_PROVIDERS = {"type": "array", "items": {"$ref": _REF.format(name="CloudProvider")}}
_TEAMSPACE_PARAM = _query("teamspace_id", _name(MAX_TEAMSPACE_NAME),
                          "Teamspace id or name; absent means workspace level.")  # fmt: skip
_LIST_PARAMS = [
    _TEAMSPACE_PARAM,
    {
        **_query("provider", _PROVIDERS, "Only these providers (repeat the parameter)."),
        "style": "form",
        "explode": True,
    },
    {
        **_query("excl_provider", _PROVIDERS, "Not these providers (repeat the parameter)."),
        "style": "form",
        "explode": True,
    },
    _query("type", {"$ref": _REF.format(name="CredentialType")}, "Workspace or teamspace level."),
    _query("verify", {"type": "boolean"}, "Filter on verification; True/False accepted."),
    _query(
        "page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1},
        "1-based page number.",
    ),
    _query(
        "per_page",
        {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE, "default": DEFAULT_PER_PAGE},
        "Page size.",
    ),
]
_AUDIT_PARAMS = [
    _query("credential", _name(MAX_CREDENTIAL_NAME), "Only records about this credential name."),
    _query("since", {"type": "string", "format": "date-time"},
           "Only records from this time on (RFC 3339, with a zone)."),
    _query("limit", {"type": "integer", "minimum": 1, "maximum": MAX_AUDIT_LIMIT,
                     "default": DEFAULT_AUDIT_LIMIT}, "At most this many records, the newest."),
]  # fmt: skip
_PURPOSE_PARAM = _query(
    "purpose",
    {"type": "string", "maxLength": MAX_PURPOSE, "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*$"},
    "What the use is for (a runner's DAG and task, say): the audit record's detail.",
)
# What check_target accepts (a URL's scheme and user part are checked beyond this).
_TARGET = {"type": "string", "minLength": 1, "maxLength": MAX_TARGET,
           "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]+$"}  # fmt: skip
_CHOICE_PARAMS = [
    _query("url", _TARGET, "A URL with its scheme: the credential associated with its longest "
           "prefix (query and fragment left out) is used."),
    _query("target", _TARGET, "An object id (or any target), matched exactly."),
    _query("provider", {"$ref": _REF.format(name="CloudProvider")},
           "The provider whose default credential is used."),
]  # fmt: skip
_ASSOCIATION_PARAMS = [
    _TEAMSPACE_PARAM,
    _query("name", _name(MAX_CREDENTIAL_NAME), "Only this credential's associations."),
    _query("target", _TARGET, "Only this target's (matched exactly)."),
]
_SUMMARY_PARAMS = [
    {**_AUDIT_PARAMS[0], "required": True,
     "description": "The credential's name (its uses are found by its id: a rename keeps them)."},
    _TEAMSPACE_PARAM,
    {**_AUDIT_PARAMS[1], "description": "Only uses from this time on (RFC 3339, with a zone)."},
]  # fmt: skip


def _parameters(handler: str, pattern: tuple[str | None, ...]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for index, part in enumerate(pattern):
        if part is None:
            name = _path_name(pattern, index)
            params.append({"name": name, "in": "path", "required": True, "schema": _SEGMENTS[name]})
    if handler == "list_credentials":
        params.extend(_LIST_PARAMS)
    elif handler == "read_audit":
        params.extend(_AUDIT_PARAMS)
    elif handler == "audit_summary":
        params.extend(_SUMMARY_PARAMS)
    elif handler in ("list_associations", "delete_association"):
        required = handler == "delete_association"
        params.extend({**p, "required": p["name"] != "teamspace_id" and required}
                      for p in _ASSOCIATION_PARAMS)  # fmt: skip
    elif "associations" in pattern or ("credentials" in pattern and handler != "verify_credential"):
        params.append(_TEAMSPACE_PARAM)
    if handler in ("use_credential", "use_chosen_credential"):
        params.append(_PURPOSE_PARAM)
    if handler == "use_chosen_credential":
        params.extend(_CHOICE_PARAMS)
    return params


_FORBIDDEN = (
    "The token may not do this: read-only, a task token (never changes anything), "
    "expired, outside its teamspace or credentials, or a management token doing what only "
    "an admin token may (issue a task token, allow a credential in tasks, change another token)",
    "Not a task token, outside its teamspace, credentials or lifetime, a credential not "
    "allowed_in_tasks, or plain HTTP from a non-loopback address",
)


_NOT_FOUND = (
    "No such workspace, teamspace or credential",
    "No such workspace, teamspace or live token (a revoked one is gone)",
)


def _constrain(components: dict[str, Any]) -> None:
    """The limits the server enforces that the models do not carry, written in."""
    names = {"CredentialCreateRequest": MAX_CREDENTIAL_NAME,
             "CredentialUpdateRequest": MAX_CREDENTIAL_NAME,
             "TeamspaceCreateRequest": MAX_TEAMSPACE_NAME}  # fmt: skip
    for model, limit in names.items():
        field = components[model]["properties"]["name"]
        members = field.get("anyOf", [field])
        for member in members:
            if member.get("type") == "string":
                member.update(_name(limit))
    for model in ("TokenCreateRequest", "TokenRenameRequest"):
        # What check_token_name accepts: printable text (C0 controls refused).
        components[model]["properties"]["name"].update(
            {"minLength": 1, "maxLength": MAX_TOKEN_NAME, "pattern": "^[^\\u0000-\\u001f]+$"}
        )
    field = components["TokenCreateRequest"]["properties"]["credentials"]
    for member in field.get("anyOf", [field]):
        if member.get("type") == "array":
            member.update({"items": _name(MAX_CREDENTIAL_NAME), "minItems": 1})
    association = components["AssociationRequest"]["properties"]
    association["name"].update(_name(MAX_CREDENTIAL_NAME))
    association["target"].update(_TARGET)
    for model in ("TeamspaceCreateRequest", "Teamspace"):
        field = components[model]["properties"]["visibility"]
        field["enum"] = list(VISIBILITIES)


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(name="ErrorResponse")}}},
    }


# The bodies of answers that have no model of their own.
_PLAIN_BODIES = {
    "healthz": {"type": "object", "properties": {"status": {"const": "ok"}},
                "required": ["status"]},
    "openapi": {"type": "object", "required": ["openapi", "paths"]},
    "verify_credential": {"type": "object", "required": ["data"], "properties": {"data": {
        "type": "object", "properties": {"status": {"const": "verified"}},
        "required": ["status"]}}},
}  # fmt: skip


def _responses(route: Route, status: int, model: type | None) -> dict[str, Any]:
    """Every status the server can answer this operation with, and its body."""
    success: dict[str, Any] = {"description": "Success"}
    if model is not None:
        schema: dict[str, Any] = {"$ref": _REF.format(name=model.__name__)}
        success["content"] = {"application/json": {"schema": schema}}
    elif route.handler in _PLAIN_BODIES:
        success["content"] = {"application/json": {"schema": _PLAIN_BODIES[route.handler]}}
    responses = {str(status): success}
    errors: dict[int, str] = {500: "An unexpected failure; the server log has it under the "
                                   "request id"}  # fmt: skip
    if not route.public:
        errors[400] = "A bad name, query parameter or body (the field is named)"
        errors[401] = "Missing, unknown, revoked or deactivated API token"
        errors[403] = _FORBIDDEN[route.handler in ("use_credential", "use_chosen_credential")]
        errors[404] = _NOT_FOUND[route.handler.endswith("_token")]
        errors[503] = "The store's database is unreachable or stayed busy; try again"
    if route.method in ("POST", "PATCH"):
        # Any body sent is checked, even where none is expected.
        errors[408] = "The body did not arrive in time"
        errors[413] = "Body larger than 1 MiB"
        errors[415] = "A body that is not application/json"
    if route.handler in ("create_credential", "update_credential", "create_teamspace"):
        errors[409] = "Name already in use"
    if route.handler == "update_credential":
        errors[409] += ", or a deactivated credential made the provider's default"
    if route.handler == "use_chosen_credential":
        errors[404] = (
            "No such workspace or teamspace, nothing associated with the URL or "
            "target, or no default credential of the provider"
        )
        errors[409] = "Several credentials are associated and none is the target's default"
    if route.handler == "create_association":
        errors[409] = "Another credential became the target's default at the same time"
    if route.handler in ("deactivate_token", "revoke_token"):
        errors[409] = "It is the workspace's last active read-write management token"
    if route.handler in ("create_credential", "update_credential", "verify_credential"):
        errors[422] = "The credential failed verification, or its key costs too much to check"
    if route.handler == "verify_credential_live":
        errors[403] += "; or the server may not call out (no --outbound), or not to that host"
        errors[422] = "A kind with no live verification"
        errors[501] = "The library the call needs is not installed on the server"
        errors[502] = "The credential's service could not be reached in time"
    for code in sorted(errors):
        responses[str(code)] = _error(errors[code])
    if route.handler == "verify_credential_live":
        responses["422"] = _SERVICE_REFUSED
    return responses


# The service's refusal: its own code (a string, e.g. InvalidClientTokenId) and message.
_SERVICE_REFUSED = {
    "description": "The service refused the credential (code: the service's own), or a kind "
    "with no live verification (code: 422)",
    "content": {"application/json": {"schema": {"type": "object", "required": [
        "code", "message", "request_id"], "properties": {
        "code": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "message": {"type": "string"}, "request_id": {"type": "string"}}}}},
}  # fmt: skip


def openapi_document() -> dict[str, Any]:
    """The whole document: paths from the route table, schemas from the models."""
    models: list[type] = [ErrorResponse]
    for _summary, request, _status, response in _OPERATIONS.values():
        models.extend(m for m in (request, response) if m is not None and m not in models)
    _schemas, components = msgspec.json.schema_components(models, ref_template=_REF)
    _constrain(components)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        summary, request, status, response = _OPERATIONS[route.handler]
        parts = []
        for index, part in enumerate(route.pattern):
            parts.append(part if part is not None else "{" + _path_name(route.pattern, index) + "}")
        operation: dict[str, Any] = {
            "operationId": route.handler,
            "summary": summary,
            "parameters": _parameters(route.handler, route.pattern),
            "responses": _responses(route, status, response),
        }
        if request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(name=request.__name__)}}
                },
            }
        if route.public:
            operation["security"] = []
        if not operation["parameters"]:
            del operation["parameters"]
        paths.setdefault("/" + "/".join(parts), {})[route.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "tilecred",
            "version": __version__,
            "description": "TileDB's v4 credentials API over tilecred's local store.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "ApiKeyAuth": {"type": "apiKey", "in": "header", "name": "X-TILEDB-REST-API-KEY"},
                "BearerAuth": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"ApiKeyAuth": []}, {"BearerAuth": []}],
    }
