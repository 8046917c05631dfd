"""An API token's life in the store: rename, deactivate, activate, regenerate,
revoke, the lockout rule, and the recorded last use."""

from __future__ import annotations

import dataclasses
import datetime
import getpass
from collections.abc import Iterator
from pathlib import Path

import pytest

from tilecred import ConflictError, InvalidArgumentError, NotFoundError
from tilecred._backend import AuditQuery
from tilecred._local._records import to_micros
from tilecred._server import ServerApp, create_app
from tilecred._server._tokens import LAST_USED_RESOLUTION, TASK

ACTOR = f"local:{getpass.getuser()}"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[ServerApp]:
    opened = create_app(tmp_path / "home")
    try:
        yield opened
    finally:
        opened.close()


def _workspace(app: ServerApp, name: str = "team") -> str:
    return app.store.create_workspace(name).id


def _audit(app: ServerApp, workspace: str) -> list[tuple[str | None, ...]]:
    records = app.store.read_audit(workspace, AuditQuery())
    return [(r.actor, r.action, r.outcome, r.detail) for r in records]


def _lockout(token_id: str, name: str, verb: str) -> str:
    return (
        f"token {token_id} ({name}) is the last active read-write management token of its "
        f"workspace: {verb} it would leave none to manage the workspace; issue another one first"
    )


def test_rename_keeps_the_text_kind_and_limits(app: ServerApp) -> None:
    workspace = _workspace(app)
    app.store.create_teamspace(workspace, "ml")
    record, text = app.tokens.create(workspace, "runner", kind=TASK, teamspace_id="ml",
                                     credentials=["lake"], allow_missing=True)  # fmt: skip

    renamed = app.tokens.rename(record.id, "nightly", actor="token:tok_x (admin)")

    assert renamed.name == "nightly"
    assert (renamed.id, renamed.kind, renamed.teamspace_id, renamed.credentials) == (
        record.id, TASK, record.teamspace_id, ("lake",)
    )  # fmt: skip
    found = app.tokens.authenticate(text)
    assert found is not None
    assert (found.id, found.name) == (record.id, "nightly")
    assert _audit(app, workspace)[-1] == (
        "token:tok_x (admin)", "token.rename", "ok",
        f"token {record.id} (runner): renamed to 'nightly'",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "token name '' must be non-empty printable text"),
        ("a\nb", "token name 'a\\nb' must be non-empty printable text"),
        ("x" * 129, "token name is 129 characters long; the limit is 128"),
    ],
)
def test_rename_refuses_a_bad_name_and_writes_nothing(
    app: ServerApp, name: str, message: str
) -> None:
    workspace = _workspace(app)
    record, _text = app.tokens.create(workspace, "runner", kind=TASK)
    before = _audit(app, workspace)

    with pytest.raises(InvalidArgumentError) as caught:
        app.tokens.rename(record.id, name)

    assert caught.value.message == message
    assert [t.name for t in app.tokens.list(workspace)] == ["runner"]
    assert _audit(app, workspace) == before


def test_deactivate_and_activate(app: ServerApp) -> None:
    workspace = _workspace(app)
    record, text = app.tokens.create(workspace, "runner", kind=TASK)

    off = app.tokens.deactivate(record.id)
    found = app.tokens.authenticate(text)
    on = app.tokens.activate(record.id)

    assert (off.active, off.state) == (False, "inactive")
    assert found is not None
    assert (found.active, found.state) == (False, "inactive")
    # A refused token's attempt is not a use.
    assert found.last_used_at is None
    assert (on.active, on.state) == (True, "active")
    assert _audit(app, workspace)[1:] == [
        (ACTOR, "token.deactivate", "ok", f"token {record.id} (runner)"),
        (ACTOR, "token.activate", "ok", f"token {record.id} (runner)"),
    ]


def test_regenerate_replaces_the_text_and_keeps_the_rest(app: ServerApp) -> None:
    workspace = _workspace(app)
    record, old = app.tokens.create(workspace, "runner", kind=TASK, credentials=["lake"],
                                    expires_at=datetime.timedelta(days=1),
                                    allow_missing=True)  # fmt: skip
    app.tokens.deactivate(record.id)

    changed, new = app.tokens.regenerate(record.id)

    assert new != old
    assert new.startswith(f"tc-{workspace}-")
    assert app.tokens.authenticate(old) is None
    found = app.tokens.authenticate(new)
    assert found == changed
    # Same id, name, kind, limits, expiry and state (still inactive).
    assert changed == dataclasses.replace(record, active=False)
    records = _audit(app, workspace)
    assert records[-1] == (
        ACTOR,
        "token.regenerate",
        "ok",
        f"token {record.id} (runner): new secret",
    )
    for row in records:
        assert old not in repr(row)
        assert new not in repr(row)


