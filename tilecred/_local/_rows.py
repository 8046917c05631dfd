"""How a credential's secret container becomes table columns, and back.

A request carries one container (``credential``, ``role`` or ``token``) with
one member (``aws``, ``azure``, …). The row keeps the container's kind, the
member's name, the member's public fields as JSON, and its secret fields as
JSON to be sealed. Empty secrets are dropped, never stored.
"""

from __future__ import annotations

import dataclasses
import datetime
from typing import Any

import msgspec

from .._errors import CredentialsError
from .._models import (
    CONTAINERS,
    MEMBER_PROVIDERS,
    CloudProvider,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    _Model,
)

__all__ = ["Secret", "join_secret", "public_container", "the_secret"]

# 422: the request is well formed but its content cannot be used.
UNPROCESSABLE = 422

_ENCODER = msgspec.json.Encoder()
_FIELDS_DECODER = msgspec.json.Decoder(dict[str, Any])
_CONTAINER_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    kind: msgspec.json.Decoder(container) for kind, container in CONTAINERS.items()
}

AnyRequest = CredentialCreateRequest | CredentialUpdateRequest | CredentialsVerifyRequest


@dataclasses.dataclass(frozen=True, slots=True)
class Secret:
    """The one member of a request's one secret container."""

    kind: str
    member: str
    value: _Model

    @property
    def path(self) -> str:
        """Where it sits in a request, for messages: ``role.aws``."""
        return f"{self.kind}.{self.member}"

    @property
    def provider(self) -> CloudProvider:
        """The provider this member belongs to."""
        return MEMBER_PROVIDERS[CONTAINERS[self.kind]][self.member]

    def check_provider(self, provider: CloudProvider) -> None:
        """Raise unless this member belongs to ``provider``."""
        if self.provider is not provider:
            raise CredentialsError(
                f"{self.path} is for provider {self.provider.value}, not {provider.value}",
                status=UNPROCESSABLE,
            )

    def split(self) -> tuple[bytes, bytes | None]:
        """The public fields as JSON, and the non-empty secret fields as JSON."""
        public: dict[str, Any] = msgspec.to_builtins(self.value)
        hidden: dict[str, str] = {}
        for field in type(self.value).__secret_fields__:
            value = public.pop(field, None)
            if value:
                hidden[field] = value
        return _ENCODER.encode(public), (_ENCODER.encode(hidden) if hidden else None)

    def expires_at(self) -> datetime.datetime | None:
        """When the secret itself says it stops working, if it says.

        Only an Azure SAS token declares it (``se=``). A GCP service-account
        key file, a Snowflake key pair, an AWS or HMAC key pair and a
        Databricks secret carry no expiry of their own: ``None``.
        """
        from .._access._expiry import declared_expiry  # `import tilecred` stays cheap

        return declared_expiry(self.container()) if self.kind == "token" else None

    def container(self) -> _Model:
        """The member in its container again: ``AccessCredentialRole(aws=…)``."""
        member: dict[str, Any] = {self.member: self.value}
        return CONTAINERS[self.kind](**member)


def the_secret(request: AnyRequest, *, required: bool) -> Secret | None:
    """The one secret member a request carries; ``None`` if none and not required."""
    given = [kind for kind in CONTAINERS if getattr(request, kind) is not None]
    if len(given) > 1:
        raise CredentialsError(
            f"give only one of credential, role and token, not {' and '.join(given)}",
            status=UNPROCESSABLE,
        )
    if not given:
        if required:
            raise CredentialsError("give one of credential, role or token", status=UNPROCESSABLE)
        return None
    kind = given[0]
    container = getattr(request, kind)
    members = [f for f in container.__struct_fields__ if getattr(container, f) is not None]
    if len(members) != 1:
        found = ", ".join(members) if members else "none"
        raise CredentialsError(
            f"{kind} must hold exactly one member, found {found}", status=UNPROCESSABLE
        )
    return Secret(kind, members[0], getattr(container, members[0]))


def public_container(kind: str, member: str, public: bytes) -> _Model:
    """The container of a member without its secret (get, list): one decode."""
    wrapped = b'{"' + member.encode() + b'":' + public + b"}"
    container: _Model = _CONTAINER_DECODERS[kind].decode(wrapped)
    return container


def join_secret(kind: str, member: str, public: bytes, hidden: bytes | None) -> Secret:
    """Rebuild a member from its stored public fields and (opened) secret fields."""
    if hidden is None:
        container = public_container(kind, member, public)
    else:
        fields = _FIELDS_DECODER.decode(public)
        fields.update(_FIELDS_DECODER.decode(hidden))
        container = msgspec.convert({member: fields}, CONTAINERS[kind])
    return Secret(kind, member, getattr(container, member))
