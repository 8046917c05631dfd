"""The client: checks arguments, picks the backend, reports failures clearly."""

from __future__ import annotations

import logging
import threading
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import msgspec

from ._arguments import (
    check_audit_limit,
    check_bool,
    check_credential_type,
    check_description,
    check_name,
    check_page,
    check_provider,
    check_providers,
    check_purpose,
    check_secret,
    check_since,
    check_teamspace,
)
from ._backend import (
    DEFAULT_AUDIT_LIMIT,
    MAX_AUDIT_LIMIT,
    AuditQuery,
    Backend,
    ListQuery,
    Page,
)
from ._client_tokens import TokenMethods
from ._config import Settings, resolve_settings
from ._errors import (
    CredentialsError,
    InvalidArgumentError,
    SecretExpiryWarning,
    VerificationFailedError,
)
from ._failure import _Failure
from ._models import (
    AccessCredential,
    AccessCredentialRole,
    Association,
    AuditRecord,
    CloudProvider,
    Credential,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
    Token,
    UsageSummary,
)
from ._pager import Pager
from ._targets import check_target, check_use_choice

if TYPE_CHECKING:
    import datetime
    from pathlib import Path

    from ._access import CredentialAccess
    from ._live import LiveVerification

__all__ = ["Client"]

logger = logging.getLogger("tilecred")

ProviderArg = CloudProvider | str
ProvidersArg = ProviderArg | Iterable[ProviderArg] | None
SecretArg = Any  # a Struct or a JSON-like dict; checked at run time


def _warn_if_expiring(what: str, token: Token | None) -> None:
    """Warn (SecretExpiryWarning) when a secret declares an expiry within 7 days.

    A secret already past it failed verification before this is reached.
    """
    if token is None or token.azure is None:
        return  # only a SAS token declares its expiry
    from ._access._expiry import declared_expiry, expiry_warning

    message = expiry_warning(what, declared_expiry(token))
    if message is not None:
        warnings.warn(message, SecretExpiryWarning, stacklevel=3)


