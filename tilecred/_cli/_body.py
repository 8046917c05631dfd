"""``--from-json``: a whole request body from a file or standard input, checked.

A mistake is reported by its line and column, and a misspelt field by the
field it most likely meant. Values are never quoted: a body carries a secret.
"""

from __future__ import annotations

import difflib
import json
import sys
from pathlib import Path
from typing import Any

from ._failures import CommandError, UsageError
from ._inputs import STDIN, stdin_is_terminal
from ._kinds import KINDS

__all__ = ["BODY_FIELDS", "read_body"]

# The fields --from-json may carry: a request body's fields, minus those
# tilecred fills in itself (the workspace and teamspace ids of verify).
BODY_FIELDS = (
    "name",
    "provider",
    "provider_default",
    "allowed_in_tasks",
    "credential",
    "role",
    "token",
    "description",
)


def _members(container: str) -> dict[str, set[str]]:
    """Each member of a secret container and the fields it has, from the kinds table."""
    members: dict[str, set[str]] = {}
    for kind in KINDS.values():
        if kind.container == container:
            fields = members.setdefault(kind.member, set())
            fields.update(kind.fields)
            if kind.secret is not None:
                fields.add(kind.secret)
            fields.update(kind.extra_secrets)
    return members


def _unknown(
    given: dict[str, Any], known: set[str] | tuple[str, ...], path: str, where: str
) -> None:
    for field in sorted(set(given) - set(known)):
        near = difflib.get_close_matches(field, sorted(known), n=1)
        hint = f"did you mean {near[0]!r}?" if near else "known: " + ", ".join(sorted(known))
        raise UsageError(f"--from-json: unknown field {path + field!r} in {where} ({hint})")


def check_fields(body: dict[str, Any], where: str) -> None:
    """Refuse a field no request has, naming the nearest one that exists.

    Raises:
        UsageError: at the first unknown field, top level or inside a secret container.
    """
    _unknown(body, BODY_FIELDS, "", where)
    for container in ("credential", "role", "token"):
        value = body.get(container)
        if not isinstance(value, dict):
            continue  # the library names a wrong type with its path
        members = _members(container)
        _unknown(value, set(members), f"{container}.", where)
        for member, fields in members.items():
            inner = value.get(member)
            if isinstance(inner, dict):
                _unknown(inner, fields, f"{container}.{member}.", where)


def _raw(source: str) -> bytes:
    if source == STDIN:
        if stdin_is_terminal():
            raise UsageError("--from-json -: pipe the JSON in, or give a file")
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read {source}: {exc.strerror}") from exc


def read_body(source: str) -> dict[str, Any]:
    """The JSON object in file ``source`` (``-``: standard input), its fields checked.

    Raises:
        UsageError: not JSON (with line and column), not an object, or an unknown field.
        CommandError: the file cannot be read.
    """
    where = "standard input" if source == STDIN else source
    raw = _raw(source)
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise UsageError(f"--from-json: {where} is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        # The json module's message says what it expected, never what it found.
        raise UsageError(
            f"--from-json: {where} line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    if not isinstance(body, dict):
        raise UsageError(f"--from-json: {where} holds a JSON {type(body).__name__}, not an object")
    check_fields(body, where)
    return body
