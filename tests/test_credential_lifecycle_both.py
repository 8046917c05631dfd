"""Deactivate and activate (issue #13), the same on the embedded default and over HTTP.

Every test of the first part runs against a real SQLite store in tmp and
against a real ``tilecred serve`` on 127.0.0.1 (the ``side`` fixture of
tests/test_parity.py); the second part is the server's own (tokens, routes).
"""

from __future__ import annotations

import dataclasses
import datetime
import os
from collections.abc import Iterator
from typing import Any

import pytest

import tilecred
from tilecred._config import DATABASE_ENV, MASTER_KEY_ENV

from .conftest import CANARY_SECRET
from .test_cli_support import run
from .test_parity import AWS_KEY, ROLE, WORKSPACE, Side, failure, names, shown
from .test_server_harness import Running

pytest_plugins = ["tests.test_server_harness", "tests.test_parity"]


@pytest.fixture
def side(engine: str, side: Side) -> Iterator[Side]:
    """The parity suite's two backends, over each engine (SQLite, PostgreSQL).

    On PostgreSQL the local side's client and command line open the test's
    database (the parity suite's local client is bound to a home directory);
    a teamspace comes into being with its first credential there.
    """
    if side.kind != "local" or engine != "postgres":
        yield side
        return
    names = (DATABASE_ENV, MASTER_KEY_ENV)
    cli = {**side.cli, **{name: os.environ[name] for name in names}}
    with tilecred.Client(workspace=WORKSPACE) as client:
        yield dataclasses.replace(
            side, client=client, user=client, cli=cli, make_teamspace=lambda name: name
        )


DEACTIVATED = (
    "credential 'lake' in workspace 'team' is deactivated: "
    "activate it with `tilecred activate lake`"
)


def _actions(side: Side, name: str) -> list[tuple[str, str, str | None]]:
    return [(r.action, r.outcome, r.detail) for r in side.client.audit(credential=name)]


