"""schemathesis hooks for ``nox -s schemathesis`` (tests/run_schemathesis.py sets them up).

Every ``DELETE`` of an API token revokes a task token made for that one
request, and every ``DELETE`` of the seeded credential name deletes a
credential made for it, so each reaches a live object instead of a 404 for
the one deleted before it. The server's address and the admin token come
from the environment.
"""

from __future__ import annotations

import http.client
import itertools
import json
import os
from typing import Any

import schemathesis  # type: ignore[import-not-found,unused-ignore]

REVOKE = ("DELETE", "/tilecred/v1/tokens/{workspace}/{token_id}")
DELETE = ("DELETE", "/v4/credentials/{workspace}/{name}")
_made = itertools.count()


def _create(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST ``body`` with the run's admin token; the created object."""
    port = int(os.environ["TILECRED_FUZZ_PORT"])
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, body=json.dumps(body),
                     headers={"X-TILEDB-REST-API-KEY": os.environ["TILECRED_FUZZ_TOKEN"],
                              "Content-Type": "application/json"})  # fmt: skip
        resp = conn.getresponse()
        data = resp.read()
    finally:
        conn.close()
    if resp.status != 201:
        raise RuntimeError(f"could not create {path} to delete: {resp.status}")
    created: dict[str, Any] = json.loads(data)["data"]
    return created


def fresh_token() -> str:
    """A new task token's id."""
    workspace = os.environ["TILECRED_FUZZ_WORKSPACE"]
    made = _create(f"/tilecred/v1/tokens/{workspace}", {"name": "fuzz-revoked", "kind": "task"})
    return str(made["token_id"])


def fresh_credential() -> str:
    """A new credential's name."""
    name = f"fuzz-doomed-{next(_made)}"
    role = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/doomed"}}
    workspace = os.environ["TILECRED_FUZZ_WORKSPACE"]
    _create(f"/v4/credentials/{workspace}", {"name": name, "provider": "AWS", "role": role})
    return name


# schemathesis is installed by its nox session only, so the types stay unchecked.
@schemathesis.hook  # type: ignore[untyped-decorator,unused-ignore]
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    # Only the seeded names are swapped: generated ones still test the 404s.
    operation = (case.method.upper(), case.path)
    parameters = case.path_parameters or {}
    if operation == REVOKE and parameters.get("token_id") == os.environ["TILECRED_FUZZ_TOKEN_ID"]:
        case.path_parameters["token_id"] = fresh_token()
    if operation == DELETE and parameters.get("name") == os.environ["TILECRED_FUZZ_DOOMED"]:
        case.path_parameters["name"] = fresh_credential()
