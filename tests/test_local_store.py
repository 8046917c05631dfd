"""The embedded default's semantics, through the public functions, on a real SQLite file."""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import tilecred
from tilecred import (
    AccessCredentialRole,
    AWSRole,
    CloudProvider,
    ConflictError,
    CredentialsError,
    CredentialType,
    NotFoundError,
    create_credential,
    delete_credential,
    get_credential,
    list_credentials,
    update_credential,
)
from tilecred._local import LocalBackend, Store
from tilecred._models import AWSCredential, Credential, CredentialCreateRequest

from ._engines import store_at
from .conftest import CANARY_SECRET

ROLE = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}}
AWS_KEY = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}
SAS = {"azure": {"account_name": "lakeacct", "sas_token": "sv=1&sig=" + CANARY_SECRET}}


# Every test here runs on SQLite and on PostgreSQL (tests/_engines.py).
pytestmark = pytest.mark.usefixtures("engine")


def _store(home: Path) -> Store:
    return store_at(home)


def _names(**filters: object) -> list[str]:
    return [c.name for c in list_credentials(**filters)]  # type: ignore[arg-type]


@pytest.mark.sqlite_only
def test_the_local_store_is_used_when_nothing_is_configured(isolated: Path) -> None:
    settings = tilecred.get_client().settings
    assert settings.backend == "local"
    assert settings.home == isolated / "tilecred-home"
    assert settings.workspace == "default"
    assert settings.describe() == {
        "backend": "local",
        "home": str(isolated / "tilecred-home"),
        "workspace": "default",
        "sources": {"home": "environment TILECRED_HOME", "workspace": "default"},
    }


@pytest.mark.sqlite_only
def test_configure_home_chooses_a_store_and_logs_where_calls_go(
    isolated: Path, caplog: pytest.LogCaptureFixture
) -> None:
    home = isolated / "elsewhere"
    tilecred.configure(home=home, host="https://ignored.example.com")
    with caplog.at_level(logging.DEBUG, logger="tilecred"):
        create_credential("r", "AWS", role=ROLE)
    assert (home / "tilecred.db").is_file()
    assert not (isolated / "tilecred-home").exists()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("tilecred calls go to {'backend': 'local'") for m in messages)
    assert any(m.startswith(f"local store {home / 'tilecred.db'} opened") for m in messages)


def test_create_then_get_returns_every_public_field_and_no_secret() -> None:
    create_credential("lake", "aws", credential=AWS_KEY, allowed_in_tasks=True)
    cred = get_credential("lake")
    assert cred.name == "lake"
    assert cred.provider is CloudProvider.AWS
    assert cred.credential_type is CredentialType.WORKSPACE
    assert cred.id.startswith("cr_")
    assert "-" not in cred.id
    assert cred.allowed_in_tasks is True
    assert cred.provider_default is False
    assert cred.created_at == cred.updated_at
    assert cred.created_at.tzinfo is not None
    assert cred.credential is not None
    assert cred.credential.aws is not None
    assert cred.credential.aws.access_key_id == "AKIAIOSFODNN7EXAMPLE"
    assert cred.credential.aws.secret_access_key is None
    assert CANARY_SECRET not in repr(cred)


def test_secrets_stay_readable_by_the_store_only(isolated: Path) -> None:
    create_credential("blobs", "AZURE", teamspace="ml", token=SAS)
    listed = list(list_credentials(teamspace="ml"))
    assert listed[0].token is not None
    assert listed[0].token.azure is not None
    assert listed[0].token.azure.sas_token is None
    with _store(isolated / "tilecred-home") as store:
        ws = store.find_workspace("default")
        assert ws is not None
        ts = store.find_teamspace(ws.id, "ml")
        assert ts is not None
        full = store.get_credential(ws.id, ts.id, "blobs", with_secrets=True)
        assert full.token is not None
        assert full.token.azure is not None
        assert full.token.azure.sas_token == "sv=1&sig=" + CANARY_SECRET
        assert store.get_credential(ws.id, ts.id, "blobs").token == listed[0].token


