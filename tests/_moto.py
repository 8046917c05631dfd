"""moto's S3, STS and IAM in server mode, with signatures checked, for the tests.

A child process on 127.0.0.1 and a free port. Authentication is on after the
three calls that make an IAM user and its key; everything after that (a
role, a bucket with one object) is made with that key.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests._services import Service, free_port, moto_command, start, unavailable

__all__ = ["BUCKET", "EXTERNAL_ID", "ROLE_NAME", "Moto", "module_moto", "running_moto"]

BUCKET = "lake"
ROLE_NAME = "reader"
EXTERNAL_ID = "ext-7f3a"
# The bootstrap calls made before authentication starts: create_user,
# put_user_policy, create_access_key.
_BOOTSTRAP_CALLS = 3
_ALLOW_ALL = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
)


class Moto:
    """moto's server with one IAM user (its key), one role and one bucket."""

    def __init__(self, service: Service, key_id: str, secret: str, role_arn: str) -> None:
        self.url = service.url
        self.key_id = key_id
        self.secret = secret
        self.role_arn = role_arn

    def client(self, service: str, secret: str | None = None) -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name="us-east-1",
            aws_access_key_id=self.key_id,
            aws_secret_access_key=secret or self.secret,
        )


def _bootstrap(service: Service) -> Moto:
    """The IAM user and key (unauthenticated calls), then the rest with that key."""
    import boto3

    anonymous = boto3.client(
        "iam", endpoint_url=service.url, region_name="us-east-1",
        aws_access_key_id="AKIABOOTSTRAP0000000", aws_secret_access_key="bootstrap",
    )  # fmt: skip
    anonymous.create_user(UserName="tilecred-test")
    anonymous.put_user_policy(UserName="tilecred-test", PolicyName="all", PolicyDocument=_ALLOW_ALL)
    key = anonymous.create_access_key(UserName="tilecred-test")["AccessKey"]
    moto = Moto(service, key["AccessKeyId"], key["SecretAccessKey"], "")
    iam = moto.client("iam")
    condition = {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}
    trust = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
         "Principal": {"AWS": "*"}, "Condition": condition}]}
    )  # fmt: skip
    role = iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="all", PolicyDocument=_ALLOW_ALL)
    moto.role_arn = role["Arn"]
    s3 = moto.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="seed.txt", Body=b"seed")
    return moto


@contextlib.contextmanager
def running_moto(directory: Path) -> Iterator[Moto]:
    """moto, bootstrapped, until the block ends (its log in ``directory``).

    Raises:
        RuntimeError: moto did not start.
    """
    port = free_port()
    env = {
        "INITIAL_NO_AUTH_ACTION_COUNT": str(_BOOTSTRAP_CALLS),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with start(moto_command(port), port, "/moto-api/", directory / "moto.log", env) as service:
        yield _bootstrap(service)


def module_moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Moto]:
    """conftest's ``moto`` fixture: moto for one test module; skipped where it cannot
    start (failed under CI)."""
    try:
        context = running_moto(tmp_path_factory.mktemp("moto"))
        service = context.__enter__()
    except RuntimeError as exc:
        unavailable(f"moto did not start: {exc}")
        raise
    try:
        yield service
    finally:
        context.__exit__(None, None, None)
