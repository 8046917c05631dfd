"""``tilecred token …``: a server's API tokens, in the server's data directory.

Tokens live in the store ``tilecred serve`` serves. A management token can
manage them over the API too (``/tilecred/v1/tokens/…``); these commands act
on the data directory directly, the operator's way in that works even when
no token does, and only on one named with ``--home`` or ``TILECRED_HOME``:
never on a default that would quietly make a new store. The commands'
arguments are in ``_token_parser``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from tilecred import ConflictError, NotFoundError

from ._failures import CommandError, UsageError
from ._output import Style, Table

if TYPE_CHECKING:
    from tilecred._local import Store
    from tilecred._local._token_records import TokenRecord
    from tilecred._local._token_service import TokenService

__all__ = [
    "TOKEN_COLUMNS",
    "run_token_activate",
    "run_token_create",
    "run_token_deactivate",
    "run_token_list",
    "run_token_regenerate",
    "run_token_rename",
    "run_token_revoke",
]

DEFAULT_WORKSPACE = "default"
TOKEN_COLUMNS = (
    "ID", "WORKSPACE", "NAME", "KIND", "SCOPE", "EXPIRES", "LAST USED", "CREATED", "STATE"
)  # fmt: skip


def data_directory(args: argparse.Namespace) -> Path:
    """The server data directory the command line names, said on stderr.

    Raises:
        UsageError: neither ``--home`` nor ``TILECRED_HOME`` names one.
        CommandError: there is no tilecred store there (nothing is created).
    """
    from tilecred._local._store import DATABASE_NAME

    given = getattr(args, "home", None)
    origin = "--home"
    if given is None:
        given, origin = os.environ.get("TILECRED_HOME") or None, "TILECRED_HOME"
    if given is None:
        raise UsageError(
            "token commands act on a server's data directory: name it with --home DIR "
            "or TILECRED_HOME (the directory `tilecred serve` serves)"
        )
    home = Path(given).expanduser()
    if not (home / DATABASE_NAME).is_file():
        raise CommandError(
            f"no tilecred store in {home} ({origin}): start `tilecred serve --home {home}` "
            "there once first"
        )
    print(f"tokens of the server data directory {home} ({origin})", file=sys.stderr)
    return home


def _database(args: argparse.Namespace) -> str | None:
    """A PostgreSQL store's URL from ``TILECRED_DATABASE_URL``, unless ``--home`` is given."""
    from tilecred._config import DATABASE_ENV
    from tilecred._local._postgres import redact_url

    url = None if getattr(args, "home", None) else os.environ.get(DATABASE_ENV) or None
    if url is not None:
        print(f"tokens of the store {redact_url(url)[0]} ({DATABASE_ENV})", file=sys.stderr)
    return url


class _Tokens:
    """The store the command line names and its audited token service."""

    def __init__(self, store: Store) -> None:
        from tilecred._local._token_service import TokenService

        self.store = store
        fallback = store.find_workspace(DEFAULT_WORKSPACE)
        self.tokens: TokenService = TokenService(store, fallback_workspace=(
            fallback.id if fallback is not None else ""))  # fmt: skip


@contextlib.contextmanager
def _opened(args: argparse.Namespace) -> Iterator[_Tokens]:
    """The store itself, opened as ``tilecred serve`` opens it (no server is built)."""
    from tilecred._local import open_store

    database = _database(args)
    store = open_store(database or data_directory(args))
    try:
        yield _Tokens(store)
    finally:
        store.close()


def _workspace_name(args: argparse.Namespace) -> str:
    return getattr(args, "workspace", None) or DEFAULT_WORKSPACE


def _when(moment: datetime.datetime | None) -> str:
    return "-" if moment is None else f"{moment.astimezone(datetime.UTC):%Y-%m-%d %H:%M}"


def _kind(token: TokenRecord) -> str:
    if token.kind in ("task", "admin"):
        return token.kind
    return "read-only" if token.read_only else "management"


def _scope(token: TokenRecord, teamspace: str | None) -> str:
    """What a task token is held to: its teamspace and credential names, or ``-``."""
    parts = [] if teamspace is None else [f"teamspace {teamspace}"]
    if token.credentials is not None:
        parts.append("credentials " + ",".join(token.credentials))
    return "; ".join(parts) or "-"


def _state(token: TokenRecord) -> str:
    """``active``, ``inactive``, ``expired`` or ``revoked <when>``."""
    if token.revoked_at is not None:
        return f"revoked {_when(token.revoked_at)}"
    return token.state


def _row(token: TokenRecord, workspace: str, teamspace: str | None) -> tuple[str, ...]:
    return (token.id, workspace, token.name, _kind(token), _scope(token, teamspace),
            _when(token.expires_at), _when(token.last_used_at), _when(token.created_at),
            _state(token))  # fmt: skip


def _task_options(args: argparse.Namespace) -> None:
    """Refuse what only one kind of token takes, before anything is opened."""
    if args.task and args.read_only:
        raise UsageError(
            "--read-only is for management tokens: a task token never changes anything"
        )
    if args.admin and (args.task or args.read_only):
        other = "--task" if args.task else "--read-only"
        raise UsageError(f"--admin and {other} are different kinds of token: give one")
    if not args.task:
        given = [o for o, v in (("--teamspace", args.teamspace), ("--credential", args.credential))
                 if v is not None]  # fmt: skip
        if given:
            raise UsageError(f"{given[0]} holds a task token to a scope: give --task too")


