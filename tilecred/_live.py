"""Verifying a stored credential against the real service: the smallest call it allows.

:func:`verify_live` takes a credential with its secrets and makes one call:
STS ``GetCallerIdentity`` for AWS keys, a token request for an OAuth client,
a GET of a bearer token's ``url``, ``SELECT 1`` for a PostgreSQL login. It
answers with a :class:`LiveVerification` (who the service says the caller
is, and how long it took) or raises :class:`VerificationFailedError` quoting
the service's own code and message. Every call is bounded in time, follows
no redirect, and goes only to a host ``allow`` accepts (``tilecred serve``
passes its ``--outbound-hosts``). The library (local store) and the server
both call it; neither hands the secret to anyone else.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import msgspec

from ._errors import ConfigurationError, CredentialsError, VerificationFailedError
from ._models import AccessCredential, BasicCredential, BearerToken

__all__ = [
    "TIMEOUT",
    "LiveVerification",
    "LiveVerificationResponse",
    "describe_call",
    "verify_live",
]

# How long one call out may take, connecting and reading together.
TIMEOUT = 15.0
# The most of an answer read: a refusal's message is in its first few KiB.
_MAX_BODY = 64 * 1024
# A PostgreSQL server's refusal as libpq words it: "FATAL:  password authentication ...".
_SEVERITY = re.compile(r"\b(FATAL|ERROR|PANIC):\s+(.+)", re.DOTALL)
# The STS endpoint used when an AWS key stores none (the global one).
_STS = "https://sts.amazonaws.com/"


class LiveVerification(msgspec.Struct, kw_only=True, frozen=True):
    """What a live verification found: the service accepted the credential.

    Attributes:
        name: the credential's name.
        call: the call made, e.g. ``sts:GetCallerIdentity``.
        endpoint: where it went (scheme, host and path; never a query or secret).
        identity: who the service says the caller is (an ARN, a database
            user, an OAuth client id); ``None`` when the service does not say.
        elapsed: seconds the call took.
    """

    name: str
    call: str
    endpoint: str
    identity: str | None
    elapsed: float


class LiveVerificationResponse(msgspec.Struct, kw_only=True, frozen=True):
    """The answer of ``tilecred serve``'s verify route."""

    data: LiveVerification


# A host check: raises PermissionDeniedError when the host may not be called.
AllowHost = Callable[[str], None]


def _allow_any(host: str) -> None:
    del host


def describe_call(credential: AccessCredential) -> tuple[str, str]:
    """The call a live verification of ``credential`` makes and its endpoint,
    known before any I/O (the server checks the host against its limits).

    Raises:
        ConfigurationError: the kind has no live verification (yet).
    """
    cred, tok = credential.credential, credential.token
    if cred is not None and cred.aws is not None:
        return "sts:GetCallerIdentity", _where(cred.aws.endpoint or _STS)
    if cred is not None and cred.oauth is not None:
        return "oauth:token", _where(cred.oauth.token_url)
    if (
        cred is not None
        and cred.basic is not None
        and cred.basic.scheme in ("postgresql", "postgres")
    ):
        basic = cred.basic
        return (
            "postgresql:SELECT 1",
            f"postgresql://{basic.host or 'localhost'}:{basic.port or 5432}/{basic.database or ''}",
        )
    if credential.role is not None and credential.role.aws is not None:
        return "sts:AssumeRole", _where(credential.role.aws.endpoint or _STS)
    if cred is not None and cred.azure is not None:
        from ._live_azure import endpoint

        return "azure:List Containers", _where(endpoint(cred.azure))
    if tok is not None and tok.azure is not None:
        from ._live_azure import endpoint

        return "azure:List Containers", _where(endpoint(tok.azure))
    if tok is not None and tok.bearer is not None:
        if not tok.bearer.url:
            raise ConfigurationError(
                f"credential {credential.name!r} has no url: "
                "a bearer token is verified by a GET of its url",
                status=422,
            )
        return "http:GET", _where(tok.bearer.url)
    kind = _kind(credential)
    raise ConfigurationError(
        f"credential {credential.name!r} ({kind}) has no live verification: tilecred verifies "
        "AWS keys and roles, Azure account keys and SAS tokens, OAuth clients, bearer "
        "tokens with a url and PostgreSQL logins against their service",
        status=422,
    )


