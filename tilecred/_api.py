"""The module functions, over a default client built on first use.

Names, parameters and their order are those of TileDB's
``tiledb.client.credentials``, so code written for it runs unchanged.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Literal, overload

from ._client import Client, ProviderArg, ProvidersArg, SecretArg
from ._models import (
    AccessCredential,
    AccessCredentialRole,
    Association,
    AuditRecord,
    Credential,
    CredentialType,
    Token,
    UsageSummary,
)
from ._pager import Pager

if TYPE_CHECKING:
    import datetime
    from pathlib import Path

    from ._access import CredentialAccess
    from ._live import LiveVerification

__all__ = [
    "activate_credential",
    "associate_credential",
    "audit_summary",
    "configure",
    "create_credential",
    "deactivate_credential",
    "delete_credential",
    "dissociate_credential",
    "get_client",
    "get_credential",
    "list_associations",
    "list_credentials",
    "read_audit",
    "update_credential",
    "use_credential",
    "verify_credential",
]

_default: Client | None = None
_default_lock = threading.Lock()


def get_client() -> Client:
    """The default client the module functions use, built on first use.

    Examples:
        >>> get_client().settings.backend
        'local'
    """
    global _default
    client = _default
    if client is None:
        with _default_lock:
            if _default is None:
                _default = Client()
            client = _default
    return client


def configure(
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
) -> Client:
    """Replace the default client; with no arguments, re-read the configuration.

    Arguments are those of ``Client``; what is not given comes from
    TileDB's environment variables, then its profile file, then defaults (the
    local store). The configuration is read now, so a broken profile fails here.

    Returns:
        The new default client; its ``settings`` say where calls go and why.

    Raises:
        ConfigurationError: the configuration cannot be read.

    Examples:
        >>> configure(local=True).settings.backend
        'local'
    """
    global _default
    client = Client(
        host=host,
        token=token,
        username=username,
        password=password,
        workspace=workspace,
        teamspace=teamspace,
        verify_ssl=verify_ssl,
        ca_file=ca_file,
        proxy=proxy,
        timeout=timeout,
        retries=retries,
        profile=profile,
        local=local,
        home=home,
    )
    with _default_lock:
        old, _default = _default, client
    if old is not None:
        old.close()
    return client


def create_credential(
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
    """Store a new credential under a name.

    Parameters:
        name: the credential's name, unique in its workspace or teamspace.
        provider: a ``CloudProvider`` or its name in any case (``"aws"``).
        teamspace: ``None`` for workspace level, a teamspace name or ``ts_…``
            id, or an object with a ``teamspace_id``.
        provider_default: make this the provider's default credential.
        allowed_in_tasks: let tasks use this credential.
        credential: a key-based secret (``Credential``, or a dict).
        role: a role to assume (``AccessCredentialRole``, or a dict).
        token: a token-based secret (``Token``, or a dict).
        description: what the credential is for, in words (at most 1,000
            characters); shown by get and list. A tilecred addition.
        verify_first: verify the secret (as ``verify_credential`` does) and
            store nothing if it fails. A tilecred addition, keyword-only after
            TileDB's parameters.
        exist_ok: an identical credential already there (same provider, flags
            and secret) is not an error, so a notebook cell can run again;
            one with other fields still is. Compared by the local store or
            ``tilecred serve``, never by sending the secret back. A tilecred
            addition: TileDB's service answers 409 as without it.

    Exactly one of ``credential``, ``role`` and ``token`` must be given.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was sent.
        VerificationFailedError: ``verify_first`` and the secret failed
            verification; nothing was stored.
        ConflictError: the name is already in use (with ``exist_ok``: by a
            credential with other fields or another secret).
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential(
        ...     "prod-s3",
        ...     "aws",
        ...     role={"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}},
        ... )
        >>> get_credential("prod-s3").role
        AccessCredentialRole(aws=AWSRole(role_arn='arn:aws:iam::123456789012:role/demo'))
    """
    get_client().create_credential(
        name,
        provider,
        teamspace=teamspace,
        provider_default=provider_default,
        allowed_in_tasks=allowed_in_tasks,
        credential=credential,
        role=role,
        token=token,
        description=description,
        verify_first=verify_first,
        exist_ok=exist_ok,
    )


def get_credential(name: str, *, teamspace: object = None) -> AccessCredential:
    """Look a credential up by name. Secret values are never returned.

    Parameters:
        name: the credential's name.
        teamspace: as for ``create_credential``.

    Returns:
        The credential, its secret fields ``None``.

    Raises:
        NotFoundError: there is no credential by that name there.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("lake", "AWS", credential={"aws": {
        ...     "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "s3cr3t-value"}})
        >>> cred = get_credential("lake")
        >>> cred.provider, cred.credential.aws.secret_access_key
        (<CloudProvider.AWS: 'AWS'>, None)
    """
    return get_client().get_credential(name, teamspace=teamspace)


def list_credentials(
    teamspace: object = None,
    page: int | None = 1,
    per_page: int | None = None,
    *,
    provider: ProvidersArg = None,
    exclude_provider: ProvidersArg = None,
    credential_type: CredentialType | str | None = None,
    verify: bool | None = None,
) -> Pager[AccessCredential]:
    """List credentials, lazily, a page at a time.

    Parameters:
        teamspace: as for ``create_credential``.
        page: the first page to read (1-based).
        per_page: the page size; the server's default if ``None``.
        provider: only these providers (one, or a list).
        exclude_provider: not these providers (one, or a list).
        credential_type: only ``workspace`` or ``teamspace`` credentials.
        verify: ask the server to verify each credential as it lists them.

    Returns:
        A ``Pager``: nothing is sent until it is used.

    Raises:
        InvalidArgumentError: an argument is wrong (raised now).
        CredentialsError: a page could not be fetched (raised while paging).

    Examples:
        >>> create_credential("blobs", "azure", token={"azure": {
        ...     "account_name": "lakeacct", "sas_token": "sv=2024&sig=abc"}})
        >>> [c.name for c in list_credentials(provider="AZURE")]
        ['blobs']
    """
    return get_client().list_credentials(
        teamspace,
        page,
        per_page,
        provider=provider,
        exclude_provider=exclude_provider,
        credential_type=credential_type,
        verify=verify,
    )


def update_credential(
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
    """Change a credential: rename it, replace its secret, or change its flags.

    Only the arguments given are sent; at most one of ``credential``,
    ``role`` and ``token``.

    Parameters:
        cred_name: the credential's current name.
        teamspace: as for ``create_credential``.
        name: a new name.
        provider_default: make it (or stop it being) the provider's default.
        provider: a new provider, with a new secret to match.
        allowed_in_tasks: let tasks use it, or not.
        credential: a new key-based secret.
        role: a new role.
        token: a new token-based secret.
        description: a new description; ``""`` removes it. A tilecred addition.
        verify_first: verify the new secret (as ``verify_credential`` does)
            before it replaces the stored one, and change nothing if it fails,
            so that a typo cannot replace a working key. Needs a new secret.
            A tilecred addition: TileDB's client has no such parameter.

    Raises:
        InvalidArgumentError: an argument is wrong, nothing would change, or
            ``verify_first`` without a new secret.
        VerificationFailedError: ``verify_first`` and the new secret failed
            verification; nothing was changed.
        NotFoundError: there is no credential by that name there.
        ConflictError: the new name is already in use.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("old-name", "AWS", role={"aws": {
        ...     "role_arn": "arn:aws:iam::123456789012:role/demo"}})
        >>> update_credential("old-name", name="new-name", allowed_in_tasks=True)
        >>> get_credential("new-name").allowed_in_tasks
        True
    """
    get_client().update_credential(
        cred_name,
        teamspace=teamspace,
        name=name,
        provider_default=provider_default,
        provider=provider,
        allowed_in_tasks=allowed_in_tasks,
        credential=credential,
        role=role,
        token=token,
        description=description,
        verify_first=verify_first,
    )


def delete_credential(name: str, *, teamspace: object = None) -> None:
    """Delete a credential.

    Parameters:
        name: the credential's name.
        teamspace: as for ``create_credential``.

    Raises:
        NotFoundError: there is no credential by that name there.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("scratch", "AWS", role={"aws": {
        ...     "role_arn": "arn:aws:iam::123456789012:role/demo"}})
        >>> delete_credential("scratch")
        >>> get_credential("scratch")
        Traceback (most recent call last):
        ...
        tilecred.NotFoundError: could not get credential 'scratch': 404 Not Found: ...found
    """
    get_client().delete_credential(name, teamspace=teamspace)


def deactivate_credential(name: str, *, teamspace: object = None) -> AccessCredential:
    """Deactivate a credential: it stays stored and listed, but cannot be used.

    ``use_credential`` then refuses it (``PermissionDeniedError``, audited as
    denied), and it stops being its provider's default: a deactivated
    credential is never the default, and activating it does not make it the
    default again. Deactivating an inactive credential changes nothing. A
    tilecred extension: TileDB's hosted service does not have it.

    Parameters:
        name: the credential's name.
        teamspace: as for ``create_credential``.

    Returns:
        The credential as it is now (``active`` is ``False``).

    Raises:
        NotFoundError: there is no credential by that name there.
        ConfigurationError: calls go to TileDB's service, which has no such operation.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("paused", "AWS", role={"aws": {
        ...     "role_arn": "arn:aws:iam::123456789012:role/demo"}})
        >>> deactivate_credential("paused").active
        False
        >>> activate_credential("paused").active
        True
    """
    return get_client().deactivate_credential(name, teamspace=teamspace)


def activate_credential(name: str, *, teamspace: object = None) -> AccessCredential:
    """Activate a deactivated credential, so that it can be used again.

    It does not become its provider's default again: set that with
    ``update_credential(name, provider_default=True)``. Activating an active
    credential changes nothing. Parameters and errors are those of
    ``deactivate_credential``; it returns the credential as it is now
    (``active`` is ``True``).
    """
    return get_client().activate_credential(name, teamspace=teamspace)


@overload
def verify_credential(
    name: str,
    provider: ProviderArg | None = None,
    *,
    teamspace: object = None,
    provider_default: bool | None = None,
    allowed_in_tasks: bool | None = None,
    credential: Credential | SecretArg = None,
    role: AccessCredentialRole | SecretArg = None,
    token: Token | SecretArg = None,
    live: Literal[False] = False,
) -> None: ...


@overload
def verify_credential(
    name: str,
    provider: ProviderArg | None = None,
    *,
    teamspace: object = None,
    live: Literal[True],
) -> LiveVerification: ...


def verify_credential(
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
    """Check a credential without storing it, or a stored one against its service.

    Without ``live``, TileDB's check: the credential given (parameters are
    those of ``create_credential``; ``provider`` is required) is checked
    without storing it, and the call returns ``None`` when it is good.

    With ``live=True`` (tilecred's addition), the *stored* credential
    ``name`` is verified against the real service it is for, with the
    smallest call it allows: AWS keys ask STS ``GetCallerIdentity`` (at the
    stored endpoint), an AWS role is assumed (with the caller's own AWS
    credentials), an Azure account key or SAS lists one container, an
    OAuth client asks its ``token_url`` for a token, a
    bearer token GETs its ``url``, a ``postgresql`` login connects and runs
    ``SELECT 1``. ``provider``, when given, must be the stored one; the
    secret arguments do not apply. It returns a ``LiveVerification``: the
    ``identity`` the service says the credential is (an ARN, a database
    user, an OAuth client id; ``None`` when the service does not say) and
    the seconds it took (``elapsed``). Locally the library makes the call;
    through ``tilecred serve`` the server does, only when it was started
    with ``--outbound``. The secret goes only to its own service, and every
    call is audited.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was sent.
        CredentialsError: the credential failed verification; the message
            names the field at fault.
        VerificationFailedError: ``live``: the service refused; ``code`` and
            the message are the service's own.
        ConfigurationError: ``live``: the kind has no live verification, or
            the library its call needs is not installed.
        PermissionDeniedError: ``live`` through a server that may not call
            out (no ``--outbound``), or not to that host.

    Examples:
        >>> verify_credential("check", "AWS", role={"aws": {"role_arn": "not-an-arn"}})
        Traceback (most recent call last):
        ...
        tilecred.CredentialsError: could not verify credential 'check': ...role_arn...
    """
    return get_client().verify_credential(
        name,
        provider,
        teamspace=teamspace,
        provider_default=provider_default,
        allowed_in_tasks=allowed_in_tasks,
        credential=credential,
        role=role,
        token=token,
        live=live,
    )


def use_credential(
    name: str | None = None,
    *,
    url: str | None = None,
    target: str | None = None,
    provider: ProviderArg | None = None,
    teamspace: object = None,
    purpose: str | None = None,
) -> CredentialAccess:
    """Use a credential: its secrets, in the form the caller's library takes.

    Only a credential stored with ``allowed_in_tasks=True`` can be used, on
    every backend; every use and every refusal is recorded in the audit log.
    On ``tilecred serve`` only a task token may use a credential. TileDB's
    own service applies credentials on its side and never hands them out, so
    there this always fails.

    Parameters:
        name: the credential's name.
        url: instead of a name, a URL (``s3://bucket/prefix/x.parquet``): the
            credential associated with its longest matching prefix (see
            ``associate_credential``), that target's default when several are.
            The query and fragment are left out.
        target: instead of a name, an object id (``dag:etl_daily``), matched
            exactly, chosen the same way.
        provider: instead of a name, the provider's default credential
            (``provider_default``) in the teamspace.
        teamspace: as for ``create_credential``.
        purpose: what the use is for, kept as the audit record's detail
            (the integrations put a runner's DAG and task there); printable
            text of at most 200 characters. A use chosen by ``url``,
            ``target`` or ``provider`` records that first (``url=…; purpose``).

    Exactly one of ``name``, ``url``, ``target`` and ``provider`` is given.

    Returns:
        A ``CredentialAccess`` (a context manager): ``.credential`` with its
        secret fields filled, and the forms ``.env()``, ``.storage_options()``,
        ``.tiledb_config()``, ``.boto3_session()``.

    Raises:
        PermissionDeniedError: the credential is not allowed in tasks, or the
            token may not use it; nothing was returned.
        NotFoundError: there is no credential by that name there (or none
            associated with the URL or target, or no provider default).
        ConflictError: several credentials are associated with the URL's
            prefix or the target and none is its default (the message lists them).
        ConfigurationError: calls go to a service that cannot hand out secrets.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("task-key", "AWS", allowed_in_tasks=True, credential={"aws": {
        ...     "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "s3cr3t-value"}})
        >>> with use_credential("task-key") as access:
        ...     access.credential.credential.aws
        AWSCredential(access_key_id='AKIAIOSFODNN7EXAMPLE', secret_access_key='***')
    """
    return get_client().use_credential(
        name, url=url, target=target, provider=provider, teamspace=teamspace, purpose=purpose
    )


def read_audit(
    *,
    credential: str | None = None,
    since: datetime.datetime | datetime.timedelta | None = None,
    limit: int | None = None,
) -> list[AuditRecord]:
    """Read the workspace's audit log: every use, refusal and change.

    On ``tilecred serve`` this needs a management token.

    Parameters:
        credential: only records about the credential of this name.
        since: only records from this time on: an aware datetime, or a
            timedelta meaning "that long ago".
        limit: at most this many records, the newest (default 1000, at most 10000).

    Returns:
        The records, oldest first.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was read.
        PermissionDeniedError: the token may not read the audit log.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("audited", "AWS", role={"aws": {
        ...     "role_arn": "arn:aws:iam::123456789012:role/demo"}})
        >>> [(r.action, r.credential, r.outcome) for r in read_audit(credential="audited")]
        [('create', 'audited', 'ok')]
    """
    return get_client().audit(credential=credential, since=since, limit=limit)


def audit_summary(
    credential: str,
    *,
    teamspace: object = None,
    since: datetime.datetime | datetime.timedelta | None = None,
) -> list[UsageSummary]:
    """Who uses a credential: its uses in the audit log, summed up per actor.

    Ask this before rotating or deleting a credential. The uses counted are
    those of the credential that has this name now, including uses from
    before it was renamed, and not those of an earlier credential deleted
    under the same name. The sums are made by the store (on ``tilecred
    serve``, by the server), over every record, however many. On ``tilecred
    serve`` this needs a management token.

    Parameters:
        credential: the credential's name.
        teamspace: as for ``create_credential``.
        since: only uses from this time on: an aware datetime, or a
            timedelta meaning "that long ago".

    Returns:
        One ``UsageSummary`` per actor, the most recently active first.

    Raises:
        InvalidArgumentError: an argument is wrong; nothing was read.
        NotFoundError: there is no credential by that name there.
        PermissionDeniedError: the token may not read the audit log.
        CredentialsError: anything else went wrong.

    Examples:
        >>> create_credential("shared-key", "AWS", allowed_in_tasks=True, credential={"aws": {
        ...     "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "s3cr3t-value"}})
        >>> with use_credential("shared-key"):
        ...     pass
        >>> [(s.actor.startswith("local:"), s.uses, s.denied) for s in audit_summary("shared-key")]
        [(True, 1, 0)]
    """
    return get_client().audit_summary(credential, teamspace=teamspace, since=since)


def associate_credential(
    name: str, target: str, *, teamspace: object = None, default: bool = False
) -> Association:
    """Associate a credential with what it is for: a URL prefix or an object id.

    ``use_credential(url=…)`` and ``use_credential(target=…)`` then find it
    without its name. A tilecred addition (DataRobot associates credentials
    with the objects that use them).

    Parameters:
        name: the credential's name.
        target: a URL prefix with its scheme (``s3://bucket/prefix/``,
            ``az://container/``, ``postgresql://host:5432/db``,
            ``https://api.example.com/``) or an opaque id (``dag:etl_daily``);
            at most 1,000 characters, no control characters, no user or
            password in a URL.
        teamspace: the credential's teamspace, as for ``create_credential``.
        default: make it the target's default, the one chosen when several
            credentials are associated with the target; any other loses it.
            Associating again sets this anew.

    Returns:
        The ``Association``.

    Raises:
        NotFoundError: there is no credential by that name there.
        InvalidArgumentError: the target is not one.

    Examples:
        >>> create_credential("lake-reader", "AWS", credential={"aws": {
        ...     "access_key_id": "AKIAIOSFODNN7EXAMPLE", "secret_access_key": "s3cr3t-value"}})
        >>> associate_credential("lake-reader", "s3://lake/raw/", default=True).default
        True
    """
    return get_client().associate_credential(name, target, teamspace=teamspace, default=default)


def dissociate_credential(name: str, target: str, *, teamspace: object = None) -> None:
    """Remove a credential's association with a target.

    Raises:
        NotFoundError: there is no credential by that name there, or it is
            not associated with the target.
    """
    get_client().dissociate_credential(name, target, teamspace=teamspace)


def list_associations(
    name: str | None = None, *, target: str | None = None, teamspace: object = None
) -> list[Association]:
    """The associations in a teamspace (or at the workspace level), by target
    then name: of one credential with ``name``, of one target (matched
    exactly) with ``target``.

    Raises:
        NotFoundError: ``name`` names no credential there.
    """
    return get_client().list_associations(name, target=target, teamspace=teamspace)
