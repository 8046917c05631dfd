"""Checks on the caller's arguments, made before any I/O.

Every function here either returns a value ready for the wire or raises
``InvalidArgumentError``; none of them touches the network or the disk.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import TypeVar

import msgspec

from ._errors import InvalidArgumentError
from ._limits import (
    MAX_CREDENTIAL_NAME,
    MAX_DESCRIPTION,
    MAX_PURPOSE,
    MAX_TEAMSPACE_NAME,
    MAX_WORKSPACE_NAME,
)
from ._models import (
    MEMBER_PROVIDERS,
    MEMBER_TYPES,
    AccessCredentialRole,
    CloudProvider,
    Credential,
    CredentialType,
    Token,
    _Model,
)
from ._suggest import did_you_mean

__all__ = [
    "DEFAULT_PER_PAGE",
    "MAX_PAGE",
    "TEAMSPACE_ID_PREFIX",
    "VISIBILITIES",
    "check_audit_limit",
    "check_bool",
    "check_credential_type",
    "check_description",
    "check_name",
    "check_page",
    "check_provider",
    "check_providers",
    "check_purpose",
    "check_secret",
    "check_since",
    "check_teamspace",
    "check_teamspace_name",
    "check_workspace",
    "is_teamspace_id",
]

_Container = TypeVar("_Container", bound=_Model)

# The largest page number and page size: the service's paging fields are int32.
MAX_PAGE = 2**31 - 1
# The page size of a listing that asks for none, on every backend (the
# largest is tilecred._limits.MAX_PER_PAGE).
DEFAULT_PER_PAGE = 100

# Teamspace ids start with this; a teamspace name must not, or it could not
# be told from an id.
TEAMSPACE_ID_PREFIX = "ts_"
VISIBILITIES = ("private", "public")

# C0 and C1 control characters, and lone surrogates (which cannot be encoded
# into a URL or a JSON body).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def _bounded_text(value: object, what: str, limit: int) -> str:
    """A str of at most ``limit`` characters (checked before a message could quote it)."""
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}")
    if len(value) > limit:
        raise InvalidArgumentError(f"{what} is {len(value)} characters long; the limit is {limit}")
    return value


def check_purpose(value: object) -> str | None:
    """What a use is for, recorded in its audit record: printable text of at most
    ``MAX_PURPOSE`` characters; ``None`` or empty for none."""
    if value is None or value == "":
        return None
    value = _bounded_text(value, "purpose", MAX_PURPOSE)
    if _CONTROL.search(value) or _SURROGATE.search(value):
        raise InvalidArgumentError(f"purpose {value!r} must be printable text")
    return value


def check_name(value: object, what: str = "name", limit: int = MAX_CREDENTIAL_NAME) -> str:
    """A name: a non-empty str of at most ``limit`` characters, no ``/``, no control characters.

    The default limit is a credential name's (``tilecred._limits``).
    """
    if not isinstance(value, str):
        raise InvalidArgumentError(f"{what} must be a str, not {type(value).__name__}")
    if not value:
        raise InvalidArgumentError(f"{what} must not be empty")
    if len(value) > limit:
        # Checked before any message quotes the name: it may be huge.
        raise InvalidArgumentError(f"{what} is {len(value)} characters long; the limit is {limit}")
    if "/" in value:
        raise InvalidArgumentError(f"{what} {value!r} must not contain '/'")
    if _CONTROL.search(value):
        raise InvalidArgumentError(f"{what} {value!r} must not contain control characters")
    if _SURROGATE.search(value):
        raise InvalidArgumentError(f"{what} {value!r} must not contain lone surrogates")
    return value


# A description may run over lines and hold tabs; no other control characters.
_DESCRIPTION_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def check_description(value: object) -> str | None:
    """``None``, or a credential's description: a str of at most ``MAX_DESCRIPTION``
    characters, lines and tabs allowed, no other control characters.

    ``""`` is kept: on update it removes the description.
    """
    if value is None:
        return None
    value = _bounded_text(value, "description", MAX_DESCRIPTION)
    if _DESCRIPTION_CONTROL.search(value):
        raise InvalidArgumentError("description must not contain control characters")
    if _SURROGATE.search(value):
        raise InvalidArgumentError("description must not contain lone surrogates")
    return value


def check_teamspace(value: object) -> str | None:
    """``None``, a teamspace id or name, or an object with ``teamspace_id``."""
    if value is None:
        return None
    if not isinstance(value, str):
        try:
            ident = getattr(value, "teamspace_id", None)
        except Exception as exc:
            # A property that fails is still the caller's argument failing.
            raise InvalidArgumentError(
                f"teamspace: reading teamspace_id of {type(value).__name__} failed: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        if ident is None:
            raise InvalidArgumentError(
                "teamspace must be a str or have a teamspace_id attribute, "
                f"not {type(value).__name__}"
            )
        value = ident
    return check_name(value, "teamspace", MAX_TEAMSPACE_NAME)


def check_workspace(value: object) -> str:
    """A workspace name or id."""
    return check_name(value, "workspace", MAX_WORKSPACE_NAME)


def is_teamspace_id(value: str) -> bool:
    """Whether ``value`` is a teamspace id (``ts_…``) rather than a name."""
    return value.startswith(TEAMSPACE_ID_PREFIX)


def check_teamspace_name(value: object, what: str = "name") -> str:
    """The name of a teamspace to create: a name that cannot be taken for an id."""
    name = check_name(value, what, MAX_TEAMSPACE_NAME)
    if is_teamspace_id(name):
        raise InvalidArgumentError(
            f"teamspace name {name!r} must not start with {TEAMSPACE_ID_PREFIX!r}"
        )
    return name


def check_provider(value: object, what: str = "provider") -> CloudProvider:
    """A ``CloudProvider`` or its name in any case."""
    if isinstance(value, CloudProvider):
        return value
    if isinstance(value, str):
        try:
            return CloudProvider(value.upper())
        except ValueError:
            pass
    choices = ", ".join(p.value for p in CloudProvider)
    raise InvalidArgumentError(f"{what} must be one of {choices}, not {value!r}")


def check_providers(value: object, what: str) -> list[CloudProvider] | None:
    """One provider or an iterable of them, for list filters."""
    if value is None:
        return None
    if isinstance(value, str | CloudProvider):
        return [check_provider(value, what)]
    if isinstance(value, Iterable):
        try:
            items = list(value)
        except Exception as exc:
            # The caller's iterable failing is still the caller's argument
            # failing; its message may quote what it held, so only its type shows.
            raise InvalidArgumentError(
                f"{what}: iterating over {type(value).__name__} failed: {type(exc).__name__}"
            ) from exc
        providers = [check_provider(item, what) for item in items]
        return providers or None
    raise InvalidArgumentError(f"{what} must be a provider or a list of them, not {value!r}")


def check_credential_type(value: object) -> CredentialType | None:
    """A ``CredentialType`` or its name, for list filters."""
    if value is None or isinstance(value, CredentialType):
        return value
    if isinstance(value, str):
        try:
            return CredentialType(value.lower())
        except ValueError:
            pass
    raise InvalidArgumentError(f"credential_type must be workspace or teamspace, not {value!r}")


def check_page(page: object, per_page: object) -> tuple[int, int | None]:
    """A 1-based page number and an optional positive page size.

    ``page=None`` means the first page, as in TileDB's client.
    """
    if page is None:
        page = 1
    if isinstance(page, bool) or not isinstance(page, int) or page < 1:
        raise InvalidArgumentError(f"page must be an int of at least 1, not {page!r}")
    if per_page is not None and (
        isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1
    ):
        raise InvalidArgumentError(
            f"per_page must be None or an int of at least 1, not {per_page!r}"
        )
    # Refused here rather than as an OverflowError from the store or the server.
    if page > MAX_PAGE:
        raise InvalidArgumentError(f"page must be at most {MAX_PAGE}, not {page}")
    if per_page is not None and per_page > MAX_PAGE:
        raise InvalidArgumentError(f"per_page must be at most {MAX_PAGE}, not {per_page}")
    return page, per_page


def check_since(value: object) -> datetime.datetime | None:
    """``None``, an aware datetime, or a positive timedelta meaning "that long ago"."""
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        if value <= datetime.timedelta(0):
            raise InvalidArgumentError(f"since must be a positive timedelta, not {value}")
        try:
            return datetime.datetime.now(datetime.UTC) - value
        except OverflowError:
            raise InvalidArgumentError(
                f"since reaches before the year 1: {value} ago is no time"
            ) from None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgumentError(
                f"since must carry a time zone (e.g. datetime.UTC), not {value.isoformat()}"
            )
        return value
    raise InvalidArgumentError(
        f"since must be a datetime or a timedelta, not {type(value).__name__}"
    )


def check_audit_limit(value: object, default: int, maximum: int) -> int:
    """How many audit records to read: ``None`` is ``default``; at most ``maximum``."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= maximum:
        raise InvalidArgumentError(f"limit must be an int from 1 to {maximum}, not {value!r}")
    return value