def verify_live(
    credential: AccessCredential,
    *,
    allow: AllowHost = _allow_any,
    rotated: Callable[[str], None] | None = None,
) -> LiveVerification:
    """Make the smallest real call ``credential`` allows (its secrets filled).

    Parameters:
        allow: checks the host before anything is sent.
        rotated: called with a new refresh token when an OAuth endpoint rotates it.

    Raises:
        ConfigurationError: the kind has no live verification, or the library
            the call needs is not installed.
        PermissionDeniedError: ``allow`` refused the host; nothing was sent.
        VerificationFailedError: the service refused; its code and message quoted.
        CredentialsError: the service could not be reached in time.
    """
    from urllib.parse import urlsplit  # loads on first use: `import tilecred` stays cheap

    call, endpoint = describe_call(credential)
    allow(urlsplit(endpoint).hostname or "")
    cred, tok = credential.credential, credential.token
    started = time.monotonic()
    identity: str | None
    if cred is not None and cred.aws is not None:
        from ._live_aws import caller_identity  # botocore only when it is needed

        identity = caller_identity(credential.name, cred.aws, _STS)
    elif credential.role is not None and credential.role.aws is not None:
        from ._live_aws import assume_role

        identity = assume_role(credential.name, credential.role.aws, _STS)
    elif cred is not None and cred.azure is not None:
        from ._live_azure import list_one_container

        identity = list_one_container(credential.name, cred.azure)
    elif tok is not None and tok.azure is not None:
        from ._live_azure import list_one_container

        identity = list_one_container(credential.name, tok.azure)
    elif cred is not None and cred.oauth is not None:
        identity = _oauth(credential.name, cred.oauth, rotated)
    elif cred is not None and cred.basic is not None:
        identity = _postgresql(credential.name, cred.basic)
    else:
        assert tok is not None  # describe_call said so
        assert tok.bearer is not None
        identity = _bearer(credential.name, tok.bearer)
    elapsed = round(time.monotonic() - started, 6)
    return LiveVerification(
        name=credential.name, call=call, endpoint=endpoint, identity=identity, elapsed=elapsed
    )


def _kind(credential: AccessCredential) -> str:
    for part in (credential.credential, credential.role, credential.token):
        if part is not None:
            for field in part.__struct_fields__:
                if getattr(part, field) is not None:
                    return f"{credential.provider} {field}"
    return str(credential.provider)


def _where(url: str) -> str:
    """A URL as messages name it: scheme, host and path, never a query or user."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path or '/'}"


def refused(name: str, where: str, code: object, message: str) -> VerificationFailedError:
    """The service's refusal, in its own words (one line, bounded)."""
    said = " ".join(message.split())[:500]
    return VerificationFailedError(
        f"credential {name!r} failed live verification at {where}: {code}: {said}",
        status=422,
        code=str(code),
        name=name,
    )


def unreachable(name: str, where: str, exc: Exception) -> CredentialsError:
    return CredentialsError(
        f"could not verify credential {name!r} live: {where} could not be reached "
        f"({type(exc).__name__})",
        status=502,
        name=name,
    )


def http_call(
    name: str, method: str, url: str, *, body: bytes | None = None, headers: dict[str, str]
) -> tuple[int, bytes]:
    """One request: bounded in time and size, no retry, no redirect followed."""
    import urllib3  # loads on first use: `import tilecred` stays cheap

    try:
        response = urllib3.request(
            method, url, body=body, headers=headers,
            timeout=urllib3.Timeout(total=TIMEOUT), retries=False, redirect=False,
            preload_content=False,
        )  # fmt: skip
        data = response.read(_MAX_BODY)
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise unreachable(name, _where(url), exc) from exc
    return response.status, data


def _bearer(name: str, bearer: BearerToken) -> str | None:
    assert bearer.url is not None
    assert bearer.token is not None
    header = bearer.header or "Authorization"
    value = bearer.token if bearer.header else f"Bearer {bearer.token}"
    status, data = http_call(name, "GET", bearer.url, headers={header: value})
    if 200 <= status < 300:
        return None  # a plain GET does not say who the caller is
    text = data.decode("utf-8", "replace").replace(bearer.token, "***")
    raise refused(name, _where(bearer.url), status, text or "(no body)")


def _oauth(name: str, client: object, rotated: Callable[[str], None] | None) -> str:
    from ._access._oauth import request_token
    from ._models import OAuthClientCredential

    assert isinstance(client, OAuthClientCredential)
    try:
        grant = request_token(client)
    except CredentialsError as exc:
        if exc.status is None:
            raise unreachable(name, _where(client.token_url), exc) from exc
        raise refused(name, _where(client.token_url), exc.code or exc.status, exc.message) from exc
    new = grant.refresh_token
    if rotated is not None and new is not None and new != client.refresh_token:
        rotated(new)
    return client.client_id


def _postgresql(name: str, basic: BasicCredential) -> str:
    try:
        import psycopg
    except ImportError:
        raise ConfigurationError(
            "verifying a PostgreSQL login live needs psycopg: pip install 'tilecred[postgres]'",
            status=501,
        ) from None
    where = f"postgresql://{basic.host or 'localhost'}:{basic.port or 5432}/{basic.database or ''}"
    try:
        from psycopg.conninfo import make_conninfo

        conninfo = make_conninfo(
            "", host=basic.host or "localhost", port=basic.port or 5432, user=basic.user,
            password=basic.password or "", dbname=basic.database or basic.user,
            connect_timeout=int(TIMEOUT), **dict(basic.params or {}),
        )  # fmt: skip
        with psycopg.connect(conninfo) as conn:
            row = conn.execute("SELECT 1, current_user").fetchone()
    except psycopg.Error as exc:
        message = str(exc)
        if basic.password:
            message = message.replace(basic.password, "***")
        # A refused login has no SQLSTATE in psycopg (libpq reports it as
        # text): the server's own words after its severity, and that severity.
        said = _SEVERITY.search(message)
        code = exc.sqlstate or (said.group(1) if said else type(exc).__name__)
        raise refused(name, where, code, said.group(2) if said else message) from None
    assert row is not None
    return str(row[1])