def test_a_deactivated_credential_stays_listed_and_cannot_be_used(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY, allowed_in_tasks=True)
    side.client.create_credential("other", "AWS", role=ROLE)
    answered = side.client.deactivate_credential("lake")
    assert shown(answered) == {
        "credential_type": "workspace", "name": "lake", "provider": "AWS",
        "provider_default": False, "allowed_in_tasks": True, "active": False,
        "credential": {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE"}},
    }  # fmt: skip
    assert side.client.get_credential("lake").active is False
    listed = [(c.name, c.active) for c in side.client.list_credentials()]
    assert listed == [("lake", False), ("other", True)]
    assert failure(lambda: side.user.use_credential("lake")) == (
        "PermissionDeniedError", 403, 403, DEACTIVATED,
        f"could not use credential 'lake': 403 Forbidden: {DEACTIVATED}",
    )  # fmt: skip
    assert side.client.activate_credential("lake").active is True
    with side.user.use_credential("lake") as access:
        assert access.credential.active is True
    assert [(a, o) for a, o, _ in _actions(side, "lake")] == [
        ("create", "ok"), ("credential.deactivate", "ok"), ("use", "denied"),
        ("credential.activate", "ok"), ("use", "ok"),
    ]  # fmt: skip
    audit = _actions(side, "lake")
    assert audit[1][2] == "deactivated"
    assert audit[2][2] == DEACTIVATED
    assert audit[3][2] == "activated"
    assert CANARY_SECRET not in repr(audit)


def test_deactivating_twice_changes_nothing_the_second_time(side: Side) -> None:
    side.client.create_credential("lake", "AWS", role=ROLE)
    first = side.client.deactivate_credential("lake")
    second = side.client.deactivate_credential("lake")
    assert second.updated_at == first.updated_at
    assert side.client.activate_credential("lake").active is True
    assert side.client.activate_credential("lake").active is True
    details = [d for a, _, d in _actions(side, "lake") if a.startswith("credential.")]
    assert details == ["deactivated", "already deactivated", "activated", "already active"]


def test_a_deactivated_credential_is_never_the_provider_default(side: Side) -> None:
    side.client.create_credential("lake", "AWS", role=ROLE, provider_default=True)
    side.client.create_credential("gcs", "GCP", credential={"gcp": {"access_key_id": "G"}},
                                  provider_default=True)  # fmt: skip
    assert side.client.deactivate_credential("lake").provider_default is False
    assert side.client.get_credential("lake").provider_default is False
    # Only the deactivated one's flag goes; the GCP default stays.
    assert side.client.get_credential("gcs").provider_default is True
    message = "credential 'lake' is deactivated, so it cannot be the AWS default: activate it first"
    assert failure(lambda: side.client.update_credential("lake", provider_default=True)) == (
        "ConflictError", 409, 409, message,
        f"could not update credential 'lake': 409 Conflict: {message}",
    )  # fmt: skip
    # Activating does not make it the default again: that is asked for explicitly.
    assert side.client.activate_credential("lake").provider_default is False
    side.client.update_credential("lake", provider_default=True)
    assert side.client.get_credential("lake").provider_default is True
    (_, _, detail) = next(e for e in _actions(side, "lake") if e[0] == "credential.deactivate")
    assert detail == "deactivated; no longer the provider default"


def test_a_teamspace_credential_s_refusal_names_the_teamspace(side: Side) -> None:
    side.make_teamspace("ml")
    side.client.create_credential("lake", "AWS", role=ROLE, teamspace="ml", allowed_in_tasks=True)
    side.client.deactivate_credential("lake", teamspace="ml")
    assert side.client.get_credential("lake", teamspace="ml").active is False
    message = (
        "credential 'lake' in teamspace 'ml' of workspace 'team' is deactivated: "
        "activate it with `tilecred activate lake --teamspace ml`"
    )
    assert failure(lambda: side.user.use_credential("lake", teamspace="ml"))[3] == message
    assert side.client.activate_credential("lake", teamspace="ml").active is True


def test_a_missing_credential_or_bad_name_fails_as_every_call_does(side: Side) -> None:
    assert failure(lambda: side.client.deactivate_credential("nope")) == (
        "NotFoundError", 404, 404, "credential not found",
        "could not deactivate credential 'nope': 404 Not Found: credential not found",
    )  # fmt: skip
    with pytest.raises(tilecred.InvalidArgumentError):
        side.client.activate_credential("a/b")
    assert names(side.client.list_credentials()) == []


def test_the_command_line_deactivates_lists_and_activates(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY, allowed_in_tasks=True)
    done = run(["deactivate", "lake"], side.cli)
    assert (done.code, done.out, done.err) == (
        0, "deactivated credential 'lake'\n", ""
    )  # fmt: skip
    listing = run(["list"], side.cli)
    assert listing.code == 0
    header, row = listing.out.splitlines()
    assert header.split() == [
        "NAME", "PROVIDER", "KIND", "DEFAULT", "TASKS", "ACTIVE", "STATUS", "EXPIRES", "UPDATED",
        "LAST", "USED", "USED", "BY",
    ]  # fmt: skip
    assert row.split()[:8] == ["lake", "AWS", "keys", "no", "yes", "no", "-", "-"]
    done = run(["activate", "lake"], side.cli)
    assert (done.code, done.out) == (0, "activated credential 'lake'\n")
    for out in (done.out, done.err, listing.out):
        assert CANARY_SECRET not in out


# -- the server's own -----------------------------------------------------------------


def _post(server: Running, action: str, token: str = "", **query: str) -> Any:
    path = f"/tilecred/v1/credentials/{server.workspace_id}/lake/{action}"
    return server.request("POST", path, token=token, query=list(query.items()))


def test_the_routes_answer_the_credential_as_get_does(server: Running) -> None:
    client = tilecred.Client(host=server.url, token=server.token, retries=0)
    with client:
        client.create_credential("lake", "AWS", credential=AWS_KEY)
    reply = _post(server, "deactivate")
    assert reply.status == 200
    got = server.request("GET", server.credentials_path("lake"))
    assert reply.json == got.json
    assert got.json["data"]["active"] is False
    # TileDB's client insists on the secret's key: it is there, blank.
    assert got.json["data"]["credential"]["aws"]["secret_access_key"] == ""
    assert CANARY_SECRET not in reply.raw.decode()
    assert _post(server, "activate").json["data"]["active"] is True


@pytest.mark.parametrize("kind", ["read-only", "task"])
def test_only_read_write_management_tokens_may_deactivate(server: Running, kind: str) -> None:
    with tilecred.Client(host=server.url, token=server.token, retries=0) as client:
        client.create_credential("lake", "AWS", role=ROLE)
    options: dict[str, Any] = {"read_only": True} if kind == "read-only" else {"kind": "task"}
    _record, token = server.app.tokens.create(server.workspace_id, kind, **options)
    reply = _post(server, "deactivate", token=token)
    assert reply.status == 403
    expected = (
        "this API token is read-only" if kind == "read-only" else
        "a task token can list, get and use credentials; it cannot change or verify "
        "them, create teamspaces, read the audit log or manage API tokens"
    )  # fmt: skip
    assert reply.json["message"] == expected
    with tilecred.Client(host=server.url, token=server.token, retries=0) as client:
        assert client.get_credential("lake").active is True
        (record,) = [r for r in client.audit() if r.action == "credential.deactivate"]
    assert (record.outcome, record.credential, record.detail) == ("denied", "lake", expected)


def test_tiledbs_service_is_refused_before_anything_is_sent() -> None:
    with tilecred.Client(host="https://api.tiledb.com", token="tc-ws_x-secret") as client:
        for call, what in ((client.deactivate_credential, "deactivate"),
                           (client.activate_credential, "activate")):  # fmt: skip
            with pytest.raises(tilecred.ConfigurationError) as info:
                call("lake")
            assert info.value.message == (
                f"the service at https://api.tiledb.com cannot {what} a credential: that is a "
                "tilecred extension TileDB's service does not have; use `tilecred serve` or "
                "the local store for it"
            )


def test_expiry_is_kept_and_verify_judges_it_the_same_on_both(side: Side) -> None:
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=2, hours=1)
    sas = soon.strftime("sv=1&se=%Y-%m-%dT%H:%M:%SZ&sig=") + CANARY_SECRET
    token = {"azure": {"account_name": "lakeacct", "sas_token": sas}}
    side.client.create_credential("sas", "AZURE", token=token)
    assert side.client.get_credential("sas").expires_at == soon.replace(microsecond=0)
    with pytest.warns(tilecred.SecretExpiryWarning) as caught:
        side.client.verify_credential("sas", "AZURE", token=token)
    assert str(caught[0].message) == (
        f"the secret of credential 'sas' expires at {soon:%Y-%m-%d %H:%M} UTC, in 2 days: "
        "replace it soon"
    )
    expired = {"azure": {"account_name": "lakeacct", "sas_token": "se=2020-01-02&sig=x"}}
    message = "token.azure.sas_token: expired at 2020-01-02 00:00 UTC (its se=)"
    assert failure(lambda: side.client.verify_credential("old", "AZURE", token=expired)) == (
        "CredentialsError", 422, 422, message,
        f"could not verify credential 'old': 422 Unprocessable Entity: {message}",
    )  # fmt: skip


