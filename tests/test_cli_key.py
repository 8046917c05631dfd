"""``tilecred key rotate``: the local store re-encrypted with a new key, secrets intact."""

from __future__ import annotations

import base64
import os
from pathlib import Path

from tests.conftest import CANARY_SECRET
from tests.test_cli_support import cli_env, run
from tilecred._local import Store


def _create_with_secret(env: dict[str, str]) -> None:
    created = run(
        ["create", "lake", "--provider", "aws", "--access-key-id", "AKIAIOSFODNN7EXAMPLE",
         "--secret-env", "LAKE_SECRET"],
        {**env, "LAKE_SECRET": CANARY_SECRET},
    )  # fmt: skip
    assert (created.code, created.err) == (0, "")


def _secret_in(home: Path, key: bytes | None = None) -> str | None:
    with Store(home, key=key) as store:
        workspace = store.find_workspace("default")
        assert workspace is not None
        cred = store.get_credential(workspace.id, None, "lake", with_secrets=True)
    assert cred.credential is not None
    assert cred.credential.aws is not None
    return cred.credential.aws.secret_access_key


def test_rotate_with_a_key_file_replaces_it(isolated: Path) -> None:
    home = Path(os.environ["TILECRED_HOME"])
    env = cli_env()
    _create_with_secret(env)
    old_key = (home / "key").read_bytes()

    rotated = run(["key", "rotate"], env)

    assert (rotated.code, rotated.err) == (0, "")
    assert rotated.out == (
        f"re-encrypted 1 credential(s) in {home}; the key file now holds the new key\n"
    )
    assert (home / "key").read_bytes() != old_key
    assert CANARY_SECRET not in rotated.out
    assert _secret_in(home) == CANARY_SECRET


def test_rotate_with_an_environment_key_needs_the_new_one(isolated: Path) -> None:
    home = Path(os.environ["TILECRED_HOME"])
    old, new = os.urandom(32), os.urandom(32)
    env = cli_env(TILECRED_MASTER_KEY=base64.b64encode(old).decode())
    _create_with_secret(env)

    refused = run(["key", "rotate"], env)
    assert (refused.code, refused.out) == (1, "")
    assert refused.err.startswith("error: the key comes from ")
    assert refused.err.endswith(": give the new key explicitly\n")

    bad = run(["key", "rotate", "--new-key-env", "NEW"], {**env, "NEW": "not base64!"})
    assert (bad.code, bad.out) == (1, "")
    assert bad.err == (
        "error: the new key (--new-key-env) must hold the base64 encoding of 32 bytes\n"
    )

    rotated = run(
        ["key", "rotate", "--new-key-env", "NEW"], {**env, "NEW": base64.b64encode(new).decode()}
    )
    assert (rotated.code, rotated.err) == (0, "")
    assert rotated.out == (
        f"re-encrypted 1 credential(s) in {home}; "
        "set TILECRED_MASTER_KEY to the new key before the next use\n"
    )
    assert _secret_in(home, new) == CANARY_SECRET


def test_rotate_a_key_file_to_a_given_key_says_the_file_holds_it(isolated: Path) -> None:
    home = Path(os.environ["TILECRED_HOME"])
    env = cli_env()
    _create_with_secret(env)
    new = os.urandom(32)
    (isolated / "new.key").write_text(base64.b64encode(new).decode())

    rotated = run(["key", "rotate", "--new-key-file", str(isolated / "new.key")], env)

    assert (rotated.code, rotated.err) == (0, "")
    assert rotated.out.endswith("; the key file now holds the new key\n")
    assert _secret_in(home, new) == CANARY_SECRET
