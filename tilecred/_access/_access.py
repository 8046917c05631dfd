"""``CredentialAccess``: what ``use_credential`` returns."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable
from typing import Any

from .._errors import CredentialsError
from .._models import AccessCredential

__all__ = ["CredentialAccess", "Resolver"]

# Looks up another credential by name (with its secrets) through the same
# client and gate: how a role is assumed with a key stored in tilecred.
Resolver = Callable[[str], AccessCredential]


class CredentialAccess:
    """One credential's secrets, ready for the library that needs them.

    Made by ``use_credential``; a context manager. ``close()`` removes
    anything it wrote (a GCP key file, say); using it after that is an error.

    Parameters:
        credential: the credential, secret fields filled.
        resolve: looks up another credential by name, for a role assumed
            with a key that is itself stored in tilecred.
    """

    def __init__(self, credential: AccessCredential, *, resolve: Resolver | None = None) -> None:
        self._credential = credential
        self._resolve = resolve
        self._closed = False
        self._cleanups: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        cred = self._credential
        return f"CredentialAccess(name={cred.name!r}, provider={cred.provider.value!r}, {state})"

    @property
    def credential(self) -> AccessCredential:
        """The credential with its secrets (masked whenever it is displayed)."""
        self._check_open()
        return self._credential

    @property
    def expires_at(self) -> datetime.datetime | None:
        """When the secret stops working, where that is known."""
        return None

    def _check_open(self) -> None:
        if self._closed:
            raise CredentialsError(
                f"the access to credential {self._credential.name!r} is closed; "
                "call use_credential again"
            )

    def close(self) -> None:
        """Remove anything this access wrote; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            cleanups, self._cleanups = self._cleanups, []
        for cleanup in reversed(cleanups):
            cleanup()

    def __enter__(self) -> CredentialAccess:
        self._check_open()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        # A forgotten close() must not leave a key file behind.
        if not getattr(self, "_closed", True):
            self.close()

    # The forms: filled in by tilecred._access's provider modules.
    def env(self) -> dict[str, str]:
        """Environment variables each provider's own tools read."""
        raise NotImplementedError

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for fsspec (s3fs, adlfs, gcsfs)."""
        raise NotImplementedError

    def tiledb_config(self) -> dict[str, str]:
        """TileDB configuration parameters (``vfs.s3.*``, ``vfs.azure.*``, ``vfs.gcs.*``)."""
        raise NotImplementedError

    def boto3_session(self, *, source: str | None = None) -> Any:
        """A boto3 session (AWS; needs ``tilecred[aws]``)."""
        raise NotImplementedError