# -- rotating safely: update_credential(..., verify_first=True) --------------------------

TYPO = {"aws": {"access_key_id": "AKIA-TYPO", "secret_access_key": CANARY_SECRET + "-new"}}


def test_verify_first_refuses_a_new_secret_that_fails_and_changes_nothing(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY, allowed_in_tasks=True)
    before = side.client.get_credential("lake")
    reason = (
        "credential.aws.access_key_id: not an AWS access key id "
        "(AKIA or ASIA and 16 upper-case letters or digits)"
    )
    message = f"the new secret failed verification, so nothing was changed: {reason}"
    assert failure(
        lambda: side.client.update_credential(
            "lake", name="lake2", credential=TYPO, verify_first=True
        )
    ) == (
        "VerificationFailedError", 422, 422, message,
        f"could not update credential 'lake': 422 Unprocessable Entity: {message}",
    )  # fmt: skip
    assert side.client.get_credential("lake") == before
    with side.user.use_credential("lake") as access:
        aws = access.credential.credential.aws  # type: ignore[union-attr]
        assert aws is not None
        assert aws.secret_access_key == CANARY_SECRET
    # The failed verification is in the audit log; no update is.
    records = _actions(side, "lake")
    assert [(a, o) for a, o, _ in records] == [
        ("create", "ok"),
        ("verify", "failed"),
        ("use", "ok"),
    ]
    assert records[1][2] == reason
    assert CANARY_SECRET not in repr(records)


def test_verify_first_replaces_a_secret_that_passes(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY, allowed_in_tasks=True)
    new = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPL2", "secret_access_key": "n3w-s3cret"}}
    side.client.update_credential("lake", credential=new, verify_first=True)
    with side.user.use_credential("lake") as access:
        aws = access.credential.credential.aws  # type: ignore[union-attr]
        assert aws is not None
        assert (aws.access_key_id, aws.secret_access_key) == ("AKIAIOSFODNN7EXAMPL2", "n3w-s3cret")
    actions = [(a, o) for a, o, _ in _actions(side, "lake")]
    assert actions[1:3] == [("verify", "ok"), ("update", "ok")]


def test_verify_first_needs_a_new_secret_and_sends_nothing_without_one(side: Side) -> None:
    side.client.create_credential("lake", "AWS", role=ROLE)
    with pytest.raises(tilecred.InvalidArgumentError) as info:
        side.client.update_credential("lake", name="x", verify_first=True)
    assert info.value.message == (
        "verify_first checks a new secret before it replaces credential 'lake''s: "
        "give credential, role or token"
    )
    assert [a for a, _, _ in _actions(side, "lake")] == ["create"]


def test_update_verify_first_on_the_command_line(side: Side) -> None:
    side.client.create_credential("lake", "AWS", credential=AWS_KEY)
    typo = CANARY_SECRET + "-new"
    refused = run(["update", "lake", "--verify-first", "--kind", "keys", "--access-key-id",
                   "AKIA-TYPO", "--secret-stdin"], side.cli, stdin=typo)  # fmt: skip
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.startswith(
        "error: could not update credential 'lake': 422 Unprocessable Entity: the new secret "
        "failed verification, so nothing was changed: credential.aws.access_key_id: "
    )
    assert CANARY_SECRET not in refused.err
    done = run(["update", "lake", "--verify-first", "--kind", "keys", "--access-key-id",
                "AKIAIOSFODNN7EXAMPL2", "--secret-stdin"], side.cli, stdin="n3w")  # fmt: skip
    assert (done.code, done.out, done.err) == (0, "updated credential 'lake'\n", "")
    cred = side.client.get_credential("lake").credential
    assert cred is not None
    assert cred.aws is not None
    assert cred.aws.access_key_id == "AKIAIOSFODNN7EXAMPL2"
