"""The credential commands: list, get, create, update, delete, verify."""

from __future__ import annotations

import argparse
import contextlib
import datetime
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any

from tilecred import AccessCredential, CredentialType, SecretExpiryWarning

from ._audit import parse_when
from ._body import read_body
from ._expiring import list_expiring_everywhere
from ._failures import CommandError, UsageError
from ._inputs import stdin_is_terminal
from ._kinds import DEFAULT_KINDS, KINDS, add_kind_options, secret_from_options, used_kind_options
from ._options import add_teamspace, positive, provider_type, scope_text
from ._output import (
    CREDENTIAL_COLUMNS,
    Style,
    Table,
    credential_details,
    credential_row,
    print_warning,
    status_colour,
    to_json,
)
from ._parser import AddCommand, add_command
from ._session import client_for

__all__ = ["COMMANDS"]


# -- list and get -------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    """Print credentials a page at a time, as they arrive."""
    client = client_for(args)  # sets args.teamspace to a configured default teamspace
    if args.expiring is not None and args.teamspace is None:
        return list_expiring_everywhere(client, args, _expiring(args.expiring))
    pager = client.list_credentials(
        teamspace=args.teamspace,
        page=args.page,
        per_page=args.per_page,
        provider=args.provider,
        exclude_provider=args.exclude_provider,
        credential_type=args.type,
        verify=True if args.verify else None,
    )
    out = sys.stdout
    shown = _expiring(args.expiring)
    if args.json:
        for page in pager.pages():
            out.writelines(to_json(cred) + "\n" for cred in page.items if shown(cred))
            out.flush()
        return 0
    table = Table(out, CREDENTIAL_COLUMNS, Style(out), status_colour)
    for page in pager.pages():
        table.write(credential_row(cred) for cred in page.items if shown(cred))
    if not table.rows:
        which = "" if args.expiring is None else " expiring by then"
        print(f"no credentials{which}{scope_text(args)}", file=sys.stderr)
    return 0


def _expiring(
    when: datetime.datetime | datetime.timedelta | None,
) -> Callable[[AccessCredential], bool]:
    """Which credentials ``list --expiring WHEN`` shows: those whose secret
    expires by then (a duration counts from now), the expired ones included."""
    if when is None:
        return lambda cred: True
    cutoff = (
        datetime.datetime.now(datetime.UTC) + when if isinstance(when, datetime.timedelta) else when
    )
    return lambda cred: cred.expires_at is not None and cred.expires_at <= cutoff


def run_get(args: argparse.Namespace) -> int:
    """Print one credential, without its secret."""
    cred = client_for(args).get_credential(args.name, teamspace=args.teamspace)
    if args.json:
        print(to_json(cred))
        return 0
    style = Style(sys.stdout)
    pairs = credential_details(cred)
    width = max(len(label) for label, _ in pairs)
    for label, value in pairs:
        print(style.paint(label.ljust(width), "bold") + "  " + value)
    return 0


# -- create, update, verify ---------------------------------------------------------


def _request(args: argparse.Namespace) -> dict[str, Any]:
    """The call's arguments, from --from-json and the options (options win)."""
    if args.from_json is not None:
        used = used_kind_options(args)
        if used:
            raise UsageError(f"--from-json carries the secret: do not combine it with {used[0]}")
    body = read_body(args.from_json) if args.from_json is not None else {}
    given = {
        "name": args.new_name if args.command == "update" else args.name,
        "provider": args.provider,
        "provider_default": args.provider_default,
        "allowed_in_tasks": args.allowed_in_tasks,
        "description": getattr(args, "description", None),
    }
    body.update({field: value for field, value in given.items() if value is not None})
    if args.command != "update":
        for field, option in (("name", "NAME"), ("provider", "--provider")):
            if field not in body:
                raise UsageError(f"{option} is required (or give it in --from-json)")
    if args.from_json is None:
        body.update(_secret(args, body.get("provider")))
    return body


def _secret(args: argparse.Namespace, provider: object) -> dict[str, Any]:
    """The secret container the kind options describe, if any."""
    if args.kind is not None:
        kind = KINDS[args.kind]
        if provider is not None and str(provider).upper() != kind.provider.value:
            raise UsageError(
                f"--kind {kind.name} is for provider {kind.provider.value}, not {provider}"
            )
    elif args.command == "update":
        used = used_kind_options(args)
        if used:
            raise UsageError(f"{used[0]} changes the secret: give --kind too")
        return {}
    else:
        kind = DEFAULT_KINDS[provider_type(str(provider))]
    return secret_from_options(args, kind)


