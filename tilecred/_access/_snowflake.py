"""Snowflake service users' key pairs: environment variables only."""

from __future__ import annotations

from typing import ClassVar

from .._models import SnowflakeServiceUserKey
from ._base import Forms, use_error

__all__ = ["SnowflakeForms"]

_NOT_STORAGE = "Snowflake is a database, not object storage"


class SnowflakeForms(Forms):
    """``Token(snowflake=SnowflakeServiceUserKey(...))``.

    The variables are those Snowflake's CLI reads for a connection
    (``SNOWFLAKE_<PARAMETER>``), with key-pair (JWT) authentication. The
    private key goes to a 0600 file that closing the access removes: the CLI
    and the connector take a key by path.
    """

    kind = "a Snowflake service user key"
    not_applicable: ClassVar[dict[str, str]] = {
        "storage_options": _NOT_STORAGE + " (no fsspec filesystem)",
        "tiledb_config": _NOT_STORAGE + " (TileDB cannot read it)",
        "boto3_session": "boto3 is for AWS",
    }
    member: SnowflakeServiceUserKey

    def env(self) -> dict[str, str]:
        key = self.member
        if key.account is None or key.user is None:
            raise use_error(self.name, f"{self.kind} needs an account and a user")
        if key.private_key_raw is None:
            raise use_error(self.name, f"{self.kind} came without its secret")
        path = self.files.write("snowflake-private-key.p8", key.private_key_raw)
        env = {
            "SNOWFLAKE_ACCOUNT": key.account,
            "SNOWFLAKE_USER": key.user,
            "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_JWT",
            "SNOWFLAKE_PRIVATE_KEY_FILE": path,
            # The name older CLI releases read.
            "SNOWFLAKE_PRIVATE_KEY_PATH": path,
        }
        if key.private_key_passphrase is not None:
            # Snowflake's CLI reads an encrypted key's passphrase from this name.
            env["PRIVATE_KEY_PASSPHRASE"] = key.private_key_passphrase
        if key.role is not None:
            env["SNOWFLAKE_ROLE"] = key.role
        if key.warehouse is not None:
            env["SNOWFLAKE_WAREHOUSE"] = key.warehouse
        return env
