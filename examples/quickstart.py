"""A tour of tilecred against the embedded default: no server, no account.

    python3 examples/quickstart.py

The store goes into a temporary directory that is removed at the end, unless
TILECRED_HOME is set; then the tour uses that store's "quickstart" workspace
and leaves the rest of it alone.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import tilecred
from tilecred import (
    AccessCredentialRole,
    AWSCredential,
    AWSRole,
    Credential,
    CredentialsError,
    NotFoundError,
)

# A stand-in secret: the tour shows that it is never printed and never on disk.
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ROLE_ARN = "arn:aws:iam::123456789012:role/analytics"


def section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 66 - len(title)))


def show(creds: list[tilecred.AccessCredential]) -> None:
    if not creds:
        print("   (none)")
    for c in creds:
        kind = next(k for k in ("credential", "role", "token") if getattr(c, k) is not None)
        default = "default" if c.provider_default else ""
        line = f"   {c.name:<14} {c.provider.value:<11} {kind:<10} {c.credential_type.value:<10}"
        print(f"{line} {default}".rstrip())


def rsa_pem(passphrase: str | None = None) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase.encode())
        if passphrase
        else serialization.NoEncryption()
    )
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )
    return pem.decode()


def choose_store() -> tuple[Path, str, bool]:
    """The store's directory, the workspace, and whether the directory is ours to remove."""
    if os.environ.get("TILECRED_HOME"):
        return Path(os.environ["TILECRED_HOME"]).expanduser(), "quickstart", False
    return Path(tempfile.mkdtemp(prefix="tilecred-quickstart-")), "default", True


def main() -> None:
    home, workspace, throwaway = choose_store()
    # local=True: even on a machine set up for TileDB, the tour stays local.
    client = tilecred.configure(local=True, home=home, workspace=workspace)
    try:
        tour(client, home)
    finally:
        client.close()
        if throwaway:
            shutil.rmtree(home)
            print(f"\nRemoved {home}. Set TILECRED_HOME to keep a store between runs.")


