"""The Prefect block in a real flow run, on Prefect's ephemeral API server.

The flow runs in a child process (tests/_runners.py) with its own
``PREFECT_HOME``; it saves a ``TilecredCredential`` block, and its tasks load
the block and read an object from moto through ``get_boto3_session()`` and
through prefect-aws' ``AwsCredentials`` (``aws_credentials()``).
``nox -s prefect`` runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._moto import BUCKET, Moto
from tests._runners import job_env, lake_key, run_job
from tilecred import Client

pytestmark = pytest.mark.prefect
pytest.importorskip("prefect", reason="nox -s prefect installs Prefect")

_FLOW = """
import os
from prefect import flow, task
from tilecred.integrations.prefect import TilecredCredential

@task
def read_seed() -> str:
    s3 = TilecredCredential.load("lake-block").get_boto3_session().client("s3")
    return s3.get_object(Bucket="{bucket}", Key="seed.txt")["Body"].read().decode()

@task
def read_seed_through_prefect_aws() -> str:
    # prefect-aws' own block, made from the credential: its S3 client at the endpoint.
    s3 = TilecredCredential.load("lake-block").aws_credentials().get_s3_client()
    return s3.get_object(Bucket="{bucket}", Key="seed.txt")["Body"].read().decode()

@flow(name="lake-read")
def lake_read() -> str:
    return read_seed() + "," + read_seed_through_prefect_aws()

if __name__ == "__main__":
    TilecredCredential(name="lake-key").save("lake-block", overwrite=True)
    print("SAVED=" + TilecredCredential.load("lake-block").model_dump_json(), flush=True)
    print("READ=" + lake_read(), flush=True)
"""


def test_a_flow_loads_the_block_and_reads_s3(moto: Moto, tmp_path: Path) -> None:
    home = tmp_path / "tilecred"
    client = Client(home=home)
    client.create_credential("lake-key", "aws", allowed_in_tasks=True, credential=lake_key(moto))
    script = tmp_path / "lake_flow.py"
    script.write_text(_FLOW.replace("{bucket}", BUCKET))
    env = job_env(tmp_path, {
        "PREFECT_HOME": str(tmp_path / "prefect"),
        # Prefect's own API server starts beside the flow: two shared cores can be slow.
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "TILECRED_HOME": str(home),
    })  # fmt: skip
    output = run_job(script, env)
    assert "READ=seed,seed" in output, output[-3000:]
    # The block holds the name and nothing else of the credential.
    assert '"name":"lake-key","teamspace":null' in output
    assert moto.secret not in output
    uses = [r for r in client.audit(credential="lake-key") if r.action == "use"]
    assert [use.outcome for use in uses] == ["ok", "ok"]
    details = sorted(use.detail or "" for use in uses)
    assert all(detail.startswith("prefect flow=") for detail in details)
    assert "task=read_seed-" in details[0]
    assert "task=read_seed_through_prefect_aws-" in details[1]
