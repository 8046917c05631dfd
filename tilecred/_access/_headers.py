"""Headers a credential adds to a request, as the ``auth=`` of requests and httpx."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["HeaderAuth"]


class HeaderAuth:
    """Sets a credential's headers on each request it is given.

    For requests, ``auth=`` takes a callable that gets the prepared request
    and returns it; httpx takes the same callable, or an object with an
    ``auth_flow`` generator (its ``httpx.Auth`` protocol). This is both, and
    needs neither library. The headers are asked for on every request, so an
    OAuth access token that has expired is replaced.
    """

    # httpx reads these on an Auth: no need to read either body first.
    requires_request_body = False
    requires_response_body = False

    def __init__(self, headers: Callable[[], dict[str, str]]) -> None:
        self._headers = headers

    def __repr__(self) -> str:
        return "HeaderAuth(headers='***')"

    def __call__(self, request: Any) -> Any:
        for name, value in self._headers().items():
            request.headers[name] = value
        return request

    def auth_flow(self, request: Any) -> Iterator[Any]:
        yield self(request)