def _created(record: TokenRecord, workspace: str, teamspace: str | None) -> str:
    kind = {"read-only": "read-only management"}.get(_kind(record), _kind(record))
    limits = [] if _scope(record, teamspace) == "-" else [_scope(record, teamspace)]
    if record.expires_at is not None:
        limits.append(f"expires {_when(record.expires_at)} UTC")
    held = f" ({', '.join(limits)})" if limits else ""
    return (f"created {kind} token {record.id} for workspace {workspace!r}{held}; "
            "it is shown only this once:")  # fmt: skip


def run_token_create(args: argparse.Namespace) -> int:
    """Issue a token and print it, once: alone on stdout (the description on stderr)."""
    from tilecred._arguments import check_workspace
    from tilecred._local._tokens import check_token_name

    # Checked before anything is opened: a refused name must not leave a new
    # workspace behind.
    wanted = check_workspace(_workspace_name(args))
    check_token_name(args.name)
    _task_options(args)
    with _opened(args) as app:
        workspace = app.store.find_workspace(wanted)
        if workspace is None:
            if not args.create_workspace:
                raise NotFoundError(
                    f"workspace {wanted!r} not found (add --create-workspace to create it)",
                    status=404,
                )
            workspace = app.store.create_workspace(wanted)
            print(f"created workspace {workspace.name!r} ({workspace.id})", file=sys.stderr)
        record, text = app.tokens.create(
            workspace.id, args.name, read_only=args.read_only,
            kind="task" if args.task else "admin" if args.admin else "management",
            teamspace=args.teamspace, credentials=args.credential, expires=args.expires,
            allow_missing=args.allow_missing,
        )  # fmt: skip
        # The text alone on stdout, so TOKEN=$(tilecred token create …) captures it.
        print(_created(record, workspace.name, _teamspace_name(app, record)), file=sys.stderr)
        print(text)
    return 0


def _workspace_id(app: _Tokens, args: argparse.Namespace) -> str | None:
    """The id of the workspace ``--workspace`` names, or ``None`` when none is named."""
    wanted = getattr(args, "workspace", None)
    if wanted is None:
        return None
    found = app.store.find_workspace(wanted)
    if found is None:
        raise NotFoundError(f"workspace {wanted!r} not found", status=404)
    return found.id


def run_token_list(args: argparse.Namespace) -> int:
    """Every token's id, workspace, name, access, use and state: an aligned table."""
    with _opened(args) as app:
        tokens = app.tokens.list(_workspace_id(app, args))
        names: dict[str, str] = {}
        for token in tokens:
            if token.workspace_id not in names:
                record = app.store.find_workspace(token.workspace_id)
                names[token.workspace_id] = record.name if record else token.workspace_id
        table = Table(sys.stdout, TOKEN_COLUMNS, Style(sys.stdout))
        table.write(
            _row(token, names[token.workspace_id], _teamspace_name(app, token)) for token in tokens
        )
        if not tokens:
            print("no tokens", file=sys.stderr)
    return 0


def _teamspace_name(app: _Tokens, token: TokenRecord) -> str | None:
    if token.teamspace_id is None:
        return None
    found = app.store.find_teamspace(token.workspace_id, token.teamspace_id)
    return found.name if found is not None else token.teamspace_id


def _lockout_allowed(app: _Tokens, args: argparse.Namespace, action: str) -> TokenRecord:
    """Deactivate or revoke: the lockout rule, which ``--force`` overrides here."""
    try:
        record = app.tokens.switch(action, args.token_id, _workspace_id(app, args),
                                   allow_lockout=args.force)  # fmt: skip
    except ConflictError as exc:
        raise ConflictError(
            f"{exc.message} (or give --force: on this machine `tilecred token create` "
            "can always issue a new one)",
            status=409,
        ) from exc
    if not any(token.administers for token in app.tokens.list(record.workspace_id)):
        found = app.store.find_workspace(record.workspace_id)
        name = record.workspace_id if found is None else found.name
        print(
            f"warning: no active read-write management token is left in workspace {name!r}; "
            f"issue one with `tilecred token create --workspace {name}`",
            file=sys.stderr,
        )
    return record


def run_token_revoke(args: argparse.Namespace) -> int:
    """The token stops working at once."""
    with _opened(args) as app:
        record = _lockout_allowed(app, args, "revoke")
        print(f"revoked token {record.id} ({record.name!r})")
    return 0


def run_token_deactivate(args: argparse.Namespace) -> int:
    """The token stops working until activated again."""
    with _opened(args) as app:
        record = _lockout_allowed(app, args, "deactivate")
        print(f"deactivated token {record.id} ({record.name!r})")
    return 0


def run_token_activate(args: argparse.Namespace) -> int:
    """A deactivated token works again."""
    with _opened(args) as app:
        record = app.tokens.switch("activate", args.token_id, _workspace_id(app, args))
        print(f"activated token {record.id} ({record.name!r}): {record.state}")
    return 0


def run_token_rename(args: argparse.Namespace) -> int:
    """A new name; the token's text and limits stay."""
    from tilecred._local._tokens import check_token_name

    check_token_name(args.new_name)
    with _opened(args) as app:
        record = app.tokens.rename(args.token_id, args.new_name, _workspace_id(app, args))
        print(f"renamed token {record.id} to {record.name!r}")
    return 0


def run_token_regenerate(args: argparse.Namespace) -> int:
    """A new text for the token, printed once: alone on stdout, so it can be captured."""
    with _opened(args) as app:
        record, text = app.tokens.regenerate(args.token_id, _workspace_id(app, args))
        print(
            f"regenerated token {record.id} ({record.name!r}): the old text no longer works; "
            "the new one is shown only this once:",
            file=sys.stderr,
        )
        print(text)
    return 0
