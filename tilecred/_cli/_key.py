"""``tilecred key rotate``: re-encrypt the local store with a new key."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ._inputs import SecretSource, read_secret
from ._parser import ON_THIS_MACHINE, AddCommand, add_command
from ._session import local_store

__all__ = ["COMMANDS"]


def run_key_rotate(args: argparse.Namespace) -> int:
    """Re-encrypt every secret in the local store, in one transaction."""
    # Imported here: the store loads SQLite and cryptography, which no other
    # command that talks HTTP needs.
    from tilecred._local import rotate_key
    from tilecred._local._keys import decode_key
    from tilecred._local._postgres import redact_url

    home, database = local_store(args)
    new_key = None
    if args.new_key_env is not None or args.new_key_file is not None:
        source = (
            SecretSource("env", args.new_key_env, "--new-key-env")
            if args.new_key_env is not None
            else SecretSource("file", args.new_key_file, "--new-key-file")
        )
        new_key = decode_key(read_secret(source, "new key"), f"the new key ({source.option})")
    count = rotate_key(database or home, new_key)
    # The store takes its key from TILECRED_MASTER_KEY when it is set, else
    # from the key file, which rotation then replaces.
    where = (
        "set TILECRED_MASTER_KEY to the new key before the next use"
        if os.environ.get("TILECRED_MASTER_KEY")
        else "the key file now holds the new key"
    )
    shown = home if database is None else redact_url(database)[0]
    print(f"re-encrypted {count} credential(s) in {shown}; {where}")
    return 0


def _add_key(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``key rotate``."""
    key = add_command(
        subparsers, "key", parents=parents, takes=ON_THIS_MACHINE,
        summary="manage the local store's encryption key",
        examples="tilecred key rotate",
    )  # fmt: skip
    actions = key.add_subparsers(dest="key_command", metavar="ACTION", required=True)
    rotate = add_command(
        actions, "rotate", parents=parents, takes=ON_THIS_MACHINE,
        summary="re-encrypt every secret in the local store with a new key",
        description="Open the local store (--home, else TILECRED_DATABASE_URL's PostgreSQL "
        "store, else TILECRED_HOME, else the user data dir) with its current key and "
        "re-encrypt every secret with a new one, in one "
        "transaction. With a key file, the new key is random and replaces the file. With "
        "TILECRED_MASTER_KEY, give the new key (base64 of 32 bytes) with --new-key-env or "
        "--new-key-file, then set the variable to it.",
        examples="""
            tilecred key rotate
            openssl rand -base64 32 > new.key && tilecred key rotate --new-key-file new.key
        """,
    )  # fmt: skip
    given = rotate.add_mutually_exclusive_group()
    given.add_argument("--new-key-env", metavar="VAR", help="read the new key from variable VAR")
    given.add_argument("--new-key-file", metavar="FILE", help="read the new key from FILE")
    rotate.set_defaults(handler=run_key_rotate)


COMMANDS: dict[str, AddCommand] = {"key": _add_key}