def run_create(args: argparse.Namespace) -> int:
    """Store a new credential."""
    client = client_for(args)
    body = _request(args)
    name, provider = body.pop("name"), body.pop("provider")
    with _expiry_warnings():
        client.create_credential(
            name, provider, teamspace=args.teamspace, verify_first=args.verify_first, **body
        )
    print(f"created credential {name!r}{scope_text(args)}")
    return 0


def run_update(args: argparse.Namespace) -> int:
    """Change a credential."""
    client = client_for(args)
    body = _request(args)
    if args.verify_first and not {"credential", "role", "token"} & body.keys():
        raise UsageError(
            "--verify-first verifies a new secret before it replaces the stored one: "
            "give --kind and the new secret too"
        )
    with _expiry_warnings():
        client.update_credential(
            args.cred_name, teamspace=args.teamspace, verify_first=args.verify_first, **body
        )
    renamed = f" (now {body['name']!r})" if "name" in body else ""
    print(f"updated credential {args.cred_name!r}{scope_text(args)}{renamed}")
    return 0


def _verify_stored(args: argparse.Namespace) -> int:
    """Verify the stored credential ``NAME`` again, as a verifying listing does.

    Its secret never leaves the server, so the client cannot send it to the
    verify action: the listing with ``verify`` re-checks it where it is
    stored (both backends), and the credential's provider narrows the walk.
    """
    given = (("--default", args.provider_default), ("--allow-in-tasks", args.allowed_in_tasks))
    flags = [option for option, value in given if value is not None]
    if flags:
        raise UsageError(f"{flags[0]} does not apply when verifying a stored credential")
    client = client_for(args)
    stored = client.get_credential(args.name, teamspace=args.teamspace)
    pager = client.list_credentials(teamspace=args.teamspace, provider=stored.provider, verify=True)
    status = next((c.status for c in pager if c.name == args.name and c.id == stored.id), None)
    what = f"credential {args.name!r}{scope_text(args)}"
    from tilecred._access._expiry import expiry_warning  # loads on first use: a fast start

    expiry = expiry_warning("its secret", stored.expires_at)
    if status == "verified":
        if expiry is not None:
            print_warning(f"{what}: {expiry}")
        print(f"{what} verified")
        return 0
    if status == "failed":
        raise CommandError(f"{what} failed verification" + (f": {expiry}" if expiry else ""))
    raise CommandError(f"{what}: the server gave no verification status")


def _verify_live(args: argparse.Namespace) -> int:
    """Verify the stored credential ``NAME`` against its own service (``--live``)."""
    if args.name is None:
        raise UsageError("--live verifies a stored credential: give its NAME")
    given = (
        ("--default", args.provider_default), ("--allow-in-tasks", args.allowed_in_tasks),
        ("--from-json", args.from_json),
    )  # fmt: skip
    flags = [option for option, value in given if value is not None] + used_kind_options(args)
    if flags:
        raise UsageError(f"{flags[0]} does not apply to --live: it verifies the stored secret")
    result = client_for(args).verify_credential(
        args.name, args.provider, teamspace=args.teamspace, live=True
    )
    assert result is not None  # live=True always answers
    if args.json:
        print(to_json(result))
        return 0
    who = f" as {result.identity}" if result.identity else ""
    print(
        f"credential {args.name!r}{scope_text(args)} verified live{who}: "
        f"{result.call} {result.endpoint} answered in {result.elapsed:.3f} s"
    )
    return 0


def run_verify(args: argparse.Namespace) -> int:
    """Check a credential with the server without storing it, or a stored one by name."""
    if args.live:
        return _verify_live(args)
    if args.json:
        raise UsageError("--json goes with --live")
    stored = args.provider is None and args.from_json is None and not used_kind_options(args)
    if args.name is not None and stored:
        return _verify_stored(args)
    client = client_for(args)
    body = _request(args)
    name, provider = body.pop("name"), body.pop("provider")
    # A create's body verified as it is: its description has nothing to verify.
    body.pop("description", None)
    with _expiry_warnings():
        client.verify_credential(name, provider, teamspace=args.teamspace, **body)
    print(f"credential {name!r} verified{scope_text(args)}")
    return 0


