"""The HTTP backend: the operations over TileDB's v4 REST API and tilecred's extensions."""

from __future__ import annotations

import datetime
import re
import threading
from typing import TypeVar
from urllib.parse import quote, urlsplit

import msgspec

from ._arguments import is_teamspace_id
from ._backend import AuditQuery, ListQuery, Page, TokenSwitch
from ._config import Settings
from ._errors import (
    ConfigurationError,
    CredentialsError,
    InvalidArgumentError,
    NotFoundError,
    VerificationFailedError,
)
from ._http import Query, Transport
from ._live import LiveVerification, LiveVerificationResponse
from ._models import (
    AccessCredential,
    Association,
    AssociationListResponse,
    AssociationRequest,
    AssociationResponse,
    AuditListResponse,
    AuditRecord,
    CredentialCreateRequest,
    CredentialGetResponse,
    CredentialsListResponse,
    CredentialsVerifyRequest,
    CredentialUpdateRequest,
    Teamspace,
    TeamspaceCreateRequest,
    TeamspaceListResponse,
    TeamspaceResponse,
    UsageSummary,
    UsageSummaryResponse,
    WorkspaceResponse,
)
from ._token_models import (
    ApiToken,
    IssuedToken,
    IssuedTokenResponse,
    TokenCreateRequest,
    TokenListResponse,
    TokenRenameRequest,
    TokenResponse,
)

__all__ = ["HttpBackend"]

T = TypeVar("T")

_ENCODER = msgspec.json.Encoder()
_GET_DECODER = msgspec.json.Decoder(CredentialGetResponse)
_LIST_DECODER = msgspec.json.Decoder(CredentialsListResponse)
_TEAMSPACE_DECODER = msgspec.json.Decoder(TeamspaceResponse)
_WORKSPACE_DECODER = msgspec.json.Decoder(WorkspaceResponse)
_AUDIT_DECODER = msgspec.json.Decoder(AuditListResponse)
_SUMMARY_DECODER = msgspec.json.Decoder(UsageSummaryResponse)
_ASSOCIATION_DECODER = msgspec.json.Decoder(AssociationResponse)
_ASSOCIATIONS_DECODER = msgspec.json.Decoder(AssociationListResponse)
_TEAMSPACES_DECODER = msgspec.json.Decoder(TeamspaceListResponse)
_TOKEN_DECODER = msgspec.json.Decoder(TokenResponse)
_TOKENS_DECODER = msgspec.json.Decoder(TokenListResponse)
_ISSUED_DECODER = msgspec.json.Decoder(IssuedTokenResponse)
_LIVE_DECODER = msgspec.json.Decoder(LiveVerificationResponse)

# tilecred's own extensions to the API live outside TileDB's /v4 paths.
EXTENSION_ROOT = "/tilecred/v1"
# TileDB's hosted service: it applies credentials on its side (a task's
# access_credentials_name) and has no way to hand their secrets out.
_TILEDB_HOSTS = ("tiledb.com",)
# What `tilecred serve` says when a credential, teamspace, workspace or token
# is missing. Any other 404 from an extension route means the server does not
# have the route: TileDB's service, or a tilecred older than the extension.
_OUR_NOT_FOUND = re.compile(
    r"credential not found|workspace '.*' not found|teamspace '.*' not found"
    r"|credential '.*' is not associated with .*|no .*credential is (associated|the provider).*"
    r"|no live token with id '.*'"
)


def segment(value: str) -> str:
    """A path segment, percent-encoded with nothing left safe."""
    return quote(value, safe="")


def _encode(request: msgspec.Struct) -> bytes:
    try:
        return _ENCODER.encode(request)
    except (UnicodeError, msgspec.EncodeError) as exc:
        raise InvalidArgumentError(f"the request cannot be sent as JSON: {exc}") from exc


def _hosted_by_tiledb(host: str | None) -> bool:
    name = (urlsplit(host or "").hostname or "").lower()
    return any(name == domain or name.endswith("." + domain) for domain in _TILEDB_HOSTS)


def _no_extension(host: str | None, what: str, *, lifecycle: bool = False) -> ConfigurationError:
    if lifecycle:
        return ConfigurationError(
            f"the service at {host} cannot {what}: that is a tilecred extension TileDB's "
            "service does not have; use `tilecred serve` or the local store for it"
        )
    return ConfigurationError(
        f"the service at {host} cannot {what}: TileDB's service applies credentials on its "
        "side (name one in a task's access_credentials_name) and never hands their secrets "
        "out; use `tilecred serve` (a task token) or the local store to use a credential here"
    )