def test_a_revoked_or_foreign_token_is_not_found(app: ServerApp) -> None:
    workspace = _workspace(app)
    other = _workspace(app, "other")
    record, _text = app.tokens.create(workspace, "runner", kind=TASK)
    app.tokens.create(workspace, "admin")
    app.tokens.revoke(record.id)
    live, _text = app.tokens.create(workspace, "second", kind=TASK)

    for call in (
        lambda: app.tokens.rename(record.id, "again"),
        lambda: app.tokens.deactivate(record.id),
        lambda: app.tokens.activate(record.id),
        lambda: app.tokens.regenerate(record.id),
        lambda: app.tokens.revoke(record.id),
        lambda: app.tokens.revoke("tok_nothing"),
    ):
        with pytest.raises(NotFoundError) as caught:
            call()
        assert caught.value.message in (
            f"no live token with id {record.id!r}",
            "no live token with id 'tok_nothing'",
        )
    # Held to another workspace (as over the API), a token is as missing.
    with pytest.raises(NotFoundError) as caught:
        app.tokens.deactivate(live.id, workspace_id=other)
    assert caught.value.message == f"no live token with id {live.id!r}"
    assert {t.id: t.state for t in app.tokens.list(workspace)}[live.id] == "active"


@pytest.mark.parametrize("verb", ["deactivate", "revoke"])
def test_the_last_working_management_token_cannot_be_taken_away(app: ServerApp, verb: str) -> None:
    workspace = _workspace(app)
    admin, _text = app.tokens.create(workspace, "admin")
    reader, _text = app.tokens.create(workspace, "reader", read_only=True)
    task, _text = app.tokens.create(workspace, "runner", kind=TASK)
    expired, _text = app.tokens.create(workspace, "old", expires_at=datetime.timedelta(hours=1))
    with app.store.transaction(write=True) as conn:
        conn.execute(
            "UPDATE tokens SET expires_at = ? WHERE id = ?",
            (to_micros(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)), expired.id),
        )
    spare, _text = app.tokens.create(workspace, "spare")
    app.tokens.deactivate(spare.id)
    before = _audit(app, workspace)
    act = getattr(app.tokens, verb)

    with pytest.raises(ConflictError) as caught:
        act(admin.id)

    # Read-only, task, expired and inactive tokens do not count as a way in.
    verbing = {"deactivate": "deactivating", "revoke": "revoking"}[verb]
    assert (caught.value.status, caught.value.message) == (409, _lockout(admin.id, "admin",
                                                                          verbing))  # fmt: skip
    assert _audit(app, workspace) == before
    assert {t.id: t.state for t in app.tokens.list(workspace)}[admin.id] == "active"
    # The others can go; with a second admin the first can too.
    act(reader.id)
    act(task.id)
    app.tokens.activate(spare.id)
    act(admin.id)
    # The operator's --force: allowed to lock the API out.
    act(spare.id, allow_lockout=True)
    assert not any(token.administers for token in app.tokens.list(workspace))


def test_another_workspace_does_not_count_against_a_lockout(app: ServerApp) -> None:
    workspace = _workspace(app)
    other = _workspace(app, "other")
    admin, _text = app.tokens.create(workspace, "admin")
    app.tokens.create(other, "admin")

    with pytest.raises(ConflictError):
        app.tokens.revoke(admin.id)


def test_regenerating_the_last_admin_is_allowed(app: ServerApp) -> None:
    workspace = _workspace(app)
    admin, old = app.tokens.create(workspace, "admin")

    changed, new = app.tokens.regenerate(admin.id, actor=admin.actor)

    assert changed.administers
    assert app.tokens.authenticate(old) is None
    assert app.tokens.authenticate(new) is not None


def _set_last_used(app: ServerApp, token_id: str, when: datetime.datetime) -> None:
    with app.store.transaction(write=True) as conn:
        conn.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (to_micros(when), token_id))


def test_the_last_use_is_written_at_most_once_a_resolution(app: ServerApp) -> None:
    workspace = _workspace(app)
    record, text = app.tokens.create(workspace, "runner", kind=TASK)
    assert datetime.timedelta(seconds=60) == LAST_USED_RESOLUTION

    first = app.tokens.authenticate(text)
    assert first is not None
    assert first.last_used_at is not None
    recent = first.last_used_at - datetime.timedelta(seconds=30)
    _set_last_used(app, record.id, recent)
    second = app.tokens.authenticate(text)
    old = first.last_used_at - datetime.timedelta(seconds=61)
    _set_last_used(app, record.id, old)
    third = app.tokens.authenticate(text)

    assert second is not None
    assert second.last_used_at == recent  # fresh enough: not written again
    assert third is not None
    assert third.last_used_at is not None
    assert third.last_used_at > old
    assert app.tokens.list(workspace)[0].last_used_at == third.last_used_at
    # Nothing of it goes to the audit log: a use by a token is the request's own record.
    assert [row[1] for row in _audit(app, workspace)] == ["token.create"]
