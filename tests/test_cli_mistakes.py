"""Command-line mistakes say what was probably meant: a misspelt command, option
or credential name, and exec's command without ``--``."""

from __future__ import annotations

from pathlib import Path

import pytest

import tilecred
from tests.test_cli_support import cli_env, run

ARN = "arn:aws:iam::123456789012:role/demo"


@pytest.mark.parametrize(
    ("argv", "last_line"),
    [
        (["lsit"], "(did you mean 'list'?)"),
        (["list", "--teamspce", "ml"],
         "tilecred list: error: unrecognized arguments: --teamspce ml (did you mean "
         "'--teamspace'?)"),
        (["get", "lake", "--jsn"],
         "tilecred get: error: unrecognized arguments: --jsn (did you mean '--json'?)"),
        (["get", "lake", "--zzzzzz"], "tilecred get: error: unrecognized arguments: --zzzzzz"),
    ],
)  # fmt: skip
def test_a_misspelt_command_or_option_gets_did_you_mean(argv: list[str], last_line: str) -> None:
    result = run(argv, cli_env())
    assert (result.code, result.out) == (2, "")
    assert result.err.splitlines()[-1].endswith(last_line)


@pytest.mark.parametrize(
    ("argv", "fixed"),
    [
        (["exec", "lake", "python", "-c", "1"], "tilecred exec lake -- python -c 1"),
        (["exec", "--teamspace", "ml", "lake", "python", "-c", "print(1)"],
         "tilecred exec --teamspace ml lake -- python -c 'print(1)'"),
        (["exec", "lake", "env"], "tilecred exec lake -- env"),
    ],
)  # fmt: skip
def test_exec_without_dashes_says_to_put_the_command_after_them(
    argv: list[str], fixed: str, isolated: Path
) -> None:
    result = run(argv, cli_env())
    assert (result.code, result.out) == (2, "")
    assert result.err == (
        "tilecred exec: error: put the command after --, so that its options are not taken "
        f"for tilecred's: {fixed}\n"
    )
    assert not (isolated / "tilecred-home").exists()  # nothing was opened


def test_exec_help_and_a_missing_command_are_left_alone() -> None:
    assert run(["exec", "lake", "--help"], cli_env()).code == 0
    alone = run(["exec", "lake"], cli_env())
    assert (alone.code, alone.err.splitlines()[-1]) == (
        2, "tilecred exec: error: give the command to run after --: tilecred exec NAME -- "
        "COMMAND [ARG…]",
    )  # fmt: skip


def test_a_misspelt_credential_name_gets_did_you_mean() -> None:
    tilecred.create_credential("lake", "AWS", role={"aws": {"role_arn": ARN}})
    tilecred.create_credential("warehouse", "AWS", teamspace="ml", role={"aws": {"role_arn": ARN}})
    env = cli_env()
    typo = run(["get", "laek"], env)
    in_teamspace = run(["delete", "warehose", "--teamspace", "ml", "--yes"], env)
    # In its own process: exec hardens the process it runs in (no core files).
    used = run(["exec", "laek", "--", "true"], env, process=True)
    far = run(["get", "zzzzz"], env)
    elsewhere = run(["get", "warehose"], env)  # not in the workspace's scope

    assert (typo.code, typo.err) == (
        1, "error: could not get credential 'laek': 404 Not Found: credential not found "
        "(did you mean 'lake'?)\n",
    )  # fmt: skip
    assert in_teamspace.err.endswith("credential not found (did you mean 'warehouse'?)\n")
    assert used.err.endswith("credential not found (did you mean 'lake'?)\n")
    assert far.err.endswith("credential not found\n")
    assert elsewhere.err.endswith("credential not found\n")
