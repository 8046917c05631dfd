"""API tokens in the store: kinds, limits, their audit records, and the old token file's import."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
import hashlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tilecred import InvalidArgumentError, NotFoundError
from tilecred._backend import AuditQuery
from tilecred._local import Store
from tilecred._models import (
    AccessCredentialRole,
    AWSRole,
    CloudProvider,
    CredentialCreateRequest,
)
from tilecred._server import create_app
from tilecred._server._tokens import ADMIN, MANAGEMENT, TASK, TOKEN_FILE

ACTOR = f"local:{getpass.getuser()}"

# Version 2 of the store as `tilecred serve` left it, beside its token file.
OLD_TOKENS = """
CREATE TABLE tokens (id TEXT PRIMARY KEY, workspace_id TEXT NOT NULL, name TEXT NOT NULL,
    read_only INTEGER NOT NULL, digest TEXT NOT NULL UNIQUE, created_at TEXT NOT NULL,
    revoked_at TEXT);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
PRAGMA user_version = 1;
"""


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _old_server_home(home: Path) -> str:
    """A store at schema version 2 and a token file with three tokens; the workspace id."""
    with Store(home) as store:
        workspace = store.create_workspace("default").id
    with contextlib.closing(sqlite3.connect(home / "tilecred.db")) as db, db:
        # Back to version 2: as an older tilecred left it (no audit, no tokens,
        # no lifecycle columns, no listing counts, no prunes).
        for statement in (
            "DROP TABLE audit_prunes",
            "DROP TABLE credential_counts",
            "DROP TRIGGER credentials_count_insert",
            "DROP TRIGGER credentials_count_delete",
            "DROP TRIGGER credentials_count_update",
            "DROP TABLE audit",
            "DROP TABLE tokens",
            "ALTER TABLE credentials DROP COLUMN active",
            "ALTER TABLE credentials DROP COLUMN expires_at",
            "PRAGMA user_version = 2",
        ):
            db.execute(statement)
    rows = [
        ("tok_admin", workspace, "admin", 0, "tc-admin", "2026-11-01T10:00:00+00:00", None),
        ("tok_reader", workspace, "reader", 1, "tc-reader", "2026-11-02T10:00:00+00:00", None),
        ("tok_gone", workspace, "gone", 0, "tc-gone", "2026-11-03T10:00:00+00:00",
         "2026-11-04T10:00:00+00:00"),
        ("tok_stray", "ws_elsewhere", "stray", 0, "tc-stray", "2026-11-05T10:00:00+00:00", None),
    ]  # fmt: skip
    with contextlib.closing(sqlite3.connect(home / TOKEN_FILE)) as old, old:
        old.executescript(OLD_TOKENS)
        old.executemany(
            "INSERT INTO tokens VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*row[:4], hashlib.sha256(row[4].encode()).hexdigest(), *row[5:]) for row in rows],
        )
        old.execute("INSERT INTO meta VALUES ('bootstrapped', '2026-11-01T10:00:00+00:00')")
    return workspace


def test_an_old_token_file_is_imported_once_as_management_tokens(tmp_path: Path) -> None:
    home = tmp_path / "home"
    workspace = _old_server_home(home)
    app = create_app(home)
    try:
        admin = app.tokens.authenticate("tc-admin")
        reader = app.tokens.authenticate("tc-reader")
        assert admin is not None
        assert reader is not None
        assert (admin.id, admin.kind, admin.read_only, admin.workspace_id) == (
            "tok_admin", MANAGEMENT, False, workspace
        )  # fmt: skip
        assert (reader.kind, reader.read_only) == (MANAGEMENT, True)
        assert reader.created_at == datetime.datetime(2026, 11, 2, 10, tzinfo=datetime.UTC)
        assert app.tokens.authenticate("tc-gone") is None  # revoked stays revoked
        # A token for a workspace this store does not hold is left out.
        assert [t.id for t in app.tokens.list()] == ["tok_admin", "tok_reader", "tok_gone"]
        assert app.tokens.bootstrapped()
        # Once: a token added to the old file later is not imported.
        with contextlib.closing(sqlite3.connect(home / TOKEN_FILE)) as old, old:
            old.execute(
                "INSERT INTO tokens VALUES ('tok_late', ?, 'late', 0, 'x', '2026-11-06', NULL)",
                (workspace,),
            )
    finally:
        app.close()
    app = create_app(home)
    try:
        assert [t.id for t in app.tokens.list()] == ["tok_admin", "tok_reader", "tok_gone"]
    finally:
        app.close()


def _role(name: str) -> CredentialCreateRequest:
    return CredentialCreateRequest(
        name=name, provider=CloudProvider.AWS,
        role=AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::123456789012:role/demo")),
    )  # fmt: skip


def test_a_task_token_keeps_its_limits(tmp_path: Path) -> None:
    app = create_app(tmp_path / "home")
    try:
        workspace = app.store.create_workspace("team")
        teamspace = app.store.create_teamspace(workspace.id, "ml")
        lake = app.store.create_credential(workspace.id, teamspace.id, _role("lake"))
        record, text = app.tokens.create(
            workspace.id, "runner", kind=TASK, teamspace_id="ml",
            credentials=["lake", "lake", "pond"], expires_at=datetime.timedelta(hours=8),
            allow_missing=True,
        )  # fmt: skip
        assert record.last_used_at is None
        found = app.tokens.authenticate(text)
        assert found is not None
        assert found.last_used_at is not None  # authenticating is a use
        assert dataclasses.replace(found, last_used_at=None) == record
        assert (found.kind, found.teamspace_id, found.credentials, found.credential_ids) == (
            TASK, teamspace.id, ("lake", "pond"), {"lake": (lake.id,), "pond": ()}
        )  # fmt: skip
        assert found.expires_at is not None
        assert found.expires_at - found.created_at == datetime.timedelta(hours=8)
        assert (found.active, found.read_only) == (True, False)
        app.tokens.revoke(record.id)
        records = app.store.read_audit(workspace.id, AuditQuery())
        assert [(r.actor, r.action, r.outcome, r.detail) for r in records][-2:] == [
            (ACTOR, "token.create", "ok",
             f"task token {record.id} (runner); teamspace {teamspace.id}; credentials lake "
             f"({lake.id}), pond (none yet); expires {found.expires_at.isoformat()}"),
            (ACTOR, "token.revoke", "ok", f"token {record.id} (runner)"),
        ]  # fmt: skip
        for audit in records:
            assert text not in repr(audit)
    finally:
        app.close()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"kind": "root"}, InvalidArgumentError,
         "kind must be management, admin or task, not 'root'"),
        ({"kind": ADMIN, "read_only": True}, InvalidArgumentError,
         "read_only is for management tokens: an admin token is one that may change more"),
        ({"kind": ADMIN, "credentials": ["lake"]}, InvalidArgumentError,
         "only a task token is held to a teamspace or to named credentials"),
        ({"kind": TASK, "read_only": True}, InvalidArgumentError,
         "read_only is for management tokens: a task token never changes anything"),
        ({"teamspace_id": "ml"}, InvalidArgumentError,
         "only a task token is held to a teamspace or to named credentials"),
        ({"kind": TASK, "credentials": "lake"}, InvalidArgumentError,
         "credentials must be a list of credential names, not a str"),
        ({"kind": TASK, "credentials": []}, InvalidArgumentError,
         "credentials must name at least one credential, or be None"),
        ({"kind": TASK, "credentials": ["a/b"]}, InvalidArgumentError,
         "credential name 'a/b' must not contain '/'"),
        ({"kind": TASK, "expires_at": datetime.timedelta(hours=-1)}, InvalidArgumentError,
         "is not in the future"),
        ({"kind": TASK, "expires_at": datetime.timedelta(days=999_999_999)}, InvalidArgumentError,
         "expires_at reaches past the year 9999: 999999999 days, 0:00:00 from now is no time"),
        ({"kind": TASK, "expires_at": datetime.datetime(2099, 1, 1)}, InvalidArgumentError,
         "expires_at must be an aware datetime or a timedelta from now"),
        ({"kind": TASK, "teamspace_id": "nowhere"}, NotFoundError,
         "teamspace 'nowhere' not found"),
    ],
)  # fmt: skip
def test_bad_token_arguments_are_refused_and_nothing_is_written(
    tmp_path: Path, kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    app = create_app(tmp_path / "home")
    try:
        workspace = app.store.create_workspace("team")
        with pytest.raises(error) as info:
            app.tokens.create(workspace.id, "runner", **kwargs)
        assert message in str(info.value)
        assert app.tokens.list() == []
        assert app.store.read_audit(workspace.id, AuditQuery()) == []
    finally:
        app.close()
