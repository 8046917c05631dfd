"""Every kind in every form, field by field, without a network.

The names checked here are those the providers' own tools document: boto3
and the AWS CLI (``AWS_*``), s3fs, adlfs (``AZURE_STORAGE_*``), TileDB's
``vfs.*`` parameters and its ``AZURE_*`` fallbacks, Google's libraries
(``GOOGLE_APPLICATION_CREDENTIALS``), gcsfs, Snowflake's CLI
(``SNOWFLAKE_*``) and Databricks' unified authentication (``DATABRICKS_*``).
"""

from __future__ import annotations

import datetime
import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests._services import isolate_aws
from tests.conftest import CANARY_SECRET
from tilecred import (
    AccessCredential,
    AWSCredential,
    AWSRole,
    AzureCredential,
    AzureEntraIDTaskToken,
    AzureEntraIDToken,
    AzureServicePrincipal,
    AzureToken,
    BasicCredential,
    BearerToken,
    CloudProvider,
    ConfigurationError,
    Credential,
    CredentialsError,
    CredentialType,
    DatabricksPersonalAccessToken,
    DatabricksServicePrincipalSecret,
    GCPInteroperabilityCredential,
    GCPServiceAccountKey,
    OAuthClientCredential,
    SnowflakeServiceUserKey,
    Token,
)
from tilecred._access import CredentialAccess
from tilecred._access._access import KINDS
from tilecred._access._base import FORMS
from tilecred._models import MEMBER_PROVIDERS
from tilecred._models import AccessCredentialRole as RoleContainer

_CREATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
_FUTURE = "2099-01-01T00:00:00Z"
_PAST = "2020-01-01T00:00:00Z"
_SAS = f"sv=2023-11-03&ss=b&srt=co&sp=rl&se={_FUTURE}&sig={CANARY_SECRET}"
_GCP_KEY = json.dumps(
    {
        "type": "service_account",
        "project_id": "lake-project",
        "private_key_id": "k1",
        "private_key": f"-----BEGIN PRIVATE KEY-----\n{CANARY_SECRET}\n-----END PRIVATE KEY-----\n",
        "client_email": "reader@lake-project.iam.gserviceaccount.com",
        "client_id": "1234",
        "token_uri": "https://oauth2.googleapis.com/token",
    }
)
_PEM = (
    f"-----BEGIN ENCRYPTED PRIVATE KEY-----\n{CANARY_SECRET}\n-----END ENCRYPTED PRIVATE KEY-----\n"
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_aws(monkeypatch, tmp_path)


def stored(name: str = "c", **secret: Any) -> AccessCredential:
    """A credential as use_credential hands it over: secret filled."""
    provider = {
        "credential": {"aws": "AWS", "azure": "AZURE", "gcp": "GCP",
                       "azure_service_principal": "AZURE", "basic": "GENERIC",
                       "oauth": "GENERIC"},
        "role": {"aws": "AWS"},
        "token": {"azure": "AZURE", "azure_entra_id": "AZURE", "azure_entra_id_task": "AZURE",
                  "gcp": "GCP", "snowflake": "SNOWFLAKE", "databricks": "DATABRICKS",
                  "bearer": "GENERIC", "databricks_pat": "DATABRICKS"},
    }  # fmt: skip
    ((container, value),) = secret.items()
    member = next(field for field in value.__struct_fields__ if getattr(value, field) is not None)
    return AccessCredential(
        credential_type=CredentialType.WORKSPACE, id=f"id-{name}", name=name,
        provider=CloudProvider(provider[container][member]), created_at=_CREATED,
        allowed_in_tasks=True, **secret,
    )  # fmt: skip


AWS_KEY = stored(credential=Credential(aws=AWSCredential(
    access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY_SECRET,
    endpoint="https://minio.example:9000", use_path_style=True)))  # fmt: skip
AWS_KEY_PLAIN = stored(credential=Credential(aws=AWSCredential(
    access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=CANARY_SECRET)))  # fmt: skip
AWS_ROLE = stored(role=RoleContainer(aws=AWSRole(
    role_arn="arn:aws:iam::123456789012:role/reader", external_id="ext-1")))  # fmt: skip
GCP_HMAC = stored(credential=Credential(gcp=GCPInteroperabilityCredential(
    access_key_id="GOOG1EXAMPLE", secret_access_key=CANARY_SECRET)))  # fmt: skip
AZURE_KEY = stored(credential=Credential(azure=AzureCredential(
    account_name="lakeacct", account_key=CANARY_SECRET)))  # fmt: skip
AZURE_KEY_ENDPOINT = stored(credential=Credential(azure=AzureCredential(
    account_name="devstoreaccount1", account_key=CANARY_SECRET,
    blob_endpoint="http://127.0.0.1:10000/devstoreaccount1")))  # fmt: skip
AZURE_SAS = stored(token=Token(azure=AzureToken(account_name="lakeacct", sas_token=_SAS)))
AZURE_ENTRA = stored(token=Token(azure_entra_id=AzureEntraIDToken(
    blob_endpoint="https://lakeacct.blob.core.windows.net")))  # fmt: skip
AZURE_ENTRA_TASK = stored(token=Token(azure_entra_id_task=AzureEntraIDTaskToken(client_id="app")))
GCP_SA = stored(token=Token(gcp=GCPServiceAccountKey(
    account_id="reader@lake-project.iam.gserviceaccount.com", key_id="k1",
    key_text=_GCP_KEY)))  # fmt: skip
SNOWFLAKE = stored(token=Token(snowflake=SnowflakeServiceUserKey(
    account="org-acct", user="SVC", private_key_raw=_PEM, private_key_passphrase=CANARY_SECRET,
    role="LOADER", warehouse="WH")))  # fmt: skip
DATABRICKS = stored(token=Token(databricks=DatabricksServicePrincipalSecret(
    host="https://dbc-1.cloud.databricks.com", client_id="sp-1",
    client_secret=CANARY_SECRET)))  # fmt: skip

AZURE_SP = stored(credential=Credential(azure_service_principal=AzureServicePrincipal(
    tenant_id="contoso.onmicrosoft.com", client_id="11111111-2222-3333-4444-555555555555",
    client_secret=CANARY_SECRET, account_name="lakeacct")))  # fmt: skip
DATABRICKS_PAT = stored(token=Token(databricks_pat=DatabricksPersonalAccessToken(
    host="https://dbc-1.cloud.databricks.com", token=CANARY_SECRET)))  # fmt: skip
BASIC = stored(credential=Credential(basic=BasicCredential(
    user="etl", password=CANARY_SECRET, host="db.example.com", port=5432, database="sales",
    scheme="postgresql", params={"sslmode": "require"})))  # fmt: skip
BEARER = stored(token=Token(bearer=BearerToken(token=CANARY_SECRET)))
# Its token endpoint is never reached here: nothing listens on port 9 of this machine.
OAUTH = stored(credential=Credential(oauth=OAuthClientCredential(
    token_url="http://127.0.0.1:9/token", client_id="app",
    client_secret=CANARY_SECRET)))  # fmt: skip

# Every kind, and the forms that do not apply to it (the docs' table).
NOT_APPLICABLE = {
    "aws-key": (AWS_KEY, set()),
    "aws-role": (AWS_ROLE, set()),
    "gcp-hmac": (GCP_HMAC, set()),
    "azure-key": (AZURE_KEY, {"boto3_session"}),
    "azure-sas": (AZURE_SAS, {"boto3_session"}),
    "azure-entra-id": (AZURE_ENTRA, set(FORMS)),
    "azure-entra-id-task": (AZURE_ENTRA_TASK, set(FORMS)),
    "gcp-service-account": (GCP_SA, {"boto3_session"}),
    "snowflake": (SNOWFLAKE, {"storage_options", "tiledb_config", "boto3_session"}),
    "databricks": (DATABRICKS, {"storage_options", "tiledb_config", "boto3_session"}),
    "azure-service-principal": (AZURE_SP, {"tiledb_config", "boto3_session"}),
    "databricks-pat": (DATABRICKS_PAT, {"storage_options", "tiledb_config", "boto3_session"}),
    "basic": (BASIC, {"storage_options", "tiledb_config", "boto3_session", "headers", "auth"}),
    # Its env() needs a prefix: with none, it is refused.
    "bearer": (BEARER, {"env", "storage_options", "tiledb_config", "boto3_session", "url"}),
    "oauth": (OAUTH, {"env", "storage_options", "tiledb_config", "boto3_session", "url"}),
}
# Every kind but the new ones (issue #20) refuses the forms of logins and tokens.
for _kind, (_, _refused) in NOT_APPLICABLE.items():
    if _kind not in ("basic", "bearer", "oauth", "azure-entra-id", "azure-entra-id-task"):
        _refused.update({"url", "headers", "auth"})


def test_every_kind_that_can_be_stored_has_forms() -> None:
    containers = {Credential: "credential", RoleContainer: "role", Token: "token"}
    storable = {
        (containers[container], member)
        for container, members in MEMBER_PROVIDERS.items()
        for member in members
    }
    assert set(KINDS) == storable


# -- AWS and S3-compatible ------------------------------------------------------


def test_aws_key_env() -> None:
    with CredentialAccess(AWS_KEY) as access:
        assert access.env() == {
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
            "AWS_ENDPOINT_URL": "https://minio.example:9000",
        }
    with CredentialAccess(AWS_KEY_PLAIN) as access:
        assert access.env() == {
            "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
        }


def test_aws_key_storage_options_are_s3fs_arguments() -> None:
    with CredentialAccess(AWS_KEY) as access:
        assert access.storage_options() == {
            "key": "AKIAIOSFODNN7EXAMPLE",
            "secret": CANARY_SECRET,
            "endpoint_url": "https://minio.example:9000",
            "config_kwargs": {"s3": {"addressing_style": "path"}},
        }
    with CredentialAccess(AWS_KEY_PLAIN) as access:
        assert access.storage_options() == {"key": "AKIAIOSFODNN7EXAMPLE", "secret": CANARY_SECRET}


def test_aws_key_tiledb_config() -> None:
    with CredentialAccess(AWS_KEY) as access:
        assert access.tiledb_config() == {
            "vfs.s3.aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "vfs.s3.aws_secret_access_key": CANARY_SECRET,
            "vfs.s3.endpoint_override": "minio.example:9000",
            "vfs.s3.scheme": "https",
            "vfs.s3.use_virtual_addressing": "false",
        }


def test_aws_role_tiledb_config_hands_tiledb_the_role() -> None:
    with CredentialAccess(AWS_ROLE) as access:
        assert access.tiledb_config() == {
            "vfs.s3.aws_role_arn": "arn:aws:iam::123456789012:role/reader",
            "vfs.s3.aws_external_id": "ext-1",
            "vfs.s3.aws_session_name": "tilecred-c",
        }
        assert access.expires_at is None


def test_gcp_hmac_key_is_s3_at_gcs() -> None:
    with CredentialAccess(GCP_HMAC) as access:
        assert access.env() == {
            "AWS_ACCESS_KEY_ID": "GOOG1EXAMPLE",
            "AWS_SECRET_ACCESS_KEY": CANARY_SECRET,
            "AWS_ENDPOINT_URL": "https://storage.googleapis.com",
        }
        assert access.storage_options() == {
            "key": "GOOG1EXAMPLE",
            "secret": CANARY_SECRET,
            "endpoint_url": "https://storage.googleapis.com",
            "config_kwargs": {"s3": {"addressing_style": "path"}},
        }
        assert access.tiledb_config() == {
            "vfs.s3.aws_access_key_id": "GOOG1EXAMPLE",
            "vfs.s3.aws_secret_access_key": CANARY_SECRET,
            "vfs.s3.endpoint_override": "storage.googleapis.com",
            "vfs.s3.scheme": "https",
            "vfs.s3.use_virtual_addressing": "false",
        }


def test_boto3_missing_is_a_configuration_error_naming_the_extra() -> None:
    """A real failed import (boto3 blocked in a child), not a stand-in."""
    script = (
        "import sys; sys.modules['boto3'] = None\n"
        "import datetime, tilecred\n"
        "from tilecred._access import CredentialAccess\n"
        "cred = tilecred.AccessCredential(credential_type='workspace', id='i', name='k',\n"
        "    provider='AWS', created_at=datetime.datetime(2026, 1, 1),\n"
        "    credential=tilecred.Credential(aws=tilecred.AWSCredential(\n"
        f"        access_key_id='AKIA', secret_access_key={CANARY_SECRET!r})))\n"
        "try:\n"
        "    CredentialAccess(cred).boto3_session()\n"
        "except tilecred.ConfigurationError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.stdout.strip() == (
        "ConfigurationError boto3 is not installed: boto3 sessions and AWS roles need it "
        "(pip install '.[aws]' in a tilecred checkout)"
    ), done.stderr[-500:]
    assert issubclass(ConfigurationError, CredentialsError)


# -- Azure ----------------------------------------------------------------------


def test_azure_key_forms() -> None:
    with CredentialAccess(AZURE_KEY) as access:
        assert access.env() == {
            "AZURE_STORAGE_ACCOUNT_NAME": "lakeacct",
            "AZURE_STORAGE_ACCOUNT": "lakeacct",
            "AZURE_STORAGE_ACCOUNT_KEY": CANARY_SECRET,
            "AZURE_STORAGE_KEY": CANARY_SECRET,
        }
        assert access.storage_options() == {
            "account_name": "lakeacct",
            "account_key": CANARY_SECRET,
        }
        assert access.tiledb_config() == {
            "vfs.azure.storage_account_name": "lakeacct",
            "vfs.azure.storage_account_key": CANARY_SECRET,
        }
        assert access.expires_at is None


def test_azure_key_at_its_own_endpoint() -> None:
    connection = (
        f"AccountName=devstoreaccount1;AccountKey={CANARY_SECRET};"
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    )
    with CredentialAccess(AZURE_KEY_ENDPOINT) as access:
        env = access.env()
        assert env["AZURE_BLOB_ENDPOINT"] == "http://127.0.0.1:10000/devstoreaccount1"
        assert env["AZURE_STORAGE_CONNECTION_STRING"] == connection
        assert access.storage_options() == {
            "account_name": "devstoreaccount1",
            "account_key": CANARY_SECRET,
            "connection_string": connection,
        }
        config = access.tiledb_config()
        assert config["vfs.azure.blob_endpoint"] == "http://127.0.0.1:10000/devstoreaccount1"


def test_azure_sas_forms_and_expiry() -> None:
    with CredentialAccess(AZURE_SAS) as access:
        assert access.env() == {
            "AZURE_STORAGE_ACCOUNT_NAME": "lakeacct",
            "AZURE_STORAGE_ACCOUNT": "lakeacct",
            "AZURE_STORAGE_SAS_TOKEN": _SAS,
        }
        assert access.storage_options() == {"account_name": "lakeacct", "sas_token": _SAS}
        assert access.tiledb_config() == {
            "vfs.azure.storage_account_name": "lakeacct",
            "vfs.azure.storage_sas_token": _SAS,
        }
        assert access.expires_at == datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("se", "expected"),
    [
        ("2099-01-01", datetime.datetime(2099, 1, 1, tzinfo=datetime.UTC)),
        ("2099-01-01T10%3A30%3A00Z", datetime.datetime(2099, 1, 1, 10, 30, tzinfo=datetime.UTC)),
        ("not-a-time", None),
    ],
)
def test_sas_expiry_forms(se: str, expected: datetime.datetime | None) -> None:
    token = Token(azure=AzureToken(account_name="a", sas_token=f"?sv=1&se={se}&sig=x"))
    with CredentialAccess(stored(token=token)) as access:
        assert access.expires_at == expected


