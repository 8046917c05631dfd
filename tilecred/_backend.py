"""What a backend does: the six operations, after the arguments are checked.

The client checks every argument and builds the request structs; a backend
(HTTP or the local store) only carries them out. Backends raise
``CredentialsError`` and nothing else; the client adds what was being
done and scrubs secrets from the message.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import TYPE_CHECKING, Generic, Literal, Protocol, TypeVar

from ._models import (
    AccessCredential,
    Association,
    AuditRecord,
    CloudProvider,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
    Teamspace,
    TeamspaceCreateRequest,
    UsageSummary,
)
from ._token_models import ApiToken, IssuedToken, TokenCreateRequest

if TYPE_CHECKING:
    from ._live import LiveVerification

__all__ = ["AuditQuery", "Backend", "ListQuery", "Page", "TokenSwitch"]

T = TypeVar("T")
TokenSwitch = Literal["deactivate", "activate"]

# How many audit records one read returns when no limit is given, and at most.
DEFAULT_AUDIT_LIMIT = 1000
MAX_AUDIT_LIMIT = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class ListQuery:
    """The filters of a listing; ``None`` means "not filtered"."""

    teamspace: str | None = None
    provider: tuple[CloudProvider, ...] | None = None
    exclude_provider: tuple[CloudProvider, ...] | None = None
    credential_type: CredentialType | None = None
    verify: bool | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class AuditQuery:
    """Which audit records to read: ``None`` means "not filtered".

    ``since`` is an aware datetime; of the records that match, the newest
    ``limit`` are returned, oldest first.
    """

    credential: str | None = None
    since: datetime.datetime | None = None
    limit: int = DEFAULT_AUDIT_LIMIT


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

    def create(
        self, request: CredentialCreateRequest, teamspace: str | None, *, exist_ok: bool = False
    ) -> None: ...

    def get(self, name: str, teamspace: str | None) -> AccessCredential: ...

    def list_page(
        self, query: ListQuery, page: int, per_page: int | None
    ) -> Page[AccessCredential]: ...

    def update(
        self, name: str, request: CredentialUpdateRequest, teamspace: str | None
    ) -> None: ...

    def delete(self, name: str, teamspace: str | None) -> None: ...

    def verify(self, request: CredentialsVerifyRequest, teamspace: str | None) -> None: ...

    def verify_live(self, name: str, teamspace: str | None) -> LiveVerification:
        """Verify the stored credential against its own service (audited)."""
        ...

    def use(self, name: str, teamspace: str | None, purpose: str | None) -> AccessCredential:
        """The credential with its secrets, if it is allowed in tasks (audited, with
        ``purpose`` as the record's detail)."""
        ...

    def use_by(
        self, how: str, value: str, teamspace: str | None, purpose: str | None
    ) -> AccessCredential:
        """The credential chosen by ``how`` (``url``: the longest associated
        prefix; ``target``: an exact target; ``provider``: the provider's
        default) with its secrets, as :meth:`use` hands one out."""
        ...

    def associate(
        self, name: str, target: str, teamspace: str | None, default: bool
    ) -> Association:
        """Associate a credential with a target (audited); the association."""
        ...

    def dissociate(self, name: str, target: str, teamspace: str | None) -> None:
        """Remove a credential's association with a target (audited)."""
        ...

    def list_associations(
        self, name: str | None, target: str | None, teamspace: str | None
    ) -> list[Association]:
        """A scope's associations, filtered by credential name and exact target."""
        ...

    def set_active(self, name: str, teamspace: str | None, active: bool) -> AccessCredential:
        """Activate or deactivate a credential (audited); the credential as it is now."""
        ...

    def audit(self, query: AuditQuery) -> list[AuditRecord]:
        """The workspace's audit records that match ``query``."""
        ...

    def audit_summary(
        self, name: str, teamspace: str | None, since: datetime.datetime | None
    ) -> list[UsageSummary]:
        """Who used the credential, per actor, from the audit log."""
        ...

    # -- teamspaces ---------------------------------------------------------------

    def create_teamspace(self, request: TeamspaceCreateRequest) -> Teamspace:
        """Create a teamspace in the workspace; the teamspace as made."""
        ...

    def list_teamspaces(self) -> list[Teamspace]:
        """The workspace's teamspaces."""
        ...

    # -- API tokens (tilecred's extension; audited) --------------------------------

    def create_token(self, request: TokenCreateRequest) -> IssuedToken:
        """Issue a token in the workspace; its text is in the answer, this once."""
        ...

    def list_tokens(self) -> list[ApiToken]:
        """The workspace's tokens, revoked ones included, oldest first."""
        ...

    def rename_token(self, token_id: str, name: str) -> ApiToken: ...

    def switch_token(self, token_id: str, action: TokenSwitch) -> ApiToken:
        """Deactivate or activate a token; the token as it is now."""
        ...

    def regenerate_token(self, token_id: str) -> IssuedToken: ...

    def revoke_token(self, token_id: str) -> None: ...

    def close(self) -> None: ...
