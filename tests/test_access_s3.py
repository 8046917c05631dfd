"""AWS keys and roles against a real S3, STS and IAM that check signatures.

moto runs in server mode, as a child process on 127.0.0.1, with
authentication on after the three calls that make an IAM user and its key;
boto3, s3fs and TileDB-Py then use that key through ``CredentialAccess``.
"""

from __future__ import annotations

import datetime
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

import pytest

from tests._moto import BUCKET, EXTERNAL_ID, ROLE_NAME, Moto
from tests._services import (
    isolate_aws,
    tiledb_round_trip,
    tiledb_without_profile,
)
from tilecred import (
    AccessCredential,
    AccessCredentialRole,
    AWSCredential,
    AWSRole,
    CloudProvider,
    Credential,
    CredentialsError,
    CredentialType,
)
from tilecred._access import CredentialAccess

pytestmark = pytest.mark.services

boto3 = pytest.importorskip("boto3", reason="the aws extra and moto run in the services session")
pytest.importorskip("moto")
botocore_exceptions = pytest.importorskip("botocore.exceptions")

_CREATED = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    isolate_aws(monkeypatch, tmp_path)


@pytest.fixture
def tiledb_profile(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tiledb_without_profile(monkeypatch, tmp_path)


def key_credential(
    moto: Moto, name: str = "lake-key", secret: str | None = None
) -> AccessCredential:
    return AccessCredential(
        credential_type=CredentialType.WORKSPACE, id=f"id-{name}", name=name,
        provider=CloudProvider.AWS, created_at=_CREATED, allowed_in_tasks=True,
        credential=Credential(aws=AWSCredential(
            access_key_id=moto.key_id, secret_access_key=secret or moto.secret,
            endpoint=moto.url, use_path_style=True,
        )),
    )  # fmt: skip


def role_credential(moto: Moto, external_id: str | None = EXTERNAL_ID) -> AccessCredential:
    return AccessCredential(
        credential_type=CredentialType.WORKSPACE, id="id-role", name="lake-role",
        provider=CloudProvider.AWS, created_at=_CREATED, allowed_in_tasks=True,
        role=AccessCredentialRole(aws=AWSRole(
            role_arn=moto.role_arn, external_id=external_id, endpoint=moto.url,
            use_path_style=True,
        )),
    )  # fmt: skip


def test_authentication_is_on(moto: Moto) -> None:
    """A key moto does not know is refused: the server really checks."""
    with pytest.raises(botocore_exceptions.ClientError) as caught:
        moto.client("s3", secret="not-the-secret").list_objects_v2(Bucket=BUCKET)
    assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


def test_boto3_session_puts_and_gets_an_object(moto: Moto) -> None:
    with CredentialAccess(key_credential(moto)) as access:
        session = access.boto3_session()
        assert isinstance(session, boto3.Session)
        s3 = session.client("s3")
        assert s3.meta.endpoint_url == moto.url
        s3.put_object(Bucket=BUCKET, Key="boto3.txt", Body=b"from boto3")
        body = s3.get_object(Bucket=BUCKET, Key="boto3.txt")["Body"].read()
        assert body == b"from boto3"
        # The caller's own endpoint still wins.
        other = session.client("s3", endpoint_url="http://127.0.0.1:1")
        assert other.meta.endpoint_url == "http://127.0.0.1:1"
        assert session.resource("s3").Object(BUCKET, "boto3.txt").get()["Body"].read() == body


def test_s3fs_lists_through_storage_options(moto: Moto) -> None:
    s3fs = pytest.importorskip("s3fs")
    with CredentialAccess(key_credential(moto)) as access:
        fs = s3fs.S3FileSystem(**access.storage_options(), skip_instance_cache=True)
        assert f"{BUCKET}/seed.txt" in fs.ls(BUCKET)
        assert fs.cat(f"{BUCKET}/seed.txt") == b"seed"


@pytest.mark.usefixtures("tiledb_profile")
def test_tiledb_writes_an_array_with_tiledb_config(moto: Moto) -> None:
    with CredentialAccess(key_credential(moto)) as access:
        config = access.tiledb_config()
        assert config["vfs.s3.scheme"] == "http"
        assert config["vfs.s3.use_virtual_addressing"] == "false"
        config["vfs.s3.region"] = "us-east-1"
        assert tiledb_round_trip(config, f"s3://{BUCKET}/array", [1, 2, 3, 4]) == [1, 2, 3, 4]
    listed = moto.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="array/")
    assert listed["KeyCount"] > 0