def test_empty_secrets_are_never_stored(isolated: Path) -> None:
    token = {"snowflake": {"account": "acme", "user": "svc", "private_key_raw": CANARY_SECRET,
                           "private_key_passphrase": ""}}  # fmt: skip
    create_credential("snow", "SNOWFLAKE", token=token)
    with _store(isolated / "tilecred-home") as store:
        ws = store.find_workspace("default")
        assert ws is not None
        full = store.get_credential(ws.id, None, "snow", with_secrets=True)
    assert full.token is not None
    assert full.token.snowflake is not None
    assert full.token.snowflake.private_key_raw == CANARY_SECRET
    assert full.token.snowflake.private_key_passphrase is None


def test_names_are_unique_per_scope() -> None:
    create_credential("shared", "AWS", role=ROLE)
    create_credential("shared", "AWS", role=ROLE, teamspace="ml")
    create_credential("shared", "AWS", role=ROLE, teamspace="ops")
    with pytest.raises(ConflictError) as info:
        create_credential("shared", "AWS", role=ROLE, teamspace="ml")
    assert info.value.status == 409
    assert str(info.value) == (
        "could not create credential 'shared' in teamspace 'ml': 409 Conflict: name already in use"
    )
    types = {c.credential_type for c in list_credentials(teamspace="ml")}
    assert types == {CredentialType.TEAMSPACE}
    assert _names() == ["shared"]


def test_missing_names_are_not_found() -> None:
    for call, action in (
        (lambda: get_credential("nope"), "get"),
        (lambda: delete_credential("nope"), "delete"),
        (lambda: update_credential("nope", allowed_in_tasks=True), "update"),
    ):
        with pytest.raises(NotFoundError) as info:
            call()
        assert info.value.status == 404
        assert str(info.value) == (
            f"could not {action} credential 'nope': 404 Not Found: credential not found"
        )


def test_an_unknown_teamspace_is_not_found_as_on_a_server() -> None:
    with pytest.raises(NotFoundError) as info:
        list(list_credentials(teamspace="ghost"))
    assert str(info.value) == (
        "could not list credentials in teamspace 'ghost': 404 Not Found: "
        "teamspace 'ghost' not found"
    )
    assert info.value.code == 404  # what tilecred serve's error body carries
    with pytest.raises(NotFoundError) as info:
        get_credential("x", teamspace="ghost")
    assert str(info.value) == (
        "could not get credential 'x' in teamspace 'ghost': 404 Not Found: "
        "teamspace 'ghost' not found"
    )


def test_teamspaces_come_into_being_on_first_write_and_answer_to_their_id(isolated: Path) -> None:
    create_credential("r", "AWS", role=ROLE, teamspace="ml")
    with _store(isolated / "tilecred-home") as store:
        ws = store.find_workspace("default")
        assert ws is not None
        assert ws.id.startswith("ws_")
        assert "-" not in ws.id
        (ts,) = store.list_teamspaces(ws.id)
    assert ts.name == "ml"
    assert ts.id.startswith("ts_")
    assert "-" not in ts.id
    assert ts.visibility == "private"
    assert ts.workspace_id == ws.id
    assert get_credential("r", teamspace=ts.id).name == "r"
    assert get_credential("r", teamspace=ts).name == "r"  # has a teamspace_id
    create_credential("r2", "AWS", role=ROLE, teamspace=ts.id)
    assert _names(teamspace="ml") == ["r", "r2"]
    with pytest.raises(NotFoundError) as info:
        create_credential("r3", "AWS", role=ROLE, teamspace="ts_0000000000000000")
    assert str(info.value) == (
        "could not create credential 'r3' in teamspace 'ts_0000000000000000': "
        "404 Not Found: teamspace 'ts_0000000000000000' not found"
    )


