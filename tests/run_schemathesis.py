"""schemathesis against a real ``tilecred serve``: ``nox -s schemathesis``
(``python -m tests.run_schemathesis``).

Starts ``tilecred serve`` over a fresh data directory on a free port of
127.0.0.1, takes the first start's admin token, and runs schemathesis over
``/openapi.json`` with a fixed number of examples per operation and a fixed
seed, so a run is bounded and repeatable. It fails on any 5xx, any answer
that does not match the document (schema, content type, headers) and any
status the document does not list. Extra arguments go to ``schemathesis run``.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.server_load import _call, start_server

__all__ = ["main"]

CONFIG = Path(__file__).with_name("schemathesis.toml")
CHECKS = ",".join([
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
])  # fmt: skip
EXAMPLES = 30
SEED = 20261202


def _target_token(port: int, token: str, workspace: str) -> str:
    """A task token for the token routes to act on: the id in every {token_id}.

    Without it, the stateful phase takes the admin token's id from the token
    listing and regenerates or deactivates it, and every later request is a 401.
    """
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    body = json.dumps({"name": "fuzz-target", "kind": "task"}).encode()
    status, data = _call(conn, "POST", f"/tilecred/v1/tokens/{workspace}", token, body)
    conn.close()
    if status != 201:
        raise RuntimeError(f"could not create the fuzzing target token: {status}")
    return str(json.loads(data)["data"]["token_id"])


def main(argv: list[str]) -> int:
    """Run schemathesis against a fresh server; its exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start_server(Path(tmp) / "home", "--threads", "4")
        url = f"http://127.0.0.1:{port}"
        try:
            workspace = token.split("-")[1]
            env = {**os.environ, "TILECRED_FUZZ_TOKEN": token, "TILECRED_FUZZ_WORKSPACE": workspace,
                   "TILECRED_FUZZ_TOKEN_ID": _target_token(port, token, workspace)}  # fmt: skip
            command = [
                "schemathesis", "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
                "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", str(SEED),
                "--workers", "1", "--request-timeout", "30", "--no-color",
                "--generation-database", "none", *argv,
            ]  # fmt: skip
            return subprocess.run(command, env=env, check=False).returncode
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
