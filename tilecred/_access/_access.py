"""``CredentialAccess``: what ``use_credential`` returns."""

from __future__ import annotations

import datetime
import threading
from collections.abc import Callable, Mapping
from typing import Any

from .._errors import CredentialsError
from .._masked_dict import MaskedDict, handed_out
from .._masking import register
from .._models import AccessCredential, iter_secrets
from ._aws import AWSKeyForms, AWSRoleForms, GCPHmacForms
from ._azure import AzureEntraIDForms, AzureKeyForms, AzureSASForms, AzureServicePrincipalForms
from ._base import Forms, Resolver, SecretFiles, use_error
from ._databricks import DatabricksForms, DatabricksPATForms
from ._gcp import GCPServiceAccountForms
from ._generic import BasicForms, BearerForms, OAuthForms
from ._headers import HeaderAuth
from ._snowflake import SnowflakeForms

__all__ = ["KINDS", "CredentialAccess", "Resolver"]

# (container, member) of a stored credential -> its forms. Every member of
# every container a credential can hold is here (a test checks it).
KINDS: dict[tuple[str, str], type[Forms]] = {
    ("credential", "aws"): AWSKeyForms,
    ("credential", "azure"): AzureKeyForms,
    ("credential", "gcp"): GCPHmacForms,
    ("role", "aws"): AWSRoleForms,
    ("token", "azure"): AzureSASForms,
    ("token", "azure_entra_id"): AzureEntraIDForms,
    ("token", "azure_entra_id_task"): AzureEntraIDForms,
    ("token", "gcp"): GCPServiceAccountForms,
    ("token", "snowflake"): SnowflakeForms,
    ("token", "databricks"): DatabricksForms,
    ("credential", "azure_service_principal"): AzureServicePrincipalForms,
    ("credential", "basic"): BasicForms,
    ("credential", "oauth"): OAuthForms,
    ("token", "bearer"): BearerForms,
    ("token", "databricks_pat"): DatabricksPATForms,
}

# Stores a refresh token the OAuth token endpoint rotated (the credential's
# name is known to whoever made the hook).
Rotated = Callable[[str], None]


def _forms_for(
    credential: AccessCredential,
    files: SecretFiles,
    resolve: Resolver | None,
    rotated: Rotated | None,
) -> Forms:
    """The forms of the one secret ``credential`` holds."""
    for (container_name, member_name), forms in KINDS.items():
        container = getattr(credential, container_name)
        member = None if container is None else getattr(container, member_name)
        if member is not None:
            if forms is OAuthForms:
                return OAuthForms(credential.name, member, files, resolve, rotated=rotated)
            return forms(credential.name, member, files, resolve)
    raise use_error(credential.name, "it holds no secret (credential, role or token) to use")


