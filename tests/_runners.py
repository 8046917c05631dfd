"""Running a task runner's job in a child process, for the integration tests.

The runners read their configuration when they are imported, and each keeps
state of its own (a metadata database, an ephemeral API server), so every job
runs in a fresh interpreter with an environment made here: none of the
machine's AWS, TileDB or tilecred settings, nothing past 127.0.0.1, every
runner's telemetry off.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._moto import Moto

__all__ = ["REPO", "job_env", "lake_key", "run_job"]

REPO = Path(__file__).resolve().parent.parent
# Variables the child does not inherit: the machine's settings for what the job reaches.
_NOT_INHERITED = ("AIRFLOW", "AWS_", "DAGSTER_", "PREFECT_", "TILEDB_", "TILECRED_")


def job_env(directory: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a job whose files live in ``directory``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_NOT_INHERITED)}
    env.update(
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(directory / "no-aws-config"),
        AWS_SHARED_CREDENTIALS_FILE=str(directory / "no-aws-credentials"),
        DAGSTER_DISABLE_TELEMETRY="1",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_TELEMETRY_ENABLED="false",
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def run_job(script: Path, env: dict[str, str]) -> str:
    """Run ``script``; everything it printed (stdout, then stderr)."""
    done = subprocess.run(
        [sys.executable, str(script)], env=env, capture_output=True, text=True,
        timeout=400, check=False,
    )  # fmt: skip
    return done.stdout + done.stderr


def lake_key(moto: Moto) -> dict[str, Any]:
    """moto's key as a tilecred AWS credential, with its endpoint and path-style addressing."""
    return {"aws": {"access_key_id": moto.key_id, "secret_access_key": moto.secret,
                    "endpoint": moto.url, "use_path_style": True}}  # fmt: skip
