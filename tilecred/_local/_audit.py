"""The audit log: one record per use, refusal and change, appended, never altered.

The caller that knows who is acting writes the record: the local backend for
the library (actor ``local:<os user>``), the server's handlers for a request
(actor ``token:<id> (<name>)``). Both go through :func:`audited`, which
records the outcome of the block it wraps. A successful write appends its
record inside the store's own transaction (``entry`` passed to the store), so
a change and its record commit together; a failure or refusal is appended
after the rollback, in a transaction of its own.

The database's triggers refuse UPDATE and DELETE on the table (schema
version 3); since version 13 they let a delete through only under a prune's
permit, for records it exported first (``_retention.py``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import getpass
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._backend import AuditQuery
from .._errors import PermissionDeniedError, scrub
from .._models import (
    AccessCredential,
    AuditRecord,
    CredentialCreateRequest,
    CredentialUpdateRequest,
    UsageSummary,
)
from ._engine import Connection
from ._records import from_micros, to_micros

if TYPE_CHECKING:
    from ._store import Store

__all__ = [
    "ACTIVATION",
    "AuditEntry",
    "audited",
    "deactivated",
    "describe_create",
    "describe_update",
    "insert_audit",
    "local_actor",
    "not_allowed_in_tasks",
    "not_handed_out",
    "select_audit",
    "select_usage",
    "with_last_use",
]

logger = logging.getLogger("tilecred")

# The audit action of activating (True) and deactivating (False) a credential.
ACTIVATION = {True: "credential.activate", False: "credential.deactivate"}

# Statuses that mean "refused" rather than "failed".
_DENIED = frozenset({401, 403})


@dataclasses.dataclass(slots=True)
class AuditEntry:
    """A record being written: what the block is doing, and on what.

    ``secrets`` are values scrubbed from ``detail`` and from an error's
    message before either is stored (a request's secret fields, say).
    """

    actor: str
    workspace_id: str
    action: str
    teamspace: str | None = None
    credential: str | None = None
    request_id: str | None = None
    detail: str | None = None
    secrets: tuple[str, ...] = ()
    # The credential's id, when one is found: "last used" follows it.
    credential_id: str | None = None
    # What the caller said the operation is for (``use_credential(purpose=)``):
    # the detail of a success, and the start of a failure's.
    purpose: str | None = None
    recorded: bool = False


def local_actor() -> str:
    """``local:<os user>``: who the library acts for on this machine."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        # No login name (a container's bare uid): the uid still says who.
        user = f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"local:{user}"


def describe_create(request: CredentialCreateRequest) -> str:
    """What a create stored: provider, kind and flags (``AWS credential.aws
    allowed_in_tasks``), never a value of the secret."""
    parts = [request.provider.value]
    for container in ("credential", "role", "token"):
        parts.extend(
            f"{container}.{member}"
            for member, value in _members(getattr(request, container))
            if value is not None
        )
    flags = ("provider_default", "allowed_in_tasks")
    parts.extend(flag for flag in flags if getattr(request, flag))
    return " ".join(parts)


def describe_update(request: CredentialUpdateRequest) -> str:
    """Which fields an update changed, by name; a new name is shown, a secret never."""
    changed = [f for f in request.__struct_fields__ if getattr(request, f) is not None]
    text = "changed " + ", ".join(changed)
    if request.allowed_in_tasks is not None:
        text += f"; allowed_in_tasks={request.allowed_in_tasks}"
    if request.name is not None:
        text += f"; new name {request.name!r}"
    return text


def _members(container: object) -> list[tuple[str, object]]:
    fields: tuple[str, ...] = getattr(container, "__struct_fields__", ())
    return [(field, getattr(container, field)) for field in fields]


def not_allowed_in_tasks(name: str) -> PermissionDeniedError:
    """The gate's refusal: names the credential and says how to allow it."""
    return PermissionDeniedError(
        f"credential {name!r} is not allowed in tasks, so its secrets cannot be used; "
        f"allow it with update_credential({name!r}, allowed_in_tasks=True) "
        f"or `tilecred update {name} --allow-in-tasks`",
        status=403,
    )


def not_handed_out(name: str, what: str) -> PermissionDeniedError:
    """The refusal of a management token's change that would decide what tasks are handed."""
    return PermissionDeniedError(
        f"only an admin token can {what}, and this is a management token: credential "
        f"{name!r} was not changed (`tilecred token create --admin` on the server's machine "
        "issues an admin token)",
        status=403,
    )


def deactivated(name: str, workspace: str, teamspace: str | None) -> PermissionDeniedError:
    """The refusal to use a deactivated credential: where it is, and how to activate it."""
    where = f"workspace {workspace!r}"
    option = ""
    if teamspace is not None:
        where, option = f"teamspace {teamspace!r} of {where}", f" --teamspace {teamspace}"
    return PermissionDeniedError(
        f"credential {name!r} in {where} is deactivated: "
        f"activate it with `tilecred activate {name}{option}`",
        status=403,
    )


def insert_audit(
    conn: Connection,
    entry: AuditEntry,
    outcome: str,
    detail: str | None = None,
    *,
    at: datetime.datetime | None = None,
) -> None:
    """Append one record in the caller's transaction, timed now unless ``at`` is given."""
    text = detail if detail is not None else entry.detail
    if text is not None and entry.secrets:
        text = scrub(text, entry.secrets)
    if entry.credential_id is None and entry.action == "use" and entry.credential is not None:
        # A use refused before the store looked the credential up (a token's
        # limits, plain HTTP) still counts against it in "who uses this?".
        entry.credential_id = _credential_id(conn, entry)
    conn.execute(
        "INSERT INTO audit (at, actor, workspace_id, teamspace, credential, action, outcome,"
        " request_id, detail, credential_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (to_micros(at or datetime.datetime.now(datetime.UTC)), entry.actor, entry.workspace_id,
         entry.teamspace, entry.credential, entry.action, outcome, entry.request_id, text,
         entry.credential_id),
    )  # fmt: skip
    entry.recorded = True