@contextlib.contextmanager
def _expiry_warnings() -> Iterator[None]:
    """Print the block's SecretExpiryWarnings as ``warning: …`` lines, even
    where warnings are errors (a test) or shown once per place (the default)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SecretExpiryWarning)
        try:
            yield
        finally:
            for warning in caught:
                print_warning(warning.message)


# -- delete -------------------------------------------------------------------------


def run_delete(args: argparse.Namespace) -> int:
    """Delete a credential, after asking (or with --yes)."""
    what = f"credential {args.name!r}{scope_text(args)}"
    if not args.yes:
        if not stdin_is_terminal():
            raise UsageError(
                f"not deleting {what}: standard input is not a terminal to confirm at; "
                "pass --yes to delete without asking"
            )
        sys.stderr.write(f"Delete {what}? [y/N] ")
        sys.stderr.flush()
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            # Declining is an answer, not a failure: a script sees status 0.
            print(f"{what} not deleted", file=sys.stderr)
            return 0
    client_for(args).delete_credential(args.name, teamspace=args.teamspace)
    print(f"deleted {what}")
    return 0


# -- the parsers --------------------------------------------------------------------


def _add_description(parser: argparse.ArgumentParser, text: str) -> None:
    parser.add_argument("--description", metavar="TEXT", help=text)


def _add_changes(parser: argparse.ArgumentParser) -> None:
    """Options shared by create, update and verify."""
    parser.add_argument(
        "--provider", type=provider_type, help="AWS, AZURE, GCP, SNOWFLAKE, DATABRICKS or GENERIC"
    )
    parser.add_argument(
        "--default",
        dest="provider_default",
        action=argparse.BooleanOptionalAction,
        help="make it (or not) the provider's default credential",
    )
    parser.add_argument(
        "--allow-in-tasks",
        dest="allowed_in_tasks",
        action=argparse.BooleanOptionalAction,
        help="let (or do not let) tasks use it",
    )
    parser.add_argument(
        "--from-json",
        metavar="FILE",
        help="take the whole request body from FILE (- for stdin); options given too win",
    )
    add_teamspace(parser)
    add_kind_options(parser)  # fmt: skip


def _add_list(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred list``."""
    p = add_command(
        subparsers, "list", parents=parents,
        summary="list credentials, a page at a time",
        usage="%(prog)s [--teamspace T] [--provider P ...] [--exclude-provider P ...]\n"
        "                     [--type TYPE] [--page N] [--per-page N] [--verify]\n"
        "                     [--expiring WHEN] [--json]\n"
        "                     [global options]",
        description="List credentials as an aligned table (NAME, PROVIDER, KIND, DEFAULT, "
        "TASKS, ACTIVE, STATUS, EXPIRES, UPDATED, LAST USED, USED BY; times in UTC), printed "
        "a page at a time as pages arrive, or as JSON Lines with --json: one credential per "
        "line, secrets never included. --verify has each credential verified as it is "
        "listed, which fills STATUS. --expiring 7d shows only those whose secret expires "
        "within 7 days, from every teamspace and the workspace level (with a TEAMSPACE "
        "column) unless --teamspace names one.",
        examples="""
            tilecred list
            tilecred list --teamspace ml --provider aws --provider gcp
            tilecred list --exclude-provider azure --json | jq -r .name
            tilecred list --verify
            tilecred list --expiring 7d
        """,
    )  # fmt: skip
    add_teamspace(p)
    p.add_argument(
        "--provider",
        type=provider_type,
        action="append",
        metavar="P",
        help="only this provider (repeatable)",
    )
    p.add_argument(
        "--exclude-provider",
        type=provider_type,
        action="append",
        metavar="P",
        help="not this provider (repeatable)",
    )
    p.add_argument(
        "--type",
        type=CredentialType,
        choices=list(CredentialType),
        help="workspace or teamspace credentials only",
    )
    p.add_argument("--page", type=positive, default=1, help="the first page to print (default 1)")
    p.add_argument(
        "--per-page", type=positive, metavar="N", help="page size (default: the server's)"
    )
    p.add_argument(
        "--verify", action="store_true", help="verify each credential: fills the STATUS column"
    )
    p.add_argument(
        "--expiring", metavar="WHEN", type=parse_when,
        help="only credentials whose secret expires by WHEN: a duration from now (7d, 12h) "
        "or an ISO 8601 time (UTC); expired ones included",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print JSON Lines, one credential per line")
    p.set_defaults(handler=run_list)  # fmt: skip


def _add_get(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred get``."""
    p = add_command(
        subparsers, "get", parents=parents,
        summary="show one credential (never its secret)",
        usage="%(prog)s NAME [--teamspace T] [--json] [global options]",
        examples="""
            tilecred get prod-s3
            tilecred get prod-s3 --teamspace ml --json
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", help="the credential's name")
    add_teamspace(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(handler=run_get)


def _add_create(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred create``."""
    p = add_command(
        subparsers, "create", parents=parents,
        summary="store a new credential",
        usage="%(prog)s NAME --provider P [--kind KIND] [kind and secret options] [other options]",
        examples="""
            tilecred create prod-s3 --provider aws --access-key-id AKIAEXAMPLE \\
                --secret-env AWS_SECRET_ACCESS_KEY
            tilecred create prod-role --provider aws --kind role --default \\
                --role-arn arn:aws:iam::123456789012:role/demo
            printf %s "$SAS" | tilecred create blobs --provider azure --kind sas \\
                --account-name acct --secret-stdin
            tilecred create gcs --provider gcp --kind service-account --key-file sa.json \\
                --teamspace ml
            tilecred create sf --provider snowflake --account acme --user svc \\
                --key-file rsa_key.p8 --passphrase-prompt
            tilecred create warehouse --provider generic --kind basic --scheme postgresql \\
                --user etl --service-host db.example.com --port 5432 --database sales \\
                --param sslmode=require --secret-env PGPASSWORD \\
                --description "the nightly ETL's login"
            tilecred create prod-s3 --from-json body.json
            tilecred create lake --verify-first --provider aws --access-key-id AKIAEXAMPLE \\
                --secret-stdin < secret.txt
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", nargs="?", help="the new credential's name")
    _add_description(p, "what the credential is for, in words (at most 1,000 characters)")
    p.add_argument(
        "--verify-first", action="store_true",
        help="verify the secret first; if it fails, store nothing (exit status 1)",
    )  # fmt: skip
    _add_changes(p)
    p.set_defaults(handler=run_create)


def _add_update(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred update``."""
    p = add_command(
        subparsers, "update", parents=parents,
        summary="change a credential: rename it, change its flags or replace its secret",
        usage="%(prog)s CRED_NAME [--name NEW_NAME] [--verify-first] [--kind KIND ...] "
        "[other options]",
        examples="""
            tilecred update prod-s3 --name prod-s3-old
            tilecred update prod-s3 --default --no-allow-in-tasks
            tilecred update prod-s3 --kind keys --access-key-id AKIANEW \\
                --secret-stdin < new-secret.txt
            tilecred update blobs --verify-first --kind sas --account-name acct \\
                --secret-env NEW_SAS
        """,
    )  # fmt: skip
    p.add_argument("cred_name", metavar="CRED_NAME", help="the credential to change")
    p.add_argument("--name", dest="new_name", metavar="NEW_NAME", help="rename it")
    p.add_argument(
        "--verify-first", action="store_true",
        help="verify the new secret first; if it fails, change nothing (exit status 1)",
    )  # fmt: skip
    _add_description(p, 'a new description; "" removes it')
    _add_changes(p)
    p.set_defaults(handler=run_update)


def _add_delete(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred delete``."""
    p = add_command(
        subparsers, "delete", parents=parents,
        summary="delete a credential (asks first on a terminal)",
        usage="%(prog)s NAME [--teamspace T] [--yes] [global options]",
        examples="""
            tilecred delete old-s3
            tilecred delete old-s3 --teamspace ml --yes
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", help="the credential's name")
    add_teamspace(p)
    p.add_argument(
        "-y", "--yes", action="store_true", help="do not ask; needed when not on a terminal"
    )
    p.set_defaults(handler=run_delete)


def _add_verify(subparsers: Any, parents: list[argparse.ArgumentParser]) -> None:
    """Register ``tilecred verify``."""
    p = add_command(
        subparsers, "verify", parents=parents,
        summary="verify a stored credential by name, or check one without storing it",
        usage="%(prog)s NAME [--teamspace T] [global options]\n"
        "       %(prog)s NAME --live [--json] [--teamspace T] [global options]\n"
        "       %(prog)s NAME --provider P [--kind KIND] [kind and secret options] "
        "[other options]",
        description="With only a NAME, verify the stored credential of that name again "
        "where it is stored (its secret never leaves it) and say whether it passed: exit "
        "status 0 verified, 1 failed. With --live, ask the credential's own service (AWS STS, "
        "the OAuth token endpoint, a bearer token's url, PostgreSQL) and print who it says "
        "the credential is, or its own refusal (exit status 1). With --provider and a secret "
        "(or --from-json), check "
        "that credential with the server without storing anything.",
        examples="""
            tilecred verify prod-s3
            tilecred verify blobs --teamspace ml
            tilecred verify prod-s3 --live
            tilecred verify prod-s3 --provider aws --access-key-id AKIAEXAMPLE \\
                --secret-env AWS_SECRET_ACCESS_KEY
            tilecred verify prod-role --provider aws --kind role \\
                --role-arn arn:aws:iam::123456789012:role/demo
        """,
    )  # fmt: skip
    p.add_argument("name", metavar="NAME", nargs="?", help="the credential's name")
    p.add_argument(
        "--live", action="store_true",
        help="verify the stored credential against its own service (the smallest real "
        "call it allows) and print who the service says it is; exit status 1 if refused",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="with --live: print one JSON object")
    _add_changes(p)
    p.set_defaults(handler=run_verify)


# Each command's parser is built only when it is needed (see _parser.build_parser).
COMMANDS: dict[str, AddCommand] = {
    "list": _add_list,
    "get": _add_get,
    "create": _add_create,
    "update": _add_update,
    "delete": _add_delete,
    "verify": _add_verify,
}
