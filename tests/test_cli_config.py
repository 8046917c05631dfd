"""``tilecred config`` (where calls go, and why) and ``tilecred config save``."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

from tests.conftest import CANARY_TOKEN
from tests.test_cli_support import cli_env, run


def _profiles(isolated: Path) -> Path:
    return isolated / "tiledb-profiles" / "profiles.json"


def test_config_shows_each_setting_and_its_source(isolated: Path) -> None:
    env = cli_env(TILEDB_REST_SERVER_ADDRESS="http://127.0.0.1:9", TILEDB_REST_TOKEN=CANARY_TOKEN)
    from_env = run(["config"], env)
    from_options = run(
        ["--host", "api.example.com", "--workspace", "acme", "config", "--json"], env
    )
    local = run(["config", "show"], cli_env())
    # A global option's value that is also a command's name is still its value.
    home = run(["--home", "list", "config", "--json"], cli_env())

    assert (from_env.code, from_env.err) == (0, "")
    assert from_env.out == (
        "backend     http\n"
        "host        http://127.0.0.1:9  (environment TILEDB_REST_SERVER_ADDRESS)\n"
        "workspace   ws_canary           (environment TILEDB_REST_TOKEN (bound token))\n"
        "token       tc-ws_canary-***    (environment TILEDB_REST_TOKEN)\n"
        "verify_ssl  true\n"
    )
    assert json.loads(from_options.out) == {
        "backend": "http",
        "host": "https://api.example.com",
        "workspace": "acme",
        "token": "tc-ws_canary-***",
        "verify_ssl": True,
        "sources": {
            "host": "command line --host",
            "workspace": "command line --workspace",
            "token": "environment TILEDB_REST_TOKEN",
        },
    }
    store = isolated / "tilecred-home"
    assert local.out == (
        f"backend    local\n"
        f"home       {store}  (environment TILECRED_HOME)\n"
        f"workspace  {'default'.ljust(len(str(store)))}  (default)\n"
    )
    assert json.loads(home.out) == {
        "backend": "local",
        "home": "list",
        "workspace": "default",
        "sources": {"home": "command line --home", "workspace": "default"},
    }
    assert CANARY_TOKEN not in from_env.both + from_options.both


def test_config_save_writes_a_private_profile_atomically(isolated: Path) -> None:
    path = _profiles(isolated)
    env = cli_env(MY_TOKEN=CANARY_TOKEN)

    saved = run(["--host", "api.example.com/", "--token-env", "MY_TOKEN", "--workspace", "acme",
                 "config", "save"], env)  # fmt: skip

    assert (saved.code, saved.err) == (0, "")
    assert saved.out == (
        f"saved rest.server_address, rest.token, rest.workspace to profile 'default' in {path}\n"
    )
    assert json.loads(path.read_text()) == {
        "default": {
            "rest.server_address": "https://api.example.com",
            "rest.token": CANARY_TOKEN,
            "rest.workspace": "acme",
        },
        "version": 1,
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in path.parent.iterdir()) == ["profiles.json"]
    # TileDB's configuration (and so tilecred) reads it back.
    shown = json.loads(run(["config", "--json"], cli_env()).out)
    assert shown["host"] == "https://api.example.com"
    assert shown["sources"]["host"] == f"profile default in {path}"


def test_config_save_merges_into_an_existing_file(isolated: Path) -> None:
    path = _profiles(isolated)
    path.parent.mkdir()
    before = {
        "default": {"rest.server_address": "https://old.example.com", "rest.username": "ada"},
        "other": {"rest.token": "other-token"},
        "version": 1,
    }
    path.write_text(json.dumps(before))
    path.chmod(0o644)  # as TileDB's own client leaves it
    env = cli_env(TILEDB_REST_SERVER_ADDRESS="https://new.example.com")

    with path.open("rb") as old:
        saved = run(["config", "save"], env)
        # Replaced, not rewritten in place: the old file, still open here, is
        # whole and unchanged, so a reader never sees half a file.
        assert old.read() == json.dumps(before).encode()
        assert os.fstat(old.fileno()).st_ino != path.stat().st_ino
    work = run(["--profile", "work", "--workspace", "w", "config", "save"], cli_env())

    assert (saved.code, work.code) == (0, 0)
    assert json.loads(path.read_text()) == {
        "default": {"rest.server_address": "https://new.example.com", "rest.username": "ada"},
        "other": {"rest.token": "other-token"},
        "version": 1,
        "work": {"rest.workspace": "w"},
    }
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # --profile reads the saved profile; --local still wins over it.
    work_shown = json.loads(run(["--profile", "work", "--host", "h.example.com", "config",
                                 "--json"], cli_env()).out)  # fmt: skip
    local_shown = json.loads(run(["config", "--json", "--local"], cli_env()).out)
    assert work_shown["workspace"] == "w"
    assert work_shown["sources"]["workspace"] == f"profile work in {path}"
    assert local_shown["backend"] == "local"


def test_config_save_refuses_without_writing(isolated: Path) -> None:
    path = _profiles(isolated)
    nothing = run(["config", "save"], cli_env())
    local = run(["--local", "--workspace", "w", "config", "save"], cli_env())
    assert not path.exists()

    path.parent.mkdir()
    path.write_text("{not json")
    broken = run(["--workspace", "w", "config", "save"], cli_env())

    assert (nothing.code, nothing.out) == (2, "")
    assert nothing.err.endswith(
        "tilecred config save: error: nothing to save: give --host, --workspace or a token "
        "(--token, --token-env, --token-file), or set TILEDB_REST_* variables\n"
    )
    assert (local.code, local.out) == (2, "")
    assert local.err.endswith(
        "tilecred config save: error: tilecred config save does not take --local\n"
    )
    assert (broken.code, broken.out) == (1, "")
    assert broken.err.startswith(f"error: cannot update {path}: it is not a JSON object (")
    assert path.read_text() == "{not json"
    assert sorted(os.listdir(path.parent)) == ["profiles.json"]


def test_config_shows_the_proxy_with_its_password_masked(isolated: Path) -> None:
    password = "pr0xy-CANARY-pw"
    env = cli_env(
        TILEDB_REST_SERVER_ADDRESS="https://api.example.com",
        TILEDB_REST_TOKEN=CANARY_TOKEN,
        HTTPS_PROXY=f"http://ada:{password}@proxy.example:3128",
    )
    shown = run(["config", "--json"], env)

    assert (shown.code, shown.err) == (0, "")
    described = json.loads(shown.out)
    assert described["proxy"] == "http://ada:***@proxy.example:3128"
    assert described["sources"]["proxy"] == "environment HTTPS_PROXY"
    assert password not in shown.both
