"""The Pager over a real paginated listing: which pages are asked for, and when."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import tilecred
from tests._http_helpers import (
    WORKSPACE,
    credential_json,
    free_port,
    make_client,
    seen,
    teamspace_json,
)
from tests.conftest import CANARY_TOKEN

CREDENTIALS = f"/v4/credentials/{WORKSPACE}"


class Listing:
    """A server's listing of ``total`` credentials named c0, c1, …

    Options make it misbehave: no metadata, a page size cap, ``page``
    ignored, or an empty page where there should be items.
    """

    def __init__(
        self,
        total: int,
        *,
        default_size: int = 2,
        metadata: bool = True,
        cap: int | None = None,
        ignore_page: bool = False,
        empty_from: int | None = None,
    ) -> None:
        self.names = [f"c{i}" for i in range(total)]
        self.default_size = default_size
        self.metadata = metadata
        self.cap = cap
        self.ignore_page = ignore_page
        self.empty_from = empty_from

    def __call__(self, request: Request) -> Response:
        page = 1 if self.ignore_page else int(request.args["page"])
        size = int(request.args.get("per_page", self.default_size))
        if self.cap is not None:
            size = min(size, self.cap)
        names = self.names[(page - 1) * size : page * size]
        if self.empty_from is not None and page >= self.empty_from:
            names = []
        body: dict[str, Any] = {"data": [credential_json(n) for n in names]}
        if self.metadata:
            body["pagination_metadata"] = {
                "page": page,
                "per_page": size,
                "total_pages": math.ceil(len(self.names) / size),
                "total_items": len(self.names),
            }
        return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[tilecred.Client]:
    with make_client(httpserver, retries=0) as made:
        yield made


def serve(server: HTTPServer, total: int, **options: Any) -> None:
    server.expect_request(CREDENTIALS).respond_with_handler(Listing(total, **options))


def requested(server: HTTPServer) -> list[int]:
    """The page numbers asked for, in order."""
    pages = []
    for request in seen(server):
        [(page, _)] = [(int(v), n) for (k, v), n in request.query.items() if k == "page"]
        pages.append(page)
    return pages


def names(items: list[tilecred.AccessCredential]) -> list[str]:
    return [item.name for item in items]


# -- iteration --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("total", "per_page", "pages"),
    [(0, 2, [1]), (2, 5, [1]), (5, 2, [1, 2, 3]), (6, 2, [1, 2, 3])],
)
def test_iteration_walks_every_page_once(
    client: tilecred.Client, httpserver: HTTPServer, total: int, per_page: int, pages: list[int]
) -> None:
    serve(httpserver, total)

    result = [c.name for c in client.list_credentials(per_page=per_page)]

    assert result == [f"c{i}" for i in range(total)]
    assert requested(httpserver) == pages


def test_nothing_is_sent_until_used(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 5)
    httpserver.expect_request(f"/v4/teamspaces/{WORKSPACE}/ml").respond_with_json(
        teamspace_json("ml", "ts_ml")
    )

    pager = client.list_credentials("ml", per_page=2)
    repr(pager)

    assert seen(httpserver) == []
    assert names(pager[0:1]) == ["c0"]
    assert [r.path for r in seen(httpserver)] == [f"/v4/teamspaces/{WORKSPACE}/ml", CREDENTIALS]


def test_list_asks_each_page_once(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 5)

    # list() asks len() first; the walk reuses that first page.
    assert names(list(client.list_credentials(per_page=2))) == ["c0", "c1", "c2", "c3", "c4"]

    assert requested(httpserver) == [1, 2, 3]


def test_every_iteration_starts_again(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 3)
    pager = client.list_credentials(per_page=2)

    first = [c.name for c in pager]
    second = [c.name for c in pager]
    third = list(pager)

    assert first == second == names(third) == ["c0", "c1", "c2"]
    assert requested(httpserver) == [1, 2, 1, 2, 1, 2]


def test_iteration_from_a_later_page(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 5)
    pager = client.list_credentials(page=2, per_page=2)

    assert [c.name for c in pager] == ["c2", "c3", "c4"]
    assert len(pager) == 3
    assert requested(httpserver) == [2, 3]


def test_pages_yields_items_and_metadata(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 5)

    pages = [
        (p.page, names(p.items), p.per_page, p.total_pages, p.total_items)
        for p in client.list_credentials(per_page=2).pages()
    ]

    assert pages == [
        (1, ["c0", "c1"], 2, 3, 5),
        (2, ["c2", "c3"], 2, 3, 5),
        (3, ["c4"], 2, 3, 5),
    ]


def test_empty_page_stops_iteration(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 6, empty_from=2)  # says 3 pages, sends an empty second one

    assert [c.name for c in client.list_credentials(per_page=2)] == ["c0", "c1"]
    assert requested(httpserver) == [1, 2]


@pytest.mark.parametrize("metadata", [True, False])
def test_server_ignoring_page_cannot_loop_forever(
    client: tilecred.Client, httpserver: HTTPServer, metadata: bool
) -> None:
    serve(httpserver, 6, ignore_page=True, metadata=metadata)

    assert [c.name for c in client.list_credentials(per_page=2)] == ["c0", "c1"]
    assert requested(httpserver) == [1, 2]


def test_without_metadata_a_short_page_is_the_last(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    serve(httpserver, 5, metadata=False)
    pager = client.list_credentials(per_page=2)

    assert [c.name for c in pager] == ["c0", "c1", "c2", "c3", "c4"]
    assert requested(httpserver) == [1, 2, 3]
    assert len(pager) == 5
    assert pager[-1].name == "c4"


def test_without_metadata_or_page_size_the_first_page_is_all(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    serve(httpserver, 5, metadata=False)
    pager = client.list_credentials()

    assert len(pager) == 2
    assert names(list(pager)) == ["c0", "c1"]
    assert pager[1].name == "c1"
    with pytest.raises(IndexError):
        pager[2]
    assert requested(httpserver) == [1]
    with pytest.raises(tilecred.CredentialsError) as caught:
        pager.total_items  # noqa: B018
    assert str(caught.value) == "the server sent no pagination metadata (total_items)"


# -- metadata ---------------------------------------------------------------------------


@pytest.mark.parametrize(("total", "pages"), [(0, 0), (1, 1), (5, 3)])
def test_len_and_totals_come_from_the_first_page(
    client: tilecred.Client, httpserver: HTTPServer, total: int, pages: int
) -> None:
    serve(httpserver, total)
    pager = client.list_credentials(per_page=2)

    assert (len(pager), pager.total_items, pager.total_pages) == (total, total, pages)
    assert requested(httpserver) == [1]


# -- indexing ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "name", "pages"),
    [
        (0, "c0", [1]),
        (1, "c1", [1]),
        (3, "c3", [2]),  # per_page known: page 2 only, not page 1 first
        (4, "c4", [3]),
        (-1, "c4", [1, 3]),  # the total comes from page 1
        (-5, "c0", [1]),
        (-3, "c2", [1, 2]),
    ],
)
def test_index_fetches_only_its_page(
    client: tilecred.Client, httpserver: HTTPServer, index: int, name: str, pages: list[int]
) -> None:
    serve(httpserver, 5)

    assert client.list_credentials(per_page=2)[index].name == name
    assert requested(httpserver) == pages


def test_index_without_per_page_learns_the_size_from_page_1(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    serve(httpserver, 5, default_size=2)

    assert client.list_credentials()[3].name == "c3"
    assert requested(httpserver) == [1, 2]


def test_index_when_the_server_caps_the_page_size(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    serve(httpserver, 5, cap=2)
    pager = client.list_credentials(per_page=10)

    assert pager[3].name == "c3"
    assert [c.name for c in pager] == ["c0", "c1", "c2", "c3", "c4"]


@pytest.mark.parametrize(("index", "pages"), [(5, [3]), (100, [51]), (-6, [1])])
def test_index_out_of_range(
    client: tilecred.Client, httpserver: HTTPServer, index: int, pages: list[int]
) -> None:
    serve(httpserver, 5)

    with pytest.raises(IndexError):
        client.list_credentials(per_page=2)[index]
    assert requested(httpserver) == pages


def test_index_past_the_end_on_a_server_ignoring_page(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    serve(httpserver, 5, ignore_page=True)

    with pytest.raises(IndexError):
        client.list_credentials(per_page=2)[4]


@pytest.mark.parametrize(
    ("index", "expected", "pages"),
    [
        (slice(1, 4), ["c1", "c2", "c3"], [1, 2]),
        (slice(2, 4), ["c2", "c3"], [2]),
        (slice(4, 100), ["c4"], [3]),  # a short page is the last
        (slice(0, 5, 2), ["c0", "c2", "c4"], [1, 2, 3]),
        (slice(-2, None), ["c3", "c4"], [1, 2, 3]),
        (slice(None, None, -2), ["c4", "c2", "c0"], [1, 3, 2]),
        (slice(3, 1), [], []),
    ],
)
def test_slice_fetches_only_its_pages(
    client: tilecred.Client,
    httpserver: HTTPServer,
    index: slice,
    expected: list[str],
    pages: list[int],
) -> None:
    serve(httpserver, 5)

    assert names(client.list_credentials(per_page=2)[index]) == expected
    assert requested(httpserver) == pages


def test_bad_index_types(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 5)
    pager = client.list_credentials(per_page=2)

    with pytest.raises(TypeError):
        pager["a"]  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="slice step cannot be zero"):
        pager[::0]
    assert requested(httpserver) == []


# -- failures ---------------------------------------------------------------------------


def test_failure_while_paging_is_a_credentials_error(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    listing = Listing(5)
    httpserver.expect_request(CREDENTIALS, query_string="page=1&per_page=2").respond_with_handler(
        listing
    )
    httpserver.expect_request(CREDENTIALS, query_string="page=2&per_page=2").respond_with_json(
        {"code": 500, "message": "db down", "request_id": "p2"}, status=500
    )
    got: list[str] = []

    with pytest.raises(tilecred.CredentialsError) as caught:  # noqa: PT012 - fails mid-loop
        for credential in client.list_credentials(per_page=2):
            got.append(credential.name)

    assert got == ["c0", "c1"]
    assert str(caught.value) == (
        "could not list credentials: 500 Internal Server Error: db down (request id p2)"
    )
    with pytest.raises(tilecred.CredentialsError):
        client.list_credentials(per_page=2)[3]


def test_connection_failure_while_paging(httpserver: HTTPServer) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    with tilecred.Client(host=url, token=CANARY_TOKEN, workspace=WORKSPACE, retries=0) as client:
        pager = client.list_credentials(teamspace="ts_1")
        with pytest.raises(tilecred.CredentialsError) as caught:
            len(pager)

    assert str(caught.value) == (
        f"could not list credentials in teamspace 'ts_1': cannot connect to {url}: "
        "Connection refused"
    )


# -- the attributes of TileDB's Pager ----------------------------------------------------


def test_tiledb_pager_attributes(client: tilecred.Client, httpserver: HTTPServer) -> None:
    serve(httpserver, 5)
    pager = client.list_credentials(per_page=2)

    assert pager.page == 1
    assert seen(httpserver) == []
    assert names(pager.data) == ["c0", "c1"]
    assert pager.pagination_metadata == tilecred.PaginationMetadata(
        page=1, per_page=2, total_pages=3, total_items=5
    )
    assert requested(httpserver) == [1]

    # call_page fetches now and moves the start, as TileDB's Pager does.
    pager.call_page(2)
    assert pager.page == 2
    assert names(pager.data) == ["c2", "c3"]
    assert [c.name for c in pager] == ["c2", "c3", "c4"]
    assert requested(httpserver) == [1, 2, 3]


def test_tiledb_pager_attributes_without_metadata(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    serve(httpserver, 1, metadata=False)
    pager = client.list_credentials(per_page=2)

    assert pager.pagination_metadata is None
    assert names(pager.data) == ["c0"]
    with pytest.raises(tilecred.InvalidArgumentError) as raised:
        pager.call_page(0)
    assert str(raised.value) == "page must be an int of at least 1, not 0"
    assert requested(httpserver) == [1]
