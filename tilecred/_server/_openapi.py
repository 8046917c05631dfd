"""The OpenAPI 3.1 document, generated from the msgspec models the server speaks."""

from __future__ import annotations

from typing import Any

import msgspec

from .._models import (
    CredentialCreateRequest,
    CredentialGetResponse,
    CredentialsListResponse,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    TeamspaceCreateRequest,
    TeamspaceListResponse,
    TeamspaceResponse,
    WorkspaceResponse,
)
from .._version import __version__
from ._routes import ROUTES
from ._wire import ErrorResponse

__all__ = ["openapi_document"]

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
}  # fmt: skip

_PATH_NAMES = {
    ("credentials", 2): "workspace",
    ("credentials", 3): "name",
    ("teamspaces", 2): "workspace",
    ("teamspaces", 3): "teamspace",
    ("workspaces", 2): "workspace",
}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


_PROVIDERS = {"type": "array", "items": {"$ref": _REF.format(name="CloudProvider")}}
_TEAMSPACE_PARAM = _query("teamspace_id", {"type": "string"},
                          "Teamspace id or name; absent means workspace level.")  # fmt: skip
_LIST_PARAMS = [
    _TEAMSPACE_PARAM,
    {**_query("provider", _PROVIDERS, "Only these providers (repeat the parameter)."),
     "style": "form", "explode": True},
    {**_query("excl_provider", _PROVIDERS, "Not these providers (repeat the parameter)."),
     "style": "form", "explode": True},
    _query("type", {"$ref": _REF.format(name="CredentialType")}, "Workspace or teamspace level."),
    _query("verify", {"type": "boolean"}, "Filter on verification; True/False accepted."),
    _query("page", {"type": "integer", "minimum": 1, "default": 1}, "1-based page number."),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
           "Page size."),
]  # fmt: skip


def _parameters(handler: str, pattern: tuple[str | None, ...]) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for index, part in enumerate(pattern):
        if part is None:
            name = _PATH_NAMES[(str(pattern[1]), index)]
            params.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
    if handler == "list_credentials":
        params.extend(_LIST_PARAMS)
    elif pattern[:2] == ("v4", "credentials"):
        params.append(_TEAMSPACE_PARAM)
    return params


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": _REF.format(name="ErrorResponse")}}},
    }


def openapi_document() -> dict[str, Any]:
    """The whole document: paths from the route table, schemas from the models."""
    models: list[type] = [ErrorResponse]
    for _summary, request, _status, response in _OPERATIONS.values():
        models.extend(m for m in (request, response) if m is not None and m not in models)
    _schemas, components = msgspec.json.schema_components(models, ref_template=_REF)
    paths: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        summary, request, status, response = _OPERATIONS[route.handler]
        parts = []
        for index, part in enumerate(route.pattern):
            parts.append(
                part
                if part is not None
                else "{" + _PATH_NAMES[(str(route.pattern[1]), index)] + "}"
            )
        success: dict[str, Any] = {"description": "Success"}
        if response is not None:
            success["content"] = {
                "application/json": {"schema": {"$ref": _REF.format(name=response.__name__)}}
            }
        operation: dict[str, Any] = {
            "operationId": route.handler,
            "summary": summary,
            "parameters": _parameters(route.handler, route.pattern),
            "responses": {str(status): success},
        }
        if request is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": _REF.format(name=request.__name__)}}
                },
            }
            operation["responses"]["400"] = _error("Malformed JSON or a field of the wrong type")
            operation["responses"]["413"] = _error("Body larger than 1 MiB")
        if route.public:
            operation["security"] = []
        else:
            operation["responses"]["401"] = _error("Missing or unknown API token")
            operation["responses"]["404"] = _error("No such workspace, teamspace or credential")
            if route.writes:
                operation["responses"]["403"] = _error("The token is read-only")
        if route.handler in ("create_credential", "update_credential", "create_teamspace"):
            operation["responses"]["409"] = _error("Name already in use")
        if route.handler == "verify_credential":
            operation["responses"]["422"] = _error("The credential failed verification")
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
