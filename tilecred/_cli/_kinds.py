"""The kinds of secret a credential can hold, and their command-line options.

A kind names one member of one secret container (``--kind role`` is
``role.aws``). Kind names are unique across providers, so a kind alone says
which provider and container it belongs to.
"""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

import msgspec

from tilecred import AccessCredential, CloudProvider
from tilecred._models import CONTAINERS, MEMBER_TYPES

from ._failures import CommandError, UsageError
from ._inputs import SecretSource, read_secret, secret_source, stdin_is_terminal

__all__ = [
    "DEFAULT_KINDS",
    "KINDS",
    "Kind",
    "add_kind_options",
    "kind_of",
    "secret_from_options",
    "used_kind_options",
]


@dataclasses.dataclass(frozen=True)
class Kind:
    """One kind of secret: where it goes on the wire and which options fill it.

    Attributes:
        name: the ``--kind`` value.
        provider: the provider it belongs to.
        container: ``"credential"``, ``"role"`` or ``"token"``.
        member: the container's field (``"aws"``).
        fields: the wire fields its options fill, in order.
        required: the fields that must be given.
        secret_label: how prompts and messages name that secret.
        key_file: the secret is a key file's text (several lines).
        summary: one line for ``--help``.
    """

    name: str
    provider: CloudProvider
    container: str
    member: str
    fields: tuple[str, ...]
    required: tuple[str, ...]
    secret_label: str
    key_file: bool
    summary: str

    @property
    def _secret_fields(self) -> tuple[str, ...]:
        # The models mark which fields are secret; the first is the secret itself.
        return MEMBER_TYPES[CONTAINERS[self.container]][self.member].__secret_fields__

    @property
    def secret(self) -> str | None:
        """The wire field of its secret, if it has one."""
        return self._secret_fields[0] if self._secret_fields else None

    @property
    def extra_secrets(self) -> tuple[str, ...]:
        """The wire fields of the secrets that come beside the secret (a key's
        passphrase, an AWS session token, an OAuth refresh token)."""
        return self._secret_fields[1:]


KINDS: dict[str, Kind] = {
    kind.name: kind
    for kind in (
        Kind("keys", CloudProvider.AWS, "credential", "aws",
             ("access_key_id", "endpoint", "use_path_style"), ("access_key_id",),
             "AWS secret access key", False, "an AWS access key pair"),
        Kind("role", CloudProvider.AWS, "role", "aws",
             ("role_arn", "external_id", "endpoint", "use_path_style"), ("role_arn",),
             "", False, "an AWS IAM role to assume"),
        Kind("account-key", CloudProvider.AZURE, "credential", "azure",
             ("account_name", "blob_endpoint"), ("account_name",),
             "Azure storage account key", False, "an Azure storage account key"),
        Kind("sas", CloudProvider.AZURE, "token", "azure",
             ("account_name", "blob_endpoint"), ("account_name",),
             "Azure SAS token", False, "an Azure shared access signature"),
        Kind("entra-id", CloudProvider.AZURE, "token", "azure_entra_id",
             ("blob_endpoint",), ("blob_endpoint",),
             "", False, "Azure Entra ID access to a blob endpoint"),
        Kind("entra-id-task", CloudProvider.AZURE, "token", "azure_entra_id_task",
             ("client_id", "tenant_id", "blob_endpoint"), ("client_id",),
             "", False, "Azure Entra ID access for tasks (an application client id)"),
        Kind("hmac", CloudProvider.GCP, "credential", "gcp",
             ("access_key_id",), ("access_key_id",),
             "GCP HMAC secret", False, "a GCP HMAC key pair"),
        Kind("service-account", CloudProvider.GCP, "token", "gcp",
             ("account_id", "key_id"), (),
             "GCP service-account key", True, "a GCP service-account key file"),
        Kind("key-pair", CloudProvider.SNOWFLAKE, "token", "snowflake",
             ("account", "user", "role", "warehouse"), ("account", "user"),
             "Snowflake private key", True, "a Snowflake service user's key"),
        Kind("service-principal", CloudProvider.DATABRICKS, "token", "databricks",
             ("host", "client_id"), ("host", "client_id"),
             "Databricks client secret", False,
             "a Databricks service principal's OAuth secret"),
        Kind("pat", CloudProvider.DATABRICKS, "token", "databricks_pat",
             ("host",), ("host",),
             "Databricks personal access token", False, "a Databricks personal access token"),
        Kind("azure-service-principal", CloudProvider.AZURE, "credential",
             "azure_service_principal",
             ("tenant_id", "client_id", "account_name", "authority"), ("tenant_id", "client_id"),
             "Azure client secret", False, "an Azure service principal's client secret"),
        Kind("basic", CloudProvider.GENERIC, "credential", "basic",
             ("user", "host", "port", "database", "scheme", "params"), ("user",),
             "password", False, "a user name and password (a database, a warehouse, an API)"),
        Kind("bearer", CloudProvider.GENERIC, "token", "bearer",
             ("url", "header"), (),
             "API token", False, "an API token sent in a header"),
        Kind("oauth", CloudProvider.GENERIC, "credential", "oauth",
             ("token_url", "client_id", "scopes", "audience"), ("token_url", "client_id"),
             "OAuth client secret", False, "an OAuth client (client credentials, refresh token)"),
    )
}  # fmt: skip

