"""What every kind's forms share: the refusal of a form that does not apply,
and the 0600 files some tools need a secret in.
"""

from __future__ import annotations

import datetime
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from .._errors import CredentialsError
from .._masking import register
from .._models import AccessCredential

if TYPE_CHECKING:
    from .._keydirs import KeyDirectory

__all__ = ["FORMS", "Forms", "Resolver", "SecretFiles", "use_error"]

# Looks up another credential by name (with its secrets) through the same
# client and gate: how a role is assumed with a key that is itself stored.
Resolver = Callable[[str], AccessCredential]

# The forms, by method name; the docs' table has one column per form.
FORMS = ("env", "storage_options", "tiledb_config", "boto3_session", "url", "headers", "auth")


# Why the forms of logins and tokens do not apply to a cloud's keys, unless a kind says.
_NOT_APPLICABLE = {
    "url": "it is not a login to a service (url() is for basic logins)",
    "headers": "it is not sent in an HTTP header (headers() is for tokens and OAuth clients)",
    "auth": "it is not sent in an HTTP header (auth() is for tokens and OAuth clients)",
}


def use_error(name: str, message: str) -> CredentialsError:
    """A failure to use credential ``name``, said in one line."""
    return CredentialsError(message, action="use credential", name=name)


class SecretFiles:
    """Files holding a secret, 0600 in a 0700 directory of their own.

    The directory is made on the first write and removed, whole, by
    ``remove()``: a tool that copied a file beside ours leaves nothing either.
    """

    def __init__(self) -> None:
        self._dir: KeyDirectory | None = None
        self._paths: dict[str, str] = {}
        self._lock = threading.Lock()
        self._removed = False

    def write(self, filename: str, text: str) -> str:
        """The path of ``filename`` holding ``text``; written once per access.

        Raises:
            CredentialsError: the access was closed, possibly by another
                thread after this one checked it was open; nothing is written.
        """
        with self._lock:
            if self._removed:
                # Checked under the lock that remove() takes: a file written
                # now would outlive the close that should have removed it.
                raise CredentialsError("the access is closed; call use_credential again")
            if filename in self._paths:
                return self._paths[filename]
            if self._dir is None:
                # Named for this process and locked while it lives: a later
                # `tilecred exec` removes it if this process is killed.
                from .._keydirs import KeyDirectory  # `import tilecred` stays cheap

                self._dir = KeyDirectory()
            path = os.path.join(self._dir.path, filename)
            # O_EXCL: never write through a file (or link) someone else put there.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as file:
                file.write(text)
            self._paths[filename] = path
            return path

    @property
    def directory(self) -> str | None:
        """The directory, once something has been written."""
        return None if self._dir is None else self._dir.path

    def remove(self) -> None:
        """Remove every file written, and their directory."""
        with self._lock:
            self._removed = True
            directory, self._dir = self._dir, None
            self._paths.clear()
        if directory is not None:
            directory.remove()


class Forms:
    """One kind of credential in each form its provider's tools take.

    A subclass overrides the forms that apply and says, in ``not_applicable``,
    why each of the others does not; the refusal quotes that reason.
    """

    #: The kind, as a sentence names it ("an AWS access key").
    kind: ClassVar[str] = "this kind of credential"
    #: Form name -> why it does not apply to this kind.
    not_applicable: ClassVar[dict[str, str]] = {}
    #: Whether ``env(prefix=...)`` names the variables (logins and tokens).
    takes_prefix: ClassVar[bool] = False

    def __init__(
        self, name: str, member: Any, files: SecretFiles, resolve: Resolver | None
    ) -> None:
        self.name = name
        self.member = member
        self.files = files
        self.resolve = resolve
        # Secrets a form made or fetched, beyond the credential's own fields.
        self.derived: set[str] = set()

    def secret(self, value: str) -> str:
        """``value``, marked as a secret this form hands out: masked wherever it shows.

        For a secret stored in no ``Secret()`` field: fetched (STS keys),
        derived (a parsed key file's private key) or exchanged (an OAuth
        token). The credential's own secret fields need no call.
        """
        register((value,))
        self.derived.add(value)
        return value

    def refuse(self, form: str) -> CredentialsError:
        """The error for a form that does not apply to this kind."""
        why = self.not_applicable.get(form) or _NOT_APPLICABLE.get(
            form, "its provider's tools do not take one"
        )
        return use_error(self.name, f"{form}() does not apply to {self.kind}: {why}")

    def check_usable(self) -> None:
        """Raise when the secret is known to no longer work (an expired SAS)."""

    @property
    def expires_at(self) -> datetime.datetime | None:
        """When the secret stops working, where that is known."""
        return None

    def env(self) -> dict[str, str]:
        """Environment variables; see the docs' table per kind."""
        raise self.refuse("env")

    def url(self) -> str:
        """A URL that carries the login (a database URL)."""
        raise self.refuse("url")

    def headers(self) -> dict[str, str]:
        """HTTP headers that carry the secret."""
        raise self.refuse("headers")

    def storage_options(self) -> dict[str, Any]:
        """fsspec keyword arguments."""
        raise self.refuse("storage_options")

    def tiledb_config(self) -> dict[str, str]:
        """TileDB configuration parameters."""
        raise self.refuse("tiledb_config")

    def boto3_session(self, *, source: str | None, duration_seconds: int | None) -> Any:
        """A boto3 session."""
        raise self.refuse("boto3_session")