def test_an_expired_sas_is_refused_at_use_time() -> None:
    token = Token(
        azure=AzureToken(account_name="lakeacct", sas_token=f"se={_PAST}&sig={CANARY_SECRET}")
    )
    with CredentialAccess(stored("old-sas", token=token)) as access:
        for form in ("env", "storage_options", "tiledb_config"):
            with pytest.raises(CredentialsError) as caught:
                getattr(access, form)()
            assert type(caught.value) is CredentialsError
            assert str(caught.value) == (
                "could not use credential 'old-sas': its SAS token expired at "
                "2020-01-01T00:00:00+00:00; store a new one with update_credential"
            )


# -- GCP service account, Snowflake, Databricks --------------------------------


def test_gcp_service_account_forms() -> None:
    with CredentialAccess(GCP_SA) as access:
        env = access.env()
        path = Path(env["GOOGLE_APPLICATION_CREDENTIALS"])
        assert env == {
            "GOOGLE_APPLICATION_CREDENTIALS": str(path),
            "GOOGLE_CLOUD_PROJECT": "lake-project",
        }
        assert path.read_text() == _GCP_KEY
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert access.env() == env  # one file per access
        assert access.storage_options() == {
            "token": json.loads(_GCP_KEY),
            "project": "lake-project",
        }
        assert access.tiledb_config() == {
            "vfs.gcs.service_account_key": _GCP_KEY,
            "vfs.gcs.project_id": "lake-project",
        }
    assert not path.exists()
    assert not path.parent.exists()


