"""``tilecred token …`` on a server's data directory, ``tilecred teamspace …`` where
calls go, and which global options each command takes. In this process."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator
from pathlib import Path

import tilecred
from tests.test_cli_support import cli_env, run
from tests.test_server_harness import Running
from tilecred._cli._parser import build_parser
from tilecred._server import create_app

pytest_plugins = ["tests.test_server_harness"]

TOKEN = re.compile(r"^tc-ws_[0-9a-f]+-[0-9a-f]{64}$")
# "LAST USED" is one header of two words.
COLUMNS = [
    "ID", "WORKSPACE", "NAME", "KIND", "SCOPE", "EXPIRES", "LAST", "USED", "CREATED", "STATE"
]  # fmt: skip
USAGE_LIST = "usage: tilecred token list [-h] [--workspace NAME] [--home DIR] [--debug]\n"


def _server_home(path: Path) -> Path:
    """A data directory as ``tilecred serve`` leaves it, with workspace ``default``."""
    app = create_app(path)
    try:
        app.store.create_workspace("default")
    finally:
        app.close()
    return path


def test_token_commands_need_a_named_data_directory_and_make_nothing(isolated: Path) -> None:
    env = cli_env()
    unnamed = {k: v for k, v in env.items() if k != "TILECRED_HOME"}
    missing = isolated / "no-store"

    without = run(["token", "list"], unnamed)
    empty = run(["token", "create", "--home", str(missing)], env)

    assert (without.code, without.out) == (2, "")
    assert without.err == USAGE_LIST + (
        "tilecred token list: error: token commands act on a server's data directory: "
        "name it with --home DIR or TILECRED_HOME (the directory `tilecred serve` serves)\n"
    )
    assert (empty.code, empty.out) == (1, "")
    assert empty.err == (
        f"error: no tilecred store in {missing} (--home): start `tilecred serve --home "
        f"{missing}` there once first\n"
    )
    assert not missing.exists()
    assert not (isolated / "xdg-data").exists()
    assert not (isolated / "tilecred-home").exists()


def test_token_create_list_revoke(isolated: Path) -> None:
    home = str(_server_home(isolated / "server"))
    env = cli_env()
    note = f"tokens of the server data directory {home} (--home)\n"

    refused = run(["token", "create", "--home", home, "--workspace", "team"], env)
    created = run(["--workspace", "team", "token", "create", "--home", home,
                   "--create-workspace", "--name", "ci", "--read-only"], env)  # fmt: skip

    assert (refused.code, refused.out) == (1, "")
    assert refused.err == note + (
        "error: 404 Not Found: workspace 'team' not found (add --create-workspace to create it)\n"
    )
    assert created.code == 0
    # The text alone on stdout, so TOKEN=$(tilecred token create …) captures it.
    token = created.out.removesuffix("\n")
    assert TOKEN.match(token)
    told, made, described = created.err.splitlines()
    assert told == note.rstrip("\n")
    assert re.fullmatch(r"created workspace 'team' \(ws_[0-9a-f]+\)", made)
    assert re.fullmatch(
        r"created read-only management token tok_[0-9a-f]+ for workspace 'team'; "
        r"it is shown only this once:",
        described,
    )
    token_id = described.split()[4]

    listed = run(["token", "list"], cli_env(TILECRED_HOME=home))
    assert (listed.code, listed.err) == (
        0, f"tokens of the server data directory {home} (TILECRED_HOME)\n"
    )  # fmt: skip
    header, row = listed.out.splitlines()
    # A header, and columns that start where the header's do.
    assert header.split() == COLUMNS
    assert row.split()[:7] == [token_id, "team", "ci", "read-only", "-", "-", "-"]
    assert row.split()[9:] == ["active"]
    assert [header.index(h) for h in ("WORKSPACE", "NAME", "KIND", "STATE")] == [
        row.index(v) for v in ("team ", "ci ", "read-only", "active")
    ]
    assert token not in listed.out
    assert token.rsplit("-", 1)[1] not in listed.out

    revoked = run(["token", "revoke", "--home", home, token_id], env)
    again = run(["token", "revoke", "--home", home, token_id], env)
    after = run(["token", "list", "--home", home, "--workspace", "team"], env)
    assert (revoked.code, revoked.out) == (0, f"revoked token {token_id} ('ci')\n")
    assert (again.code, again.err) == (
        1,
        note + f"error: 404 Not Found: no live token with id {token_id!r}\n",
    )
    assert re.search(r"  revoked \S+ \S+\n$", after.out)


def test_a_task_token_held_to_a_teamspace_credentials_and_a_time(isolated: Path) -> None:
    home = _server_home(isolated / "server")
    app = create_app(home)
    try:
        workspace = app.store.find_workspace("default")
        assert workspace is not None
        app.store.create_teamspace(workspace.id, "ml")
    finally:
        app.close()
    env = cli_env(TILECRED_HOME=str(home))
    created = run(["token", "create", "--task", "--teamspace", "ml", "--credential", "lake",
                   "--credential", "blobs", "--expires", "8h", "--name", "nightly",
                   "--allow-missing"], env)  # fmt: skip
    plain = run(["token", "create", "--name", "admin2"], env)
    listed = run(["token", "list"], env)

    assert created.code == 0, created.err
    first = created.err.splitlines()[1]
    assert re.fullmatch(
        r"created task token tok_[0-9a-f]+ for workspace 'default' \(teamspace ml; credentials "
        r"lake,blobs, expires \d{4}-\d\d-\d\d \d\d:\d\d UTC\); it is shown only this once:",
        first,
    ), first
    assert TOKEN.match(created.out.removesuffix("\n"))
    assert plain.err.splitlines()[1].startswith("created management token ")
    header, *rows = listed.out.splitlines()
    task = next(row for row in rows if " nightly " in row)
    management = next(row for row in rows if " admin2 " in row)
    assert header.split() == COLUMNS
    cells = task.split("  ")
    assert [c.strip() for c in cells if c.strip()][1:5] == [
        "default", "nightly", "task", "teamspace ml; credentials lake,blobs"
    ]  # fmt: skip
    assert header.index("EXPIRES") == task.index(task.split()[-6])  # the expiry date
    assert management.split()[3:6] == ["management", "-", "-"]


def test_a_task_token_for_a_credential_that_does_not_exist_is_refused(isolated: Path) -> None:
    home = _server_home(isolated / "server")
    with tilecred.Client(local=True, home=home) as client:  # the server's workspace 'default'
        client.create_credential("lake", "AWS", teamspace="ml", credential={"aws": {
            "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "x" * 40}})  # fmt: skip
    env = cli_env(TILECRED_HOME=str(home))
    task = ["token", "create", "--task", "--name", "nightly"]

    typo = run([*task, "--teamspace", "ml", "--credential", "lake", "--credential", "laek"], env)
    elsewhere = run([*task, "--credential", "blobs"], env)
    # Without a teamspace, a name is the workspace level's: ml's lake is not it.
    workspace_level = run([*task, "--credential", "lake"], env)
    found = run([*task, "--teamspace", "ml", "--credential", "lake"], env)
    later = run([*task, "--teamspace", "ml", "--credential", "blobs", "--allow-missing"], env)

    assert (typo.code, typo.out) == (1, "")
    tail = ("so a task token held to it could not use it; pass --allow-missing (allow_missing "
            "over the API) to issue it anyway")  # fmt: skip
    assert typo.err.splitlines()[-1] == (
        "error: 404 Not Found: no credential 'laek' in teamspace 'ml' (did you mean 'lake'?), "
        + tail
    )
    assert (elsewhere.code, elsewhere.err.splitlines()[-1]) == (
        1, f"error: 404 Not Found: no credential 'blobs' at the workspace level, {tail}"
    )  # fmt: skip
    assert (workspace_level.code, workspace_level.err.splitlines()[-1]) == (
        1, f"error: 404 Not Found: no credential 'lake' at the workspace level, {tail}"
    )  # fmt: skip
    assert [(r.code, bool(TOKEN.match(r.out.removesuffix("\n")))) for r in (found, later)] == [
        (0, True), (0, True)
    ]  # fmt: skip
    app = create_app(home)
    try:
        assert len(app.tokens.list()) == 2  # the refused ones were never issued
    finally:
        app.close()


def test_token_create_admin_issues_an_admin_token(isolated: Path) -> None:
    home = str(_server_home(isolated / "server"))
    env = cli_env(TILECRED_HOME=home)
    created = run(["token", "create", "--admin", "--name", "operator"], env)
    plain = run(["token", "create", "--name", "laptop"], env)
    listed = run(["token", "list"], env)

    assert created.code == 0, created.err
    assert re.fullmatch(
        r"created admin token tok_[0-9a-f]+ for workspace 'default'; it is shown only this once:",
        created.err.splitlines()[-1],
    ), created.err
    assert TOKEN.match(created.out.removesuffix("\n"))
    assert plain.err.splitlines()[-1].startswith("created management token ")
    kinds = {row.split()[2]: row.split()[3] for row in listed.out.splitlines()[1:]}
    assert (kinds["operator"], kinds["laptop"]) == ("admin", "management")


def test_token_create_refuses_options_of_the_other_kind(isolated: Path) -> None:
    home = str(_server_home(isolated / "server"))
    env = cli_env(TILECRED_HOME=home)
    results = [
        run(["token", "create", "--task", "--read-only"], env),
        run(["token", "create", "--teamspace", "ml"], env),
        run(["token", "create", "--credential", "lake"], env),
        run(["token", "create", "--task", "--expires", "soon"], env),
        run(["token", "create", "--task", "--teamspace", "nope"], env),
        run(["token", "create", "--admin", "--task"], env),
        run(["token", "create", "--admin", "--read-only"], env),
    ]
    assert [(r.code, r.err.splitlines()[-1]) for r in results] == [
        (2, "tilecred token create: error: --read-only is for management tokens: a task token "
            "never changes anything"),
        (2, "tilecred token create: error: --teamspace holds a task token to a scope: "
            "give --task too"),
        (2, "tilecred token create: error: --credential holds a task token to a scope: "
            "give --task too"),
        (2, "tilecred token create: error: argument --expires: 'soon' is neither a time like "
            "2026-12-01T09:00 (ISO 8601, UTC unless it has a zone) nor a duration like 30m, "
            "8h, 7d or 2w"),
        (1, results[4].err.splitlines()[-1]),
        (2, "tilecred token create: error: --admin and --task are different kinds of token: "
            "give one"),
        (2, "tilecred token create: error: --admin and --read-only are different kinds of "
            "token: give one"),
    ]  # fmt: skip
    assert "teamspace 'nope'" in results[4].err
    assert run(["token", "list"], env).out == ""


def test_teamspace_commands_go_to_the_configured_server(isolated: Path, server: Running) -> None:
    env = cli_env(TILEDB_REST_SERVER_ADDRESS=server.url, TILEDB_REST_TOKEN=server.token)

    empty = run(["teamspace", "list"], env)
    created = run(["teamspace", "create", "ml", "--description", "models"], env)
    public = run(["teamspace", "create", "finance", "--visibility", "public"], env)
    taken = run(["teamspace", "create", "ml"], env)
    bad = run(["teamspace", "create", "ts_1"], env)
    listed = run(["teamspace", "list"], env)
    lines = run(["teamspace", "list", "--json"], env)

    assert (empty.code, empty.out, empty.err) == (0, "", "no teamspaces\n")
    assert created.code == 0
    ident = re.fullmatch(r"created teamspace 'ml' \((ts_[0-9a-f]+)\)\n", created.out)
    assert ident is not None
    assert public.code == 0
    assert (taken.code, taken.out) == (1, "")
    assert taken.err.startswith("error: could not create teamspace 'ml': 409 Conflict: ")
    assert (bad.code, bad.err) == (2, "error: teamspace name 'ts_1' must not start with 'ts_'\n")
    assert [line.split() for line in listed.out.splitlines()] == [
        ["ID", "NAME", "VISIBILITY", "DESCRIPTION"],
        [public.out.split("(")[1][:-2], "finance", "public", "-"],
        [ident.group(1), "ml", "private", "models"],
    ]
    assert [line.split('"name":')[1].split(",")[0] for line in lines.out.splitlines()] == [
        '"finance"', '"ml"'
    ]  # fmt: skip
    # The server has them; nothing was made on this machine.
    assert sorted(t.name for t in server.app.store.list_teamspaces(server.workspace_id)) == [
        "finance", "ml"
    ]  # fmt: skip
    assert not (isolated / "tilecred-home").exists()
    assert not (isolated / "xdg-data").exists()


def test_teamspace_commands_on_the_local_store(isolated: Path) -> None:
    env = cli_env()
    fresh = run(["teamspace", "list"], env)
    assert (fresh.code, fresh.out, fresh.err) == (0, "", "no teamspaces\n")
    assert not (isolated / "tilecred-home").exists()  # listing made no store

    created = run(["teamspace", "create", "ml"], env)
    listed = run(["teamspace", "list"], env)
    assert created.code == 0
    assert [line.split()[1:] for line in listed.out.splitlines()] == [
        ["NAME", "VISIBILITY", "DESCRIPTION"],
        ["ml", "private", "-"],
    ]
    scoped = run(["create", "r", "--provider", "aws", "--kind", "role", "--role-arn",
                  "arn:aws:iam::123456789012:role/demo", "--teamspace", "ml"], env)  # fmt: skip
    assert scoped.code == 0


def test_a_global_option_a_command_does_not_use_is_refused(isolated: Path) -> None:
    env = cli_env()
    serve = run(["--host", "0.0.0.0", "serve"], env)
    token = run(["--host", "https://api.example.com", "token", "list"], env)
    key = run(["key", "rotate", "--token-env", "T"], env)
    assert (serve.code, serve.out) == (2, "")
    assert serve.err.endswith(
        "tilecred serve: error: tilecred serve does not take --host (it says which server "
        "to call; give the address to listen on with --bind)\n"
    )
    assert (token.code, token.out) == (2, "")
    assert token.err.endswith(
        "tilecred token list: error: tilecred token list does not take --host\n"
    )
    assert key.code == 2
    assert "unrecognized arguments: --token-env T" in key.err
    assert not (isolated / "tilecred-home").exists()


def _commands(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in dict.fromkeys(action.choices.values()):
                yield command
                yield from _commands(command)


def test_every_command_has_a_description_and_examples() -> None:
    commands = list(_commands(build_parser()))
    assert len(commands) >= 19
    for command in commands:
        text = command.format_help()
        assert command.description, command.prog
        assert f"\nexamples:\n  {command.prog}" in text or "examples:\n  " in text, command.prog
        # Only the options it uses: nothing that reaches a server is offered to
        # commands that work on this machine.
        if command.prog.startswith(("tilecred serve", "tilecred key", "tilecred token")):
            assert "--host" not in text, command.prog


def _token_ids(home: Path) -> dict[str, str]:
    app = create_app(home)
    try:
        return {token.name: token.id for token in app.tokens.list()}
    finally:
        app.close()


def test_token_rename_deactivate_activate_regenerate(isolated: Path) -> None:
    home = _server_home(isolated / "server")
    env = cli_env(TILECRED_HOME=str(home))
    note = f"tokens of the server data directory {home} (TILECRED_HOME)\n"
    first = run(["token", "create", "--name", "admin"], env).out.removesuffix("\n")
    run(["token", "create", "--task", "--name", "ci"], env)
    ci = _token_ids(home)["ci"]

    renamed = run(["token", "rename", ci, "nightly"], env)
    off = run(["tokens", "deactivate", ci], env)  # both spellings
    listed = run(["token", "list"], env)
    on = run(["token", "activate", ci], env)
    regenerated = run(["token", "regenerate", ci], env)

    assert (renamed.code, renamed.out, renamed.err) == (
        0, f"renamed token {ci} to 'nightly'\n", note
    )  # fmt: skip
    assert (off.code, off.out, off.err) == (0, f"deactivated token {ci} ('nightly')\n", note)
    row = next(line for line in listed.out.splitlines() if line.startswith(ci))
    assert row.split()[2:4] == ["nightly", "task"]
    assert row.endswith("  inactive")
    assert (on.code, on.out) == (0, f"activated token {ci} ('nightly'): active\n")
    # The new text alone on stdout, so `> file` or `$(…)` takes just it.
    assert regenerated.code == 0, regenerated.err
    assert TOKEN.match(regenerated.out.rstrip("\n"))
    assert regenerated.out.count("\n") == 1
    assert regenerated.err == note + (
        f"regenerated token {ci} ('nightly'): the old text no longer works; "
        "the new one is shown only this once:\n"
    )
    app = create_app(home)
    try:
        found = app.tokens.authenticate(regenerated.out.strip())
        assert found is not None
        assert (found.id, found.name, found.kind) == (ci, "nightly", "task")
        used = app.tokens.authenticate(first)
        assert used is not None
    finally:
        app.close()
    # The use just made shows in LAST USED, under its header.
    header, *rows = run(["token", "list"], env).out.splitlines()
    admin = next(line for line in rows if " admin " in line)
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d", admin[header.index("LAST USED") :])


def test_the_last_admin_token_needs_force(isolated: Path) -> None:
    home = _server_home(isolated / "server")
    env = cli_env(TILECRED_HOME=str(home))
    note = f"tokens of the server data directory {home} (TILECRED_HOME)\n"
    run(["token", "create", "--name", "admin"], env)
    run(["token", "create", "--name", "reader", "--read-only"], env)
    admin = _token_ids(home)["admin"]

    refused = [run(["token", verb, admin], env) for verb in ("deactivate", "revoke")]
    forced = run(["token", "deactivate", admin, "--force"], env)

    assert [(r.code, r.out, r.err) for r in refused] == [
        (1, "", note + f"error: 409 Conflict: token {admin} (admin) is the last active "
         f"read-write management token of its workspace: {verb} it would leave none to manage "
         "the workspace; issue another one first (or give --force: on this machine `tilecred "
         "token create` can always issue a new one)\n")
        for verb in ("deactivating", "revoking")
    ]  # fmt: skip
    assert (forced.code, forced.out) == (0, f"deactivated token {admin} ('admin')\n")
    workspace = _token_ids(home)  # still listed
    assert "admin" in workspace
    assert forced.err == note + (
        "warning: no active read-write management token is left in workspace 'default'; "
        "issue one with `tilecred token create --workspace default`\n"
    )


def test_token_commands_by_id_refuse_an_unknown_or_foreign_token(isolated: Path) -> None:
    home = _server_home(isolated / "server")
    env = cli_env(TILECRED_HOME=str(home))
    run(["token", "create", "--workspace", "other", "--create-workspace", "--name", "x"], env)
    other = _token_ids(home)["x"]
    results = [
        run(["token", "activate", "tok_nothing"], env),
        run(["--workspace", "default", "token", "rename", other, "y"], env),
        run(["token", "rename", other, ""], env),
        run(["token", "regenerate"], env),
    ]
    assert [(r.code, r.err.splitlines()[-1]) for r in results] == [
        (1, "error: 404 Not Found: no live token with id 'tok_nothing'"),
        (1, f"error: 404 Not Found: no live token with id {other!r}"),
        (2, "error: token name '' must be non-empty printable text"),
        (2, "tilecred token regenerate: error: the following arguments are required: TOKEN_ID"),
    ]


def test_refused_token_changes_are_audited_as_over_the_api(isolated: Path) -> None:
    home = _server_home(isolated / "server")
    env = cli_env(TILECRED_HOME=str(home))
    run(["token", "create", "--name", "admin"], env)
    run(["token", "create", "--workspace", "other", "--create-workspace", "--name", "x"], env)
    ids = _token_ids(home)
    admin, other = ids["admin"], ids["x"]
    before = len(run(["audit", "--json"], env).out.splitlines())

    results = [
        run(["token", "deactivate", admin], env),
        run(["token", "revoke", admin], env),
        run(["token", "activate", "tok_nothing"], env),
        run(["--workspace", "default", "token", "regenerate", other], env),
        run(["token", "rename", admin, "root"], env),
    ]

    assert [r.code for r in results] == [1, 1, 1, 1, 0]
    records = [json.loads(line) for line in run(["audit", "--json"], env).out.splitlines()]
    last = "the last active read-write management token of its workspace"
    assert [(r["action"], r["outcome"], r["detail"]) for r in records[before:]] == [
        ("token.deactivate", "failed", f"token {admin} (admin) is {last}: deactivating it "
         "would leave none to manage the workspace; issue another one first"),
        ("token.revoke", "failed", f"token {admin} (admin) is {last}: revoking it "
         "would leave none to manage the workspace; issue another one first"),
        ("token.activate", "failed", "no live token with id 'tok_nothing'"),
        ("token.regenerate", "failed", f"no live token with id {other!r}"),
        ("token.rename", "ok", f"token {admin} (admin): renamed to 'root'"),  # once
    ]  # fmt: skip
    assert {r["actor"] for r in records[before:]} == {records[-1]["actor"]}
    assert records[-1]["actor"].startswith("local:")