# A child process that reads the seed object with whatever AWS_* it was given.
_READ_SEED = (
    "import boto3; s3 = boto3.client('s3', region_name='us-east-1'); "
    f"print(s3.get_object(Bucket={BUCKET!r}, Key='seed.txt')['Body'].read().decode())"
)


def test_env_reads_the_object_in_a_child_process(moto: Moto) -> None:
    with CredentialAccess(key_credential(moto)) as access:
        env = access.env()
    assert env == {
        "AWS_ACCESS_KEY_ID": moto.key_id,
        "AWS_SECRET_ACCESS_KEY": moto.secret,
        "AWS_ENDPOINT_URL": moto.url,
    }

    done = subprocess.run(
        [sys.executable, "-c", _READ_SEED], env={**os.environ, **env},
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "seed"), done.stderr[-500:]


@pytest.mark.usefixtures("tiledb_profile")
def test_a_wrong_secret_fails_at_the_server(moto: Moto) -> None:
    s3fs = pytest.importorskip("s3fs")
    tiledb = pytest.importorskip("tiledb")
    wrong = key_credential(moto, secret="CANARY-wrong-secret-5d1e")
    with CredentialAccess(wrong) as access:
        s3 = access.boto3_session().client("s3")
        with pytest.raises(botocore_exceptions.ClientError) as caught:
            s3.get_object(Bucket=BUCKET, Key="seed.txt")
        assert caught.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
        fs = s3fs.S3FileSystem(**access.storage_options(), skip_instance_cache=True)
        with pytest.raises(PermissionError):
            fs.cat(f"{BUCKET}/seed.txt")
        ctx = tiledb.Ctx(tiledb.Config({**access.tiledb_config(), "vfs.s3.region": "us-east-1"}))
        with pytest.raises(tiledb.TileDBError):
            tiledb.VFS(ctx=ctx).ls(f"s3://{BUCKET}/")


def _resolver(moto: Moto) -> Any:
    stored = {"lake-key": key_credential(moto)}
    return stored.__getitem__