def check_bool(value: object, what: str) -> bool | None:
    """``None`` or a real bool (not ``0``, not ``"yes"``)."""
    if value is None or isinstance(value, bool):
        return value
    raise InvalidArgumentError(f"{what} must be a bool, not {type(value).__name__}")


# Which field of each container holds which member type.
_MEMBER_FIELDS = {
    container: {member: field for field, member in members.items()}
    for container, members in MEMBER_TYPES.items()
}


# Kept as they are by ``to_builtins``, so that ``bytes`` where a ``str`` belongs
# is rejected rather than silently base64-encoded.
_KEEP = (bytes, bytearray, memoryview)
_ENCODER = msgspec.json.Encoder()


def _convert(value: object, container: type[_Container], what: str) -> _Container:
    """A checked container struct from a struct, a lone member struct, or plain data.

    msgspec does not check field types when a struct is built, and passes a
    struct through ``convert`` unchecked, so every value is first made plain
    data (structs at any depth become dicts) and then checked all the way down.
    """
    if isinstance(value, _Model) and not isinstance(value, container):
        # A lone member (AWSCredential(...)) stands for its container.
        field = _MEMBER_FIELDS[container].get(type(value))
        if field is None:
            raise InvalidArgumentError(
                f"{what} must be of type {container.__name__} or dict, not {type(value).__name__}"
            )
        value = {field: value}
    elif not isinstance(value, dict | _Model) and callable(
        to_dict := getattr(value, "to_dict", None)
    ):
        # A model object of TileDB's own client (OpenAPI-generated): code
        # written for that client passes these, and they all have to_dict().
        try:
            value = to_dict()
        except Exception as exc:
            # Its message may quote the object's fields (secrets among them):
            # only the type shows.
            raise InvalidArgumentError(
                f"invalid {what}: {type(value).__name__}.to_dict() failed: {type(exc).__name__}"
            ) from exc
    try:
        plain = msgspec.to_builtins(value, builtin_types=_KEEP)
        # Before the conversion: a misspelt required field is reported as the
        # unknown name it is, not as the missing one it was meant to be.
        unknown = _unknown_field(plain, container)
        if unknown is not None:
            # Responses may carry fields we do not know; a request may not: a
            # misspelt "externalid" would otherwise vanish without a word.
            raise InvalidArgumentError(f"invalid {what}: unknown field {unknown}")
        converted = msgspec.convert(plain, container)
    except (msgspec.ValidationError, TypeError) as exc:
        # msgspec's messages name the path ($.aws.role_arn) or the type, never a value.
        raise InvalidArgumentError(f"invalid {what}: {exc}") from exc
    except RecursionError as exc:
        raise InvalidArgumentError(
            f"invalid {what}: nested too deeply (does it contain itself?)"
        ) from exc
    try:
        # Every backend sends or stores it as UTF-8: find out now, not halfway.
        _ENCODER.encode(converted)
    except UnicodeEncodeError as exc:
        raise InvalidArgumentError(
            f"invalid {what}: String contains a lone surrogate - at `{_surrogate_at(converted)}`"
        ) from exc
    return converted


