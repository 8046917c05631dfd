"""The Airflow connection each kind of credential becomes (no Airflow needed).

Each case stores a credential in the local store, uses it, and compares the
whole connection with what that provider's Airflow hooks read.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tilecred.integrations._connections import airflow_connection

_GCP_KEY = {"type": "service_account", "project_id": "lake-1", "private_key": CANARY_SECRET}
_PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"

CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    (
        "AWS", "credential",
        {"aws": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": CANARY_SECRET,
                 "endpoint": "http://127.0.0.1:9000", "use_path_style": True}},
        {"conn_type": "aws", "login": "AKIAEXAMPLE", "password": CANARY_SECRET,
         "extra": {"endpoint_url": "http://127.0.0.1:9000",
                   "config_kwargs": {"s3": {"addressing_style": "path"}}}},
    ),
    (
        "AWS", "role",
        {"aws": {"role_arn": "arn:aws:iam::123456789012:role/reader", "external_id": "ext-1"}},
        {"conn_type": "aws",
         "extra": {"role_arn": "arn:aws:iam::123456789012:role/reader",
                   "assume_role_method": "assume_role",
                   "assume_role_kwargs": {"ExternalId": "ext-1"}}},
    ),
    (
        "AZURE", "credential",
        {"azure": {"account_name": "lake", "account_key": CANARY_SECRET}},
        {"conn_type": "wasb", "login": "lake", "password": CANARY_SECRET,
         "host": "https://lake.blob.core.windows.net/"},
    ),
    (
        "AZURE", "token",
        {"azure": {"account_name": "lake", "sas_token": f"sv=2024&sig={CANARY_SECRET}"}},
        {"conn_type": "wasb", "login": "lake", "host": "https://lake.blob.core.windows.net/",
         "extra": {"sas_token": f"sv=2024&sig={CANARY_SECRET}"}},
    ),
    (
        "GCP", "credential",
        {"gcp": {"access_key_id": "GOOGEXAMPLE", "secret_access_key": CANARY_SECRET}},
        {"conn_type": "aws", "login": "GOOGEXAMPLE", "password": CANARY_SECRET,
         "extra": {"endpoint_url": "https://storage.googleapis.com"}},
    ),
    (
        "GCP", "token",
        {"gcp": {"account_id": "svc@lake-1.iam.gserviceaccount.com", "key_id": "k1",
                 "key_text": json.dumps(_GCP_KEY)}},
        {"conn_type": "google_cloud_platform",
         "extra": {"keyfile_dict": _GCP_KEY, "project": "lake-1"}},
    ),
    (
        "SNOWFLAKE", "token",
        {"snowflake": {"account": "acme-x1", "user": "loader", "private_key_raw": _PEM,
                       "private_key_passphrase": CANARY_SECRET, "warehouse": "wh"}},
        {"conn_type": "snowflake", "login": "loader", "password": CANARY_SECRET,
         "extra": {"account": "acme-x1", "private_key_content": _PEM, "warehouse": "wh"}},
    ),
    (
        "DATABRICKS", "token",
        {"databricks": {"host": "https://dbc-1.cloud.databricks.com", "client_id": "sp-1",
                        "client_secret": CANARY_SECRET}},
        {"conn_type": "databricks", "host": "https://dbc-1.cloud.databricks.com",
         "login": "sp-1", "password": CANARY_SECRET, "extra": {"service_principal_oauth": True}},
    ),
    (
        "AWS", "credential",
        {"aws": {"access_key_id": "ASIAEXAMPLE", "secret_access_key": CANARY_SECRET,
                 "session_token": "session-" + CANARY_SECRET}},
        {"conn_type": "aws", "login": "ASIAEXAMPLE", "password": CANARY_SECRET,
         "extra": {"aws_session_token": "session-" + CANARY_SECRET}},
    ),
    (
        "AZURE", "credential",
        {"azure_service_principal": {"tenant_id": "t-1", "client_id": "c-1",
                                     "client_secret": CANARY_SECRET, "account_name": "lake"}},
        {"conn_type": "wasb", "login": "c-1", "password": CANARY_SECRET,
         "host": "https://lake.blob.core.windows.net/", "extra": {"tenant_id": "t-1"}},
    ),
    (
        "DATABRICKS", "token",
        {"databricks_pat": {"host": "https://dbc-1.cloud.databricks.com", "token": CANARY_SECRET}},
        {"conn_type": "databricks", "host": "https://dbc-1.cloud.databricks.com",
         "extra": {"token": CANARY_SECRET}},
    ),
    (
        "GENERIC", "credential",
        {"basic": {"user": "loader", "password": CANARY_SECRET, "host": "db.internal",
                   "port": 5432, "database": "lake", "scheme": "postgresql",
                   "params": {"sslmode": "require"}}},
        {"conn_type": "postgres", "login": "loader", "password": CANARY_SECRET,
         "host": "db.internal", "port": 5432, "schema": "lake", "extra": {"sslmode": "require"}},
    ),
    (
        "GENERIC", "credential",
        {"basic": {"user": "app", "password": CANARY_SECRET, "host": "my.internal",
                   "scheme": "mysql"}},
        {"conn_type": "mysql", "login": "app", "password": CANARY_SECRET, "host": "my.internal"},
    ),
    (
        "GENERIC", "token",
        {"bearer": {"token": CANARY_SECRET, "url": "https://api.example.com/",
                    "header": "X-Api-Key"}},
        {"conn_type": "http", "host": "https://api.example.com/",
         "extra": {"X-Api-Key": CANARY_SECRET}},
    ),
    (
        "GENERIC", "token",
        {"bearer": {"token": CANARY_SECRET, "url": "https://api.example.com/"}},
        {"conn_type": "http", "host": "https://api.example.com/",
         "extra": {"Authorization": f"Bearer {CANARY_SECRET}"}},
    ),
]  # fmt: skip


_IDS = [f"{case[0]}-{case[1]}.{next(iter(case[2]))}-{n}" for n, case in enumerate(CASES)]


@pytest.mark.parametrize(("provider", "container", "secret", "expected"), CASES, ids=_IDS)
def test_each_kind_becomes_the_connection_its_hooks_read(
    provider: str, container: str, secret: dict[str, Any], expected: dict[str, Any]
) -> None:
    secret_argument: dict[str, Any] = {container: secret}
    tilecred.create_credential("c", provider, allowed_in_tasks=True, **secret_argument)
    with tilecred.use_credential("c") as access:
        assert airflow_connection(access) == expected


def test_an_entra_id_token_leaves_sign_in_to_the_workers_identity() -> None:
    tilecred.create_credential(
        "c", "AZURE", allowed_in_tasks=True,
        token={"azure_entra_id": {"blob_endpoint": "https://lake.blob.core.windows.net/"}},
    )  # fmt: skip
    with tilecred.use_credential("c") as access:
        assert airflow_connection(access) == {
            "conn_type": "wasb", "host": "https://lake.blob.core.windows.net/"
        }  # fmt: skip
