"""TileDB's own Python client against ``tilecred serve``, unchanged.

``nox -s tiledb_client`` installs ``tiledb-client`` (pinned in noxfile.py) and
runs this file with ``TILECRED_REQUIRE_TILEDB_CLIENT=1``, so a missing client
fails there instead of skipping. Elsewhere (``nox -s tests``) it is skipped:
the client is large and not a test dependency.
"""

from __future__ import annotations

import importlib
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_server_harness import ROLE_ARN, Running

pytest_plugins = ["tests.test_server_harness"]

with warnings.catch_warnings():
    # Importing it imports the TileDB library, whose tiledb.cloud shim warns
    # that tiledb.client replaces it: true, and not ours to act on.
    warnings.filterwarnings("ignore", "Please migrate to importing from tiledb.client")
    if os.environ.get("TILECRED_REQUIRE_TILEDB_CLIENT"):
        tiledb_client = importlib.import_module("tiledb.client")
    else:
        tiledb_client = pytest.importorskip("tiledb.client")


@pytest.fixture
def tiledb_session(server: Running, tmp_path: Path) -> Any:
    """TileDB's client logged in to the server with a workspace-bound token."""
    profiles = tmp_path / "tiledb-profile"
    profiles.mkdir()
    tiledb_client.configure(token=server.token, host=server.url, profile_dir=str(profiles))
    tiledb_client.login(profile_dir=str(profiles))
    return tiledb_client


def test_six_credential_functions_teamspaces_and_workspace(
    server: Running, tiledb_session: Any
) -> None:
    # Imported by name: tiledb-client ships no type information.
    credentials = importlib.import_module("tiledb.client.credentials")
    teamspaces = importlib.import_module("tiledb.client.teamspaces")
    api = importlib.import_module("tiledb.client._common.api_v4")
    AccessCredentialRole, AWSRole = api.AccessCredentialRole, api.AWSRole
    AWSCredential, AzureToken, Credential, Token = (
        api.AWSCredential, api.AzureToken, api.Credential, api.Token
    )  # fmt: skip

    created = teamspaces.create_teamspace("ml", description="Models", visibility="private")
    assert created.name == "ml"
    assert created.teamspace_id.startswith("ts_")
    assert created.created_by.role == "owner"
    assert teamspaces.get_teamspace("ml").teamspace_id == created.teamspace_id
    assert [t.name for t in teamspaces.list_teamspaces()] == ["ml"]
    workspace = importlib.import_module("tiledb.client.client").get_workspace()
    assert workspace.workspace_id == server.workspace_id
    assert workspace.name == "team"

    credentials.create_credential(
        "s3", "AWS", teamspace="ml",
        credential=Credential(aws=AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE",
                                                secret_access_key=CANARY_SECRET)),
    )  # fmt: skip
    credentials.create_credential(
        "role", "AWS", teamspace=created.teamspace_id,
        role=AccessCredentialRole(aws=AWSRole(role_arn=ROLE_ARN, external_id="123ABC")),
    )  # fmt: skip
    credentials.create_credential(
        "sas", "AZURE",
        token=Token(azure=AzureToken(account_name="acct", sas_token=CANARY_SECRET)),
    )  # fmt: skip

    got = credentials.get_credential("s3", teamspace="ml")
    assert got.name == "s3"
    assert got.credential_type == "teamspace"
    assert got.credential.aws.access_key_id == "AKIAIOSFODNN7EXAMPLE"
    assert got.credential.aws.secret_access_key == ""
    role = credentials.get_credential("role", teamspace="ml")
    assert role.role.aws.role_arn == ROLE_ARN
    assert role.role.aws.external_id == "123ABC"
    sas = credentials.get_credential("sas")
    assert sas.token.azure.sas_token == ""

    pager = credentials.list_credentials(teamspace="ml", per_page=1)
    assert [c.name for c in pager] == ["role", "s3"]
    assert pager.pagination_metadata.total_items == 2
    assert [c.name for c in credentials.list_credentials()] == ["sas"]

    credentials.update_credential("s3", teamspace="ml", name="s3-new")
    assert credentials.get_credential("s3-new", teamspace="ml").id == got.id

    credentials.verify_credential(
        "check", "AWS", teamspace="ml",
        role=AccessCredentialRole(aws=AWSRole(role_arn=ROLE_ARN, external_id="123ABC")),
    )  # fmt: skip
    with pytest.raises(credentials.CredentialsError):
        credentials.verify_credential(
            "check", "AWS",
            role=AccessCredentialRole(aws=AWSRole(role_arn="not-an-arn", external_id="123ABC")),
        )  # fmt: skip

    credentials.delete_credential("s3-new", teamspace="ml")
    with pytest.raises(credentials.CredentialsError):
        credentials.get_credential("s3-new", teamspace="ml")
    assert [c.name for c in credentials.list_credentials(teamspace="ml")] == ["role"]