def tour(client: tilecred.Client, home: Path) -> None:
    section("Where calls go")
    for key, value in client.settings.describe().items():
        print(f"   {key}: {value}")
    for stale in client.list_credentials():  # a previous run in a kept store
        client.delete_credential(stale.name)
    try:
        for stale in client.list_credentials(teamspace="ml"):
            client.delete_credential(stale.name, teamspace="ml")
    except NotFoundError:
        pass  # a fresh store: teamspace 'ml' comes into being with its first credential

    section("Create credentials in the workspace and in teamspace 'ml'")
    tilecred.create_credential(
        "prod-s3", "AWS", provider_default=True,
        role=AccessCredentialRole(aws=AWSRole(role_arn=ROLE_ARN)),
    )  # fmt: skip
    tilecred.create_credential(
        "lake-keys", "AWS",
        credential=Credential(aws=AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE",
                                                secret_access_key=SECRET)),
    )  # fmt: skip
    # Plain dicts work as well as the model classes.
    tilecred.create_credential("blobs", "azure", token={"azure": {
        "account_name": "lakeacct", "sas_token": "sv=2024-05-04&ss=b&sig=" + SECRET}})  # fmt: skip
    tilecred.create_credential("gcs-hmac", "GCP", credential={"gcp": {
        "access_key_id": "GOOG1EXAMPLEACCESSID", "secret_access_key": SECRET}})  # fmt: skip
    tilecred.create_credential("warehouse", "SNOWFLAKE", teamspace="ml", token={"snowflake": {
        "account": "acme-xy12345", "user": "svc_loader", "private_key_raw": rsa_pem(SECRET),
        "private_key_passphrase": SECRET, "warehouse": "LOAD_WH"}})  # fmt: skip
    tilecred.create_credential("notebooks", "DATABRICKS", teamspace="ml", token={"databricks": {
        "host": "https://adb-1234.5.azuredatabricks.net", "client_id": "sp-analytics",
        "client_secret": SECRET}})  # fmt: skip
    key_file = json.dumps({
        "type": "service_account", "project_id": "demo", "private_key_id": "k1",
        "private_key": rsa_pem(), "client_email": "loader@demo.iam.gserviceaccount.com",
        "token_uri": "https://oauth2.googleapis.com/token"})  # fmt: skip
    tilecred.create_credential("gcs-loader", "GCP", teamspace="ml", token={"gcp": {
        "account_id": "loader@demo.iam.gserviceaccount.com", "key_id": "k1",
        "key_text": key_file}})  # fmt: skip
    print("   created 4 in the workspace and 3 in teamspace 'ml' (it came into being)")

    section("List, with filters")
    print("   everything in the workspace:")
    show(list(tilecred.list_credentials()))
    print("   provider='AWS':")
    show(list(tilecred.list_credentials(provider="AWS")))
    print("   exclude_provider=['AWS', 'AZURE']:")
    show(list(tilecred.list_credentials(exclude_provider=["AWS", "AZURE"])))
    pager = tilecred.list_credentials(teamspace="ml", per_page=2)
    print(f"   teamspace='ml', per_page=2: {len(pager)} items on {pager.total_pages} pages")
    show(list(pager))

    section("Get: secrets are never returned")
    cred = tilecred.get_credential("lake-keys")
    print(f"   get_credential('lake-keys').credential = {cred.credential!r}")
    assert cred.credential is not None
    assert cred.credential.aws is not None
    print(f"   ... .aws.secret_access_key = {cred.credential.aws.secret_access_key!r}")
    given = AWSCredential(access_key_id="AKIAIOSFODNN7EXAMPLE", secret_access_key=SECRET)
    print(f"   and a secret you hold prints masked: {given!r}")

    section("Rename: same id and created_at, updated_at moves")
    before = tilecred.get_credential("blobs")
    tilecred.update_credential("blobs", name="lake-blobs")
    after = tilecred.get_credential("lake-blobs")
    print(f"   id          {before.id} -> {after.id}")
    print(f"   created_at  {before.created_at:%H:%M:%S.%f} -> {after.created_at:%H:%M:%S.%f}")
    print(f"   updated_at  {before.updated_at:%H:%M:%S.%f} -> {after.updated_at:%H:%M:%S.%f}")

    section("Provider default: at most one per provider")
    tilecred.create_credential(
        "staging-s3", "AWS", provider_default=True,
        role={"aws": {"role_arn": "arn:aws:iam::123456789012:role/staging"}},
    )  # fmt: skip
    for c in tilecred.list_credentials(provider="AWS"):
        print(f"   {c.name:<14} provider_default={c.provider_default}")

    section("Verify: structure checked, nothing stored")
    tilecred.verify_credential("check", "AWS", role={"aws": {"role_arn": ROLE_ARN}})
    print("   good role ARN: verified")
    try:
        tilecred.verify_credential("check", "AWS", credential={"aws": {
            "access_key_id": "AKIA-TOO-SHORT", "secret_access_key": SECRET}})  # fmt: skip
    except CredentialsError as exc:
        print(f"   bad key id:    {exc}")

    section("Delete")
    tilecred.delete_credential("gcs-hmac")
    try:
        tilecred.get_credential("gcs-hmac")
    except NotFoundError as exc:
        print(f"   {exc}")

    section("On disk: private files, secrets encrypted")
    client.close()  # fold the write-ahead log into the database file
    for path in sorted(home.iterdir()):
        mode = stat.S_IMODE(path.stat().st_mode)
        found = SECRET.encode() in path.read_bytes()
        print(f"   {path.name:<14} mode {mode:o}  secret in file: {found}")
    print(f"   {home}: mode {stat.S_IMODE(home.stat().st_mode):o}")


if __name__ == "__main__":
    main()
