"""Whether a stored credential is the one a create request would make.

``create_credential(..., exist_ok=True)`` lets a notebook cell run twice: the
second create of an identical credential is not an error. Identical means
the same provider, the same flags and the same secret, compared here, where
the store can open it: the secret is never handed to the caller, and the
secrets are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac

import msgspec

from .._models import AccessCredential, CredentialCreateRequest

__all__ = ["same_credential"]

_CONTAINERS = ("credential", "role", "token")


def _canonical(value: object) -> bytes:
    """One byte string per value: plain data, keys sorted, ``None`` fields left out."""
    return msgspec.json.encode(msgspec.to_builtins(value), order="sorted")


def same_credential(stored: AccessCredential, request: CredentialCreateRequest) -> bool:
    """Whether ``stored`` (its secret opened) is what ``request`` asks to create.

    Flags the request leaves unset count as their defaults (``False``); so does
    an unset description (none).
    """
    if stored.provider != request.provider:
        return False
    if bool(stored.provider_default) != bool(request.provider_default):
        return False
    if bool(stored.allowed_in_tasks) != bool(request.allowed_in_tasks):
        return False
    if (stored.description or None) != (request.description or None):
        return False
    return all(
        hmac.compare_digest(
            _canonical(getattr(stored, container)), _canonical(getattr(request, container))
        )
        for container in _CONTAINERS
    )
