"""The pieces of an HTTP call below the retry loop: pools, proxies, bodies, URLs.

Imported by ``_http``, on the first request: never at ``import tilecred``.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
import warnings
from typing import Any
from urllib.parse import unquote, urlsplit

import urllib3
from urllib3 import BaseHTTPResponse
from urllib3.exceptions import InsecureRequestWarning

from ._proxy import basic_proxy_auth, without_userinfo

__all__ = [
    "DEFAULT_PORTS",
    "Origin",
    "new_manager",
    "origin",
    "origin_of",
    "path_of",
    "proxy_secrets",
    "read_body",
    "retry_after_seconds",
    "warn_unverified",
    "without",
]

DEFAULT_PORTS = {"http": 80, "https": 443}
Origin = tuple[str, str, int | None]


def new_manager(proxy: str | None, options: dict[str, Any]) -> urllib3.PoolManager:
    """A pool manager, direct or through ``proxy``; its credentials go to it alone.

    urllib3 sends ``proxy_headers`` only to the proxy: in the CONNECT of a
    tunnel, or with a plain-HTTP request it forwards. The API token travels
    inside the tunnel, never in the CONNECT.
    """
    if proxy is None:
        return urllib3.PoolManager(**options)
    auth = basic_proxy_auth(proxy)
    headers = {} if auth is None else {"Proxy-Authorization": auth}
    return urllib3.ProxyManager(without_userinfo(proxy), proxy_headers=headers, **options)


def proxy_secrets(proxy: str | None) -> tuple[str | None, ...]:
    """A proxy's password and its Basic value: never to be shown."""
    if proxy is None:
        return ()
    password = urlsplit(proxy).password
    auth = basic_proxy_auth(proxy)
    return (password, unquote(password or ""), None if auth is None else auth.split(" ", 1)[1])


def warn_unverified(hostname: str) -> None:
    """Warn once that ``hostname``'s certificates go unchecked; quiet urllib3 for it alone.

    urllib3 warns on every request made without verification, which would
    drown the output of a user who turned it off on purpose. Its warning is
    silenced only for this host: other code in the process that talks to
    other hosts unverified is still warned. The filter is added once per
    client, never per request.
    """
    warnings.warn(
        f"TLS certificates of {hostname} are not verified: verify_ssl is off",
        InsecureRequestWarning,
        stacklevel=2,
    )
    warnings.filterwarnings(
        "ignore",
        message=f"Unverified HTTPS request is being made to host '{re.escape(hostname)}'",
        category=InsecureRequestWarning,
        module=r"urllib3\.connectionpool",
    )


def read_body(resp: BaseHTTPResponse, deadline: float) -> bytes | None:
    """The whole (decoded) body, or ``None`` if the deadline passed first.

    urllib3's read timeout starts again with every byte received, so a server
    that trickles its answer could hold a call for as long as it liked; here
    each read may wait only until the deadline. A connection given up on is
    closed and not returned to the pool: its unread rest would be taken for
    the next answer.
    """
    # Without a content-encoding there is nothing to decode, and read1 can hand
    # over what it read as it is: with decoding on, urllib3 copies every chunk
    # through its decoded-content buffer (what that costs: docs/benchmarks.md).
    decode = "content-encoding" in resp.headers
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            resp.close()
            return None
        # The connection is None once urllib3 has put it back in the pool, where
        # another thread may take it; its socket is None once http.client has
        # handed it to the response ("Connection: close"). Either way the read
        # timeout set for the request bounds the read.
        sock = getattr(resp.connection, "sock", None)
        if sock is not None:
            sock.settimeout(remaining)
        chunk = resp.read1(decode_content=decode)
        if not chunk:
            break
        chunks.append(chunk)
        if resp.closed and not decode:
            break  # all read, and nothing left in a decoder: no need to ask for more
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - time.time())
    if math.isnan(seconds) or seconds < 0:
        return None
    return seconds


def origin_of(url: str) -> Origin:
    split = urlsplit(url)
    scheme = split.scheme.lower()
    try:
        port = split.port
    except ValueError:
        port = None
    return (scheme, (split.hostname or "").lower(), port or DEFAULT_PORTS.get(scheme))


def origin(url: str) -> str:
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc}"


def path_of(target: str) -> str:
    """The path of a target or URL, without its query: what a log line may show."""
    return urlsplit(target).path


def without(headers: dict[str, str], names: frozenset[str] | set[str]) -> dict[str, str]:
    return {key: value for key, value in headers.items() if key.lower() not in names}
