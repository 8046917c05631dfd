"""The store's spaces as the API's models show them: to TileDB's client from
``tilecred serve``, and to the library from the local backend alike.
"""

from __future__ import annotations

import datetime
from typing import TYPE_CHECKING, TypeVar

from .._models import Teamspace, TeamspaceUser, WorkspaceUser

if TYPE_CHECKING:
    from ._records import TeamspaceRecord

__all__ = ["SERVER_USERNAME", "SERVER_USER_ID", "aware", "server_user", "teamspace_view"]

# The store is the one user every workspace has: it creates teamspaces on
# behalf of whoever may, and has no accounts of its own.
SERVER_USER_ID = "usr_tilecred"
SERVER_USERNAME = "tilecred"

_User = TypeVar("_User", TeamspaceUser, WorkspaceUser)


def aware(value: datetime.datetime) -> datetime.datetime:
    """A time from the store, with its zone: a zone-less one is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=datetime.UTC)


def server_user(kind: type[_User], created_at: datetime.datetime) -> _User:
    """The store's one user, as a teamspace's or a workspace's member."""
    return kind(
        user_id=SERVER_USER_ID,
        username=SERVER_USERNAME,
        display_name=SERVER_USERNAME,
        email="",
        role="owner",
        added_by=SERVER_USERNAME,
        created_at=created_at,
    )


def teamspace_view(record: TeamspaceRecord) -> Teamspace:
    """The full Teamspace model TileDB's client requires, ``created_by`` included."""
    created_at = aware(record.created_at)
    return Teamspace(
        teamspace_id=record.id,
        name=record.name,
        space_type="teamspace",
        created_at=created_at,
        created_by=server_user(TeamspaceUser, created_at),
        visibility=record.visibility,
        description=record.description,
    )
