"""AWS keys verified live against moto's STS, which checks signatures (who the
key is: the IAM user's ARN; STS's own refusal of a wrong secret), and Azure
account keys against Azurite."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._moto import EXTERNAL_ID, ROLE_NAME, Moto
from tests._services import azurite_command, free_port, isolate_aws, start, unavailable
from tilecred import VerificationFailedError, create_credential, read_audit, verify_credential

from .conftest import CANARY_SECRET

pytestmark = pytest.mark.services

pytest.importorskip("botocore", reason="the aws extra and moto run in the services session")
pytest.importorskip("moto")


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_aws(monkeypatch, tmp_path)


def test_an_aws_key_is_verified_by_sts_get_caller_identity(moto: Moto) -> None:
    create_credential("keys", "AWS", credential={"aws": {
        "access_key_id": moto.key_id, "secret_access_key": moto.secret,
        "endpoint": moto.url}})  # fmt: skip
    result = verify_credential("keys", "AWS", live=True)
    assert result.call == "sts:GetCallerIdentity"
    assert result.endpoint == moto.url + "/"
    assert result.identity is not None
    assert result.identity.endswith(":user/tilecred-test")
    assert result.identity.startswith("arn:aws:iam::")
    outbound = [r for r in read_audit(credential="keys") if r.action == "outbound"]
    assert [(r.outcome, (r.detail or "").split(": ")[1].split(" in ")[0]) for r in outbound] == [
        ("ok", result.identity)
    ]


def test_a_wrong_secret_is_refused_with_stss_code(moto: Moto) -> None:
    create_credential("bad", "AWS", credential={"aws": {
        "access_key_id": moto.key_id, "secret_access_key": CANARY_SECRET,
        "endpoint": moto.url}})  # fmt: skip
    with pytest.raises(VerificationFailedError) as caught:
        verify_credential("bad", live=True)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert caught.value.message.startswith(
        f"credential 'bad' failed live verification at {moto.url}/: SignatureDoesNotMatch: "
    )
    assert CANARY_SECRET not in str(caught.value)


# Azurite's development account: a published name and key, valid only there.
AZURE_ACCOUNT = "devstoreaccount1"
AZURE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's blob endpoint for the development account."""
    port = free_port()
    work = tmp_path_factory.mktemp("azurite")
    command = azurite_command(work / "data", port)
    if command is None:
        unavailable("Azurite is not available (node and npm are needed)")
        raise AssertionError  # unreachable: unavailable() skips or fails
    with start(command, port, "/", work / "azurite.log") as service:
        yield f"{service.url}/{AZURE_ACCOUNT}"


def test_an_azure_account_key_is_verified_by_listing_one_container(azurite: str) -> None:
    create_credential("blobs", "AZURE", credential={"azure": {
        "account_name": AZURE_ACCOUNT, "account_key": AZURE_KEY,
        "blob_endpoint": azurite}})  # fmt: skip
    result = verify_credential("blobs", live=True)
    assert (result.call, result.endpoint, result.identity) == (
        "azure:List Containers", azurite + "/", AZURE_ACCOUNT,
    )  # fmt: skip


def test_a_wrong_azure_key_is_refused_in_azures_words(azurite: str) -> None:
    wrong = base64.b64encode(CANARY_SECRET.encode()).decode()
    create_credential("bad-blobs", "AZURE", credential={"azure": {
        "account_name": AZURE_ACCOUNT, "account_key": wrong,
        "blob_endpoint": azurite}})  # fmt: skip
    with pytest.raises(VerificationFailedError) as caught:
        verify_credential("bad-blobs", live=True)
    assert caught.value.code == "AuthorizationFailure"
    assert caught.value.message.startswith(
        f"credential 'bad-blobs' failed live verification at {azurite}/: {caught.value.code}: "
    )
    assert CANARY_SECRET not in str(caught.value)
    assert wrong not in str(caught.value)


def test_an_aws_role_is_verified_by_assuming_it_with_the_callers_own_key(
    moto: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret)
    create_credential("reader", "AWS", role={"aws": {
        "role_arn": moto.role_arn, "external_id": EXTERNAL_ID, "endpoint": moto.url}})  # fmt: skip
    result = verify_credential("reader", live=True)
    assert result.call == "sts:AssumeRole"
    assert result.identity is not None
    assert result.identity.endswith(f":assumed-role/{ROLE_NAME}/tilecred-reader")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", CANARY_SECRET)
    with pytest.raises(VerificationFailedError) as caught:
        verify_credential("reader", live=True)
    assert caught.value.code == "SignatureDoesNotMatch"
    assert CANARY_SECRET not in str(caught.value)
