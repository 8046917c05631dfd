"""The arguments of ``tilecred token …`` (also spelled ``tilecred tokens …``)."""

from __future__ import annotations

import argparse
from typing import Any

from ._audit import parse_when
from ._parser import AddCommand, add_command
from ._tokens import (
    TOKEN_COLUMNS,
    run_token_activate,
    run_token_create,
    run_token_deactivate,
    run_token_list,
    run_token_regenerate,
    run_token_rename,
    run_token_revoke,
)

__all__ = ["COMMANDS"]

_TAKES = frozenset({"home", "workspace", "debug"})
_HOME = "--home /srv/tilecred"
_FORCE = (
    "do it even when it leaves the workspace no active read-write management token "
    "(a new one can be issued with `token create`)"
)
# name -> (summary, description, handler, takes --force)
_BY_ID: dict[str, tuple[str, str, Any, bool]] = {
    "deactivate": ("stop a token working until it is activated again",
                   "Deactivate a token: the server answers it 401 'this API token is "
                   "deactivated' from the next request on; it stays listed and can be "
                   "activated again.", run_token_deactivate, True),
    "activate": ("let a deactivated token work again",
                 "Activate a deactivated token (an expired one stays expired).",
                 run_token_activate, False),
    "regenerate": ("give a token a new text (printed once), same id, name and limits",
                   "Replace a token's text: the old one stops working at once; the new one "
                   "is printed once, alone on stdout (the note goes to stderr).",
                   run_token_regenerate, False),
    "revoke": ("revoke a token by id", "Revoke a token: the server refuses it from the next "
               "request on, for good.", run_token_revoke, True),
}  # fmt: skip


def _add_create(actions: Any, parents: list[argparse.ArgumentParser]) -> None:
    create = add_command(
        actions, "create", parents=parents, takes=_TAKES,
        summary="issue a token (its text is shown once)",
        description="Issue an API token for a workspace (--workspace, default 'default') and "
        "print it once; only its hash is kept. A management token (the default) creates, "
        "updates, deletes, verifies, lists and reads the audit log, never a secret, and "
        "cannot do what would lead to one. An admin token (--admin) is a management token "
        "that may also issue task tokens, allow a credential in tasks (or change one that "
        "is) and deactivate, activate, regenerate or revoke other tokens. A task token "
        "(--task) lists, gets and uses credentials, optionally held to one teamspace and to "
        "named credentials (which must exist, unless --allow-missing), and never changes "
        "anything. The token alone goes to stdout, the description to stderr: "
        "TOKEN=$(tilecred token create …) captures it.",
        examples="""
            tilecred token create --home /srv/tilecred --name laptop
            tilecred token create --home /srv/tilecred --admin --name operator
            tilecred token create --home /srv/tilecred --task --teamspace ml --credential lake \\
                --expires 8h --name nightly
            tilecred token create --home /srv/tilecred --workspace acme --create-workspace
        """,
    )  # fmt: skip
    create.add_argument("--name", default="token", help="a label for the token (token)")
    create.add_argument(
        "--read-only", action="store_true", help="a management token that cannot change anything"
    )
    create.add_argument(
        "--admin", action="store_true",
        help="an admin token: may also issue task tokens, allow credentials in tasks and "
        "switch off or re-key other tokens",
    )  # fmt: skip
    create.add_argument(
        "--expires", metavar="WHEN", type=parse_when,
        help="stop working after WHEN: a duration (8h, 7d) or an ISO 8601 time (UTC)",
    )  # fmt: skip
    task = create.add_argument_group(
        "task tokens", "list, get and use credentials (receive their secrets); never change one"
    )
    task.add_argument("--task", action="store_true", help="issue a task token")
    task.add_argument("--teamspace", metavar="T", help="only this teamspace's credentials")
    task.add_argument(
        "--credential", metavar="NAME", action="append", help="only this credential (repeatable)"
    )
    task.add_argument(
        "--allow-missing", action="store_true",
        help="issue it even when a --credential names no credential (yet)",
    )  # fmt: skip
    create.add_argument("--create-workspace", action="store_true",
                        help="create the workspace if it does not exist")  # fmt: skip
    create.set_defaults(handler=run_token_create)


def _add_by_id(actions: Any, parents: list[argparse.ArgumentParser]) -> None:
    """The commands that act on one token by its id."""
    rename = add_command(
        actions, "rename", parents=parents, takes=_TAKES,
        summary="give a token a new name (its text and limits stay)",
        description="Rename a token; it keeps working with the same text.",
        examples=f"tilecred token rename {_HOME} tok_0123abcd nightly-etl",
    )  # fmt: skip
    rename.add_argument("token_id", metavar="TOKEN_ID", help="the id token list shows (tok_…)")
    rename.add_argument("new_name", metavar="NAME", help="the new name")
    rename.set_defaults(handler=run_token_rename)
    for name, (summary, description, handler, force) in _BY_ID.items():
        command = add_command(
            actions, name, parents=parents, takes=_TAKES, summary=summary,
            description=description, examples=f"tilecred token {name} {_HOME} tok_0123abcd",
        )  # fmt: skip
        command.add_argument("token_id", metavar="TOKEN_ID", help="the id token list shows (tok_…)")
        if force:
            command.add_argument("--force", action="store_true", help=_FORCE)
        command.set_defaults(handler=handler)


def _add_token(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``token`` (alias ``tokens``) and its actions."""
    token = add_command(
        subparsers, "token", parents=parents, takes=_TAKES, aliases=("tokens",),
        summary="manage a server's API tokens (in its data directory)",
        description="Issue, list, rename, deactivate, activate, regenerate and revoke the API "
        "tokens of a `tilecred serve`. They are kept in the server's data directory, which "
        "these commands need named: --home DIR or TILECRED_HOME. Nothing is created there if "
        "it holds no store.",
        examples="""
            tilecred token create --home /srv/tilecred --name ci --read-only
            TILECRED_HOME=/srv/tilecred tilecred token list
            tilecred token regenerate --home /srv/tilecred tok_0123abcd > ci-token
            tilecred token revoke --home /srv/tilecred tok_0123abcd
        """,
    )  # fmt: skip
    actions = token.add_subparsers(dest="token_command", metavar="ACTION", required=True)
    _add_create(actions, parents)
    listing = add_command(
        actions, "list", parents=parents, takes=_TAKES,
        summary="list tokens (never their text)",
        description="List tokens as an aligned table: " + ", ".join(TOKEN_COLUMNS) + " (UTC). "
        "STATE is active, inactive, expired or revoked. --workspace shows one workspace's "
        "tokens only.",
        examples="""
            tilecred token list --home /srv/tilecred
            tilecred token list --home /srv/tilecred --workspace acme
        """,
    )  # fmt: skip
    listing.set_defaults(handler=run_token_list)
    _add_by_id(actions, parents)


COMMANDS: dict[str, AddCommand] = {"token": _add_token}
