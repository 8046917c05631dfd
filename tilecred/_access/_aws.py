"""AWS keys and roles, and GCP HMAC keys (S3 interoperability), in each form."""

from __future__ import annotations

import datetime
import re
import threading
from typing import TYPE_CHECKING, Any, NamedTuple

from .._errors import MASK, ConfigurationError
from .._models import AWSCredential, AWSRole, GCPInteroperabilityCredential
from ._base import Forms, use_error

if TYPE_CHECKING:
    from ._boto3 import AssumedRole, S3Endpoint

__all__ = ["AWSKeyForms", "AWSRoleForms", "GCPHmacForms"]

# Where GCS answers S3's protocol for an HMAC key.
GCS_S3_ENDPOINT = "https://storage.googleapis.com"
_EXTRA = "pip install '.[aws]' in a tilecred checkout"
# STS session names: 2 to 64 of these characters.
_SESSION_NAME_BAD = re.compile(r"[^\w+=,.@-]")


def _boto3() -> Any:
    """tilecred's boto3 module, or a ConfigurationError naming the extra."""
    try:
        from . import _boto3
    except ImportError as exc:
        raise ConfigurationError(
            f"boto3 is not installed: boto3 sessions and AWS roles need it ({_EXTRA})"
        ) from exc
    return _boto3


class S3Key(NamedTuple):
    """What S3 tools need: a key (maybe temporary) and where to send it."""

    key_id: str
    secret: str
    token: str | None
    endpoint: str | None
    path_style: bool | None

    def __repr__(self) -> str:
        # A traceback that shows local variables (rich, Sentry) prints this.
        token = None if self.token is None else MASK
        return (
            f"S3Key(key_id={self.key_id!r}, secret={MASK!r}, token={token!r}, "
            f"endpoint={self.endpoint!r}, path_style={self.path_style!r})"
        )

    def env(self) -> dict[str, str]:
        env = {"AWS_ACCESS_KEY_ID": self.key_id, "AWS_SECRET_ACCESS_KEY": self.secret}
        if self.token is not None:
            env["AWS_SESSION_TOKEN"] = self.token
        if self.endpoint is not None:
            env["AWS_ENDPOINT_URL"] = self.endpoint
        return env

    def storage_options(self) -> dict[str, Any]:
        options: dict[str, Any] = {"key": self.key_id, "secret": self.secret}
        if self.token is not None:
            options["token"] = self.token
        if self.endpoint is not None:
            options["endpoint_url"] = self.endpoint
        style = _addressing_style(self.path_style)
        if style is not None:
            options["config_kwargs"] = {"s3": {"addressing_style": style}}
        return options

    def tiledb_config(self) -> dict[str, str]:
        config = {
            "vfs.s3.aws_access_key_id": self.key_id,
            "vfs.s3.aws_secret_access_key": self.secret,
        }
        if self.token is not None:
            config["vfs.s3.aws_session_token"] = self.token
        config.update(tiledb_endpoint(self.endpoint, self.path_style))
        return config


def _addressing_style(path_style: bool | None) -> str | None:
    if path_style is None:
        return None
    return "path" if path_style else "virtual"


def tiledb_endpoint(endpoint: str | None, path_style: bool | None) -> dict[str, str]:
    """TileDB's endpoint parameters: the host (and path) and the scheme apart."""
    from urllib.parse import urlsplit  # loads on first use: `import tilecred` stays cheap

    config: dict[str, str] = {}
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme and parts.netloc:
            config["vfs.s3.endpoint_override"] = parts.netloc + parts.path.rstrip("/")
            config["vfs.s3.scheme"] = parts.scheme
        else:  # a bare host: TileDB's own default scheme (https) applies
            config["vfs.s3.endpoint_override"] = endpoint
    if path_style is not None:
        config["vfs.s3.use_virtual_addressing"] = "false" if path_style else "true"
    return config


def _endpoint(endpoint: str | None, path_style: bool | None) -> S3Endpoint:
    return _boto3().S3Endpoint(url=endpoint, path_style=path_style)  # type: ignore[no-any-return]


class _KeyForms(Forms):
    """A static key for S3 or an S3-compatible store."""

    def s3_key(self) -> S3Key:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return self.s3_key().env()

    def storage_options(self) -> dict[str, Any]:
        return self.s3_key().storage_options()

    def tiledb_config(self) -> dict[str, str]:
        return self.s3_key().tiledb_config()

    def boto3_session(self, *, source: str | None, duration_seconds: int | None) -> Any:
        if source is not None or duration_seconds is not None:
            raise use_error(
                self.name,
                f"{self.kind} is used as it is: source and duration_seconds are for roles",
            )
        key = self.s3_key()
        endpoint = _endpoint(key.endpoint, key.path_style)
        return _boto3().key_session(key.key_id, key.secret, endpoint, token=key.token)


def _secret(name: str, value: str | None, kind: str) -> str:
    if value is None:
        # Only a backend that withheld the secret gets here (get, not use).
        raise use_error(name, f"{kind} came without its secret; use_credential returns it")
    return value