def test_one_provider_default_per_scope() -> None:
    create_credential("first", "AWS", role=ROLE, provider_default=True)
    create_credential("other-scope", "AWS", role=ROLE, teamspace="ml", provider_default=True)
    create_credential("azure", "AZURE", token=SAS, provider_default=True)
    first_updated = get_credential("first").updated_at
    create_credential("second", "AWS", role=ROLE, provider_default=True)
    defaults = {c.name: c.provider_default for c in list_credentials()}
    assert defaults == {"azure": True, "first": False, "second": True}
    assert get_credential("other-scope", teamspace="ml").provider_default is True
    # The cleared one changed, so its updated_at moved.
    cleared = get_credential("first").updated_at
    assert first_updated is not None
    assert cleared is not None
    assert cleared > first_updated
    update_credential("first", provider_default=True)
    defaults = {c.name: c.provider_default for c in list_credentials()}
    assert defaults == {"azure": True, "first": True, "second": False}
    update_credential("first", provider_default=False)
    assert [c.name for c in list_credentials() if c.provider_default] == ["azure"]


def test_rename_keeps_id_and_created_at_and_moves_updated_at(isolated: Path) -> None:
    create_credential("old", "AWS", credential=AWS_KEY, teamspace="ml")
    before = get_credential("old", teamspace="ml")
    update_credential("old", teamspace="ml", name="new")
    after = get_credential("new", teamspace="ml")
    assert after.id == before.id
    assert after.created_at == before.created_at
    assert after.updated_at is not None
    assert before.updated_at is not None
    assert after.updated_at > before.updated_at
    with pytest.raises(NotFoundError):
        get_credential("old", teamspace="ml")
    # The secret was sealed again for its new name, and still opens.
    with _store(isolated / "tilecred-home") as store:
        ws = store.find_workspace("default")
        ts = store.find_teamspace(ws.id, "ml") if ws else None
        assert ws is not None
        assert ts is not None
        full = store.get_credential(ws.id, ts.id, "new", with_secrets=True)
    assert full.credential is not None
    assert full.credential.aws is not None
    assert full.credential.aws.secret_access_key == CANARY_SECRET


def test_rename_onto_a_used_name_is_a_conflict_and_changes_nothing() -> None:
    create_credential("a", "AWS", role=ROLE)
    create_credential("b", "AWS", role=ROLE)
    with pytest.raises(ConflictError) as info:
        update_credential("a", name="b", allowed_in_tasks=True)
    assert str(info.value) == "could not update credential 'a': 409 Conflict: name already in use"
    assert get_credential("a").allowed_in_tasks is False


def test_update_replaces_the_secret_and_checks_the_provider() -> None:
    create_credential("c", "AWS", role=ROLE)
    update_credential("c", provider="AZURE", token=SAS)
    cred = get_credential("c")
    assert cred.provider is CloudProvider.AZURE
    assert cred.role is None
    assert cred.token is not None
    assert cred.token.azure is not None
    assert cred.token.azure.account_name == "lakeacct"
    with pytest.raises(CredentialsError) as info:
        update_credential("c", provider="GCP")
    assert info.value.status == 422
    assert str(info.value) == (
        "could not update credential 'c': 422 Unprocessable Entity: provider GCP does not fit "
        "the stored token.azure: give a new secret with the new provider"
    )
    with pytest.raises(CredentialsError) as info:
        update_credential("c", role=AccessCredentialRole(aws=AWSRole(role_arn="arn")))
    assert str(info.value) == (
        "could not update credential 'c': 422 Unprocessable Entity: "
        "role.aws is for provider AWS, not AZURE"
    )
    assert get_credential("c").provider is CloudProvider.AZURE


def test_delete_removes_only_that_credential() -> None:
    create_credential("keep", "AWS", role=ROLE)
    create_credential("drop", "AWS", role=ROLE)
    create_credential("drop", "AWS", role=ROLE, teamspace="ml")
    delete_credential("drop")
    assert _names() == ["keep"]
    assert _names(teamspace="ml") == ["drop"]


