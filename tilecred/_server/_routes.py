"""The route table: which handler serves which method and path.

A path is matched segment by segment; ``None`` in a pattern captures one
non-empty segment (already percent-decoded). A path that matches a pattern
under another method is a 405 with ``Allow``; one that matches nothing, 404.
"""

from __future__ import annotations

import dataclasses

from ._request import HttpError

__all__ = ["ROUTES", "Route", "match"]


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One operation: method, path pattern, handler name, and whether it writes."""

    method: str
    pattern: tuple[str | None, ...]
    handler: str
    writes: bool = False
    public: bool = False


W = None  # a captured segment: workspace, credential or teamspace name or id

ROUTES: tuple[Route, ...] = (
    Route("GET", ("healthz",), "healthz", public=True),
    Route("GET", ("openapi.json",), "openapi", public=True),
    Route("POST", ("v4", "credentials", W), "create_credential", writes=True),
    Route("GET", ("v4", "credentials", W), "list_credentials"),
    Route("GET", ("v4", "credentials", W, W), "get_credential"),
    Route("PATCH", ("v4", "credentials", W, W), "update_credential", writes=True),
    Route("DELETE", ("v4", "credentials", W, W), "delete_credential", writes=True),
    # Verification stores nothing, so read-only tokens may use it.
    Route("POST", ("v4", "actions", "credentials", "verify"), "verify_credential"),
    Route("POST", ("v4", "teamspaces", W), "create_teamspace", writes=True),
    Route("GET", ("v4", "teamspaces", W), "list_teamspaces"),
    Route("GET", ("v4", "teamspaces", W, W), "get_teamspace"),
    Route("GET", ("v4", "workspaces", W), "get_workspace"),
)


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
