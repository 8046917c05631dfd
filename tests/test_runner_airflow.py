"""Airflow's secrets backend over tilecred, in a real DAG run (``dag.test()``).

Airflow reads its configuration when it is imported, so each DAG runs in a
child process with its own ``AIRFLOW_HOME`` (an SQLite metadata database made
once per module by ``airflow db migrate``) and ``[secrets] backend`` set to
``TilecredBackend``. The DAG's task reads an object from moto (signatures
checked) through ``S3Hook(aws_conn_id=...)``; ``nox -s airflow`` runs them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.parse
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests._moto import BUCKET, Moto
from tests._runners import job_env, lake_key
from tilecred import Client

if TYPE_CHECKING:
    from tilecred.testing import TilecredServer

pytestmark = pytest.mark.airflow
pytest.importorskip("airflow.providers.amazon", reason="nox -s airflow installs Airflow")

_DAG = """
import datetime, os
from airflow.sdk import dag, task
from airflow.providers.amazon.aws.hooks.s3 import S3Hook

@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def lake_read():
    @task
    def read_seed():
        hook = S3Hook(aws_conn_id=os.environ["LAKE_CONN"])
        print("READ=" + hook.read_key("seed.txt", bucket_name="{bucket}"), flush=True)
    read_seed()

the_dag = lake_read()
if __name__ == "__main__":
    print("STATE=" + str(the_dag.test().state), flush=True)
"""


_PG_DAG = """
import datetime, os
from airflow.sdk import dag, task
from airflow.providers.postgres.hooks.postgres import PostgresHook

@dag(schedule=None, start_date=datetime.datetime(2026, 1, 1), catchup=False)
def warehouse_query():
    @task
    def ask():
        row = PostgresHook(postgres_conn_id=os.environ["PG_CONN"]).get_first(
            "SELECT current_user, current_database()")
        print("ROW=" + "|".join(row), flush=True)
    ask()

the_dag = warehouse_query()
if __name__ == "__main__":
    print("STATE=" + str(the_dag.test().state), flush=True)
"""


def _airflow_env(home: Path, extra: dict[str, str]) -> dict[str, str]:
    return job_env(home, {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
        "AIRFLOW__SECRETS__BACKEND": "tilecred.integrations.airflow.TilecredBackend",
        **extra,
    })  # fmt: skip


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Airflow home with its metadata database migrated and the DAG in its dags folder."""
    home = tmp_path_factory.mktemp("airflow")
    (home / "dags").mkdir()
    (home / "dags" / "lake_dag.py").write_text(_DAG.replace("{bucket}", BUCKET))
    (home / "dags" / "warehouse_dag.py").write_text(_PG_DAG)
    done = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=_airflow_env(home, {}), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return home


def _run_dag(
    home: Path, conn_id: str, env: dict[str, str], dag_file: str = "lake_dag.py"
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(home / "dags" / dag_file)],
        env=_airflow_env(home, {"LAKE_CONN": conn_id, **env}),
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_a_dag_reads_s3_through_a_local_credential(
    airflow_home: Path, moto: Moto, tmp_path: Path
) -> None:
    home = tmp_path / "tilecred"
    Client(home=home).create_credential(
        "lake-key", "aws", allowed_in_tasks=True, credential=lake_key(moto)
    )
    done = _run_dag(airflow_home, "lake-key", {"TILECRED_HOME": str(home)})
    output = done.stdout + done.stderr
    assert "READ=seed" in output, output[-3000:]
    assert "STATE=success" in output
    assert moto.secret not in done.stdout  # the task printed the object, not the key
    uses = [r for r in Client(home=home).audit(credential="lake-key") if r.action == "use"]
    assert len(uses) == 1
    assert uses[0].outcome == "ok"
    assert uses[0].detail is not None
    assert uses[0].detail.startswith("airflow dag=lake_read task=read_seed run=manual__")


def test_a_dag_uses_a_task_token_on_tilecred_serve_with_a_prefix(
    airflow_home: Path, moto: Moto, tilecred_server: TilecredServer
) -> None:
    admin = tilecred_server.client()
    admin.create_credential("lake-key", "aws", allowed_in_tasks=True, credential=lake_key(moto))
    token = tilecred_server.task_token(credentials=["lake-key"], expires="1h")
    env = {
        "TILEDB_REST_SERVER_ADDRESS": tilecred_server.url,
        "TILEDB_REST_TOKEN": token,
        "AIRFLOW__SECRETS__BACKEND_KWARGS": json.dumps({"connections_prefix": "tc_"}),
    }
    done = _run_dag(airflow_home, "tc_lake-key", env)
    output = done.stdout + done.stderr
    assert "READ=seed" in output, output[-3000:]
    uses = [r for r in admin.audit(credential="lake-key") if r.action == "use"]
    assert [(r.outcome, r.actor.startswith("token:")) for r in uses] == [("ok", True)]
    assert uses[0].detail is not None
    assert "dag=lake_read task=read_seed" in uses[0].detail


def test_a_credential_not_allowed_in_tasks_fails_the_task_with_tilecreds_message(
    airflow_home: Path, moto: Moto, tmp_path: Path
) -> None:
    home = tmp_path / "tilecred"
    Client(home=home).create_credential(
        "lake-key", "aws", allowed_in_tasks=False, credential=lake_key(moto)
    )
    done = _run_dag(airflow_home, "lake-key", {"TILECRED_HOME": str(home)})
    output = done.stdout + done.stderr
    assert "READ=seed" not in output
    assert "STATE=failed" in output, output[-3000:]
    assert "AirflowSecretsBackendAccessDenied" in output
    assert "is not allowed in tasks" in output
    assert moto.secret not in output
    denied = [r for r in Client(home=home).audit(credential="lake-key") if r.action == "use"]
    assert [r.outcome for r in denied] == ["denied"]


def test_a_missing_credential_leaves_the_connection_to_the_next_backend(
    airflow_home: Path, tmp_path: Path
) -> None:
    home = tmp_path / "tilecred"
    done = _run_dag(airflow_home, "no-such-conn", {"TILECRED_HOME": str(home)})
    output = done.stdout + done.stderr
    assert "STATE=failed" in output, output[-3000:]
    # Every backend said "not here": the AWS hook falls back to no connection.
    assert "Unable to find AWS Connection ID 'no-such-conn'" in output
    assert "NoCredentialsError" in output


def test_a_dag_queries_postgresql_through_a_database_login(
    airflow_home: Path, postgres_url: str, tmp_path: Path
) -> None:
    parts = urllib.parse.urlsplit(postgres_url)
    password = urllib.parse.unquote(parts.password or "")
    login = {"basic": {
        "user": parts.username, "password": password,
        "host": parts.hostname, "port": parts.port, "database": parts.path.lstrip("/"),
        "scheme": "postgresql",
    }}  # fmt: skip
    home = tmp_path / "tilecred"
    client = Client(home=home)
    client.create_credential("warehouse", "GENERIC", allowed_in_tasks=True, credential=login)
    env = {"TILECRED_HOME": str(home), "PG_CONN": "warehouse"}
    done = _run_dag(airflow_home, "warehouse", env, dag_file="warehouse_dag.py")
    output = done.stdout + done.stderr
    assert f"ROW={parts.username}|{parts.path.lstrip('/')}" in output, output[-3000:]
    assert "STATE=success" in output
    assert password not in output
    (use,) = [r for r in client.audit(credential="warehouse") if r.action == "use"]
    assert use.outcome == "ok"
    assert use.detail is not None
    assert "dag=warehouse_query task=ask" in use.detail
