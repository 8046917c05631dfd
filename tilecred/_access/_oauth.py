"""The OAuth 2.0 token exchange: an access token from a client's ``token_url``.

One small function, :func:`request_token`, makes one exchange (RFC 6749
§4.4 client credentials, or §6 refresh token when a refresh token is
stored), with the client authenticated by HTTP Basic as §2.3.1 says. It
holds no state and knows no store, so the library (for the local store) and
``tilecred serve`` can both call it. :class:`TokenSource` keeps the access
token and asks again 60 seconds before it expires.
"""

from __future__ import annotations

import base64
import datetime
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote_plus, urlencode, urlsplit

import msgspec

from .._errors import MASK, CredentialsError, scrub
from .._models import OAuthClientCredential

__all__ = ["EXPIRY_MARGIN", "TokenGrant", "TokenSource", "request_token"]

# An access token is fetched again this long before it expires: a request
# sent with it must still reach the service in time.
EXPIRY_MARGIN = datetime.timedelta(seconds=60)
# How long one exchange may take, connecting and reading together.
_TIMEOUT = 30.0
# The largest token response read (a JWT access token is a few KiB).
_MAX_BODY = 256 * 1024


class _Answer(msgspec.Struct):
    """A token endpoint's answer (RFC 6749 §5.1 and §5.2); other fields ignored."""

    access_token: str | None = None
    token_type: str | None = None
    expires_in: int | float | None = None
    refresh_token: str | None = None
    error: str | None = None
    error_description: str | None = None


_DECODER = msgspec.json.Decoder(_Answer)


@dataclass(frozen=True, slots=True)
class TokenGrant:
    """What one exchange gave: the access token, when it expires (``None``:
    not said), and a new refresh token when the endpoint rotated it."""

    access_token: str
    expires_at: datetime.datetime | None
    refresh_token: str | None

    def __repr__(self) -> str:
        rotated = None if self.refresh_token is None else MASK
        return (
            f"TokenGrant(access_token={MASK!r}, expires_at={self.expires_at!r}, "
            f"refresh_token={rotated!r})"
        )


def _client_auth(client_id: str, client_secret: str) -> str:
    # RFC 6749 §2.3.1: each part form-urlencoded (Appendix B: a space is "+"),
    # then "id:secret" in Basic.
    pair = f"{quote_plus(client_id)}:{quote_plus(client_secret)}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


def token_form(client: OAuthClientCredential) -> dict[str, str]:
    """The form fields of one exchange for ``client`` (its secrets go in the header)."""
    form = (
        {"grant_type": "refresh_token", "refresh_token": client.refresh_token}
        if client.refresh_token
        else {"grant_type": "client_credentials"}
    )
    if client.scopes:
        form["scope"] = " ".join(client.scopes)
    if client.audience:
        form["audience"] = client.audience
    return form


def request_token(
    client: OAuthClientCredential, *, now: Callable[[], datetime.datetime] | None = None
) -> TokenGrant:
    """One exchange at ``client.token_url``.

    Raises:
        CredentialsError: the endpoint could not be reached, refused (its
            ``error`` and ``error_description`` quoted), or answered without
            an access token. No secret is ever in the message.
    """
    import urllib3  # loads on first use: `import tilecred` stays cheap

    if not client.client_secret:
        raise CredentialsError("the OAuth client came without its client_secret")
    where = _where(client.token_url)
    started = (now or _utcnow)()
    try:
        response = urllib3.request(
            "POST",
            client.token_url,
            body=urlencode(token_form(client)),
            headers={
                "Authorization": _client_auth(client.client_id, client.client_secret),
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            timeout=urllib3.Timeout(total=_TIMEOUT),
            retries=False,
            redirect=False,
            preload_content=False,
        )
        data = response.read(_MAX_BODY + 1)
        response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        raise CredentialsError(
            f"the OAuth token request to {where} failed: {type(exc).__name__}"
        ) from exc
    answer = _read(data, response.status, where)
    if response.status != 200 or answer.error or not answer.access_token:
        message = _refusal(
            answer, response.status, where, [client.client_secret, client.refresh_token or ""]
        )
        raise CredentialsError(message, status=response.status, code=answer.error)
    expires_at = None
    if answer.expires_in is not None:
        expires_at = started + datetime.timedelta(seconds=float(answer.expires_in))
    return TokenGrant(answer.access_token, expires_at, answer.refresh_token or None)


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _where(url: str) -> str:
    """The endpoint as messages name it: scheme, host and path, never a query."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}"


def _read(data: bytes, status: int, where: str) -> _Answer:
    if len(data) > _MAX_BODY:
        raise CredentialsError(f"the OAuth token endpoint {where} answered too much", status=status)
    try:
        return _DECODER.decode(data)
    except msgspec.MsgspecError:
        raise CredentialsError(
            f"the OAuth token endpoint {where} answered {status} without a JSON token response",
            status=status,
        ) from None


def _refusal(answer: _Answer, status: int, where: str, secrets: list[str]) -> str:
    if answer.error:
        said = answer.error + (f": {answer.error_description}" if answer.error_description else "")
        # The endpoint's own words, quoted: without a secret of the client's,
        # should the endpoint echo one back (the longest first: one may hold another).
        said = scrub(said, sorted(secrets, key=len, reverse=True))
        return f"the OAuth token endpoint {where} refused ({status}): {said}"
    return f"the OAuth token endpoint {where} answered {status} without an access_token"


class TokenSource:
    """An access token for one client, fetched when needed and kept until
    ``EXPIRY_MARGIN`` before it expires; thread-safe.

    Parameters:
        client: the stored client, secrets filled.
        rotated: called with the new refresh token when the endpoint sends
            one that differs from the stored one (to store it back).
        exchange: the exchange (``request_token``).
    """

    def __init__(
        self,
        client: OAuthClientCredential,
        *,
        rotated: Callable[[str], None] | None = None,
        exchange: Callable[[OAuthClientCredential], TokenGrant] = request_token,
    ) -> None:
        self._client = client
        self._rotated = rotated
        self._exchange = exchange
        self._grant: TokenGrant | None = None
        self._lock = threading.Lock()

    @property
    def expires_at(self) -> datetime.datetime | None:
        """When the access token held now expires (``None`` before the first)."""
        grant = self._grant
        return None if grant is None else grant.expires_at

    def token(self) -> str:
        """A current access token: the one held, or a new one."""
        with self._lock:
            grant = self._grant
            if grant is None or _stale(grant):
                grant = self._grant = self._exchange(self._client)
                new = grant.refresh_token
                if new is not None and new != self._client.refresh_token:
                    self._client = msgspec.structs.replace(self._client, refresh_token=new)
                    if self._rotated is not None:
                        self._rotated(new)
            return grant.access_token


def _stale(grant: TokenGrant) -> bool:
    if grant.expires_at is None:
        return False  # the endpoint said nothing: it lasts until refused
    return _utcnow() >= grant.expires_at - EXPIRY_MARGIN