def test_code_written_for_tiledbs_client_runs_on_tilecred(server: Running) -> None:
    # The same calls, with TileDB's own model objects, through tilecred's
    # functions: only the import changes.
    api = importlib.import_module("tiledb.client._common.api_v4")
    tilecred.configure(host=server.url, token=server.token)
    tilecred.create_credential(
        "s3", "AWS",
        credential=api.Credential(aws=api.AWSCredential(
            access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY_SECRET)),
    )  # fmt: skip
    tilecred.create_credential(
        "role", "AWS",
        role=api.AccessCredentialRole(aws=api.AWSRole(role_arn=ROLE_ARN, external_id="123ABC")),
    )  # fmt: skip
    pager = tilecred.list_credentials(None, None, 1)
    assert [c.name for c in pager] == ["role", "s3"]
    assert pager.pagination_metadata is not None
    assert pager.pagination_metadata.total_items == 2
    got = tilecred.get_credential("role")
    assert got.role is not None
    assert got.role.aws is not None
    assert (got.role.aws.role_arn, got.role.aws.external_id) == (ROLE_ARN, "123ABC")


def test_tiledbs_client_reads_and_changes_alongside_inactive_credentials(
    server: Running, tiledb_session: Any
) -> None:
    # tilecred's answers carry fields TileDB's service does not send (active,
    # expires_at; last_used_at and last_used_by once used): its client must
    # list, get and update with them there, and with a deactivated credential.
    credentials = importlib.import_module("tiledb.client.credentials")
    api = importlib.import_module("tiledb.client._common.api_v4")
    sas = f"sv=2024-11-04&se=2031-05-06T07:08:09Z&sig={CANARY_SECRET}"
    credentials.create_credential(
        "sas", "AZURE", token=api.Token(azure=api.AzureToken(account_name="acct", sas_token=sas))
    )
    credentials.create_credential(
        "role", "AWS",
        role=api.AccessCredentialRole(aws=api.AWSRole(role_arn=ROLE_ARN, external_id="123ABC")),
    )  # fmt: skip
    with tilecred.Client(host=server.url, token=server.token, retries=0) as ours:
        assert ours.deactivate_credential("sas").active is False
    raw = server.request("GET", server.credentials_path())
    fields = {c["name"]: (c["active"], c.get("expires_at")) for c in raw.json["data"]}
    assert fields == {"role": (True, None), "sas": (False, "2031-05-06T07:08:09Z")}
    assert CANARY_SECRET not in raw.raw.decode()

    assert [(c.name, c.provider) for c in credentials.list_credentials()] == [
        ("role", "AWS"), ("sas", "AZURE")
    ]  # fmt: skip
    got = credentials.get_credential("sas")
    assert (got.name, got.token.azure.account_name, got.token.azure.sas_token) == (
        "sas", "acct", ""
    )  # fmt: skip
    credentials.update_credential("sas", name="sas-old")
    # (TileDB's client sends allowed_in_tasks=False with every update, whatever it is given.)
    credentials.update_credential("role", provider_default=True)
    assert credentials.get_credential("sas-old").id == got.id
    assert credentials.get_credential("role").provider_default is True
    # A deactivated credential cannot be made the default: refused, as its client reports it.
    with pytest.raises(credentials.CredentialsError):
        credentials.update_credential("sas-old", provider_default=True)
    # The rename kept it deactivated and its expiry.
    after = server.request("GET", server.credentials_path("sas-old")).json["data"]
    assert (after["active"], after["expires_at"]) == (False, "2031-05-06T07:08:09Z")