def _struct_fields(struct: type[_Model]) -> dict[str, type[_Model] | None]:
    """Each field of a struct, with the struct type it holds (``None`` for plain values)."""
    fields: dict[str, type[_Model] | None] = {}
    for field in msgspec.structs.fields(struct):
        inner = [
            hint
            for hint in getattr(field.type, "__args__", (field.type,))
            if isinstance(hint, type) and issubclass(hint, _Model)
        ]
        fields[field.name] = inner[0] if inner else None
    return fields


def _unknown_field(data: object, struct: type[_Model], path: str = "$") -> str | None:
    """The first key in plain data that ``struct`` has no field for, with its path."""
    if not isinstance(data, dict):
        return None
    fields = _STRUCT_FIELDS.get(struct) or _STRUCT_FIELDS.setdefault(struct, _struct_fields(struct))
    for key, inner in data.items():
        if key not in fields:
            near = did_you_mean(str(key), fields)
            return f"`{key}` - at `{path}`{near}; valid: {', '.join(fields)}"
        nested = fields[key]
        if nested is not None and (found := _unknown_field(inner, nested, f"{path}.{key}")):
            return found
    return None


# Filled on first use: the fields of each struct a request may carry.
_STRUCT_FIELDS: dict[type[_Model], dict[str, type[_Model] | None]] = {}


