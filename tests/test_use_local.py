"""use_credential and the audit log on the local store: the gate, the records, the secrets."""

from __future__ import annotations

import datetime
import getpass
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import tilecred
from tilecred import (
    AuditRecord,
    CredentialAccess,
    InvalidArgumentError,
    NotFoundError,
    PermissionDeniedError,
    create_credential,
    delete_credential,
    read_audit,
    update_credential,
    use_credential,
    verify_credential,
)
from tilecred._local import Store

from .conftest import CANARY_SECRET

ACTOR = f"local:{getpass.getuser()}"
KEY_ID = "AKIAIOSFODNN7EXAMPLE"


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _aws(secret: str = CANARY_SECRET) -> dict[str, Any]:
    return {"aws": {"access_key_id": KEY_ID, "secret_access_key": secret}}


def _denied_message(name: str) -> str:
    return (
        f"credential {name!r} is not allowed in tasks, so its secrets cannot be used; "
        f"allow it with update_credential({name!r}, allowed_in_tasks=True) "
        f"or `tilecred update {name} --allow-in-tasks`"
    )


def _fields(record: AuditRecord) -> tuple[Any, ...]:
    return (record.actor, record.workspace, record.teamspace, record.credential,
            record.action, record.outcome, record.request_id, record.detail)  # fmt: skip


def _database(isolated: Path) -> Path:
    return isolated / "tilecred-home" / "tilecred.db"


def test_an_allowed_credential_is_used_with_its_secrets() -> None:
    create_credential("lake", "AWS", allowed_in_tasks=True, credential=_aws())
    with use_credential("lake") as access:
        assert isinstance(access, CredentialAccess)
        aws = access.credential.credential.aws  # type: ignore[union-attr]
        assert aws is not None
        assert (aws.access_key_id, aws.secret_access_key) == (KEY_ID, CANARY_SECRET)
        assert CANARY_SECRET not in repr(access)
        assert CANARY_SECRET not in repr(access.credential)
    last = read_audit()[-1]
    assert _fields(last) == (ACTOR, "default", None, "lake", "use", "ok", None, None)


def test_the_gate_refuses_a_credential_not_allowed_in_tasks() -> None:
    create_credential("lake", "AWS", credential=_aws())
    with pytest.raises(PermissionDeniedError) as info:
        use_credential("lake")
    assert info.value.status == 403
    assert info.value.message == _denied_message("lake")
    assert str(info.value) == (
        f"could not use credential 'lake': 403 Forbidden: {_denied_message('lake')}"
    )
    assert CANARY_SECRET not in str(info.value)
    assert [_fields(r) for r in read_audit(credential="lake")] == [
        (ACTOR, "default", None, "lake", "create", "ok", None, "AWS credential.aws"),
        (ACTOR, "default", None, "lake", "use", "denied", None, _denied_message("lake")),
    ]
    # Allowing it opens the gate; disallowing closes it again.
    update_credential("lake", allowed_in_tasks=True)
    assert use_credential("lake").credential.name == "lake"
    update_credential("lake", allowed_in_tasks=False)
    with pytest.raises(PermissionDeniedError):
        use_credential("lake")


def test_a_client_uses_a_credential_in_a_teamspace(isolated: Path) -> None:
    with tilecred.Client(home=isolated / "tilecred-home") as client:
        client.create_credential(
            "lake", "AWS", teamspace="ml", allowed_in_tasks=True, credential=_aws()
        )
        with client.use_credential("lake", teamspace="ml") as access:
            assert access.credential.credential_type is tilecred.CredentialType.TEAMSPACE
        with Store(isolated / "tilecred-home") as store:
            workspace = store.find_workspace("default")
            assert workspace is not None
            found = store.find_teamspace(workspace.id, "ml")
        assert found is not None
        client.use_credential("lake", teamspace=found.id).close()  # recorded by name
        with pytest.raises(NotFoundError) as info:
            client.use_credential("lake")
        assert str(info.value) == (
            "could not use credential 'lake': 404 Not Found: credential not found"
        )
        records = client.audit(credential="lake")
    assert [_fields(r) for r in records] == [
        (ACTOR, "default", "ml", "lake", "create", "ok", None,
         "AWS credential.aws allowed_in_tasks"),
        (ACTOR, "default", "ml", "lake", "use", "ok", None, None),
        (ACTOR, "default", "ml", "lake", "use", "ok", None, None),
        (ACTOR, "default", None, "lake", "use", "failed", None, "credential not found"),
    ]  # fmt: skip