class Client(TokenMethods):
    """One configuration and one connection pool (or local store).

    The module functions use a default client; make your own to talk to two
    services at once. Every argument is optional: what is not given comes from
    TileDB's environment variables, then TileDB's profile file, then defaults.
    With no host, token or user anywhere, calls go to the local store.

    Parameters:
        host: the REST server, e.g. ``https://api.tiledb.com``.
        token: an API token, sent as ``X-TILEDB-REST-API-KEY``.
        username: for Basic auth, with ``password``.
        password: for Basic auth.
        workspace: the workspace name or ``ws_…`` id.
        teamspace: the teamspace a call that names none goes to (name or id);
            not given: ``TILECRED_TEAMSPACE``, then ``teamspace`` in the profile;
            ``""`` for none (workspace level), whatever they say.
        verify_ssl: verify TLS certificates (default ``True``).
        ca_file: a CA bundle to verify against.
        proxy: the proxy every request goes through (``http://[user:password@]host:port``);
            ``""`` for none. Not given: ``HTTPS_PROXY``, ``HTTP_PROXY``,
            ``ALL_PROXY`` and ``NO_PROXY`` from the environment.
        timeout: seconds a whole call may take, retries included (default 30).
        retries: how many times a failed attempt may be repeated (default 3).
        profile: the TileDB profile to read (default: ``default``).
        local: use the local store even if a host is configured.
        home: the local store's directory (implies ``local``).

    The configuration is read and checked here, so a wrong setting fails at
    construction, before any call. A closed client refuses further calls.

    Raises:
        ConfigurationError: the configuration cannot be read, or a setting is wrong.

    Examples:
        >>> with Client(host="api.example.com", token="tc-ws_abc123-SECRET") as client:
        ...     client.settings.describe()["token"], client.settings.workspace
        ('tc-ws_abc123-***', 'ws_abc123')
    """

    def __init__(
        self,
        *,
        host: str | None = None,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        workspace: str | None = None,
        teamspace: str | None = None,
        verify_ssl: bool | None = None,
        ca_file: str | None = None,
        proxy: str | None = None,
        timeout: float | None = None,
        retries: int | None = None,
        profile: str | None = None,
        local: bool | None = None,
        home: str | Path | None = None,
    ) -> None:
        self._explicit: dict[str, Any] = {
            "host": host,
            "token": token,
            "username": username,
            "password": password,
            "workspace": workspace,
            "teamspace": teamspace,
            "verify_ssl": verify_ssl,
            "ca_file": ca_file,
            "proxy": proxy,
            "timeout": timeout,
            "retries": retries,
            "profile": profile,
            "local": local,
            "home": home,
        }
        self._backend: Backend | None = None
        self._closed = False
        self._lock = threading.Lock()
        # Read and checked now: a wrong setting fails here, not on the first call.
        self._settings = resolve_settings(self._explicit)

    def __repr__(self) -> str:
        where = self._settings.host or self._settings.home
        closed = ", closed" if self._closed else ""
        return f"Client(backend={self._settings.backend!r}, at={str(where)!r}{closed})"

    @property
    def settings(self) -> Settings:
        """The resolved configuration: where calls go and why."""
        return self._settings

    def _get_backend(self) -> Backend:
        backend = self._backend
        if backend is not None:
            return backend
        settings = self._settings
        with self._lock:
            if self._closed:
                # Reopening silently would leak the pool or store handle that
                # close() was called to release.
                raise CredentialsError("this client is closed; make a new Client")
            if self._backend is None:
                if settings.backend == "http":
                    from ._remote import HttpBackend

                    self._backend = HttpBackend(settings)
                else:
                    from ._local import LocalBackend

                    self._backend = LocalBackend(settings)
                logger.debug("tilecred calls go to %s", settings.describe())
            return self._backend

    def _teamspace(self, teamspace: object) -> str | None:
        """The teamspace a call goes to: the one it names, else the configured default."""
        if teamspace is None:
            return self._settings.teamspace
        return check_teamspace(teamspace)

    def _secrets(self) -> list[str]:
        """The token and password, wherever they came from, to scrub from errors."""
        found = [self._explicit["token"], self._explicit["password"]]
        found += [self._settings.token, self._settings.password]
        if self._settings.proxies is not None:
            found += self._settings.proxies.secrets()
        return [secret for secret in found if secret]

    def close(self) -> None:
        """Release the connection pool or store handle; later calls are refused."""
        with self._lock:
            self._closed = True
            backend, self._backend = self._backend, None
        if backend is not None:
            backend.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the six operations -----------------------------------------------------

    def create_credential(
        self,
        name: str,
        provider: ProviderArg,
        *,
        teamspace: object = None,
        provider_default: bool | None = None,
        allowed_in_tasks: bool | None = None,
        credential: Credential | SecretArg = None,
        role: AccessCredentialRole | SecretArg = None,
        token: Token | SecretArg = None,
        description: str | None = None,
        verify_first: bool = False,
        exist_ok: bool = False,
    ) -> None:
        """Store a new credential; see ``tilecred.create_credential``."""
        name = check_name(name)
        ts = self._teamspace(teamspace)
        cloud = check_provider(provider)
        cred, rol, tok = check_secret(cloud, credential, role, token, required=True)
        request = CredentialCreateRequest(
            name=name,
            provider=cloud,
            provider_default=check_bool(provider_default, "provider_default"),
            allowed_in_tasks=check_bool(allowed_in_tasks, "allowed_in_tasks"),
            credential=cred,
            role=rol,
            token=tok,
            description=check_description(description),
        )
        first = check_bool(verify_first, "verify_first")
        again = bool(check_bool(exist_ok, "exist_ok"))
        with _Failure(self, "create credential", name, ts, request):
            if first:
                self._verify_secret(name, ts, request, cloud, "stored")
            self._get_backend().create(request, ts, exist_ok=again)

    def get_credential(self, name: str, *, teamspace: object = None) -> AccessCredential:
        """Look a credential up by name; see ``tilecred.get_credential``."""
        name = check_name(name)
        ts = self._teamspace(teamspace)
        with _Failure(self, "get credential", name, ts):
            return self._get_backend().get(name, ts)

    def list_credentials(
        self,
        teamspace: object = None,
        page: int | None = 1,
        per_page: int | None = None,
        *,
        provider: ProvidersArg = None,
        exclude_provider: ProvidersArg = None,
        credential_type: CredentialType | str | None = None,
        verify: bool | None = None,
    ) -> Pager[AccessCredential]:
        """List credentials lazily; see ``tilecred.list_credentials``."""
        ts = self._teamspace(teamspace)
        first, size = check_page(page, per_page)
        include = check_providers(provider, "provider")
        exclude = check_providers(exclude_provider, "exclude_provider")
        query = ListQuery(
            teamspace=ts,
            provider=None if include is None else tuple(include),
            exclude_provider=None if exclude is None else tuple(exclude),
            credential_type=check_credential_type(credential_type),
            verify=check_bool(verify, "verify"),
        )

        def fetch(number: int, size: int | None) -> Page[AccessCredential]:
            with _Failure(self, "list credentials", None, ts):
                return self._get_backend().list_page(query, number, size)

        return Pager(fetch, first, size)

    def update_credential(
        self,
        cred_name: str,
        *,
        teamspace: object = None,
        name: str | None = None,
        provider_default: bool | None = None,
        provider: ProviderArg | None = None,
        allowed_in_tasks: bool | None = None,
        credential: Credential | SecretArg = None,
        role: AccessCredentialRole | SecretArg = None,
        token: Token | SecretArg = None,
        description: str | None = None,
        verify_first: bool = False,
    ) -> None:
        """Change a credential; see ``tilecred.update_credential``."""
        cred_name = check_name(cred_name, "cred_name")
        ts = self._teamspace(teamspace)
        new_name = None if name is None else check_name(name)
        cloud = None if provider is None else check_provider(provider)
        cred, rol, tok = check_secret(cloud, credential, role, token, required=False)
        request = CredentialUpdateRequest(
            name=new_name,
            provider_default=check_bool(provider_default, "provider_default"),
            provider=cloud,
            allowed_in_tasks=check_bool(allowed_in_tasks, "allowed_in_tasks"),
            credential=cred,
            role=rol,
            token=tok,
            description=check_description(description),
        )
        if all(getattr(request, field) is None for field in request.__struct_fields__):
            raise InvalidArgumentError(
                f"nothing to update for credential {cred_name!r}: give at least one change"
            )
        first = check_bool(verify_first, "verify_first")
        if first and cred is None and rol is None and tok is None:
            raise InvalidArgumentError(
                f"verify_first checks a new secret before it replaces credential "
                f"{cred_name!r}'s: give credential, role or token"
            )
        with _Failure(self, "update credential", cred_name, ts, request):
            if first:
                provider = request.provider or self._get_backend().get(cred_name, ts).provider
                self._verify_secret(cred_name, ts, request, provider, "changed")
            self._get_backend().update(cred_name, request, ts)

    def _verify_secret(
        self,
        cred_name: str,
        teamspace: str | None,
        request: CredentialCreateRequest | CredentialUpdateRequest,
        provider: CloudProvider,
        nothing_was: str,
    ) -> None:
        """Verify a create's or an update's secret where calls go, before it is sent.

        Two requests, not one transaction: what is verified is the secret in
        hand, so a change made by someone else in between cannot make it pass
        wrongly (a provider changed meanwhile is refused by the update itself).
        """
        backend = self._get_backend()
        check = CredentialsVerifyRequest(
            name=cred_name,  # so the audit log files the verification under this credential
            provider=provider,
            credential=request.credential,
            role=request.role,
            token=request.token,
        )
        try:
            backend.verify(check, teamspace)
        except CredentialsError as exc:
            if exc.status not in (400, 422):
                raise
            raise VerificationFailedError(
                f"the new secret failed verification, so nothing was {nothing_was}: {exc.message}",
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
            ) from exc
        _warn_if_expiring(f"the new secret of credential {cred_name!r}", request.token)

    def delete_credential(self, name: str, *, teamspace: object = None) -> None:
        """Delete a credential; see ``tilecred.delete_credential``."""
        name = check_name(name)
        ts = self._teamspace(teamspace)
        with _Failure(self, "delete credential", name, ts):
            self._get_backend().delete(name, ts)

    def verify_credential(
        self,
        name: str,
        provider: ProviderArg | None = None,
        *,
        teamspace: object = None,
        provider_default: bool | None = None,
        allowed_in_tasks: bool | None = None,
        credential: Credential | SecretArg = None,
        role: AccessCredentialRole | SecretArg = None,
        token: Token | SecretArg = None,
        live: bool = False,
    ) -> LiveVerification | None:
        """Check a credential before storing it, or a stored one against its
        service (``live``); see ``tilecred.verify_credential``."""
        name = check_name(name)
        ts = self._teamspace(teamspace)
        if check_bool(live, "live"):
            return self._verify_live(
                name, provider, ts, provider_default, allowed_in_tasks, credential, role, token
            )
        if provider is None:
            raise InvalidArgumentError(
                "provider is required to verify a credential that is not stored; "
                "live=True verifies a stored one by name"
            )
        cloud = check_provider(provider)
        cred, rol, tok = check_secret(cloud, credential, role, token, required=True)
        request = CredentialsVerifyRequest(
            name=name,
            provider=cloud,
            provider_default=check_bool(provider_default, "provider_default"),
            allowed_in_tasks=check_bool(allowed_in_tasks, "allowed_in_tasks"),
            credential=cred,
            role=rol,
            token=tok,
        )
        with _Failure(self, "verify credential", name, ts, request):
            self._get_backend().verify(request, ts)
        _warn_if_expiring(f"the secret of credential {name!r}", request.token)
        return None

    def _verify_live(
        self, name: str, provider: object, teamspace: str | None, *given: object
    ) -> LiveVerification:
        """The stored credential ``name`` verified against its own service."""
        if any(value is not None for value in given):
            raise InvalidArgumentError(
                "live=True verifies the stored credential by name: provider_default, "
                "allowed_in_tasks, credential, role and token do not apply"
            )
        cloud = None if provider is None else check_provider(provider)
        with _Failure(self, "verify credential live", name, teamspace):
            backend = self._get_backend()
            if cloud is not None:
                stored = backend.get(name, teamspace)
                if stored.provider != cloud:
                    raise InvalidArgumentError(
                        f"credential {name!r} is a {stored.provider.value} credential, "
                        f"not {cloud.value}"
                    )
            return backend.verify_live(name, teamspace)

    # -- the lifecycle ------------------------------------------------------------------

    def deactivate_credential(self, name: str, *, teamspace: object = None) -> AccessCredential:
        """Stop a credential being used; see ``tilecred.deactivate_credential``."""
        return self._set_active(name, teamspace, active=False)

    def activate_credential(self, name: str, *, teamspace: object = None) -> AccessCredential:
        """Let a deactivated credential be used again; see ``tilecred.activate_credential``."""
        return self._set_active(name, teamspace, active=True)

    def _set_active(self, name: str, teamspace: object, *, active: bool) -> AccessCredential:
        name = check_name(name)
        ts = self._teamspace(teamspace)
        with _Failure(self, "activate credential" if active else "deactivate credential", name, ts):
            return self._get_backend().set_active(name, ts, active)

    # -- using a credential, and the audit log --------------------------------------

    def use_credential(
        self,
        name: str | None = None,
        *,
        url: str | None = None,
        target: str | None = None,
        provider: ProviderArg | None = None,
        teamspace: object = None,
        purpose: str | None = None,
    ) -> CredentialAccess:
        """A credential's secrets, for code that uses them; see ``tilecred.use_credential``."""
        from ._access import CredentialAccess

        chosen = check_use_choice(name, url, target, provider)
        ts = self._teamspace(teamspace)
        why = check_purpose(purpose)
        if chosen is None:
            name = check_name(name)
            credential = self._use(name, ts, why)
        else:
            how, value = chosen
            with _Failure(self, f"use the credential for {how} {value!r}", None, ts):
                credential = self._get_backend().use_by(how, value, ts, why)

        def resolve(other: str) -> AccessCredential:
            # Another credential (a key to assume a role with): same scope, same gate.
            return self._use(check_name(other), ts, why)

        def rotated(refresh_token: str) -> None:
            # The OAuth token endpoint replaced the refresh token: the old one
            # no longer works, so the new one is stored (an audited update).
            held = credential.credential
            client = None if held is None else held.oauth
            if client is None:
                return
            fresh = msgspec.structs.replace(client, refresh_token=refresh_token)
            request = CredentialUpdateRequest(credential=Credential(oauth=fresh))
            used = credential.name  # the one a URL, target or provider chose, too
            with _Failure(self, "store the rotated refresh token of credential", used, ts):
                self._get_backend().update(used, request, ts)

        return CredentialAccess(credential, resolve=resolve, rotated=rotated)

    # -- associations ---------------------------------------------------------------

    def associate_credential(
        self, name: str, target: str, *, teamspace: object = None, default: bool = False
    ) -> Association:
        """Associate a credential with a target; see ``tilecred.associate_credential``."""
        name = check_name(name)
        aim = check_target(target)
        ts = self._teamspace(teamspace)
        default = bool(check_bool(default, "default"))
        with _Failure(self, "associate credential", name, ts):
            return self._get_backend().associate(name, aim, ts, default)

    def dissociate_credential(self, name: str, target: str, *, teamspace: object = None) -> None:
        """Remove an association; see ``tilecred.dissociate_credential``."""
        name = check_name(name)
        aim = check_target(target)
        ts = self._teamspace(teamspace)
        with _Failure(self, "dissociate credential", name, ts):
            self._get_backend().dissociate(name, aim, ts)

    def list_associations(
        self, name: str | None = None, *, target: str | None = None, teamspace: object = None
    ) -> list[Association]:
        """List associations; see ``tilecred.list_associations``."""
        checked = None if name is None else check_name(name)
        aim = None if target is None else check_target(target)
        ts = self._teamspace(teamspace)
        with _Failure(self, "list the associations of credential", checked, ts):
            return self._get_backend().list_associations(checked, aim, ts)

    def _use(self, name: str, teamspace: str | None, purpose: str | None) -> AccessCredential:
        with _Failure(self, "use credential", name, teamspace):
            return self._get_backend().use(name, teamspace, purpose)

    def audit(
        self,
        *,
        credential: str | None = None,
        since: datetime.datetime | datetime.timedelta | None = None,
        limit: int | None = None,
    ) -> list[AuditRecord]:
        """Read the audit log; see ``tilecred.read_audit``."""
        query = AuditQuery(
            credential=None if credential is None else check_name(credential, "credential"),
            since=check_since(since),
            limit=check_audit_limit(limit, DEFAULT_AUDIT_LIMIT, MAX_AUDIT_LIMIT),
        )
        with _Failure(self, "read the audit log", None, None):
            return self._get_backend().audit(query)

    def audit_summary(
        self,
        credential: str,
        *,
        teamspace: object = None,
        since: datetime.datetime | datetime.timedelta | None = None,
    ) -> list[UsageSummary]:
        """Who uses a credential, per actor; see ``tilecred.audit_summary``."""
        name = check_name(credential, "credential")
        ts = self._teamspace(teamspace)
        start = check_since(since)
        with _Failure(self, "summarize the uses of credential", name, ts):
            return self._get_backend().audit_summary(name, ts, start)