class AWSKeyForms(_KeyForms):
    """``Credential(aws=AWSCredential(...))``."""

    kind = "an AWS access key"

    member: AWSCredential

    def s3_key(self) -> S3Key:
        key = self.member
        secret = _secret(self.name, key.secret_access_key, self.kind)
        return S3Key(key.access_key_id, secret, key.session_token, key.endpoint, key.use_path_style)


class GCPHmacForms(_KeyForms):
    """``Credential(gcp=GCPInteroperabilityCredential(...))``: GCS through S3's protocol.

    gcsfs and TileDB's ``gs://`` backend take no HMAC key; s3fs, boto3 and
    TileDB's ``s3://`` backend do, pointed at GCS's S3 endpoint.
    """

    kind = "a GCP HMAC (interoperability) key"

    member: GCPInteroperabilityCredential

    def s3_key(self) -> S3Key:
        key = self.member
        if key.access_key_id is None:
            raise use_error(self.name, f"{self.kind} has no access_key_id")
        secret = _secret(self.name, key.secret_access_key, self.kind)
        # GCS answers path-style requests on its one host.
        return S3Key(key.access_key_id, secret, None, GCS_S3_ENDPOINT, True)


def session_name(name: str) -> str:
    """An STS session name that says who assumed the role: ``tilecred-<name>``."""
    return _SESSION_NAME_BAD.sub("-", f"tilecred-{name}")[:64]


class AWSRoleForms(Forms):
    """``AccessCredentialRole(aws=AWSRole(...))``: assumed through STS.

    ``tiledb_config()`` hands TileDB the role itself (TileDB assumes it with
    the caller's own AWS credentials); every other form assumes it here.
    """

    kind = "an AWS role"

    member: AWSRole

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._sessions: dict[tuple[str | None, int | None], tuple[Any, AssumedRole]] = {}
        self._last: AssumedRole | None = None
        self._lock = threading.Lock()

    @property
    def expires_at(self) -> datetime.datetime | None:
        return None if self._last is None else self._last.expires_at

    def tiledb_config(self) -> dict[str, str]:
        role = self.member
        config = {
            "vfs.s3.aws_role_arn": role.role_arn,
            "vfs.s3.aws_session_name": session_name(self.name),
        }
        if role.external_id is not None:
            config["vfs.s3.aws_external_id"] = role.external_id
        config.update(tiledb_endpoint(role.endpoint, role.use_path_style))
        return config

    def boto3_session(self, *, source: str | None, duration_seconds: int | None) -> Any:
        key = (source, duration_seconds)
        with self._lock:
            if key not in self._sessions:
                self._sessions[key] = self._assume(source, duration_seconds)
            session, self._last = self._sessions[key]
        return session

    def _assume(self, source: str | None, duration_seconds: int | None) -> tuple[Any, AssumedRole]:
        boto3_module = _boto3()
        role = self.member
        args: dict[str, Any] = {
            "RoleArn": role.role_arn,
            "RoleSessionName": session_name(self.name),
        }
        if role.external_id is not None:
            args["ExternalId"] = role.external_id
        if duration_seconds is not None:
            args["DurationSeconds"] = duration_seconds
        endpoint = _endpoint(role.endpoint, role.use_path_style)
        return boto3_module.assume_role_session(  # type: ignore[no-any-return]
            self._source_session(source), args, endpoint
        )

    def _source_session(self, source: str | None) -> Any:
        """The session whose credentials call STS: the caller's own, or a stored key."""
        boto3_module = _boto3()
        if source is None:
            return boto3_module.boto3.Session()
        if self.resolve is None:
            raise use_error(self.name, "no way to look up the source credential here")
        other = self.resolve(source)
        key = other.credential.aws if other.credential is not None else None
        if key is None:
            raise use_error(self.name, f"source credential {source!r} is not an AWS access key")
        secret = _secret(source, key.secret_access_key, "an AWS access key")
        endpoint = _endpoint(key.endpoint, key.use_path_style)
        return boto3_module.key_session(
            key.access_key_id, secret, endpoint, token=key.session_token
        )

    def temporary_key(self) -> S3Key:
        """The current STS credentials (fetched, or refreshed, when needed)."""
        boto3_module = _boto3()
        session = self.boto3_session(source=None, duration_seconds=None)
        try:
            frozen = session.get_credentials().get_frozen_credentials()
        except boto3_module.CALL_ERRORS as exc:
            text = boto3_module.call_error_text(exc)
            raise use_error(
                self.name, f"could not assume role {self.member.role_arn}: {text}"
            ) from exc
        role = self.member
        token = None if frozen.token is None else self.secret(frozen.token)
        secret = self.secret(frozen.secret_key)
        return S3Key(frozen.access_key, secret, token, role.endpoint, role.use_path_style)

    def env(self) -> dict[str, str]:
        return self.temporary_key().env()

    def storage_options(self) -> dict[str, Any]:
        return self.temporary_key().storage_options()
