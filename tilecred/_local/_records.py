"""Workspaces and teamspaces as the store keeps them."""

from __future__ import annotations

import dataclasses
import datetime

__all__ = ["TeamspaceRecord", "WorkspaceRecord", "from_micros", "to_micros"]

_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_MICROSECOND = datetime.timedelta(microseconds=1)


@dataclasses.dataclass(frozen=True, slots=True)
class WorkspaceRecord:
    """A workspace: ``id`` is ``ws_<hex>``."""

    id: str
    name: str
    created_at: datetime.datetime


@dataclasses.dataclass(frozen=True, slots=True)
class TeamspaceRecord:
    """A teamspace inside a workspace: ``id`` is ``ts_<hex>``."""

    id: str
    workspace_id: str
    name: str
    visibility: str
    description: str | None
    created_at: datetime.datetime

    @property
    def teamspace_id(self) -> str:
        """The id, under the name the functions' ``teamspace=`` argument reads."""
        return self.id


def to_micros(moment: datetime.datetime) -> int:
    """Microseconds since the epoch, as the store keeps times (exact, sortable)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_micros(micros: int) -> datetime.datetime:
    """A stored time as an aware UTC datetime."""
    # A multiple of a constant timedelta: exact, and a third of the cost of
    # timedelta(microseconds=…) (three per credential listed).
    return _EPOCH + _MICROSECOND * micros
