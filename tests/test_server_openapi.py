"""The OpenAPI document says exactly what the server does: statuses, limits, enums.

``nox -s schemathesis`` drives the real server with the document; these tests
pin the parts of it written by hand.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tilecred._arguments import MAX_PAGE, check_name
from tilecred._errors import InvalidArgumentError
from tilecred._limits import (
    MAX_CREDENTIAL_NAME,
    MAX_PER_PAGE,
    MAX_TEAMSPACE_NAME,
    MAX_WORKSPACE_NAME,
)
from tilecred._server._openapi import openapi_document

BODY = {408, 413, 415}
# 503: the store's database is unreachable (PostgreSQL), on every call that reads it.
TOKEN = {400, 401, 403, 404, 500, 503}

STATUSES = {
    ("get", "/healthz"): {200, 500},
    ("get", "/openapi.json"): {200, 500},
    ("post", "/v4/credentials/{workspace}"): {201, 409, 422} | TOKEN | BODY,
    ("get", "/v4/credentials/{workspace}"): {200} | TOKEN,
    ("get", "/v4/credentials/{workspace}/{name}"): {200} | TOKEN,
    ("patch", "/v4/credentials/{workspace}/{name}"): {200, 409, 422} | TOKEN | BODY,
    ("delete", "/v4/credentials/{workspace}/{name}"): {204} | TOKEN,
    ("post", "/v4/actions/credentials/verify"): {200, 422} | TOKEN | BODY,
    ("post", "/v4/teamspaces/{workspace}"): {201, 409} | TOKEN | BODY,
    ("get", "/v4/teamspaces/{workspace}"): {200} | TOKEN,
    ("get", "/v4/teamspaces/{workspace}/{teamspace}"): {200} | TOKEN,
    ("get", "/v4/workspaces/{workspace}"): {200} | TOKEN,
    ("post", "/tilecred/v1/credentials/{workspace}/{name}/use"): {200} | TOKEN | BODY,
    ("post", "/tilecred/v1/credentials/{workspace}/use"): {200, 409} | TOKEN | BODY,
    ("post", "/tilecred/v1/credentials/{workspace}/{name}/verify"): (
        {200, 422, 501, 502} | TOKEN | BODY
    ),
    ("get", "/tilecred/v1/associations/{workspace}"): {200} | TOKEN,
    ("post", "/tilecred/v1/associations/{workspace}"): {201, 409} | TOKEN | BODY,
    ("delete", "/tilecred/v1/associations/{workspace}"): {204} | TOKEN,
    ("get", "/tilecred/v1/audit/{workspace}"): {200} | TOKEN,
    ("get", "/tilecred/v1/audit/{workspace}/summary"): {200} | TOKEN,
    ("post", "/tilecred/v1/credentials/{workspace}/{name}/deactivate"): {200} | TOKEN | BODY,
    ("post", "/tilecred/v1/credentials/{workspace}/{name}/activate"): {200} | TOKEN | BODY,
    ("get", "/tilecred/v1/tokens/{workspace}"): {200} | TOKEN,
    ("post", "/tilecred/v1/tokens/{workspace}"): {201} | TOKEN | BODY,
    ("patch", "/tilecred/v1/tokens/{workspace}/{token_id}"): {200} | TOKEN | BODY,
    ("delete", "/tilecred/v1/tokens/{workspace}/{token_id}"): {204, 409} | TOKEN,
    ("post", "/tilecred/v1/tokens/{workspace}/{token_id}/deactivate"): {200, 409} | TOKEN | BODY,
    ("post", "/tilecred/v1/tokens/{workspace}/{token_id}/activate"): {200} | TOKEN | BODY,
    ("post", "/tilecred/v1/tokens/{workspace}/{token_id}/regenerate"): {200} | TOKEN | BODY,
}


def _operations(doc: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): op for path, ops in doc["paths"].items() for method, op in ops.items()}


def _name_schema(limit: int) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": limit,
            "pattern": "^[^/\\u0000-\\u001f\\u007f-\\u009f]+$"}  # fmt: skip


def test_every_operation_lists_every_status_the_server_can_answer() -> None:
    operations = _operations(openapi_document())
    assert {key: {int(code) for code in op["responses"]} for key, op in operations.items()} == (
        STATUSES
    )
    live = ("post", "/tilecred/v1/credentials/{workspace}/{name}/verify")
    for key, op in operations.items():
        for code, response in op["responses"].items():
            schema = response["content"]["application/json"]["schema"] if int(code) >= 400 else {}
            if key == live and code == "422":
                # The service's refusal: its own code, a string as often as a number.
                assert schema["properties"]["code"] == {
                    "anyOf": [{"type": "integer"}, {"type": "string"}]
                }
            elif int(code) >= 400:
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}


def test_names_pages_and_visibility_carry_the_servers_limits() -> None:
    doc = openapi_document()
    operations = _operations(doc)
    params = {
        (key, p["name"]): p["schema"] for key, op in operations.items()
        for p in op.get("parameters", ())
    }  # fmt: skip
    credential = ("get", "/v4/credentials/{workspace}/{name}")
    assert params[credential, "name"] == _name_schema(MAX_CREDENTIAL_NAME)
    assert params[credential, "workspace"] == _name_schema(MAX_WORKSPACE_NAME)
    assert params[credential, "teamspace_id"] == _name_schema(MAX_TEAMSPACE_NAME)
    teamspace = ("get", "/v4/teamspaces/{workspace}/{teamspace}")
    assert params[teamspace, "teamspace"] == _name_schema(MAX_TEAMSPACE_NAME)
    listing = ("get", "/v4/credentials/{workspace}")
    assert params[listing, "page"]["maximum"] == MAX_PAGE
    assert params[listing, "per_page"]["maximum"] == MAX_PER_PAGE
    schemas = doc["components"]["schemas"]
    assert schemas["CredentialCreateRequest"]["properties"]["name"] == _name_schema(
        MAX_CREDENTIAL_NAME
    )
    assert schemas["CredentialUpdateRequest"]["properties"]["name"]["anyOf"][0] == _name_schema(
        MAX_CREDENTIAL_NAME
    )
    assert schemas["TeamspaceCreateRequest"]["properties"]["name"] == _name_schema(
        MAX_TEAMSPACE_NAME
    )
    for model in ("TeamspaceCreateRequest", "Teamspace"):
        assert schemas[model]["properties"]["visibility"]["enum"] == ["private", "public"]


NAMES = ["prod-s3", "café", "a b", "x" * 256, "", "a/b", "tab\there", "del\x7f", "c1\x85", "ok.."]


@pytest.mark.parametrize("name", NAMES)
def test_the_name_pattern_accepts_what_the_server_accepts(name: str) -> None:
    schema = _name_schema(MAX_CREDENTIAL_NAME)
    pattern = schema["pattern"].encode().decode("unicode_escape")
    try:
        check_name(name)
        accepted = True
    except InvalidArgumentError:
        accepted = False
    assert accepted == bool(re.fullmatch(pattern, name))
