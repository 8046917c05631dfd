"""Which clients see tilecred's own kinds of credential.

TileDB's client decodes a credential into TileDB's models, which have no room
for tilecred's kinds (provider GENERIC, an Azure service principal, a
Databricks personal access token): such a credential would come out wrong or
not at all. So ``/v4`` answers leave them out, unless the client says, with
one request header, that it reads every kind. tilecred's client always does.
"""

from __future__ import annotations

from .._models import CONTAINERS, EXTENSION_MEMBERS, AccessCredential

__all__ = ["ALL_KINDS", "KINDS_ENVIRON", "KINDS_HEADER", "extension_kind", "knows_every_kind"]

# The header, and the one value that means "every kind" (compared case-insensitively).
KINDS_HEADER = "X-Tilecred-Kinds"
ALL_KINDS = "all"
# Where WSGI puts it.
KINDS_ENVIRON = "HTTP_" + KINDS_HEADER.upper().replace("-", "_")


def knows_every_kind(value: str | None) -> bool:
    """Whether the header's value says the client reads tilecred's kinds."""
    return value is not None and value.strip().lower() == ALL_KINDS


def extension_kind(credential: AccessCredential) -> str | None:
    """``"credential.basic"`` when the credential holds one of tilecred's kinds, else None."""
    for container in CONTAINERS:
        held = getattr(credential, container)
        if held is None:
            continue
        for member in held.__struct_fields__:
            if getattr(held, member) is not None and (container, member) in EXTENSION_MEMBERS:
                return f"{container}.{member}"
    return None
