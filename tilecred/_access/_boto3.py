"""boto3 sessions: on a key, or on a role assumed through STS and refreshed.

Imported only by ``boto3_session()`` (and a role's other forms), so that
``import tilecred`` never needs boto3: it comes with the ``aws`` extra.
"""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.credentials
import botocore.exceptions
import botocore.session

__all__ = ["AssumedRole", "S3Endpoint", "assume_role_session", "key_session"]

# botocore's own default when neither the caller nor a profile names one; a
# session on a custom endpoint still needs some region to sign with.
_DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Endpoint:
    """Where S3 requests go, and how buckets are addressed there."""

    url: str | None
    path_style: bool | None

    def client_defaults(self, service_name: str, kwargs: dict[str, Any]) -> dict[str, Any]:
        """``kwargs`` with this endpoint filled in for an S3 client the caller did not aim."""
        if service_name != "s3":
            return kwargs
        kwargs = dict(kwargs)
        if self.url is not None and kwargs.get("endpoint_url") is None:
            kwargs["endpoint_url"] = self.url
        if self.path_style is not None:
            ours = botocore.config.Config(
                s3={"addressing_style": "path" if self.path_style else "virtual"}
            )
            theirs = kwargs.get("config")
            # The caller's own Config wins wherever it says something.
            kwargs["config"] = ours if theirs is None else ours.merge(theirs)
        return kwargs


class EndpointSession(boto3.Session):  # type: ignore[misc]
    """A boto3 session whose S3 clients and resources go to a stored endpoint.

    A botocore session cannot hold an endpoint for one service except through
    a config file or the environment, and writing either would reach beyond
    this session; so its ``client()`` and ``resource()`` fill in
    ``endpoint_url`` (and the addressing style) for S3, unless the caller
    passes their own.
    """

    def __init__(self, *, s3_endpoint: S3Endpoint, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.s3_endpoint = s3_endpoint

    def client(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            kwargs = self.s3_endpoint.client_defaults(service_name, kwargs)
        return super().client(service_name, *args, **kwargs)

    def resource(self, service_name: str, *args: Any, **kwargs: Any) -> Any:
        if not args:
            kwargs = self.s3_endpoint.client_defaults(service_name, kwargs)
        return super().resource(service_name, *args, **kwargs)


def _session(endpoint: S3Endpoint, **kwargs: Any) -> boto3.Session:
    if endpoint.url is None and endpoint.path_style is None:
        return boto3.Session(**kwargs)
    return EndpointSession(s3_endpoint=endpoint, **kwargs)


def key_session(
    key_id: str,
    secret: str,
    endpoint: S3Endpoint,
    *,
    region: str | None = None,
    token: str | None = None,
) -> boto3.Session:
    """A session on a static key (with its session token, for temporary keys)."""
    if region is None and endpoint.url is not None:
        region = _DEFAULT_REGION
    return _session(
        endpoint,
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
        region_name=region,
    )


class _Fixed(botocore.credentials.CredentialProvider):  # type: ignore[misc]
    """Hands botocore's credential chain the refreshable credentials we made."""

    METHOD = "tilecred-assume-role"
    CANONICAL_NAME = "custom-tilecred"

    def __init__(self, credentials: botocore.credentials.Credentials) -> None:
        super().__init__()
        self._credentials = credentials

    def load(self) -> botocore.credentials.Credentials:
        return self._credentials


class AssumedRole:
    """AssumeRole through STS, again before the credentials expire.

    botocore's ``DeferredRefreshableCredentials`` calls ``fetch`` on first
    use and again when fewer than 15 minutes are left (10: it must), so a
    long job never holds expired credentials. ``expires_at`` is the expiry
    of the credentials fetched last.
    """

    def __init__(self, sts: Any, args: dict[str, Any]) -> None:
        self._sts = sts
        self._args = args
        self._lock = threading.Lock()
        self.expires_at: datetime.datetime | None = None
        self.credentials = botocore.credentials.DeferredRefreshableCredentials(
            refresh_using=self.fetch, method=_Fixed.METHOD
        )

    def fetch(self) -> dict[str, str]:
        """One AssumeRole call, in the form botocore's refresh takes."""
        answer = self._sts.assume_role(**self._args)["Credentials"]
        expiry: datetime.datetime = answer["Expiration"]
        with self._lock:
            self.expires_at = expiry
        return {
            "access_key": answer["AccessKeyId"],
            "secret_key": answer["SecretAccessKey"],
            "token": answer["SessionToken"],
            "expiry_time": expiry.isoformat(),
        }


def assume_role_session(
    source: boto3.Session,
    args: dict[str, Any],
    endpoint: S3Endpoint,
) -> tuple[boto3.Session, AssumedRole]:
    """A session whose credentials come from AssumeRole, made with ``source``'s.

    STS is asked at the role's endpoint when it has one (S3-compatible stores
    such as MinIO serve STS there too), otherwise wherever ``source``'s
    configuration sends STS requests (``AWS_ENDPOINT_URL_STS`` included).
    """
    region = source.region_name or _DEFAULT_REGION
    sts = source.client("sts", region_name=region, endpoint_url=endpoint.url)
    role = AssumedRole(sts, args)
    core = botocore.session.get_session()
    core.set_config_variable("region", region)
    core.get_component("credential_provider").insert_before("env", _Fixed(role.credentials))
    return _session(endpoint, botocore_session=core), role


def call_error_text(exc: BaseException) -> str:
    """What an AWS call's failure says, without the request it echoes."""
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


#: Failures of an AWS call that a caller sees as a CredentialsError.
CALL_ERRORS = (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError)
