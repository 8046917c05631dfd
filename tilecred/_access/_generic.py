"""tilecred's GENERIC kinds in each form: basic logins, bearer tokens, OAuth clients.

None of them is object storage, so ``storage_options``, ``tiledb_config``
and ``boto3_session`` never apply; they have forms of their own instead:
``url()`` for a login, ``headers()`` and ``auth()`` for a token or a client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from .._models import BasicCredential, BearerToken, OAuthClientCredential
from ._base import Forms, SecretFiles, use_error

__all__ = ["SCHEME_ENV", "BasicForms", "BearerForms", "OAuthForms"]

_NOT_STORAGE = "it is a login or a token for a service, not object storage"
_NOT_APPLICABLE = {
    "storage_options": _NOT_STORAGE,
    "tiledb_config": _NOT_STORAGE,
    "boto3_session": "boto3 is for AWS",
}

# The variables each scheme's own tools read, for user, password, host,
# port and database (None: the tools read none). libpq (psql, psycopg),
# the Snowflake CLI and sqlcmd document these names.
SCHEME_ENV: dict[str, tuple[str | None, ...]] = {
    "postgresql": ("PGUSER", "PGPASSWORD", "PGHOST", "PGPORT", "PGDATABASE"),
    "postgres": ("PGUSER", "PGPASSWORD", "PGHOST", "PGPORT", "PGDATABASE"),
    "snowflake": (
        "SNOWFLAKE_USER", "SNOWFLAKE_PASSWORD", "SNOWFLAKE_HOST", "SNOWFLAKE_PORT",
        "SNOWFLAKE_DATABASE",
    ),
    "mssql": ("SQLCMDUSER", "SQLCMDPASSWORD", "SQLCMDSERVER", None, "SQLCMDDBNAME"),
}  # fmt: skip
# libpq's variables for the URL parameters it also reads from the environment.
_LIBPQ_PARAMS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "connect_timeout": "PGCONNECT_TIMEOUT",
    "application_name": "PGAPPNAME",
    "options": "PGOPTIONS",
    "target_session_attrs": "PGTARGETSESSIONATTRS",
}
_PARTS = ("USER", "PASSWORD", "HOST", "PORT", "DATABASE")


def _prefixed(
    prefix: str, values: tuple[str | None, ...], parts: tuple[str, ...]
) -> dict[str, str]:
    """``{prefix}_USER`` … for the values given."""
    if not prefix or not prefix.replace("_", "").isalnum() or prefix[0].isdigit():
        raise ValueError(f"prefix must be a variable name such as 'WAREHOUSE', not {prefix!r}")
    return {f"{prefix}_{part}": value for part, value in zip(parts, values, strict=True) if value}


class BasicForms(Forms):
    """``Credential(basic=BasicCredential(...))``: a user name and password."""

    kind = "a basic login"
    takes_prefix = True
    not_applicable: ClassVar[dict[str, str]] = _NOT_APPLICABLE
    member: BasicCredential

    def _password(self) -> str:
        if self.member.password is None:
            raise use_error(self.name, f"{self.kind} came without its password")
        return self.member.password

    def _values(self) -> tuple[str | None, ...]:
        login = self.member
        port = None if login.port is None else str(login.port)
        return (login.user, self._password(), login.host, port, login.database)

    def env(self, prefix: str | None = None) -> dict[str, str]:
        login = self.member
        if prefix is not None:
            try:
                return _prefixed(prefix, self._values(), _PARTS)
            except ValueError as exc:
                raise use_error(self.name, str(exc)) from None
        names = SCHEME_ENV.get((login.scheme or "").lower())
        if names is None:
            known = ", ".join(SCHEME_ENV)
            raise use_error(
                self.name,
                f"env() knows the variables of {known}; for scheme {login.scheme!r} "
                "give env(prefix='NAME') for NAME_USER, NAME_PASSWORD, NAME_HOST, …",
            )
        env = {name: value for name, value in zip(names, self._values(), strict=True)
               if name is not None and value}  # fmt: skip
        if names[0] == "PGUSER":
            for param, value in (login.params or {}).items():
                if param in _LIBPQ_PARAMS:
                    env[_LIBPQ_PARAMS[param]] = value
        return env

    def url(self) -> str:
        from urllib.parse import quote, urlencode  # loads on first use: a fast import

        login = self.member
        if not login.scheme or not login.host:
            raise use_error(self.name, f"url() needs {self.kind}'s scheme and host")
        host = login.host
        # An IPv6 address goes in brackets; any other host is encoded like the rest.
        host = f"[{host}]" if ":" in host else quote(host, safe="")
        # The password as the URL spells it is a secret of its own to mask.
        password = self.secret(quote(self._password(), safe=""))
        netloc = f"{quote(login.user, safe='')}:{password}@{host}"
        if login.port is not None:
            netloc += f":{login.port}"
        url = f"{login.scheme}://{netloc}/"
        if login.database:
            url += quote(login.database, safe="")
        if login.params:
            url += "?" + urlencode(login.params, quote_via=quote, safe="")
        return url


class BearerForms(Forms):
    """``Token(bearer=BearerToken(...))``: an API token sent in a header."""

    kind = "a bearer token"
    takes_prefix = True
    not_applicable: ClassVar[dict[str, str]] = {
        **_NOT_APPLICABLE,
        "url": "a token is sent in a header: use headers() or auth()",
        "env": "its variables have no standard names: give env(prefix='NAME') for NAME_TOKEN "
        "and NAME_URL",
    }
    member: BearerToken

    def _token(self) -> str:
        if self.member.token is None:
            raise use_error(self.name, f"{self.kind} came without its token")
        return self.member.token

    def headers(self) -> dict[str, str]:
        header = self.member.header
        if header is None:
            return {"Authorization": f"Bearer {self._token()}"}
        return {header: self._token()}

    def env(self, prefix: str | None = None) -> dict[str, str]:
        if prefix is None:
            raise self.refuse("env")
        try:
            return _prefixed(prefix, (self._token(), self.member.url), ("TOKEN", "URL"))
        except ValueError as exc:
            raise use_error(self.name, str(exc)) from None


class OAuthForms(Forms):
    """``Credential(oauth=OAuthClientCredential(...))``: access tokens from ``token_url``.

    The exchange is made on the first ``headers()`` (or request through
    ``auth()``), and again 60 seconds before the token expires.
    """

    kind = "an OAuth client"
    not_applicable: ClassVar[dict[str, str]] = {
        **_NOT_APPLICABLE,
        "env": "its secret is exchanged for access tokens that expire: use headers() or auth()",
        "url": "an access token is sent in a header: use headers() or auth()",
    }
    member: OAuthClientCredential

    def __init__(
        self,
        name: str,
        member: Any,
        files: SecretFiles,
        resolve: Any,
        *,
        rotated: Callable[[str], None] | None = None,
    ) -> None:
        from ._oauth import TokenSource  # loads on first use: a fast import

        super().__init__(name, member, files, resolve)

        def store_back(refresh_token: str) -> None:
            self.secret(refresh_token)  # a new secret, masked from now on
            if rotated is not None:
                rotated(refresh_token)

        self.tokens = TokenSource(member, rotated=store_back)

    @property
    def expires_at(self) -> Any:
        return self.tokens.expires_at

    def headers(self) -> dict[str, str]:
        # An exchanged access token: masked wherever it shows, as the stored secrets are.
        return {"Authorization": f"Bearer {self.secret(self.tokens.token())}"}
