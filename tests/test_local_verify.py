"""verify_credential on the embedded default checks each kind's structure for real."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tilecred import CredentialsError, verify_credential
from tilecred._local import verify_request
from tilecred._models import AccessCredentialRole, AWSRole, CloudProvider, CredentialCreateRequest

from .conftest import CANARY_SECRET

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key: Any, passphrase: str | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    data: bytes = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return data.decode()


def _gcp_key_text(key: rsa.RSAPrivateKey, **changes: Any) -> str:
    document = {
        "type": "service_account",
        "project_id": "demo",
        "private_key_id": "k1",
        "private_key": _pem(key),
        "client_email": "svc@demo.iam.gserviceaccount.com",
        "client_id": "123",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    document.update(changes)
    return json.dumps({k: v for k, v in document.items() if v is not None})


def _good(rsa_key: rsa.RSAPrivateKey) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("AWS", {"credential": {"aws": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                        "secret_access_key": CANARY_SECRET}}}),
        ("AWS", {"credential": {"aws": {"access_key_id": "minio-user", "secret_access_key": "x",
                                        "endpoint": "http://localhost:9000"}}}),
        ("AWS", {"role": {"aws": {"role_arn": "arn:aws:iam::123456789012:role/demo"}}}),
        ("AWS", {"role": {"aws": {"role_arn": "arn:aws-us-gov:iam::123456789012:role/a/b",
                                  "external_id": "ext-id_1"}}}),
        ("AZURE", {"credential": {"azure": {"account_name": "lake01",
                                            "account_key": "c2VjcmV0a2V5",
                                            "blob_endpoint": "https://lake01.blob.core.windows.net"}}}),
        ("AZURE", {"token": {"azure": {"account_name": "lake01", "sas_token": "sv=1&sig=abc"}}}),
        ("AZURE", {"token": {"azure_entra_id": {"blob_endpoint": "https://a.blob.core.windows.net"}}}),
        ("AZURE", {"token": {"azure_entra_id_task": {"client_id": GUID, "tenant_id": GUID}}}),
        ("GCP", {"credential": {"gcp": {"access_key_id": "GOOG1EABCDEFGHIJKLMNOP",
                                        "secret_access_key": CANARY_SECRET}}}),
        ("GCP", {"token": {"gcp": {"account_id": "svc", "key_id": "k1",
                                   "key_text": _gcp_key_text(rsa_key)}}}),
        ("SNOWFLAKE", {"token": {"snowflake": {"account": "acme", "user": "svc",
                                               "private_key_raw": _pem(rsa_key)}}}),
        ("SNOWFLAKE", {"token": {"snowflake": {"account": "acme", "user": "svc",
                                               "private_key_raw": _pem(rsa_key, CANARY_SECRET),
                                               "private_key_passphrase": CANARY_SECRET}}}),
        ("DATABRICKS", {"token": {"databricks": {"host": "https://x.cloud.databricks.com",
                                                 "client_id": "c", "client_secret": "s"}}}),
    ]  # fmt: skip


def test_good_credentials_of_every_kind_verify(rsa_key: rsa.RSAPrivateKey) -> None:
    for provider, secret in _good(rsa_key):
        verify_credential("check", provider, **secret)


def _bad(rsa_key: rsa.RSAPrivateKey) -> list[tuple[str, dict[str, Any], str | None]]:
    ec_key = ec.generate_private_key(ec.SECP256R1())
    snow = {"account": "acme", "user": "svc"}
    return [
        ("AWS", {"credential": {"aws": {"access_key_id": "AKIA123",
                                        "secret_access_key": CANARY_SECRET}}},
         "credential.aws.access_key_id: not an AWS access key id (AKIA or ASIA and 16 upper-case "
         "letters or digits)"),
        ("AWS", {"role": {"aws": {"role_arn": "not-an-arn"}}},
         "role.aws.role_arn: not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"),
        ("AWS", {"role": {"aws": {"role_arn": "arn:aws:iam::123:role/x"}}},
         "role.aws.role_arn: not an IAM role ARN (arn:aws:iam::<12 digits>:role/<name>)"),
        ("AWS", {"role": {"aws": {"role_arn": "arn:aws:iam::123456789012:role/x",
                                  "external_id": "a b"}}},
         "role.aws.external_id: not an external id (2-1224 of letters, digits and +=,.@:/-)"),
        ("AZURE", {"credential": {"azure": {"account_name": "Lake_01", "account_key": "a2V5"}}},
         "credential.azure.account_name: not an Azure storage account name (3-24 lower-case "
         "letters and digits)"),
        ("AZURE", {"credential": {"azure": {"account_name": "lake", "account_key": "a2V5"}}}, None),
        ("AZURE", {"credential": {"azure": {"account_name": "lake"}}},
         "credential.azure.account_key: required"),
        ("AZURE", {"credential": {"azure": {"account_name": "lake", "account_key": CANARY_SECRET}}},
         "credential.azure.account_key: not base64, as Azure issues account keys"),
        ("AZURE", {"credential": {"azure": {"account_name": "lake", "account_key": "a2V5",
                                            "blob_endpoint": "http://lake.example.com"}}},
         "credential.azure.blob_endpoint: not an https URL (https://<host>)"),
        ("AZURE", {"token": {"azure": {"account_name": "ab", "sas_token": "sig=1"}}},
         "token.azure.account_name: not an Azure storage account name (3-24 lower-case letters "
         "and digits)"),
        ("AZURE", {"token": {"azure": {"account_name": "lake", "sas_token": CANARY_SECRET}}},
         "token.azure.sas_token: not a shared access signature (it has no sig parameter)"),
        ("AZURE", {"token": {"azure_entra_id": {"blob_endpoint": "lake.blob.core.windows.net"}}},
         "token.azure_entra_id.blob_endpoint: not an https URL (https://<host>)"),
        ("AZURE", {"token": {"azure_entra_id_task": {"client_id": "app"}}},
         "token.azure_entra_id_task.client_id: not a GUID (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)"),
        ("GCP", {"credential": {"gcp": {"access_key_id": "AKIAIOSFODNN7EXAMPLE",
                                        "secret_access_key": CANARY_SECRET}}},
         "credential.gcp.access_key_id: not a GCP HMAC access id (GOOG and upper-case letters or "
         "digits)"),
        ("GCP", {"credential": {"gcp": {"access_key_id": "GOOG1EABCDEFGHIJKLMNOP"}}},
         "credential.gcp.secret_access_key: required"),
        ("GCP", {"token": {"gcp": {"account_id": "svc", "key_id": "k1",
                                   "key_text": "{" + CANARY_SECRET}}},
         "token.gcp.key_text: not JSON: give the service-account key file Google issues"),
        ("GCP", {"token": {"gcp": {"account_id": "svc", "key_id": "k1",
                                   "key_text": _gcp_key_text(rsa_key, type="user")}}},
         'token.gcp.key_text: not a service-account key (its "type" must be "service_account")'),
        ("GCP", {"token": {"gcp": {"account_id": "svc", "key_id": "k1",
                                   "key_text": _gcp_key_text(rsa_key, client_email=None,
                                                             token_uri="")}}},
         "token.gcp.key_text: the key file lacks client_email, token_uri"),
        ("GCP", {"token": {"gcp": {"account_id": "svc", "key_id": "k2",
                                   "key_text": _gcp_key_text(rsa_key)}}},
         "token.gcp.key_id: does not match the key file's private_key_id"),
        ("GCP", {"token": {"gcp": {"account_id": "svc", "key_id": "k1",
                                   "key_text": _gcp_key_text(rsa_key, private_key=CANARY_SECRET)}}},
         "token.gcp.key_text: the private key: not a PEM private key "
         "(-----BEGIN PRIVATE KEY-----)"),
        ("SNOWFLAKE", {"token": {"snowflake": {**snow, "private_key_raw": CANARY_SECRET}}},
         "token.snowflake.private_key_raw: not a PEM private key (-----BEGIN PRIVATE KEY-----)"),
        ("SNOWFLAKE", {"token": {"snowflake": {**snow,
                                               "private_key_raw": _pem(rsa_key, CANARY_SECRET)}}},
         "token.snowflake.private_key_passphrase: required: the private key is encrypted"),
        ("SNOWFLAKE", {"token": {"snowflake": {**snow,
                                               "private_key_raw": _pem(rsa_key, CANARY_SECRET),
                                               "private_key_passphrase": "wrong-passphrase"}}},
         "token.snowflake.private_key_passphrase: does not decrypt the private key"),
        ("SNOWFLAKE", {"token": {"snowflake": {**snow, "private_key_raw": _pem(rsa_key),
                                               "private_key_passphrase": CANARY_SECRET}}},
         "token.snowflake.private_key_passphrase: given, but the private key is not encrypted"),
        ("SNOWFLAKE", {"token": {"snowflake": {**snow, "private_key_raw": _pem(ec_key)}}},
         "token.snowflake.private_key_raw: not an RSA key, which Snowflake key-pair login needs"),
        ("SNOWFLAKE", {"token": {"snowflake": {"user": "svc", "private_key_raw": _pem(rsa_key)}}},
         "token.snowflake.account: required"),
        ("DATABRICKS", {"token": {"databricks": {"host": "x.cloud.databricks.com",
                                                 "client_id": "c", "client_secret": "s"}}},
         "token.databricks.host: not an https URL (https://<host>)"),
        ("DATABRICKS", {"token": {"databricks": {"host": "https://[bad", "client_id": "c",
                                                 "client_secret": "s"}}},
         "token.databricks.host: not an https URL (https://<host>)"),
        ("AZURE", {"token": {"azure_entra_id": {"blob_endpoint": "https://[::1"}}},
         "token.azure_entra_id.blob_endpoint: not an https URL (https://<host>)"),
        ("DATABRICKS", {"token": {"databricks": {"host": "https://x.cloud.databricks.com",
                                                 "client_id": "c"}}},
         "token.databricks.client_secret: required"),
    ]  # fmt: skip


def test_bad_credentials_name_the_field_at_fault(rsa_key: rsa.RSAPrivateKey) -> None:
    for provider, secret, message in _bad(rsa_key):
        if message is None:
            verify_credential("check", provider, **secret)
            continue
        with pytest.raises(CredentialsError) as info:
            verify_credential("check", provider, **secret)
        assert type(info.value) is CredentialsError
        assert info.value.status == 422
        assert str(info.value) == (
            f"could not verify credential 'check': 422 Unprocessable Entity: {message}"
        )
        assert CANARY_SECRET not in str(info.value)
        assert CANARY_SECRET not in repr(info.value)
        assert info.value.__cause__ is None  # a parser's message could quote a secret


def test_verify_request_checks_what_the_client_would_have_refused() -> None:
    # The server hands raw requests to verify_request: it checks the shape too.
    mismatched = CredentialCreateRequest(
        name="x",
        provider=CloudProvider.AZURE,
        role=AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::123456789012:role/a")),
    )
    with pytest.raises(CredentialsError) as info:
        verify_request(mismatched)
    assert (info.value.status, info.value.message) == (
        422,
        "role.aws is for provider AWS, not AZURE",
    )
    empty = CredentialCreateRequest(name="x", provider=CloudProvider.AWS,
                                    role=AccessCredentialRole())  # fmt: skip
    with pytest.raises(CredentialsError) as info:
        verify_request(empty)
    assert info.value.message == "role must hold exactly one member, found none"