def test_a_gcp_key_that_is_not_json_is_refused_without_quoting_it() -> None:
    token = Token(
        gcp=GCPServiceAccountKey(account_id="a", key_id="k", key_text=f"{{{CANARY_SECRET}")
    )
    with CredentialAccess(stored("bad-gcp", token=token)) as access:
        with pytest.raises(CredentialsError) as caught:
            access.env()
        assert str(caught.value) == (
            "could not use credential 'bad-gcp': a GCP service-account key is not a JSON object"
        )
        assert caught.value.__cause__ is None
        assert caught.value.__context__ is None or CANARY_SECRET not in str(
            caught.value.__context__
        )


def test_a_deeply_nested_gcp_key_is_refused_not_a_recursion_error() -> None:
    token = Token(gcp=GCPServiceAccountKey(account_id="a", key_id="k", key_text="[" * 200_000))
    with CredentialAccess(stored("deep-gcp", token=token)) as access:
        for form in (access.env, access.storage_options, access.tiledb_config):
            with pytest.raises(CredentialsError) as caught:
                form()
            assert str(caught.value) == (
                "could not use credential 'deep-gcp': a GCP service-account key is not a JSON "
                "object"
            )


def test_a_key_file_is_never_written_once_the_access_is_closed() -> None:
    # Another thread may close the access between a form's open check and
    # its write: the write must not make a file that outlives the close.
    from tilecred._access._base import SecretFiles

    files = SecretFiles()
    files.remove()
    with pytest.raises(CredentialsError) as caught:
        files.write("key.json", CANARY_SECRET)
    assert str(caught.value) == "the access is closed; call use_credential again"
    assert files.directory is None