def test_list_filters() -> None:
    create_credential("aws-1", "AWS", role=ROLE)
    create_credential("azure-1", "AZURE", token=SAS)
    databricks = {"host": "https://x.cloud.databricks.com", "client_id": "c", "client_secret": "s"}
    create_credential("db-1", "DATABRICKS", token={"databricks": databricks})
    create_credential("ts-aws", "AWS", role=ROLE, teamspace="ml")
    assert _names() == ["aws-1", "azure-1", "db-1"]
    assert _names(provider="AWS") == ["aws-1"]
    assert _names(provider=["AWS", "azure"]) == ["aws-1", "azure-1"]
    assert _names(exclude_provider="AWS") == ["azure-1", "db-1"]
    assert _names(provider=["AWS", "AZURE"], exclude_provider="AZURE") == ["aws-1"]
    assert _names(credential_type="workspace") == ["aws-1", "azure-1", "db-1"]
    assert _names(credential_type="teamspace") == []
    assert _names(teamspace="ml", credential_type="teamspace") == ["ts-aws"]
    assert _names(teamspace="ml", credential_type="workspace") == []


def test_list_pagination_metadata() -> None:
    for i in range(7):
        create_credential(f"c{i}", "AWS", role=ROLE)
    pager = list_credentials(per_page=3)
    pages = list(pager.pages())
    assert [[c.name for c in p.items] for p in pages] == [["c0", "c1", "c2"], ["c3", "c4", "c5"],
                                                          ["c6"]]  # fmt: skip
    assert [(p.page, p.per_page, p.total_pages, p.total_items) for p in pages] == [
        (1, 3, 3, 7), (2, 3, 3, 7), (3, 3, 3, 7)]  # fmt: skip
    assert len(pager) == 7
    assert pager[-1].name == "c6"
    assert [c.name for c in pager[2:4]] == ["c2", "c3"]
    later = list_credentials(page=2, per_page=5)
    assert [c.name for c in later] == ["c5", "c6"]
    beyond = next(list_credentials(page=9, per_page=5).pages(), None)
    assert beyond is None
    default = next(list_credentials().pages())
    assert (default.per_page, default.total_pages, default.total_items) == (100, 1, 7)


def test_list_with_verify_reports_each_status() -> None:
    create_credential("good", "AWS", role=ROLE)
    create_credential("bad", "AWS", role={"aws": {"role_arn": "arn:aws:iam::1:role/x"}})
    assert {c.name: c.status for c in list_credentials(verify=True)} == {
        "bad": "failed", "good": "verified"}  # fmt: skip
    assert {c.status for c in list_credentials()} == {None}


def test_list_with_verify_marks_a_malformed_url_failed_and_still_lists() -> None:
    # urlsplit raises on an unclosed IPv6 bracket: one such row must not break the listing.
    create_credential("good", "AWS", role=ROLE)
    create_credential(
        "bad-url", "AZURE", token={"azure_entra_id": {"blob_endpoint": "https://[bad"}}
    )
    assert {c.name: c.status for c in list_credentials(verify=True)} == {
        "bad-url": "failed", "good": "verified"}  # fmt: skip
    with pytest.raises(CredentialsError) as info:
        tilecred.verify_credential(
            "bad-url", "AZURE", token={"azure_entra_id": {"blob_endpoint": "https://[bad"}}
        )
    assert (type(info.value), info.value.status, str(info.value)) == (
        CredentialsError, 422,
        "could not verify credential 'bad-url': 422 Unprocessable Entity: "
        "token.azure_entra_id.blob_endpoint: not an https URL (https://<host>)",
    )  # fmt: skip


@contextlib.contextmanager
def traced(store: Store) -> Iterator[list[str]]:
    """The SQL statements that the store's pooled connections run meanwhile."""
    statements: list[str] = []
    connections = list(store.engine._idle)  # type: ignore[attr-defined]
    assert connections  # a store keeps the connection it opened with
    for conn in connections:
        conn.set_trace_callback(statements.append)
    try:
        yield statements
    finally:
        for conn in connections:
            conn.set_trace_callback(None)