def _surrogate_at(value: _Model, path: str = "$") -> str | None:
    """The path of the first string in a struct that holds a lone surrogate."""
    for field in value.__struct_fields__:
        inner = getattr(value, field)
        if isinstance(inner, str) and _SURROGATE.search(inner):
            return f"{path}.{field}"
        if isinstance(inner, _Model) and (found := _surrogate_at(inner, f"{path}.{field}")):
            return found
    return None


def check_secret(
    provider: CloudProvider | None,
    credential: object,
    role: object,
    token: object,
    *,
    required: bool,
) -> tuple[Credential | None, AccessCredentialRole | None, Token | None]:
    """Exactly one (``required``) or at most one of credential, role and token.

    The one given must be a container with exactly one member, that member
    must belong to ``provider`` (when one is known), and it must carry the
    secret fields a request needs.
    """
    given = [
        what
        for what, value in (("credential", credential), ("role", role), ("token", token))
        if value is not None
    ]
    if len(given) > 1:
        raise InvalidArgumentError(
            f"give only one of credential, role and token, not {' and '.join(given)}"
        )
    if required and not given:
        raise InvalidArgumentError("give one of credential, role or token")
    cred = None if credential is None else _convert(credential, Credential, "credential")
    rol = None if role is None else _convert(role, AccessCredentialRole, "role")
    tok = None if token is None else _convert(token, Token, "token")
    for what, container in (("credential", cred), ("role", rol), ("token", tok)):
        if container is not None:
            _check_members(container, what, provider)
    return cred, rol, tok


def _check_members(container: _Model, what: str, provider: CloudProvider | None) -> None:
    members = [f for f in container.__struct_fields__ if getattr(container, f) is not None]
    if len(members) != 1:
        found = ", ".join(members) if members else "none"
        raise InvalidArgumentError(f"{what} must hold exactly one member, found {found}")
    member = members[0]
    owner = MEMBER_PROVIDERS[type(container)][member]
    if provider is not None and owner is not provider:
        raise InvalidArgumentError(
            f"{what}.{member} is for provider {owner.value}, not {provider.value}"
        )
    value = getattr(container, member)
    for field in type(value).__required_secrets__:
        if not getattr(value, field):
            raise InvalidArgumentError(f"{what}.{member}.{field} is required")