class CredentialAccess:
    """One credential's secrets, ready for the library that needs them.

    Made by ``use_credential``; a context manager. ``close()`` removes
    anything it wrote (a GCP key file, say); using it after that is an error.

    Parameters:
        credential: the credential, secret fields filled.
        resolve: looks up another credential by name, for a role assumed
            with a key that is itself stored in tilecred.
        rotated: stores the new refresh token an OAuth client's token
            endpoint sent in place of the stored one.
    """

    def __init__(
        self,
        credential: AccessCredential,
        *,
        resolve: Resolver | None = None,
        rotated: Rotated | None = None,
    ) -> None:
        self._credential = credential
        # Handed out from here on (``.credential`` holds them): masked in this
        # process's logs and notebook output from now on, even after close().
        self._secrets = frozenset(iter_secrets(credential))
        register(self._secrets)
        self._resolve = resolve
        self._closed = False
        self._files = SecretFiles()
        self._cleanups: list[Callable[[], None]] = [self._files.remove]
        self._lock = threading.Lock()
        self._forms = _forms_for(credential, self._files, resolve, rotated)

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
        """When the secret stops working, where that is known.

        An Azure SAS token's ``se=``; for an AWS role, the expiry of the STS
        credentials fetched last, and for an OAuth client that of the access
        token fetched last (``None`` before the first fetch). ``None`` for a
        key, which does not expire on its own.
        """
        return self._forms.expires_at

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

    def _ready(self) -> Forms:
        self._check_open()
        self._forms.check_usable()
        return self._forms

    def _hand_out(self, form: Mapping[str, Any]) -> MaskedDict[Any]:
        # Every mapping a form makes leaves through here: a dict whose
        # displays mask the credential's secrets and those the form derived.
        return handed_out(form, self._secrets | self._forms.derived)

    def env(self, prefix: str | None = None) -> dict[str, str]:
        """Environment variables each provider's own tools read.

        Parameters:
            prefix: for a basic login or a bearer token, name the variables
                ``PREFIX_USER``, ``PREFIX_PASSWORD``, ``PREFIX_HOST``,
                ``PREFIX_PORT``, ``PREFIX_DATABASE`` (a token:
                ``PREFIX_TOKEN``, ``PREFIX_URL``) instead of the scheme's own.

        Returns:
            Variable names to values; add them to a child process's
            environment (``{**os.environ, **access.env()}``). A ``dict``
            whose displays show ``'***'`` for each secret.

        Raises:
            CredentialsError: the form does not apply to this kind, the
                secret expired, or the access is closed.
        """
        forms = self._ready()
        if prefix is None:
            return self._hand_out(forms.env())
        if not forms.takes_prefix:
            raise use_error(
                self._credential.name,
                f"env(prefix=...) is for basic logins and bearer tokens, not {forms.kind}",
            )
        return self._hand_out(forms.env(prefix))  # type: ignore[call-arg]

    def url(self) -> str:
        """A basic login as one URL: ``scheme://user:password@host:port/database?params``.

        Every part is percent-encoded and no driver is named in the scheme,
        so ``psycopg.connect(access.url())`` works as it is.

        Raises:
            CredentialsError: the form does not apply to this kind (or the
                login has no scheme or host), or the access is closed.
        """
        forms = self._ready()
        url = forms.url()
        # The URL holds the password percent-encoded: that spelling is masked too.
        register(forms.derived)
        return url

    def headers(self) -> dict[str, str]:
        """The HTTP headers that carry a bearer token or an OAuth access token.

        A bearer token goes in ``Authorization: Bearer <token>``, or in the
        header it names. An OAuth client's access token is fetched from its
        ``token_url`` on the first call and again 60 seconds before it expires.

        Raises:
            CredentialsError: the form does not apply to this kind, the token
                endpoint refused, or the access is closed.
        """
        return self._hand_out(self._ready().headers())

    def auth(self) -> HeaderAuth:
        """An ``auth=`` for requests and httpx that sets :meth:`headers` on each request.

        Raises:
            CredentialsError: the form does not apply to this kind, or the
                access is closed.
        """
        forms = self._ready()
        if type(forms).headers is Forms.headers:
            raise forms.refuse("auth")
        # Through this access's headers(): closing the access stops the auth too.
        return HeaderAuth(self.headers)

    def storage_options(self) -> dict[str, Any]:
        """Keyword arguments for fsspec: s3fs, adlfs or gcsfs, by provider.

        A ``dict`` (nested ones too) whose displays show ``'***'`` for each secret.

        Raises:
            CredentialsError: the form does not apply to this kind, the
                secret expired, or the access is closed.
        """
        return self._hand_out(self._ready().storage_options())

    def tiledb_config(self) -> dict[str, str]:
        """TileDB configuration parameters (``vfs.s3.*``, ``vfs.azure.*``, ``vfs.gcs.*``).

        A ``dict`` whose displays show ``'***'`` for each secret.

        Raises:
            CredentialsError: the form does not apply to this kind, the
                secret expired, or the access is closed.
        """
        return self._hand_out(self._ready().tiledb_config())

    def boto3_session(
        self, *, source: str | None = None, duration_seconds: int | None = None
    ) -> Any:
        """A ``boto3.Session`` (AWS keys and roles, GCP HMAC keys; needs ``tilecred[aws]``).

        For a key, a session on that key whose S3 clients go to its endpoint.
        For a role, a session on credentials from STS AssumeRole (with the
        role's external id), refreshed before they expire; made on the first
        call and kept, one per ``source``.

        Parameters:
            source: for a role, the name of a stored AWS key to call STS
                with; by default the caller's own AWS credentials.
            duration_seconds: for a role, how long each set of STS
                credentials lasts (STS's default: one hour).

        Raises:
            ConfigurationError: boto3 is not installed.
            CredentialsError: the form does not apply to this kind, or the
                access is closed.
        """
        return self._ready().boto3_session(source=source, duration_seconds=duration_seconds)