def _credential_id(conn: Connection, entry: AuditEntry) -> str | None:
    """The id of the credential the entry names, in its teamspace (a name or an id)."""
    scope, params = "c.scope = ''", [entry.workspace_id, entry.credential]
    if entry.teamspace is not None:
        # A teamspace named by its id is preferred to one that has that name.
        scope = (
            "c.scope = (SELECT t.id FROM teamspaces t WHERE t.workspace_id = ?"
            " AND (t.id = ? OR t.name = ?) ORDER BY t.id = ? DESC LIMIT 1)"
        )
        params += [entry.workspace_id, *[entry.teamspace] * 3]
    row = conn.execute(
        # Built only from the constant fragments above; every value is a parameter.
        "SELECT c.id FROM credentials c WHERE c.workspace_id = ? AND c.name = ? AND " + scope,  # noqa: S608
        params,
    ).fetchone()
    return None if row is None else str(row[0])


def select_audit(conn: Connection, workspace_id: str, query: AuditQuery) -> list[AuditRecord]:
    """A workspace's records, oldest first: the newest ``query.limit`` that match."""
    where = ["a.workspace_id = ?"]
    params: list[Any] = [workspace_id]
    if query.credential is not None:
        where.append("a.credential = ?")
        params.append(query.credential)
    if query.since is not None:
        where.append("a.at >= ?")
        params.append(to_micros(query.since))
    # Built only from the constant fragments above; every value is a parameter.
    sql = (
        "SELECT a.at, a.actor, coalesce(w.name, a.workspace_id), a.teamspace, a.credential,"  # noqa: S608
        " a.action, a.outcome, a.request_id, a.detail"
        " FROM audit a LEFT JOIN workspaces w ON w.id = a.workspace_id"
        " WHERE " + " AND ".join(where) + " ORDER BY a.seq DESC LIMIT ?"
    )
    rows = conn.execute(sql, [*params, query.limit]).fetchall()
    return [
        AuditRecord(at=from_micros(at), actor=actor, workspace=workspace, teamspace=teamspace,
                    credential=credential, action=action, outcome=outcome,
                    request_id=request_id, detail=detail)
        for at, actor, workspace, teamspace, credential, action, outcome, request_id, detail
        in reversed(rows)
    ]  # fmt: skip


