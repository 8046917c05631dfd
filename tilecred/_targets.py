"""Association targets: URL prefixes and opaque object ids, checked and matched.

A target with ``://`` is a URL prefix (``s3://bucket/prefix/``); anything
else is an opaque id (``dag:etl_daily``) matched exactly. A URL given to
``use_credential(url=…)`` is matched without its query and fragment (which
may carry a signature) against URL targets, at a boundary: ``s3://bucket``
matches ``s3://bucket/x`` but not ``s3://bucket2/x``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ._arguments import check_provider
from ._errors import InvalidArgumentError
from ._limits import MAX_TARGET

__all__ = ["check_target", "check_url", "check_use_choice", "is_url", "longest_matches"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
# What may follow a URL prefix that does not end in "/" for it to match.
_BOUNDARY = frozenset("/?#")


def is_url(target: str) -> bool:
    """Whether a target is a URL prefix rather than an opaque id."""
    return "://" in target


def _check_text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{what} must not be empty")
    if len(value) > MAX_TARGET:
        raise InvalidArgumentError(
            f"{what} is {len(value)} characters long; the limit is {MAX_TARGET}"
        )
    if _CONTROL.search(value):
        raise InvalidArgumentError(f"{what} {value!r} must not contain control characters")
    return value


def _check_url(value: str, what: str) -> str:
    scheme, _, rest = value.partition("://")
    if not _SCHEME.fullmatch(scheme):
        raise InvalidArgumentError(
            f"{what} {value!r} has no scheme: a URL starts with one, e.g. s3://bucket/"
        )
    authority = rest.split("/", 1)[0]
    if "@" in authority:
        # A user or password in a target would be stored and shown in clear.
        raise InvalidArgumentError(
            f"{what} must not carry a user or password (the part before '@')"
        )
    return value


def check_target(value: object, what: str = "target") -> str:
    """A target: a URL prefix with a scheme, or an opaque id; non-empty, at most
    ``MAX_TARGET`` characters, no control characters."""
    text = _check_text(value, what)
    if text.strip() != text:
        raise InvalidArgumentError(f"{what} {text!r} must not start or end with spaces")
    return _check_url(text, what) if is_url(text) else text


def check_url(value: object, what: str = "url") -> str:
    """A URL to find a credential for, without its query and fragment."""
    text = _check_text(value, what)
    if not is_url(text):
        raise InvalidArgumentError(
            f"{what} {text!r} is not a URL: give one with a scheme, e.g. s3://bucket/key, "
            "or use target= for an object id"
        )
    return _check_url(re.split(r"[?#]", text, maxsplit=1)[0], what)


def _matches(prefix: str, url: str) -> bool:
    if not url.startswith(prefix):
        return False
    rest = url[len(prefix) :]
    return not rest or prefix.endswith("/") or rest[0] in _BOUNDARY


def longest_matches(url: str, targets: Iterable[str]) -> str | None:
    """The longest URL target that is a prefix of ``url`` at a boundary, if any."""
    best: str | None = None
    for target in targets:
        if is_url(target) and _matches(target, url) and (best is None or len(target) > len(best)):
            best = target
    return best


def check_use_choice(
    name: object, url: object, target: object, provider: object
) -> tuple[str, str] | None:
    """What chooses the credential to use: ``None`` for ``name`` (checked by the
    caller), else ``("url" | "target" | "provider", value)``, checked.

    Exactly one of the four must be given.
    """
    given = [
        what
        for what, value in (
            ("name", name),
            ("url", url),
            ("target", target),
            ("provider", provider),
        )
        if value is not None
    ]
    if len(given) != 1:
        said = ", ".join(given) if given else "none"
        raise InvalidArgumentError(
            f"give exactly one of name, url, target and provider to choose a credential, not {said}"
        )
    if url is not None:
        return "url", check_url(url)
    if target is not None:
        return "target", check_target(target)
    if provider is not None:
        return "provider", check_provider(provider).value
    return None
