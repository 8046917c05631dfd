"""Reading a request: its JSON body and its query parameters, for the handlers.

Each function returns a value ready for the store or raises
:class:`HttpError` (400) naming the field or parameter at fault.
"""

from __future__ import annotations

import datetime
import re
from typing import Any, TypeVar

import msgspec

from .._arguments import check_description, check_name, check_provider, check_secret
from .._errors import InvalidArgumentError
from .._models import (
    CloudProvider,
    CredentialCreateRequest,
    CredentialsVerifyRequest,
    CredentialType,
    CredentialUpdateRequest,
)
from ._request import HttpError, Request, first_param

__all__ = [
    "bool_param",
    "check_request",
    "decode_body",
    "int_param",
    "invalid_request",
    "providers_param",
    "since_param",
    "type_param",
]

T = TypeVar("T")

_MISSING_FIELD = re.compile(r"^Object missing required field `([^`]+)`")
_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_SECRET_PATH = re.compile(r"(credential|role|token)(\.\w+)*")
_TRUE = frozenset({"true", "1"})
_FALSE = frozenset({"false", "0"})

# One decoder per request model, built on first use and reused.
_DECODERS: dict[type, msgspec.json.Decoder[Any]] = {}


def decode_body(body: bytes, model: type[T]) -> T:
    """A request body as ``model``; a failure is a 400 naming the field's JSON path."""
    decoder = _DECODERS.get(model)
    if decoder is None:
        decoder = _DECODERS[model] = msgspec.json.Decoder(model)
    try:
        result: T = decoder.decode(body)
        return result
    except msgspec.ValidationError as exc:
        text = str(exc)
        at = _AT_PATH.search(text)
        path = at.group(1) if at else "$"
        message = text[: at.start()] if at else text
        missing = _MISSING_FIELD.match(message)
        if missing:
            path = f"{path}.{missing.group(1)}"
        raise HttpError(400, f"invalid request body: {text}", field=path) from exc
    except msgspec.DecodeError as exc:
        raise HttpError(400, f"request body is not valid JSON: {exc}") from exc


def check_request(
    body: CredentialCreateRequest | CredentialUpdateRequest | CredentialsVerifyRequest,
    *,
    required: bool,
) -> None:
    """The client's own argument checks, on a request that did not come through it."""
    try:
        if body.name is not None:
            check_name(body.name)
    except InvalidArgumentError as exc:
        raise invalid_request(exc, "$.name") from exc
    try:
        check_description(getattr(body, "description", None))
    except InvalidArgumentError as exc:
        raise invalid_request(exc, "$.description") from exc
    try:
        check_secret(body.provider, body.credential, body.role, body.token, required=required)
    except InvalidArgumentError as exc:
        raise invalid_request(exc, "$") from exc


def invalid_request(exc: InvalidArgumentError, default_field: str) -> HttpError:
    # "credential.aws.secret_access_key is required" names its field; "give
    # only one of credential, role and token" is about the whole body.
    found = _SECRET_PATH.match(exc.message)
    field = "$." + found.group(0) if found and default_field == "$" else default_field
    return HttpError(400, f"invalid request: {exc.message}", field=field)


def bool_param(request: Request, name: str) -> bool | None:
    value = first_param(request.params, name)
    if value is None:
        return None
    lowered = value.lower()
    # TileDB's client sends Python's str(bool): "True" / "False".
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise HttpError(400, f"query parameter {name} must be true or false, not {value!r}", field=name)


def int_param(request: Request, name: str, default: int, *, maximum: int) -> int:
    value = first_param(request.params, name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= maximum:
        raise HttpError(
            400, f"query parameter {name} must be an integer from 1 to {maximum}, not {value!r}",
            field=name,
        )  # fmt: skip
    return number


def providers_param(request: Request, name: str) -> tuple[CloudProvider, ...] | None:
    values = [v for raw in request.params.get(name, ()) for v in raw.split(",") if v]
    if not values:
        return None
    try:
        return tuple(check_provider(value, f"query parameter {name}") for value in values)
    except InvalidArgumentError as exc:
        raise HttpError(400, exc.message, field=name) from exc


def since_param(request: Request) -> datetime.datetime | None:
    value = first_param(request.params, "since")
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        moment = None
    if moment is None or moment.utcoffset() is None:
        raise HttpError(
            400, f"query parameter since must be an RFC 3339 time with a zone, not {value!r}",
            field="since",
        )  # fmt: skip
    return moment


def type_param(request: Request) -> CredentialType | None:
    value = first_param(request.params, "type")
    if value is None or value == "":
        return None
    try:
        return CredentialType(value.lower())
    except ValueError:
        raise HttpError(
            400, f"query parameter type must be workspace or teamspace, not {value!r}", field="type"
        ) from None
