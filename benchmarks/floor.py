"""The floor: the least any Python client must do for the same calls.

Only urllib3 and msgspec (and ``urllib.parse.quote``, since a name must be
percent-encoded to be sent at all): one reused connection pool, headers built
once, typed msgspec decoders built once, the status checked, nothing else. No
argument checks, no retries, no deadline, no error mapping, no secret
masking: whatever tilecred costs above this is what those cost.

The structs mirror tilecred's models field for field (so both decode the same
bytes into the same shapes), as plain ``msgspec.Struct`` with no hooks.
"""

from __future__ import annotations

import datetime
import enum
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import msgspec
import urllib3

__all__ = ["Floor"]


class Provider(enum.StrEnum):
    AWS = "AWS"
    AZURE = "AZURE"
    GCP = "GCP"
    SNOWFLAKE = "SNOWFLAKE"
    DATABRICKS = "DATABRICKS"


class Kind(enum.StrEnum):
    WORKSPACE = "workspace"
    TEAMSPACE = "teamspace"


class _S(msgspec.Struct, kw_only=True, omit_defaults=True):
    pass


class AWSCredential(_S, kw_only=True):
    access_key_id: str
    secret_access_key: str | None = None
    endpoint: str | None = None
    use_path_style: bool | None = None


class AzureCredential(_S, kw_only=True):
    blob_endpoint: str | None = None
    account_name: str | None = None
    account_key: str | None = None


class GCPInteroperabilityCredential(_S, kw_only=True):
    access_key_id: str | None = None
    secret_access_key: str | None = None


class Credential(_S, kw_only=True):
    aws: AWSCredential | None = None
    azure: AzureCredential | None = None
    gcp: GCPInteroperabilityCredential | None = None


class AWSRole(_S, kw_only=True):
    role_arn: str
    external_id: str | None = None
    endpoint: str | None = None
    use_path_style: bool | None = None


class AccessCredentialRole(_S, kw_only=True):
    aws: AWSRole | None = None


class AzureToken(_S, kw_only=True):
    blob_endpoint: str | None = None
    account_name: str
    sas_token: str | None = None


class AzureEntraIDToken(_S, kw_only=True):
    blob_endpoint: str


class AzureEntraIDTaskToken(_S, kw_only=True):
    client_id: str
    tenant_id: str | None = None
    blob_endpoint: str | None = None


class GCPServiceAccountKey(_S, kw_only=True):
    account_id: str
    key_id: str
    key_text: str | None = None


class SnowflakeServiceUserKey(_S, kw_only=True):
    account: str | None = None
    user: str | None = None
    private_key_raw: str | None = None
    private_key_passphrase: str | None = None
    role: str | None = None
    warehouse: str | None = None


class DatabricksServicePrincipalSecret(_S, kw_only=True):
    host: str | None = None
    client_id: str | None = None
    client_secret: str | None = None


class Token(_S, kw_only=True):
    azure: AzureToken | None = None
    azure_entra_id: AzureEntraIDToken | None = None
    azure_entra_id_task: AzureEntraIDTaskToken | None = None
    gcp: GCPServiceAccountKey | None = None
    snowflake: SnowflakeServiceUserKey | None = None
    databricks: DatabricksServicePrincipalSecret | None = None


class AccessCredential(_S, kw_only=True):
    credential_type: Kind
    id: str
    name: str
    provider: Provider
    provider_default: bool | None = None
    created_at: datetime.datetime
    updated_at: datetime.datetime | None = None
    allowed_in_tasks: bool | None = None
    status: str | None = None
    credential: Credential | None = None
    role: AccessCredentialRole | None = None
    token: Token | None = None


class PaginationMetadata(_S, kw_only=True):
    page: int
    per_page: int
    total_pages: int
    total_items: int


class GetResponse(_S, kw_only=True):
    data: AccessCredential


class ListResponse(_S, kw_only=True):
    data: list[AccessCredential]
    pagination_metadata: PaginationMetadata | None = None


_GET = msgspec.json.Decoder(GetResponse)
_LIST = msgspec.json.Decoder(ListResponse)


class Floor:
    """A bare client for ``get`` and ``list`` on one host.

    Parameters:
        url: ``http://host:port`` of the server.
        token: sent as ``X-TILEDB-REST-API-KEY``.
        workspace: the workspace id in every path.
        maxsize: connections the pool keeps (one per thread that calls at once).
    """

    def __init__(self, url: str, token: str, workspace: str, maxsize: int = 16) -> None:
        split = urlsplit(url)
        assert split.hostname is not None
        self._pool = urllib3.HTTPConnectionPool(
            split.hostname,
            split.port,
            maxsize=maxsize,
            timeout=urllib3.Timeout(connect=10.0, read=30.0),
            retries=False,
        )
        self._headers = {
            "User-Agent": "floor/1",
            "Accept": "application/json",
            "X-TILEDB-REST-API-KEY": token,
        }
        self._base = f"/v4/credentials/{quote(workspace, safe='')}"

    def close(self) -> None:
        self._pool.close()

    def _get(self, target: str) -> bytes:
        resp = self._pool.urlopen("GET", target, headers=self._headers, redirect=False)
        if resp.status >= 400:
            raise RuntimeError(f"GET {target}: {resp.status}")
        data: bytes = resp.data
        return data

    def get(self, name: str) -> AccessCredential:
        """One credential by name."""
        return _GET.decode(self._get(f"{self._base}/{quote(name, safe='')}")).data

    def page(self, number: int, per_page: int) -> list[AccessCredential]:
        """One page of the workspace-level listing."""
        query = f"?page={number}&per_page={per_page}"
        return _LIST.decode(self._get(self._base + query)).data

    def pages(self, teamspace: str, per_page: int) -> Iterator[list[AccessCredential]]:
        """Each page's items, one page at a time, up to the last (or an empty) page."""
        page = 1
        while True:
            query = f"?teamspace_id={quote(teamspace, safe='')}&page={page}&per_page={per_page}"
            body = _LIST.decode(self._get(self._base + query))
            if not body.data:
                return
            yield body.data
            meta = body.pagination_metadata
            if meta is None or page >= meta.total_pages:
                return
            page += 1

    def items(self, teamspace: str, per_page: int) -> Iterator[AccessCredential]:
        """Every item of a listing, one page held at a time."""
        for items in self.pages(teamspace, per_page):
            yield from items
