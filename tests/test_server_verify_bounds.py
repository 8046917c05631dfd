"""list?verify=true is bounded: a few private keys per request and per token,
results kept per stored credential version, and never for a task token.

Over real HTTP to ``tilecred serve`` on 127.0.0.1, with Snowflake credentials
whose keys are unencrypted (cheap to check): what is asserted is how many
credentials came back with a ``status``, never how long anything took.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.test_server_harness import Running
from tilecred._server._tokens import TASK
from tilecred._server._verify_allowance import KEYS_PER_REQUEST, KEYS_PER_TOKEN

pytest_plugins = ["tests.test_server_harness"]


@pytest.fixture(scope="module")
def pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _create_keys(server: Running, pem: str, count: int) -> None:
    for index in range(count):
        member = {"account": "acme", "user": "svc", "private_key_raw": pem}
        body = {"name": f"key-{index:02}", "provider": "SNOWFLAKE", "token": {"snowflake": member}}
        assert server.request("POST", server.credentials_path(), body=body).status == 201


def _statuses(server: Running, token: str | None = None) -> dict[str, Any]:
    reply = server.request(
        "GET", server.credentials_path(), token=token or server.token,
        query=[("verify", "true"), ("per_page", "100")],
    )  # fmt: skip
    assert reply.status == 200, reply.raw
    return {item["name"]: item.get("status") for item in reply.json["data"]}


def _checked(statuses: dict[str, Any]) -> int:
    return sum(status is not None for status in statuses.values())


def test_a_request_checks_a_few_keys_and_the_next_goes_on_from_the_kept_results(
    server: Running, pem: str
) -> None:
    _create_keys(server, pem, KEYS_PER_REQUEST + 2)
    first = _statuses(server)
    assert _checked(first) == KEYS_PER_REQUEST
    assert set(first.values()) == {"verified", None}
    # The kept results cost nothing: the next request checks the rest.
    assert _statuses(server) == dict.fromkeys(first, "verified")


@pytest.mark.sqlite_only
def test_a_changed_row_is_checked_again(server: Running, pem: str) -> None:
    _create_keys(server, pem, 2)
    assert _statuses(server) == {"key-00": "verified", "key-01": "verified"}
    # Its sealed secret altered in the database: the kept "verified" is not reused.
    with sqlite3.connect(server.home / "tilecred.db") as db:
        (sealed,) = db.execute("SELECT secret FROM credentials WHERE name = 'key-00'").fetchone()
        altered = bytes(sealed[:-1]) + bytes([sealed[-1] ^ 1])
        db.execute("UPDATE credentials SET secret = ? WHERE name = 'key-00'", (altered,))
    assert _statuses(server) == {"key-00": "failed", "key-01": "verified"}


def test_a_token_checks_a_bounded_number_of_keys_a_minute(server: Running, pem: str) -> None:
    _create_keys(server, pem, KEYS_PER_TOKEN + KEYS_PER_REQUEST)
    rounds = KEYS_PER_TOKEN // KEYS_PER_REQUEST
    seen = [_checked(_statuses(server)) for _ in range(rounds + 1)]
    assert seen == [KEYS_PER_REQUEST * (n + 1) for n in range(rounds)] + [KEYS_PER_TOKEN]
    # Another token has its own allowance, and the kept results are everyone's.
    _record, other = server.app.tokens.create(server.workspace_id, "other")
    assert _checked(_statuses(server, other)) == KEYS_PER_TOKEN + KEYS_PER_REQUEST


def test_a_task_token_may_not_ask_for_verification(server: Running, pem: str) -> None:
    _create_keys(server, pem, 1)
    _record, task = server.app.tokens.create(server.workspace_id, "runner", kind=TASK)
    reply = server.request("GET", server.credentials_path(), token=task, query=[("verify", "true")])
    assert (reply.status, reply.json["message"]) == (
        403, "a task token cannot verify credentials: list without verify"
    )  # fmt: skip
    plain = server.request("GET", server.credentials_path(), token=task)
    assert plain.status == 200
    assert "status" not in plain.json["data"][0] or plain.json["data"][0]["status"] is None
