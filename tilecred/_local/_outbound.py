"""Calls out to a credential's own service, made by tilecred for the store's owner.

A live verification (``verify_credential(name, live=True)``) and, on
``tilecred serve``, an OAuth exchange open a stored secret and send it to
the service it is for, never to the caller. Both backends come here, so the
records are the same: the opening (its action's record, written in the
transaction that opens the secret) and then the call itself (``outbound``:
what was called where, and who the service said the caller is, or its
refusal). The host is checked, and a refused one recorded, before the
secret is opened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import msgspec

from .._models import Credential, CredentialUpdateRequest, iter_secrets
from ._audit import AuditEntry, audited

if TYPE_CHECKING:
    from .._live import AllowHost, LiveVerification
    from .._models import AccessCredential
    from ._engine import Connection
    from ._records import TeamspaceRecord
    from ._service import StoreBackend

__all__ = ["store_rotated", "verify_stored_live"]


def verify_stored_live(
    service: StoreBackend,
    name: str,
    teamspace: TeamspaceRecord | None,
    entry: AuditEntry,
    *,
    allow: AllowHost,
    check: Callable[[Connection], None] | None = None,
) -> LiveVerification:
    """Verify the stored credential ``name`` against its service (both records audited).

    Raises:
        NotFoundError: no such credential.
        ConfigurationError: its kind has no live verification; nothing opened.
        PermissionDeniedError: ``allow`` refused the host; nothing opened or sent.
        VerificationFailedError: the service refused it.
    """
    from .._live import describe_call, verify_live  # loads on first use

    call, endpoint = describe_call(service.get(name, teamspace))
    entry.detail = f"{call} {endpoint}"
    out = service.entry("outbound", name, entry.teamspace)
    out.detail = entry.detail
    with audited(service.store, out):
        allow(_host(endpoint))
        credential = service.use(name, teamspace, entry, check=check, gated=False)
        out.credential_id = entry.credential_id
        out.secrets = tuple(iter_secrets(credential))
        result = verify_live(
            credential,
            allow=allow,
            rotated=lambda new: store_rotated(service, teamspace, credential, new),
        )
        who = result.identity or "accepted"
        out.detail = f"{call} {endpoint}: {who} in {result.elapsed:.3f} s"
    return result


def store_rotated(
    service: StoreBackend,
    teamspace: TeamspaceRecord | None,
    credential: AccessCredential,
    refresh_token: str,
) -> None:
    """Store back a refresh token the OAuth endpoint replaced (the old one no
    longer works): an audited update by tilecred itself, whoever asked."""
    client = None if credential.credential is None else credential.credential.oauth
    if client is None:
        return
    fresh = msgspec.structs.replace(client, refresh_token=refresh_token)
    request = CredentialUpdateRequest(credential=Credential(oauth=fresh))
    entry = service.entry("update", credential.name, None if teamspace is None else teamspace.name)
    entry.detail = "credential.oauth refresh_token rotated by the token endpoint"
    entry.secrets = tuple(iter_secrets(request))
    with audited(service.store, entry):
        service.store.update_credential(
            service.workspace_id, None if teamspace is None else teamspace.id, credential.name,
            request,
            audit=entry, hands_out=True,
        )  # fmt: skip


def _host(endpoint: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(endpoint).hostname or ""