def _assume_role_requests(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The bodies of the AssumeRole requests botocore sent, from its debug log."""
    bodies = []
    for record in caplog.records:
        args = cast(tuple[Any, ...], record.args)
        if record.name == "botocore.endpoint" and "AssumeRole" in str(args[0]):
            bodies.append(args[1]["body"])
    return bodies


def test_a_role_is_assumed_with_its_external_id(
    moto: Moto, caplog: pytest.LogCaptureFixture
) -> None:
    """A stored key (named by ``source``) calls STS; S3 then takes the role's credentials."""
    caplog.set_level(logging.DEBUG, logger="botocore.endpoint")
    with CredentialAccess(role_credential(moto), resolve=_resolver(moto)) as access:
        assert access.expires_at is None
        session = access.boto3_session(source="lake-key")
        identity = session.client("sts", endpoint_url=moto.url).get_caller_identity()
        assert identity["Arn"].endswith(f":assumed-role/{ROLE_NAME}/tilecred-lake-role")
        body = session.client("s3").get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read()
        assert body == b"seed"
        expires_at = access.expires_at
        assert expires_at is not None
        assert expires_at > datetime.datetime.now(datetime.UTC)
        assert session is access.boto3_session(source="lake-key")
    assert _assume_role_requests(caplog) == [
        {
            "Action": "AssumeRole",
            "Version": "2011-06-15",
            "RoleArn": moto.role_arn,
            "RoleSessionName": "tilecred-lake-role",
            "ExternalId": EXTERNAL_ID,
        }
    ]


def test_a_role_is_assumed_with_the_callers_own_credentials(
    moto: Moto, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No source: the caller's default chain (here, the environment) calls STS."""
    s3fs = pytest.importorskip("s3fs")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", moto.key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", moto.secret)
    with CredentialAccess(role_credential(moto)) as access:
        env = access.env()
        assert sorted(env) == [
            "AWS_ACCESS_KEY_ID", "AWS_ENDPOINT_URL", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        ]  # fmt: skip
        assert env["AWS_ACCESS_KEY_ID"] != moto.key_id
        options = access.storage_options()
        assert options["token"] == env["AWS_SESSION_TOKEN"]
        fs = s3fs.S3FileSystem(**options, skip_instance_cache=True)
        assert fs.cat(f"{BUCKET}/seed.txt") == b"seed"


def test_role_credentials_are_refreshed_before_they_expire(moto: Moto) -> None:
    """STS's shortest lifetime (15 min) is inside botocore's refresh window: each use refreshes."""
    with CredentialAccess(role_credential(moto), resolve=_resolver(moto)) as access:
        session = access.boto3_session(source="lake-key", duration_seconds=900)
        first = session.get_credentials().get_frozen_credentials()
        first_expiry = access.expires_at
        second = session.get_credentials().get_frozen_credentials()
        assert first.access_key != second.access_key
        assert first_expiry is not None
        s3 = session.client("s3")
        assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"


def test_a_failed_assume_role_is_a_credentials_error(moto: Moto) -> None:
    """No caller credentials at all: a CredentialsError naming the role, no secret."""
    with (
        CredentialAccess(role_credential(moto)) as access,
        pytest.raises(CredentialsError) as caught,
    ):
        access.env()
    message = str(caught.value)
    assert message.startswith("could not use credential 'lake-role': could not assume role ")
    assert moto.role_arn in message


def test_use_credential_end_to_end_on_the_local_store(moto: Moto) -> None:
    """Stored by name, used by name: a role assumed with a stored key, both through the gate."""
    tilecred = pytest.importorskip("tilecred")
    key = key_credential(moto).credential
    role = role_credential(moto).role
    tilecred.create_credential("lake-key", "AWS", allowed_in_tasks=True, credential=key)
    tilecred.create_credential("lake-role", "AWS", allowed_in_tasks=True, role=role)
    with tilecred.use_credential("lake-key") as access:
        s3 = access.boto3_session().client("s3")
        assert s3.get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
    with tilecred.use_credential("lake-role") as access:
        session = access.boto3_session(source="lake-key")
        assert (
            session.client("s3").get_object(Bucket=BUCKET, Key="seed.txt")["Body"].read() == b"seed"
        )
    tilecred.update_credential("lake-key", allowed_in_tasks=False)
    access = tilecred.use_credential("lake-role")
    with access, pytest.raises(tilecred.PermissionDeniedError) as caught:
        access.boto3_session(source="lake-key")
    assert "'lake-key' is not allowed in tasks" in str(caught.value)
    assert moto.secret not in str(caught.value)


def test_tilecred_exec_reads_the_object_in_a_child_process(moto: Moto) -> None:
    """The command line's exec hands the child env()'s variables, and only those."""
    tilecred = pytest.importorskip("tilecred")
    tilecred.create_credential(
        "lake-key", "AWS", allowed_in_tasks=True, credential=key_credential(moto).credential
    )
    done = subprocess.run(
        [sys.executable, "-m", "tilecred", "exec", "lake-key", "--",
         sys.executable, "-c", _READ_SEED],
        env=dict(os.environ), capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert (done.returncode, done.stdout.strip()) == (0, "seed"), done.stderr[-800:]
    assert moto.secret not in done.stdout + done.stderr
