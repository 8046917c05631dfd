"""The PostgreSQL setup of docs/deployment.md where the role tilecred runs as
can only add to the audit log and read it: its grants, run as written there,
hold against every way that role could rewrite the log, and the store works
under them; the owner can still disable the triggers, as the page says."""

from __future__ import annotations

import re
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from tilecred._local import open_store
from tilecred._local._audit import AuditEntry
from tilecred._models import AWSCredential, CloudProvider, Credential, CredentialCreateRequest

from ._engines import TEST_KEY
from ._postgres import PostgresCluster

psycopg = pytest.importorskip("psycopg")

pytestmark = pytest.mark.postgres

_DOC = Path(__file__).parent.parent / "docs" / "deployment.md"
CANARY = "audit-role-canary-secret-5150"


def _grants() -> list[str]:
    """The grants as docs/deployment.md gives them, one statement each."""
    text = _DOC.read_text()
    block = re.search(r"<!-- audit-role-grants -->\n```sql\n(.*?)```", text, re.S)
    assert block is not None, "docs/deployment.md lost its audit-role-grants block"
    return [s.strip() for s in block.group(1).split(";") if s.strip()]


def _url(cluster: PostgresCluster, role: str, password: str, database: str) -> str:
    quoted = urllib.parse.quote(password, safe="")
    return f"postgresql://{role}:{quoted}@127.0.0.1:{cluster.port}/{database}"


def _sql(url: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.execute(sql)
        return cursor.fetchall() if cursor.description else []


def _request(name: str) -> CredentialCreateRequest:
    return CredentialCreateRequest(
        name=name, provider=CloudProvider.AWS, allowed_in_tasks=True,
        credential=Credential(aws=AWSCredential(
            access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY)),
    )  # fmt: skip


def test_the_servers_role_can_only_add_to_the_audit_log(
    postgres_cluster: PostgresCluster,
) -> None:
    suffix = secrets.token_hex(4)
    owner, server, database = f"owner_{suffix}", f"server_{suffix}", f"audit_{suffix}"
    owner_pw, server_pw = secrets.token_hex(12), secrets.token_hex(12)
    postgres_cluster.psql(f"CREATE ROLE {owner} LOGIN PASSWORD '{owner_pw}'")
    postgres_cluster.psql(f"CREATE ROLE {server} LOGIN PASSWORD '{server_pw}'")
    postgres_cluster.psql(f"CREATE DATABASE {database} OWNER {owner}")
    owner_url = _url(postgres_cluster, owner, owner_pw, database)
    server_url = _url(postgres_cluster, server, server_pw, database)

    # The owner creates the tables (opening the store migrates it), then grants.
    with open_store(owner_url, key=TEST_KEY) as store:
        workspace = store.create_workspace("w")
    for statement in _grants():
        _sql(owner_url, re.sub(r"\btilecred\b", server, statement))

    # Everything the server does works under the grants: create, use, rotate, read.
    with open_store(server_url, key=TEST_KEY) as store:
        entry = AuditEntry(actor="test", workspace_id=workspace.id, action="create")
        store.create_credential(workspace.id, None, _request("lake"), audit=entry)
        used = store.use_credential(
            workspace.id, None, "lake",
            audit=AuditEntry(actor="test", workspace_id=workspace.id, action="use"),
        )  # fmt: skip
        assert used.credential is not None
        assert used.credential.aws is not None
        assert used.credential.aws.secret_access_key == CANARY
        store.rotate_key(bytes(range(1, 33)))
    before = _sql(owner_url, "SELECT seq, actor, action, outcome FROM audit ORDER BY seq")
    assert [row[2:] for row in before] == [("create", "ok"), ("use", "ok")]

    # The server's role cannot change, remove, or unprotect a record.
    refused = {
        "UPDATE audit SET outcome = 'denied'": "permission denied for table audit",
        "DELETE FROM audit": "permission denied for table audit",
        "TRUNCATE audit": "permission denied for table audit",
        "ALTER TABLE audit DISABLE TRIGGER ALL": "must be owner of (table|relation) audit",
        "DROP TRIGGER audit_no_change ON audit": "must be owner of (table|relation) audit",
        "DROP TABLE audit": "must be owner of (table|relation) audit",
        "CREATE OR REPLACE FUNCTION tilecred_audit_append_only() RETURNS trigger"
        " LANGUAGE plpgsql AS $$BEGIN RETURN OLD; END$$":
            "must be owner of function|permission denied for schema public",
        "INSERT INTO tilecred_schema (version) VALUES (999)":
            "permission denied for table tilecred_schema",
    }  # fmt: skip
    for statement, message in refused.items():
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match=message):
            _sql(server_url, statement)
    assert _sql(server_url, "SELECT seq, actor, action, outcome FROM audit ORDER BY seq") == before

    # The owner is refused by the triggers, but can disable them: what the page says.
    with pytest.raises(psycopg.errors.RaiseException, match="the audit log is append-only"):
        _sql(owner_url, "DELETE FROM audit")
    _sql(owner_url, "ALTER TABLE audit DISABLE TRIGGER audit_no_change")
    _sql(owner_url, "DELETE FROM audit")
    assert _sql(owner_url, "SELECT count(*) FROM audit") == [(0,)]
