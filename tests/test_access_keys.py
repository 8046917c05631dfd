"""Key-file forms read back by the libraries that take them, offline.

A GCP service-account key is loaded by google-auth (what gcsfs and Google's
clients use) from the file ``env()`` names and from the dict
``storage_options()`` hands gcsfs; a Snowflake key pair is loaded from the
file and passphrase ``env()`` gives, as Snowflake's CLI loads it. Real keys,
made here; nothing leaves the machine.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tilecred import (
    AccessCredential,
    CloudProvider,
    CredentialType,
    GCPServiceAccountKey,
    SnowflakeServiceUserKey,
    Token,
)
from tilecred._access import CredentialAccess

_CREATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
_EMAIL = "reader@lake-project.iam.gserviceaccount.com"


def _stored(provider: CloudProvider, token: Token) -> AccessCredential:
    return AccessCredential(
        credential_type=CredentialType.WORKSPACE, id="i", name="k", provider=provider,
        created_at=_CREATED, allowed_in_tasks=True, token=token,
    )  # fmt: skip


def _rsa_pem(passphrase: bytes | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: Any = (
        serialization.BestAvailableEncryption(passphrase)
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    ).decode()


def _gcp_key() -> str:
    return json.dumps(
        {
            "type": "service_account",
            "project_id": "lake-project",
            "private_key_id": "k1",
            "private_key": _rsa_pem(),
            "client_email": _EMAIL,
            "client_id": "1234",
            "token_uri": "https://oauth2.googleapis.com/token",
        }
    )


@pytest.mark.services
def test_google_auth_loads_the_gcp_key_from_env_and_storage_options(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    google_auth = pytest.importorskip("google.auth")
    service_account = pytest.importorskip("google.oauth2.service_account")
    key = GCPServiceAccountKey(account_id=_EMAIL, key_id="k1", key_text=_gcp_key())
    with CredentialAccess(_stored(CloudProvider.GCP, Token(gcp=key))) as access:
        for name, value in access.env().items():
            monkeypatch.setenv(name, value)
        # Application Default Credentials: what every Google client does first.
        credentials, project = google_auth.default()
        assert (credentials.service_account_email, project) == (_EMAIL, "lake-project")
        # gcsfs hands a dict token to google-auth in just this way.
        options = access.storage_options()
        from_dict = service_account.Credentials.from_service_account_info(options["token"])
        assert (from_dict.service_account_email, from_dict.project_id) == (
            _EMAIL,
            options["project"],
        )


@pytest.mark.parametrize("passphrase", [None, "pass-phrase-7c"])
def test_the_snowflake_key_loads_from_its_file_with_its_passphrase(passphrase: str | None) -> None:
    pem = _rsa_pem(passphrase.encode() if passphrase else None)
    key = SnowflakeServiceUserKey(
        account="org-acct", user="SVC", private_key_raw=pem, private_key_passphrase=passphrase
    )
    with CredentialAccess(_stored(CloudProvider.SNOWFLAKE, Token(snowflake=key))) as access:
        env = access.env()
        with open(env["SNOWFLAKE_PRIVATE_KEY_FILE"], "rb") as file:
            given = env.get("PRIVATE_KEY_PASSPHRASE")
            loaded = serialization.load_pem_private_key(
                file.read(), password=given.encode() if given else None
            )
    assert isinstance(loaded, rsa.RSAPrivateKey)
    assert ("PRIVATE_KEY_PASSPHRASE" in env) == (passphrase is not None)
