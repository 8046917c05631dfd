"""Using a credential: its secrets in the form the caller's library takes.

``CredentialAccess`` wraps one ``AccessCredential`` whose secret fields are
filled, and turns it into environment variables, fsspec storage options, a
TileDB configuration or a boto3 session. The forms per provider live in one
module each; this package only assembles them.
"""

from __future__ import annotations

from ._access import CredentialAccess, Resolver

__all__ = ["CredentialAccess", "Resolver"]
