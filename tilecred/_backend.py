"""What a backend does: the six operations, after the arguments are checked.

The client checks every argument and builds the request structs; a backend
(HTTP or the local store) only carries them out. Backends raise
``CredentialsError`` and nothing else; the client adds what was being
done and scrubs secrets from the message.
"""

from __future__ import annotations

import dataclasses
from typing import Generic, Protocol, TypeVar

from ._models import (
    AccessCredential,
    CloudProvider,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
)

__all__ = ["Backend", "ListQuery", "Page"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class ListQuery:
    """The filters of a listing; ``None`` means "not filtered"."""

    teamspace: str | None = None
    provider: tuple[CloudProvider, ...] | None = None
    exclude_provider: tuple[CloudProvider, ...] | None = None
    credential_type: CredentialType | None = None
    verify: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """One page of a listing: its items and where it sits.

    ``per_page``, ``total_pages`` and ``total_items`` are ``None`` when the
    server sent no pagination metadata.
    """

    items: list[T]
    page: int
    per_page: int | None
    total_pages: int | None
    total_items: int | None


class Backend(Protocol):
    """Where calls go: TileDB's REST API or the local store."""

    def create(self, request: CredentialCreateRequest, teamspace: str | None) -> None: ...

    def get(self, name: str, teamspace: str | None) -> AccessCredential: ...

    def list_page(
        self, query: ListQuery, page: int, per_page: int | None
    ) -> Page[AccessCredential]: ...

    def update(
        self, name: str, request: CredentialUpdateRequest, teamspace: str | None
    ) -> None: ...

    def delete(self, name: str, teamspace: str | None) -> None: ...

    def verify(self, request: CredentialsVerifyRequest, teamspace: str | None) -> None: ...

    def close(self) -> None: ...