# The first kind of each provider is the one used when --kind is not given.
DEFAULT_KINDS = {
    provider: next(k for k in KINDS.values() if k.provider is provider)
    for provider in CloudProvider
}

# Wire field -> (option, help). Two fields get longer options because their
# plain names are taken: --host is a global option, "role" a container.
_FIELD_OPTIONS: dict[str, tuple[str, str]] = {
    "access_key_id": ("--access-key-id", "the access key id (AWS keys, GCP HMAC)"),
    "role_arn": ("--role-arn", "the IAM role's ARN (AWS role)"),
    "external_id": ("--external-id", "the external id the role expects (AWS role)"),
    "endpoint": ("--endpoint", "a non-AWS S3 endpoint URL (AWS)"),
    "use_path_style": ("--use-path-style", "use path-style S3 addressing (AWS)"),
    "account_name": ("--account-name", "the storage account (Azure account-key, sas)"),
    "blob_endpoint": ("--blob-endpoint", "the blob endpoint URL (Azure)"),
    "client_id": ("--client-id", "the application / service principal id (Azure, Databricks)"),
    "tenant_id": ("--tenant-id", "the Entra ID tenant (Azure entra-id-task)"),
    "account_id": ("--account-id", "the service account's email (GCP; default: from the key)"),
    "key_id": ("--key-id", "the key's id (GCP; default: from the key)"),
    "account": ("--account", "the Snowflake account"),
    "user": ("--user", "the user (Snowflake service user, basic login)"),
    "role": ("--snowflake-role", "the Snowflake role"),
    "warehouse": ("--warehouse", "the Snowflake warehouse"),
    "host": ("--service-host", "the Databricks workspace URL, or a basic login's server"),
    "port": ("--port", "the server's port (basic)"),
    "database": ("--database", "the database (basic)"),
    "scheme": ("--scheme", "postgresql, mysql, snowflake, mssql, http… (basic)"),
    "params": ("--param", "KEY=VALUE for the URL's query, repeatable (basic)"),
    "url": ("--url", "the API the token is for (bearer)"),
    "header": ("--header", "the header to send it in; default Authorization: Bearer (bearer)"),
    "token_url": ("--token-url", "the token endpoint (oauth)"),
    "scopes": ("--scope", "a scope to ask for, repeatable (oauth)"),
    "audience": ("--audience", "the audience to ask for (oauth)"),
    "authority": ("--authority", "the Entra ID host, if not the public cloud's (Azure)"),
}
# Other spellings kept for options that were renamed.
_ALIASES = {"host": ("--databricks-host",)}
# Fields given once per value (--param a=1 --param b=2), and fields that are numbers.
_REPEATED = frozenset({"params", "scopes"})
_NUMBERS = frozenset({"port"})

