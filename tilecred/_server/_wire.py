"""Response bodies exactly as TileDB's v4 API and its Python client expect them.

Secrets never leave the server. TileDB's client, however, rejects a
credential that lacks some keys (the fields marked ``SentEmpty`` in the
models: an AWS key's ``secret_access_key``, a role's ``external_id``, …);
those keys are therefore sent as ``""``, which clients read as "not returned".
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from .._backend import Page
from .._local._views import SERVER_USERNAME, aware, server_user, teamspace_view
from .._models import (
    CONTAINERS,
    AccessCredential,
    AuditRecord,
    ErrorResponse,
    UsageSummary,
    ValidationError,
    ValidationField,
    Workspace,
    WorkspaceUser,
)

if TYPE_CHECKING:
    from .._local import TeamspaceRecord, WorkspaceRecord

__all__ = [
    "audit_body",
    "credential_body",
    "credentials_page_body",
    "delivered_credential_body",
    "error_body",
    "teamspace_body",
    "teamspace_view",
    "teamspaces_body",
    "usage_body",
    "workspace_body",
]

_ENCODER = msgspec.json.Encoder()


def _stamp(value: datetime.datetime) -> str:
    return aware(value).isoformat().replace("+00:00", "Z")


def _credential_dict(cred: AccessCredential) -> dict[str, Any]:
    # msgspec writes aware datetimes as RFC 3339 already; only a zone-less
    # one (not expected from the store) needs its zone added.
    data: dict[str, Any] = msgspec.to_builtins(cred)
    if cred.created_at.tzinfo is None:
        data["created_at"] = _stamp(cred.created_at)
    if cred.updated_at is not None and cred.updated_at.tzinfo is None:
        data["updated_at"] = _stamp(cred.updated_at)
    for container in CONTAINERS:
        value = getattr(cred, container)
        if value is None:
            continue
        for member_name in value.__struct_fields__:
            member = getattr(value, member_name)
            if member is None:
                continue
            out = data[container][member_name]
            # Whatever the store handed over, no secret value goes out.
            for key in member.__secret_fields__:
                out.pop(key, None)
            for key in member.__sent_empty__:
                out.setdefault(key, "")
    return data


def credential_body(cred: AccessCredential) -> bytes:
    """``{"data": AccessCredential}``, secrets blanked."""
    return _ENCODER.encode({"data": _credential_dict(cred)})


def delivered_credential_body(cred: AccessCredential) -> bytes:
    """``{"data": AccessCredential}`` with its secrets: the delivery route's answer only."""
    return _ENCODER.encode({"data": cred})


def audit_body(records: list[AuditRecord]) -> bytes:
    """``{"data": [AuditRecord]}``, oldest first."""
    return _ENCODER.encode({"data": records})


def usage_body(summaries: list[UsageSummary]) -> bytes:
    """``{"data": [UsageSummary]}``, the most recently active actor first."""
    return _ENCODER.encode({"data": summaries})


def credentials_page_body(page: Page[AccessCredential], per_page: int) -> bytes:
    """``{"data": [AccessCredential], "pagination_metadata": {...}}``, secrets blanked."""
    total_items = page.total_items if page.total_items is not None else len(page.items)
    total_pages = page.total_pages if page.total_pages is not None else -(-total_items // per_page)
    return _ENCODER.encode(
        {
            "data": [_credential_dict(cred) for cred in page.items],
            "pagination_metadata": {
                "page": page.page,
                "per_page": page.per_page if page.per_page is not None else per_page,
                "total_pages": total_pages,
                "total_items": total_items,
            },
        }
    )


def teamspace_body(record: TeamspaceRecord) -> bytes:
    """``{"data": Teamspace}``."""
    return _ENCODER.encode({"data": teamspace_view(record)})


def teamspaces_body(records: Iterable[TeamspaceRecord]) -> bytes:
    """``{"data": [Teamspace]}`` (teamspace listings are not paginated)."""
    return _ENCODER.encode({"data": [teamspace_view(record) for record in records]})


def workspace_body(
    record: WorkspaceRecord,
    *,
    caller_id: str,
    caller_name: str,
    caller_role: str,
    caller_since: datetime.datetime,
) -> bytes:
    """``{"data": Workspace}``; ``self`` describes the caller's token."""
    created_at = aware(record.created_at)
    workspace = Workspace(
        workspace_id=record.id,
        name=record.name,
        created_at=created_at,
        created_by=server_user(WorkspaceUser, created_at),
        self=WorkspaceUser(
            user_id=caller_id,
            username=caller_name,
            display_name=caller_name,
            email="",
            role=caller_role,
            added_by=SERVER_USERNAME,
            created_at=aware(caller_since),
        ),
    )
    return _ENCODER.encode({"data": workspace})


def error_body(status: int, message: str, request_id: str, field: str | None = None) -> bytes:
    """The JSON error body; a field path adds ``validation_error``."""
    detail = None
    if field is not None:
        detail = ValidationError(fields=[ValidationField(field=field, message=message)])
    return _ENCODER.encode(
        ErrorResponse(code=status, message=message, request_id=request_id, validation_error=detail)
    )
