"""The arguments of an API token, checked before anything is opened or sent:
by the library's token functions and by the store that issues tokens.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable

from ._arguments import check_name
from ._errors import InvalidArgumentError
from ._limits import MAX_TOKEN_NAME

__all__ = [
    "TOKEN_KINDS",
    "check_token_credentials",
    "check_token_expiry",
    "check_token_id",
    "check_token_kind",
    "check_token_name",
]

# What a token may be: see tilecred._local._tokens for what each may do.
TOKEN_KINDS = ("management", "admin", "task")


def check_token_name(name: str) -> None:
    """A token's name: non-empty printable text of at most ``MAX_TOKEN_NAME`` characters."""
    if len(name) > MAX_TOKEN_NAME:
        raise InvalidArgumentError(
            f"token name is {len(name)} characters long; the limit is {MAX_TOKEN_NAME}"
        )
    if not name or any(ord(ch) < 0x20 for ch in name):
        raise InvalidArgumentError(f"token name {name!r} must be non-empty printable text")


def check_token_credentials(value: Iterable[str] | None) -> tuple[str, ...] | None:
    """A task token's credential names, each checked, duplicates dropped (``None``: any)."""
    if value is None:
        return None
    if isinstance(value, str | bytes):
        raise InvalidArgumentError("credentials must be a list of credential names, not a str")
    names = tuple(dict.fromkeys(check_name(name, "credential name") for name in value))
    if not names:
        raise InvalidArgumentError("credentials must name at least one credential, or be None")
    return names


def check_token_expiry(
    value: datetime.datetime | datetime.timedelta | None, now: datetime.datetime
) -> datetime.datetime | None:
    """When a token stops working: an aware datetime in the future (``None``: never)."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        try:
            value = now + value
        except OverflowError:
            raise InvalidArgumentError(
                f"expires_at reaches past the year 9999: {value} from now is no time"
            ) from None
    if not isinstance(value, datetime.datetime) or value.utcoffset() is None:
        raise InvalidArgumentError("expires_at must be an aware datetime or a timedelta from now")
    if value <= now:
        raise InvalidArgumentError(f"expires_at {value.isoformat()} is not in the future")
    return value


def check_token_id(value: object) -> str:
    """A token's id, as issued: ``tok_`` and hex digits."""
    if not isinstance(value, str) or not value.startswith("tok_") or not value[4:].isalnum():
        raise InvalidArgumentError(f"token id must be a tok_… id as issued, not {value!r}")
    return value


def check_token_kind(kind: object, read_only: object) -> None:
    """A token's kind, and ``read_only`` only where it means something."""
    if kind not in TOKEN_KINDS:
        raise InvalidArgumentError(f"kind must be management, admin or task, not {kind!r}")
    if not isinstance(read_only, bool):
        raise InvalidArgumentError(f"read_only must be True or False, not {read_only!r}")
    if read_only and kind != "management":
        raise InvalidArgumentError(
            f"read_only is for management tokens: a token of kind {kind} is not one"
        )