@pytest.mark.sqlite_only
def test_list_with_verify_reads_the_key_check_once(isolated: Path) -> None:
    with _store(isolated / "store") as store:
        ws = store.create_workspace("w")
        key = Credential(
            aws=AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY_SECRET)
        )
        for n in range(5):
            request = CredentialCreateRequest(
                name=f"k{n}", provider=CloudProvider.AWS, credential=key
            )
            store.create_credential(ws.id, None, request)
        with traced(store) as statements:
            page = store.list_credentials(ws.id, None, verify=True)
        assert [c.status for c in page.items] == ["verified"] * 5
        assert [s for s in statements if "key_check" in s] == [
            "SELECT value FROM meta WHERE key = 'key_check'"
        ]


def test_workspaces_are_separate(isolated: Path) -> None:
    create_credential("mine", "AWS", role=ROLE)
    tilecred.configure(workspace="other")
    assert _names() == []
    create_credential("mine", "AWS", role=ROLE)
    assert _names() == ["mine"]
    with _store(isolated / "tilecred-home") as store:
        found = [store.find_workspace(name) for name in ("default", "other")]
        assert [w.name for w in found if w is not None] == ["default", "other"]


def test_a_workspace_id_that_does_not_exist_is_not_found() -> None:
    tilecred.configure(workspace="ws_00000000")
    with pytest.raises(NotFoundError) as info:
        get_credential("x")
    assert str(info.value) == (
        "could not get credential 'x': 404 Not Found: workspace 'ws_00000000' not found"
    )


def test_store_workspaces_and_teamspaces(isolated: Path) -> None:
    with _store(isolated / "store") as store:
        ws = store.create_workspace("team")
        with pytest.raises(ConflictError) as info:
            store.create_workspace("team")
        assert (info.value.status, info.value.message) == (409, "name already in use")
        assert store.find_workspace("team") == ws == store.find_workspace(ws.id)
        assert store.find_workspace("nope") is None
        ts = store.create_teamspace(ws.id, "ml", visibility="public", description="models")
        assert (ts.name, ts.visibility, ts.description) == ("ml", "public", "models")
        with pytest.raises(ConflictError):
            store.create_teamspace(ws.id, "ml")
        with pytest.raises(CredentialsError) as bad:
            store.create_teamspace(ws.id, "x", visibility="secret")
        assert (bad.value.status, bad.value.message) == (
            422, "visibility must be private or public, not 'secret'")  # fmt: skip
        with pytest.raises(NotFoundError):
            store.create_teamspace("ws_missing", "x")
        assert store.find_teamspace(ws.id, "ml") == ts == store.find_teamspace(ws.id, ts.id)
        assert store.find_teamspace(ws.id, "other") is None
        role = AccessCredentialRole(aws=AWSRole(role_arn="a"))
        request = CredentialCreateRequest(name="r", provider=CloudProvider.AWS, role=role)
        made = store.create_credential(ws.id, ts.id, request)
        assert made == store.get_credential(ws.id, ts.id, "r")
        page = store.list_credentials(ws.id, ts.id)
        assert [c.name for c in page.items] == ["r"]
        assert store.list_credentials(ws.id, None).items == []
        store.delete_credential(ws.id, ts.id, "r")
        with pytest.raises(NotFoundError):
            store.get_credential(ws.id, ts.id, "r")


def test_store_rejects_requests_without_one_usable_secret(isolated: Path) -> None:
    with _store(isolated / "store") as store:
        ws = store.create_workspace("w")
        bare = CredentialCreateRequest(name="x", provider=CloudProvider.AWS)
        with pytest.raises(CredentialsError) as info:
            store.create_credential(ws.id, None, bare)
        assert (info.value.status, info.value.message) == (
            422, "give one of credential, role or token")  # fmt: skip
        assert store.list_credentials(ws.id, None).total_items == 0