def test_another_credential_is_resolved_through_the_same_gate() -> None:
    create_credential("role-key", "AWS", allowed_in_tasks=True, credential=_aws())
    create_credential("hidden-key", "AWS", credential=_aws())
    access = use_credential("role-key")
    assert access._resolve is not None
    assert access._resolve("role-key").name == "role-key"
    with pytest.raises(PermissionDeniedError):
        access._resolve("hidden-key")
    access.close()


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("",), {}, "name must not be empty"),
        (("a/b",), {}, "name 'a/b' must not contain '/'"),
        (("lake",), {"teamspace": 3}, "teamspace"),
    ],
)
def test_bad_arguments_are_refused_before_anything_is_read_or_recorded(
    args: tuple[Any, ...], kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        use_credential(*args, **kwargs)
    assert message in info.value.message
    assert read_audit() == []


def test_every_change_is_recorded_with_its_outcome() -> None:
    create_credential("a", "AWS", provider_default=True, credential=_aws())
    with pytest.raises(tilecred.ConflictError):
        create_credential("a", "AWS", credential=_aws())
    update_credential("a", name="b", allowed_in_tasks=True, credential=_aws("NEW-" + CANARY_SECRET))
    verify_credential("c", "AWS", credential=_aws())
    with pytest.raises(tilecred.CredentialsError):
        verify_credential("c", "AWS", role={"aws": {"role_arn": "not-an-arn"}})
    delete_credential("b")
    with pytest.raises(NotFoundError):
        delete_credential("b")
    records = read_audit()
    assert [(r.credential, r.action, r.outcome) for r in records] == [
        ("a", "create", "ok"),
        ("a", "create", "failed"),
        ("a", "update", "ok"),
        ("c", "verify", "ok"),
        ("c", "verify", "failed"),
        ("b", "delete", "ok"),
        ("b", "delete", "failed"),
    ]
    assert records[0].detail == "AWS credential.aws provider_default"
    assert records[1].detail == "name already in use"
    assert records[2].detail == (
        "changed name, allowed_in_tasks, credential; allowed_in_tasks=True; new name 'b'"
    )
    assert records[4].detail is not None
    assert "role_arn" in records[4].detail
    assert records[6].detail == "credential not found"
    assert {r.actor for r in records} == {ACTOR}
    assert all(r.at.tzinfo is not None for r in records)
    assert [r.at for r in records] == sorted(r.at for r in records)


def test_reading_the_audit_log_filters_by_credential_time_and_count() -> None:
    for name in ("a", "b", "a", "c"):
        verify_credential(name, "AWS", credential=_aws())
    assert [r.credential for r in read_audit(credential="a")] == ["a", "a"]
    # The newest records, oldest first.
    assert [r.credential for r in read_audit(limit=2)] == ["a", "c"]
    everything = read_audit()
    assert read_audit(since=everything[1].at) == everything[1:]
    assert read_audit(since=datetime.timedelta(hours=1)) == everything
    future = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)
    assert read_audit(since=future) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"limit": 0}, "limit must be an int from 1 to 10000, not 0"),
        ({"limit": True}, "limit must be an int from 1 to 10000, not True"),
        ({"limit": 10_001}, "limit must be an int from 1 to 10000, not 10001"),
        ({"since": datetime.datetime(2026, 1, 1)},
         "since must carry a time zone (e.g. datetime.UTC), not 2026-01-01T00:00:00"),
        ({"since": datetime.timedelta(0)}, "since must be a positive timedelta, not 0:00:00"),
        ({"since": "yesterday"}, "since must be a datetime or a timedelta, not str"),
        ({"since": datetime.timedelta(days=999_999)},
         "since reaches before the year 1: 999999 days, 0:00:00 ago is no time"),
        ({"credential": ""}, "credential must not be empty"),
    ],
)  # fmt: skip
def test_bad_audit_arguments_are_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgumentError) as info:
        read_audit(**kwargs)
    assert info.value.message == message


