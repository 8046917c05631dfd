"""STS ``GetCallerIdentity`` for an AWS key, signed with botocore (the ``aws`` extra).

The request is signed here and sent with urllib3 (bounded, no redirect), so
the call is the same whether boto3 is configured or not; the answer's ``Arn``
is who AWS says the key belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from ._access._aws import session_name
from ._errors import ConfigurationError
from ._live import http_call, refused
from ._models import AWSCredential, AWSRole

__all__ = ["assume_role", "caller_identity"]

_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
_ARN_IN_USER = re.compile(rb"<AssumedRoleUser>.*?<Arn>([^<]{1,2048})</Arn>", re.DOTALL)
# STS answers in XML; these three elements are all that is read of it.
_ARN = re.compile(rb"<Arn>([^<]{1,2048})</Arn>")
_CODE = re.compile(rb"<Code>([^<]{1,256})</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]{0,2048})</Message>")


def caller_identity(name: str, key: AWSCredential, default_endpoint: str) -> str:
    """The ARN STS says ``key`` belongs to.

    Raises:
        ConfigurationError: botocore is not installed.
        VerificationFailedError: STS refused (its ``Code`` and ``Message``).
    """
    signer = _signer(key.access_key_id, key.secret_access_key or "", key.session_token)
    return _call(name, key.endpoint or default_endpoint, _BODY, signer, _ARN)


def assume_role(name: str, role: AWSRole, default_endpoint: str) -> str:
    """The assumed role's ARN, assumed with the caller's own AWS credentials
    (botocore's chain: environment, profile, instance role), as using the role does.

    Raises:
        ConfigurationError: botocore is not installed, or no AWS credentials to assume with.
        VerificationFailedError: STS refused (its ``Code`` and ``Message``).
    """
    _botocore()
    import botocore.session

    own = botocore.session.get_session().get_credentials()
    if own is None:
        raise ConfigurationError(
            f"credential {name!r} is an AWS role: assuming it needs AWS credentials of your "
            "own (environment, profile or instance role), and none were found",
            status=422,
        )
    frozen = own.get_frozen_credentials()
    form = {
        "Action": "AssumeRole", "Version": "2011-06-15", "RoleArn": role.role_arn,
        "RoleSessionName": session_name(name), "DurationSeconds": "900",
    }  # fmt: skip
    if role.external_id:
        form["ExternalId"] = role.external_id
    body = urlencode(form).encode()
    signer = _signer(frozen.access_key, frozen.secret_key, frozen.token)
    return _call(name, role.endpoint or default_endpoint, body, signer, _ARN_IN_USER)


def _botocore() -> None:
    try:
        import botocore  # noqa: F401
    except ImportError:
        raise ConfigurationError(
            "verifying an AWS credential live needs botocore: pip install 'tilecred[aws]'",
            status=501,
        ) from None


def _signer(key_id: str, secret: str, token: str | None) -> Callable[[Any], None]:
    _botocore()
    from botocore.auth import SigV4Auth
    from botocore.credentials import Credentials

    sign: Callable[[Any], None] = SigV4Auth(
        Credentials(key_id, secret, token), "sts", "us-east-1"
    ).add_auth
    return sign


def _call(
    name: str, url: str, body: bytes, sign: Callable[[Any], None], found: re.Pattern[bytes]
) -> str:
    from botocore.awsrequest import AWSRequest

    if not urlsplit(url).path:
        url += "/"
    request = AWSRequest(
        method="POST", url=url, data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )  # fmt: skip
    sign(request)
    headers = {k: str(v) for k, v in request.headers.items()}
    status, data = http_call(name, "POST", url, body=body, headers=headers)
    where = urlsplit(url)._replace(query="", fragment="").geturl()
    arn = found.search(data)
    if status == 200 and arn is not None:
        return arn.group(1).decode("utf-8", "replace")
    code = _CODE.search(data)
    message = _MESSAGE.search(data)
    return_code = code.group(1).decode("utf-8", "replace") if code else status
    said = message.group(1).decode("utf-8", "replace") if message else f"HTTP {status}"
    raise refused(name, where, return_code, said)