def _decode(decoder: msgspec.json.Decoder[T], data: bytes, request_id: str | None) -> T:
    try:
        return decoder.decode(data)
    except msgspec.MsgspecError as exc:
        raise CredentialsError(
            f"the server's response could not be read: {exc}", request_id=request_id
        ) from exc


class HttpBackend:
    """Calls TileDB's service, or ``tilecred serve``, over HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.transport = Transport(settings)
        self._host = settings.host
        self._workspace = settings.workspace
        self._workspace_id: str | None = None
        # "/v4/credentials/{workspace}", built once the workspace id is known.
        self._credentials_path: str | None = None
        self._teamspace_ids: dict[str, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self.transport.close()

    # -- names to ids, each looked up once per client ---------------------------

    def workspace_id(self) -> str:
        if self._workspace_id is not None:
            return self._workspace_id
        workspace = self._workspace
        if not workspace:
            raise ConfigurationError(
                "no workspace configured: pass workspace=, set TILEDB_REST_WORKSPACE, "
                "or use a workspace-bound token"
            )
        if not workspace.startswith("ws_"):
            try:
                resp = self.transport.request("GET", f"/v4/workspaces/{segment(workspace)}")
            except NotFoundError as exc:
                exc.message = f"workspace {workspace!r} not found"
                exc.args = (exc.message,)
                raise
            workspace = _decode(_WORKSPACE_DECODER, resp.data, resp.request_id).data.workspace_id
        self._workspace_id = workspace
        return workspace

    def teamspace_id(self, teamspace: str | None) -> str | None:
        if teamspace is None or is_teamspace_id(teamspace):
            return teamspace
        cached = self._teamspace_ids.get(teamspace)
        if cached is not None:
            return cached
        workspace = self.workspace_id()
        try:
            resp = self.transport.request(
                "GET", f"/v4/teamspaces/{segment(workspace)}/{segment(teamspace)}"
            )
        except NotFoundError as exc:
            # Worded as tilecred serve and the local backend word it.
            exc.message = f"teamspace {teamspace!r} not found"
            exc.args = (exc.message,)
            raise
        ident = _decode(_TEAMSPACE_DECODER, resp.data, resp.request_id).data.teamspace_id
        with self._lock:
            self._teamspace_ids[teamspace] = ident
        return ident

    def _scope(self, teamspace: str | None) -> tuple[str, Query]:
        """The credentials path of the workspace, and the teamspace query."""
        base = self._credentials_path
        if base is None:
            base = self._credentials_path = f"/v4/credentials/{segment(self.workspace_id())}"
        if teamspace is None:
            return base, ()
        return base, (("teamspace_id", self.teamspace_id(teamspace) or teamspace),)

    # -- the six operations -----------------------------------------------------

    def create(
        self, request: CredentialCreateRequest, teamspace: str | None, *, exist_ok: bool = False
    ) -> None:
        body = _encode(request)  # before any lookup
        base, query = self._scope(teamspace)
        if exist_ok:
            # tilecred serve compares with the stored secret; a server that does
            # not know the parameter answers 409 as for any taken name.
            query = (*query, ("exist_ok", "true"))
        self.transport.request("POST", base, query=query, body=body, sent=request)

    def get(self, name: str, teamspace: str | None) -> AccessCredential:
        base, query = self._scope(teamspace)
        resp = self.transport.request("GET", f"{base}/{segment(name)}", query=query)
        return _decode(_GET_DECODER, resp.data, resp.request_id).data

    def list_page(
        self, query: ListQuery, page: int, per_page: int | None
    ) -> Page[AccessCredential]:
        base, params = self._scope(query.teamspace)
        pairs = list(params)
        for provider in query.provider or ():
            pairs.append(("provider", provider.value))
        for provider in query.exclude_provider or ():
            pairs.append(("excl_provider", provider.value))
        if query.credential_type is not None:
            pairs.append(("type", query.credential_type.value))
        if query.verify is not None:
            pairs.append(("verify", str(query.verify)))
        pairs.append(("page", str(page)))
        if per_page is not None:
            pairs.append(("per_page", str(per_page)))
        resp = self.transport.request("GET", base, query=pairs)
        body = _decode(_LIST_DECODER, resp.data, resp.request_id)
        meta = body.pagination_metadata
        if meta is None:
            return Page(body.data, page, per_page, None, None)
        return Page(body.data, meta.page, meta.per_page, meta.total_pages, meta.total_items)

    def update(self, name: str, request: CredentialUpdateRequest, teamspace: str | None) -> None:
        body = _encode(request)
        base, query = self._scope(teamspace)
        self.transport.request(
            "PATCH", f"{base}/{segment(name)}", query=query, body=body, sent=request
        )

    def delete(self, name: str, teamspace: str | None) -> None:
        base, query = self._scope(teamspace)
        self.transport.request("DELETE", f"{base}/{segment(name)}", query=query)

    def verify(self, request: CredentialsVerifyRequest, teamspace: str | None) -> None:
        request = msgspec.structs.replace(
            request,
            workspace_id=self.workspace_id(),
            teamspace_id=self.teamspace_id(teamspace),
        )
        self.transport.request(
            "POST", "/v4/actions/credentials/verify", body=_encode(request), sent=request
        )

    # -- tilecred's extensions: use and the audit log ------------------------------

    def _check_extensions(self, what: str, *, lifecycle: bool = False) -> None:
        # Refused before anything is sent, the workspace lookup included.
        if _hosted_by_tiledb(self._host):
            raise _no_extension(self._host, what, lifecycle=lifecycle)

    def _extension(
        self, what: str, method: str, path: str, query: Query = (), *, lifecycle: bool = False,
        body: bytes | None = None,
    ) -> bytes:  # fmt: skip
        """Call an extension route; a service without it gets a clear refusal."""
        try:
            return self.transport.request(
                method, EXTENSION_ROOT + path, query=query, body=body
            ).data
        except NotFoundError as exc:
            if _OUR_NOT_FOUND.fullmatch(exc.message):
                raise
            raise _no_extension(self._host, what, lifecycle=lifecycle) from exc

    def use(self, name: str, teamspace: str | None, purpose: str | None) -> AccessCredential:
        what = "hand out a credential's secrets"
        self._check_extensions(what)
        base, query = self._scope(teamspace)
        if purpose is not None:
            query = (*query, ("purpose", purpose))
        path = f"{base.removeprefix('/v4')}/{segment(name)}/use"
        data = self._extension(what, "POST", path, query)
        return _decode(_GET_DECODER, data, None).data

    def use_by(
        self, how: str, value: str, teamspace: str | None, purpose: str | None
    ) -> AccessCredential:
        what = "hand out a credential's secrets"
        self._check_extensions(what)
        base, query = self._scope(teamspace)
        query = (*query, (how, value))
        if purpose is not None:
            query = (*query, ("purpose", purpose))
        data = self._extension(what, "POST", f"{base.removeprefix('/v4')}/use", query)
        return _decode(_GET_DECODER, data, None).data

    # -- associations ---------------------------------------------------------------

    def _associations(self, teamspace: str | None) -> tuple[str, Query]:
        _base, query = self._scope(teamspace)
        return f"/associations/{segment(self.workspace_id())}", query

    def associate(
        self, name: str, target: str, teamspace: str | None, default: bool
    ) -> Association:
        what = "associate a credential with a target"
        self._check_extensions(what, lifecycle=True)
        path, query = self._associations(teamspace)
        body = _encode(AssociationRequest(name=name, target=target, default=default))
        data = self._extension(what, "POST", path, query, lifecycle=True, body=body)
        return _decode(_ASSOCIATION_DECODER, data, None).data

    def dissociate(self, name: str, target: str, teamspace: str | None) -> None:
        what = "dissociate a credential from a target"
        self._check_extensions(what, lifecycle=True)
        path, query = self._associations(teamspace)
        query = (*query, ("name", name), ("target", target))
        self._extension(what, "DELETE", path, query, lifecycle=True)

    def list_associations(
        self, name: str | None, target: str | None, teamspace: str | None
    ) -> list[Association]:
        what = "list associations"
        self._check_extensions(what, lifecycle=True)
        path, query = self._associations(teamspace)
        if name is not None:
            query = (*query, ("name", name))
        if target is not None:
            query = (*query, ("target", target))
        data = self._extension(what, "GET", path, query, lifecycle=True)
        return _decode(_ASSOCIATIONS_DECODER, data, None).data

    def verify_live(self, name: str, teamspace: str | None) -> LiveVerification:
        what = "verify a credential against its service"
        self._check_extensions(what)
        base, query = self._scope(teamspace)
        path = f"{base.removeprefix('/v4')}/{segment(name)}/verify"
        try:
            data = self._extension(what, "POST", path, query)
        except CredentialsError as exc:
            if exc.status != 422:
                raise
            # The service refused: the body's code is the service's own.
            raise VerificationFailedError(
                exc.message, status=422, code=exc.code, request_id=exc.request_id
            ) from None
        return _decode(_LIVE_DECODER, data, None).data

    def set_active(self, name: str, teamspace: str | None, active: bool) -> AccessCredential:
        action = "activate" if active else "deactivate"
        what = f"{action} a credential"
        self._check_extensions(what, lifecycle=True)
        base, query = self._scope(teamspace)
        path = f"{base.removeprefix('/v4')}/{segment(name)}/{action}"
        data = self._extension(what, "POST", path, query, lifecycle=True)
        return _decode(_GET_DECODER, data, None).data

    def audit(self, query: AuditQuery) -> list[AuditRecord]:
        what = "read tilecred's audit log"
        self._check_extensions(what)
        params: list[tuple[str, str]] = [("limit", str(query.limit))]
        if query.credential is not None:
            params.append(("credential", query.credential))
        if query.since is not None:
            params.append(("since", query.since.isoformat()))
        path = f"/audit/{segment(self.workspace_id())}"
        data = self._extension(what, "GET", path, params)
        return _decode(_AUDIT_DECODER, data, None).data

    def audit_summary(
        self, name: str, teamspace: str | None, since: datetime.datetime | None
    ) -> list[UsageSummary]:
        what = "summarize tilecred's audit log"
        self._check_extensions(what)
        _base, scope = self._scope(teamspace)
        params: list[tuple[str, str]] = [("credential", name), *scope]
        if since is not None:
            params.append(("since", since.isoformat()))
        path = f"/audit/{segment(self.workspace_id())}/summary"
        data = self._extension(what, "GET", path, params)
        return _decode(_SUMMARY_DECODER, data, None).data

    # -- teamspaces: TileDB's calls -------------------------------------------------

    def create_teamspace(self, request: TeamspaceCreateRequest) -> Teamspace:
        body = _encode(request)
        path = f"/v4/teamspaces/{segment(self.workspace_id())}"
        resp = self.transport.request("POST", path, body=body, sent=request)
        return _decode(_TEAMSPACE_DECODER, resp.data, resp.request_id).data

    def list_teamspaces(self) -> list[Teamspace]:
        resp = self.transport.request("GET", f"/v4/teamspaces/{segment(self.workspace_id())}")
        return _decode(_TEAMSPACES_DECODER, resp.data, resp.request_id).data

    # -- API tokens: tilecred's extension, /tilecred/v1/tokens/{workspace} ----------

    def _token_call(
        self, what: str, method: str, suffix: str = "", body: msgspec.Struct | None = None
    ) -> bytes:
        self._check_extensions(what, lifecycle=True)
        path = f"/tokens/{segment(self.workspace_id())}{suffix}"
        data = None if body is None else _encode(body)
        return self._extension(what, method, path, lifecycle=True, body=data)

    def create_token(self, request: TokenCreateRequest) -> IssuedToken:
        data = self._token_call("issue API tokens", "POST", body=request)
        return _decode(_ISSUED_DECODER, data, None).data

    def list_tokens(self) -> list[ApiToken]:
        return _decode(_TOKENS_DECODER, self._token_call("list API tokens", "GET"), None).data

    def rename_token(self, token_id: str, name: str) -> ApiToken:
        data = self._token_call(
            "rename an API token", "PATCH", f"/{segment(token_id)}", TokenRenameRequest(name=name)
        )
        return _decode(_TOKEN_DECODER, data, None).data

    def switch_token(self, token_id: str, action: TokenSwitch) -> ApiToken:
        data = self._token_call(f"{action} an API token", "POST", f"/{segment(token_id)}/{action}")
        return _decode(_TOKEN_DECODER, data, None).data

    def regenerate_token(self, token_id: str) -> IssuedToken:
        data = self._token_call(
            "regenerate an API token", "POST", f"/{segment(token_id)}/regenerate"
        )
        return _decode(_ISSUED_DECODER, data, None).data

    def revoke_token(self, token_id: str) -> None:
        self._token_call("revoke an API token", "DELETE", f"/{segment(token_id)}")