@pytest.mark.sqlite_only
def test_the_audit_log_is_append_only_in_the_database(isolated: Path) -> None:
    create_credential("lake", "AWS", credential=_aws())
    db = sqlite3.connect(_database(isolated))
    try:
        for statement in ("UPDATE audit SET outcome = 'denied'", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="the audit log is append-only"):
                db.execute(statement)
        assert db.execute("SELECT count(*) FROM audit").fetchone() == (1,)
    finally:
        db.close()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("verb", ["INSERT OR REPLACE", "REPLACE"])
def test_the_audit_log_refuses_replace(isolated: Path, verb: str) -> None:
    # REPLACE deletes the row it replaces without firing delete triggers.
    create_credential("lake", "AWS", credential=_aws())
    db = sqlite3.connect(_database(isolated))
    try:
        before = db.execute("SELECT * FROM audit").fetchall()
        assert [(row[0], row[2], row[6]) for row in before] == [(1, ACTOR, "create")]
        with pytest.raises(sqlite3.IntegrityError, match="the audit log is append-only"):
            db.execute(
                f"{verb} INTO audit (seq, at, actor, workspace_id, action, outcome)"
                " VALUES (1, 0, 'forger', 'ws', 'nothing', 'ok')"
            )
        assert db.execute("SELECT * FROM audit").fetchall() == before
    finally:
        db.close()


@pytest.mark.sqlite_only
def test_no_secret_reaches_the_audit_log_the_log_or_an_error(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="tilecred")
    create_credential("lake", "AWS", allowed_in_tasks=True, credential=_aws())
    with use_credential("lake") as access:
        shown = [repr(access), str(access), repr(access.credential), str(access.credential)]
    update_credential("lake", credential=_aws(CANARY_SECRET + "-2"))
    errors = []
    calls: list[Callable[[], None]] = [
        lambda: create_credential("lake", "AWS", credential=_aws()),
        lambda: verify_credential(
            "v", "AWS", credential={"aws": {"access_key_id": "bad", "secret_access_key": "x"}}
        ),
        lambda: update_credential("missing", credential=_aws()),
    ]
    for call in calls:
        with pytest.raises(tilecred.CredentialsError) as info:
            call()
        errors.append(str(info.value))
    db = sqlite3.connect(_database(isolated))
    try:
        rows = db.execute("SELECT * FROM audit").fetchall()
    finally:
        db.close()
    assert len(rows) == 6
    dumped = repr(rows) + repr(read_audit())
    for text in (dumped, caplog.text, *shown, *errors):
        assert CANARY_SECRET not in text


@pytest.mark.sqlite_only
def test_uses_from_several_clients_at_once_are_each_recorded_once(isolated: Path) -> None:
    import concurrent.futures

    home = isolated / "tilecred-home"
    create_credential("lake", "AWS", allowed_in_tasks=True, credential=_aws())

    def use_ten_times(_: int) -> int:
        with tilecred.Client(home=home) as client:
            for _round in range(10):
                client.use_credential("lake").close()
        return 10

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        assert sum(pool.map(use_ten_times, range(4))) == 40
    uses = [r for r in read_audit(credential="lake") if r.action == "use"]
    assert len(uses) == 40
    assert {r.outcome for r in uses} == {"ok"}
    with sqlite3.connect(_database(isolated)) as db:
        seqs = [row[0] for row in db.execute("SELECT seq FROM audit ORDER BY seq")]
    assert seqs == list(range(1, 42))