def test_tiledbs_client_reads_a_credential_with_its_last_use(
    server: Running, tiledb_session: Any
) -> None:
    # tilecred adds last_used_at and last_used_by to a used credential's
    # answers (issue #13); TileDB's client must still read it.
    credentials = importlib.import_module("tiledb.client.credentials")
    body = {
        "name": "lake",
        "provider": "AWS",
        "allowed_in_tasks": True,
        "credential": {
            "aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}
        },
    }
    assert server.request("POST", server.credentials_path(), body=body).status == 201
    record, task = server.app.tokens.create(server.workspace_id, "runner", kind="task")
    use = f"/tilecred/v1/credentials/{server.workspace_id}/lake/use"
    assert server.request("POST", use, token=task).status == 200
    sent = server.request("GET", server.credentials_path("lake")).json["data"]
    assert sent["last_used_by"] == f"token:{record.id} (runner)"

    got = credentials.get_credential("lake")
    assert (got.name, got.id) == ("lake", sent["id"])
    assert got.credential.aws.access_key_id == "AKIAIOSFODNN7EXAMPLE"
    assert [c.name for c in credentials.list_credentials()] == ["lake"]


# One credential of every kind TileDB's models cannot hold (issue #20), made
# through tilecred's own client, which reads every kind.
TILECRED_KINDS: dict[str, tuple[str, dict[str, Any]]] = {
    "a-basic": ("GENERIC", {"credential": {"basic": {
        "user": "etl", "password": CANARY_SECRET, "host": "db", "scheme": "postgresql"}}}),
    "b-bearer": ("GENERIC", {"token": {"bearer": {"token": CANARY_SECRET}}}),
    "c-oauth": ("GENERIC", {"credential": {"oauth": {
        "token_url": "https://login.example.com/token", "client_id": "app",
        "client_secret": CANARY_SECRET}}}),
    "d-azure-sp": ("AZURE", {"credential": {"azure_service_principal": {
        "tenant_id": "contoso.onmicrosoft.com", "client_id": "app",
        "client_secret": CANARY_SECRET}}}),
    "e-pat": ("DATABRICKS", {"token": {"databricks_pat": {
        "host": "https://dbc-1.cloud.databricks.com", "token": CANARY_SECRET}}}),
}  # fmt: skip


def test_tiledbs_client_lists_gets_and_updates_beside_every_tilecred_kind(
    server: Running, tiledb_session: Any
) -> None:
    credentials = importlib.import_module("tiledb.client.credentials")
    ours = tilecred.Client(host=server.url, token=server.token)
    for name, (provider, secret) in TILECRED_KINDS.items():
        ours.create_credential(name, provider, description=f"{name} for tests", **secret)
    # TileDB's kinds, one with tilecred's additions (a session token, a description).
    ours.create_credential(
        "f-s3", "AWS", description="temporary keys",
        credential={"aws": {"access_key_id": "ASIAIOSFODNN7EXAMPLE",
                            "secret_access_key": CANARY_SECRET, "session_token": CANARY_SECRET}},
    )  # fmt: skip
    ours.create_credential("g-role", "AWS", role={"aws": {"role_arn": ROLE_ARN}})
    ours.create_credential(
        "h-sas", "AZURE", token={"azure": {"account_name": "acct", "sas_token": CANARY_SECRET}}
    )

    # TileDB's client sees only what its models hold, and counts only that.
    pager = credentials.list_credentials(per_page=2)
    assert [c.name for c in pager] == ["f-s3", "g-role", "h-sas"]
    assert (pager.pagination_metadata.total_items, pager.pagination_metadata.total_pages) == (3, 2)
    # Its second page, asked for alone, is the listing's last: nothing comes after it.
    last = credentials.list_credentials(page=2, per_page=2)
    assert [c.name for c in last] == ["h-sas"]
    got = credentials.get_credential("f-s3")
    assert (got.credential.aws.access_key_id, got.credential.aws.secret_access_key) == (
        "ASIAIOSFODNN7EXAMPLE", ""
    )  # fmt: skip
    with pytest.raises(credentials.CredentialsError):
        credentials.get_credential("a-basic")
    credentials.update_credential("f-s3", name="f-s3-renamed", allowed_in_tasks=True)
    credentials.update_credential("g-role", provider_default=True)

    # tilecred's client sees every kind, the change TileDB's made included.
    everything = list(ours.list_credentials(per_page=3))
    assert [c.name for c in everything] == [*TILECRED_KINDS, "f-s3-renamed", "g-role", "h-sas"]
    renamed = ours.get_credential("f-s3-renamed")
    # TileDB's client sends allowed_in_tasks=False with every update, whatever it was given.
    assert (renamed.description, renamed.allowed_in_tasks) == ("temporary keys", False)
    assert ours.get_credential("a-basic").description == "a-basic for tests"
    assert ours.get_credential("g-role").provider_default is True
