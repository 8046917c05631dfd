"""The Dagster resource in a real materialization (``dagster.materialize``).

The asset runs in a child process (tests/_runners.py) with its own
``DAGSTER_HOME`` and reads an object from moto through
``TilecredResource.use(name)``. ``nox -s dagster`` runs them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests._moto import BUCKET, Moto
from tests._runners import job_env, lake_key, run_job
from tilecred import Client

pytestmark = pytest.mark.dagster
pytest.importorskip("dagster", reason="nox -s dagster installs Dagster")

_ASSETS = """
from dagster import asset, materialize
from tilecred.integrations.dagster import TilecredResource

@asset
def seed(tilecred: TilecredResource) -> str:
    with tilecred.use("lake-key") as access:
        s3 = access.boto3_session().client("s3")
        return s3.get_object(Bucket="{bucket}", Key="seed.txt")["Body"].read().decode()

if __name__ == "__main__":
    result = materialize([seed], resources={"tilecred": TilecredResource()})
    print("SUCCESS=" + str(result.success), flush=True)
    print("READ=" + result.output_for_node("seed"), flush=True)
"""


def test_an_asset_reads_s3_through_the_resource(moto: Moto, tmp_path: Path) -> None:
    home = tmp_path / "tilecred"
    client = Client(home=home)
    client.create_credential("lake-key", "aws", allowed_in_tasks=True, credential=lake_key(moto))
    script = tmp_path / "lake_assets.py"
    script.write_text(_ASSETS.replace("{bucket}", BUCKET))
    (tmp_path / "dagster").mkdir()
    env = job_env(tmp_path, {"DAGSTER_HOME": str(tmp_path / "dagster"), "TILECRED_HOME": str(home)})
    output = run_job(script, env)
    assert "SUCCESS=True" in output, output[-3000:]
    assert "READ=seed" in output
    assert moto.secret not in output
    (use,) = [r for r in client.audit(credential="lake-key") if r.action == "use"]
    assert use.outcome == "ok"
    assert use.detail is not None
    assert use.detail.startswith("dagster run=")


def test_a_credential_not_allowed_in_tasks_fails_the_run_with_tilecreds_message(
    moto: Moto, tmp_path: Path
) -> None:
    home = tmp_path / "tilecred"
    client = Client(home=home)
    client.create_credential("lake-key", "aws", allowed_in_tasks=False, credential=lake_key(moto))
    script = tmp_path / "lake_assets.py"
    script.write_text(_ASSETS.replace("{bucket}", BUCKET))
    (tmp_path / "dagster").mkdir()
    env = job_env(tmp_path, {"DAGSTER_HOME": str(tmp_path / "dagster"), "TILECRED_HOME": str(home)})
    output = run_job(script, env)
    assert "READ=seed" not in output
    assert "credential 'lake-key' is not allowed in tasks" in output, output[-3000:]
    assert moto.secret not in output
