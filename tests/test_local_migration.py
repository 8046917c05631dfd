"""A store written by an older tilecred is migrated forward on open, its data intact."""

from __future__ import annotations

import base64
import sqlite3
from pathlib import Path

import msgspec
import pytest

import tilecred
from tilecred import CloudProvider, create_credential, get_credential, list_credentials
from tilecred._local import Store
from tilecred._local._core import _row_aad_v1
from tilecred._local._keys import Cipher
from tilecred._local._schema import SCHEMA_VERSION

from .conftest import CANARY_SECRET

KEY = bytes(range(100, 132))

# Schema version 1, as the first release wrote it: teamspaces had no
# visibility or description yet.
VERSION_1 = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE workspaces (id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,
                         created_at INTEGER NOT NULL);
CREATE TABLE teamspaces (id TEXT PRIMARY KEY,
                         workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
                         name TEXT NOT NULL, created_at INTEGER NOT NULL,
                         UNIQUE (workspace_id, name));
CREATE TABLE credentials (
  id TEXT PRIMARY KEY,
  workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
  teamspace_id TEXT REFERENCES teamspaces (id) ON DELETE CASCADE,
  scope TEXT NOT NULL CHECK (scope = ifnull(teamspace_id, '')),
  name TEXT NOT NULL, provider TEXT NOT NULL,
  provider_default INTEGER NOT NULL DEFAULT 0, allowed_in_tasks INTEGER NOT NULL DEFAULT 0,
  kind TEXT NOT NULL, member TEXT NOT NULL, public BLOB NOT NULL, secret BLOB,
  created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);
CREATE UNIQUE INDEX credentials_by_name ON credentials (workspace_id, scope, name);
CREATE UNIQUE INDEX credentials_provider_default
  ON credentials (workspace_id, scope, provider) WHERE provider_default = 1;
PRAGMA user_version = 1;
"""
CREATED = 1_700_000_000_000_000  # 2023-11-14T22:13:20Z, in microseconds


def _build_version_1(home: Path) -> None:
    home.mkdir(mode=0o700)
    db = sqlite3.connect(home / "tilecred.db")
    db.executescript(VERSION_1)
    cipher = Cipher(KEY)
    sealed = cipher.seal(
        msgspec.json.encode({"secret_access_key": CANARY_SECRET}),
        _row_aad_v1("ws_1", "ts_1", "lake", "cr_1"),
    )
    with db:
        db.execute("INSERT INTO meta VALUES ('key_check', ?)", (cipher.key_check(),))
        db.execute("INSERT INTO workspaces VALUES ('ws_1', 'default', ?)", (CREATED,))
        db.execute("INSERT INTO teamspaces VALUES ('ts_1', 'ws_1', 'ml', ?)", (CREATED,))
        db.execute(
            "INSERT INTO credentials VALUES ('cr_1', 'ws_1', 'ts_1', 'ts_1', 'lake', 'AWS', 1, 0,"
            " 'credential', 'aws', ?, ?, ?, ?)",
            (b'{"access_key_id":"AKIAIOSFODNN7EXAMPLE"}', sealed, CREATED, CREATED),
        )
    db.close()


def test_a_version_1_store_is_migrated_on_open(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolated / "tilecred-home"
    _build_version_1(home)
    monkeypatch.setenv("TILECRED_MASTER_KEY", base64.b64encode(KEY).decode())

    cred = get_credential("lake", teamspace="ml")
    assert (cred.id, cred.provider, cred.provider_default) == ("cr_1", CloudProvider.AWS, True)
    assert cred.created_at.isoformat() == "2023-11-14T22:13:20+00:00"
    assert cred.credential is not None
    assert cred.credential.aws is not None
    assert cred.credential.aws.access_key_id == "AKIAIOSFODNN7EXAMPLE"

    db = sqlite3.connect(home / "tilecred.db")
    assert db.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    assert db.execute("SELECT id, visibility, description FROM teamspaces").fetchall() == [
        ("ts_1", "private", None)
    ]
    # Version 3: an empty audit log, append-only from the start (version 6: REPLACE too).
    assert db.execute("SELECT count(*) FROM audit").fetchone() == (0,)
    assert db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit' ORDER BY name"
    ).fetchall() == [("audit_no_delete",), ("audit_no_replace",), ("audit_no_update",)]
    assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    db.close()

    # Old rows keep working with new writes: the default moves, the secret opens.
    create_credential("lake2", "AWS", teamspace="ml", provider_default=True, role={
        "aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}})  # fmt: skip
    assert {c.name: c.provider_default for c in list_credentials(teamspace="ml")} == {
        "lake": False, "lake2": True}  # fmt: skip
    tilecred.configure()
    with Store(home) as store:
        (ts,) = store.list_teamspaces("ws_1")
        assert (ts.visibility, ts.description) == ("private", None)
        full = store.get_credential("ws_1", "ts_1", "lake", with_secrets=True)
    assert full.credential is not None
    assert full.credential.aws is not None
    assert full.credential.aws.secret_access_key == CANARY_SECRET


def test_a_version_1_store_with_the_wrong_key_is_not_migrated(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = isolated / "tilecred-home"
    _build_version_1(home)
    monkeypatch.setenv("TILECRED_MASTER_KEY", base64.b64encode(bytes(32)).decode())
    with pytest.raises(tilecred.ConfigurationError):
        get_credential("lake", teamspace="ml")
    db = sqlite3.connect(home / "tilecred.db")
    assert db.execute("PRAGMA user_version").fetchone() == (1,)
    db.close()