# The secrets beside a kind's secret: wire field -> (option prefix, how prompts name it).
EXTRA_SECRETS: dict[str, tuple[str, str]] = {
    "private_key_passphrase": ("passphrase", "key passphrase"),
    "session_token": ("session-token", "AWS session token"),
    "refresh_token": ("refresh-token", "OAuth refresh token"),
}


def _dest(field: str) -> str:
    return "kind_" + field


def add_kind_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--kind``, the kinds' field options and the secret options to a command."""
    width = max(len(k.name) for k in KINDS.values()) + 13
    listing = "\n".join(
        f"  {f'{k.name} ({k.provider.value})':<{width}} {k.summary}" for k in KINDS.values()
    )
    kinds = parser.add_argument_group(
        "secret",
        "What the credential holds. --kind defaults to the provider's first kind:\n" + listing,
    )
    kinds.add_argument("--kind", choices=list(KINDS), metavar="KIND", help="the kind of secret")
    for field, (option, text) in _FIELD_OPTIONS.items():
        options = (option, *_ALIASES.get(field, ()))
        if field == "use_path_style":
            kinds.add_argument(
                *options, dest=_dest(field), action=argparse.BooleanOptionalAction, help=text
            )
        elif field in _REPEATED:
            kinds.add_argument(*options, dest=_dest(field), action="append", metavar="VALUE",
                               help=text)  # fmt: skip
        else:
            kinds.add_argument(*options, dest=_dest(field), metavar="VALUE", help=text)
    secret = parser.add_argument_group(
        "secret value (never an argument: arguments show in ps and shell history)",
        "with none of these, a terminal prompts without echo",
    )
    one = secret.add_mutually_exclusive_group()
    one.add_argument("--secret-stdin", action="store_true", help="read the secret from stdin")
    one.add_argument(
        "--secret-file",
        "--key-file",
        metavar="FILE",
        help="read the secret (or key file: GCP service-account, Snowflake) from FILE; - is stdin",
    )
    one.add_argument("--secret-env", metavar="VAR", help="read the secret from variable VAR")
    for field, (prefix, label) in EXTRA_SECRETS.items():
        _add_extra_secret(secret, prefix, label, field)


def _add_extra_secret(group: argparse._ArgumentGroup, prefix: str, label: str, field: str) -> None:
    """``--<prefix>-stdin/-file/-env/-prompt`` for one secret beside the secret."""
    dest = prefix.replace("-", "_")
    which = ", ".join(k.name for k in KINDS.values() if field in k.extra_secrets)
    one = group.add_mutually_exclusive_group()
    one.add_argument(
        f"--{prefix}-stdin",
        dest=f"{dest}_stdin",
        action="store_true",
        help=f"read the {label} from stdin ({which})",
    )
    one.add_argument(
        f"--{prefix}-file", dest=f"{dest}_file", metavar="FILE", help=f"read the {label} from FILE"
    )
    one.add_argument(
        f"--{prefix}-env",
        dest=f"{dest}_env",
        metavar="VAR",
        help=f"read the {label} from variable VAR",
    )
    one.add_argument(f"--{prefix}-prompt", dest=f"{dest}_prompt", action="store_true",
                     help=f"prompt for the {label}")  # fmt: skip


def used_kind_options(args: argparse.Namespace) -> list[str]:
    """The kind, field and secret options given on this command line."""
    used = [option for field, (option, _) in _FIELD_OPTIONS.items()
            if getattr(args, _dest(field), None) is not None]  # fmt: skip
    prefixes = ["secret"] + [prefix.replace("-", "_") for prefix, _ in EXTRA_SECRETS.values()]
    for prefix in prefixes:
        for suffix in ("stdin", "file", "env", "prompt"):
            if getattr(args, f"{prefix}_{suffix}", None):
                used.append(f"--{prefix}-{suffix}")
    if args.kind is not None:
        used.insert(0, "--kind")
    return used


