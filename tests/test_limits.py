"""Name length limits: one constant each, enforced by the library, the CLI and the server."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest

import tilecred
from tests.test_cli_support import cli_env, run
from tests.test_server_harness import Running, aws_role_body
from tilecred import ConfigurationError, InvalidArgumentError
from tilecred._limits import (
    MAX_CREDENTIAL_NAME,
    MAX_TEAMSPACE_NAME,
    MAX_TOKEN_NAME,
    MAX_URL_BYTES,
    MAX_WORKSPACE_NAME,
)
from tilecred._local import Store

pytest_plugins = ["tests.test_server_harness"]

ROLE = {"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}}
# A character that is four bytes of UTF-8: twelve once percent-encoded.
WIDE = "\U0001f511"


def _longest(limit: int) -> str:
    return WIDE * limit


def test_the_longest_valid_url_fits_what_the_server_must_accept() -> None:
    workspace = quote(_longest(MAX_WORKSPACE_NAME), safe="")
    name = quote(_longest(MAX_CREDENTIAL_NAME), safe="")
    teamspace = quote(_longest(MAX_TEAMSPACE_NAME), safe="")
    urls = [
        f"/v4/credentials/{workspace}/{name}?teamspace_id={teamspace}",
        f"/tilecred/v1/credentials/{workspace}/{name}/use?teamspace_id={teamspace}",
        f"/v4/teamspaces/{workspace}/{teamspace}",
    ]
    # The request line adds the method, two spaces and "HTTP/1.1\r\n".
    longest = max(len(f"DELETE {url} HTTP/1.1\r\n") for url in urls)
    assert longest == 6206
    assert longest < MAX_URL_BYTES


def test_the_library_refuses_a_long_name_before_any_io(isolated: Path) -> None:
    home = isolated / "tilecred-home"
    with pytest.raises(InvalidArgumentError) as name:
        tilecred.create_credential("n" * (MAX_CREDENTIAL_NAME + 1), "AWS", role=ROLE)
    assert str(name.value) == "name is 257 characters long; the limit is 256"
    with pytest.raises(InvalidArgumentError) as rename:
        tilecred.update_credential("c", name="n" * 300)
    assert str(rename.value) == "name is 300 characters long; the limit is 256"
    with pytest.raises(InvalidArgumentError) as teamspace:
        tilecred.list_credentials("t" * (MAX_TEAMSPACE_NAME + 1))
    assert str(teamspace.value) == "teamspace is 129 characters long; the limit is 128"
    assert not home.exists()


def test_the_longest_names_work_on_the_local_store(isolated: Path) -> None:
    name, teamspace = _longest(MAX_CREDENTIAL_NAME), _longest(MAX_TEAMSPACE_NAME)
    tilecred.configure(workspace=_longest(MAX_WORKSPACE_NAME))
    tilecred.create_credential(name, "AWS", teamspace=teamspace, role=ROLE)
    assert tilecred.get_credential(name, teamspace=teamspace).name == name
    tilecred.delete_credential(name, teamspace=teamspace)


def test_a_long_workspace_setting_is_a_configuration_error(isolated: Path) -> None:
    with pytest.raises(ConfigurationError) as local:
        _ = tilecred.Client(workspace="w" * (MAX_WORKSPACE_NAME + 1)).settings
    assert str(local.value) == (
        "workspace is 129 characters long; the limit is 128 (from argument)"
    )
    with pytest.raises(ConfigurationError) as remote:
        _ = tilecred.Client(host="http://127.0.0.1:9", token="t", workspace="w" * 200).settings
    assert str(remote.value) == (
        "workspace is 200 characters long; the limit is 128 (from argument)"
    )


def test_the_store_refuses_a_long_workspace_name(tmp_path: Path) -> None:
    with Store(tmp_path / "home") as store:
        with pytest.raises(InvalidArgumentError, match="workspace is 129 characters long"):
            store.create_workspace("w" * 129)
        with pytest.raises(InvalidArgumentError, match="workspace is 130 characters long"):
            store.ensure_workspace("w" * 130)
        assert store.find_workspace("w" * 129) is None
        assert store.find_workspace("w" * 130) is None


def test_the_server_answers_400_naming_the_field(server: Running) -> None:
    long_name = server.request(
        "POST", server.credentials_path(), body=aws_role_body("n" * (MAX_CREDENTIAL_NAME + 1))
    )
    assert long_name.status == 400
    assert long_name.json["message"] == (
        "invalid request: name is 257 characters long; the limit is 256"
    )
    assert long_name.json["validation_error"]["fields"][0]["field"] == "$.name"
    rename = server.request("PATCH", server.credentials_path("c"), body={"name": "n" * 400_000})
    assert rename.status == 400
    assert rename.json["message"] == (
        "invalid request: name is 400000 characters long; the limit is 256"
    )
    teamspace = server.request(
        "POST", f"/v4/teamspaces/{server.workspace_id}",
        body={"name": "t" * (MAX_TEAMSPACE_NAME + 1), "visibility": "private"},
    )  # fmt: skip
    assert teamspace.status == 400
    assert teamspace.json["message"] == (
        "invalid request: name is 129 characters long; the limit is 128"
    )
    assert teamspace.json["validation_error"]["fields"][0]["field"] == "$.name"


def test_the_longest_names_can_be_read_and_deleted_over_http(server: Running) -> None:
    # Before the limits, a 400,000-character name was created and then could
    # be neither read nor deleted (431 at the server's header limit).
    name, teamspace = _longest(MAX_CREDENTIAL_NAME), _longest(MAX_TEAMSPACE_NAME)
    made = server.request(
        "POST",
        f"/v4/teamspaces/{server.workspace_id}",
        body={"name": teamspace, "visibility": "private"},
    )
    assert made.status == 201
    scope = [("teamspace_id", teamspace)]
    created = server.request(
        "POST", server.credentials_path(), body=aws_role_body(name), query=scope
    )
    assert created.status == 201
    got = server.request("GET", server.credentials_path(name), query=scope)
    assert (got.status, got.json["data"]["name"]) == (200, name)
    assert server.request("DELETE", server.credentials_path(name), query=scope).status == 204


def test_the_token_store_refuses_a_long_token_name(server: Running) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        server.app.tokens.create(server.workspace_id, "x" * (MAX_TOKEN_NAME + 1))
    assert str(caught.value) == "token name is 129 characters long; the limit is 128"


def test_the_cli_refuses_long_names_before_touching_the_store(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = cli_env(TILECRED_HOME=str(tmp_path / "home"))
    credential = run(["create", "n" * 257, "--provider", "aws", "--kind", "role",
                      "--role-arn", "arn:aws:iam::123456789012:role/demo"], env)  # fmt: skip
    assert (credential.code, credential.err) == (
        2,
        "error: name is 257 characters long; the limit is 256\n",
    )
    teamspace = run(["teamspace", "create", "t" * 129, "--home", str(data)], env)
    assert (teamspace.code, teamspace.err) == (
        2,
        "error: teamspace name is 129 characters long; the limit is 128\n",
    )
    token = run(["token", "create", "--home", str(data), "--workspace", "new",
                 "--create-workspace", "--name", "x" * 129], env)  # fmt: skip
    assert (token.code, token.err) == (
        2,
        "error: token name is 129 characters long; the limit is 128\n",
    )
    workspace = run(["token", "create", "--home", str(data), "--workspace", "w" * 129,
                     "--create-workspace", "--name", "ci"], env)  # fmt: skip
    assert (workspace.code, workspace.err) == (
        2,
        "error: workspace is 129 characters long; the limit is 128\n",
    )
    assert not data.exists()
    assert not (tmp_path / "home").exists()
