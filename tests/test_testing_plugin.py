"""``tilecred.testing``: the fixtures users' own tests get from ``pytest_plugins``."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tilecred.testing import TilecredServer


def _key() -> dict[str, Any]:
    return {"aws": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": CANARY_SECRET}}


@pytest.fixture
def machine_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A developer's machine: a TileDB token and server in the environment."""
    monkeypatch.setenv("TILEDB_REST_SERVER_ADDRESS", "http://127.0.0.1:9")
    monkeypatch.setenv("TILEDB_REST_TOKEN", "a-real-token")
    monkeypatch.setenv("TILECRED_HOME", str(tmp_path / "the-users-own-store"))


@pytest.mark.usefixtures("machine_settings")
def test_tilecred_store_points_every_call_and_command_at_an_isolated_store(
    tilecred_store: tilecred.Client,
) -> None:
    assert not any(name.startswith("TILEDB_REST_") for name in os.environ)
    home = Path(os.environ["TILECRED_HOME"])
    assert home.name == "tilecred-home"
    assert "the-users-own-store" not in str(home)
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential=_key())
    assert [c.name for c in tilecred_store.list_credentials()] == ["lake"]
    listed = subprocess.run(
        [sys.executable, "-m", "tilecred", "list", "--json"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    assert [json.loads(line)["name"] for line in listed.stdout.splitlines()] == ["lake"]
    assert CANARY_SECRET not in listed.stdout
    assert home.is_dir()


def test_tilecred_server_serves_with_an_admin_token_and_issues_task_tokens(
    tilecred_server: TilecredServer,
) -> None:
    assert tilecred_server.url.startswith("http://127.0.0.1:")
    admin = tilecred_server.client()
    admin.create_credential("lake", "AWS", allowed_in_tasks=True, credential=_key())
    admin.create_credential("other", "AWS", allowed_in_tasks=True, credential=_key())
    token = tilecred_server.task_token(credentials=["lake"], expires=datetime.timedelta(hours=1))
    task = tilecred_server.client(token)
    with task.use_credential("lake") as access:
        assert access.env()["AWS_SECRET_ACCESS_KEY"] == CANARY_SECRET
    with pytest.raises(tilecred.PermissionDeniedError):
        task.use_credential("other")
    assert CANARY_SECRET not in repr(tilecred_server)
    assert tilecred_server.admin_token not in repr(tilecred_server)


def test_a_task_token_cannot_be_issued_already_expired(tilecred_server: TilecredServer) -> None:
    with pytest.raises(tilecred.InvalidArgumentError) as caught:
        tilecred_server.task_token(expires=datetime.timedelta(0))
    assert caught.value.message == "a task token must expire in the future, not in 0:00:00"


def test_the_server_is_stopped_after_the_test(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tilecred.testing"]')
    pytester.makepyfile(
        """
        import pathlib

        def test_record(tilecred_server):
            pathlib.Path("pid").write_text(str(tilecred_server.process.pid))
        """
    )
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    pid = int((pytester.path / "pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_both_fixtures_work_under_pytest_xdist(pytester: pytest.Pytester) -> None:
    pytester.makeconftest('pytest_plugins = ["tilecred.testing"]')
    pytester.makepyfile(
        """
        import os
        import pytest
        import tilecred

        KEY = {"aws": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "s3cr3t-value"}}

        @pytest.mark.parametrize("n", range(3))
        def test_store(tilecred_store, n):
            tilecred.create_credential(f"c{n}", "AWS", credential=KEY)
            assert [c.name for c in tilecred_store.list_credentials()] == [f"c{n}"]

        @pytest.mark.parametrize("n", range(2))
        def test_server(tilecred_server, n):
            admin = tilecred_server.client()
            admin.create_credential(f"s{n}", "AWS", allowed_in_tasks=True, credential=KEY)
            assert [c.name for c in admin.list_credentials()] == [f"s{n}"]
        """
    )
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5)
    assert "2 workers" in result.stdout.str()


def test_a_failing_command_is_a_configuration_error_with_its_words(
    tilecred_server: TilecredServer,
) -> None:
    with pytest.raises(tilecred.ConfigurationError) as caught:
        tilecred_server.task_token(teamspace="no-such-teamspace")
    assert caught.value.message.startswith("tilecred token create failed: ")
    assert "no-such-teamspace" in caught.value.message
