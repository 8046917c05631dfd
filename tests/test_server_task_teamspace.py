"""A task token held to one teamspace learns nothing of the others: a teamspace
that exists and one that does not get the same answer, over real HTTP."""

from __future__ import annotations

import pytest

from tests.conftest import CANARY_SECRET
from tests.test_server_harness import Running, aws_key_body
from tilecred._server._tokens import TASK

pytest_plugins = ["tests.test_server_harness"]
pytestmark = pytest.mark.usefixtures("engine")

HELD = (
    "this task token is limited to teamspace 'ml': pass teamspace='ml' (--teamspace ml), "
    "or none and the token uses its own"
)


def test_an_existing_and_a_missing_teamspace_are_answered_alike(server: Running) -> None:
    teamspaces = f"/v4/teamspaces/{server.workspace_id}"
    ids = {}
    for name in ("ml", "secret-project"):
        reply = server.request("POST", teamspaces, body={"name": name, "visibility": "private"})
        assert reply.status == 201, reply.raw
        ids[name] = reply.json["data"]["teamspace_id"]
    body = aws_key_body("lake", CANARY_SECRET, allowed_in_tasks=True)
    query = [("teamspace_id", "secret-project")]
    assert server.request("POST", server.credentials_path(), body=body, query=query).status == 201
    _record, task = server.app.tokens.create(
        server.workspace_id, "runner", kind=TASK, teamspace_id="ml"
    )
    use = f"/tilecred/v1/credentials/{server.workspace_id}/lake/use"
    for existing, missing in [("secret-project", "no-such-project"),
                              (ids["secret-project"], "ts_0123456789abcdef")]:  # fmt: skip
        answers = []
        for teamspace in (existing, missing):
            scoped = [("teamspace_id", teamspace)]
            replies = [
                server.request("GET", f"{teamspaces}/{teamspace}", token=task),
                server.request("GET", server.credentials_path(), token=task, query=scoped),
                server.request("GET", server.credentials_path("lake"), token=task, query=scoped),
                server.request("POST", use, token=task, query=scoped),
            ]
            answers.append([(reply.status, reply.json["message"]) for reply in replies])
        assert answers[0] == answers[1] == [(403, HELD)] * 4
    # Its own teamspace, by name or id, still answers.
    assert server.request("GET", f"{teamspaces}/ml", token=task).status == 200
    assert server.request("GET", f"{teamspaces}/{ids['ml']}", token=task).status == 200
