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

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.server_load import start_server

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


def main(argv: list[str]) -> int:
    """Run schemathesis against a fresh server; its exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, port, token = start_server(Path(tmp) / "home", "--threads", "4")
        url = f"http://127.0.0.1:{port}"
        try:
            env = {**os.environ, "TILECRED_FUZZ_TOKEN": token,
                   "TILECRED_FUZZ_WORKSPACE": token.split("-")[1]}  # fmt: skip
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