def test_snowflake_env_is_what_snowflakes_cli_reads() -> None:
    with CredentialAccess(SNOWFLAKE) as access:
        env = access.env()
        path = Path(env["SNOWFLAKE_PRIVATE_KEY_FILE"])
        assert env == {
            "SNOWFLAKE_ACCOUNT": "org-acct",
            "SNOWFLAKE_USER": "SVC",
            "SNOWFLAKE_AUTHENTICATOR": "SNOWFLAKE_JWT",
            "SNOWFLAKE_PRIVATE_KEY_FILE": str(path),
            "SNOWFLAKE_PRIVATE_KEY_PATH": str(path),
            "PRIVATE_KEY_PASSPHRASE": CANARY_SECRET,
            "SNOWFLAKE_ROLE": "LOADER",
            "SNOWFLAKE_WAREHOUSE": "WH",
        }
        assert path.read_text() == _PEM
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not path.exists()


def test_databricks_env_is_unified_authentication() -> None:
    with CredentialAccess(DATABRICKS) as access:
        assert access.env() == {
            "DATABRICKS_HOST": "https://dbc-1.cloud.databricks.com",
            "DATABRICKS_CLIENT_ID": "sp-1",
            "DATABRICKS_CLIENT_SECRET": CANARY_SECRET,
        }


