"""What ``tilecred serve`` may call out to: ``--outbound`` and ``--outbound-hosts``.

By default the server calls nothing outside itself: a live verification or
an OAuth exchange is refused (403) before a secret is opened. With
``--outbound`` it may call a credential's own service, and with
``--outbound-hosts`` only those hosts. Each call is bounded in time, follows
no redirect and is audited (``tilecred._live``, ``tilecred._local._outbound``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import msgspec

from .._errors import CredentialsError, PermissionDeniedError
from .._live import LiveVerificationResponse
from .._local._audit import audited
from .._local._outbound import store_rotated, verify_stored_live
from .._models import AccessCredential, BearerToken, CloudProvider, Token, iter_secrets
from ._request import HttpError, Response

if TYPE_CHECKING:
    from collections.abc import Callable

    from .._local._audit import AuditEntry
    from .._local._engine import Connection
    from .._local._records import TeamspaceRecord
    from .._local._service import StoreBackend

__all__ = ["NO_OUTBOUND", "Outbound", "exchange_for_task", "verify_live_answer"]

NO_OUTBOUND = (
    "this server may not call out: start tilecred serve with --outbound to let it verify "
    "credentials against their services and make OAuth exchanges"
)


@dataclasses.dataclass(frozen=True, slots=True)
class Outbound:
    """The operator's permission to call out; ``hosts`` ``None``: any host."""

    hosts: frozenset[str] | None = None

    @classmethod
    def from_options(cls, enabled: bool, hosts: str | None) -> Outbound | None:
        """From ``--outbound`` and ``--outbound-hosts h1,h2`` (which implies it)."""
        if hosts is not None:
            listed = frozenset(h.strip().lower() for h in hosts.split(",") if h.strip())
            return cls(listed)
        return cls() if enabled else None

    def allow(self, host: str) -> None:
        """Refuse (403) a host outside ``--outbound-hosts``; nothing is sent."""
        if self.hosts is not None and host.lower() not in self.hosts:
            allowed = ", ".join(sorted(self.hosts)) or "none"
            raise PermissionDeniedError(
                f"this server may not call {host!r}: --outbound-hosts allows {allowed}",
                status=403,
            )


def check_allowed(outbound: Outbound | None) -> Outbound:
    if outbound is None:
        raise HttpError(403, NO_OUTBOUND)
    return outbound


def verify_live_answer(
    outbound: Outbound | None,
    service: StoreBackend,
    name: str,
    find_scope: Callable[[AuditEntry], TeamspaceRecord | None],
    check: Callable[[Connection], None],
    request_id: str,
) -> Response:
    """The verify route's answer: the result, or the service's refusal as a
    422 whose ``code`` is the service's own."""
    from .._errors import VerificationFailedError

    entry = service.entry("verify.live", name, None)
    try:
        with audited(service.store, entry):
            allowed = check_allowed(outbound)
            teamspace = find_scope(entry)
            result = verify_stored_live(
                service, name, teamspace, entry, allow=allowed.allow, check=check
            )
    except VerificationFailedError as exc:
        # The service's own code where tilecred's errors carry the status.
        body = {"code": exc.code, "message": exc.message, "request_id": request_id}
        return Response(422, msgspec.json.encode(body))
    return Response(200, msgspec.json.encode(LiveVerificationResponse(data=result)))


def exchange_for_task(
    outbound: Outbound, service: StoreBackend, teamspace: TeamspaceRecord | None,
    credential: AccessCredential,
) -> AccessCredential:  # fmt: skip
    """An OAuth client's access token in place of the client: a bearer token
    that expires when the access token does. The client secret and refresh
    token stay on the server; a refresh token the endpoint rotates is stored back."""
    from .._access._oauth import request_token
    from .._live import describe_call

    client = credential.credential.oauth if credential.credential is not None else None
    assert client is not None
    call, endpoint = describe_call(credential)
    out = service.entry("outbound", credential.name, None if teamspace is None else teamspace.name)
    out.detail, out.credential_id = f"{call} {endpoint}", credential.id
    out.secrets = tuple(iter_secrets(credential))
    with audited(service.store, out):
        from urllib.parse import urlsplit

        outbound.allow(urlsplit(client.token_url).hostname or "")
        try:
            grant = request_token(client)
        except CredentialsError as exc:
            # The endpoint's 401 is not the caller's: a gateway's failure, in its words.
            raise CredentialsError(exc.message, status=502) from exc
        out.secrets = (*out.secrets, grant.access_token)
        expiry = (
            "" if grant.expires_at is None else f", expires {grant.expires_at:%Y-%m-%dT%H:%M:%SZ}"
        )
        out.detail = f"{call} {endpoint}: access token for the task{expiry}"
    if grant.refresh_token is not None and grant.refresh_token != client.refresh_token:
        store_rotated(service, teamspace, credential, grant.refresh_token)
    return AccessCredential(
        credential_type=credential.credential_type,
        id=credential.id,
        name=credential.name,
        provider=CloudProvider.GENERIC,
        created_at=credential.created_at,
        updated_at=credential.updated_at,
        allowed_in_tasks=credential.allowed_in_tasks,
        active=credential.active,
        token=Token(bearer=BearerToken(token=grant.access_token)),
        expires_at=grant.expires_at,
        description=credential.description,
    )
