"""Azure account keys and SAS tokens against Azurite, a real Blob service.

Azurite (the npm package, pinned) runs as a child process on 127.0.0.1; the
account is its well-known development account. adlfs reads through
``storage_options()``, a child process through ``env()``, TileDB-Py through
``tiledb_config()``. Without node these tests skip, except under CI=true.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._services import (
    azurite_command,
    free_port,
    start,
    tiledb_round_trip,
    tiledb_without_profile,
    unavailable,
)
from tilecred import (
    AccessCredential,
    AzureCredential,
    AzureToken,
    CloudProvider,
    Credential,
    CredentialsError,
    CredentialType,
    Token,
)
from tilecred._access import CredentialAccess

pytestmark = pytest.mark.services

adlfs = pytest.importorskip("adlfs", reason="adlfs and Azure's SDK run in the services session")
blob = pytest.importorskip("azure.storage.blob")

# Azurite's development account: a published name and key, valid only there.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
CONTAINER = "lake"
_CREATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def endpoint(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob endpoint for the development account, with one container."""
    port = free_port()
    work = tmp_path_factory.mktemp("azurite")
    command = azurite_command(work / "data", port)
    if command is None:
        unavailable("Azurite is not available (node and npm are needed)")
        raise AssertionError  # unreachable: unavailable() skips or fails
    with start(command, port, "/", work / "azurite.log") as service:
        url = f"{service.url}/{ACCOUNT}"
        client = blob.BlobServiceClient(account_url=url, credential=_shared_key())
        client.create_container(CONTAINER)
        client.get_blob_client(CONTAINER, "seed.txt").upload_blob(b"seed")
        yield url


def _shared_key() -> dict[str, str]:
    return {"account_name": ACCOUNT, "account_key": ACCOUNT_KEY}


def _stored(name: str, **secret: Any) -> AccessCredential:
    return AccessCredential(
        credential_type=CredentialType.WORKSPACE, id=f"id-{name}", name=name,
        provider=CloudProvider.AZURE, created_at=_CREATED, allowed_in_tasks=True, **secret,
    )  # fmt: skip


def key_credential(endpoint: str, key: str = ACCOUNT_KEY) -> AccessCredential:
    azure = AzureCredential(account_name=ACCOUNT, account_key=key, blob_endpoint=endpoint)
    return _stored("az-key", credential=Credential(azure=azure))


def sas_credential(endpoint: str, expiry: datetime.datetime) -> AccessCredential:
    sas = blob.generate_container_sas(
        account_name=ACCOUNT, container_name=CONTAINER, account_key=ACCOUNT_KEY,
        permission=blob.ContainerSasPermissions(read=True, list=True, write=True, create=True),
        expiry=expiry,
    )  # fmt: skip
    token = AzureToken(account_name=ACCOUNT, sas_token=sas, blob_endpoint=endpoint)
    return _stored("az-sas", token=Token(azure=token))


def _in_an_hour() -> datetime.datetime:
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=1)).replace(
        microsecond=0
    )


def test_account_key_through_storage_options(endpoint: str) -> None:
    with CredentialAccess(key_credential(endpoint)) as access:
        fs = adlfs.AzureBlobFileSystem(**access.storage_options(), skip_instance_cache=True)
        fs.pipe(f"{CONTAINER}/from-adlfs.txt", b"adlfs")
        assert fs.cat(f"{CONTAINER}/from-adlfs.txt") == b"adlfs"
        assert f"{CONTAINER}/seed.txt" in fs.ls(CONTAINER)


def test_sas_through_storage_options(endpoint: str) -> None:
    expiry = _in_an_hour()
    with CredentialAccess(sas_credential(endpoint, expiry)) as access:
        assert access.expires_at == expiry
        fs = adlfs.AzureBlobFileSystem(**access.storage_options(), skip_instance_cache=True)
        assert fs.cat(f"{CONTAINER}/seed.txt") == b"seed"


_CHILD = (
    "import adlfs; fs = adlfs.AzureBlobFileSystem(skip_instance_cache=True); "
    f"print(fs.cat({CONTAINER + '/seed.txt'!r}).decode())"
)


@pytest.mark.parametrize("kind", ["key", "sas"])
def test_env_in_a_child_process(endpoint: str, kind: str) -> None:
    """adlfs with no arguments reads the variables env() gives."""
    if kind == "key":
        credential = key_credential(endpoint)
    else:
        credential = sas_credential(endpoint, _in_an_hour())
    with CredentialAccess(credential) as access:
        env = access.env()
    assert env["AZURE_BLOB_ENDPOINT"] == endpoint
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AZURE")}
    done = subprocess.run(
        [sys.executable, "-c", _CHILD], env={**clean, **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "seed"), done.stderr[-800:]


def test_a_wrong_key_fails_at_the_server(endpoint: str) -> None:
    wrong = key_credential(endpoint, key="d3Jvbmcta2V5LWZvci1henVyaXRlLXRlc3Q=")
    with CredentialAccess(wrong) as access:
        fs = adlfs.AzureBlobFileSystem(**access.storage_options(), skip_instance_cache=True)
        with pytest.raises(Exception) as caught:
            fs.cat(f"{CONTAINER}/seed.txt")
    assert "AuthorizationFailure" in str(caught.value) or "403" in str(caught.value)


def test_an_expired_sas_is_refused_before_azure_sees_it(endpoint: str) -> None:
    past = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    with CredentialAccess(sas_credential(endpoint, past)) as access:
        with pytest.raises(CredentialsError) as caught:
            access.storage_options()
        assert caught.value.message.startswith("its SAS token expired at ")


def test_tiledb_writes_an_array_to_azurite(
    endpoint: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    tiledb_without_profile(monkeypatch, tmp_path)
    with CredentialAccess(key_credential(endpoint)) as access:
        values = tiledb_round_trip(access.tiledb_config(), f"azure://{CONTAINER}/array", [5, 6, 7])
    assert values == [5, 6, 7]