# -- what does not apply --------------------------------------------------------


@pytest.mark.parametrize("kind", sorted(NOT_APPLICABLE))
def test_forms_that_do_not_apply_say_why(kind: str) -> None:
    credential, refused = NOT_APPLICABLE[kind]
    with CredentialAccess(credential) as access:
        for form in refused:
            with pytest.raises(CredentialsError) as caught:
                getattr(access, form)()
            assert type(caught.value) is CredentialsError
            message = str(caught.value)
            assert message.startswith(f"could not use credential 'c': {form}() does not apply to ")
            assert CANARY_SECRET not in message


def test_the_refusals_read_well() -> None:
    expected = [
        (
            AZURE_ENTRA,
            "env",
            "env() does not apply to an Azure Entra ID credential: it holds no secret to "
            "hand out (TileDB's service signs in with its own Entra ID identity); sign in as "
            "yourself (azure.identity's DefaultAzureCredential)",
        ),
        (
            SNOWFLAKE,
            "storage_options",
            "storage_options() does not apply to a Snowflake service "
            "user key: Snowflake is a database, not object storage (no fsspec filesystem)",
        ),
        (
            AZURE_KEY,
            "boto3_session",
            "boto3_session() does not apply to an Azure storage account "
            "key: boto3 is for AWS (and S3-compatible stores), not Azure",
        ),
    ]
    for credential, form, message in expected:
        with CredentialAccess(credential) as access, pytest.raises(CredentialsError) as caught:
            getattr(access, form)()
        assert caught.value.message == message


def test_source_is_for_roles_only() -> None:
    with CredentialAccess(AWS_KEY) as access, pytest.raises(CredentialsError) as caught:
        access.boto3_session(source="other")
    assert str(caught.value) == (
        "could not use credential 'c': an AWS access key is used as it is: "
        "source and duration_seconds are for roles"
    )


def test_a_credential_without_a_secret_cannot_be_used() -> None:
    empty = AccessCredential(
        credential_type=CredentialType.WORKSPACE, id="i", name="hollow",
        provider=CloudProvider.AWS, created_at=_CREATED,
    )  # fmt: skip
    with pytest.raises(CredentialsError) as caught:
        CredentialAccess(empty)
    assert str(caught.value) == (
        "could not use credential 'hollow': it holds no secret (credential, role or token) to use"
    )
    withheld = msgspec.structs.replace(
        AWS_KEY_PLAIN, credential=Credential(aws=AWSCredential(access_key_id="AKIA"))
    )
    with CredentialAccess(withheld) as access, pytest.raises(CredentialsError) as caught:
        access.env()
    assert str(caught.value) == (
        "could not use credential 'c': an AWS access key came without its secret; "
        "use_credential returns it"
    )


# -- closing, and secrets that never print --------------------------------------


@pytest.mark.parametrize("kind", sorted(NOT_APPLICABLE))
def test_using_after_close_is_an_error(kind: str) -> None:
    access = CredentialAccess(NOT_APPLICABLE[kind][0])
    access.close()
    access.close()  # idempotent
    closed = "the access to credential 'c' is closed; call use_credential again"
    for form in FORMS:
        with pytest.raises(CredentialsError) as caught:
            getattr(access, form)()
        assert str(caught.value) == closed
    with pytest.raises(CredentialsError, match="is closed"):
        _ = access.credential
    with pytest.raises(CredentialsError), access:
        pass


