"""A one-item container listing for an Azure account key or SAS token.

``GET {blob_endpoint}/?comp=list&maxresults=1``, signed with the account key
(Shared Key) or carrying the SAS token as its query: the smallest call that
proves the secret opens the account. The answer's ``Code`` and ``Message``
are quoted when the service refuses.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import re
from urllib.parse import urlsplit

from ._live import http_call, refused
from ._models import AzureCredential, AzureToken

__all__ = ["list_one_container"]

_VERSION = "2021-08-06"
_CODE = re.compile(rb"<Code>([^<]{1,256})</Code>")
_MESSAGE = re.compile(rb"<Message>([^<]{0,2048})</Message>")


def endpoint(secret: AzureCredential | AzureToken) -> str:
    """The blob endpoint: the stored one, else the account's public one."""
    if secret.blob_endpoint:
        return secret.blob_endpoint.rstrip("/") + "/"
    return f"https://{secret.account_name}.blob.core.windows.net/"


def list_one_container(name: str, secret: AzureCredential | AzureToken) -> str:
    """The account name, once the service listed (at most) one container."""
    base = endpoint(secret)
    account = secret.account_name or urlsplit(base).hostname or ""
    date = email.utils.formatdate(usegmt=True)
    headers = {"x-ms-date": date, "x-ms-version": _VERSION}
    hidden: str
    if isinstance(secret, AzureToken):
        hidden = (secret.sas_token or "").lstrip("?")
        url = f"{base}?comp=list&maxresults=1&{hidden}"
    else:
        hidden = secret.account_key or ""
        url = f"{base}?comp=list&maxresults=1"
        headers["Authorization"] = _shared_key(account, hidden, urlsplit(base).path, headers)
    status, data = http_call(name, "GET", url, headers=headers)
    if status == 200:
        return account
    code = _CODE.search(data)
    message = _MESSAGE.search(data)
    said = message.group(1).decode("utf-8", "replace") if message else f"HTTP {status}"
    if hidden:
        said = said.replace(hidden, "***")
    raise refused(name, base, code.group(1).decode("utf-8", "replace") if code else status, said)


def _shared_key(account: str, key: str, path: str, headers: dict[str, str]) -> str:
    """``SharedKey account:signature`` of a GET with no body (the Blob service's
    string to sign: eleven empty standard headers, x-ms-*, the resource)."""
    canonical_headers = "".join(f"{k}:{v}\n" for k, v in sorted(headers.items()))
    resource = f"/{account}{path or '/'}\ncomp:list\nmaxresults:1"
    to_sign = "GET\n" + "\n" * 11 + canonical_headers + resource
    try:
        secret = base64.b64decode(key, validate=True)
    except ValueError:
        secret = key.encode()  # not base64: the service refuses it in its own words
    digest = hmac.new(secret, to_sign.encode(), hashlib.sha256).digest()
    return f"SharedKey {account}:{base64.b64encode(digest).decode()}"
