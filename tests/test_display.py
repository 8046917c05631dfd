"""How credentials and pagers show in a terminal, rich and a notebook."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterator

import msgspec
import pytest
import rich.pretty
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

import tilecred
from tests._http_helpers import WORKSPACE, credential_json, make_client, seen
from tests.conftest import CANARY_SECRET
from tilecred import (
    AccessCredential,
    AccessCredentialRole,
    AWSCredential,
    AWSRole,
    CloudProvider,
    Credential,
    CredentialType,
)

CREATED = datetime.datetime(2026, 11, 1, 9, 30, tzinfo=datetime.UTC)
UPDATED = datetime.datetime(2026, 11, 2, 10, 0, 5, 123456, tzinfo=datetime.UTC)
HEAD = (
    "<thead><tr><th>name</th><th>provider</th><th>kind</th><th>default</th><th>tasks</th>"
    "<th>status</th><th>updated</th></tr></thead>"
)


def _key(name: str = "prod-s3", **fields: object) -> AccessCredential:
    secret = Credential(aws=AWSCredential(access_key_id="AKIA1", secret_access_key=CANARY_SECRET))
    values: dict[str, object] = {
        "credential_type": CredentialType.TEAMSPACE,
        "id": "cred_1",
        "name": name,
        "provider": CloudProvider.AWS,
        "created_at": CREATED,
        "credential": secret,
        **fields,
    }
    return msgspec.convert(values, AccessCredential, from_attributes=True)


# -- the plain repr -----------------------------------------------------------------


def test_repr_shows_times_as_iso_strings_and_enums_as_values() -> None:
    cred = _key(updated_at=UPDATED, provider_default=True)
    assert repr(cred) == (
        "AccessCredential(credential_type='teamspace', id='cred_1', name='prod-s3', "
        "provider='AWS', provider_default=True, created_at='2026-11-01T09:30:00+00:00', "
        "updated_at='2026-11-02T10:00:05.123456+00:00', "
        "credential=Credential(aws=AWSCredential(access_key_id='AKIA1', "
        "secret_access_key='***')))"
    )
    assert str(cred) == repr(cred)


def test_rich_shows_times_and_enums_plainly_and_masks_secrets() -> None:
    cred = _key(updated_at=UPDATED)
    assert rich.pretty.pretty_repr(cred, max_width=300) == repr(cred)
    narrow = rich.pretty.pretty_repr(cred, max_width=40)
    assert "provider='AWS'," in narrow
    assert "created_at='2026-11-01T09:30:00+00:00'," in narrow
    assert "datetime.datetime" not in narrow
    assert "CloudProvider" not in narrow
    assert "secret_access_key='***'" in narrow
    assert CANARY_SECRET not in narrow


# -- HTML in a notebook ---------------------------------------------------------------


def test_a_credential_is_one_row_of_html_with_every_value_escaped() -> None:
    cred = _key(
        name="<script>alert('x')</script>&",
        provider_default=True,
        allowed_in_tasks=False,
        status="verified",
        updated_at=UPDATED,
    )
    assert cred._repr_html_() == (
        "<table>" + HEAD + "<tbody><tr>"
        "<td>&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;&amp;</td><td>AWS</td>"
        "<td>credential.aws</td><td>yes</td><td>no</td><td>verified</td>"
        "<td>2026-11-02T10:00:05+00:00</td></tr></tbody></table>"
    )
    assert CANARY_SECRET not in cred._repr_html_()


def test_a_credential_never_updated_shows_when_it_was_created() -> None:
    role = AccessCredentialRole(aws=AWSRole(role_arn="arn:aws:iam::1:role/r"))
    cred = _key(credential=None, role=role)
    assert (
        "<td>role.aws</td><td></td><td></td><td></td><td>2026-11-01T09:30:00+00:00</td>"
        in cred._repr_html_()
    )


CREDENTIALS = f"/v4/credentials/{WORKSPACE}"


def _page(request: Request) -> Response:
    page, size = int(request.args["page"]), int(request.args["per_page"])
    names = [f"c{i}" for i in range((page - 1) * size, min(page * size, 7))]
    data = [credential_json(n) for n in names]
    if page == 1:
        key = {"aws": {"access_key_id": "AKIA1", "secret_access_key": CANARY_SECRET}}
        data[0] = credential_json("<b>c0</b>", role=None, credential=key)
    meta = {"page": page, "per_page": size, "total_pages": 3, "total_items": 7}
    body = {"data": data, "pagination_metadata": meta}
    return Response(json.dumps(body), content_type="application/json")


@pytest.fixture
def client(httpserver: HTTPServer) -> Iterator[tilecred.Client]:
    with make_client(httpserver, retries=0) as made:
        yield made


def test_a_pager_shows_its_first_page_and_total_from_one_request(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_handler(_page)
    pager = client.list_credentials(per_page=3)
    shown = pager._repr_html_()
    assert len(seen(httpserver)) == 1
    assert shown.startswith("<table><caption>page 1 of 3: 3 shown of 7 in all</caption>" + HEAD)
    assert shown.count("<tr>") == 4  # the heading and three rows
    assert "<td>&lt;b&gt;c0&lt;/b&gt;</td>" in shown
    assert "<td>c2</td>" in shown
    assert "<td>c3</td>" not in shown
    assert CANARY_SECRET not in shown
    # The page shown is the page the next walk starts with: still one request.
    assert pager.data[0].name == "<b>c0</b>"
    assert len(seen(httpserver)) == 1


def test_a_pager_that_cannot_list_says_why_in_one_line(
    client: tilecred.Client, httpserver: HTTPServer
) -> None:
    httpserver.expect_request(CREDENTIALS).respond_with_json(
        {"code": 403, "message": "<not allowed>", "request_id": "r-1"}, status=403
    )
    pager = client.list_credentials()
    assert repr(pager) == "Pager(page=1, per_page=None)"  # nothing sent yet
    shown = pager._repr_html_()
    # The error, not an empty table that would read as "no credentials".
    assert "<table" not in shown
    assert shown == (
        '<div style="border-left: 3px solid #c00; padding: 0.3em 0.6em">could not list '
        "credentials: 403 Forbidden: &lt;not allowed&gt; (request id r-1)</div>"
    )
    # Once it failed, its repr (and so rich's and IPython's text display) says so too.
    assert repr(pager) == (
        "Pager(page=1, per_page=None, failed='could not list credentials: 403 Forbidden: "
        "<not allowed> (request id r-1)')"
    )
    with pytest.raises(tilecred.PermissionDeniedError):
        len(pager)
    assert len(seen(httpserver)) == 2  # a failure is not kept: each look asks again