@pytest.mark.sqlite_only
def test_a_failed_commit_leaves_no_transaction_or_lock_behind(isolated: Path) -> None:
    home = isolated / "store"
    request = CredentialCreateRequest(
        name="r", provider=CloudProvider.AWS, role=AccessCredentialRole(aws=AWSRole(role_arn="a"))
    )
    with _store(home) as store:
        ws = store.create_workspace("w")
        # A deferred foreign key is checked at COMMIT, which then fails and
        # leaves the transaction open: a real failing COMMIT.
        with sqlite3.connect(home / "tilecred.db") as db:
            db.executescript(
                "CREATE TABLE nowhere (id TEXT PRIMARY KEY);"
                "CREATE TABLE dangling (ref TEXT REFERENCES nowhere (id)"
                " DEFERRABLE INITIALLY DEFERRED);"
                "CREATE TRIGGER audited AFTER INSERT ON credentials"
                " BEGIN INSERT INTO dangling VALUES ('missing'); END;"
            )
        with pytest.raises(CredentialsError) as info:
            store.create_credential(ws.id, None, request)
        assert info.value.message == (
            f"the local store {home / 'tilecred.db'} refused a write: FOREIGN KEY constraint failed"
        )
        # Nobody is left holding the write lock: another writer gets it at once.
        with contextlib.closing(sqlite3.connect(home / "tilecred.db", timeout=0)) as other:
            other.execute("BEGIN IMMEDIATE")
            other.execute("DROP TRIGGER audited")
            other.execute("COMMIT")
        # And the pooled connection works again, with nothing of the failed write.
        assert store.list_credentials(ws.id, None).total_items == 0
        assert store.create_credential(ws.id, None, request).name == "r"


@pytest.mark.sqlite_only
def test_a_second_provider_default_from_elsewhere_is_a_409_that_says_so(isolated: Path) -> None:
    home = isolated / "store"
    role = AccessCredentialRole(aws=AWSRole(role_arn="a"))
    with _store(home) as store:
        ws = store.create_workspace("w")
        store.create_credential(ws.id, None, CredentialCreateRequest(
            name="old", provider=CloudProvider.AWS, role=role))  # fmt: skip
        # Another writer makes "old" the default between our clearing and our insert.
        with contextlib.closing(sqlite3.connect(home / "tilecred.db", isolation_level=None)) as db:
            db.execute(
                "CREATE TRIGGER meanwhile BEFORE INSERT ON credentials"
                " WHEN NEW.provider_default = 1"
                " BEGIN UPDATE credentials SET provider_default = 1 WHERE name = 'old'; END"
            )
        new = CredentialCreateRequest(
            name="new", provider=CloudProvider.AWS, role=role, provider_default=True
        )
        with pytest.raises(ConflictError) as info:
            store.create_credential(ws.id, None, new)
        assert (info.value.status, info.value.message) == (
            409,
            "another credential became the AWS default at the same time: try again",
        )
        page = store.list_credentials(ws.id, None)
        assert [(c.name, c.provider_default) for c in page.items] == [("old", False)]


@pytest.mark.sqlite_only
def test_the_backend_opens_one_store_and_closes_it(isolated: Path) -> None:
    settings = tilecred.configure(home=isolated / "b").settings
    backend = LocalBackend(settings)
    assert backend.store.home == isolated / "b"
    backend.close()
    with pytest.raises(CredentialsError) as info:
        backend.store.find_workspace("default")
    assert info.value.message == f"the local store {isolated / 'b' / 'tilecred.db'} is closed"


@pytest.mark.sqlite_only
def test_import_tilecred_loads_neither_sqlite_nor_cryptography() -> None:
    code = (
        "import sys, tilecred\n"
        "heavy = ('sqlite3', 'cryptography', 'tilecred._local')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "[]\n"


@pytest.mark.sqlite_only
def test_a_postgresql_store_without_the_extra_says_how_to_install_it() -> None:
    # The driver blocked as if not installed; the URL's password must not show.
    code = (
        "import sys; sys.modules['psycopg'] = None\n"
        "from tilecred._local import open_store\n"
        "try:\n"
        f"    open_store('postgresql://u:{CANARY_SECRET}@127.0.0.1:1/db')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == (
        "ConfigurationError a PostgreSQL store needs psycopg and psycopg_pool: install the "
        "postgres extra (pip install '.[postgres]' in a tilecred checkout)\n"
    )