def secret_from_options(args: argparse.Namespace, kind: Kind) -> dict[str, Any]:
    """The secret container the options describe, as a JSON-like dict.

    Options that do not belong to ``kind`` are refused, required ones checked,
    and the secret read last, so a wrong option fails before anything is read.

    Returns:
        ``{"credential" | "role" | "token": {member: {field: value}}}``.

    Raises:
        UsageError: an option does not fit the kind, or a required one is missing.
        CommandError: the secret cannot be read.
    """
    for field, (option, _) in _FIELD_OPTIONS.items():
        if field not in kind.fields and getattr(args, _dest(field), None) is not None:
            raise UsageError(f"{option} does not apply to --kind {kind.name}")
    values: dict[str, Any] = {}
    for field in kind.fields:
        value = getattr(args, _dest(field))
        if value is not None:
            values[field] = _field_value(field, value)
    source = secret_source(args, "secret")
    extras = {}
    for field, (prefix, _) in EXTRA_SECRETS.items():
        extra = secret_source(args, prefix.replace("-", "_"))
        if extra is None:
            continue
        if field not in kind.extra_secrets:
            owners = " or ".join(k.name for k in KINDS.values() if field in k.extra_secrets)
            raise UsageError(f"{extra.option} applies only to --kind {owners}")
        extras[field] = extra
    if kind.secret is None and source is not None:
        raise UsageError(f"{source.option}: --kind {kind.name} holds no secret")
    missing = [f for f in kind.required if f not in values]
    if missing:
        options = " and ".join(_FIELD_OPTIONS[f][0] for f in missing)
        raise UsageError(f"--kind {kind.name} needs {options}")
    if kind.secret is not None:
        if source is None:
            if kind.key_file:
                raise UsageError(f"--kind {kind.name} needs the key: give --key-file FILE")
            if not stdin_is_terminal():
                raise UsageError(
                    f"no {kind.secret_label} given: use --secret-stdin, --secret-file FILE or "
                    "--secret-env VAR (standard input is not a terminal, so there is no prompt)"
                )
            source = SecretSource("prompt", None, f"--kind {kind.name}")
        values[kind.secret] = read_secret(source, kind.secret_label, multiline=kind.key_file)
    for field, extra in extras.items():
        values[field] = read_secret(extra, EXTRA_SECRETS[field][1])
    if kind.name == "service-account":
        _fill_from_key(values)
    return {kind.container: {kind.member: values}}


def _field_value(field: str, value: Any) -> Any:
    """An option's value as the wire field takes it: a number, a mapping, a list."""
    if field in _NUMBERS:
        try:
            return int(value)
        except ValueError:
            raise UsageError(f"{_FIELD_OPTIONS[field][0]} takes a number, not {value!r}") from None
    if field == "params":
        pairs = {}
        for item in value:
            key, equals, text = item.partition("=")
            if not equals or not key:
                raise UsageError(f"--param takes KEY=VALUE, not {item!r}")
            pairs[key] = text
        return pairs
    return value


_KEY_FILE_FIELDS = {"account_id": "client_email", "key_id": "private_key_id"}


def _fill_from_key(values: dict[str, Any]) -> None:
    """Take the account and key id from a service-account key file, unless given."""
    if all(field in values for field in _KEY_FILE_FIELDS):
        return
    try:
        key = msgspec.json.decode(values["key_text"], type=dict[str, Any])
    except msgspec.DecodeError:
        # The message would quote the key; say only what is wrong.
        raise CommandError("the GCP service-account key is not a JSON object") from None
    for field, key_field in _KEY_FILE_FIELDS.items():
        if field not in values:
            found = key.get(key_field)
            if not isinstance(found, str) or not found:
                option = _FIELD_OPTIONS[field][0]
                raise UsageError(f"the GCP service-account key has no {key_field}: give {option}")
            values[field] = found


def kind_of(credential: AccessCredential) -> str | None:
    """The kind name of a stored credential, from the container it came back with."""
    for kind in KINDS.values():
        container = getattr(credential, kind.container)
        if container is not None and getattr(container, kind.member) is not None:
            return kind.name
    return None