# The newest successful use of each credential named: one index lookup per
# credential (audit_last_use holds only successful uses, by credential id and
# seq), however many uses the log holds. ORDER BY … LIMIT 1 rather than max():
# SQLite reads the index backwards from the newest entry either way, but this
# form measured faster (13 ms against 21 ms for 1000 credentials).
_LAST_USES = (
    "SELECT c.id, a.at, a.actor FROM credentials c JOIN audit a ON a.seq = ("
    "SELECT u.seq FROM audit u WHERE u.credential_id = c.id"
    " AND u.action = 'use' AND u.outcome = 'ok' ORDER BY u.seq DESC LIMIT 1)"
    " WHERE c.id IN ({ids})"
)


def with_last_use(conn: Connection, credentials: list[AccessCredential]) -> list[AccessCredential]:
    """Fill in ``last_used_at`` and ``last_used_by``: when, and by which actor,
    each credential was last used successfully (left ``None`` if never).

    One query for them all: a listing's page costs one more query, not one
    per row. The credentials must be the store's own, made for this call:
    they are filled in place (copying each with ``msgspec.structs.replace``
    took a third of the added time for a page of 1000).
    """
    if credentials:
        sql = _LAST_USES.format(ids=", ".join("?" * len(credentials)))
        found = {
            ident: (at, actor)
            for ident, at, actor in conn.execute(sql, [cred.id for cred in credentials])
        }
        for cred in credentials:
            use = found.get(cred.id)
            if use is not None:
                cred.last_used_at, cred.last_used_by = from_micros(use[0]), use[1]
    return credentials


def select_usage(
    conn: Connection,
    workspace_id: str,
    credential_id: str,
    since: datetime.datetime | None = None,
) -> list[UsageSummary]:
    """Who used the credential: one row per actor, the most recent first.

    Counted in the database over every use record of the credential (by id,
    so from before a rename too), however many there are.
    """
    where, params = "", list[Any]([workspace_id, credential_id])
    if since is not None:
        where = " AND at >= ?"
        params.append(to_micros(since))
    sql = (
        "SELECT s.actor, s.ok, s.denied, s.failed, s.first_at, s.last_at, a.request_id"  # noqa: S608
        " FROM (SELECT actor,"
        " sum(CASE WHEN outcome = 'ok' THEN 1 ELSE 0 END) AS ok,"
        " sum(CASE WHEN outcome = 'denied' THEN 1 ELSE 0 END) AS denied,"
        " sum(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS failed,"
        " min(at) AS first_at, max(at) AS last_at, max(seq) AS last_seq"
        " FROM audit WHERE workspace_id = ? AND credential_id = ? AND action = 'use'"
        + where
        + " GROUP BY actor) s JOIN audit a ON a.seq = s.last_seq ORDER BY s.last_seq DESC"
    )
    return [
        UsageSummary(actor=actor, uses=ok, denied=denied, failed=failed,
                     first_at=from_micros(first), last_at=from_micros(last),
                     last_request_id=request_id)
        for actor, ok, denied, failed, first, last, request_id in conn.execute(sql, params)
    ]  # fmt: skip


def _outcome(exc: BaseException) -> str:
    status = getattr(exc, "status", None)
    return "denied" if status in _DENIED else "failed"


@contextlib.contextmanager
def audited(
    store: Store, entry: AuditEntry, *, refusals_only: bool = False
) -> Iterator[AuditEntry]:
    """Record the outcome of the block: ``ok``, ``denied`` (401/403) or ``failed``.

    With ``refusals_only`` (reads: get, list), only a refusal is recorded.

    A store write given ``entry`` records ``ok`` in its own transaction;
    otherwise ``ok`` is appended when the block ends. A failure's record
    carries the error's one-line message (scrubbed), and the error goes on
    unchanged; if even that record cannot be written, the failure to write
    it is logged and the original error still raised.
    """
    try:
        yield entry
    except Exception as exc:
        outcome = _outcome(exc)
        if refusals_only and outcome != "denied":
            raise
        message = getattr(exc, "message", None)
        detail = message if isinstance(message, str) else type(exc).__name__
        if entry.purpose is not None:
            detail = f"{entry.purpose}: {detail}"
        try:
            store.append_audit(entry, outcome, detail)
        except Exception as failure:
            logger.warning(
                "could not append to the audit log of %s (%s): %s",
                store.describe, entry.action, type(failure).__name__,
            )  # fmt: skip
        raise
    if not (entry.recorded or refusals_only):
        store.append_audit(entry, "ok")
