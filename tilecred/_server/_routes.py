"""The route table: which handler serves which method and path.

A path is matched segment by segment; ``None`` in a pattern captures one
non-empty segment (already percent-decoded). A path that matches a pattern
under another method is a 405 with ``Allow``; one that matches nothing, 404.
"""

from __future__ import annotations

import dataclasses

from ._request import HttpError

__all__ = ["EXTENSION", "ROUTES", "Route", "match"]


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One operation: method, path pattern, handler name, and who may call it.

    ``writes``: read-write management tokens only. ``management``: management
    tokens only (read-only ones too). ``task``: task tokens only. ``action``
    names the operation in the audit log.
    """

    method: str
    pattern: tuple[str | None, ...]
    handler: str
    writes: bool = False
    public: bool = False
    management: bool = False
    task: bool = False
    action: str = ""


W = None  # a captured segment: workspace, credential or teamspace name or id

# tilecred's own routes live under this prefix, outside TileDB's /v4.
EXTENSION = ("tilecred", "v1")

ROUTES: tuple[Route, ...] = (
    Route("GET", ("healthz",), "healthz", public=True),
    Route("GET", ("openapi.json",), "openapi", public=True),
    Route("POST", ("v4", "credentials", W), "create_credential", writes=True, action="create"),
    Route("GET", ("v4", "credentials", W), "list_credentials", action="list"),
    Route("GET", ("v4", "credentials", W, W), "get_credential", action="get"),
    Route("PATCH", ("v4", "credentials", W, W), "update_credential", writes=True,
          action="update"),
    Route("DELETE", ("v4", "credentials", W, W), "delete_credential", writes=True,
          action="delete"),
    # Verification stores nothing, so read-only management tokens may use it.
    Route("POST", ("v4", "actions", "credentials", "verify"), "verify_credential",
          management=True, action="verify"),
    Route("POST", ("v4", "teamspaces", W), "create_teamspace", writes=True,
          action="teamspace.create"),
    Route("GET", ("v4", "teamspaces", W), "list_teamspaces", action="teamspace.list"),
    Route("GET", ("v4", "teamspaces", W, W), "get_teamspace", action="teamspace.get"),
    Route("GET", ("v4", "workspaces", W), "get_workspace", action="workspace.get"),
    # The one route that hands out secrets: task tokens only, a POST (never
    # cached, never prefetched), over TLS or loopback.
    Route("POST", (*EXTENSION, "credentials", W, W, "use"), "use_credential", task=True,
          action="use"),
    # The same, for the credential a URL, an object id or a provider's default
    # chooses (query parameter url, target or provider), resolved here.
    Route("POST", (*EXTENSION, "credentials", W, "use"), "use_chosen_credential", task=True,
          action="use"),
    # Associations: any token lists; changing them is a management write.
    Route("GET", (*EXTENSION, "associations", W), "list_associations",
          action="association.list"),
    Route("POST", (*EXTENSION, "associations", W), "create_association", writes=True,
          action="association.create"),
    Route("DELETE", (*EXTENSION, "associations", W), "delete_association", writes=True,
          action="association.delete"),
    # A live verification calls the credential's own service with its secret
    # (and may store a rotated refresh token): read-write management tokens.
    Route("POST", (*EXTENSION, "credentials", W, W, "verify"), "verify_credential_live",
          writes=True, action="verify.live"),
    Route("GET", (*EXTENSION, "audit", W), "read_audit", management=True, action="audit"),
    Route("GET", (*EXTENSION, "audit", W, "summary"), "audit_summary", management=True,
          action="audit"),
    Route("POST", (*EXTENSION, "credentials", W, W, "deactivate"), "deactivate_credential",
          writes=True, action="credential.deactivate"),
    Route("POST", (*EXTENSION, "credentials", W, W, "activate"), "activate_credential",
          writes=True, action="credential.activate"),
    # A workspace's API tokens: management tokens (read-only ones list only).
    Route("GET", (*EXTENSION, "tokens", W), "list_tokens", management=True, action="token.list"),
    Route("POST", (*EXTENSION, "tokens", W), "create_token", management=True, writes=True,
          action="token.create"),
    Route("PATCH", (*EXTENSION, "tokens", W, W), "rename_token", management=True, writes=True,
          action="token.rename"),
    Route("DELETE", (*EXTENSION, "tokens", W, W), "revoke_token", management=True, writes=True,
          action="token.revoke"),
    *(Route("POST", (*EXTENSION, "tokens", W, W, verb), f"{verb}_token", management=True,
            writes=True, action=f"token.{verb}")
      for verb in ("deactivate", "activate", "regenerate")),
)  # fmt: skip


def _captures(pattern: tuple[str | None, ...], segments: tuple[str, ...]) -> list[str] | None:
    if len(pattern) != len(segments):
        return None
    captured = []
    for want, got in zip(pattern, segments, strict=True):
        if want is None:
            if not got:
                return None
            captured.append(got)
        elif want != got:
            return None
    return captured


def match(method: str, segments: tuple[str, ...]) -> tuple[Route, list[str]]:
    """The route for a request and the segments it captured.

    Raises:
        HttpError: 404 when no route has this path, 405 when none has this method.
    """
    allowed: list[str] = []
    for route in ROUTES:
        captured = _captures(route.pattern, segments)
        if captured is None:
            continue
        if route.method == method:
            return route, captured
        allowed.append(route.method)
    if allowed:
        raise HttpError(
            405,
            f"method {method} is not allowed here; use {', '.join(allowed)}",
            headers=[("Allow", ", ".join(allowed))],
        )
    raise HttpError(404, "no such route")
