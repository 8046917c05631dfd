"""A default teamspace: TILECRED_TEAMSPACE, ``teamspace`` in the profile, or
``configure(teamspace=...)``, used by every call (library or CLI) that names none."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import tilecred
from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env, run
from tilecred import ConfigurationError, NotFoundError

KEYS = {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": CANARY_SECRET}}


def test_the_default_teamspace_comes_from_argument_environment_or_profile(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    profiles = isolated / "tiledb-profiles" / "profiles.json"
    profiles.parent.mkdir()
    profiles.write_text(json.dumps({"version": 1, "default": {"teamspace": "from-profile"}}))
    from_profile = tilecred.Client().settings
    monkeypatch.setenv("TILECRED_TEAMSPACE", "from-env")
    from_env = tilecred.Client().settings
    given = tilecred.Client(teamspace="given").settings
    off = tilecred.Client(teamspace="").settings  # none, whatever the environment says

    assert [s.teamspace for s in (from_profile, from_env, given, off)] == [
        "from-profile", "from-env", "given", None
    ]  # fmt: skip
    assert from_profile.describe()["sources"]["teamspace"] == f"profile default in {profiles}"
    assert from_env.describe()["sources"]["teamspace"] == "environment TILECRED_TEAMSPACE"
    assert given.describe()["teamspace"] == "given"
    assert "teamspace" not in off.describe()
    assert "teamspace" not in off.describe()["sources"]


def test_a_bad_default_teamspace_fails_when_the_client_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TILECRED_TEAMSPACE", "a/b")
    with pytest.raises(ConfigurationError) as caught:
        tilecred.Client()
    assert str(caught.value).endswith("(from environment TILECRED_TEAMSPACE)")
    assert "teamspace" in str(caught.value)


def test_calls_that_name_no_teamspace_go_to_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    tilecred.configure(teamspace="ml")
    tilecred.create_credential("lake", "AWS", allowed_in_tasks=True, credential=KEYS)
    assert tilecred.get_credential("lake").credential_type.value == "teamspace"
    assert [c.name for c in tilecred.list_credentials()] == ["lake"]
    with tilecred.use_credential("lake") as access:
        assert access.credential.name == "lake"
    with pytest.raises(NotFoundError) as caught:  # a call that names one goes there
        tilecred.get_credential("lake", teamspace="other")
    assert str(caught.value) == (
        "could not get credential 'lake' in teamspace 'other': 404 Not Found: "
        "teamspace 'other' not found"
    )
    workspace_level = tilecred.configure(teamspace="")
    with pytest.raises(NotFoundError) as missing:
        workspace_level.get_credential("lake")
    assert (
        str(missing.value) == "could not get credential 'lake': 404 Not Found: credential not found"
    )
    monkeypatch.setenv("TILECRED_TEAMSPACE", "ml")
    tilecred.configure()
    tilecred.delete_credential("lake")
    assert list(tilecred.list_credentials()) == []


def test_the_command_line_uses_the_default_and_says_so() -> None:
    env = cli_env(TILECRED_TEAMSPACE="ml", AWS_SECRET=CANARY_SECRET)
    created = run(["create", "lake", "--provider", "aws", "--access-key-id",
                   "AKIAIOSFODNN7EXAMPLE", "--secret-env", "AWS_SECRET"], env)  # fmt: skip
    listed = run(["list", "--json"], env)
    elsewhere = run(["list", "--teamspace", "other", "--json"], env)
    shown = run(["config"], env)

    assert (created.code, created.out) == (0, "created credential 'lake' in teamspace 'ml'\n")
    assert [json.loads(line)["name"] for line in listed.out.splitlines()] == ["lake"]
    assert elsewhere.code == 1
    assert "teamspace 'other'" in elsewhere.err
    assert "teamspace  ml" in shown.out
    assert "(environment TILECRED_TEAMSPACE)" in shown.out
    assert CANARY_SECRET not in created.out + created.err + listed.out + shown.out


def test_config_shows_a_setting_that_is_ignored(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TILEDB_REST_WORKSPACE", "ws_other")
    monkeypatch.setenv("TILEDB_REST_TOKEN", "tc-ws_abc123-SECRETPART")
    bound = tilecred.Client().settings
    assert bound.workspace == "ws_abc123"
    assert bound.describe()["ignored"] == {
        "workspace": "'ws_other' from environment TILEDB_REST_WORKSPACE: the token is bound "
        "to ws_abc123"
    }
    shown = run(["config"], cli_env())
    assert shown.out.splitlines()[-1] == (
        "ignored     workspace 'ws_other' from environment TILEDB_REST_WORKSPACE: the token "
        "is bound to ws_abc123"
    )
    as_json = json.loads(run(["config", "--json"], cli_env()).out)
    assert as_json["ignored"] == bound.describe()["ignored"]
    local = tilecred.Client(local=True).settings
    assert local.describe()["ignored"] == {
        "token": "from environment TILEDB_REST_TOKEN: local=True uses the local store"
    }
    monkeypatch.setenv("TILEDB_REST_WORKSPACE", "ws_abc123")  # the same: nothing ignored
    assert "ignored" not in tilecred.Client().settings.describe()
    assert "SECRETPART" not in shown.out + json.dumps(as_json)