def test_files_are_removed_by_close_and_by_a_forgotten_access() -> None:
    access = CredentialAccess(GCP_SA)
    path = Path(access.env()["GOOGLE_APPLICATION_CREDENTIALS"])
    assert path.exists()
    del access  # never closed: the finaliser removes the file
    assert not path.exists()
    access = CredentialAccess(SNOWFLAKE)
    directory = Path(access.env()["SNOWFLAKE_PRIVATE_KEY_FILE"]).parent
    (directory / "copied-by-a-tool").write_text("x")
    access.close()
    assert not directory.exists()


@pytest.mark.parametrize("kind", sorted(NOT_APPLICABLE))
def test_canary_never_in_repr_str_or_errors(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("DEBUG")
    access = CredentialAccess(NOT_APPLICABLE[kind][0])
    shown = [repr(access), str(access), repr(access.credential), str(access.credential)]
    for form in FORMS:
        try:
            getattr(access, form)()
        except Exception as exc:  # every refusal, and a role with no AWS here
            shown += [str(exc), repr(exc)]
    access.close()
    shown.append(repr(access))
    shown += [record.getMessage() for record in caplog.records]
    assert all(CANARY_SECRET not in text for text in shown)
    assert (
        repr(access)
        == f"CredentialAccess(name='c', provider={access._credential.provider.value!r}, closed)"
    )


def test_env_values_are_strings_for_a_child_environment() -> None:
    for credential, refused in NOT_APPLICABLE.values():
        if "env" in refused or credential is AWS_ROLE:
            continue
        with CredentialAccess(credential) as access:
            env = access.env()
            config = access.tiledb_config() if "tiledb_config" not in refused else {}
        assert all(isinstance(v, str) for v in (*env.values(), *config.values()))
        assert all(k.isupper() for k in env)
        subprocess.run([sys.executable, "-c", ""], env={**os.environ, **env}, check=True)


# The docs' one table of what applies, checked against what each kind does.
_DOC_ROWS = {
    "AWS key": ["aws-key"],
    "AWS role": ["aws-role"],
    "GCP HMAC key": ["gcp-hmac"],
    "Azure account key": ["azure-key"],
    "Azure SAS": ["azure-sas"],
    "GCP service-account key": ["gcp-service-account"],
    "Snowflake key pair": ["snowflake"],
    "Databricks service principal": ["databricks"],
    "Azure Entra ID, Entra ID task": ["azure-entra-id", "azure-entra-id-task"],
    "Azure service principal": ["azure-service-principal"],
    "Databricks personal access token": ["databricks-pat"],
    "basic login": ["basic"],
    "bearer token": ["bearer"],
    "OAuth client": ["oauth"],
}


def test_the_docs_table_of_what_applies_is_what_happens() -> None:
    page = (Path(__file__).parent.parent / "docs" / "using.md").read_text(encoding="utf-8")
    lines = page.split("### What does not apply", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    header, _, *rows = lines[start:end]
    forms = [cell.strip(" `()") for cell in header.strip("|").split("|")[1:]]
    assert forms == list(FORMS)
    documented = {}
    for row in rows:
        label, *cells = (cell.strip() for cell in row.strip("|").split("|"))
        refused = {form for form, cell in zip(forms, cells, strict=True) if cell.startswith("✗")}
        for kind in _DOC_ROWS[label]:
            documented[kind] = refused
    assert documented == {kind: refused for kind, (_, refused) in NOT_APPLICABLE.items()}


def test_the_s3_key_a_form_is_built_from_never_shows_its_secret() -> None:
    from tilecred._access._aws import S3Key

    key = S3Key("AKIAIOSFODNN7EXAMPLE", CANARY_SECRET, CANARY_SECRET + "-token", None, None)
    assert repr(key) == (
        "S3Key(key_id='AKIAIOSFODNN7EXAMPLE', secret='***', token='***', endpoint=None, "
        "path_style=None)"
    )
    assert CANARY_SECRET not in str(key)
