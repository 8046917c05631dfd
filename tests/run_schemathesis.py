"""schemathesis against a real ``tilecred serve``: ``nox -s schemathesis``
(``python -m tests.run_schemathesis``).

Starts ``tilecred serve`` over a fresh data directory on a free port of
127.0.0.1, takes the first start's admin token, and seeds what the generated
requests should reach: a credential allowed in tasks and a task token for
the use route, a credential to deactivate and activate, a token for the
token routes (tests/schemathesis_hooks.py gives each token and credential
``DELETE`` a live object of its own). Then it runs schemathesis over
``/openapi.json`` with a fixed number of examples per operation and a fixed
seed, so a run is bounded and repeatable. It fails on any 5xx, any answer
that does not match the document (schema, content type, headers), any
status the document does not list — and, read from the server's access log,
on any operation of :data:`MUST_SUCCEED` that never answered with success.
Extra arguments go to ``schemathesis run``.
"""

from __future__ import annotations

import collections
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

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
# Operations the seeded data lets succeed: a run where one of them saw only
# refusals and 404s did not test it.
MUST_SUCCEED = ("use_credential", "deactivate_credential", "activate_credential", "revoke_token",
                "delete_credential",
                "list_credentials", "get_credential", "create_token", "list_tokens")  # fmt: skip
LAKE_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def _post(port: int, token: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        status, data = _call(conn, "POST", path, token, json.dumps(body).encode())
    finally:
        conn.close()
    if status != 201:
        raise RuntimeError(f"could not seed {path}: {status} {data[:200]!r}")
    created: dict[str, Any] = json.loads(data)["data"]
    return created


def seed(port: int, token: str, workspace: str) -> dict[str, str]:
    """What the generated requests reach, as the variables schemathesis.toml reads.

    The token routes act on a task token made for them: without it, the
    stateful phase takes the admin token's id from the token listing and
    regenerates or deactivates it, and every later request is a 401.
    """
    credentials = f"/v4/credentials/{workspace}"
    _post(port, token, credentials, {
        "name": "fuzz-lake", "provider": "AWS", "allowed_in_tasks": True,
        "credential": {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                               "secret_access_key": LAKE_KEY}}})  # fmt: skip
    _post(port, token, credentials, {"name": "fuzz-switch", "provider": "AWS",
          "role": {"aws": {"role_arn": "arn:aws:iam::123456789012:role/fuzz"}}})  # fmt: skip
    tokens = f"/tilecred/v1/tokens/{workspace}"
    task = _post(port, token, tokens, {"name": "fuzz-task", "kind": "task"})
    target = _post(port, token, tokens, {"name": "fuzz-target", "kind": "task"})
    return {"TILECRED_FUZZ_TOKEN": token, "TILECRED_FUZZ_WORKSPACE": workspace,
            "TILECRED_FUZZ_PORT": str(port), "TILECRED_FUZZ_TOKEN_ID": str(target["token_id"]),
            "TILECRED_FUZZ_TASK_TOKEN": str(task["token"]),
            "TILECRED_FUZZ_CREDENTIAL": "fuzz-lake", "TILECRED_FUZZ_SWITCH": "fuzz-switch",
            "TILECRED_FUZZ_DOOMED": "fuzz-doomed",
            "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"}  # fmt: skip


_ACCESS = re.compile(r'"([A-Z]+) (\S+)" (\d{3}) ')


def answered(log: str) -> dict[str, collections.Counter[int]]:
    """The statuses each operation answered with, from the server's access log."""
    from urllib.parse import unquote

    from tilecred._server._request import HttpError
    from tilecred._server._routes import match

    seen: dict[str, collections.Counter[int]] = collections.defaultdict(collections.Counter)
    for method, path, status in _ACCESS.findall(log):
        try:
            route, _ = match(method, tuple(unquote(p) for p in path.split("/")[1:]))
        except HttpError:
            continue
        seen[route.handler][int(status)] += 1
    return seen


def report(seen: dict[str, collections.Counter[int]]) -> list[str]:
    """Print what each operation answered; the operations of MUST_SUCCEED that never succeeded."""
    for handler in sorted(seen):
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(seen[handler].items()))
        print(f"{handler:24} {counts}")
    return [h for h in MUST_SUCCEED if not any(200 <= s < 300 for s in seen.get(h, {}))]


def main(argv: list[str]) -> int:
    """Run schemathesis against a fresh server; its exit status."""
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "server.log"
        with log_path.open("w") as log:
            proc, port, token = start_server(Path(tmp) / "home", "--threads", "4", log=log)
        url = f"http://127.0.0.1:{port}"
        try:
            env = {**os.environ, **seed(port, token, token.split("-")[1])}
            command = [
                "schemathesis", "--config-file", str(CONFIG), "run", f"{url}/openapi.json",
                "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--seed", str(SEED),
                "--workers", "1", "--request-timeout", "30", "--no-color",
                "--generation-database", "none", *argv,
            ]  # fmt: skip
            code = subprocess.run(command, env=env, check=False).returncode
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
        unreached = report(answered(log_path.read_text()))
    if unreached:
        print(f"never answered with success: {', '.join(unreached)}", file=sys.stderr)
        return code or 1
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
